//! The conformance suite: what every backend must do, written once here
//! and run by each adapter crate from its own tests, as ripgrep's
//! `tests/test_matcher.rs` checks every `Matcher`. A backend gets the
//! checks for free; which ones run follows from what it declares
//! ([`Capabilities`]) and whether its runtime is present.
//!
//! The f64 reference comes from outside (the `inferbench-reference` crate
//! builds a [`Fixture`]), so this crate stays below it.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use crate::{
    Backend, BackendError, BackendStatus, Device, GptSpec, LoadOptions, ModelKind, ModelSource,
    Precision, Session, Support, TokenBatch,
};

/// Logits `[batch, seq_len, vocab_size]` of the f64 reference for a batch.
pub type ReferenceLogits = Box<dyn Fn(&TokenBatch) -> Vec<f64>>;

/// The synthetic GPT every check runs: its f32 weights file and the f64
/// reference of its logits.
pub struct Fixture {
    pub spec: GptSpec,
    /// f32 safetensors with the synthetic GPT's names.
    pub weights: PathBuf,
    /// Where a backend may cache converted forms.
    pub cache_dir: PathBuf,
    /// Logits `[batch, seq_len, vocab_size]` of the f64 reference.
    pub reference: ReferenceLogits,
}

/// The checks, by name.
pub const UNSUPPORTED_IS_A_CLEAN_NO: &str =
    "unsupported (device, precision) is a clean Support::No";
pub const UNAVAILABLE_IS_A_SKIP: &str = "an unavailable runtime gives skip errors";
pub const F32_MATCHES_THE_REFERENCE: &str = "f32 logits match the f64 reference";
pub const OUTPUTS_BEFORE_RUN_IS_AN_ERROR: &str = "outputs before run is an error";
pub const BAD_INPUT_IS_AN_ERROR: &str = "empty or ill-shaped input is an error";
pub const DECODER_MATCHES_RECOMPUTATION: &str =
    "decoder prefill and steps match full recomputation";
pub const BAD_DECODER_INPUT_IS_AN_ERROR: &str = "ill-shaped decoder input is an error";

/// What a backend that runs the synthetic GPT in process, with a
/// decoder, passes: every check but [`UNAVAILABLE_IS_A_SKIP`], in the order
/// [`run`] runs them.
pub const IN_PROCESS_DECODER: &[&str] = &[
    UNSUPPORTED_IS_A_CLEAN_NO,
    F32_MATCHES_THE_REFERENCE,
    OUTPUTS_BEFORE_RUN_IS_AN_ERROR,
    BAD_INPUT_IS_AN_ERROR,
    DECODER_MATCHES_RECOMPUTATION,
    BAD_DECODER_INPUT_IS_AN_ERROR,
];

/// Relative L2 error f32 arithmetic stays within against the f64
/// reference on the small fixture (rounding of ~1e-7 per operation).
const F32_REL_L2: f64 = 1e-5;

/// What ran: the checks that passed and those that did not apply, with why.
#[derive(Debug, Default)]
pub struct Report {
    pub passed: Vec<&'static str>,
    pub not_applicable: Vec<(&'static str, String)>,
}

#[derive(Debug, thiserror::Error)]
#[error("{backend}: `{check}` failed: {message}")]
pub struct Failure {
    pub backend: &'static str,
    pub check: &'static str,
    pub message: String,
}

type Outcome = Result<(), String>;

/// Runs every check that applies to `backend`.
pub fn run(backend: &dyn Backend, fixture: &Fixture) -> Result<Report, Failure> {
    let mut report = Report::default();
    let mut check = |name: &'static str, applies: Result<(), String>, f: &dyn Fn() -> Outcome| {
        if let Err(why) = applies {
            report.not_applicable.push((name, why));
            return Ok(());
        }
        let outcome = catch_unwind(AssertUnwindSafe(f))
            .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_text(&panic))));
        outcome.map_err(|message| Failure {
            backend: backend.name(),
            check: name,
            message,
        })?;
        report.passed.push(name);
        Ok(())
    };
    let available = match backend.status() {
        BackendStatus::Ready { .. } => Ok(()),
        BackendStatus::Unavailable { reason, .. } => Err(reason),
    };
    let caps = backend.capabilities();
    let runs_gpt =
        available
            .clone()
            .and_then(|()| match backend.supports(Device::Cpu, Precision::F32) {
                Support::No(reason) => Err(reason),
                Support::Yes if !caps.takes(ModelKind::SyntheticGpt) => {
                    Err("does not take the synthetic GPT".into())
                }
                Support::Yes => Ok(()),
            });
    // Input checks ask nothing of the numbers; comparisons need logits
    // (the null backend runs the former only).
    let declares = |yes: bool, why: &str| if yes { Ok(()) } else { Err(why.to_string()) };
    let logits = runs_gpt
        .clone()
        .and_then(|()| declares(caps.logits, "gives no logits"));
    let decodes = runs_gpt
        .clone()
        .and_then(|()| declares(caps.decoder, "declares no decoder"));
    let decodes_logits = decodes
        .clone()
        .and_then(|()| declares(caps.logits, "gives no logits"));
    let unavailable = match &available {
        Ok(()) => Err("the runtime is available".into()),
        Err(_) => Ok(()),
    };
    check(UNSUPPORTED_IS_A_CLEAN_NO, Ok(()), &|| {
        unsupported_is_a_clean_no(backend, fixture)
    })?;
    check(UNAVAILABLE_IS_A_SKIP, unavailable, &|| {
        unavailable_is_a_skip(backend, fixture)
    })?;
    check(F32_MATCHES_THE_REFERENCE, logits, &|| {
        f32_matches(backend, fixture)
    })?;
    check(OUTPUTS_BEFORE_RUN_IS_AN_ERROR, runs_gpt.clone(), &|| {
        outputs_before_run(backend, fixture)
    })?;
    check(BAD_INPUT_IS_AN_ERROR, runs_gpt, &|| {
        bad_input(backend, fixture)
    })?;
    check(DECODER_MATCHES_RECOMPUTATION, decodes_logits, &|| {
        decoder_matches(backend, fixture)
    })?;
    check(BAD_DECODER_INPUT_IS_AN_ERROR, decodes, &|| {
        bad_decoder_input(backend, fixture)
    })?;
    Ok(report)
}

/// For an adapter's test: runs the suite and panics unless exactly
/// `expected` passed, in order (a failure, or a check that did not apply
/// and why, is in the message).
pub fn assert_passes(backend: &dyn Backend, fixture: &Fixture, expected: &[&str]) {
    let report = run(backend, fixture).unwrap_or_else(|f| panic!("{f}"));
    assert_eq!(
        report.passed, expected,
        "not applicable: {:?}",
        report.not_applicable
    );
}

fn panic_text(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a non-text panic".into())
}

fn source(fixture: &Fixture) -> ModelSource {
    ModelSource::SyntheticGpt {
        spec: fixture.spec,
        weights: fixture.weights.clone(),
        cache_dir: fixture.cache_dir.clone(),
    }
}

fn load(
    backend: &dyn Backend,
    fixture: &Fixture,
    device: Device,
    precision: Precision,
) -> Result<Box<dyn Session>, BackendError> {
    let options = LoadOptions {
        device,
        precision,
        threads: 1,
        options: Default::default(),
    };
    backend.load(&source(fixture), &options)
}

fn load_f32(backend: &dyn Backend, fixture: &Fixture) -> Result<Box<dyn Session>, String> {
    load(backend, fixture, Device::Cpu, Precision::F32).map_err(|e| format!("load: {e}"))
}

/// Token ids `[batch, seq_len]` spread over the vocabulary, the same on
/// every backend.
pub fn tokens(spec: &GptSpec, batch: usize, seq_len: usize) -> TokenBatch {
    let ids = (0..batch * seq_len)
        .map(|i| ((i * 7919 + 13) % spec.vocab_size) as i64)
        .collect();
    TokenBatch {
        batch,
        seq_len,
        ids,
    }
}

/// Every (device, precision) the backend refuses gives a reason, and
/// loading it anyway is an error the harness records as a skip.
fn unsupported_is_a_clean_no(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    for device in [Device::Cpu, Device::Cuda(0)] {
        for precision in Precision::ALL {
            let Support::No(reason) = backend.supports(device, precision) else {
                continue;
            };
            if reason.trim().is_empty() {
                return Err(format!(
                    "{device} {precision}: Support::No without a reason"
                ));
            }
            match load(backend, fixture, device, precision) {
                Err(e) if e.is_skip() => {}
                Err(e) => return Err(format!("{device} {precision}: load gave `{e}`, not a skip")),
                Ok(_) => return Err(format!("{device} {precision}: unsupported, yet it loads")),
            }
        }
    }
    Ok(())
}

fn unavailable_is_a_skip(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    match load(backend, fixture, Device::Cpu, Precision::F32) {
        Err(e) if e.is_skip() => Ok(()),
        Err(e) => Err(format!("load gave `{e}`, not a skip")),
        Ok(_) => Err("unavailable, yet it loads".into()),
    }
}

/// Relative L2 distance of `actual` from `expected`.
fn rel_l2(expected: &[f64], actual: &[f32]) -> f64 {
    let (mut diff, mut norm) = (0.0, 0.0);
    for (&e, &a) in expected.iter().zip(actual) {
        diff += (e - a as f64).powi(2);
        norm += e * e;
    }
    (diff / norm.max(f64::MIN_POSITIVE)).sqrt()
}

fn f32_matches(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    let spec = &fixture.spec;
    let input = tokens(spec, 2, spec.max_seq.min(6));
    let mut session = load_f32(backend, fixture)?;
    session
        .prepare(&input)
        .map_err(|e| format!("prepare: {e}"))?;
    session.run().map_err(|e| format!("run: {e}"))?;
    let outputs = session.outputs().map_err(|e| format!("outputs: {e}"))?;
    let logits = outputs.first().ok_or("no outputs")?;
    let shape = vec![input.batch, input.seq_len, spec.vocab_size];
    if logits.shape != shape {
        return Err(format!(
            "logits shape {:?}, expected {shape:?}",
            logits.shape
        ));
    }
    let error = rel_l2(&(fixture.reference)(&input), &logits.data);
    if error < F32_REL_L2 {
        Ok(())
    } else {
        Err(format!(
            "relative L2 error {error:e} (limit {F32_REL_L2:e})"
        ))
    }
}

fn outputs_before_run(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    let mut session = load_f32(backend, fixture)?;
    session
        .prepare(&tokens(&fixture.spec, 1, 2))
        .map_err(|e| format!("prepare: {e}"))?;
    match session.outputs() {
        Err(_) => Ok(()),
        Ok(outputs) => Err(format!("{} outputs before any run", outputs.len())),
    }
}

/// Each bad batch must fail in `prepare` or `run`: an error, not a panic
/// and not numbers.
fn bad_input(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    let spec = &fixture.spec;
    let mut out_of_vocab = tokens(spec, 1, 2);
    out_of_vocab.ids[1] = spec.vocab_size as i64;
    let bad = [
        ("an empty batch", tokens(spec, 0, 2)),
        ("empty sequences", tokens(spec, 1, 0)),
        (
            "too few ids",
            TokenBatch {
                ids: vec![0],
                ..tokens(spec, 1, 2)
            },
        ),
        (
            "more positions than max_seq",
            tokens(spec, 1, spec.max_seq + 1),
        ),
        ("a token id outside the vocabulary", out_of_vocab),
    ];
    for (what, input) in bad {
        let mut session = load_f32(backend, fixture)?;
        let ran = session.prepare(&input).and_then(|()| session.run());
        if ran.is_ok() {
            return Err(format!("{what} ran without an error"));
        }
    }
    Ok(())
}

/// The last position's logits `[batch, vocab]` of a full f64 forward pass.
fn last_position(fixture: &Fixture, input: &TokenBatch) -> Vec<f64> {
    let v = fixture.spec.vocab_size;
    let all = (fixture.reference)(input);
    (0..input.batch)
        .flat_map(|b| {
            let start = (b * input.seq_len + input.seq_len - 1) * v;
            all[start..start + v].to_vec()
        })
        .collect()
}

/// Greedy decoding of a batch of two: the prompt's and every step's logits
/// against the reference over the whole sequence so far.
fn decoder_matches(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    let spec = &fixture.spec;
    let (batch, prompt_len, steps) = (2, 3, spec.max_seq.saturating_sub(3).min(3));
    let mut session = load_f32(backend, fixture)?;
    let mut decoder = session.decoder().map_err(|e| format!("decoder: {e}"))?;
    let mut sequence = tokens(spec, batch, prompt_len);
    let mut logits = decoder
        .prefill(&sequence)
        .map_err(|e| format!("prefill: {e}"))?;
    for step in 0..=steps {
        let expected = last_position(fixture, &sequence);
        let error = rel_l2(&expected, &logits.data);
        if logits.shape != [batch, spec.vocab_size] || error >= F32_REL_L2 {
            return Err(format!(
                "after {step} steps: logits {:?}, relative L2 error {error:e}",
                logits.shape
            ));
        }
        if step == steps {
            break;
        }
        let next = greedy(&logits.data, spec.vocab_size);
        sequence = append(&sequence, &next);
        logits = decoder
            .step(&next)
            .map_err(|e| format!("step {step}: {e}"))?;
    }
    Ok(())
}

fn greedy(logits: &[f32], vocab: usize) -> Vec<i64> {
    logits
        .chunks_exact(vocab)
        .map(|row| {
            let best = row
                .iter()
                .enumerate()
                .fold(0, |best, (i, &x)| if x > row[best] { i } else { best });
            best as i64
        })
        .collect()
}

fn append(sequence: &TokenBatch, next: &[i64]) -> TokenBatch {
    let t = sequence.seq_len;
    let ids = (0..sequence.batch)
        .flat_map(|b| {
            sequence
                .row(b)
                .iter()
                .copied()
                .chain([next[b]])
                .collect::<Vec<_>>()
        })
        .collect();
    TokenBatch {
        batch: sequence.batch,
        seq_len: t + 1,
        ids,
    }
}

fn bad_decoder_input(backend: &dyn Backend, fixture: &Fixture) -> Outcome {
    let spec = &fixture.spec;
    let mut session = load_f32(backend, fixture)?;
    let mut decoder = session.decoder().map_err(|e| format!("decoder: {e}"))?;
    if decoder.step(&[0]).is_ok() {
        return Err("a step before the prefill ran".into());
    }
    if decoder.prefill(&tokens(spec, 0, 2)).is_ok() {
        return Err("an empty prompt ran".into());
    }
    decoder
        .prefill(&tokens(spec, 2, 2))
        .map_err(|e| format!("prefill: {e}"))?;
    if decoder.step(&[0, 1, 2]).is_ok() {
        return Err("a step of 3 tokens for 2 sequences ran".into());
    }
    Ok(())
}

/// For an adapter's test: its own matrix product ([`Backend::matmul`]) of
/// a small non-square [`MatmulSpec`] matches the f64 product, in f32 and in
/// each half precision it runs; returns the precisions it multiplied.
/// `threads` is the count this test process runs the backend with. A
/// precision whose matmul is refused as unsupported is left out; any
/// other error, or a wrong product, fails.
pub fn matmul_matches(backend: &dyn Backend, threads: usize) -> Result<Vec<Precision>, String> {
    let mut multiplied = Vec::new();
    for precision in [Precision::F32, Precision::F16, Precision::Bf16] {
        let spec = crate::MatmulSpec {
            m: 33,
            k: 70,
            n: 17,
            precision,
            threads,
            device: Device::Cpu,
        };
        let mut product = match backend.matmul(&spec) {
            Ok(product) => product,
            Err(BackendError::Unsupported(_)) if precision != Precision::F32 => continue,
            Err(e) => return Err(format!("{precision} matmul: {e}")),
        };
        if product.output().is_ok() {
            return Err(format!("{precision}: output before run is not an error"));
        }
        product.run().map_err(|e| format!("{precision} run: {e}"))?;
        let output = product.output().map_err(|e| format!("{precision}: {e}"))?;
        // f32 sums of 70 exact products; f16/bf16 outputs keep 11/8 bits.
        let limit = match precision {
            Precision::F32 => 1e-6,
            Precision::F16 => 2e-3,
            _ => 1e-2,
        };
        let error = crate::matmul::relative_error(&output, &spec.reference());
        if error > limit {
            return Err(format!(
                "{precision} matmul is off the f64 product by {error:.2e} (limit {limit:.0e})"
            ));
        }
        multiplied.push(precision);
    }
    Ok(multiplied)
}
