//! ONNX Runtime's own dense matrix product, for `inferbench peak`: a
//! one-node `MatMul` graph whose `B` is an initializer, as a model's
//! weights are (so ORT may pre-pack it, as it does for a model), and whose
//! `A` is the input, run through the same session options a case gets.

use std::collections::BTreeMap;

use half::f16;
use inferbench_backend::{BackendError, Matmul, MatmulSpec, Precision};
use ort::session::Session as OrtSessionHandle;
use ort::value::{DynValue, Tensor};
use prost::Message;

use crate::SessionConfig;
use crate::onnx::proto::DataType;
use crate::onnx::{Dim, GraphBuilder, float_tensor, model};

/// The session of the one-node graph, its input and the last product.
pub struct OrtMatmul {
    session: OrtSessionHandle,
    a: DynValue,
    c: Option<DynValue>,
}

fn err(what: &'static str) -> impl Fn(ort::Error) -> BackendError {
    move |e| BackendError::Run(format!("{what}: {e}"))
}

/// `C = MatMul(A, B)` with `B` stored in the graph.
fn graph(spec: &MatmulSpec, elem: DataType, b: &[f32]) -> Vec<u8> {
    let mut g = GraphBuilder::new();
    let fixed = |rows: usize, cols: usize| [Dim::Fixed(rows as i64), Dim::Fixed(cols as i64)];
    g.input("a", elem, &fixed(spec.m, spec.k));
    let b = g.initializer(float_tensor(elem, "b", &[spec.k, spec.n], b));
    g.node("MatMul", "c", &["a", &b], vec![]);
    g.rename_last_output("c");
    g.output("c", elem, &fixed(spec.m, spec.n));
    model(g.finish("matmul"), "inferbench peak: one MatMul").encode_to_vec()
}

impl OrtMatmul {
    pub fn new(spec: &MatmulSpec) -> Result<Self, BackendError> {
        let elem = match spec.precision {
            Precision::F32 => DataType::Float,
            Precision::F16 => DataType::Float16,
            other => {
                return Err(BackendError::Unsupported(format!(
                    "the ort backend multiplies f32 and f16 tensors, not {other}"
                )));
            }
        };
        let config = SessionConfig::parse(&BTreeMap::new(), spec.threads, spec.device)?;
        let runtime = crate::library::runtime().map_err(|u| BackendError::Unavailable {
            reason: u.reason,
            hint: u.hint,
        })?;
        let (a, b) = spec.operands();
        let builder = OrtSessionHandle::builder(&runtime.environment)
            .map_err(|e| BackendError::Load(format!("ONNX Runtime session builder: {e}")))?;
        let session = config
            .apply(builder)?
            .commit_from_memory(&graph(spec, elem, &b))
            // No kernel for the type (f16 MatMul on most x86 builds) is a
            // precision this runtime does not run here, not a failure.
            .map_err(|e| {
                BackendError::Unsupported(format!("ONNX Runtime refuses a {elem:?} MatMul: {e}"))
            })?;
        let shape = [spec.m, spec.k];
        let a = match elem {
            DataType::Float16 => {
                let a: Vec<f16> = a.into_iter().map(f16::from_f32).collect();
                Tensor::from_array((shape, a))
                    .map_err(err("input"))?
                    .into_dyn()
            }
            _ => Tensor::from_array((shape, a))
                .map_err(err("input"))?
                .into_dyn(),
        };
        Ok(Self {
            session,
            a,
            c: None,
        })
    }
}

impl Matmul for OrtMatmul {
    fn run(&mut self) -> Result<(), BackendError> {
        let outputs = self
            .session
            .run(vec![("a", &self.a)])
            .map_err(err("ONNX Runtime MatMul"))?;
        self.c = outputs.into_iter().next().map(|(_, v)| v);
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>, BackendError> {
        let c = self
            .c
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        if let Ok((_, data)) = c.try_extract_tensor::<f16>() {
            return Ok(data.iter().map(|x| x.to_f32()).collect());
        }
        let (_, data) = c.try_extract_tensor::<f32>().map_err(err("output"))?;
        Ok(data.to_vec())
    }
}
