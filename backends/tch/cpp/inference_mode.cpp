// c10::InferenceMode for Rust: tch exposes only the grad mode (`no_grad`).
// Inference mode is what `torch.inference_mode()` enables in Python: on top
// of no-grad it leaves the autograd and view/version-tracking dispatch keys
// out of every op, so each op goes straight to its kernel.
#include <c10/core/InferenceMode.h>

extern "C" {

void* inferbench_inference_mode_enter() {
    try {
        return new c10::InferenceMode(true);
    } catch (...) {
        return nullptr;
    }
}

void inferbench_inference_mode_exit(void* guard) {
    delete static_cast<c10::InferenceMode*>(guard);
}

}
