//! `[inputs] sentences` and `padding`: the sentences encoder cases embed,
//! read once at load time so that a bad file is a located error before
//! anything runs, and the checks of what an encoder case can't do.

use std::path::Path;

use super::expand::Invalid;
use super::{Case, Scenario, SentenceInputs};

fn invalid(key: &str, message: String) -> Invalid {
    Invalid {
        key: key.into(),
        group: None,
        message,
    }
}

/// The sentences of a file, one a line; blank lines are skipped (an empty
/// sentence would be `[CLS] [SEP]` alone, which measures nothing).
pub fn read_sentences_file(path: &Path) -> Result<Vec<String>, Invalid> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        invalid(
            "sentences",
            format!("cannot read sentences file {}: {e}", path.display()),
        )
    })?;
    let sentences: Vec<String> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect();
    if sentences.is_empty() {
        return Err(invalid(
            "sentences",
            format!("sentences file {} has no sentences", path.display()),
        ));
    }
    Ok(sentences)
}

/// Gives every encoder case the scenario's sentences, and refuses what an
/// encoder case can't do: generation, and the logit figures' limits.
pub fn attach_sentences(
    cases: &mut [Case],
    scenario: &Scenario,
    base: &Path,
) -> Result<(), Invalid> {
    check_encoder_cases(cases)?;
    let inputs = scenario.inputs.as_ref();
    let padding = inputs.and_then(|i| i.padding);
    let Some(file) = inputs.and_then(|i| i.sentences.as_ref()) else {
        return match padding {
            Some(_) => Err(invalid(
                "padding",
                "`padding` applies to `sentences`, which are not given".into(),
            )),
            None => Ok(()),
        };
    };
    let path = std::path::absolute(base.join(file)).unwrap_or_else(|_| base.join(file));
    read_sentences_file(&path)?;
    let mut encoders = cases.iter_mut().filter(|c| c.model.encoder.is_some());
    let Some(first) = encoders.next() else {
        return Err(invalid(
            "sentences",
            "`sentences` are the inputs of encoder models (an `hf` folder whose config.json \
             has model_type bert, roberta or xlm-roberta); no case runs one"
                .into(),
        ));
    };
    let inputs = SentenceInputs {
        path,
        padding: padding.unwrap_or_default(),
    };
    for case in std::iter::once(first).chain(encoders) {
        case.sentences = Some(inputs.clone());
    }
    Ok(())
}

fn check_encoder_cases(cases: &[Case]) -> Result<(), Invalid> {
    for case in cases.iter().filter(|c| c.model.encoder.is_some()) {
        if case.generation.is_some() {
            return Err(invalid(
                "generation",
                format!(
                    "`{}` is an encoder: it embeds sentences and generates nothing",
                    case.model.name
                ),
            ));
        }
        let logit_limits = [
            ("min_top1", case.limits.min_top1),
            ("max_kl", case.limits.max_kl),
        ];
        if let Some((key, _)) = logit_limits.iter().find(|(_, v)| v.is_some()) {
            return Err(invalid(
                key,
                format!(
                    "`{key}` is a figure of logits; an encoder's accuracy is `min_cosine` \
                     (worst sentence), `max_abs` (embeddings) and `max_rel_l2` (hidden states)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blank_lines_are_skipped_and_an_empty_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.txt");
        std::fs::write(&path, "A cat.\n\n   \nA dog sleeps.\n").unwrap();
        assert_eq!(
            read_sentences_file(&path).unwrap(),
            ["A cat.", "A dog sleeps."]
        );
        std::fs::write(&path, "\n \n").unwrap();
        let e = read_sentences_file(&path).unwrap_err();
        assert!(e.message.contains("has no sentences"), "{}", e.message);
    }
}
