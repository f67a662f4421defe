//! Text prompts of `[inputs]`: one `prompt`, or a JSONL file of `prompts`
//! (one object a line, with `prompt` text or chat `messages`), read once
//! at load time so a bad line is a located error before anything runs.

use std::path::Path;

use super::expand::Invalid;
use super::{Case, Scenario, TextPrompt};

fn invalid(message: String) -> Invalid {
    Invalid {
        key: "prompts".into(),
        group: None,
        message,
    }
}

/// Reads a prompts file: every non-blank line one prompt.
pub fn read_prompts_file(path: &Path) -> Result<Vec<TextPrompt>, Invalid> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| invalid(format!("cannot read prompts file {}: {e}", path.display())))?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let prompt: TextPrompt = serde_json::from_str(line).map_err(|e| {
            invalid(format!(
                "{}:{}: expected {{\"prompt\": \"...\"}} or {{\"messages\": [{{\"role\": ..., \
                 \"content\": ...}}]}} ({e})",
                path.display(),
                i + 1
            ))
        })?;
        out.push(prompt);
    }
    if out.is_empty() {
        return Err(invalid(format!(
            "prompts file {} has no prompts",
            path.display()
        )));
    }
    Ok(out)
}

/// Gives every generation case the scenario's text prompts, if it has any.
pub fn attach_prompts(cases: &mut [Case], scenario: &Scenario, base: &Path) -> Result<(), Invalid> {
    let Some(inputs) = &scenario.inputs else {
        return Ok(());
    };
    let prompts = match (&inputs.prompt, &inputs.prompts) {
        (Some(_), Some(_)) => {
            return Err(invalid("give `prompt` or `prompts`, not both".into()));
        }
        (Some(text), None) => vec![TextPrompt::Text {
            prompt: text.clone(),
        }],
        (None, Some(file)) => read_prompts_file(&base.join(file))?,
        (None, None) => return Ok(()),
    };
    for g in cases.iter_mut().filter_map(|c| c.generation.as_mut()) {
        g.prompts = prompts.clone();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
