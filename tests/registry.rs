//! A backend added from outside through the public registry API: the
//! scenario validator, `inferbench backends`, `inferbench schema`, the
//! results and the generated reference docs pick it up with no other edit.
//!
//! Its own test binary, because registering changes the process's registry.

use std::path::Path;
use std::sync::Arc;

use inferbench::registry;
use inferbench::results::Status;
use inferbench::runner::{Isolation, RunnerOptions, run_case};
use inferbench::scenario::{ScenarioError, parse_str};
use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, Device, GptSpec, HostTensor, LoadOptions,
    ModelKind, ModelSource, OptionKind, OptionSpec, Precision, Session, Support, TokenBatch,
};
use inferbench_reference::gpt as reference;
use inferbench_reference::synthetic_weights::GptWeights;

/// Runs the f64 reference itself, rounded to f32: a backend with no
/// runtime, whose accuracy is known to be exact up to that rounding.
struct Plain;

const OPTIONS: &[OptionSpec] = &[OptionSpec {
    key: "repeat",
    kind: OptionKind::Integer { min: 1, max: 8 },
    doc: "Forward passes per measured iteration.",
}];

impl Backend for Plain {
    fn name(&self) -> &'static str {
        "plain"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            models: &[ModelKind::SyntheticGpt],
            logits: true,
            decoder: false,
            endpoint: false,
        }
    }

    fn status(&self) -> BackendStatus {
        BackendStatus::Ready {
            runtime_version: "plain f64 loops".into(),
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if device == Device::Cpu && precision == Precision::F32 {
            Support::Yes
        } else {
            Support::No(format!("plain runs cpu f32 only, not {device} {precision}"))
        }
    }

    fn open(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        let ModelSource::SyntheticGpt { spec, weights, .. } = model else {
            return Err(BackendError::Unsupported(
                "plain runs the synthetic GPT only".into(),
            ));
        };
        let weights = GptWeights::read(weights).map_err(|e| BackendError::Load(e.to_string()))?;
        let repeat = options
            .options
            .get("repeat")
            .map_or(Ok(1), |r| r.parse::<usize>())
            .map_err(|e| BackendError::Load(e.to_string()))?;
        Ok(Box::new(PlainSession {
            spec: *spec,
            weights,
            repeat,
            input: None,
            logits: None,
        }))
    }
}

struct PlainSession {
    spec: GptSpec,
    weights: GptWeights,
    repeat: usize,
    input: Option<TokenBatch>,
    logits: Option<Vec<f64>>,
}

impl Session for PlainSession {
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        self.input = Some(input.clone());
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        let input = self
            .input
            .as_ref()
            .ok_or(BackendError::Run("no input".into()))?;
        for _ in 0..self.repeat {
            self.logits = Some(reference::forward(&self.spec, &self.weights, input).data);
        }
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let (Some(input), Some(logits)) = (&self.input, &self.logits) else {
            return Err(BackendError::Run("outputs before run".into()));
        };
        Ok(vec![HostTensor {
            name: "logits".into(),
            shape: vec![input.batch, input.seq_len, self.spec.vocab_size],
            data: logits.iter().map(|&x| x as f32).collect(),
        }])
    }
}

fn error_of(text: &str) -> (usize, usize, String) {
    match parse_str(text, Path::new("s.toml"), "s", 1) {
        Err(ScenarioError::Invalid {
            line,
            column,
            message,
            ..
        }) => (line, column, message),
        other => panic!("{other:?}"),
    }
}

const SCENARIO: &str = "backends = ['plain', 'candle']\nbatch = 1\nseq_len = 4\nthreads = 1\n\
    [model]\nvocab_size = 32\nhidden = 16\nlayers = 1\nheads = 2\nmax_seq = 8\n\
    [warmup]\niterations = 1\nseconds = 0\n\
    [measurement]\nmin_iterations = 2\nmax_iterations = 2\nmin_seconds = 0\n\
    [options.plain]\nrepeat = 2\n";

#[test]
fn a_registered_backend_is_validated_listed_documented_and_run() {
    registry::register(Arc::new(Plain)).unwrap();

    // The validator: its name and its options, located, with suggestions.
    let (line, column, message) = error_of("backends = ['candle', 'plian']\n");
    assert_eq!((line, column), (1, 23));
    assert_eq!(message, "unknown value `plian`, did you mean `plain`?");
    let (line, column, message) = error_of("backends = 'plain'\n[options.plain]\nrepaet = 2\n");
    assert_eq!((line, column), (3, 1));
    assert_eq!(
        message,
        "unknown plain option `repaet`, did you mean `repeat`?"
    );
    let (_, _, message) = error_of("[options.plain]\nrepeat = 9\n");
    assert_eq!(
        message,
        "option `plain.repeat` = `9` is invalid; expected a whole number from 1 to 8"
    );

    // The listing, the schema and the recorded environment.
    let listing = registry::listing();
    assert!(
        listing.contains("plain    ready        plain f64 loops"),
        "{listing}"
    );
    assert!(
        listing.contains("option plain.repeat (a whole number from 1 to 8): Forward passes"),
        "{listing}"
    );
    let schema = inferbench::scenario::json_schema();
    let names = &schema["$defs"]["Backend"]["enum"];
    assert!(
        names.as_array().unwrap().contains(&"plain".into()),
        "{names}"
    );
    let repeat = &schema["$defs"]["BackendOptions"]["properties"]["plain"]["properties"]["repeat"];
    assert_eq!(repeat["maximum"], 8, "{schema:#}");
    let environment = inferbench::results::environment::Environment::capture("s.toml", SCENARIO);
    assert_eq!(environment.backends["plain"], "plain f64 loops");

    // The generated reference docs.
    let pages = inferbench::reference_docs::pages();
    let backends = &pages
        .iter()
        .find(|(name, _)| *name == "backends.md")
        .unwrap()
        .1;
    assert!(
        backends.contains("## `plain`")
            && backends.contains(
                "| `repeat` | a whole number from 1 to 8 | Forward passes per measured iteration. |"
            ),
        "{backends}"
    );
    let scenario = &pages
        .iter()
        .find(|(name, _)| *name == "scenario.md")
        .unwrap()
        .1;
    assert!(scenario.contains("## [options.plain]"), "{scenario}");

    // The results: measured in-process, exact to f32 rounding.
    let loaded = parse_str(SCENARIO, Path::new("s.toml"), "s", 1).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let options = RunnerOptions {
        isolation: Isolation::None,
        wait_notice: None,
        cache_dir: cache.path().to_path_buf(),
        inject_slowdown_pct: 0.0,
        peak: None,
    };
    let case = loaded
        .cases
        .iter()
        .find(|c| c.backend.as_str() == "plain")
        .unwrap();
    assert_eq!(case.options["repeat"], "2");
    let result = run_case(case, &options);
    assert_eq!(result.status, Status::Measured, "{:?}", result.message);
    assert_eq!(result.iterations, 2);
    let accuracy = result.accuracy.unwrap();
    assert!(
        accuracy.rel_l2 < 1e-6 && accuracy.top1 == 1.0,
        "{accuracy:?}"
    );
    let row = inferbench::results::csv::row(&result);
    assert!(row.iter().any(|v| v == "plain"), "{row:?}");
}

/// The null backend (built in, for measuring the harness) passes every
/// check that asks no logits of it: it refuses what it does not run, and
/// bad inputs are errors there as on a real backend.
#[test]
fn the_null_backend_passes_the_checks_that_ask_no_logits() {
    use inferbench_backend::conformance::{
        BAD_DECODER_INPUT_IS_AN_ERROR, BAD_INPUT_IS_AN_ERROR, OUTPUTS_BEFORE_RUN_IS_AN_ERROR,
        UNSUPPORTED_IS_A_CLEAN_NO, assert_passes,
    };
    let dir = tempfile::tempdir().unwrap();
    let fixture = inferbench_reference::synthetic_weights::conformance_fixture(dir.path()).unwrap();
    let null = registry::find("null").expect("the null backend is built in");
    assert_passes(
        null.as_ref(),
        &fixture,
        &[
            UNSUPPORTED_IS_A_CLEAN_NO,
            OUTPUTS_BEFORE_RUN_IS_AN_ERROR,
            BAD_INPUT_IS_AN_ERROR,
            BAD_DECODER_INPUT_IS_AN_ERROR,
        ],
    );
}
