//! `[inputs]`: what cases read instead of random token ids, read and
//! checked once at load time so that a bad file is a located error before
//! anything runs. Each key goes to the cases it applies to:
//! - `text`: one evaluation text, for forward passes of a `gguf` or `hf`
//!   model (tokenized in the worker with the model's own tokenizer, then
//!   cut into `batch × seq_len` windows; also what perplexity is scored on);
//! - `prompt` or `prompts`: text prompts of generation workloads, on a
//!   served model or a `gguf`/`hf` one.
//!
//! A key that needs a tokenizer is an error on a case without one (the
//! synthetic GPT, a model file) rather than silently left out.

use std::path::{Path, PathBuf};

use super::expand::{Invalid, is_served};
use super::{Case, InputsConfig, Scenario, TextPrompt};

fn invalid(key: &str, message: String) -> Invalid {
    Invalid {
        key: key.into(),
        group: None,
        message,
    }
}

/// Reads a prompts file: every non-blank line one prompt.
pub fn read_prompts_file(path: &Path) -> Result<Vec<TextPrompt>, Invalid> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            "prompts",
            format!("cannot read prompts file {}: {e}", path.display()),
        )
    })?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let prompt: TextPrompt = serde_json::from_str(line).map_err(|e| {
            invalid(
                "prompts",
                format!(
                    "{}:{}: expected {{\"prompt\": \"...\"}} or {{\"messages\": [{{\"role\": ..., \
                     \"content\": ...}}]}} ({e})",
                    path.display(),
                    i + 1
                ),
            )
        })?;
        out.push(prompt);
    }
    if out.is_empty() {
        return Err(invalid(
            "prompts",
            format!("prompts file {} has no prompts", path.display()),
        ));
    }
    Ok(out)
}

/// Attaches every `[inputs]` key to the cases it applies to.
pub fn attach_inputs(cases: &mut [Case], scenario: &Scenario, base: &Path) -> Result<(), Invalid> {
    let Some(inputs) = &scenario.inputs else {
        return Ok(());
    };
    attach_prompts(cases, inputs, base)?;
    attach_text(cases, inputs, base)
}

/// Whether a case can turn text into token ids: a checkpoint with its
/// tokenizer, or a served model (the server tokenizes).
fn has_tokenizer(case: &Case) -> bool {
    case.model.llama.is_some() || is_served(&case.backend)
}

/// Gives every generation case the scenario's text prompts, if it has any.
fn attach_prompts(cases: &mut [Case], inputs: &InputsConfig, base: &Path) -> Result<(), Invalid> {
    let (key, prompts) = match (&inputs.prompt, &inputs.prompts) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "prompts",
                "give `prompt` or `prompts`, not both".into(),
            ));
        }
        (Some(text), None) => (
            "prompt",
            vec![TextPrompt::Text {
                prompt: text.clone(),
            }],
        ),
        (None, Some(file)) => ("prompts", read_prompts_file(&base.join(file))?),
        (None, None) => return Ok(()),
    };
    for case in cases.iter_mut().filter(|c| c.generation.is_some()) {
        if !has_tokenizer(case) {
            return Err(invalid(
                key,
                format!(
                    "text prompts need the model's tokenizer, and case `{}` runs a model without \
                     one; use a `gguf` or `hf` model, or leave `{key}` out for random-token prompts",
                    case.id
                ),
            ));
        }
        if let Some(g) = case.generation.as_mut() {
            g.prompts = prompts.clone();
        }
    }
    Ok(())
}

/// Checks the evaluation text and gives it to every forward-pass case.
fn attach_text(cases: &mut [Case], inputs: &InputsConfig, base: &Path) -> Result<(), Invalid> {
    let Some(file) = &inputs.text else {
        return Ok(());
    };
    let path = read_text_file(base, file)?;
    let mut used = false;
    for case in cases.iter_mut().filter(|c| c.generation.is_none()) {
        if case.model.llama.is_none() {
            return Err(invalid(
                "text",
                format!(
                    "`text` is tokenized with the model's tokenizer, and case `{}` runs a model \
                     without one; use a `gguf` or `hf` model, or leave `text` out for random ids",
                    case.id
                ),
            ));
        }
        case.text = Some(path.clone());
        used = true;
    }
    if !used {
        return Err(invalid(
            "text",
            "`text` feeds forward passes, and every case here is a generation workload; \
             use `prompt` or `prompts` for those"
                .into(),
        ));
    }
    Ok(())
}

/// The text file made absolute, once it is known to be readable UTF-8 with
/// something in it.
fn read_text_file(base: &Path, file: &Path) -> Result<PathBuf, Invalid> {
    let joined = base.join(file);
    let path = std::path::absolute(&joined).unwrap_or(joined);
    let bytes = std::fs::read(&path).map_err(|e| {
        invalid(
            "text",
            format!("cannot read text file {}: {e}", path.display()),
        )
    })?;
    let text = String::from_utf8(bytes).map_err(|e| {
        invalid(
            "text",
            format!(
                "text file {} is not UTF-8 (invalid byte at offset {})",
                path.display(),
                e.utf8_error().valid_up_to()
            ),
        )
    })?;
    if text.trim().is_empty() {
        return Err(invalid(
            "text",
            format!("text file {} is empty", path.display()),
        ));
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{ScenarioError, parse_str};

    #[test]
    fn jsonl_prompts_and_located_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("p.jsonl");
        std::fs::write(
            &path,
            "{\"prompt\": \"Once\"}\n\n{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]}\n",
        )
        .unwrap();
        let p = read_prompts_file(&path).unwrap();
        assert_eq!(p.len(), 2);
        assert!(matches!(&p[1], TextPrompt::Chat { messages } if messages[0].content == "Hi"));
        std::fs::write(&path, "{\"prompt\": \"a\"}\n{\"text\": 1}\n").unwrap();
        let e = read_prompts_file(&path).unwrap_err();
        assert!(e.message.contains("p.jsonl:2"), "{}", e.message);
    }

    fn load_error(dir: &Path, text: &str) -> (usize, String) {
        match parse_str(text, &dir.join("s.toml"), "s", 1).unwrap_err() {
            ScenarioError::Invalid { line, message, .. } => (line, message),
            other => panic!("{other}"),
        }
    }

    /// A scenario with a `gguf` model that exists (an empty file: the
    /// checkpoint is only read when a case runs).
    fn checkpoint_scenario(dir: &Path, rest: &str) -> String {
        std::fs::write(dir.join("m.gguf"), b"").unwrap();
        format!("[model]\ngguf = 'm.gguf'\n{rest}")
    }

    #[test]
    fn text_goes_to_forward_passes_of_checkpoints() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("eval.txt"), "Some words.").unwrap();
        let text = checkpoint_scenario(dir.path(), "[inputs]\ntext = 'eval.txt'\n");
        let s = parse_str(&text, &dir.path().join("s.toml"), "s", 1).unwrap();
        let path = s.cases[0].text.as_ref().unwrap();
        assert!(path.is_absolute() && path.ends_with("eval.txt"), "{path:?}");
    }

    #[test]
    fn bad_text_files_are_located_errors() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let missing = checkpoint_scenario(d, "[inputs]\ntext = 'nope.txt'\n");
        let (line, message) = load_error(d, &missing);
        assert_eq!(line, 4, "{message}");
        assert!(message.contains("cannot read text file") && message.contains("nope.txt"));
        std::fs::write(d.join("bin.txt"), b"ab\xffcd").unwrap();
        let (_, message) = load_error(d, &checkpoint_scenario(d, "[inputs]\ntext = 'bin.txt'\n"));
        assert!(
            message.contains("not UTF-8 (invalid byte at offset 2)"),
            "{message}"
        );
        std::fs::write(d.join("blank.txt"), " \n\n").unwrap();
        let (_, message) = load_error(d, &checkpoint_scenario(d, "[inputs]\ntext = 'blank.txt'\n"));
        assert!(message.contains("is empty"), "{message}");
        // The synthetic GPT has no tokenizer.
        std::fs::write(d.join("ok.txt"), "words").unwrap();
        let (line, message) = load_error(d, "[inputs]\ntext = 'ok.txt'\n");
        assert_eq!(line, 2);
        assert!(message.contains("without one"), "{message}");
        // Text only, but every case generates.
        let (_, message) = load_error(
            d,
            &checkpoint_scenario(d, "[generation]\ngen_len = 4\n[inputs]\ntext = 'ok.txt'\n"),
        );
        assert!(
            message.contains("every case here is a generation workload"),
            "{message}"
        );
    }

    #[test]
    fn prompts_need_a_tokenizer() {
        let dir = tempfile::tempdir().unwrap();
        let (line, message) = load_error(
            dir.path(),
            "[model]\nmax_seq = 64\n[generation]\ngen_len = 4\n[inputs]\nprompt = 'Hi'\n",
        );
        assert_eq!(line, 6);
        assert!(
            message.contains("text prompts need the model's tokenizer"),
            "{message}"
        );
        let text = checkpoint_scenario(
            dir.path(),
            "[generation]\ngen_len = 4\n[inputs]\nprompt = 'Hi'\n",
        );
        let s = parse_str(&text, &dir.path().join("s.toml"), "s", 1).unwrap();
        assert_eq!(s.cases[0].generation.as_ref().unwrap().prompts.len(), 1);
    }
}
