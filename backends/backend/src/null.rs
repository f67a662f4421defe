//! The `null` backend: a session whose forward pass does nothing and a
//! decoder that returns fixed logits, so a case on it measures the
//! harness's own cost: the measured loop's per-iteration overhead (two
//! clock readings and a virtual call), the generation drivers' per-token
//! work, and a case's fixed cost (worker start, load, reference). It plays
//! the part of MLPerf LoadGen's null SUT, which measures LoadGen itself.
//!
//! It lives in the trait crate, beside [`crate::NotCompiled`], because it
//! depends on nothing but the trait: the harness's benches and tests reach
//! it without another crate in the build.
//!
//! It still checks its inputs as a real backend does (the shape, the
//! vocabulary, the positions), so the harness cannot feed it what a real
//! backend would refuse, and so the conformance checks that ask no logits
//! of it apply.

use crate::{
    Backend, BackendError, BackendStatus, Capabilities, Decoder, Device, GptSpec, HostTensor,
    KvCacheShape, LoadOptions, Matmul, MatmulSpec, ModelKind, ModelSource, Precision, Session,
    Support, TokenBatch,
};

/// The backend's name in scenarios and result rows.
pub const NULL: &str = "null";

/// A backend that computes nothing; see the module documentation.
#[derive(Debug, Clone, Copy, Default)]
pub struct NullBackend;

impl Backend for NullBackend {
    fn name(&self) -> &'static str {
        NULL
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            models: &[ModelKind::SyntheticGpt],
            // Its outputs are fixed numbers, not the model's logits: no
            // accuracy comparison applies.
            logits: false,
            decoder: true,
            endpoint: false,
        }
    }

    fn status(&self) -> BackendStatus {
        BackendStatus::Ready {
            runtime_version: "null (no computation)".into(),
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        match (device, precision) {
            (Device::Cpu, Precision::F32) => Support::Yes,
            (Device::Cpu, _) => {
                Support::No("the null backend does no arithmetic, so it runs as `f32` only".into())
            }
            (device, _) => Support::No(format!(
                "the null backend runs on the CPU only, not on `{device}`"
            )),
        }
    }

    fn matmul(&self, _: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        Err(BackendError::Unsupported(
            "the null backend does no arithmetic, so it has no matrix product to measure".into(),
        ))
    }

    fn open(&self, model: &ModelSource, _: &LoadOptions) -> Result<Box<dyn Session>, BackendError> {
        let ModelSource::SyntheticGpt { spec, .. } = model else {
            return Err(BackendError::Unsupported(format!(
                "the null backend runs the synthetic GPT, not {}",
                model.kind()
            )));
        };
        // The weights file is never read: loading costs nothing but this.
        Ok(Box::new(NullSession {
            spec: *spec,
            input: None,
            runs: 0,
        }))
    }
}

/// A loaded null model: the prepared batch's shape and a count of runs.
pub struct NullSession {
    spec: GptSpec,
    input: Option<(usize, usize)>,
    runs: u64,
}

impl NullSession {
    /// Forward passes run so far.
    pub fn runs(&self) -> u64 {
        self.runs
    }
}

impl Session for NullSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        self.input = None;
        input.validate(self.spec.vocab_size, self.spec.max_seq)?;
        self.input = Some((input.batch, input.seq_len));
        self.runs = 0;
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        if self.input.is_none() {
            return Err(BackendError::run_before_prepare());
        }
        self.runs += 1;
        Ok(())
    }

    /// Zeros of the logits' shape, so the untimed checks that read the
    /// outputs (non-finite values) see the shape a real backend gives.
    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let Some((batch, seq_len)) = self.input.filter(|_| self.runs > 0) else {
            return Err(BackendError::outputs_before_run());
        };
        let shape = vec![batch, seq_len, self.spec.vocab_size];
        Ok(vec![HostTensor {
            name: "logits".into(),
            data: vec![0.0; shape.iter().product()],
            shape,
        }])
    }

    fn weight_bytes(&self) -> Option<u64> {
        Some(0)
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        Ok(Box::new(NullDecoder {
            cache: KvCacheShape::new(self.spec.vocab_size, self.spec.max_seq),
            vocab_size: self.spec.vocab_size,
        }))
    }
}

/// A decoder that keeps only the cache's shape and answers every prefill
/// and step with the same logits.
pub struct NullDecoder {
    cache: KvCacheShape,
    vocab_size: usize,
}

impl NullDecoder {
    /// Logits `[batch, vocab]` that make token 0 every sequence's greedy
    /// choice. A fresh tensor each call, as the [`Decoder`] contract hands
    /// them over by value: that allocation is part of the floor it measures.
    fn fixed_logits(&self) -> HostTensor {
        let batch = self.cache.batch();
        let mut data = vec![0.0; batch * self.vocab_size];
        for row in data.chunks_exact_mut(self.vocab_size) {
            row[0] = 1.0;
        }
        HostTensor {
            name: "logits".into(),
            shape: vec![batch, self.vocab_size],
            data,
        }
    }
}

impl Decoder for NullDecoder {
    fn prefill(&mut self, prompt: &TokenBatch) -> Result<HostTensor, BackendError> {
        self.cache.prefill(prompt)?;
        Ok(self.fixed_logits())
    }

    fn step(&mut self, tokens: &[i64]) -> Result<HostTensor, BackendError> {
        self.cache.step(tokens)?;
        Ok(self.fixed_logits())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session() -> Box<dyn Session> {
        let spec = GptSpec {
            vocab_size: 8,
            hidden: 4,
            layers: 1,
            heads: 1,
            max_seq: 4,
            seed: 0,
        };
        let source = ModelSource::SyntheticGpt {
            spec,
            weights: "never-read.safetensors".into(),
            cache_dir: "unused".into(),
        };
        let options = LoadOptions {
            device: Device::Cpu,
            precision: Precision::F32,
            threads: 1,
            options: Default::default(),
        };
        NullBackend.load(&source, &options).unwrap()
    }

    #[test]
    fn a_run_counts_and_outputs_have_the_logits_shape() {
        let mut session = session();
        assert!(session.run().is_err(), "run before prepare");
        let input = TokenBatch {
            batch: 2,
            seq_len: 3,
            ids: vec![1, 2, 3, 4, 5, 6],
        };
        session.prepare(&input).unwrap();
        assert!(session.outputs().is_err(), "outputs before run");
        session.run().unwrap();
        let outputs = session.outputs().unwrap();
        assert_eq!(outputs[0].shape, [2, 3, 8]);
        assert_eq!(outputs[0].data.len(), 48);
    }

    #[test]
    fn it_has_no_matmul_to_measure() {
        let spec = MatmulSpec::square(4, Precision::F32, 1);
        let e = NullBackend.matmul(&spec).err().unwrap();
        assert!(
            e.is_skip() && e.to_string().contains("no arithmetic"),
            "{e}"
        );
    }

    #[test]
    fn the_decoder_answers_fixed_logits_within_the_cache() {
        let mut session = session();
        let mut decoder = session.decoder().unwrap();
        let logits = decoder.prefill(&TokenBatch::step(&[3, 4])).unwrap();
        assert_eq!(logits.shape, [2, 8]);
        assert_eq!(&logits.data[8..10], [1.0, 0.0]);
        assert_eq!(decoder.step(&[0, 0]).unwrap(), logits);
        assert!(decoder.step(&[0]).is_err(), "one token for two sequences");
        decoder.step(&[0, 0]).unwrap();
        decoder.step(&[0, 0]).unwrap();
        let full = decoder.step(&[0, 0]).unwrap_err().to_string();
        assert!(full.contains("5 positions exceed the model's 4"), "{full}");
    }
}
