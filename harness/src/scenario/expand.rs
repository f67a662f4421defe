//! Expansion of a scenario into its matrix of cases: every list-valued
//! setting multiplies the cases (a cartesian product, as llama-bench does).

use std::collections::HashMap;

use inferbench_backend::{Device, GptSpec, Precision};

use crate::registry::{self, BackendName, DEFAULT_BACKEND};

use super::ranges::{Written, check_merged, check_written};
use super::{
    AccuracyConfig, AccuracyLimits, Axis, Case, CaseSettings, CheckpointFormat, GenerationCase,
    GenerationConfig, LlamaCheckpoint, LoadPattern, Measurement, MeasurementConfig, ModelCase,
    ModelConfig, ModelFile, ReferenceCase, ReferenceCaseConfig, ReferenceKind, Scenario, SloConfig,
    Warmup, WarmupConfig,
};
use crate::generation::slo::Slo;

/// A setting that is wrong, with the key to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: String,
    /// Index of the `[[cases]]` entry, if the setting came from one.
    pub group: Option<usize>,
    pub message: String,
}

/// Model knobs when a scenario leaves them out: a small GPT that runs in
/// milliseconds on one core.
const DEFAULT_SPEC: GptSpec = GptSpec {
    vocab_size: 1024,
    hidden: 128,
    layers: 2,
    heads: 4,
    max_seq: 256,
    seed: 0,
};

fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
    over.clone().or_else(|| base.clone())
}

fn axis<T: Clone>(over: &Option<Axis<T>>, base: &Option<Axis<T>>, default: T) -> Vec<T> {
    pick(over, base).map_or_else(|| vec![default], |a| a.0)
}

fn merge_model(over: Option<&ModelConfig>, base: Option<&ModelConfig>) -> ModelConfig {
    let (o, b) = (
        over.cloned().unwrap_or_default(),
        base.cloned().unwrap_or_default(),
    );
    ModelConfig {
        name: o.name.or(b.name),
        file: o.file.or(b.file),
        gguf: o.gguf.or(b.gguf),
        hf: o.hf.or(b.hf),
        dims: o.dims.or(b.dims),
        vocab_size: o.vocab_size.or(b.vocab_size),
        hidden: o.hidden.or(b.hidden),
        layers: o.layers.or(b.layers),
        heads: o.heads.or(b.heads),
        max_seq: o.max_seq.or(b.max_seq),
        seed: o.seed.or(b.seed),
    }
}

/// A model file takes no synthetic-GPT knob but `vocab_size` (the token-id
/// range), and that one as a single value.
fn check_model_file(m: &ModelConfig, group: Option<usize>) -> Result<(), Invalid> {
    check_checkpoint(m, group)?;
    let knobs = [
        ("hidden", m.hidden.is_some()),
        ("layers", m.layers.is_some()),
        ("heads", m.heads.is_some()),
        ("max_seq", m.max_seq.is_some()),
        ("seed", m.seed.is_some()),
    ];
    match (&m.file, knobs.iter().find(|(_, set)| *set)) {
        (Some(_), Some((key, _))) => Err(Invalid {
            key: key.to_string(),
            group,
            message: format!("`{key}` is a knob of the synthetic GPT; a model `file` has its own"),
        }),
        (Some(_), None) if m.vocab_size.as_ref().is_some_and(|a| a.0.len() != 1) => Err(Invalid {
            key: "vocab_size".into(),
            group,
            message: "a model file takes one `vocab_size` (its token-id range), not a list".into(),
        }),
        (None, _) if m.dims.is_some() => Err(Invalid {
            key: "dims".into(),
            group,
            message:
                "`dims` sizes the free dimensions of a model `file`; the synthetic GPT has none"
                    .into(),
        }),
        _ => Ok(()),
    }
}

/// A Llama checkpoint (`gguf` or `hf`) is the whole model: no second
/// source, no synthetic-GPT knob, no `vocab_size` (it has its own).
fn check_checkpoint(m: &ModelConfig, group: Option<usize>) -> Result<(), Invalid> {
    let sources: Vec<&str> = [
        ("file", m.file.is_some()),
        ("gguf", m.gguf.is_some()),
        ("hf", m.hf.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    let invalid = |key: &str, message: String| Invalid {
        key: key.into(),
        group,
        message,
    };
    if sources.len() > 1 {
        return Err(invalid(
            sources[1],
            format!(
                "a model has one source; `{}` and `{}` are both set",
                sources[0], sources[1]
            ),
        ));
    }
    let Some(&source) = sources.first().filter(|s| **s != "file") else {
        return Ok(());
    };
    let knobs = [
        ("vocab_size", m.vocab_size.is_some()),
        ("hidden", m.hidden.is_some()),
        ("layers", m.layers.is_some()),
        ("heads", m.heads.is_some()),
        ("max_seq", m.max_seq.is_some()),
        ("seed", m.seed.is_some()),
        ("dims", m.dims.is_some()),
    ];
    match knobs.iter().find(|(_, set)| *set) {
        Some((key, _)) => Err(invalid(
            key,
            format!("`{key}` is a knob of the synthetic GPT; a `{source}` checkpoint has its own"),
        )),
        None => Ok(()),
    }
}

fn checkpoint(m: &ModelConfig) -> Option<LlamaCheckpoint> {
    let (format, path) = match (&m.gguf, &m.hf) {
        (Some(path), _) => (CheckpointFormat::Gguf, path),
        (None, Some(path)) => (CheckpointFormat::Hf, path),
        (None, None) => return None,
    };
    Some(LlamaCheckpoint {
        format,
        path: path.clone(),
    })
}

fn model_variants(m: &ModelConfig) -> Vec<ModelCase> {
    if let Some(llama) = checkpoint(m) {
        let stem = llama
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model");
        return vec![ModelCase {
            name: m.name.clone().unwrap_or_else(|| stem.to_string()),
            spec: DEFAULT_SPEC,
            file: None,
            llama: Some(llama),
            encoder: None,
        }];
    }
    if let Some(path) = &m.file {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        return vec![ModelCase {
            name: m.name.clone().unwrap_or_else(|| stem.to_string()),
            spec: DEFAULT_SPEC,
            file: Some(ModelFile {
                path: path.clone(),
                dims: m.dims.clone().unwrap_or_default(),
                vocab_size: m.vocab_size.as_ref().and_then(|a| a.0.first().copied()),
            }),
            llama: None,
            encoder: None,
        }];
    }
    let d = DEFAULT_SPEC;
    let list =
        |a: &Option<Axis<usize>>, v: usize| a.as_ref().map_or_else(|| vec![v], |a| a.0.clone());
    let seeds = m
        .seed
        .as_ref()
        .map_or_else(|| vec![d.seed], |a| a.0.clone());
    let mut out = Vec::new();
    for &vocab_size in &list(&m.vocab_size, d.vocab_size) {
        for &hidden in &list(&m.hidden, d.hidden) {
            for &layers in &list(&m.layers, d.layers) {
                for &heads in &list(&m.heads, d.heads) {
                    for &max_seq in &list(&m.max_seq, d.max_seq) {
                        for &seed in &seeds {
                            let spec = GptSpec {
                                vocab_size,
                                hidden,
                                layers,
                                heads,
                                max_seq,
                                seed,
                            };
                            out.push(ModelCase {
                                name: String::new(),
                                spec,
                                file: None,
                                llama: None,
                                encoder: None,
                            });
                        }
                    }
                }
            }
        }
    }
    // A custom name labels a single model; sweeps get one label per variant.
    let single = out.len() == 1;
    for mc in &mut out {
        let s = mc.spec;
        let auto = format!("gpt-v{}-h{}-l{}", s.vocab_size, s.hidden, s.layers);
        mc.name = match (&m.name, single) {
            (Some(name), true) => name.clone(),
            (Some(name), false) => format!("{name}-v{}-h{}-l{}", s.vocab_size, s.hidden, s.layers),
            (None, _) => auto,
        };
    }
    out
}

fn warmup(o: Option<&WarmupConfig>, b: Option<&WarmupConfig>) -> Warmup {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    Warmup {
        iterations: o.iterations.or(b.iterations).unwrap_or(3),
        seconds: o.seconds.or(b.seconds).unwrap_or(0.5),
    }
}

fn measurement(o: Option<&MeasurementConfig>, b: Option<&MeasurementConfig>) -> Measurement {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    Measurement {
        min_iterations: o.min_iterations.or(b.min_iterations).unwrap_or(10),
        min_seconds: o.min_seconds.or(b.min_seconds).unwrap_or(3.0),
        max_iterations: o.max_iterations.or(b.max_iterations).unwrap_or(100_000),
        max_seconds: o.max_seconds.or(b.max_seconds).unwrap_or(60.0),
    }
}

/// The reference settings of a group: the kind as written (if written), the
/// golden folder and the reference-case overrides.
struct ReferenceSettings {
    kind: Option<ReferenceKind>,
    golden: Option<std::path::PathBuf>,
    case: Option<ReferenceCaseConfig>,
}

impl ReferenceSettings {
    /// The reference of one model, checked against what that model is.
    fn resolve(
        &self,
        model: &ModelCase,
        group: Option<usize>,
    ) -> Result<
        (
            ReferenceKind,
            Option<std::path::PathBuf>,
            Option<ReferenceCaseConfig>,
        ),
        Invalid,
    > {
        let file = model.file.is_some();
        let kind = self.kind.unwrap_or(if file {
            ReferenceKind::None
        } else {
            ReferenceKind::F64
        });
        let bad = |message: &str| Invalid {
            key: "reference".into(),
            group,
            message: message.into(),
        };
        match kind {
            ReferenceKind::F64 if file => Err(bad(
                "the f64 reference computes the synthetic GPT only; for a model file use \
                 `reference = \"golden\"` or `reference = \"case\"`",
            )),
            ReferenceKind::Golden | ReferenceKind::Case if !file => Err(bad(
                "`golden` and `case` references are for model files; the synthetic GPT uses `f64`",
            )),
            ReferenceKind::Golden if self.golden.is_none() => Err(bad(
                "`reference = \"golden\"` needs `golden = \"folder of input_N.pb / output_N.pb\"`",
            )),
            ReferenceKind::Case if self.case.is_none() => Err(bad(
                "`reference = \"case\"` needs `[accuracy.reference_case]` (backend, device, precision or file)",
            )),
            _ => Ok((kind, self.golden.clone(), self.case.clone())),
        }
    }
}

fn accuracy(
    o: Option<&AccuracyConfig>,
    b: Option<&AccuracyConfig>,
) -> (ReferenceSettings, AccuracyLimits) {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    let limits = AccuracyLimits {
        max_abs: o.max_abs.or(b.max_abs),
        max_rel_l2: o.max_rel_l2.or(b.max_rel_l2),
        max_kl: o.max_kl.or(b.max_kl),
        min_top1: o.min_top1.or(b.min_top1),
        min_cosine: o.min_cosine.or(b.min_cosine),
    };
    let reference = ReferenceSettings {
        kind: o.reference.or(b.reference),
        golden: o.golden.or(b.golden),
        case: o.reference_case.or(b.reference_case),
    };
    (reference, limits)
}

/// What one case computes: a forward pass over `seq_len` tokens, or a
/// generation workload.
struct Workload {
    /// Tokens one sequence reaches (checked against `max_seq`).
    tokens: usize,
    seq_len: usize,
    /// Id part after the batch (`t64`, `p32g16`).
    tag: String,
    /// Id part after the threads (`/server@5rps`, `/concurrencyx4`).
    suffix: String,
    generation: Option<GenerationCase>,
}

/// `[slo]`, with `target_p99_ttft_ms` as the documented alias of `ttft_ms`.
fn slo(slo: Option<SloConfig>, g: &GenerationConfig, group: Option<usize>) -> Result<Slo, Invalid> {
    let s = slo.unwrap_or_default();
    check(
        group,
        "target_p99_ttft_ms",
        s.ttft_ms.is_none() || g.target_p99_ttft_ms.is_none(),
        || "`target_p99_ttft_ms` is an alias of `[slo] ttft_ms`: give only one".into(),
    )?;
    let slo = Slo {
        ttft_ms: s.ttft_ms.or(g.target_p99_ttft_ms),
        tpot_ms: s.tpot_ms,
        e2e_ms: s.e2e_ms,
    };
    for (key, v) in [
        ("ttft_ms", slo.ttft_ms),
        ("tpot_ms", slo.tpot_ms),
        ("e2e_ms", slo.e2e_ms),
    ] {
        check(group, key, v.is_none_or(|v| v > 0.0), || {
            format!("`{key}` must be a positive number of milliseconds")
        })?;
    }
    Ok(slo)
}

fn workloads(
    g: Option<&GenerationConfig>,
    slo_config: Option<SloConfig>,
    seq_lens: &[usize],
    group: Option<usize>,
) -> Result<Vec<Workload>, Invalid> {
    let Some(g) = g else {
        return Ok(seq_lens
            .iter()
            .map(|&s| Workload {
                tokens: s,
                seq_len: s,
                tag: format!("t{s}"),
                suffix: String::new(),
                generation: None,
            })
            .collect());
    };
    let (prompt_len, gen_len) = (g.prompt_len.unwrap_or(32), g.gen_len.unwrap_or(16));
    let requests = g.requests.unwrap_or(16);
    let search_rate = g.search_rate.unwrap_or(false);
    check(
        group,
        "prompt_len",
        prompt_len > 0 && gen_len > 0 && requests > 0,
        || "`prompt_len`, `gen_len` and `requests` must be at least 1".into(),
    )?;
    let slo = slo(slo_config, g, group)?;
    check(group, "search_rate", !search_rate || slo.is_set(), || {
        "`search_rate` needs an `[slo]` limit (`ttft_ms`, `tpot_ms` or `e2e_ms`) to search against"
            .into()
    })?;
    let burstiness = g.burstiness.unwrap_or(1.0);
    check(
        group,
        "burstiness",
        burstiness > 0.0 && burstiness.is_finite(),
        || "`burstiness` must be a positive number (1 is Poisson)".into(),
    )?;
    let patterns = g
        .pattern
        .as_ref()
        .map_or_else(|| vec![LoadPattern::SingleStream], |a| a.0.clone());
    let base = GenerationCase {
        prompt_len,
        gen_len,
        requests,
        pattern: LoadPattern::SingleStream,
        rate: None,
        slo,
        search_rate,
        burstiness,
        ignore_eos: g.ignore_eos.unwrap_or(true),
        prompts: Vec::new(),
        concurrency: 1,
        seed: g.seed.unwrap_or(0),
        timeout_ms: g.timeout_ms,
        max_error_rate: g.max_error_rate,
    };
    let mut out = Vec::new();
    let mut push = |generation: GenerationCase, suffix: String| {
        out.push(Workload {
            tokens: prompt_len + gen_len,
            seq_len: prompt_len,
            tag: format!("p{prompt_len}g{gen_len}"),
            suffix,
            generation: Some(generation),
        })
    };
    for pattern in patterns {
        let name = pattern.as_str();
        match pattern {
            LoadPattern::Server if search_rate => {
                push(
                    GenerationCase {
                        pattern,
                        ..base.clone()
                    },
                    format!("/{name}@max"),
                );
            }
            LoadPattern::Server => {
                let rates = g.rate.as_ref().map(|a| a.0.clone()).unwrap_or_default();
                check(
                    group,
                    "rate",
                    !rates.is_empty() && rates.iter().all(|&r| r > 0.0),
                    || {
                        "the `server` pattern needs a positive `rate` (requests/s) or `search_rate = true`".into()
                    },
                )?;
                for rate in rates {
                    push(
                        GenerationCase {
                            pattern,
                            rate: Some(rate),
                            ..base.clone()
                        },
                        format!("/{name}@{rate}rps"),
                    );
                }
            }
            LoadPattern::Concurrency => {
                let ns = g
                    .concurrency
                    .as_ref()
                    .map_or_else(|| vec![1], |a| a.0.clone());
                check(group, "concurrency", ns.iter().all(|&n| n > 0), || {
                    "`concurrency` must be at least 1".into()
                })?;
                for n in ns {
                    push(
                        GenerationCase {
                            pattern,
                            concurrency: n,
                            ..base.clone()
                        },
                        format!("/{name}x{n}"),
                    );
                }
            }
            _ => push(
                GenerationCase {
                    pattern,
                    ..base.clone()
                },
                format!("/{name}"),
            ),
        }
    }
    Ok(out)
}

/// Whether the backend runs a model served at the scenario's `[endpoint]`.
pub(super) fn is_served(backend: &BackendName) -> bool {
    registry::find(backend.as_str()).is_some_and(|b| b.capabilities().endpoint)
}

/// A served backend needs an `[endpoint]` and a generation workload.
fn check_endpoint(
    backends: &[BackendName],
    endpoint: Option<&inferbench_openai::EndpointConfig>,
    has_generation: bool,
    group: Option<usize>,
) -> Result<(), Invalid> {
    let Some(served) = backends.iter().find(|b| is_served(b)) else {
        return Ok(());
    };
    let Some(endpoint) = endpoint else {
        return Err(Invalid {
            key: "backends".into(),
            group,
            message: format!(
                "the `{served}` backend needs an `[endpoint]` table with the server's `url`"
            ),
        });
    };
    check(group, "url", endpoint.problems().is_empty(), || {
        format!("[endpoint]: {}", endpoint.problems().join("; "))
    })?;
    check(group, "backends", has_generation, || {
        format!("the `{served}` backend runs generation workloads only: add a `[generation]` table")
    })
}

fn check(
    group: Option<usize>,
    key: &str,
    ok: bool,
    message: impl FnOnce() -> String,
) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(Invalid {
            key: key.to_string(),
            group,
            message: message(),
        })
    }
}

/// How many model variants `m` sweeps, counted without building them.
fn model_variant_count(m: &ModelConfig) -> usize {
    if m.file.is_some() {
        return 1;
    }
    let len = |a: &Option<Axis<usize>>| a.as_ref().map_or(1, |a| a.0.len());
    [
        len(&m.vocab_size),
        len(&m.hidden),
        len(&m.layers),
        len(&m.heads),
        len(&m.max_seq),
        m.seed.as_ref().map_or(1, |a| a.0.len()),
    ]
    .into_iter()
    .fold(1, usize::saturating_mul)
}

/// Cases a scenario may expand to unless its `max_cases` allows more: a
/// matrix is counted before it is built, so a typo'd sweep of 10⁹ cases is
/// an error, not an out-of-memory abort.
pub const DEFAULT_MAX_CASES: usize = 10_000;

/// Fails when `axes` (name, length) multiply past `remaining`; the error
/// points at the longest axis, or at `max_cases` when the file set it.
fn check_case_count(
    axes: &[(&str, usize)],
    remaining: usize,
    limit: (usize, bool),
    group: Option<usize>,
) -> Result<usize, Invalid> {
    let count = axes.iter().map(|(_, n)| *n).fold(1, usize::saturating_mul);
    if count <= remaining {
        return Ok(count);
    }
    let (max_cases, set_in_file) = limit;
    let longest = axes
        .iter()
        .max_by_key(|(_, n)| *n)
        .map_or("cases", |(k, _)| k);
    let count_text = if count == usize::MAX {
        "more than 10^19".to_string()
    } else {
        count.to_string()
    };
    Err(Invalid {
        key: if set_in_file { "max_cases" } else { longest }.to_string(),
        group: if set_in_file { None } else { group },
        message: format!(
            "the scenario expands to more than {max_cases} cases (this group alone: \
             {count_text}); shorten the `{longest}` list, or raise the limit with \
             `max_cases = N` at the top of the file"
        ),
    })
}

fn expand_group(
    s: &Scenario,
    c: &CaseSettings,
    group: Option<usize>,
    scenario_name: &str,
    default_threads: usize,
    remaining: usize,
) -> Result<Vec<Case>, Invalid> {
    let model_config = merge_model(c.model.as_ref(), s.model.as_ref());
    check_model_file(&model_config, group)?;
    let generation = pick(&c.generation, &s.generation);
    let seq_lens = axis(&c.seq_len, &s.seq_len, 32);
    let workloads = workloads(generation.as_ref(), pick(&c.slo, &s.slo), &seq_lens, group)?;
    let backends: Vec<BackendName> = pick(&c.backends, &s.backends).map_or_else(
        || vec![BackendName::from(DEFAULT_BACKEND)],
        |a| a.0.iter().map(|b| b.name().clone()).collect(),
    );
    let devices = axis(&c.devices, &s.devices, Device::Cpu);
    let precisions = axis(&c.precisions, &s.precisions, Precision::F32);
    let batches = axis(&c.batch, &s.batch, 1);
    let threads = axis(&c.threads, &s.threads, default_threads);
    let limit = (
        s.max_cases.unwrap_or(DEFAULT_MAX_CASES),
        s.max_cases.is_some(),
    );
    let axes = [
        ("model", model_variant_count(&model_config)),
        ("backends", backends.len()),
        ("devices", devices.len()),
        ("precisions", precisions.len()),
        ("batch", batches.len()),
        (
            if generation.is_some() {
                "generation"
            } else {
                "seq_len"
            },
            workloads.len(),
        ),
        ("threads", threads.len()),
    ];
    check_case_count(&axes, remaining, limit, group)?;
    let models = model_variants(&model_config);
    let warmup = warmup(c.warmup.as_ref(), s.warmup.as_ref());
    let measurement = measurement(c.measurement.as_ref(), s.measurement.as_ref());
    let (reference_settings, limits) = accuracy(c.accuracy.as_ref(), s.accuracy.as_ref());
    let options = pick(&c.options, &s.options).unwrap_or_default();
    // Every backend's options as it declares them: a typo is a located
    // error at validation, not an error row after the run started.
    options.check().map_err(|(key, message)| Invalid {
        key,
        group,
        message,
    })?;
    let input_seed = s.inputs.as_ref().and_then(|i| i.seed).unwrap_or(0);

    check(
        group,
        "max_iterations",
        measurement.max_iterations >= measurement.min_iterations.max(1),
        || {
            format!(
                "`max_iterations` ({}) must be at least `min_iterations` ({}) and 1",
                measurement.max_iterations, measurement.min_iterations
            )
        },
    )?;
    check(group, "max_seconds", measurement.max_seconds > 0.0, || {
        "`max_seconds` must be positive".into()
    })?;
    check_merged(&measurement, group)?;
    for (key, v) in [
        ("batch", &batches),
        ("seq_len", &seq_lens),
        ("threads", &threads),
    ] {
        check(group, key, v.iter().all(|&x| x > 0), || {
            format!("`{key}` must be at least 1")
        })?;
    }
    for m in &models {
        m.spec.validate().map_err(|message| Invalid {
            key: "model".into(),
            group,
            message,
        })?;
    }

    let endpoint = pick(&c.endpoint, &s.endpoint);
    check_endpoint(&backends, endpoint.as_ref(), generation.is_some(), group)?;
    let only_served = backends.iter().all(is_served);
    for m in models.iter().filter(|_| !only_served) {
        let longest = workloads.iter().map(|w| w.tokens).max().unwrap_or(0);
        // A model file's sequence limit is the file's business.
        let fits = m.file.is_some() || m.llama.is_some() || longest <= m.spec.max_seq;
        check(
            group,
            if generation.is_some() {
                "gen_len"
            } else {
                "seq_len"
            },
            fits,
            || {
                format!(
                    "{longest} tokens per sequence exceed the model's `max_seq` {}",
                    m.spec.max_seq
                )
            },
        )?;
    }

    let mut cases = Vec::new();
    for m in &models {
        let (reference, golden, reference_case) = reference_settings.resolve(m, group)?;
        for backend in &backends {
            // A served model is named by its `[endpoint] model`, not by the
            // synthetic GPT's knobs it never uses.
            let served = is_served(backend) && model_config.name.is_none();
            let m = &match (served, &endpoint) {
                (true, Some(e)) => ModelCase {
                    name: e.model.clone().unwrap_or_else(|| "served".into()),
                    ..m.clone()
                },
                _ => m.clone(),
            };
            let opts = options.strings_for(backend);
            for &device in &devices {
                for &precision in &precisions {
                    for &batch in &batches {
                        for w in &workloads {
                            for &th in &threads {
                                cases.push(Case {
                                    scenario: scenario_name.to_string(),
                                    group: c.name.clone(),
                                    id: format!(
                                        "{}/{backend}/{device}/{precision}/b{batch}/{}/th{th}{}",
                                        m.name, w.tag, w.suffix
                                    ),
                                    backend: backend.clone(),
                                    device,
                                    precision,
                                    batch,
                                    seq_len: w.seq_len,
                                    threads: th,
                                    model: m.clone(),
                                    warmup,
                                    measurement,
                                    input_seed,
                                    text: None,
                                    sentences: None,
                                    reference,
                                    golden: golden.clone(),
                                    reference_case: reference_case.as_ref().map(|r| {
                                        ReferenceCase {
                                            backend: r.backend.as_ref().map_or_else(
                                                || backend.clone(),
                                                |b| b.name().clone(),
                                            ),
                                            device: r.device.unwrap_or(device),
                                            precision: r.precision.unwrap_or(precision),
                                            file: r
                                                .file
                                                .clone()
                                                .or_else(|| m.file.as_ref().map(|f| f.path.clone()))
                                                .unwrap_or_default(),
                                        }
                                    }),
                                    limits,
                                    options: opts.clone(),
                                    generation: w.generation.clone(),
                                    endpoint: endpoint.clone().filter(|_| is_served(backend)),
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(cases)
}

/// The top level's numeric tables, as a `[[cases]]` entry would hold them.
fn top_settings(s: &Scenario) -> CaseSettings {
    CaseSettings {
        warmup: s.warmup.clone(),
        measurement: s.measurement.clone(),
        accuracy: s.accuracy.clone(),
        generation: s.generation.clone(),
        ..CaseSettings::default()
    }
}

fn written(c: &CaseSettings) -> Written<'_> {
    Written {
        warmup: c.warmup.as_ref(),
        measurement: c.measurement.as_ref(),
        accuracy: c.accuracy.as_ref(),
        generation: c.generation.as_ref(),
    }
}

/// Every case of the scenario, in file order; ids are unique.
pub fn expand(
    s: &Scenario,
    scenario_name: &str,
    default_threads: usize,
) -> Result<Vec<Case>, Invalid> {
    let top = CaseSettings::default();
    check_written(&written(&top_settings(s)), None)?;
    let limit = s.max_cases.unwrap_or(DEFAULT_MAX_CASES);
    let mut cases = Vec::new();
    match &s.cases {
        Some(groups) if !groups.is_empty() => {
            for (i, g) in groups.iter().enumerate() {
                check_written(&written(g), Some(i))?;
                let remaining = limit.saturating_sub(cases.len());
                let group = expand_group(s, g, Some(i), scenario_name, default_threads, remaining)?;
                cases.extend(group);
            }
        }
        _ => cases = expand_group(s, &top, None, scenario_name, default_threads, limit)?,
    }
    let mut seen: HashMap<&str, Option<String>> = HashMap::new();
    for c in &cases {
        if let Some(first) = seen.insert(&c.id, c.group.clone()) {
            return Err(Invalid {
                key: "cases".into(),
                group: None,
                message: format!(
                    "case `{}` is listed twice (groups {} and {}); give the groups different settings",
                    c.id,
                    first.as_deref().unwrap_or("?"),
                    c.group.as_deref().unwrap_or("?")
                ),
            });
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(text: &str) -> Scenario {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn lists_multiply() {
        let s = scenario(
            "backends = ['candle', 'ort']\nbatch = [1, 4]\nseq_len = [8, 16, 32]\nthreads = 2",
        );
        let cases = expand(&s, "t", 8).unwrap();
        assert_eq!(cases.len(), 2 * 2 * 3);
        assert_eq!(cases[0].id, "gpt-v1024-h128-l2/candle/cpu/f32/b1/t8/th2");
        assert_eq!(cases[11].id, "gpt-v1024-h128-l2/ort/cpu/f32/b4/t32/th2");
        assert!(cases.iter().all(|c| c.threads == 2 && c.scenario == "t"));
    }

    #[test]
    fn defaults_fill_what_is_missing() {
        let cases = expand(&scenario(""), "t", 8).unwrap();
        assert_eq!(cases.len(), 1);
        let c = &cases[0];
        assert_eq!(
            (c.backend.as_str(), c.batch, c.seq_len, c.threads),
            ("candle", 1, 32, 8)
        );
        assert_eq!(c.model.spec, DEFAULT_SPEC);
        assert_eq!(c.measurement.min_iterations, 10);
        assert_eq!(c.reference, ReferenceKind::F64);
    }

    #[test]
    fn cases_override_the_defaults() {
        let s = scenario(
            "batch = 2\n[model]\nname = 'm'\nlayers = 1\n[measurement]\nmin_iterations = 5\n\
             [[cases]]\nname = 'wide'\nmodel = { hidden = 64 }\n\
             [[cases]]\nname = 'long'\nseq_len = 64\nmeasurement = { min_iterations = 7 }\n",
        );
        let cases = expand(&s, "t", 1).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(
            (cases[0].model.spec.hidden, cases[0].model.spec.layers),
            (64, 1)
        );
        assert_eq!(cases[0].measurement.min_iterations, 5);
        assert_eq!((cases[1].seq_len, cases[1].batch), (64, 2));
        assert_eq!(cases[1].measurement.min_iterations, 7);
        assert_eq!(cases[1].group.as_deref(), Some("long"));
    }

    #[test]
    fn model_knobs_sweep() {
        let s = scenario("[model]\nlayers = [1, 2]\nhidden = [32, 64]");
        let cases = expand(&s, "t", 1).unwrap();
        let names: Vec<_> = cases.iter().map(|c| c.model.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gpt-v1024-h32-l1",
                "gpt-v1024-h32-l2",
                "gpt-v1024-h64-l1",
                "gpt-v1024-h64-l2"
            ]
        );
    }

    #[test]
    fn generation_patterns_expand() {
        let s = scenario(
            "[model]\nmax_seq = 64\n[generation]\nprompt_len = 16\ngen_len = 8\n\
             pattern = ['single_stream', 'server', 'concurrency']\nrate = [2.0, 4.5]\nconcurrency = [1, 2]\n",
        );
        let ids: Vec<String> = expand(&s, "t", 1)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let tail: Vec<&str> = ids
            .iter()
            .map(|id| id.split_once("/b1/").unwrap().1)
            .collect();
        assert_eq!(
            tail,
            [
                "p16g8/th1/single_stream",
                "p16g8/th1/server@2rps",
                "p16g8/th1/server@4.5rps",
                "p16g8/th1/concurrencyx1",
                "p16g8/th1/concurrencyx2"
            ]
        );
        let e = expand(&scenario("[generation]\npattern = 'server'"), "t", 1).unwrap_err();
        assert_eq!(e.key, "rate");
        let e = expand(
            &scenario("[model]\nmax_seq = 20\n[generation]\nprompt_len = 16\ngen_len = 8"),
            "t",
            1,
        )
        .unwrap_err();
        assert!(
            e.message.contains("24 tokens per sequence exceed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn huge_matrices_are_counted_before_they_are_built() {
        let list = |n: usize| {
            format!(
                "[{}]",
                (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            )
        };
        let text = format!(
            "batch = {}\nseq_len = {}\nthreads = {}\n[model]\nseed = {}\nlayers = {}\n",
            list(1000),
            list(100),
            list(100),
            list(10),
            list(10)
        );
        let e = expand(&scenario(&text), "t", 1).unwrap_err();
        assert_eq!(e.key, "batch");
        assert!(
            e.message.contains("this group alone: 1000000000)"),
            "{}",
            e.message
        );
        let e = expand(&scenario("max_cases = 3\nbatch = [1, 2, 3, 4]"), "t", 1).unwrap_err();
        assert_eq!(e.key, "max_cases");
        assert_eq!(
            expand(&scenario("max_cases = 4\nbatch = [1, 2, 3, 4]"), "t", 1)
                .unwrap()
                .len(),
            4
        );
        // The limit is over the whole file, not per group.
        let e = expand(
            &scenario("max_cases = 3\n[[cases]]\nbatch = [1, 2]\n[[cases]]\nbatch = [3, 4]"),
            "t",
            1,
        );
        assert!(e.is_err());
    }

    #[test]
    fn ort_option_typos_are_caught_up_front() {
        let e = expand(&scenario("[options.ort]\nintra_op_thread = 2"), "t", 1).unwrap_err();
        assert_eq!(e.key, "intra_op_thread");
        assert_eq!(
            e.message,
            "unknown ort option `intra_op_thread`, did you mean `intra_op_threads`?"
        );
        assert!(expand(&scenario("[options.ort]\nspinning = true"), "t", 1).is_ok());
        let e = expand(
            &scenario("[options.ort]\ngraph_optimization = 'max'"),
            "t",
            1,
        )
        .unwrap_err();
        assert_eq!(e.key, "graph_optimization");
        assert!(e.message.contains("`disable`, `basic`"), "{}", e.message);
        let e = expand(&scenario("[options.ort]\nintra_op_threads = 0"), "t", 1).unwrap_err();
        assert!(e.message.contains("at least 1"), "{}", e.message);
        let e = expand(&scenario("[options.candle]\nthreads = 2"), "t", 1).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            (
                "threads",
                "candle has no options; remove `threads` from `[options.candle]`"
            )
        );
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let e = expand(&scenario("seq_len = 300"), "t", 1).unwrap_err();
        assert_eq!(e.key, "seq_len");
        assert!(
            e.message
                .contains("300 tokens per sequence exceed the model's `max_seq` 256"),
            "{}",
            e.message
        );
        let e = expand(&scenario("[model]\nhidden = 30\nheads = 4"), "t", 1).unwrap_err();
        assert!(e.message.contains("multiple of `heads`"));
        let e = expand(&scenario("[[cases]]\n[[cases]]\n"), "t", 1).unwrap_err();
        assert!(e.message.contains("listed twice"), "{}", e.message);
    }
}
