//! Encoder (BERT-family) cases: the padded batch of sentences a case runs,
//! and its embeddings' accuracy against the f64 reference BERT.
//!
//! A case runs one batch: the first `batch` sentences of `[inputs]
//! sentences` (cycled when the file has fewer), tokenized with the model's
//! `tokenizer.json` (`[CLS] ... [SEP]`, truncated to `seq_len`), padded on
//! the right to the longest sentence or to `seq_len`, with the mask set.
//! Without sentences the batch is random token ids, every position real.

use std::path::Path;

use inferbench_backend::bert::{LAST_HIDDEN_STATE, SENTENCE_EMBEDDING};
use inferbench_backend::{BackendError, BertConfig, EncoderBatch, HostTensor, SentencePooling};
use inferbench_reference::bert::{cosine, pool};
use inferbench_reference::{BertReference, ReferenceError};
use serde::{Deserialize, Serialize};

use super::inputs::token_batch;
use crate::accuracy::AccuracyDeltas;

/// How a batch of sentences is padded (`[inputs] padding`).
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    /// To the longest sentence of the batch (the default).
    #[default]
    Longest,
    /// To `seq_len`, whatever the sentences' lengths.
    MaxLength,
}

/// The encoder a case runs, as the worker needs it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EncoderJob {
    pub config: BertConfig,
    pub pooling: Option<SentencePooling>,
    /// The user's folder, with `tokenizer.json`.
    pub folder: std::path::PathBuf,
}

/// The batch of a case: its sentences tokenized and padded, or random ids.
pub fn encoder_batch(
    job: &EncoderJob,
    sentences: Option<(&[String], Padding)>,
    batch: usize,
    seq_len: usize,
    seed: u64,
) -> Result<EncoderBatch, String> {
    let Some((sentences, padding)) = sentences else {
        let ids = token_batch(job.config.vocab_size, batch, seq_len, seed).ids;
        return Ok(EncoderBatch::unpadded(batch, seq_len, ids));
    };
    if sentences.is_empty() {
        return Err("no sentences to run".into());
    }
    let chosen: Vec<&str> = (0..batch)
        .map(|i| sentences[i % sentences.len()].as_str())
        .collect();
    let tokenizer = inferbench_models::TextTokenizer::from_folder(&job.folder, &job.folder)
        .map_err(|e| e.to_string())?;
    let rows = tokenizer
        .encode_sentences(&chosen, seq_len)
        .map_err(|e| format!("tokenizing the sentences: {e}"))?;
    Ok(pad(&rows, seq_len, padding, job.config.pad_token_id))
}

/// Right-pads `rows` with `pad_id` and sets the mask.
fn pad(rows: &[Vec<u32>], seq_len: usize, padding: Padding, pad_id: u32) -> EncoderBatch {
    let width = match padding {
        Padding::Longest => rows.iter().map(Vec::len).max().unwrap_or(0),
        Padding::MaxLength => seq_len,
    };
    let (mut ids, mut mask) = (Vec::new(), Vec::new());
    for row in rows {
        for t in 0..width {
            ids.push(i64::from(row.get(t).copied().unwrap_or(pad_id)));
            mask.push(i64::from(t < row.len()));
        }
    }
    EncoderBatch {
        batch: rows.len(),
        seq_len: width,
        ids,
        mask,
    }
}

/// The reference's last hidden state of each sentence's real tokens,
/// computed once per sentence and kept in `cache` (beside the converted
/// weights, so new weights get new references).
pub fn reference_states(
    job: &EncoderJob,
    weights: &Path,
    cache: &Path,
    batch: &EncoderBatch,
) -> Result<Vec<Vec<f64>>, ReferenceError> {
    let mut model: Option<BertReference> = None;
    let lengths = batch.lengths();
    (0..batch.batch)
        .map(|b| {
            let row = &batch.ids[b * batch.seq_len..b * batch.seq_len + lengths[b]];
            let ids: Vec<u32> = row.iter().map(|&t| t as u32).collect();
            inferbench_reference::cache::cached_values(cache, "bert-states", &ids, || {
                if model.is_none() {
                    model = Some(BertReference::load(&job.config, weights)?);
                }
                model.as_ref().expect("just loaded").last_hidden_state(row)
            })
        })
        .collect()
}

/// The accuracy figures of an encoder's outputs against the reference's
/// states (see [`reference_states`]):
/// - `rel_l2`: of the last hidden state over real tokens only;
/// - `cosine` (the worst sentence, what `min_cosine` gates) and
///   `cosine_mean`: of each sentence's embedding with the reference's;
/// - `max_abs`: over the embeddings' values;
/// - `top1` and `kl`: NaN, they describe logits.
///
/// Without pooling a sentence's "embedding" is its real tokens' states.
pub fn compare(
    outputs: &[HostTensor],
    batch: &EncoderBatch,
    reference: &[Vec<f64>],
    pooling: Option<SentencePooling>,
) -> Result<AccuracyDeltas, BackendError> {
    let states = output(outputs, LAST_HIDDEN_STATE)?;
    let hidden = states.shape.last().copied().unwrap_or(0);
    if states.shape != [batch.batch, batch.seq_len, hidden] || hidden == 0 {
        return Err(BackendError::Run(format!(
            "`{LAST_HIDDEN_STATE}` has shape {:?}, expected [{}, {}, hidden]",
            states.shape, batch.batch, batch.seq_len
        )));
    }
    let embeddings = match pooling {
        Some(_) => Some(output(outputs, SENTENCE_EMBEDDING)?),
        None => None,
    };
    let lengths = batch.lengths();
    let mut sums = Sums::default();
    let mut cosines = Vec::with_capacity(batch.batch);
    for (b, want_states) in reference.iter().enumerate() {
        let start = b * batch.seq_len * hidden;
        let got_states = widen(&states.data[start..start + lengths[b] * hidden]);
        sums.add_states(want_states, &got_states);
        let (want, got) = match (pooling, embeddings) {
            (Some(p), Some(e)) => (
                pool(want_states, hidden, p),
                widen(&e.data[b * hidden..(b + 1) * hidden]),
            ),
            _ => (want_states.clone(), got_states),
        };
        sums.add_embedding(&want, &got);
        cosines.push(cosine(&got, &want));
    }
    let worst = cosines.iter().copied().fold(f64::INFINITY, |a, c| {
        // NaN wins: a NaN cosine is never within a limit.
        if c.is_nan() || a.is_nan() {
            f64::NAN
        } else {
            a.min(c)
        }
    });
    Ok(AccuracyDeltas {
        max_abs: sums.max_abs,
        rel_l2: (sums.diff2 / sums.ref2).sqrt(),
        cosine: worst,
        cosine_mean: Some(cosines.iter().sum::<f64>() / cosines.len().max(1) as f64),
        top1: f64::NAN,
        kl: f64::NAN,
        ppl_ratio: None,
        nonfinite: sums.nonfinite,
    })
}

fn output<'a>(outputs: &'a [HostTensor], name: &str) -> Result<&'a HostTensor, BackendError> {
    outputs
        .iter()
        .find(|o| o.name == name)
        .ok_or_else(|| BackendError::Run(format!("the encoder returned no `{name}` output")))
}

fn widen(values: &[f32]) -> Vec<f64> {
    values.iter().map(|&v| v as f64).collect()
}

#[derive(Default)]
struct Sums {
    diff2: f64,
    ref2: f64,
    max_abs: f64,
    nonfinite: u64,
}

impl Sums {
    fn add_states(&mut self, want: &[f64], got: &[f64]) {
        for (w, g) in want.iter().zip(got) {
            self.diff2 += (g - w) * (g - w);
            self.ref2 += w * w;
            self.nonfinite += u64::from(!g.is_finite());
        }
    }

    fn add_embedding(&mut self, want: &[f64], got: &[f64]) {
        for (w, g) in want.iter().zip(got) {
            let d = (g - w).abs();
            // NaN wins over any finite error.
            if d.is_nan() || d > self.max_abs {
                self.max_abs = d;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferbench_backend::PoolingMode;

    #[test]
    fn padding_to_the_longest_or_to_seq_len() {
        let rows = vec![vec![101, 5, 102], vec![101, 102]];
        let longest = pad(&rows, 8, Padding::Longest, 0);
        assert_eq!((longest.batch, longest.seq_len), (2, 3));
        assert_eq!(longest.ids, [101, 5, 102, 101, 102, 0]);
        assert_eq!(longest.mask, [1, 1, 1, 1, 1, 0]);
        let max = pad(&rows, 5, Padding::MaxLength, 0);
        assert_eq!(max.seq_len, 5);
        assert_eq!(max.padding_share(), 5.0 / 10.0);
    }

    fn tensor(name: &str, shape: Vec<usize>, data: Vec<f32>) -> HostTensor {
        HostTensor {
            name: name.into(),
            shape,
            data,
        }
    }

    #[test]
    fn figures_by_hand_ignore_padding() {
        // Two sentences, hidden 2: the second has one real token of two.
        let batch = EncoderBatch {
            batch: 2,
            seq_len: 2,
            ids: vec![1, 2, 3, 0],
            mask: vec![1, 1, 1, 0],
        };
        let reference = vec![vec![1.0, 0.0, 0.0, 1.0], vec![3.0, 4.0]];
        // Padding row holds garbage (99) that must not count.
        let states = tensor(
            LAST_HIDDEN_STATE,
            vec![2, 2, 2],
            vec![1.0, 0.0, 0.0, 1.0, 3.0, 4.0, 99.0, 99.0],
        );
        let mean = SentencePooling {
            mode: PoolingMode::Mean,
            normalize: false,
        };
        // Sentence 0's mean is (0.5, 0.5); sentence 1 off by (0, 1).
        let embeddings = tensor(SENTENCE_EMBEDDING, vec![2, 2], vec![0.5, 0.5, 3.0, 5.0]);
        let d = compare(&[states, embeddings], &batch, &reference, Some(mean)).unwrap();
        assert_eq!(d.rel_l2, 0.0);
        assert_eq!(d.max_abs, 1.0);
        let c1 = (9.0 + 20.0) / (5.0 * 34f64.sqrt());
        assert!((d.cosine - c1).abs() < 1e-15, "{}", d.cosine);
        assert!((d.cosine_mean.unwrap() - (1.0 + c1) / 2.0).abs() < 1e-15);
        assert!(d.top1.is_nan() && d.kl.is_nan());
    }

    #[test]
    fn a_missing_embedding_output_is_an_error() {
        let batch = EncoderBatch::unpadded(1, 1, vec![1]);
        let states = tensor(LAST_HIDDEN_STATE, vec![1, 1, 2], vec![1.0, 0.0]);
        let pooling = SentencePooling {
            mode: PoolingMode::Cls,
            normalize: true,
        };
        let e = compare(&[states], &batch, &[vec![1.0, 0.0]], Some(pooling)).unwrap_err();
        assert!(e.to_string().contains("sentence_embedding"), "{e}");
    }
}
