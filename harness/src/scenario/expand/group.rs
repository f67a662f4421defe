//! One group of a scenario (the top level, or a `[[cases]]` entry merged
//! over it) expanded into its cases: the sweep axes, the settings every case
//! shares, the checks, and the matrix.

use std::collections::BTreeMap;

use inferbench_backend::{Device, Precision};

use super::grid::grid;
use super::model::{check_model_file, merge_model, model_variant_count, model_variants};
use super::monitor::monitor;
use super::settings::{Reference, ReferenceSettings, accuracy, axis, measurement, pick, warmup};
use super::workload::{Workload, workloads};
use super::{DEFAULT_MAX_CASES, Invalid, check, is_served};
use crate::registry::{BackendName, DEFAULT_BACKEND};
use crate::scenario::ranges::check_merged;
use crate::scenario::{
    AccuracyLimits, BackendOptions, Case, CaseSettings, Measurement, ModelCase, MonitorCase,
    ReferenceCase, ReferenceCaseConfig, Scenario, Warmup,
};

pub(super) fn expand_group(
    s: &Scenario,
    c: &CaseSettings,
    group: Option<usize>,
    scenario_name: &str,
    default_threads: usize,
    remaining: usize,
) -> Result<Vec<Case>, Invalid> {
    let model_config = merge_model(c.model.as_ref(), s.model.as_ref());
    check_model_file(&model_config, group)?;
    let axes = Axes::merge(s, c, default_threads, group)?;
    let limit = (
        s.max_cases.unwrap_or(DEFAULT_MAX_CASES),
        s.max_cases.is_some(),
    );
    let lengths = axes.lengths(model_variant_count(&model_config));
    check_case_count(&lengths, remaining, limit, group)?;
    let models = model_variants(&model_config);
    let settings = GroupSettings::merge(s, c, scenario_name, group)?;
    axes.check_sizes(group)?;
    for m in &models {
        m.spec.validate().map_err(|message| Invalid {
            key: "model".into(),
            group,
            message,
        })?;
    }
    check_endpoint(
        &axes.backends,
        settings.endpoint.as_ref(),
        axes.generation,
        group,
    )?;
    axes.check_sequences_fit(&models, group)?;
    let references = models
        .iter()
        .map(|m| settings.reference.resolve(m, group))
        .collect::<Result<Vec<_>, _>>()?;
    // A served model is named by its `[endpoint] model`, not by the
    // synthetic GPT's knobs it never uses.
    let rename_served = model_config.name.is_none();
    let models: Vec<(&ModelCase, &Reference)> = models.iter().zip(&references).collect();
    Ok(matrix(&axes, &settings, &models, rename_served))
}

/// Every case of the group: each model on each backend, across the inner
/// axes, in the order their ids nest.
fn matrix(
    axes: &Axes,
    settings: &GroupSettings,
    models: &[(&ModelCase, &Reference)],
    rename_served: bool,
) -> Vec<Case> {
    let mut cases = Vec::new();
    for &(model, reference) in models {
        for backend in &axes.backends {
            let model = match &settings.endpoint {
                Some(e) if rename_served && is_served(backend) => ModelCase {
                    name: e.model.clone().unwrap_or_else(|| "served".into()),
                    ..model.clone()
                },
                _ => model.clone(),
            };
            let options = settings.options.strings_for(backend);
            let column = Column {
                model: &model,
                reference,
                backend,
                options: &options,
            };
            cases.extend(axes.cells().map(|cell| settings.case(&column, cell)));
        }
    }
    cases
}

/// The sweep axes of a group, merged over the top level and defaulted.
struct Axes {
    backends: Vec<BackendName>,
    devices: Vec<Device>,
    precisions: Vec<Precision>,
    batches: Vec<usize>,
    seq_lens: Vec<usize>,
    /// One per `seq_len`, or the generation workloads.
    workloads: Vec<Workload>,
    threads: Vec<usize>,
    /// Whether the group has a `[generation]` table.
    generation: bool,
}

impl Axes {
    fn merge(
        s: &Scenario,
        c: &CaseSettings,
        default_threads: usize,
        group: Option<usize>,
    ) -> Result<Self, Invalid> {
        let generation = pick(&c.generation, &s.generation);
        let seq_lens = axis(&c.seq_len, &s.seq_len, 32);
        let workloads = workloads(generation.as_ref(), pick(&c.slo, &s.slo), &seq_lens, group)?;
        let backends: Vec<BackendName> = pick(&c.backends, &s.backends).map_or_else(
            || vec![BackendName::from(DEFAULT_BACKEND)],
            |a| a.0.iter().map(|b| b.name().clone()).collect(),
        );
        Ok(Self {
            backends,
            devices: axis(&c.devices, &s.devices, Device::Cpu),
            precisions: axis(&c.precisions, &s.precisions, Precision::F32),
            batches: axis(&c.batch, &s.batch, 1),
            seq_lens,
            workloads,
            threads: axis(&c.threads, &s.threads, default_threads),
            generation: generation.is_some(),
        })
    }

    /// Each axis's scenario key and length, in the order case ids nest.
    fn lengths(&self, model_variants: usize) -> [(&'static str, usize); 7] {
        [
            ("model", model_variants),
            ("backends", self.backends.len()),
            ("devices", self.devices.len()),
            ("precisions", self.precisions.len()),
            ("batch", self.batches.len()),
            (self.tokens_key(), self.workloads.len()),
            ("threads", self.threads.len()),
        ]
    }

    /// The key that sets how many tokens a sequence reaches.
    fn tokens_key(&self) -> &'static str {
        if self.generation {
            "generation"
        } else {
            "seq_len"
        }
    }

    /// `batch`, `seq_len` and `threads` are each at least 1.
    fn check_sizes(&self, group: Option<usize>) -> Result<(), Invalid> {
        for (key, v) in [
            ("batch", &self.batches),
            ("seq_len", &self.seq_lens),
            ("threads", &self.threads),
        ] {
            check(group, key, v.iter().all(|&x| x > 0), || {
                format!("`{key}` must be at least 1")
            })?;
        }
        Ok(())
    }

    /// The longest workload fits each synthetic GPT's `max_seq`; a model
    /// file's or checkpoint's sequence limit is its own business, and a
    /// served model's the server's.
    fn check_sequences_fit(
        &self,
        models: &[ModelCase],
        group: Option<usize>,
    ) -> Result<(), Invalid> {
        if self.backends.iter().all(is_served) {
            return Ok(());
        }
        let longest = self.workloads.iter().map(|w| w.tokens).max().unwrap_or(0);
        let key = if self.generation {
            "gen_len"
        } else {
            "seq_len"
        };
        for m in models {
            let fits = m.file.is_some() || m.llama.is_some() || longest <= m.spec.max_seq;
            check(group, key, fits, || {
                format!(
                    "{longest} tokens per sequence exceed the model's `max_seq` {}",
                    m.spec.max_seq
                )
            })?;
        }
        Ok(())
    }

    /// Every combination of device, precision, batch, workload and threads.
    fn cells(&self) -> impl Iterator<Item = Cell<'_>> {
        let lengths = [
            self.devices.len(),
            self.precisions.len(),
            self.batches.len(),
            self.workloads.len(),
            self.threads.len(),
        ];
        grid(lengths).map(|[d, p, b, w, t]| Cell {
            device: self.devices[d],
            precision: self.precisions[p],
            batch: self.batches[b],
            workload: &self.workloads[w],
            threads: self.threads[t],
        })
    }
}

/// What one model on one backend shares across its cells.
struct Column<'a> {
    model: &'a ModelCase,
    reference: &'a Reference,
    backend: &'a BackendName,
    /// The backend's `[options.<backend>]`.
    options: &'a BTreeMap<String, String>,
}

/// The inner axes' values of one case.
struct Cell<'a> {
    device: Device,
    precision: Precision,
    batch: usize,
    workload: &'a Workload,
    threads: usize,
}

/// What every case of a group shares.
struct GroupSettings {
    scenario: String,
    /// The `[[cases]]` entry's name.
    group_name: Option<String>,
    warmup: Warmup,
    measurement: Measurement,
    reference: ReferenceSettings,
    limits: AccuracyLimits,
    options: BackendOptions,
    input_seed: u64,
    endpoint: Option<inferbench_openai::EndpointConfig>,
    monitor: Option<MonitorCase>,
}

impl GroupSettings {
    fn merge(
        s: &Scenario,
        c: &CaseSettings,
        scenario: &str,
        group: Option<usize>,
    ) -> Result<Self, Invalid> {
        let measurement = measurement(c.measurement.as_ref(), s.measurement.as_ref());
        let (reference, limits) = accuracy(c.accuracy.as_ref(), s.accuracy.as_ref());
        let options = pick(&c.options, &s.options).unwrap_or_default();
        // Every backend's options as it declares them: a typo is a located
        // error at validation, not an error row after the run started.
        options.check().map_err(|(key, message)| Invalid {
            key,
            group,
            message,
        })?;
        check_measurement(&measurement, group)?;
        Ok(Self {
            scenario: scenario.to_string(),
            group_name: c.name.clone(),
            warmup: warmup(c.warmup.as_ref(), s.warmup.as_ref()),
            measurement,
            reference,
            limits,
            options,
            input_seed: s.inputs.as_ref().and_then(|i| i.seed).unwrap_or(0),
            endpoint: pick(&c.endpoint, &s.endpoint),
            monitor: monitor(c.monitor.as_ref(), s.monitor.as_ref(), group)?,
        })
    }

    fn case(&self, column: &Column, cell: Cell) -> Case {
        let Column {
            model,
            reference,
            backend,
            options,
        } = *column;
        let Cell {
            device,
            precision,
            batch,
            workload: w,
            threads,
        } = cell;
        Case {
            scenario: self.scenario.clone(),
            group: self.group_name.clone(),
            id: format!(
                "{}/{backend}/{device}/{precision}/b{batch}/{}/th{threads}{}",
                model.name, w.tag, w.suffix
            ),
            backend: backend.clone(),
            device,
            precision,
            batch,
            seq_len: w.seq_len,
            threads,
            model: model.clone(),
            warmup: self.warmup,
            measurement: self.measurement,
            input_seed: self.input_seed,
            text: None,
            sentences: None,
            reference: reference.kind,
            golden: reference.golden.clone(),
            reference_case: reference
                .case
                .as_ref()
                .map(|r| reference_case(r, column, &cell)),
            limits: self.limits,
            options: options.clone(),
            generation: w.generation.clone(),
            endpoint: self.endpoint.clone().filter(|_| is_served(backend)),
            monitor: self.monitor,
        }
    }
}

/// The run `reference = "case"` compares with: this case's backend, device,
/// precision and model file unless `[accuracy.reference_case]` names others.
fn reference_case(r: &ReferenceCaseConfig, column: &Column, cell: &Cell) -> ReferenceCase {
    ReferenceCase {
        backend: r
            .backend
            .as_ref()
            .map_or_else(|| column.backend.clone(), |b| b.name().clone()),
        device: r.device.unwrap_or(cell.device),
        precision: r.precision.unwrap_or(cell.precision),
        file: r
            .file
            .clone()
            .or_else(|| column.model.file.as_ref().map(|f| f.path.clone()))
            .unwrap_or_default(),
    }
}

/// The measurement limits can all be met together.
fn check_measurement(measurement: &Measurement, group: Option<usize>) -> Result<(), Invalid> {
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
    check_merged(measurement, group)
}

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
