//! Prefill and decode speed of SmolLM2-135M on ONNX Runtime, batch 1, as
//! llama.cpp's `llama-bench` measures them: `pp512` (a 512-token prompt
//! into an empty KV cache) and `tg128` (128 tokens generated one at a time
//! after a 1-token prompt), through the exported KV-cache decoder graph.
//!
//! ```text
//! cargo run --release -p inferbench-ort --example llama_speed -- [threads] [f32|f16|int8 ...]
//! ```
//!
//! Each figure is the best of `REPEATS` runs after one warm-up, printed
//! as tokens/s. The model is the fixture `ci/setup.sh` installs.

use std::collections::BTreeMap;
use std::time::Instant;

use inferbench_backend::{Backend, Device, LoadOptions, ModelSource, Precision, TokenBatch};
use inferbench_ort::OrtBackend;
use inferbench_reference::fixtures;

const PROMPT: usize = 512;
const GENERATED: usize = 128;
const REPEATS: usize = 3;

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let mut args = std::env::args().skip(1).peekable();
    let threads = match args.peek().and_then(|a| a.parse::<usize>().ok()) {
        Some(n) => {
            args.next();
            n
        }
        None => std::thread::available_parallelism().map_or(1, |n| n.get()),
    };
    let precisions: Vec<Precision> = args.map(|a| a.parse()).collect::<Result<_, _>>()?;
    let precisions = match precisions.is_empty() {
        true => vec![Precision::F32, Precision::F16, Precision::Int8],
        false => precisions,
    };
    let (config, weights) = fixtures::smollm2()?;
    let source = ModelSource::Llama {
        cache_dir: weights.with_file_name("onnx"),
        config,
        weights,
        gguf: Some(fixtures::smollm2_gguf()),
    };
    println!("SmolLM2-135M-Instruct on ONNX Runtime, batch 1, {threads} threads");
    for precision in precisions {
        let (pp, tg) = measure(&source, precision, threads)?;
        println!("{precision:>5}  pp{PROMPT} {pp:8.1} tokens/s  tg{GENERATED} {tg:7.1} tokens/s");
    }
    Ok(())
}

/// Best prefill and decode tokens/s of `REPEATS` runs after a warm-up.
fn measure(
    source: &ModelSource,
    precision: Precision,
    threads: usize,
) -> Result<(f64, f64), Error> {
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads,
        options: BTreeMap::new(),
    };
    let mut session = OrtBackend.load(source, &options)?;
    let mut decoder = session.decoder()?;
    let tokens = |n: usize| TokenBatch {
        batch: 1,
        seq_len: n,
        ids: (0..n as i64).map(|i| 1 + (i * 7919) % 40_000).collect(),
    };
    let (mut pp, mut tg) = (0f64, 0f64);
    for run in 0..=REPEATS {
        let start = Instant::now();
        decoder.prefill(&tokens(PROMPT))?;
        let prefill = PROMPT as f64 / start.elapsed().as_secs_f64();
        decoder.prefill(&tokens(1))?;
        let start = Instant::now();
        for i in 0..GENERATED {
            decoder.step(&[1 + i as i64])?;
        }
        let decode = GENERATED as f64 / start.elapsed().as_secs_f64();
        if run > 0 {
            (pp, tg) = (pp.max(prefill), tg.max(decode));
        }
    }
    Ok((pp, tg))
}
