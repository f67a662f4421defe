//! TorchScript (`.pt`) user models through `tch::CModule`: a session that
//! feeds a module's `forward` a list of host tensors (int64 token ids or
//! f32 values) and returns every tensor it produces as f32 host tensors.
//!
//! Self-contained on purpose: the backend-neutral description of user model
//! files (their path and named inputs) belongs to the backend trait crate.
//! `forward`'s arguments are positional, so named inputs are passed in the
//! order the model declares them.

use std::path::Path;

use inferbench_backend::{
    BackendError, Device, ElementType, HostTensor, InputDim, InputSpec, NamedTensor, Precision,
    Session, TensorData, TokenBatch,
};
use tch::{CModule, IValue, Kind, Tensor};

use crate::backend::kind;
use crate::device::{synchronize, tch_device};
use crate::error::{run_error, torch_message};
use crate::inference_mode::inference;

/// One positional argument of `forward`, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct ScriptInput {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: ScriptInputData,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ScriptInputData {
    /// Token ids, positions, masks: passed as int64 whatever the precision.
    I64(Vec<i64>),
    /// Values: cast to the session's precision.
    F32(Vec<f32>),
}

impl ScriptInput {
    fn to_tensor(&self, device: tch::Device, kind: Kind) -> Result<Tensor, BackendError> {
        let shape: Vec<i64> = self.shape.iter().map(|&d| d as i64).collect();
        let numel: usize = self.shape.iter().product();
        let (len, tensor) = match &self.data {
            ScriptInputData::I64(v) => (v.len(), Tensor::from_slice(v)),
            ScriptInputData::F32(v) => (v.len(), Tensor::from_slice(v)),
        };
        if len != numel {
            return Err(BackendError::Run(format!(
                "input `{}` has {len} values, but its shape {:?} holds {numel}",
                self.name, self.shape
            )));
        }
        let tensor = match self.data {
            ScriptInputData::I64(_) => tensor.f_view(shape.as_slice()),
            ScriptInputData::F32(_) => tensor
                .f_view(shape.as_slice())
                .and_then(|t| t.f_to_kind(kind)),
        };
        tensor
            .and_then(|t| t.f_to_device(device))
            .map_err(run_error)
    }
}

/// A loaded TorchScript module, its prepared inputs and last outputs.
pub struct TorchScriptSession {
    module: CModule,
    device: tch::Device,
    kind: Kind,
    inputs: Vec<IValue>,
    outputs: Option<IValue>,
}

impl TorchScriptSession {
    /// Loads `path` onto `device`, in eval mode, with its floating-point
    /// parameters cast to `precision` (f32, f16 or bf16).
    pub fn load(path: &Path, device: Device, precision: Precision) -> Result<Self, BackendError> {
        let kind = kind(precision).ok_or_else(|| {
            BackendError::Unsupported(format!(
                "tch runs TorchScript in f32, f16 and bf16, not {precision}"
            ))
        })?;
        let device = tch_device(device).map_err(BackendError::Unsupported)?;
        let file_error = |message: String| BackendError::ModelFile {
            path: path.to_path_buf(),
            message,
        };
        if !path.is_file() {
            return Err(file_error("no such file".into()));
        }
        let mut module = CModule::load_on_device(path, device)
            .map_err(|e| file_error(format!("not a TorchScript module ({})", torch_message(&e))))?;
        module
            .f_set_eval()
            .map_err(|e| file_error(torch_message(&e)))?;
        if kind != Kind::Float {
            module.to(device, kind, false);
        }
        Ok(Self {
            module,
            device,
            kind,
            inputs: Vec::new(),
            outputs: None,
        })
    }

    /// Builds `forward`'s arguments, in order, on the session's device.
    pub fn set_inputs(&mut self, inputs: &[ScriptInput]) -> Result<(), BackendError> {
        self.inputs = inputs
            .iter()
            .map(|i| i.to_tensor(self.device, self.kind).map(IValue::Tensor))
            .collect::<Result<_, _>>()?;
        Ok(())
    }
}

impl Session for TorchScriptSession {
    /// TorchScript records no input types or shapes: language models take
    /// one int64 tensor of token ids, `[batch, seq]`.
    fn inputs(&self) -> Vec<InputSpec> {
        vec![InputSpec {
            name: "input_ids".into(),
            element_type: Ok(ElementType::I64),
            dims: vec![InputDim::Unnamed, InputDim::Unnamed],
        }]
    }

    /// Named inputs become positional arguments of `forward`, in order;
    /// float16 values are narrowed to the session's precision.
    fn prepare_named(&mut self, inputs: &[NamedTensor]) -> Result<(), BackendError> {
        let inputs: Vec<ScriptInput> = inputs
            .iter()
            .map(|i| ScriptInput {
                name: i.name.clone(),
                shape: i.shape.clone(),
                data: match &i.data {
                    TensorData::Int(v) => ScriptInputData::I64(v.clone()),
                    TensorData::Float(v) => ScriptInputData::F32(v.clone()),
                },
            })
            .collect();
        self.set_inputs(&inputs)
    }

    /// Language models take token ids `[batch, seq]` as their one input.
    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        self.set_inputs(&[ScriptInput {
            name: "input_ids".into(),
            shape: vec![input.batch, input.seq_len],
            data: ScriptInputData::I64(input.ids.clone()),
        }])
    }

    fn run(&mut self) -> Result<(), BackendError> {
        if self.inputs.is_empty() {
            return Err(BackendError::run_before_prepare());
        }
        self.outputs = None;
        let outputs = inference(|| self.module.forward_is(&self.inputs)).map_err(run_error)?;
        synchronize(self.device);
        self.outputs = Some(outputs);
        Ok(())
    }

    /// Every tensor in what `forward` returned, in order: a tensor is
    /// `output`, tuples and lists number their items (`output.0`...),
    /// dicts use their keys; `None` items are left out.
    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        let outputs = self
            .outputs
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        let mut tensors = Vec::new();
        collect_tensors("output", outputs, &mut tensors)?;
        Ok(tensors)
    }
}

fn collect_tensors(
    name: &str,
    value: &IValue,
    out: &mut Vec<HostTensor>,
) -> Result<(), BackendError> {
    match value {
        IValue::None => Ok(()),
        IValue::Tensor(t) => {
            out.push(host_tensor(name, t)?);
            Ok(())
        }
        IValue::TensorList(ts) => ts.iter().enumerate().try_for_each(|(i, t)| {
            out.push(host_tensor(&format!("{name}.{i}"), t)?);
            Ok(())
        }),
        IValue::Tuple(items) | IValue::GenericList(items) => items
            .iter()
            .enumerate()
            .try_for_each(|(i, v)| collect_tensors(&format!("{name}.{i}"), v, out)),
        IValue::GenericDict(entries) => entries.iter().try_for_each(|(key, v)| {
            let key = match key {
                IValue::String(s) => s.clone(),
                IValue::Int(i) => format!("{name}.{i}"),
                other => format!("{name}.{other:?}"),
            };
            collect_tensors(&key, v, out)
        }),
        other => Err(BackendError::Run(format!(
            "the model's output `{name}` is {other:?}, not a tensor"
        ))),
    }
}

/// A libtorch tensor copied to host memory as f32.
pub(crate) fn host_tensor(name: &str, tensor: &Tensor) -> Result<HostTensor, BackendError> {
    let shape = tensor.size().iter().map(|&d| d as usize).collect();
    let data = tensor
        .f_to_device(tch::Device::Cpu)
        .and_then(|t| t.f_to_kind(Kind::Float))
        .and_then(|t| t.f_flatten(0, -1))
        .and_then(|t| Vec::<f32>::try_from(&t))
        .map_err(run_error)?;
    Ok(HostTensor {
        name: name.to_string(),
        shape,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// `testdata/tiny_lm.pt` was scripted and run by Python PyTorch 2.13
    /// (`testdata/make_tiny_lm.py`); `tiny_lm.json` holds its inputs and
    /// Python's outputs.
    fn fixture() -> (std::path::PathBuf, Value) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let json = std::fs::read_to_string(dir.join("tiny_lm.json")).unwrap();
        (dir.join("tiny_lm.pt"), serde_json::from_str(&json).unwrap())
    }

    fn shape(v: &Value) -> Vec<usize> {
        serde_json::from_value(v["shape"].clone()).unwrap()
    }

    fn floats(v: &Value) -> Vec<f32> {
        serde_json::from_value(v["data"].clone()).unwrap()
    }

    fn max_abs_difference(got: &HostTensor, want: &Value) -> f32 {
        assert_eq!(got.shape, shape(want), "{}", got.name);
        let want = floats(want);
        got.data
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0f32, f32::max)
    }

    fn assert_close(name: &str, got: &HostTensor, want: &Value) {
        let worst = max_abs_difference(got, want);
        assert!(worst < 1e-5, "{name}: max abs difference {worst}");
    }

    fn token_batch(fixture: &Value) -> TokenBatch {
        let [batch, seq_len] = shape(&fixture["input_ids"])[..] else {
            panic!("input_ids is 2-d")
        };
        TokenBatch {
            batch,
            seq_len,
            ids: serde_json::from_value(fixture["input_ids"]["data"].clone()).unwrap(),
        }
    }

    #[test]
    fn matches_python_pytorch_on_token_ids() {
        let (path, fixture) = fixture();
        let mut session = TorchScriptSession::load(&path, Device::Cpu, Precision::F32).unwrap();
        session.prepare(&token_batch(&fixture)).unwrap();
        session.run().unwrap();
        let outputs = session.outputs().unwrap();
        let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(names, ["output.0", "hidden_mean"]);
        assert_close("logits", &outputs[0], &fixture["outputs"]["output.0"]);
        assert_close(
            "hidden_mean",
            &outputs[1],
            &fixture["outputs"]["hidden_mean"],
        );
    }

    #[test]
    fn takes_int64_and_float_inputs_in_order() {
        let (path, fixture) = fixture();
        let ids = token_batch(&fixture);
        let t = &fixture["temperature"];
        let mut session = TorchScriptSession::load(&path, Device::Cpu, Precision::F32).unwrap();
        session
            .set_inputs(&[
                ScriptInput {
                    name: "input_ids".into(),
                    shape: vec![ids.batch, ids.seq_len],
                    data: ScriptInputData::I64(ids.ids.clone()),
                },
                ScriptInput {
                    name: "temperature".into(),
                    shape: shape(t),
                    data: ScriptInputData::F32(floats(t)),
                },
            ])
            .unwrap();
        session.run().unwrap();
        assert_close(
            "scaled",
            &session.outputs().unwrap()[0],
            &fixture["scaled_logits"],
        );
    }

    #[test]
    fn half_precision_stays_close_to_f32() {
        let (path, fixture) = fixture();
        let mut session = TorchScriptSession::load(&path, Device::Cpu, Precision::Bf16).unwrap();
        session.prepare(&token_batch(&fixture)).unwrap();
        session.run().unwrap();
        let got = &session.outputs().unwrap()[0];
        let worst = max_abs_difference(got, &fixture["outputs"]["output.0"]);
        // bf16 keeps 8 significant bits: errors of ~1e-2 on logits of ~1,
        // but never zero (that would mean the cast did not happen).
        assert!(worst < 0.1 && worst > 0.0, "max abs difference {worst}");
    }

    #[test]
    fn bad_files_and_inputs_are_clear_errors() {
        let missing = Path::new("nowhere/model.pt");
        let err = TorchScriptSession::load(missing, Device::Cpu, Precision::F32)
            .err()
            .unwrap();
        assert!(err.to_string().contains("nowhere/model.pt"), "{err}");

        let (path, fixture) = fixture();
        let dir = std::env::temp_dir().join(format!("inferbench-tch-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let corrupt = dir.join("corrupt.pt");
        std::fs::write(&corrupt, b"not a zip archive").unwrap();
        let err = TorchScriptSession::load(&corrupt, Device::Cpu, Precision::F32)
            .err()
            .unwrap();
        assert!(
            matches!(err, BackendError::ModelFile { .. })
                && err.to_string().contains("not a TorchScript module"),
            "{err}"
        );
        std::fs::remove_dir_all(&dir).unwrap();

        let mut session = TorchScriptSession::load(&path, Device::Cpu, Precision::F32).unwrap();
        let wrong = ScriptInput {
            name: "input_ids".into(),
            shape: vec![2, 3],
            data: ScriptInputData::I64(vec![1, 2]),
        };
        let err = session.set_inputs(&[wrong]).unwrap_err();
        assert!(
            err.to_string().contains("`input_ids` has 2 values"),
            "{err}"
        );
        // A token id past the embedding table is the model's error, not a panic.
        session.prepare(&token_batch(&fixture)).unwrap();
        session
            .set_inputs(&[ScriptInput {
                name: "input_ids".into(),
                shape: vec![1, 1],
                data: ScriptInputData::I64(vec![999]),
            }])
            .unwrap();
        let err = session.run().unwrap_err();
        assert!(matches!(err, BackendError::Run(_)), "{err}");
        assert!(!err.to_string().contains("frame #"), "{err}");
    }

    #[test]
    fn cuda_runs_where_libtorch_sees_a_gpu_and_is_a_skip_elsewhere() {
        let (path, fixture) = fixture();
        match TorchScriptSession::load(&path, Device::Cuda(0), Precision::F32) {
            Ok(mut session) => {
                assert!(tch::Cuda::is_available());
                session.prepare(&token_batch(&fixture)).unwrap();
                session.run().unwrap();
                let want = &fixture["outputs"]["output.0"];
                assert_close("cuda logits", &session.outputs().unwrap()[0], want);
            }
            Err(err) => {
                assert!(!tch::Cuda::is_available());
                assert!(err.is_skip() && err.to_string().contains("CUDA"), "{err}");
            }
        }
    }
}
