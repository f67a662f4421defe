//! libtorch's own dense matrix product (`Tensor::matmul`, ATen's CPU
//! gemm), for `inferbench peak`: the rate the tch rows are read against.

use inferbench_backend::{BackendError, Matmul, MatmulSpec};
use tch::{Kind, Tensor};

use crate::backend::kind;
use crate::device::{synchronize, tch_device};
use crate::error::run_error as run_err;
use crate::inference_mode::inference;

/// Operands as libtorch tensors and the last product.
pub struct TchMatmul {
    a: Tensor,
    b: Tensor,
    c: Option<Tensor>,
    device: tch::Device,
}

impl TchMatmul {
    pub fn new(spec: &MatmulSpec) -> Result<Self, BackendError> {
        let device = tch_device(spec.device).map_err(BackendError::Unsupported)?;
        let kind = kind(spec.precision).ok_or_else(|| {
            BackendError::Unsupported(format!(
                "tch multiplies f32, f16 and bf16 tensors, not {}",
                spec.precision
            ))
        })?;
        let threads = i32::try_from(spec.threads.max(1))
            .map_err(|_| BackendError::Load(format!("{} threads is too many", spec.threads)))?;
        tch::set_num_threads(threads);
        let (a, b) = spec.operands();
        let tensor = |values: Vec<f32>, rows: usize, cols: usize| {
            Tensor::f_from_slice(&values)
                .and_then(|t| t.f_reshape([rows as i64, cols as i64]))
                .and_then(|t| t.f_to_kind(kind))
                .and_then(|t| t.f_to_device(device))
                .map_err(run_err)
        };
        Ok(Self {
            a: tensor(a, spec.m, spec.k)?,
            b: tensor(b, spec.k, spec.n)?,
            c: None,
            device,
        })
    }
}

impl Matmul for TchMatmul {
    fn run(&mut self) -> Result<(), BackendError> {
        self.c = Some(inference(|| self.a.f_matmul(&self.b)).map_err(run_err)?);
        synchronize(self.device);
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>, BackendError> {
        let c = self
            .c
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        let c = c
            .f_to_kind(Kind::Float)
            .and_then(|c| c.f_to_device(tch::Device::Cpu))
            .and_then(|c| c.f_flatten(0, -1))
            .map_err(run_err)?;
        Vec::<f32>::try_from(&c).map_err(run_err)
    }
}
