//! The model's tokenizer through the `tokenizers` crate: a folder's
//! `tokenizer.json` (for a GGUF file, the one derived from its metadata in
//! the cache folder).

use std::path::Path;

use tokenizers::{Tokenizer, TruncationParams};

use crate::ModelError;

/// Text to token ids and back, as the model was trained.
pub struct TextTokenizer {
    inner: Tokenizer,
}

impl TextTokenizer {
    /// Loads `folder/tokenizer.json`. `source` names what the user gave (the
    /// folder or the GGUF file) for the error when there is none.
    pub fn from_folder(folder: &Path, source: &Path) -> Result<Self, ModelError> {
        let path = folder.join("tokenizer.json");
        if !path.exists() {
            return Err(ModelError::invalid(
                source,
                "no tokenizer: neither a `tokenizer.json` in the folder nor `tokenizer.ggml.tokens` in the GGUF metadata",
            ));
        }
        Self::from_file(&path)
    }

    pub fn from_file(path: &Path) -> Result<Self, ModelError> {
        let inner = Tokenizer::from_file(path)
            .map_err(|e| ModelError::invalid(path, format!("not a readable tokenizer: {e}")))?;
        Ok(TextTokenizer { inner })
    }

    /// Token ids of `text`, without added special tokens (no BOS): what the
    /// model continues, as llama.cpp's perplexity tool tokenizes its text.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, String> {
        self.inner
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| e.to_string())
    }

    /// Token ids of each sentence as a sentence encoder reads it: with the
    /// special tokens the tokenizer's post-processor adds (`[CLS] ... [SEP]`),
    /// truncated to `max_len` tokens as `transformers` truncates (words
    /// dropped from the end, special tokens kept), and not padded whatever
    /// `tokenizer.json` says (the batch is padded later, with its mask).
    pub fn encode_sentences(
        &self,
        sentences: &[&str],
        max_len: usize,
    ) -> Result<Vec<Vec<u32>>, String> {
        let mut tokenizer = self.inner.clone();
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| e.to_string())?;
        sentences
            .iter()
            .map(|s| {
                tokenizer
                    .encode(*s, true)
                    .map(|e| e.get_ids().to_vec())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    /// The text of `ids`, special tokens kept (they are part of the output).
    pub fn decode(&self, ids: &[u32]) -> Result<String, String> {
        self.inner.decode(ids, false).map_err(|e| e.to_string())
    }

    /// The id of a token string, e.g. `<|im_end|>`.
    pub fn token_id(&self, token: &str) -> Option<u32> {
        self.inner.token_to_id(token)
    }

    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }
}
