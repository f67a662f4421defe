//! The `[endpoint]` table of a scenario: where the server is and how to talk
//! to it. The API key is named by its environment variable and read only
//! when a request is built, so it never enters a case, a result or a log.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which OpenAI API the requests use.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Api {
    /// `POST {url}/chat/completions` with `messages`; the server applies
    /// the model's chat template.
    #[default]
    Chat,
    /// `POST {url}/completions` with the raw `prompt`.
    Completions,
}

impl Api {
    pub fn path(&self) -> &'static str {
        match self {
            Api::Chat => "chat/completions",
            Api::Completions => "completions",
        }
    }
}

/// A served model behind an OpenAI-compatible API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EndpointConfig {
    /// Base URL, up to and including `/v1`, e.g. `http://127.0.0.1:8080/v1`.
    pub url: String,
    /// `chat` (default) or `completions`.
    #[serde(default)]
    pub api: Api,
    /// The `model` field sent (single-model servers ignore it).
    #[serde(default)]
    pub model: Option<String>,
    /// Environment variable holding the API key, sent as a bearer token.
    /// The key itself is never written to results or logs.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Stream the answer as Server-Sent Events (default true); without it
    /// TTFT is the whole answer's latency.
    #[serde(default = "default_stream")]
    pub stream: bool,
    /// A request still unanswered after this many seconds is a timeout
    /// error (default 60); `[generation] timeout_ms`, when shorter, wins.
    #[serde(default = "default_timeout_s")]
    pub timeout_s: f64,
    /// A `tokenizer.json` to count tokens with when the server reports no
    /// `usage`, and to check its `usage` against.
    #[serde(default)]
    pub tokenizer: Option<std::path::PathBuf>,
}

fn default_stream() -> bool {
    true
}

fn default_timeout_s() -> f64 {
    60.0
}

impl EndpointConfig {
    /// The full URL requests go to.
    pub fn request_url(&self) -> String {
        format!("{}/{}", self.url.trim_end_matches('/'), self.api.path())
    }

    /// Problems a scenario should be rejected for, each naming the key.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            out.push(format!(
                "`url` must start with http:// or https://, got `{}`",
                self.url
            ));
        }
        if !(self.timeout_s.is_finite() && self.timeout_s > 0.0) {
            out.push(format!(
                "`timeout_s` must be a positive number of seconds, got {}",
                self.timeout_s
            ));
        }
        if let Some(var) = &self.api_key_env
            && var.is_empty()
        {
            out.push("`api_key_env` names no variable".into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_joins_the_api_path() {
        let c: EndpointConfig =
            serde_json::from_str(r#"{"url": "http://127.0.0.1:1/v1/", "api": "completions"}"#)
                .unwrap();
        assert_eq!(c.request_url(), "http://127.0.0.1:1/v1/completions");
        assert!(c.stream);
        assert_eq!(c.timeout_s, 60.0);
        assert!(c.problems().is_empty());
        let bad = EndpointConfig {
            url: "127.0.0.1:1".into(),
            timeout_s: 0.0,
            ..c
        };
        assert_eq!(bad.problems().len(), 2, "{:?}", bad.problems());
    }
}
