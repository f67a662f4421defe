//! A backend's own dense matrix product, the optional capability behind
//! `inferbench peak`: each adapter multiplies two matrices through its
//! runtime's own API (candle's `Tensor::matmul`, a one-node ONNX `MatMul`
//! graph, libtorch's `matmul`), and the harness times it at sizes where the
//! product is compute-bound. That rate is the runtime's own best on this
//! machine, the roof a whole model's GFLOP/s is read against
//! (`peak_fraction`).
//!
//! The adapter only prepares operands and runs the product, as a
//! [`crate::Session`] only runs its model: the timing loop is the harness's,
//! the same for every backend.

use crate::{BackendError, Device, Precision};

/// One product `C[m×n] = A[m×k] · B[k×n]` in `precision` on `threads`
/// threads of `device`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatmulSpec {
    pub m: usize,
    pub k: usize,
    pub n: usize,
    pub precision: Precision,
    pub threads: usize,
    pub device: Device,
}

impl MatmulSpec {
    /// A square product of `size`, on the CPU.
    pub fn square(size: usize, precision: Precision, threads: usize) -> Self {
        Self {
            m: size,
            k: size,
            n: size,
            precision,
            threads,
            device: Device::Cpu,
        }
    }

    /// FLOPs of one product: a multiply and an add for each of the
    /// `m·k·n` terms, the count BLAS benchmarks (and the models' own
    /// `flops_per_forward`) use.
    pub fn flops(&self) -> u64 {
        2 * (self.m * self.k * self.n) as u64
    }

    /// The operands `A` (`m×k`, row-major) and `B` (`k×n`, row-major) as
    /// f32 values every adapter converts to its precision: the same
    /// numbers everywhere, within [-1, 1] and exact in f16 and bf16
    /// (multiples of 1/64), so no adapter meets subnormals or rounding.
    pub fn operands(&self) -> (Vec<f32>, Vec<f32>) {
        let value = |i: usize| ((i * 7919 + 13) % 129) as f32 / 64.0 - 1.0;
        let a = (0..self.m * self.k).map(value).collect();
        let b = (0..self.k * self.n).map(|i| value(i + 1)).collect();
        (a, b)
    }

    /// `A · B` in f64 from [`MatmulSpec::operands`], row-major `m×n`: what
    /// a [`Matmul`]'s output is checked against.
    pub fn reference(&self) -> Vec<f64> {
        let (a, b) = self.operands();
        let mut c = vec![0.0; self.m * self.n];
        for i in 0..self.m {
            for p in 0..self.k {
                let x = f64::from(a[i * self.k + p]);
                for j in 0..self.n {
                    c[i * self.n + j] += x * f64::from(b[p * self.n + j]);
                }
            }
        }
        c
    }
}

/// Operands of one [`MatmulSpec`] in the runtime's own memory and layout,
/// ready to multiply. Creating and converting them stays out of the timed
/// region, as a session's `prepare` does.
pub trait Matmul {
    /// One product. Must not return before the result exists
    /// (synchronize asynchronous devices).
    fn run(&mut self) -> Result<(), BackendError>;

    /// The last product, row-major `m×n`, as f32 (untimed; for checks).
    fn output(&mut self) -> Result<Vec<f32>, BackendError>;
}

/// Why a backend without a matmul of its own has none, for the default of
/// [`crate::Backend::matmul`].
pub fn no_matmul(backend: &str) -> BackendError {
    BackendError::Unsupported(format!(
        "backend `{backend}` has no matrix product of its own to measure"
    ))
}

/// Largest |output − reference| relative to the largest |reference|,
/// for a check that a [`Matmul`] computes `A · B`.
pub fn relative_error(output: &[f32], reference: &[f64]) -> f64 {
    if output.len() != reference.len() {
        return f64::INFINITY;
    }
    let scale = reference
        .iter()
        .fold(0.0f64, |m, x| m.max(x.abs()))
        .max(1.0);
    let worst = output
        .iter()
        .zip(reference)
        .fold(0.0f64, |m, (o, r)| m.max((f64::from(*o) - r).abs()));
    worst / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operands_are_exact_in_half_precision_and_the_reference_multiplies_them() {
        let spec = MatmulSpec {
            m: 2,
            k: 3,
            n: 2,
            precision: Precision::F32,
            threads: 1,
            device: Device::Cpu,
        };
        assert_eq!(spec.flops(), 24);
        let (a, b) = spec.operands();
        assert_eq!((a.len(), b.len()), (6, 6));
        for x in a.iter().chain(&b) {
            assert!((-1.0..=1.0).contains(x), "{x}");
            assert_eq!((x * 64.0).fract(), 0.0, "{x} is a multiple of 1/64");
        }
        let c = spec.reference();
        let by_hand = f64::from(a[0] * b[1] + a[1] * b[3] + a[2] * b[5]);
        assert_eq!(c[1], by_hand);
        let out: Vec<f32> = c.iter().map(|&x| x as f32).collect();
        assert_eq!(relative_error(&out, &c), 0.0);
        assert!(relative_error(&out[1..], &c).is_infinite());
        let mut wrong = out.clone();
        wrong[3] += 0.5;
        assert!(relative_error(&wrong, &c) > 0.1);
    }
}
