//! The JSON body of one request, per the OpenAI API: `messages` for chat,
//! `prompt` for completions, `max_tokens`, greedy sampling, and usage in
//! the stream's last chunk.

use inferbench_backend::{ChatMessage, ErrorClass, GenerationError, GenerationRequest, Prompt};
use serde_json::{Value, json};

use crate::config::{Api, EndpointConfig};

/// The body for `request` under `config`, or why it cannot be sent.
pub fn body(
    config: &EndpointConfig,
    request: &GenerationRequest,
) -> Result<Value, GenerationError> {
    let mut body = json!({
        "max_tokens": request.max_tokens,
        "stream": config.stream,
        // Greedy decoding, as the in-process side does, so outputs compare.
        "temperature": 0.0,
    });
    if let Some(model) = &config.model {
        body["model"] = json!(model);
    }
    if config.stream {
        body["stream_options"] = json!({ "include_usage": true });
    }
    if request.ignore_eos {
        // vLLM and llama.cpp take `ignore_eos`; `min_tokens` asks the same
        // of servers that only take that.
        body["ignore_eos"] = json!(true);
        body["min_tokens"] = json!(request.max_tokens);
    }
    match (config.api, &request.prompt) {
        (Api::Chat, Prompt::Chat(messages)) => body["messages"] = json!(messages),
        (Api::Chat, Prompt::Text(text)) => {
            body["messages"] = json!([ChatMessage {
                role: "user".into(),
                content: text.clone(),
            }])
        }
        (Api::Completions, Prompt::Text(text)) => body["prompt"] = json!(text),
        // The completions API takes a prompt as a list of token ids.
        (Api::Completions, Prompt::Tokens(ids)) => body["prompt"] = json!(ids),
        (Api::Chat, Prompt::Tokens(_)) => {
            return Err(GenerationError::new(
                ErrorClass::Backend,
                "the chat API takes text, not token ids: use `api = \"completions\"` or text prompts",
            ));
        }
        (Api::Completions, Prompt::Chat(_)) => {
            return Err(GenerationError::new(
                ErrorClass::Backend,
                "chat `messages` prompts need `api = \"chat\"`",
            ));
        }
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(api: Api) -> EndpointConfig {
        EndpointConfig {
            url: "http://127.0.0.1:1/v1".into(),
            api,
            model: Some("smollm2".into()),
            api_key_env: None,
            stream: true,
            timeout_s: 1.0,
            tokenizer: None,
        }
    }

    #[test]
    fn gen_len_and_ignore_eos_map_to_the_api_fields() {
        let r = GenerationRequest {
            prompt: Prompt::Text("Hi".into()),
            max_tokens: 8,
            ignore_eos: true,
        };
        let chat = body(&config(Api::Chat), &r).unwrap();
        assert_eq!(chat["messages"][0]["content"], "Hi");
        assert_eq!(chat["messages"][0]["role"], "user");
        assert_eq!(
            (chat["max_tokens"].as_u64(), chat["min_tokens"].as_u64()),
            (Some(8), Some(8))
        );
        assert_eq!(chat["ignore_eos"], true);
        assert_eq!(chat["stream_options"]["include_usage"], true);
        assert_eq!(chat["model"], "smollm2");
        let completion = body(&config(Api::Completions), &r).unwrap();
        assert_eq!(completion["prompt"], "Hi");
        assert!(completion.get("messages").is_none());
        let eos = GenerationRequest {
            ignore_eos: false,
            ..r
        };
        assert!(
            body(&config(Api::Chat), &eos)
                .unwrap()
                .get("ignore_eos")
                .is_none()
        );
    }

    #[test]
    fn token_prompts_go_to_completions_only() {
        let r = GenerationRequest {
            prompt: Prompt::Tokens(vec![1, 2, 3]),
            max_tokens: 2,
            ignore_eos: false,
        };
        assert_eq!(
            body(&config(Api::Completions), &r).unwrap()["prompt"],
            json!([1, 2, 3])
        );
        assert!(body(&config(Api::Chat), &r).is_err());
    }
}
