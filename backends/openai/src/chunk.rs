//! One streamed chunk (or a whole non-streamed answer) of the chat and
//! completions APIs: the content it adds, the finish reason, the usage, or
//! an error object a server may put in the stream.

use std::borrow::Cow;

use inferbench_backend::Usage;
use serde::Deserialize;

#[derive(Deserialize)]
struct Raw<'a> {
    #[serde(default, borrow)]
    choices: Vec<RawChoice<'a>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawChoice<'a> {
    /// Chat, streamed.
    #[serde(default, borrow)]
    delta: Option<RawContent<'a>>,
    /// Chat, whole answer.
    #[serde(default, borrow)]
    message: Option<RawContent<'a>>,
    /// Completions.
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct RawContent<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
}

/// What one chunk says.
#[derive(Debug, Default, PartialEq)]
pub struct Chunk {
    /// New content; empty for role-only, usage-only and final chunks.
    pub content: String,
    pub finish_reason: Option<String>,
    pub usage: Option<Usage>,
    /// The message of an error object in the stream.
    pub error: Option<String>,
}

/// Parses one chunk's JSON; `Err` carries a sentence for the malformed data.
pub fn parse(data: &str) -> Result<Chunk, String> {
    let raw: Raw<'_> = serde_json::from_str(data).map_err(|e| {
        format!(
            "a streamed chunk is not the API's JSON ({e}): {}",
            truncate(data, 200)
        )
    })?;
    let mut chunk = Chunk {
        usage: raw.usage,
        error: raw.error.map(|e| error_message(&e)),
        ..Chunk::default()
    };
    if let Some(choice) = raw.choices.into_iter().next() {
        let content = choice
            .delta
            .or(choice.message)
            .and_then(|c| c.content)
            .or(choice.text);
        if let Some(content) = content {
            chunk.content = content.into_owned();
        }
        chunk.finish_reason = choice.finish_reason;
    }
    Ok(chunk)
}

/// The `message` of an OpenAI error object (`{"error": {"message": ...}}`
/// or the object itself), else its JSON.
pub fn error_message(error: &serde_json::Value) -> String {
    let inner = error.get("error").unwrap_or(error);
    match inner.get("message").and_then(|m| m.as_str()) {
        Some(m) => m.to_string(),
        None => match inner.as_str() {
            Some(s) => s.to_string(),
            None => inner.to_string(),
        },
    }
}

pub fn truncate(s: &str, max_chars: usize) -> String {
    match s.char_indices().nth(max_chars) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_completions_usage_and_errors() {
        let c = parse(r#"{"choices":[{"index":0,"delta":{"content":"Hel\"lo"}}]}"#).unwrap();
        assert_eq!(c.content, "Hel\"lo");
        let role = parse(r#"{"choices":[{"delta":{"role":"assistant"}}]}"#).unwrap();
        assert!(role.content.is_empty());
        let text = parse(r#"{"choices":[{"text":" world","finish_reason":"length"}]}"#).unwrap();
        assert_eq!(
            (text.content.as_str(), text.finish_reason.as_deref()),
            (" world", Some("length"))
        );
        let usage = parse(
            r#"{"choices":[],"usage":{"prompt_tokens":5,"completion_tokens":16,"total_tokens":21}}"#,
        )
        .unwrap();
        assert_eq!(
            usage.usage,
            Some(Usage {
                prompt_tokens: 5,
                completion_tokens: 16
            })
        );
        let whole = parse(r#"{"choices":[{"message":{"content":"all"}}]}"#).unwrap();
        assert_eq!(whole.content, "all");
        let err = parse(r#"{"error":{"code":500,"message":"boom"}}"#).unwrap();
        assert_eq!(err.error.as_deref(), Some("boom"));
        assert!(parse("not json").unwrap_err().contains("not json"));
    }
}
