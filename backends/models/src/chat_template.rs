//! Chat turns to prompt text, as the model was trained to read them: the
//! Jinja `chat_template` of the folder's `tokenizer_config.json` (for a GGUF
//! file, `tokenizer.chat_template` copied there), rendered with minijinja
//! the way Hugging Face's `apply_chat_template(..., add_generation_prompt=True)`
//! does: variables `messages`, `add_generation_prompt`, `bos_token`,
//! `eos_token`, the function `raise_exception`, and Python's string methods
//! (`.strip()`, `.startswith()`, ...) that many templates call.
//!
//! A model without a template gets [`plain_chat`], a documented
//! concatenation, so chat prompts still run.

use std::path::Path;

use inferbench_backend::ChatMessage;
use minijinja::{Environment, Error, ErrorKind, context};
use serde_json::Value;

use crate::ModelError;

/// A model's chat template with the special tokens it may name.
#[derive(Debug, Clone)]
pub struct ChatTemplate {
    source: String,
    bos_token: String,
    eos_token: String,
    /// Where the template came from, for error messages.
    origin: std::path::PathBuf,
}

/// A special token of `tokenizer_config.json`: a string, or an added-token
/// object with `content`.
fn token_text(config: &Value, key: &str) -> String {
    match config.get(key) {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Object(o)) => o
            .get("content")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string(),
        _ => String::new(),
    }
}

impl ChatTemplate {
    /// The template of `folder/tokenizer_config.json`; `None` when the file
    /// or its `chat_template` is absent.
    pub fn from_folder(folder: &Path) -> Result<Option<Self>, ModelError> {
        let path = folder.join("tokenizer_config.json");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ModelError::io(&path, e)),
        };
        let config: Value = serde_json::from_str(&text)
            .map_err(|e| ModelError::invalid(&path, format!("not JSON: {e}")))?;
        let source = match config.get("chat_template") {
            Some(Value::String(s)) => s.clone(),
            // Several named templates: the one called `default`.
            Some(Value::Array(list)) => match list.iter().find(|t| t["name"] == "default") {
                Some(t) => t["template"].as_str().unwrap_or_default().to_string(),
                None => return Ok(None),
            },
            _ => return Ok(None),
        };
        let template = ChatTemplate {
            source,
            bos_token: token_text(&config, "bos_token"),
            eos_token: token_text(&config, "eos_token"),
            origin: path,
        };
        // A template that does not parse is reported now, not per request.
        template.environment()?;
        Ok(Some(template))
    }

    fn environment(&self) -> Result<Environment<'_>, ModelError> {
        let mut env = Environment::new();
        env.set_unknown_method_callback(minijinja_contrib::pycompat::unknown_method_callback);
        env.add_function(
            "raise_exception",
            |message: String| -> Result<String, Error> {
                Err(Error::new(ErrorKind::InvalidOperation, message))
            },
        );
        env.add_template("chat", &self.source)
            .map_err(|e| self.error(e))?;
        Ok(env)
    }

    fn error(&self, e: Error) -> ModelError {
        ModelError::invalid(&self.origin, format!("chat_template: {e}"))
    }

    /// The prompt text of `messages`, ending where the assistant's answer
    /// begins.
    pub fn render(&self, messages: &[ChatMessage]) -> Result<String, ModelError> {
        let env = self.environment()?;
        let template = env.get_template("chat").map_err(|e| self.error(e))?;
        template
            .render(context! {
                messages => minijinja::value::Serde(messages),
                add_generation_prompt => true,
                bos_token => &self.bos_token,
                eos_token => &self.eos_token,
            })
            .map_err(|e| self.error(e))
    }
}

/// Chat turns for a model without a template: `role: content` per turn,
/// one a line, then `assistant:` for the answer to follow.
pub fn plain_chat(messages: &[ChatMessage]) -> String {
    let mut text: String = messages
        .iter()
        .map(|m| format!("{}: {}\n", m.role, m.content))
        .collect();
    text.push_str("assistant:");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages() -> Vec<ChatMessage> {
        vec![ChatMessage {
            role: "user".into(),
            content: "Hi".into(),
        }]
    }

    fn folder_with(config: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("tokenizer_config.json"), config).unwrap();
        dir
    }

    #[test]
    fn renders_a_chatml_template_with_the_generation_prompt() {
        // SmolLM2's template, shortened: ChatML turns.
        let dir = folder_with(
            r#"{"bos_token": {"content": "<s>"}, "eos_token": "<|im_end|>",
                "chat_template": "{{ bos_token }}{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}{{ eos_token }}\n{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"}"#,
        );
        let t = ChatTemplate::from_folder(dir.path()).unwrap().unwrap();
        assert_eq!(
            t.render(&messages()).unwrap(),
            "<s><|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
        );
    }

    #[test]
    fn no_template_is_none_and_a_broken_one_a_located_error() {
        let dir = folder_with(r#"{"eos_token": "</s>"}"#);
        assert!(ChatTemplate::from_folder(dir.path()).unwrap().is_none());
        let empty = tempfile::tempdir().unwrap();
        assert!(ChatTemplate::from_folder(empty.path()).unwrap().is_none());
        let dir = folder_with(r#"{"chat_template": "{% for m in messages %}"}"#);
        let e = ChatTemplate::from_folder(dir.path())
            .unwrap_err()
            .to_string();
        assert!(e.contains("tokenizer_config.json: chat_template:"), "{e}");
        let dir =
            folder_with(r#"{"chat_template": "{{ raise_exception('roles must alternate') }}"}"#);
        let t = ChatTemplate::from_folder(dir.path()).unwrap().unwrap();
        let e = t.render(&messages()).unwrap_err().to_string();
        assert!(e.contains("roles must alternate"), "{e}");
    }

    #[test]
    fn plain_concatenation_is_role_colon_content() {
        assert_eq!(plain_chat(&messages()), "user: Hi\nassistant:");
    }
}
