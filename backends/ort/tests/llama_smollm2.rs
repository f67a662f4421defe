//! ONNX Runtime on the real SmolLM2-135M-Instruct fixture (30 layers, 9
//! query heads on 3 key/value heads, tied embeddings), converted from its
//! GGUF file by `inferbench-models`, against the shared f64 reference
//! (`inferbench-reference`). The reference costs ~0.3 GFLOP a token, so the
//! prompt is 32 tokens and generation uses its KV cache.

mod common;
use common::{rel_l2, widen};
use std::collections::BTreeMap;
use std::path::PathBuf;

use inferbench_backend::{
    Backend, Device, LlamaConfig, LoadOptions, ModelSource, Precision, Session, TokenBatch,
};
use inferbench_models::TextTokenizer;
use inferbench_ort::OrtBackend;
use inferbench_reference::LlamaReference;
use inferbench_reference::fixtures;
use inferbench_reference::llama::argmax;

/// Tokens of generated continuation compared with the reference.
const GENERATED: usize = 16;

/// The first 32 tokens of this text are the prompt.
const TEXT: &str = "The old lighthouse keeper climbed the narrow stairs every evening, \
    carrying a lamp and a notebook in which he wrote down the ships he saw, \
    the colour of the sea and the direction of the wind.";

struct SmolLm2 {
    config: LlamaConfig,
    weights: PathBuf,
    reference: LlamaReference,
    /// 32 token ids of a fixed English prompt.
    prompt: Vec<u32>,
    tokenizer: TextTokenizer,
}

impl SmolLm2 {
    fn load() -> Self {
        let model = fixtures::smollm2_folder().expect("run `bash ci/setup.sh`");
        let reference = LlamaReference::load(&model.config, &model.weights).unwrap();
        let tokenizer = TextTokenizer::from_file(&model.folder.join("tokenizer.json")).unwrap();
        let mut prompt = tokenizer.encode(TEXT).unwrap();
        assert!(prompt.len() >= 32, "{} tokens", prompt.len());
        prompt.truncate(32);
        Self {
            config: model.config,
            weights: model.weights,
            reference,
            prompt,
            tokenizer,
        }
    }

    /// The exported graphs are cached beside the converted weights, keyed
    /// by their content, so later runs skip the export.
    fn source(&self) -> ModelSource {
        ModelSource::Llama {
            config: self.config.clone(),
            weights: self.weights.clone(),
            gguf: Some(fixtures::smollm2_gguf()),
            cache_dir: self.weights.with_file_name("onnx"),
        }
    }

    fn session(&self, precision: Precision) -> Box<dyn Session> {
        let options = LoadOptions {
            device: Device::Cpu,
            precision,
            threads: 0,
            options: BTreeMap::new(),
        };
        OrtBackend
            .load(&self.source(), &options)
            .expect("ONNX Runtime from `ci/setup.sh`")
    }

    fn batch(ids: &[u32]) -> TokenBatch {
        TokenBatch {
            batch: 1,
            seq_len: ids.len(),
            ids: ids.iter().map(|&t| t as i64).collect(),
        }
    }

    /// Logits `[ids.len(), vocab]` of a forward pass.
    fn forward(session: &mut dyn Session, ids: &[u32]) -> Vec<f32> {
        session.prepare(&Self::batch(ids)).unwrap();
        session.run().unwrap();
        session.outputs().unwrap().remove(0).data
    }

    /// Greedy continuation with the KV-cache decoder; at every step its
    /// logits against a forward pass over the whole sequence so far: the
    /// largest rel L2, and the steps whose argmax differs, come back with
    /// the tokens.
    fn greedy(&self, precision: Precision) -> (Vec<u32>, f64, usize) {
        let vocab = self.config.vocab_size;
        let mut full = self.session(precision);
        let mut cached = self.session(precision);
        let mut decoder = cached.decoder().unwrap();
        let mut sequence = self.prompt.clone();
        let mut logits = decoder.prefill(&Self::batch(&sequence)).unwrap().data;
        let (mut worst, mut disagree) = (0f64, 0);
        while sequence.len() < self.prompt.len() + GENERATED {
            let recomputed = Self::forward(full.as_mut(), &sequence);
            let last: Vec<f64> = recomputed[recomputed.len() - vocab..]
                .iter()
                .map(|&v| v as f64)
                .collect();
            worst = worst.max(rel_l2(&logits, &last));
            let next = argmax(&widen(&logits)) as u32;
            disagree += usize::from(next as usize != argmax(&last));
            sequence.push(next);
            logits = decoder.step(&[next as i64]).unwrap().data;
        }
        (sequence[self.prompt.len()..].to_vec(), worst, disagree)
    }
}

/// Share of positions whose argmax agrees.
fn top1(got: &[f32], want: &[f64], vocab: usize) -> f64 {
    let rows = want.len() / vocab;
    let same = (0..rows)
        .filter(|r| {
            argmax(&widen(&got[r * vocab..(r + 1) * vocab]))
                == argmax(&want[r * vocab..(r + 1) * vocab])
        })
        .count();
    same as f64 / rows as f64
}

#[test]
fn smollm2_f32_logits_and_greedy_text_match_the_f64_reference() {
    let model = SmolLm2::load();
    let want = model.reference.forward(&model.prompt).unwrap();
    let got = SmolLm2::forward(model.session(Precision::F32).as_mut(), &model.prompt);
    let err = rel_l2(&got, &want);
    assert!(err <= 1e-4, "rel L2 {err}");
    let expected = model.reference.greedy(&model.prompt, GENERATED).unwrap();
    let (tokens, decoder_err, disagree) = model.greedy(Precision::F32);
    let text = |ids: &[u32]| model.tokenizer.decode(ids).unwrap();
    eprintln!("f32: rel L2 {err:.2e}, decoder {decoder_err:.2e}");
    eprintln!("{:?} -> {:?}", text(&model.prompt), text(&tokens));
    assert_eq!(text(&tokens), text(&expected));
    assert_eq!(tokens, expected);
    assert!(
        decoder_err <= 1e-5,
        "decoder against recomputation: rel L2 {decoder_err}"
    );
    assert_eq!(disagree, 0);
}

#[test]
fn smollm2_f16_and_int8_stay_within_their_tolerance() {
    let model = SmolLm2::load();
    let want = model.reference.forward(&model.prompt).unwrap();
    let vocab = model.config.vocab_size;
    let expected = model.reference.greedy(&model.prompt, GENERATED).unwrap();
    // f16 (weights and cache, f32 arithmetic): rel L2 7.9e-4, top-1 1.0 and
    // all 16 greedy tokens as the reference's, measured. int8 (per-column
    // weights, per-tensor dynamic uint8 activations) is poor on SmolLM2:
    // rel L2 0.82, top-1 0.47, 2 greedy tokens measured; the bounds pin
    // that figure so a regression shows, not an acceptable level.
    for (precision, max_rel_l2, min_top1) in
        [(Precision::F16, 5e-3, 0.95), (Precision::Int8, 1.0, 0.4)]
    {
        let got = SmolLm2::forward(model.session(precision).as_mut(), &model.prompt);
        let (err, agree) = (rel_l2(&got, &want), top1(&got, &want, vocab));
        let (tokens, decoder_err, _) = model.greedy(precision);
        let prefix = tokens
            .iter()
            .zip(&expected)
            .take_while(|(a, b)| a == b)
            .count();
        eprintln!(
            "{precision}: rel L2 {err:.2e}, top-1 {agree:.3}, decoder {decoder_err:.2e}, common prefix {prefix}"
        );
        assert!(err <= max_rel_l2 && err > 1e-6, "{precision}: rel L2 {err}");
        assert!(agree >= min_top1, "{precision}: top-1 {agree}");
        if precision == Precision::F16 {
            assert_eq!(prefix, GENERATED, "f16 greedy tokens");
        }
    }
}
