//! Reading a scenario file, with errors that point at the file, line and
//! column, show the line, and suggest the closest valid key.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use super::expand::{Invalid, expand};
use super::inputs::attach_inputs;
use super::paths::resolve_case_paths;
use super::sentences::attach_sentences;
use super::suggest::{backticked, closest};
use super::{Case, Scenario};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The OS reason is part of the message (`validate` and `run` print
    /// the error without its source chain).
    #[error("cannot read scenario file {}: {reason}", path.display())]
    Read { path: PathBuf, reason: String },
    /// `rendered` holds `file:line:col: message` and the offending line.
    #[error("{rendered}")]
    Invalid {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
        rendered: String,
    },
}

impl ScenarioError {
    pub fn message(&self) -> String {
        match self {
            ScenarioError::Read { .. } => self.to_string(),
            ScenarioError::Invalid { message, .. } => message.clone(),
        }
    }
}

/// A scenario with its cases, ready to run.
#[derive(Debug)]
pub struct LoadedScenario {
    pub name: String,
    pub path: PathBuf,
    pub source: String,
    pub scenario: Scenario,
    pub cases: Vec<Case>,
}

pub fn load_file(path: &Path, default_threads: usize) -> Result<LoadedScenario, ScenarioError> {
    let unreadable = |reason: String| ScenarioError::Read {
        path: path.to_path_buf(),
        reason,
    };
    let bytes = std::fs::read(path).map_err(|e| unreadable(e.to_string()))?;
    let source = String::from_utf8(bytes).map_err(|e| {
        unreadable(format!(
            "invalid UTF-8 at byte {}",
            e.utf8_error().valid_up_to()
        ))
    })?;
    let stem = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("scenario");
    parse_str(&source, path, stem, default_threads)
}

pub fn parse_str(
    source: &str,
    path: &Path,
    default_name: &str,
    default_threads: usize,
) -> Result<LoadedScenario, ScenarioError> {
    let scenario: Scenario = toml::from_str(source).map_err(|e| {
        let offset = e.span().map_or(0, |s| s.start);
        located(source, path, offset, explain(e.message()))
    })?;
    let name = scenario
        .name
        .clone()
        .unwrap_or_else(|| default_name.to_string());
    let base = path.parent().unwrap_or(Path::new(""));
    let cases = expand(&scenario, &name, default_threads)
        .and_then(|mut cases| resolve_case_paths(&mut cases, base).map(|()| cases))
        .and_then(|mut cases| attach_inputs(&mut cases, &scenario, base).map(|()| cases))
        .and_then(|mut cases| attach_sentences(&mut cases, &scenario, base).map(|()| cases))
        .map_err(|invalid| {
            let offset = locate_key(source, &invalid);
            located(source, path, offset, invalid.message)
        })?;
    Ok(LoadedScenario {
        name,
        path: path.to_path_buf(),
        source: source.to_string(),
        scenario,
        cases,
    })
}

/// Rewrites serde's "unknown field" / "unknown variant" messages in the
/// scenario's words, with a suggestion when one is close.
fn explain(message: &str) -> String {
    let message = message.trim();
    let (kind, rest) = if let Some(rest) = message.strip_prefix("unknown field") {
        ("key", rest)
    } else if let Some(rest) = message.strip_prefix("unknown variant") {
        ("value", rest)
    } else {
        return message.to_string();
    };
    let names = backticked(rest);
    let Some((&given, valid)) = names.split_first() else {
        return message.to_string();
    };
    match closest(given, valid.iter().copied()) {
        Some(best) => format!("unknown {kind} `{given}`, did you mean `{best}`?"),
        None if valid.is_empty() => format!("unknown {kind} `{given}`"),
        None => format!(
            "unknown {kind} `{given}`; expected one of {}",
            quoted(valid)
        ),
    }
}

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Byte offset of the key an expansion error is about: the first
/// `key =` after the start of its `[[cases]]` entry (or of the file); a
/// `table.key` (two tables may have a key of that name), the first after
/// the table's header.
fn locate_key(source: &str, invalid: &Invalid) -> usize {
    let mut start = match invalid.group {
        Some(g) => source
            .match_indices("[[cases]]")
            .nth(g)
            .map_or(0, |(i, _)| i),
        None => 0,
    };
    let mut key = invalid.key.as_str();
    if let Some((table, name)) = key.split_once('.') {
        let header = source[start..]
            .find(&format!("[{table}]"))
            .or_else(|| source[start..].find(&format!("[cases.{table}]")));
        start += header.unwrap_or(0);
        key = name;
    }
    let rest = &source[start..];
    rest.match_indices(key)
        .find(|(i, _)| {
            let before = rest[..*i].chars().next_back();
            let after = rest[i + key.len()..].trim_start();
            !matches!(before, Some(c) if c.is_alphanumeric() || c == '_')
                && (after.starts_with('=') || after.starts_with(']'))
        })
        .map_or(start, |(i, _)| start + i)
}

fn located(source: &str, path: &Path, offset: usize, message: String) -> ScenarioError {
    let offset = offset.min(source.len());
    let line_start = source[..offset].rfind('\n').map_or(0, |i| i + 1);
    let line = source[..offset].matches('\n').count() + 1;
    let column = source[line_start..offset].chars().count() + 1;
    let text = source[line_start..].lines().next().unwrap_or("");
    let mut rendered = format!("{}:{line}:{column}: {message}", path.display());
    if !text.trim().is_empty() {
        let gutter = line.to_string().len();
        let _ = write!(
            rendered,
            "\n{:gutter$} |\n{line} | {text}\n{:gutter$} | {:>column$}",
            "", "", "^"
        );
    }
    ScenarioError::Invalid {
        path: path.to_path_buf(),
        line,
        column,
        message,
        rendered,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> (usize, usize, String, String) {
        match parse_str(text, Path::new("s.toml"), "s", 1).unwrap_err() {
            ScenarioError::Invalid {
                line,
                column,
                message,
                rendered,
                ..
            } => (line, column, message, rendered),
            other => panic!("{other}"),
        }
    }

    #[test]
    fn valid_file_loads_with_its_name() {
        let s = parse_str("name = 'x'\nbatch = [1, 2]", Path::new("a.toml"), "a", 1).unwrap();
        assert_eq!((s.name.as_str(), s.cases.len()), ("x", 2));
        let s = parse_str("", Path::new("a.toml"), "a", 1).unwrap();
        assert_eq!(s.name, "a");
    }

    #[test]
    fn unknown_key_is_located_with_a_suggestion() {
        let (line, column, message, rendered) = error("name = 'x'\n\nbakends = ['candle']\n");
        assert_eq!((line, column), (3, 1));
        assert_eq!(message, "unknown key `bakends`, did you mean `backends`?");
        assert!(
            rendered.starts_with("s.toml:3:1: unknown key `bakends`"),
            "{rendered}"
        );
        assert!(rendered.contains("3 | bakends = ['candle']"), "{rendered}");
    }

    #[test]
    fn unknown_key_in_a_table() {
        let (line, column, message, _) = error("[model]\nhidden = 64\nlayrs = 2\n");
        assert_eq!((line, column), (3, 1));
        assert_eq!(message, "unknown key `layrs`, did you mean `layers`?");
    }

    #[test]
    fn unknown_value_is_located_with_a_suggestion() {
        let (line, column, message, _) = error("backends = ['candle', 'trch']\n");
        assert_eq!((line, column), (1, 23));
        assert_eq!(message, "unknown value `trch`, did you mean `tch`?");
        let (_, _, message, _) = error("precisions = 'int4'\n");
        assert!(message.starts_with("unknown value `int4`"), "{message}");
        let (_, _, message, _) = error("backends = 'onnx'\n");
        assert_eq!(
            message,
            "unknown value `onnx`; expected one of `candle`, `ort`, `tch`, `openai`, `null`"
        );
    }

    #[test]
    fn far_off_key_lists_the_valid_ones() {
        let (_, _, message, _) = error("[warmup]\ncolour = 1\n");
        assert_eq!(
            message,
            "unknown key `colour`; expected one of `iterations`, `seconds`"
        );
    }

    #[test]
    fn wrong_type_is_located() {
        let (line, column, message, _) = error("batch = 'four'\n");
        assert_eq!((line, column), (1, 9));
        assert!(message.contains("invalid type"), "{message}");
    }

    #[test]
    fn expansion_errors_point_at_their_key() {
        let (line, column, message, _) =
            error("[model]\nmax_seq = 16\n\n[[cases]]\nseq_len = 8\n[[cases]]\nseq_len = 32\n");
        assert_eq!((line, column), (7, 1), "{message}");
        assert!(
            message.contains("exceed the model's `max_seq` 16"),
            "{message}"
        );
    }

    #[test]
    fn a_key_two_tables_share_is_found_in_its_own() {
        // `rate` of [monitor], not the [generation] one above it.
        let text = "[generation]\npattern = 'server'\nrate = 2.0\n\
                    [monitor]\ninterval_s = 1\nrate = 2\n";
        let (line, column, message, _) = error(text);
        assert_eq!((line, column), (6, 1), "{message}");
        assert!(message.contains("not both"), "{message}");
    }

    #[test]
    fn missing_file_names_the_path() {
        let e = load_file(Path::new("/no/such/scenario.toml"), 1).unwrap_err();
        assert!(e.to_string().contains("/no/such/scenario.toml"));
        assert!(e.to_string().contains("No such file or directory"), "{e}");
    }

    #[test]
    fn unreadable_files_give_the_reason() {
        let dir = tempfile::tempdir().unwrap();
        let e = load_file(dir.path(), 1).unwrap_err().to_string();
        assert!(e.contains("Is a directory"), "{e}");
        let file = dir.path().join("latin1.toml");
        std::fs::write(&file, b"name = 'caf\xe9'\n").unwrap();
        let e = load_file(&file, 1).unwrap_err().to_string();
        assert!(e.contains("invalid UTF-8 at byte 11"), "{e}");
    }
}
