//! KV-cache decoding with a decoder graph (`onnx::gpt_graph` or
//! `onnx::llama_graph` with `kv_cache`): the prompt runs with empty
//! (`past_len` = 0) caches, each step feeds the previous call's `present_*`
//! outputs back as `past_*` inputs, as onnxruntime-genai does with a GPT-2
//! decoder. The caches stay ORT values between calls; only the logits are
//! copied to the host.

use half::f16;
use inferbench_backend::{BackendError, Decoder, HostTensor, KvCacheShape, TokenBatch};
use ort::session::Session as OrtSessionHandle;
use ort::value::{DynValue, Tensor};

use crate::onnx::{self, CacheLayout, WeightFormat};

pub struct OrtDecoder<'a> {
    session: &'a mut OrtSessionHandle,
    layout: CacheLayout,
    format: WeightFormat,
    /// `past_key_l`, `past_value_l` for every layer, in input order; empty
    /// before the prefill.
    past: Vec<(String, DynValue)>,
    shape: KvCacheShape,
}

fn run_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::Run(e.to_string())
}

impl<'a> OrtDecoder<'a> {
    pub fn new(
        session: &'a mut OrtSessionHandle,
        layout: CacheLayout,
        format: WeightFormat,
    ) -> Self {
        Self {
            session,
            layout,
            format,
            past: Vec::new(),
            shape: KvCacheShape::new(layout.vocab_size, layout.max_positions),
        }
    }

    /// An empty cache tensor `[batch, kv_heads, 0, head_dim]` in the graph's
    /// activation type.
    fn empty_cache(&self, batch: usize) -> Result<DynValue, BackendError> {
        let shape = [batch, self.layout.kv_heads, 0, self.layout.head_dim];
        Ok(match self.format {
            WeightFormat::F16 => Tensor::from_array((shape, Vec::<f16>::new()))
                .map_err(run_err)?
                .into_dyn(),
            _ => Tensor::from_array((shape, Vec::<f32>::new()))
                .map_err(run_err)?
                .into_dyn(),
        })
    }

    /// Runs `ids` (`[batch, new]`) against the cache, keeps the presents as
    /// the next pasts and returns the last position's logits `[batch, vocab]`.
    fn advance(&mut self, ids: Vec<i64>, batch: usize) -> Result<HostTensor, BackendError> {
        // Shapes, token ids and positions are checked by `KvCacheShape`
        // first: past the model's positions there is no position embedding
        // or rotary angle, so an error, not a wrong number.
        let new = ids.len() / batch.max(1);
        let ids = Tensor::from_array(([batch, new], ids))
            .map_err(run_err)?
            .into_dyn();
        let mut feed: Vec<(&str, &DynValue)> = vec![(onnx::INPUT, &ids)];
        feed.extend(self.past.iter().map(|(n, v)| (n.as_str(), v)));
        let outputs = self.session.run(feed).map_err(run_err)?;
        let mut logits = None;
        let mut presents: Vec<Option<DynValue>> =
            (0..2 * self.layout.layers).map(|_| None).collect();
        for (name, value) in outputs {
            if name == onnx::OUTPUT {
                logits = Some(value);
            } else if let Some(i) = (0..self.layout.layers).find_map(|l| {
                if name == onnx::present_key(l) {
                    Some(2 * l)
                } else if name == onnx::present_value(l) {
                    Some(2 * l + 1)
                } else {
                    None
                }
            }) {
                presents[i] = Some(value);
            }
        }
        let logits = logits.ok_or_else(|| run_err("the decoder graph returned no logits"))?;
        self.past = presents
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let l = i / 2;
                let name = if i % 2 == 0 {
                    onnx::past_key(l)
                } else {
                    onnx::past_value(l)
                };
                v.map(|v| (name, v)).ok_or_else(|| {
                    run_err(format!(
                        "the decoder graph returned no present for layer {l}"
                    ))
                })
            })
            .collect::<Result<_, _>>()?;
        let (shape, data) = logits.try_extract_tensor::<f32>().map_err(run_err)?;
        // Every new position's logits (GPT) or only the last one's (Llama).
        let [_, rows, vocab] = shape[..] else {
            return Err(run_err(format!("decoder logits have shape {shape:?}")));
        };
        let (rows, vocab) = (rows as usize, vocab as usize);
        let last = (0..batch)
            .flat_map(|b| {
                let row = (b * rows + rows - 1) * vocab;
                data[row..row + vocab].iter().copied()
            })
            .collect();
        Ok(HostTensor {
            name: onnx::OUTPUT.into(),
            shape: vec![batch, vocab],
            data: last,
        })
    }
}

impl Decoder for OrtDecoder<'_> {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.shape.prefill(prompt)?;
        let empty = (0..self.layout.layers)
            .flat_map(|l| [onnx::past_key(l), onnx::past_value(l)])
            .map(|name| Ok((name, self.empty_cache(prompt.batch)?)))
            .collect::<Result<Vec<_>, BackendError>>()?;
        self.past = empty;
        self.advance(prompt.ids.clone(), prompt.batch)
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        self.shape.step(tokens)?;
        self.advance(tokens.to_vec(), tokens.len())
    }
}
