//! `c10::InferenceMode` as a Rust guard (cpp/inference_mode.cpp): what
//! Python's `torch.inference_mode()` turns on. tch only offers `no_grad`,
//! which still routes every op through autograd's dispatch layer.

use std::ffi::c_void;

unsafe extern "C" {
    fn inferbench_inference_mode_enter() -> *mut c_void;
    fn inferbench_inference_mode_exit(guard: *mut c_void);
}

/// Inference mode for the current thread until dropped. Not `Send`: the
/// mode is thread-local, so the guard must end on the thread that began it.
pub struct InferenceMode {
    guard: *mut c_void,
}

impl InferenceMode {
    /// Falls back to plain no-grad mode if libtorch refuses (it does not
    /// in practice: constructing the guard only flips thread-local flags).
    pub fn enter() -> Self {
        // SAFETY: returns a heap-allocated guard or null; no preconditions.
        let guard = unsafe { inferbench_inference_mode_enter() };
        Self { guard }
    }

    pub fn is_active(&self) -> bool {
        !self.guard.is_null()
    }
}

impl Drop for InferenceMode {
    fn drop(&mut self) {
        if !self.guard.is_null() {
            // SAFETY: `guard` came from `inferbench_inference_mode_enter` on
            // this thread (the type is not Send) and is freed exactly once.
            unsafe { inferbench_inference_mode_exit(self.guard) }
        }
    }
}

/// Runs `f` in inference mode (and, should that be refused, without grad).
pub fn inference<T>(f: impl FnOnce() -> T) -> T {
    let mode = InferenceMode::enter();
    if mode.is_active() {
        f()
    } else {
        tch::no_grad(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Tensor;

    #[test]
    fn results_are_inference_tensors_without_grad() {
        let w = Tensor::from_slice(&[1.0f32, 2.0]).set_requires_grad(true);
        let y = inference(|| &w * 2.0);
        assert!(!y.requires_grad());
        assert!(y.is_inference());
        // Outside the guard, tensors are ordinary again.
        assert!(!(&w * 2.0).is_inference());
        assert_eq!(Vec::<f32>::try_from(&y).unwrap(), [2.0, 4.0]);
    }
}
