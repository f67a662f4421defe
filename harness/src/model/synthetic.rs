//! Weights of the synthetic GPT, drawn from its seed and written once as
//! safetensors, cached by a hash of the spec.

use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use inferbench_backend::cache::{self, Integrity};
use inferbench_backend::{BackendError, GptSpec, TokenBatch};
use inferbench_reference::gpt::{ReferenceLogits, forward};
use inferbench_reference::synthetic_weights::GptWeights;
use sha2::{Digest, Sha256};

/// Bumped whenever the drawing scheme changes, so old caches are not reused.
const WEIGHTS_FORMAT: &str = "synthetic-gpt-weights-v1";

#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot write model cache {}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("cannot read cached weights {}", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// Unreadable or corrupt; the message names the file.
    #[error("{0} (delete the file to rebuild it)")]
    Unusable(#[source] BackendError),
}

/// The cache folder of one spec: `<cache>/synthetic-gpt/<hash>/`.
pub fn spec_dir(cache_root: &Path, spec: &GptSpec) -> PathBuf {
    cache_root.join("synthetic-gpt").join(spec_hash(spec))
}

/// First 16 hex digits of SHA-256 over the weight format and the spec.
pub fn spec_hash(spec: &GptSpec) -> String {
    let text = format!(
        "{WEIGHTS_FORMAT};vocab={};hidden={};layers={};heads={};max_seq={};seed={}",
        spec.vocab_size, spec.hidden, spec.layers, spec.heads, spec.max_seq, spec.seed
    );
    let digest = Sha256::digest(text.as_bytes());
    digest[..8].iter().map(|b| format!("{b:02x}")).collect()
}

/// The safetensors file of `spec` under `cache_root` (generated or not).
pub fn weights_path(cache_root: &Path, spec: &GptSpec) -> PathBuf {
    spec_dir(cache_root, spec).join("model.safetensors")
}

/// Returns the safetensors file for `spec`, generating it on first use.
pub fn ensure_weights(cache_root: &Path, spec: &GptSpec) -> Result<PathBuf, WeightsError> {
    let path = weights_path(cache_root, spec);
    ensure_weights_at(&path, spec)?;
    Ok(path)
}

/// Makes `path` hold the weights of `spec`: kept when it matches its
/// recorded hash, (re)generated otherwise (missing, damaged, or written
/// before hashes were recorded). The weights are a pure function of the
/// spec, so a rebuild gives back exactly what was lost.
pub fn ensure_weights_at(path: &Path, spec: &GptSpec) -> Result<(), WeightsError> {
    let read_err = |source| WeightsError::Read {
        path: path.to_path_buf(),
        source,
    };
    if cache::check(path).map_err(read_err)? == Integrity::Intact {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        fs::create_dir_all(dir).map_err(|source| WeightsError::Write {
            path: dir.to_path_buf(),
            source,
        })?;
    }
    let write_err = |source| WeightsError::Write {
        path: path.to_path_buf(),
        source,
    };
    GptWeights::generate(spec).write(path).map_err(write_err)?;
    cache::record(path).map_err(write_err)
}

/// Reference logits for `input`, cached under `spec_dir` as raw
/// little-endian f64, because the naive f64 loops take seconds on large specs.
pub fn cached_forward(
    spec: &GptSpec,
    weights_path: &Path,
    spec_dir: &Path,
    input: &TokenBatch,
    input_seed: u64,
) -> Result<ReferenceLogits, WeightsError> {
    let path = spec_dir.join(format!(
        "reference-b{}-t{}-s{}.f64",
        input.batch, input.seq_len, input_seed
    ));
    let expected = input.batch * input.seq_len * spec.vocab_size;
    // Only bytes matching the hash recorded at creation are reused.
    if let Ok(Some(bytes)) = cache::read_intact(&path)
        && bytes.len() == expected * 8
    {
        let data = bytes
            .chunks_exact(8)
            .map(|c| f64::from_le_bytes(c.try_into().expect("chunk of 8")))
            .collect();
        return Ok(ReferenceLogits {
            vocab_size: spec.vocab_size,
            data,
        });
    }
    let weights = GptWeights::read(weights_path).map_err(WeightsError::Unusable)?;
    let logits = forward(spec, &weights, input);
    let bytes: Vec<u8> = logits.data.iter().flat_map(|x| x.to_le_bytes()).collect();
    // A cache that cannot be written only costs time on the next run.
    let _ = cache::write(&path, &bytes);
    Ok(logits)
}

#[cfg(test)]
mod tests {
    use super::*;
    use inferbench_reference::fixtures::tiny_gpt;

    #[test]
    fn cache_round_trips_and_is_keyed_by_spec() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure_weights(dir.path(), &tiny_gpt()).unwrap();
        let read = GptWeights::read(&path).unwrap();
        assert_eq!(
            read.get("lm_head.weight"),
            GptWeights::generate(&tiny_gpt()).get("lm_head.weight")
        );
        assert_eq!(read.tensors["h.0.attn.c_attn.weight"].0, vec![24, 8]);
        let other = ensure_weights(
            dir.path(),
            &GptSpec {
                layers: 3,
                ..tiny_gpt()
            },
        )
        .unwrap();
        assert_ne!(path, other);
    }

    /// Zeroed pages in the cached weights used to be read as weights.
    #[test]
    fn damaged_cached_weights_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure_weights(dir.path(), &tiny_gpt()).unwrap();
        let whole = fs::read(&path).unwrap();
        let mut damaged = whole.clone();
        let n = damaged.len();
        damaged[n - 256..].fill(0);
        fs::write(&path, &damaged).unwrap();
        assert_eq!(ensure_weights(dir.path(), &tiny_gpt()).unwrap(), path);
        assert_eq!(fs::read(&path).unwrap(), whole);
        // A truncated file, too.
        fs::write(&path, &whole[..100]).unwrap();
        ensure_weights(dir.path(), &tiny_gpt()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn corrupt_cache_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        fs::write(&path, b"not a safetensors file").unwrap();
        let spec = tiny_gpt();
        let input = TokenBatch {
            batch: 1,
            seq_len: 2,
            ids: vec![1, 2],
        };
        let err = cached_forward(&spec, &path, dir.path(), &input, 0)
            .err()
            .unwrap()
            .to_string();
        assert!(
            err.contains("model.safetensors") && err.contains("delete the file"),
            "{err}"
        );
    }

    /// A damaged cached reference used to be read as the reference.
    #[test]
    fn damaged_cached_references_are_recomputed() {
        let spec = tiny_gpt();
        let dir = tempfile::tempdir().unwrap();
        let weights = ensure_weights(dir.path(), &spec).unwrap();
        let spec_dir = weights.parent().unwrap();
        let input = TokenBatch {
            batch: 1,
            seq_len: 4,
            ids: vec![1, 5, 2, 9],
        };
        let fresh = cached_forward(&spec, &weights, spec_dir, &input, 2).unwrap();
        let file = spec_dir.join("reference-b1-t4-s2.f64");
        let mut bytes = std::fs::read(&file).unwrap();
        bytes[..64].fill(0);
        std::fs::write(&file, &bytes).unwrap();
        let again = cached_forward(&spec, &weights, spec_dir, &input, 2).unwrap();
        assert_eq!(again.data, fresh.data);
    }
}
