//! libtorch errors as inferbench's [`BackendError`]s.

use inferbench_backend::BackendError;
use tch::TchError;

/// The useful part of a libtorch error: C++ exceptions carry a stack of
/// "Exception raised from ... frame #N" lines after the message.
pub fn torch_message(e: &TchError) -> String {
    let text = e.to_string();
    let cut = text
        .find("\nException raised from")
        .or_else(|| text.find("\nframe #"))
        .unwrap_or(text.len());
    text[..cut].trim_end().to_string()
}

pub fn run_error(e: TchError) -> BackendError {
    BackendError::Run(torch_message(&e))
}
