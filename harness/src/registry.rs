//! The registry of backends: every part of inferbench that needs to know
//! which backends exist (the scenario validator, `inferbench backends`, the
//! environment recorded with a run, the reference docs) asks here, and
//! each backend answers for itself through the [`Backend`] trait.
//!
//! Adding a backend is its crate, a workspace member and one line in
//! [`built_in`]; one feature line too if it links a native library (its
//! crate then gives the generic `NotCompiled` stand-in with the feature
//! off, under the same name). [`register`] adds backends at run time, for
//! tests and extensions.

use std::fmt;
use std::sync::{Arc, LazyLock, PoisonError, RwLock};

use inferbench_backend::{
    Backend, BackendError, BackendStatus, ModelFormat, ModelKind, OptionSpec,
};
use serde::{Deserialize, Serialize};

/// The backends built into this binary, one line each.
fn built_in() -> Vec<Arc<dyn Backend>> {
    vec![
        Arc::new(inferbench_candle::CandleBackend),
        Arc::new(inferbench_ort::OrtBackend),
        Arc::new(inferbench_tch::TchBackend),
        Arc::new(inferbench_openai::OpenAiBackend),
        Arc::new(inferbench_backend::NullBackend),
    ]
}

/// The backend a scenario runs when it names none.
pub const DEFAULT_BACKEND: &str = "candle";

static REGISTRY: LazyLock<RwLock<Vec<Arc<dyn Backend>>>> =
    LazyLock::new(|| RwLock::new(built_in()));

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum RegistryError {
    #[error("a backend named `{0}` is already registered")]
    Duplicate(String),
    #[error("backend name `{0}` must be lowercase ASCII letters, digits, `_` or `-`")]
    BadName(String),
}

/// Adds a backend for the rest of this process: scenarios may name it,
/// `inferbench backends` lists it and cases run on it in-process. Worker
/// processes start from the built-in list, so run such cases with
/// `Isolation::None`.
pub fn register(backend: Arc<dyn Backend>) -> Result<(), RegistryError> {
    let name = backend.name();
    let valid = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
    if !valid {
        return Err(RegistryError::BadName(name.to_string()));
    }
    let mut backends = REGISTRY.write().unwrap_or_else(PoisonError::into_inner);
    if backends.iter().any(|b| b.name() == name) {
        return Err(RegistryError::Duplicate(name.to_string()));
    }
    backends.push(backend);
    Ok(())
}

/// Every backend, built-in ones first, in registration order.
pub fn all() -> Vec<Arc<dyn Backend>> {
    REGISTRY
        .read()
        .unwrap_or_else(PoisonError::into_inner)
        .clone()
}

pub fn names() -> Vec<&'static str> {
    all().iter().map(|b| b.name()).collect()
}

pub fn find(name: &str) -> Option<Arc<dyn Backend>> {
    all().into_iter().find(|b| b.name() == name)
}

/// The backend a case names; one missing from this process (registered
/// only in another) is unavailable, so its case is skipped with the reason.
pub fn backend_for(name: &BackendName) -> Result<Arc<dyn Backend>, BackendError> {
    find(name.as_str()).ok_or_else(|| BackendError::Unavailable {
        reason: format!("backend `{name}` is not registered in this process"),
        hint: "backends registered at run time run in-process only (`--isolation none`)".into(),
    })
}

/// The format of a model file, from its extension, if a registered backend
/// takes files of that format.
pub fn format_of(path: &std::path::Path) -> Option<ModelFormat> {
    let format = ModelFormat::from_path(path)?;
    all()
        .iter()
        .any(|b| b.capabilities().takes(ModelKind::File(format)))
        .then_some(format)
}

/// The model files the registered backends take, for messages: "`.onnx`
/// (ort), `.pt`, `.ts`, `.torchscript` (tch)".
pub fn model_files_text() -> String {
    let mut parts = Vec::new();
    for format in ModelFormat::ALL {
        let takers: Vec<&str> = all()
            .iter()
            .filter(|b| b.capabilities().takes(ModelKind::File(format)))
            .map(|b| b.name())
            .collect();
        if !takers.is_empty() {
            let extensions: Vec<String> = format
                .extensions()
                .iter()
                .map(|e| format!("`.{e}`"))
                .collect();
            parts.push(format!("{} ({})", extensions.join(", "), takers.join(", ")));
        }
    }
    parts.join(", ")
}

/// The name of a backend in cases and result rows. Read back from stored
/// runs as it is: a run may name a backend this binary lacks.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct BackendName(String);

impl BackendName {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<&str> for BackendName {
    fn from(name: &str) -> Self {
        BackendName(name.to_string())
    }
}

impl fmt::Display for BackendName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(&self.0)
    }
}

/// `inferbench backends`: each backend's state, the models it takes and
/// its options.
pub fn listing() -> String {
    let mut out = String::new();
    for backend in all() {
        let name = backend.name();
        let line = match backend.status() {
            BackendStatus::Ready { runtime_version } => {
                format!("{name:<8} ready        {runtime_version}")
            }
            BackendStatus::Unavailable { reason, hint } => {
                format!("{name:<8} unavailable  {reason} (hint: {hint})")
            }
        };
        out.push_str(&line);
        out.push('\n');
        let models: Vec<String> = backend
            .capabilities()
            .models
            .iter()
            .map(|m| m.to_string())
            .collect();
        out.push_str(&format!("         models: {}\n", models.join(", ")));
        for option in backend.options() {
            out.push_str(&format!("         {}\n", option_line(name, option)));
        }
    }
    out
}

fn option_line(backend: &str, option: &OptionSpec) -> String {
    format!(
        "option {backend}.{} ({}): {}",
        option.key, option.kind, option.doc
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_in_names_are_unique_and_include_the_default() {
        let mut names = names();
        assert!(names.contains(&DEFAULT_BACKEND), "{names:?}");
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn a_duplicate_or_malformed_name_is_refused() {
        assert_eq!(
            register(Arc::new(inferbench_candle::CandleBackend)),
            Err(RegistryError::Duplicate("candle".into()))
        );
        let stub = inferbench_backend::NotCompiled {
            name: "Bad Name",
            hint: "",
            options: &[],
            capabilities: inferbench_backend::Capabilities::NONE,
        };
        assert_eq!(
            register(Arc::new(stub)),
            Err(RegistryError::BadName("Bad Name".into()))
        );
    }

    #[test]
    fn model_files_are_named_with_the_backends_that_take_them() {
        assert_eq!(
            model_files_text(),
            "`.onnx` (ort), `.pt`, `.ts`, `.torchscript` (tch)"
        );
        assert_eq!(
            format_of(std::path::Path::new("m.ONNX")),
            Some(ModelFormat::Onnx)
        );
        assert_eq!(format_of(std::path::Path::new("m.tflite")), None);
    }

    #[test]
    fn listing_shows_every_backend_with_its_options() {
        let text = listing();
        for name in names() {
            assert!(
                text.contains(&format!("\n{name:<8} ")) || text.starts_with(name),
                "{text}"
            );
        }
        assert!(
            text.contains("option ort.spinning (`true` or `false`)"),
            "{text}"
        );
    }
}
