//! Greedy decoding of one batch of prompts through a backend's KV-cache
//! [`Decoder`], timing each token as it becomes available.

use std::time::Instant;

use inferbench_backend::{BackendError, Decoder, HostTensor, TokenBatch};

/// What one generation produced.
pub struct Generated {
    /// Output token ids per sequence: `gen_len` each, or up to and with the
    /// end-of-sequence token when decoding stops there.
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

/// Greedy decoding of `prompt` by `gen_len` tokens per sequence. With
/// `eos`, a sequence ends at that token (kept as its last), and decoding
/// stops when every sequence has ended; the batch's finished sequences
/// keep being fed their greedy tokens meanwhile, which nothing reads.
pub fn generate(
    decoder: &mut dyn Decoder,
    prompt: &TokenBatch,
    gen_len: usize,
    eos: Option<i64>,
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
            if !ended(seq, eos) {
                seq.push(t);
            }
        }
        if keep_logits {
            out.logits.push(logits.clone());
        }
        if out.tokens.iter().all(|seq| ended(seq, eos)) {
            break;
        }
        if step + 1 < gen_len {
            logits = decoder.step(&next)?;
        }
    }
    Ok(out)
}

fn ended(seq: &[i64], eos: Option<i64>) -> bool {
    eos.is_some() && seq.last().copied() == eos
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

    /// Picks token `script[seq][step]` for each sequence: one-hot logits.
    struct Scripted {
        script: Vec<Vec<usize>>,
        step: usize,
    }

    impl Scripted {
        fn logits(&self) -> HostTensor {
            let mut data = vec![0.0; self.script.len() * 4];
            for (seq, picks) in self.script.iter().enumerate() {
                data[seq * 4 + picks[self.step]] = 1.0;
            }
            HostTensor {
                name: "logits".into(),
                shape: vec![self.script.len(), 4],
                data,
            }
        }
    }

    impl Decoder for Scripted {
        fn prefill(&mut self, _: &TokenBatch) -> Result<HostTensor, BackendError> {
            Ok(self.logits())
        }
        fn step(&mut self, _: &[i64]) -> Result<HostTensor, BackendError> {
            self.step += 1;
            Ok(self.logits())
        }
    }

    #[test]
    fn decoding_stops_each_sequence_at_eos_and_the_batch_when_all_ended() {
        let prompt = TokenBatch {
            batch: 2,
            seq_len: 1,
            ids: vec![0, 0],
        };
        let script = vec![vec![1, 3, 1, 1, 1], vec![1, 1, 1, 3, 1]];
        let mut d = Scripted {
            script: script.clone(),
            step: 0,
        };
        let out = generate(&mut d, &prompt, 5, Some(3), Instant::now(), true).unwrap();
        assert_eq!(out.tokens, [vec![1, 3], vec![1, 1, 1, 3]]);
        assert_eq!((out.token_ns.len(), out.logits.len()), (4, 4));
        // ignore_eos: every sequence decodes all 5.
        let mut d = Scripted { script, step: 0 };
        let out = generate(&mut d, &prompt, 5, None, Instant::now(), false).unwrap();
        assert_eq!(out.tokens[0], [1, 3, 1, 1, 1]);
        assert_eq!(out.token_ns.len(), 5);
    }
}
