//! inferbench devices as libtorch devices.

use inferbench_backend::Device;

/// The libtorch device for `device`, or why this libtorch cannot use it.
pub fn tch_device(device: Device) -> Result<tch::Device, String> {
    match device {
        Device::Cpu => Ok(tch::Device::Cpu),
        Device::Cuda(index) => {
            // The lean libtorch from ci/setup.sh has no libtorch_cuda: CUDA
            // needs the full libtorch (LIBTORCH pointing at a CUDA build).
            if !tch::Cuda::is_available() {
                return Err(format!(
                    "libtorch sees no CUDA GPU, so tch cannot run on {device} (this libtorch \
                     was built without CUDA or no GPU is visible; the lean CPU libtorch from \
                     ci/setup.sh has no CUDA)"
                ));
            }
            let count = tch::Cuda::device_count();
            if index as i64 >= count {
                return Err(format!(
                    "libtorch sees {count} CUDA device(s), so there is no {device}"
                ));
            }
            Ok(tch::Device::Cuda(index))
        }
    }
}

/// Waits for queued device work, so a timed `run` ends when its result
/// exists (CUDA kernels are asynchronous; CPU ops are not).
pub fn synchronize(device: tch::Device) {
    if let tch::Device::Cuda(index) = device {
        tch::Cuda::synchronize(index as i64);
    }
}
