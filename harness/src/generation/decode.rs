//! Greedy decoding of one batch of prompts through a backend's KV-cache
//! [`Decoder`], timing each token as it becomes available.

use std::time::Instant;

use inferbench_backend::{BackendError, Decoder, HostTensor, TokenBatch};

/// What one generation produced.
pub struct Generated {
    /// Output token ids per sequence, `gen_len` each.
    pub tokens: Vec<Vec<i64>>,
    /// When each step's tokens were chosen, ns since `origin`.
    pub token_ns: Vec<u64>,
    /// The logits each token was chosen from (prefill's last position, then
    /// each step), kept only when asked, for the accuracy check.
    pub logits: Vec<HostTensor>,
}

/// Index of the largest logit of each row of `[batch, vocab]`: greedy choice.
pub fn argmax_rows(logits: &HostTensor) -> Vec<i64> {
    let vocab = *logits.shape.last().unwrap_or(&1);
    logits
        .data
        .chunks_exact(vocab.max(1))
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f32::NEG_INFINITY), |best, (i, &x)| {
                    if x > best.1 { (i, x) } else { best }
                })
                .0 as i64
        })
        .collect()
}

pub fn generate(
    decoder: &mut dyn Decoder,
    prompt: &TokenBatch,
    gen_len: usize,
    origin: Instant,
    keep_logits: bool,
) -> Result<Generated, BackendError> {
    let mut out = Generated {
        tokens: vec![Vec::with_capacity(gen_len); prompt.batch],
        token_ns: Vec::new(),
        logits: Vec::new(),
    };
    let mut logits = decoder.prefill(prompt)?;
    for step in 0..gen_len {
        let next = argmax_rows(&logits);
        if next.len() != prompt.batch {
            return Err(BackendError::Run(format!(
                "decoder returned logits of shape {:?} for a batch of {}",
                logits.shape, prompt.batch
            )));
        }
        out.token_ns.push(origin.elapsed().as_nanos() as u64);
        for (seq, &t) in out.tokens.iter_mut().zip(&next) {
            seq.push(t);
        }
        if keep_logits {
            out.logits.push(logits.clone());
        }
        if step + 1 < gen_len {
            logits = decoder.step(&next)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argmax_per_row_takes_the_first_of_ties() {
        let l = HostTensor {
            name: "l".into(),
            shape: vec![3, 3],
            data: vec![0.1, 0.9, 0.2, 5.0, 5.0, 1.0, -1.0, -2.0, -0.5],
        };
        assert_eq!(argmax_rows(&l), vec![1, 0, 2]);
    }
}
