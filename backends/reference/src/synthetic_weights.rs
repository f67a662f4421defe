//! The synthetic GPT's weights, drawn from its seed: the numbers every
//! backend and the f64 reference read (from one f32 safetensors file).

use std::io;
use std::path::Path;

use inferbench_backend::{
    BackendError, F32Tensors, GptSpec, read_f32_safetensors, write_f32_safetensors,
};

use crate::rng::SplitMix64;

/// All weights as f32, in [`GptSpec::weight_shapes`] order.
pub struct GptWeights {
    pub tensors: F32Tensors,
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
        let mut tensors = F32Tensors::new();
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

    /// Reads a safetensors file of f32 weights (the file names itself in
    /// errors).
    pub fn read(path: &Path) -> Result<Self, BackendError> {
        read_f32_safetensors(path).map(|tensors| Self { tensors })
    }

    /// Writes the weights as safetensors, atomically.
    pub fn write(&self, path: &Path) -> io::Result<()> {
        write_f32_safetensors(path, &self.tensors)
    }
}

/// The small synthetic GPT the conformance suite runs, its weights written
/// into `dir`, with its f64 reference.
#[cfg(feature = "conformance")]
pub fn conformance_fixture(dir: &Path) -> io::Result<inferbench_backend::conformance::Fixture> {
    let spec = GptSpec {
        vocab_size: 64,
        hidden: 32,
        layers: 2,
        heads: 4,
        max_seq: 8,
        seed: 7,
    };
    let weights = GptWeights::generate(&spec);
    let path = dir.join("model.safetensors");
    weights.write(&path)?;
    Ok(inferbench_backend::conformance::Fixture {
        spec,
        weights: path,
        cache_dir: dir.join("cache"),
        reference: Box::new(move |input| crate::gpt::forward(&spec, &weights, input).data),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::tiny_gpt;

    #[test]
    fn same_seed_same_weights() {
        let a = GptWeights::generate(&tiny_gpt());
        let b = GptWeights::generate(&tiny_gpt());
        assert_eq!(a.get("h.1.mlp.c_fc.weight"), b.get("h.1.mlp.c_fc.weight"));
        let c = GptWeights::generate(&GptSpec {
            seed: 6,
            ..tiny_gpt()
        });
        assert_ne!(a.get("wte"), c.get("wte"));
        assert_eq!(a.tensors["h.0.attn.c_attn.weight"].0, vec![24, 8]);
    }
}
