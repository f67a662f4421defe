//! Real text as a checkpoint's input: the model's own tokenizer (and chat
//! template) turn `[inputs]` text and prompts into token ids before a
//! backend sees them, and generated ids back into text.

use std::path::Path;

use inferbench_backend::{BackendError, TokenBatch};
use inferbench_models::{ChatTemplate, TextTokenizer, plain_chat};

use crate::scenario::TextPrompt;

/// A checkpoint's tokenizer and chat template.
pub struct TextCodec {
    tokenizer: TextTokenizer,
    template: Option<ChatTemplate>,
}

fn load_error(e: inferbench_models::ModelError) -> BackendError {
    BackendError::Load(e.to_string())
}

impl TextCodec {
    /// The tokenizer files of `folder` (the user's HF folder, or the one
    /// derived from a GGUF file); `source` is what the user named.
    pub fn load(folder: &Path, source: &Path) -> Result<Self, BackendError> {
        Ok(Self {
            tokenizer: TextTokenizer::from_folder(folder, source).map_err(load_error)?,
            template: ChatTemplate::from_folder(folder).map_err(load_error)?,
        })
    }

    /// Token ids of `text` (no special tokens added).
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, BackendError> {
        self.tokenizer
            .encode(text)
            .map_err(|e| BackendError::Run(format!("tokenizer: {e}")))
    }

    pub fn decode(&self, ids: &[i64]) -> Result<String, BackendError> {
        let ids: Vec<u32> = ids.iter().map(|&t| t as u32).collect();
        self.tokenizer
            .decode(&ids)
            .map_err(|e| BackendError::Run(format!("tokenizer: {e}")))
    }

    /// The text a prompt puts before the model: raw text as it is, chat
    /// turns through the chat template (or [`plain_chat`] without one).
    pub fn prompt_text(&self, prompt: &TextPrompt) -> Result<String, BackendError> {
        match (prompt, &self.template) {
            (TextPrompt::Text { prompt }, _) => Ok(prompt.clone()),
            (TextPrompt::Chat { messages }, Some(t)) => t.render(messages).map_err(load_error),
            (TextPrompt::Chat { messages }, None) => Ok(plain_chat(messages)),
        }
    }

    /// The `batch` windows of `seq_len` tokens at the start of the text
    /// file's token stream (see [`windows`]).
    pub fn text_windows(
        &self,
        path: &Path,
        batch: usize,
        seq_len: usize,
    ) -> Result<TokenBatch, BackendError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| BackendError::Load(format!("{}: {e}", path.display())))?;
        let ids = self.encode(&text)?;
        windows(&ids, batch, seq_len)
            .map_err(|m| BackendError::Load(format!("{}: {m}", path.display())))
    }
}

/// The first `batch` consecutive, non-overlapping windows of `seq_len`
/// tokens of one token stream, as llama.cpp's perplexity tool cuts its
/// chunks; the tail that fills no window is left out.
pub fn windows(ids: &[u32], batch: usize, seq_len: usize) -> Result<TokenBatch, String> {
    let available = ids.len() / seq_len.max(1);
    if available < batch {
        return Err(format!(
            "{} tokens make {available} windows of {seq_len}, and batch {batch} needs {batch}; \
             use a longer text, a smaller batch or a shorter seq_len",
            ids.len()
        ));
    }
    Ok(TokenBatch {
        batch,
        seq_len,
        ids: ids[..batch * seq_len].iter().map(|&t| t as i64).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_are_consecutive_and_too_few_tokens_say_so() {
        let ids: Vec<u32> = (0..10).collect();
        let w = windows(&ids, 2, 4).unwrap();
        assert_eq!((w.batch, w.seq_len), (2, 4));
        assert_eq!(w.ids, [0, 1, 2, 3, 4, 5, 6, 7]);
        let e = windows(&ids, 3, 4).unwrap_err();
        assert_eq!(
            e,
            "10 tokens make 2 windows of 4, and batch 3 needs 3; use a longer text, a smaller \
             batch or a shorter seq_len"
        );
    }
}
