//! The scenario keys whose valid values come from the backend registry:
//! backend names and each backend's `[options.<name>]` table. Both are
//! checked as the file is read, so a mistake is located at its value with a
//! suggestion, and both describe the registered backends in `inferbench
//! schema` (and so in the generated reference docs).

use std::borrow::Cow;
use std::collections::BTreeMap;

use inferbench_backend::{OptionKind, check_options};
use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::{Deserialize, Serialize};

use crate::registry::{self, BackendName};

/// A backend name from a scenario file: one the registry knows.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(into = "String")]
pub struct KnownBackend(BackendName);

/// Checks the name inside the visitor, so that the TOML reader locates an
/// unknown one at the value itself, not at the list holding it.
impl<'de> Deserialize<'de> for KnownBackend {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Name;
        impl serde::de::Visitor<'_> for Name {
            type Value = KnownBackend;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a backend name")
            }

            fn visit_str<E: serde::de::Error>(self, name: &str) -> Result<KnownBackend, E> {
                KnownBackend::try_from(name.to_string()).map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Name)
    }
}

impl KnownBackend {
    pub fn name(&self) -> &BackendName {
        &self.0
    }
}

impl TryFrom<String> for KnownBackend {
    type Error = String;

    /// Worded as serde's "unknown variant" so that the scenario loader
    /// adds its "did you mean" as for every other value.
    fn try_from(name: String) -> Result<Self, String> {
        let known = registry::names();
        if known.contains(&name.as_str()) {
            Ok(KnownBackend(BackendName::from(name.as_str())))
        } else {
            let list: Vec<String> = known.iter().map(|n| format!("`{n}`")).collect();
            Err(format!(
                "unknown variant `{name}`, expected one of {}",
                list.join(", ")
            ))
        }
    }
}

impl From<KnownBackend> for String {
    fn from(b: KnownBackend) -> String {
        b.0.as_str().to_string()
    }
}

impl JsonSchema for KnownBackend {
    fn schema_name() -> Cow<'static, str> {
        "Backend".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "description": "A registered backend (`inferbench backends` lists them).",
            "type": "string",
            "enum": registry::names(),
        })
    }
}

/// `[options.<backend>]` tables: each backend's own keys, as it declares
/// them ([`inferbench_backend::Backend::options`]).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(transparent)]
pub struct BackendOptions(pub BTreeMap<KnownBackend, BTreeMap<String, serde_json::Value>>);

impl BackendOptions {
    /// A backend's options as the text its adapter parses.
    pub fn strings_for(&self, backend: &BackendName) -> BTreeMap<String, String> {
        self.0
            .iter()
            .find(|(b, _)| b.name() == backend)
            .map(|(_, table)| table.iter().map(|(k, v)| (k.clone(), text(v))).collect())
            .unwrap_or_default()
    }

    /// Every table against its backend's declaration: the first wrong key
    /// or value, as (key, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        for (backend, table) in &self.0 {
            let name = backend.name().as_str();
            let specs = registry::find(name).map_or(&[][..], |b| b.options());
            check_options(
                name,
                specs,
                table.iter().map(|(k, v)| (k.as_str(), text(v))),
            )?;
        }
        Ok(())
    }
}

/// TOML strings as they are; numbers and booleans as written.
fn text(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

impl JsonSchema for BackendOptions {
    fn schema_name() -> Cow<'static, str> {
        "BackendOptions".into()
    }

    /// One table per registered backend, one property per declared option.
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        let mut backends = serde_json::Map::new();
        for backend in registry::all() {
            let mut properties = serde_json::Map::new();
            for option in backend.options() {
                let mut schema = match option.kind {
                    OptionKind::Bool => serde_json::json!({ "type": "boolean" }),
                    OptionKind::Integer { min, max } if max == u64::MAX => {
                        serde_json::json!({ "type": "integer", "minimum": min })
                    }
                    OptionKind::Integer { min, max } => {
                        serde_json::json!({ "type": "integer", "minimum": min, "maximum": max })
                    }
                    OptionKind::Choice(words) => {
                        serde_json::json!({ "type": "string", "enum": words })
                    }
                };
                schema["description"] = option.doc.into();
                properties.insert(option.key.to_string(), schema);
            }
            backends.insert(
                backend.name().to_string(),
                serde_json::json!({
                    "type": "object",
                    "properties": properties,
                    "additionalProperties": false,
                }),
            );
        }
        json_schema!({
            "type": "object",
            "properties": backends,
            "additionalProperties": false,
        })
    }
}
