//! Fixtures for tests across the workspace: a tiny synthetic GPT, and the
//! real model SmolLM2-135M-Instruct from the GGUF file `ci/setup.sh` installs under
//! `vendor/models/smollm2/`, converted once into the model cache as the
//! shared Llama contract (config + f32 safetensors, HF names and layout),
//! so each backend's tests compare with [`LlamaReference`] on the same numbers.

use std::path::{Path, PathBuf};

use inferbench_backend::{
    Backend, Device, GptSpec, LlamaConfig, LoadOptions, ModelSource, Precision, Session,
};
use inferbench_models::{
    ConvertedModel, ModelError, TextTokenizer, cache::default_cache_dir, convert_gguf_cached,
};

use crate::LlamaReference;
use crate::inputs::token_batch;
use crate::synthetic_weights::GptWeights;

/// A synthetic GPT whose weights take microseconds to draw (17 tokens,
/// width 8, 2 layers of 2 heads, 8 positions, seed 5).
pub fn tiny_gpt() -> GptSpec {
    GptSpec {
        vocab_size: 17,
        hidden: 8,
        layers: 2,
        heads: 2,
        max_seq: 8,
        seed: 5,
    }
}

/// The quickstart scenario's `gpt-small` (`scenarios/quickstart.toml`) at
/// its larger batch, 8 sequences of 64 tokens on 2 threads: the workload
/// each backend's `own_best` bench times, as one forward pass and as the
/// runtime's raw matrix products at its projection shapes.
#[derive(Debug, Clone, Copy)]
pub struct GptWorkload {
    pub name: &'static str,
    pub spec: GptSpec,
    pub batch: usize,
    pub seq_len: usize,
    pub threads: usize,
}

impl GptWorkload {
    pub fn quickstart_gpt_small() -> Self {
        GptWorkload {
            name: "gpt-small",
            spec: GptSpec {
                vocab_size: 2048,
                hidden: 256,
                layers: 4,
                heads: 8,
                max_seq: 256,
                seed: 0,
            },
            batch: 8,
            seq_len: 64,
            threads: 2,
        }
    }

    /// `(rows, in, out)` of each projection a forward pass multiplies by:
    /// c_attn, c_fc, the MLP's c_proj and lm_head, one row a token.
    pub fn projection_shapes(&self) -> [(usize, usize, usize); 4] {
        let rows = self.batch * self.seq_len;
        let (h, f, v) = (
            self.spec.hidden,
            self.spec.mlp_hidden(),
            self.spec.vocab_size,
        );
        [(rows, h, 3 * h), (rows, h, f), (rows, f, h), (rows, h, v)]
    }

    /// FLOPs of one forward pass over the whole batch.
    pub fn flops(&self) -> u64 {
        self.spec.flops_per_forward(self.batch, self.seq_len)
    }

    /// Writes the model's weights under `dir`, loads them into `backend`
    /// (cpu, f32, `threads`) and prepares the batch: a session ready to run.
    pub fn session(
        &self,
        backend: &dyn Backend,
        dir: &Path,
    ) -> Result<Box<dyn Session>, FixtureError> {
        let weights = dir.join("model.safetensors");
        GptWeights::generate(&self.spec).write(&weights)?;
        let source = ModelSource::SyntheticGpt {
            spec: self.spec,
            weights,
            cache_dir: dir.to_path_buf(),
        };
        let options = LoadOptions {
            device: Device::Cpu,
            precision: Precision::F32,
            threads: self.threads,
            options: Default::default(),
        };
        let mut session = backend.load(&source, &options)?;
        let input = token_batch(
            self.spec.vocab_size,
            self.batch,
            self.seq_len,
            self.spec.seed,
        );
        session.prepare(&input)?;
        Ok(session)
    }
}

#[cfg(feature = "bench")]
impl GptWorkload {
    /// Times `backend`'s forward pass of the workload as the criterion
    /// group `group`, its throughput in FLOPs (so it reads as FLOP/s).
    pub fn bench_forward(&self, c: &mut criterion::Criterion, group: &str, backend: &dyn Backend) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut session = self.session(backend, dir.path()).expect("the model loads");
        let mut group = c.benchmark_group(group);
        group.throughput(criterion::Throughput::Elements(self.flops()));
        let id = format!("{}_b{}_t{}", self.name, self.batch, self.seq_len);
        group.bench_function(id, |b| b.iter(|| session.run().expect("forward pass")));
        group.finish();
    }
}

/// The workspace root (this crate is `backends/reference`).
fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf` (Q4_1 weights,
/// Q8_0 embedding, 30 layers, 9 query / 3 key-value heads, tied head).
pub fn smollm2_gguf() -> PathBuf {
    workspace_root().join("vendor/models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf")
}

/// The SmolLM2 fixture converted into the model cache (`$INFERBENCH_CACHE_DIR`
/// or `~/.cache/inferbench`): the folder with `config.json`,
/// `model.safetensors` and the tokenizer files.
pub fn smollm2_folder() -> Result<ConvertedModel, ModelError> {
    let gguf = smollm2_gguf();
    if !gguf.exists() {
        return Err(ModelError::invalid(
            gguf,
            "fixture missing; run `bash ci/setup.sh` to install the real model fixtures",
        ));
    }
    convert_gguf_cached(&gguf, &default_cache_dir())
}

/// SmolLM2 as the shared contract: its config and the f32 safetensors file
/// with HF names and layout (what `ModelSource::Llama` carries).
pub fn smollm2() -> Result<(LlamaConfig, PathBuf), ModelError> {
    let converted = smollm2_folder()?;
    Ok((converted.config, converted.weights))
}

/// The f64 reference of SmolLM2 (loads ~540 MB of f32 weights).
pub fn smollm2_reference() -> Result<LlamaReference, FixtureError> {
    let (config, weights) = smollm2()?;
    Ok(LlamaReference::load(&config, &weights)?)
}

pub type FixtureError = Box<dyn std::error::Error + Send + Sync>;

/// The fixed English text test prompts are cut from.
pub const PROMPT_TEXT: &str = "The old lighthouse keeper climbed the spiral stairs every evening \
to light the lamp. Ships passing the rocky coast relied on its beam to find the harbor. \
One stormy night, the wind howled and the waves crashed against the cliffs, but the keeper";

/// The first `n` token ids of [`PROMPT_TEXT`] (at most 48), tokenized by
/// SmolLM2's own tokenizer.
pub fn smollm2_prompt(n: usize) -> Result<Vec<u32>, FixtureError> {
    let folder = smollm2_folder()?.folder;
    let tokenizer = TextTokenizer::from_file(&folder.join("tokenizer.json"))?;
    let ids = tokenizer.encode(PROMPT_TEXT)?;
    if n > ids.len() {
        return Err(format!("the prompt text has {} tokens, {n} asked", ids.len()).into());
    }
    Ok(ids[..n].to_vec())
}

/// The reference's logits `[ids.len(), vocab]` for `ids`, computed once and
/// kept in the model cache (keyed by the weights' and the ids' content), as
/// the reference costs ~0.3 GFLOP per token.
pub fn smollm2_reference_logits(ids: &[u32]) -> Result<Vec<f64>, FixtureError> {
    let model = smollm2_folder()?;
    Ok(crate::cache::cached_logits(&model.folder, ids, || {
        LlamaReference::load(&model.config, &model.weights)?.forward(ids)
    })?)
}

/// The reference's greedy continuation of `prompt` by `n` tokens (with its
/// KV cache), computed once and cached like [`smollm2_reference_logits`].
pub fn smollm2_reference_greedy(prompt: &[u32], n: usize) -> Result<Vec<u32>, FixtureError> {
    let model = smollm2_folder()?;
    Ok(crate::cache::cached_greedy(
        &model.folder,
        prompt,
        n,
        || LlamaReference::load(&model.config, &model.weights)?.greedy(prompt, n),
    )?)
}

#[cfg(test)]
mod tests {
    use inferbench_backend::null::NullBackend;

    use super::*;

    #[test]
    fn the_quickstart_workload_runs_512_token_rows_through_each_projection() {
        let workload = GptWorkload::quickstart_gpt_small();
        assert_eq!(
            workload.projection_shapes(),
            [
                (512, 256, 768),
                (512, 256, 1024),
                (512, 1024, 256),
                (512, 256, 2048)
            ]
        );
        let dir = tempfile::tempdir().unwrap();
        let mut session = workload.session(&NullBackend, dir.path()).unwrap();
        session.run().unwrap();
        let logits = &session.outputs().unwrap()[0];
        assert_eq!(logits.shape, [8, 64, 2048]);
    }
}
