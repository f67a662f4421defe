//! Prefill and decode speed of the tch Llama on the SmolLM2 fixture, batch
//! 1, through the backend trait's KV-cache decoder (what the harness's
//! generation workload times), until the harness runs `scenarios/smollm2.toml`:
//!
//! ```text
//! cargo run --release -p inferbench-tch --features libtorch --example llama_speed -- [threads]
//! ```
//!
//! Prefill: one 512-token prompt; decode: 128 greedy steps after a 16-token
//! prompt. Each is run 3 times after a warm-up; the median is printed.

use std::collections::BTreeMap;
use std::time::Instant;

use inferbench_backend::{Backend, Device, LoadOptions, ModelSource, Precision, TokenBatch};
use inferbench_tch::TchBackend;

const PREFILL: usize = 512;
const DECODE: usize = 128;
const REPEATS: usize = 3;

fn argmax(values: &[f32]) -> i64 {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best as i64
}

fn median(mut seconds: Vec<f64>) -> f64 {
    seconds.sort_by(f64::total_cmp);
    seconds[seconds.len() / 2]
}

fn prompt(len: usize, vocab: usize) -> TokenBatch {
    TokenBatch {
        batch: 1,
        seq_len: len,
        ids: (0..len).map(|i| ((i * 7919 + 31) % vocab) as i64).collect(),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let threads: usize = std::env::args().nth(1).map_or(Ok(2), |t| t.parse())?;
    let (config, weights) = inferbench_reference::fixtures::smollm2()?;
    let source = ModelSource::Llama {
        config: config.clone(),
        weights,
        gguf: None,
        cache_dir: std::env::temp_dir(),
    };
    for precision in [Precision::F32, Precision::F16, Precision::Bf16] {
        let options = LoadOptions {
            device: Device::Cpu,
            precision,
            threads,
            options: BTreeMap::new(),
        };
        let mut session = TchBackend.load(&source, &options)?;
        let mut decoder = session.decoder()?;
        let long = prompt(PREFILL, config.vocab_size);
        let mut prefill = Vec::new();
        let mut decode = Vec::new();
        for repeat in 0..=REPEATS {
            let start = Instant::now();
            decoder.prefill(&long)?;
            let prefill_s = start.elapsed().as_secs_f64();
            let mut logits = decoder.prefill(&prompt(16, config.vocab_size))?;
            let start = Instant::now();
            for _ in 0..DECODE {
                logits = decoder.step(&[argmax(&logits.data)])?;
            }
            let decode_s = start.elapsed().as_secs_f64();
            if repeat > 0 {
                prefill.push(prefill_s);
                decode.push(decode_s);
            }
        }
        println!(
            "tch {precision:>4} threads {threads}: prefill {:.1} tokens/s ({PREFILL} tokens), \
             decode {:.2} tokens/s ({DECODE} tokens)",
            PREFILL as f64 / median(prefill),
            DECODE as f64 / median(decode)
        );
    }
    Ok(())
}
