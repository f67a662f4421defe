//! Unit tests of the candle adapter on real candle tensors: weights are
//! written with candle's own safetensors writer, so nothing here mocks the
//! runtime.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use candle_core::{Device as CandleDevice, Tensor};
use inferbench_backend::{
    Backend, BackendStatus, Device, GptSpec, LoadOptions, ModelSource, Precision, Support,
    TokenBatch,
};

use super::{CandleBackend, candle_version};

fn spec() -> GptSpec {
    GptSpec {
        vocab_size: 40,
        hidden: 32,
        layers: 2,
        heads: 4,
        max_seq: 16,
        seed: 0,
    }
}

/// Deterministic weights of `spec` (a sine pattern, scaled like the
/// harness's draws: ~1/sqrt(fan-in)), LayerNorm gains near 1.
fn write_weights(spec: &GptSpec, path: &Path) {
    let mut tensors = HashMap::new();
    for (i, (name, shape)) in spec.weight_shapes().into_iter().enumerate() {
        let n: usize = shape.iter().product();
        let fan_in = *shape.last().unwrap() as f32;
        let gain = name.contains("ln_") && name.ends_with(".weight");
        let data: Vec<f32> = (0..n)
            .map(|k| {
                let wave = ((k * 7 + i * 13) as f32 * 0.37).sin();
                if gain {
                    1.0 + 0.1 * wave
                } else {
                    wave / fan_in.sqrt()
                }
            })
            .collect();
        let t = Tensor::from_vec(data, shape.as_slice(), &CandleDevice::Cpu).unwrap();
        tensors.insert(name, t);
    }
    candle_core::safetensors::save(&tensors, path).unwrap();
}

fn source(dir: &Path) -> ModelSource {
    let weights = dir.join("model.safetensors");
    write_weights(&spec(), &weights);
    ModelSource::SyntheticGpt {
        spec: spec(),
        weights,
        cache_dir: dir.to_path_buf(),
    }
}

fn options(precision: Precision) -> LoadOptions {
    LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 1,
        options: BTreeMap::new(),
    }
}

fn tokens(batch: usize, seq_len: usize) -> TokenBatch {
    TokenBatch {
        batch,
        seq_len,
        ids: (0..batch * seq_len).map(|i| (i * 11 % 40) as i64).collect(),
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("candle-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn reports_the_pinned_candle_version() {
    let cargo = include_str!("../../../Cargo.toml");
    let pinned = cargo
        .lines()
        .find_map(|l| l.strip_prefix("candle-core = \"="))
        .and_then(|rest| rest.split('"').next())
        .unwrap();
    assert_eq!(candle_version(), pinned);
    assert_eq!(
        CandleBackend.status(),
        BackendStatus::Ready {
            runtime_version: format!("candle-core {pinned}")
        }
    );
}

#[test]
fn supports_cpu_floats_and_ggml_types_only() {
    let b = CandleBackend;
    for p in [
        Precision::F32,
        Precision::F16,
        Precision::Bf16,
        Precision::Q8_0,
    ] {
        assert_eq!(b.supports(Device::Cpu, p), Support::Yes, "{p}");
    }
    assert!(
        matches!(b.supports(Device::Cpu, Precision::Int8), Support::No(m) if m.contains("q8_0"))
    );
    assert!(
        matches!(b.supports(Device::Cuda(0), Precision::F32), Support::No(m) if m.contains("cuda"))
    );
}

#[test]
fn a_forward_pass_gives_finite_logits_of_the_batch_shape() {
    let dir = temp_dir("forward");
    let mut session = CandleBackend
        .load(&source(&dir), &options(Precision::F32))
        .unwrap();
    assert!(session.run().is_err(), "run before prepare must fail");
    session.prepare(&tokens(2, 5)).unwrap();
    session.run().unwrap();
    let out = session.outputs().unwrap();
    assert_eq!(out[0].shape, [2, 5, 40]);
    assert!(out[0].data.iter().all(|x| x.is_finite()));
    assert!(session.weight_bytes().unwrap() >= 4 * spec().parameter_count());
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn the_kv_cache_decoder_matches_full_recomputation() {
    let dir = temp_dir("decoder");
    let mut session = CandleBackend
        .load(&source(&dir), &options(Precision::F32))
        .unwrap();
    let full = tokens(1, 6);
    session.prepare(&full).unwrap();
    session.run().unwrap();
    let logits = session.outputs().unwrap().remove(0).data;
    let last_two = &logits[4 * 40..];
    let mut decoder = session.decoder().unwrap();
    let prompt = TokenBatch {
        batch: 1,
        seq_len: 5,
        ids: full.ids[..5].to_vec(),
    };
    let after_prompt = decoder.prefill(&prompt).unwrap();
    let after_step = decoder.step(&full.ids[5..]).unwrap();
    let close = |a: &[f32], b: &[f32]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-4);
    assert!(close(&after_prompt.data, &last_two[..40]));
    assert!(close(&after_step.data, &last_two[40..]));
    drop(decoder);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn options_and_other_model_sources_are_refused() {
    let dir = temp_dir("refused");
    let mut with_option = options(Precision::F32);
    with_option.options.insert("threads".into(), "2".into());
    let e = CandleBackend
        .load(&source(&dir), &with_option)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("candle has no options; remove `threads`"),
        "{e}"
    );
    let file = ModelSource::File {
        path: dir.join("m.onnx"),
        format: inferbench_backend::ModelFormat::Onnx,
    };
    let e = CandleBackend
        .load(&file, &options(Precision::F32))
        .err()
        .unwrap();
    assert!(e.to_string().contains("not onnx model files"), "{e}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn q8_0_is_quantized_once_into_the_cache_and_stays_close() {
    let dir = temp_dir("q8");
    let source = source(&dir);
    let run = |precision| {
        let mut s = CandleBackend.load(&source, &options(precision)).unwrap();
        s.prepare(&tokens(1, 4)).unwrap();
        s.run().unwrap();
        s.outputs().unwrap().remove(0).data
    };
    let (f32_logits, q8_logits) = (run(Precision::F32), run(Precision::Q8_0));
    let gguf = dir.join("model-q8_0.gguf");
    assert!(
        gguf.is_file()
            && inferbench_backend::cache::check(&gguf).unwrap()
                == inferbench_backend::cache::Integrity::Intact
    );
    let err: f32 = f32_logits
        .iter()
        .zip(&q8_logits)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max);
    let scale: f32 = f32_logits.iter().map(|x| x.abs()).fold(0.0, f32::max);
    assert!(err > 0.0 && err < 0.05 * scale, "max |Δ| {err} of {scale}");
    std::fs::remove_dir_all(&dir).unwrap();
}
