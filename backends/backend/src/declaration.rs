//! What a backend declares about itself, so that the harness can validate
//! scenarios, list backends, pick conformance checks and write the
//! reference docs from one source: its options (keys with types, ranges
//! and documentation), the models it takes and what it can do.

use std::collections::BTreeMap;
use std::fmt;

use crate::ModelFormat;

/// One key of a backend's `[options.<backend>]` table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OptionSpec {
    pub key: &'static str,
    pub kind: OptionKind,
    /// One sentence for the reference docs and `inferbench backends`.
    pub doc: &'static str,
}

/// The values an option takes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum OptionKind {
    /// `true` or `false`.
    Bool,
    /// A whole number in `min..=max`.
    Integer { min: u64, max: u64 },
    /// One of the listed words.
    Choice(&'static [&'static str]),
}

impl fmt::Display for OptionKind {
    /// The expected values, as an error message or the docs phrase them.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OptionKind::Bool => f.write_str("`true` or `false`"),
            OptionKind::Integer { min, max } if *max == u64::MAX => {
                write!(f, "a whole number of at least {min}")
            }
            OptionKind::Integer { min, max } => write!(f, "a whole number from {min} to {max}"),
            OptionKind::Choice(words) => {
                let quoted: Vec<String> = words.iter().map(|w| format!("`{w}`")).collect();
                match quoted.split_last() {
                    Some((last, [])) => f.write_str(last),
                    Some((last, rest)) => write!(f, "{} or {last}", rest.join(", ")),
                    None => f.write_str("nothing"),
                }
            }
        }
    }
}

impl OptionKind {
    /// Checks a value as the scenario gives it (TOML strings, numbers and
    /// booleans arrive as their text); the message says what is expected.
    pub fn check(&self, value: &str) -> Result<(), String> {
        let ok = match self {
            OptionKind::Bool => matches!(value, "true" | "false"),
            OptionKind::Integer { min, max } => value
                .parse::<u64>()
                .is_ok_and(|n| (*min..=*max).contains(&n)),
            OptionKind::Choice(words) => words.contains(&value),
        };
        if ok {
            Ok(())
        } else {
            Err(format!("`{value}` is invalid; expected {self}"))
        }
    }
}

/// The kinds of model a backend loads (see [`crate::ModelSource`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModelKind {
    /// The built-in synthetic GPT.
    SyntheticGpt,
    /// A Llama-family decoder with trained weights.
    Llama,
    /// A BERT-family encoder with trained weights (sentence embeddings).
    Bert,
    /// A model file of the user's, in this format.
    File(ModelFormat),
}

impl fmt::Display for ModelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModelKind::SyntheticGpt => f.write_str("the synthetic GPT"),
            ModelKind::Llama => f.write_str("Llama-family models"),
            ModelKind::Bert => f.write_str("BERT-family encoders"),
            ModelKind::File(format) => write!(f, "{} model files", format.as_str()),
        }
    }
}

/// What a backend can do; the harness and the conformance suite choose
/// what to ask of it from this.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Capabilities {
    /// The models it loads.
    pub models: &'static [ModelKind],
    /// `Session::outputs` returns logits that can be compared with the f64
    /// reference (an HTTP endpoint returning text would not).
    pub logits: bool,
    /// `Session::decoder` gives a KV-cache decoder.
    pub decoder: bool,
    /// It measures a model served at the scenario's `[endpoint]` (generation
    /// workloads only) rather than one it loads.
    pub endpoint: bool,
}

impl Capabilities {
    /// Takes nothing and does nothing: the default of a stub.
    pub const NONE: Capabilities = Capabilities {
        models: &[],
        logits: false,
        decoder: false,
        endpoint: false,
    };

    pub fn takes(&self, kind: ModelKind) -> bool {
        self.models.contains(&kind)
    }
}

/// What a backend is told about a case so it can warn about it.
#[derive(Debug, Clone, Copy)]
pub struct CaseContext<'a> {
    pub options: &'a BTreeMap<String, String>,
    pub threads: usize,
    /// Logical cores of the machine.
    pub cores: usize,
}

/// Checks `options` against `specs`: the first unknown key (with the
/// closest known one, when there is a plausible typo) or invalid value.
/// Returns the key and the message.
pub fn check_options<'a>(
    backend: &str,
    specs: &[OptionSpec],
    options: impl IntoIterator<Item = (&'a str, String)>,
) -> Result<(), (String, String)> {
    for (key, value) in options {
        let Some(spec) = specs.iter().find(|s| s.key == key) else {
            let known: Vec<&str> = specs.iter().map(|s| s.key).collect();
            let message = match closest(key, known.iter().copied()) {
                Some(best) => format!("unknown {backend} option `{key}`, did you mean `{best}`?"),
                None if known.is_empty() => {
                    format!("{backend} has no options; remove `{key}` from `[options.{backend}]`")
                }
                None => format!(
                    "unknown {backend} option `{key}`; expected one of {}",
                    known
                        .iter()
                        .map(|k| format!("`{k}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Err((key.to_string(), message));
        };
        spec.kind
            .check(&value)
            .map_err(|m| (key.to_string(), format!("option `{backend}.{key}` = {m}")))?;
    }
    Ok(())
}

/// The candidate closest to `word` by edit distance, if close enough to be
/// a plausible typo: at most a third of the word's length (min 1, max 3),
/// as in cargo's and clap's suggestions.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPECS: &[OptionSpec] = &[
        OptionSpec {
            key: "spinning",
            kind: OptionKind::Bool,
            doc: "",
        },
        OptionSpec {
            key: "threads",
            kind: OptionKind::Integer { min: 1, max: 64 },
            doc: "",
        },
        OptionSpec {
            key: "mode",
            kind: OptionKind::Choice(&["fast", "slow", "exact"]),
            doc: "",
        },
    ];

    fn check(key: &str, value: &str) -> Result<(), (String, String)> {
        check_options("x", SPECS, [(key, value.to_string())])
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        assert!(check("spinning", "true").is_ok());
        assert!(check("threads", "64").is_ok());
        assert!(check("mode", "exact").is_ok());
        let (key, message) = check("threads", "65").unwrap_err();
        assert_eq!(key, "threads");
        assert_eq!(
            message,
            "option `x.threads` = `65` is invalid; expected a whole number from 1 to 64"
        );
        assert!(check("threads", "0").is_err());
        assert!(check("threads", "-1").is_err());
        let (_, message) = check("mode", "quick").unwrap_err();
        assert!(
            message.ends_with("expected `fast`, `slow` or `exact`"),
            "{message}"
        );
        let (_, message) = check("spinning", "yes").unwrap_err();
        assert!(message.ends_with("expected `true` or `false`"), "{message}");
    }

    #[test]
    fn unknown_keys_get_a_suggestion_or_the_list() {
        let (_, message) = check("spining", "true").unwrap_err();
        assert_eq!(
            message,
            "unknown x option `spining`, did you mean `spinning`?"
        );
        let (_, message) = check("colour", "red").unwrap_err();
        assert_eq!(
            message,
            "unknown x option `colour`; expected one of `spinning`, `threads`, `mode`"
        );
        let (_, message) = check_options("y", &[], [("a", String::new())]).unwrap_err();
        assert_eq!(message, "y has no options; remove `a` from `[options.y]`");
    }

    #[test]
    fn far_off_words_get_no_suggestion() {
        assert_eq!(closest("bakends", ["backends", "batch"]), Some("backends"));
        assert_eq!(closest("colour", ["backends", "batch"]), None);
    }
}
