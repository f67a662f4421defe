//! Accuracy references of model files, where no f64 implementation exists:
//! stored golden outputs (ONNX test-data folders), or the same inputs run
//! another way (another backend, device, precision or file) in this worker.

use std::path::{Path, PathBuf};

use inferbench_backend::{
    BackendError, HostTensor, LoadOptions, ModelSource, NamedTensor, Session,
};

use crate::accuracy::{self, AccuracyDeltas};
use crate::registry::{self, backend_for};
use crate::scenario::{Case, ReferenceCase};

fn reference_err(what: &str, message: impl std::fmt::Display) -> BackendError {
    BackendError::Run(format!("{what}: {message}"))
}

/// The source of a model file, its format told by its extension.
pub fn file_source(path: &Path) -> Result<ModelSource, BackendError> {
    let format = registry::format_of(path).ok_or_else(|| BackendError::ModelFile {
        path: path.to_path_buf(),
        message: format!(
            "no backend takes this format; expected {}",
            registry::model_files_text()
        ),
    })?;
    Ok(ModelSource::File {
        path: path.to_path_buf(),
        format,
    })
}

/// Runs the golden inputs and compares with the golden outputs.
pub fn against_golden(
    session: &mut dyn Session,
    folder: &Path,
) -> Result<AccuracyDeltas, BackendError> {
    let err = |m: String| reference_err(&format!("golden outputs in {}", folder.display()), m);
    let mut inputs = read_numbered(folder, "input").map_err(err)?;
    let expected = read_numbered(folder, "output").map_err(err)?;
    if expected.is_empty() {
        return Err(err("no output_0.pb".into()));
    }
    // Test-data tensors may be unnamed: then they follow the model's order.
    for (tensor, spec) in inputs.iter_mut().zip(session.inputs()) {
        if tensor.name.is_empty() {
            tensor.name = spec.name;
        }
    }
    session.prepare_named(&inputs)?;
    session.run()?;
    let actual = session.outputs()?;
    let expected: Vec<HostTensor> = expected.into_iter().map(to_host).collect();
    compare_outputs(&expected, &actual).map_err(err)
}

/// Runs `inputs` through the reference configuration and compares.
pub fn against_case(
    session: &mut dyn Session,
    case: &Case,
    reference: &ReferenceCase,
    inputs: &[NamedTensor],
) -> Result<AccuracyDeltas, BackendError> {
    let what = format!(
        "reference case {}/{}/{} on {}",
        reference.backend,
        reference.device,
        reference.precision,
        reference.file.display()
    );
    let backend = backend_for(&reference.backend)?;
    let options = LoadOptions {
        device: reference.device,
        precision: reference.precision,
        threads: case.threads,
        options: if reference.backend == case.backend {
            case.options.clone()
        } else {
            Default::default()
        },
    };
    let mut ref_session = backend
        .load(&file_source(&reference.file)?, &options)
        .map_err(|e| reference_err(&what, e))?;
    ref_session
        .prepare_named(inputs)
        .and_then(|()| ref_session.run())
        .map_err(|e| reference_err(&what, e))?;
    let expected = ref_session.outputs().map_err(|e| reference_err(&what, e))?;
    let actual = session.outputs()?;
    compare_outputs(&expected, &actual).map_err(|m| reference_err(&what, m))
}

/// `input_0.pb`, `input_1.pb`, ... (or `output_*`) until the first gap.
fn read_numbered(folder: &Path, prefix: &str) -> Result<Vec<NamedTensor>, String> {
    let mut out = Vec::new();
    for i in 0.. {
        let path: PathBuf = folder.join(format!("{prefix}_{i}.pb"));
        if !path.is_file() {
            break;
        }
        out.push(inferbench_ort::onnx::test_data::read_tensor(&path)?);
    }
    Ok(out)
}

fn to_host(t: NamedTensor) -> HostTensor {
    let data = match t.data {
        inferbench_backend::TensorData::Float(v) => v,
        inferbench_backend::TensorData::Int(v) => v.into_iter().map(|x| x as f32).collect(),
    };
    HostTensor {
        name: t.name,
        shape: t.shape,
        data,
    }
}

/// Compares outputs pairwise, in order, and keeps the worst figure of each
/// kind, so one bad output is never averaged away by good ones.
pub fn compare_outputs(
    expected: &[HostTensor],
    actual: &[HostTensor],
) -> Result<AccuracyDeltas, String> {
    if expected.len() != actual.len() {
        return Err(format!(
            "{} outputs expected, the model returned {}",
            expected.len(),
            actual.len()
        ));
    }
    let mut worst: Option<AccuracyDeltas> = None;
    for (e, a) in expected.iter().zip(actual) {
        if e.shape != a.shape {
            return Err(format!(
                "output `{}` has shape {:?}, the reference {:?}",
                a.name, a.shape, e.shape
            ));
        }
        let reference: Vec<f64> = e.data.iter().map(|&x| x as f64).collect();
        let rows = e.shape.last().copied().unwrap_or(1).max(1);
        let d = accuracy::compare(&reference, &a.data, rows)
            .ok_or_else(|| format!("output `{}` is empty", a.name))?;
        // `f64::max`/`min` skip NaN; a NaN output must stay the worst.
        let worse = |a: f64, b: f64, pick: fn(f64, f64) -> f64| {
            if a.is_nan() || b.is_nan() {
                f64::NAN
            } else {
                pick(a, b)
            }
        };
        worst = Some(match worst {
            None => d,
            Some(w) => AccuracyDeltas {
                max_abs: worse(w.max_abs, d.max_abs, f64::max),
                rel_l2: worse(w.rel_l2, d.rel_l2, f64::max),
                cosine: worse(w.cosine, d.cosine, f64::min),
                cosine_mean: None,
                top1: worse(w.top1, d.top1, f64::min),
                kl: worse(w.kl, d.kl, f64::max),
                ppl_ratio: None,
                nonfinite: w.nonfinite + d.nonfinite,
            },
        });
    }
    worst.ok_or_else(|| "the model returned no outputs".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(name: &str, data: Vec<f32>) -> HostTensor {
        HostTensor {
            name: name.into(),
            shape: vec![data.len()],
            data,
        }
    }

    #[test]
    fn the_worst_output_decides() {
        let expected = [tensor("a", vec![1.0, 2.0]), tensor("b", vec![3.0, 4.0])];
        let actual = [tensor("a", vec![1.0, 2.0]), tensor("b", vec![3.0, 4.5])];
        let d = compare_outputs(&expected, &actual).unwrap();
        assert!((d.max_abs - 0.5).abs() < 1e-12, "{d:?}");
        assert!((d.rel_l2 - 0.1).abs() < 1e-12, "{d:?}");
        let e = compare_outputs(&expected, &actual[..1]).unwrap_err();
        assert!(e.contains("2 outputs expected"), "{e}");
    }
}
