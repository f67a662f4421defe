//! Typed reads of the keys of a Hugging Face `config.json`, shared by the
//! Llama and BERT readers. `null` counts as absent, as `transformers` reads
//! it; every error names the key.

use serde_json::{Map, Value};

/// The top-level object of a `config.json`'s text.
pub(crate) fn config_object(text: &str) -> Result<Map<String, Value>, String> {
    match serde_json::from_str(text).map_err(|e| format!("not valid JSON: {e}"))? {
        Value::Object(keys) => Ok(keys),
        _ => Err("expected a JSON object".into()),
    }
}

pub(crate) fn string_key<'a>(keys: &'a Map<String, Value>, key: &str) -> Result<&'a str, String> {
    keys.get(key)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("missing string key `{key}`"))
}

pub(crate) fn usize_key(keys: &Map<String, Value>, key: &str) -> Result<usize, String> {
    optional_usize(keys, key)?.ok_or_else(|| format!("missing key `{key}`"))
}

pub(crate) fn optional_usize(
    keys: &Map<String, Value>,
    key: &str,
) -> Result<Option<usize>, String> {
    Ok(optional_u64(keys, key)?.map(|n| n as usize))
}

pub(crate) fn optional_u64(keys: &Map<String, Value>, key: &str) -> Result<Option<u64>, String> {
    optional(keys, key, Value::as_u64, "a non-negative integer")
}

pub(crate) fn optional_f64(keys: &Map<String, Value>, key: &str) -> Result<Option<f64>, String> {
    optional(keys, key, Value::as_f64, "a number")
}

pub(crate) fn optional_bool(keys: &Map<String, Value>, key: &str) -> Result<Option<bool>, String> {
    optional(keys, key, Value::as_bool, "true or false")
}

/// `key` read by `read`, which fails on a value that is not `expected`.
fn optional<T>(
    keys: &Map<String, Value>,
    key: &str,
    read: impl Fn(&Value) -> Option<T>,
    expected: &str,
) -> Result<Option<T>, String> {
    match keys.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => read(v)
            .map(Some)
            .ok_or_else(|| format!("`{key}` must be {expected}, found {v}")),
    }
}
