//! Weights of the synthetic GPT, drawn from its seed and written once as
//! safetensors, cached by a hash of the spec.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use inferbench_backend::GptSpec;
use inferbench_backend::cache::{self, Integrity};
use safetensors::{Dtype, tensor::TensorView};
use sha2::{Digest, Sha256};

use super::rng::SplitMix64;

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
    #[error("cached weights {} are corrupt: {message} (delete the file to rebuild it)", path.display())]
    Corrupt { path: PathBuf, message: String },
}

/// All weights as f32, in [`GptSpec::weight_shapes`] order.
pub struct GptWeights {
    pub tensors: BTreeMap<String, (Vec<usize>, Vec<f32>)>,
}

impl GptWeights {
    /// Draws every weight from the seed. Scales keep activations near unit
    /// size through any depth (LayerNorm before every block) and make the
    /// output distribution peaked, so top-1 agreement and KL divergence are
    /// meaningful accuracy figures rather than noise on a flat softmax:
    /// linear weights ~ N(0, 1/in), the LM head ~ N(0, 4/in), embeddings
    /// ~ N(0, 1), LayerNorm gains 1 + N(0, 0.1²), biases N(0, 0.02²).
    pub fn generate(spec: &GptSpec) -> Self {
        let mut rng = SplitMix64::new(spec.seed);
        let mut tensors = BTreeMap::new();
        for (name, shape) in spec.weight_shapes() {
            let n: usize = shape.iter().product();
            let fan_in = *shape.last().unwrap_or(&1) as f64;
            let (offset, std) = if name == "wte" || name == "wpe" {
                (0.0, 1.0)
            } else if name == "lm_head.weight" {
                (0.0, 2.0 / fan_in.sqrt())
            } else if name.contains("ln_") && name.ends_with(".weight") {
                (1.0, 0.1)
            } else if name.ends_with(".bias") {
                (0.0, 0.02)
            } else {
                (0.0, 1.0 / fan_in.sqrt())
            };
            let data = (0..n)
                .map(|_| (offset + std * rng.next_normal()) as f32)
                .collect();
            tensors.insert(name, (shape, data));
        }
        Self { tensors }
    }

    pub fn get(&self, name: &str) -> &[f32] {
        &self.tensors[name].1
    }

    pub fn read(path: &Path) -> Result<Self, WeightsError> {
        let bytes = fs::read(path).map_err(|source| WeightsError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let corrupt = |message: String| WeightsError::Corrupt {
            path: path.to_path_buf(),
            message,
        };
        let st =
            safetensors::SafeTensors::deserialize(&bytes).map_err(|e| corrupt(e.to_string()))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in st.tensors() {
            if view.dtype() != Dtype::F32 {
                return Err(corrupt(format!(
                    "tensor `{name}` is {:?}, expected F32",
                    view.dtype()
                )));
            }
            let data = view
                .data()
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect();
            tensors.insert(name, (view.shape().to_vec(), data));
        }
        Ok(Self { tensors })
    }

    fn write(&self, path: &Path) -> Result<(), WeightsError> {
        let write_err = |source| WeightsError::Write {
            path: path.to_path_buf(),
            source,
        };
        let bytes: Vec<(String, Vec<u8>, Vec<usize>)> = self
            .tensors
            .iter()
            .map(|(name, (shape, data))| {
                let raw = data.iter().flat_map(|x| x.to_le_bytes()).collect();
                (name.clone(), raw, shape.clone())
            })
            .collect();
        let views = bytes
            .iter()
            .map(|(name, raw, shape)| {
                TensorView::new(Dtype::F32, shape.clone(), raw).map(|v| (name.as_str(), v))
            })
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| write_err(io::Error::other(e.to_string())))?;
        let serialized = safetensors::serialize(views, None)
            .map_err(|e| write_err(io::Error::other(e.to_string())))?;
        cache::write(path, &serialized).map_err(write_err)
    }
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
    GptWeights::generate(spec).write(path)
}

pub use inferbench_backend::cache::write_atomically;

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn tiny() -> GptSpec {
        GptSpec {
            vocab_size: 17,
            hidden: 8,
            layers: 2,
            heads: 2,
            max_seq: 8,
            seed: 5,
        }
    }

    #[test]
    fn same_seed_same_weights() {
        let a = GptWeights::generate(&tiny());
        let b = GptWeights::generate(&tiny());
        assert_eq!(a.get("h.1.mlp.c_fc.weight"), b.get("h.1.mlp.c_fc.weight"));
        let c = GptWeights::generate(&GptSpec { seed: 6, ..tiny() });
        assert_ne!(a.get("wte"), c.get("wte"));
    }

    #[test]
    fn cache_round_trips_and_is_keyed_by_spec() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure_weights(dir.path(), &tiny()).unwrap();
        let read = GptWeights::read(&path).unwrap();
        assert_eq!(
            read.get("lm_head.weight"),
            GptWeights::generate(&tiny()).get("lm_head.weight")
        );
        assert_eq!(read.tensors["h.0.attn.c_attn.weight"].0, vec![24, 8]);
        let other = ensure_weights(
            dir.path(),
            &GptSpec {
                layers: 3,
                ..tiny()
            },
        )
        .unwrap();
        assert_ne!(path, other);
    }

    /// Zeroed pages in the cached weights used to be read as weights.
    #[test]
    fn damaged_cached_weights_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let path = ensure_weights(dir.path(), &tiny()).unwrap();
        let whole = fs::read(&path).unwrap();
        let mut damaged = whole.clone();
        let n = damaged.len();
        damaged[n - 256..].fill(0);
        fs::write(&path, &damaged).unwrap();
        assert_eq!(ensure_weights(dir.path(), &tiny()).unwrap(), path);
        assert_eq!(fs::read(&path).unwrap(), whole);
        // A truncated file, too.
        fs::write(&path, &whole[..100]).unwrap();
        ensure_weights(dir.path(), &tiny()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), whole);
    }

    #[test]
    fn corrupt_cache_is_reported_with_its_path() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.safetensors");
        fs::write(&path, b"not a safetensors file").unwrap();
        let err = GptWeights::read(&path).err().unwrap().to_string();
        assert!(
            err.contains("corrupt") && err.contains("model.safetensors"),
            "{err}"
        );
    }
}
