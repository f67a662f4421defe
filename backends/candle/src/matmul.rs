//! candle's own dense matrix product (`Tensor::matmul`), for `inferbench
//! peak`: the rate candle's gemm reaches on this machine in each dtype,
//! the roof its whole-model rows are read against.

use candle_core::{DType, Device as CandleDevice, Tensor};
use inferbench_backend::{BackendError, Matmul, MatmulSpec};

use crate::{candle_err, dtype};

/// Operands as candle tensors and the last product.
pub struct CandleMatmul {
    a: Tensor,
    b: Tensor,
    c: Option<Tensor>,
}

impl CandleMatmul {
    pub fn new(spec: &MatmulSpec) -> Result<Self, BackendError> {
        if !spec.device.is_cpu() {
            return Err(BackendError::Unsupported(format!(
                "candle was built without its `cuda` feature, so it runs on cpu only, not {}",
                spec.device
            )));
        }
        let dtype = dtype(spec.precision).ok_or_else(|| {
            BackendError::Unsupported(format!(
                "candle multiplies dense f32, f16 and bf16 tensors, not {}",
                spec.precision
            ))
        })?;
        // candle's gemm splits a product over RAYON_NUM_THREADS threads,
        // read from the environment, on rayon's pool, sized once per
        // process: another count here would measure the wrong one.
        let threads = candle_core::utils::get_num_threads();
        if threads != spec.threads {
            return Err(BackendError::Unsupported(format!(
                "candle runs {threads} threads in this process (RAYON_NUM_THREADS, read once), \
                 not {}; measure each thread count in its own process",
                spec.threads
            )));
        }
        let (a, b) = spec.operands();
        let tensor = |values: Vec<f32>, rows: usize, cols: usize| {
            Tensor::from_vec(values, (rows, cols), &CandleDevice::Cpu)
                .and_then(|t| t.to_dtype(dtype))
                .map_err(candle_err)
        };
        Ok(Self {
            a: tensor(a, spec.m, spec.k)?,
            b: tensor(b, spec.k, spec.n)?,
            c: None,
        })
    }
}

impl Matmul for CandleMatmul {
    fn run(&mut self) -> Result<(), BackendError> {
        self.c = Some(self.a.matmul(&self.b).map_err(candle_err)?);
        Ok(())
    }

    fn output(&mut self) -> Result<Vec<f32>, BackendError> {
        let c = self
            .c
            .as_ref()
            .ok_or_else(BackendError::outputs_before_run)?;
        c.to_dtype(DType::F32)
            .and_then(|c| c.flatten_all())
            .and_then(|c| c.to_vec1())
            .map_err(candle_err)
    }
}
