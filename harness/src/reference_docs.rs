//! The book's reference pages, generated from the code: scenario keys from
//! the JSON Schema (`inferbench schema`), backends and their options from
//! the registry, `results.csv` columns from their definition, statuses and
//! exit codes from their tables. `tests/docs.rs` fails when the pages under
//! `docs/src/reference/` differ from these (`INFERBENCH_BLESS=1 cargo test
//! --test docs` rewrites them).

use std::fmt::Write as _;

use serde_json::Value;

use crate::exit_status::EXIT_CODES;
use crate::registry;
use crate::results::Status;
use crate::results::csv::COLUMNS;
use crate::scenario::json_schema;

const GENERATED: &str = "<!-- Generated from the code by `harness/src/reference_docs.rs`; \
                         `INFERBENCH_BLESS=1 cargo test --test docs` rewrites it. -->";

/// File names under `docs/src/reference/` and their contents.
pub fn pages() -> Vec<(&'static str, String)> {
    vec![
        ("scenario.md", scenario_page()),
        ("backends.md", backends_page()),
        ("results-csv.md", csv_page()),
        ("status.md", status_page()),
    ]
}

/// Table cell text: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

fn scenario_page() -> String {
    let schema = json_schema();
    let mut out = format!(
        "# Scenario keys\n\n{GENERATED}\n\nEvery key of a scenario file, from `inferbench schema`. \
         A key marked *list* also takes a list of values; each value multiplies the cases.\n"
    );
    let mut tables = vec![(String::from("top level"), schema.clone())];
    // A `[[cases]]` entry repeats the top level's tables: each is written once.
    let mut written: Vec<Value> = Vec::new();
    while !tables.is_empty() {
        let (title, table) = tables.remove(0);
        if written.contains(&table) {
            continue;
        }
        let nested = write_table(&mut out, &title, &table, &schema["$defs"]);
        written.push(table);
        tables.extend(nested);
    }
    out
}

/// Writes one table's keys; returns the tables nested in it.
fn write_table(out: &mut String, title: &str, table: &Value, defs: &Value) -> Vec<(String, Value)> {
    let _ = write!(out, "\n## {title}\n\n");
    if let Some(d) = table.get("description").and_then(Value::as_str) {
        let _ = writeln!(out, "{}\n", cell(d));
    }
    out.push_str("| key | type | meaning |\n|---|---|---|\n");
    let mut nested = Vec::new();
    let empty = serde_json::Map::new();
    let properties = table["properties"].as_object().unwrap_or(&empty);
    for (key, property) in properties {
        let description = property
            .get("description")
            .or_else(|| resolve(property, defs).get("description"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let _ = writeln!(
            out,
            "| `{key}` | {} | {} |",
            type_text(property, defs),
            cell(description)
        );
        let prefix = if title == "top level" {
            String::new()
        } else {
            format!("{}.", title.trim_matches(['[', ']']))
        };
        if let Some(inner) = object_of(property, defs) {
            nested.push((format!("[{prefix}{key}]"), inner));
        } else if let Some(inner) = property.get("items").and_then(|i| object_of(i, defs)) {
            nested.push((format!("[[{prefix}{key}]]"), inner));
        }
    }
    nested
}

/// The schema a `$ref` (possibly inside `anyOf` with `null`) points at.
fn resolve<'a>(schema: &'a Value, defs: &'a Value) -> &'a Value {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        return &defs[name.trim_start_matches("#/$defs/")];
    }
    if let Some(options) = schema.get("anyOf").and_then(Value::as_array) {
        let non_null: Vec<&Value> = options.iter().filter(|o| o["type"] != "null").collect();
        if let [one] = non_null.as_slice() {
            return resolve(one, defs);
        }
    }
    schema
}

/// A table (an object with keys) the schema describes, if it is one.
fn object_of(schema: &Value, defs: &Value) -> Option<Value> {
    let target = resolve(schema, defs);
    target.get("properties").map(|_| target.clone())
}

fn type_text(schema: &Value, defs: &Value) -> String {
    let target = resolve(schema, defs);
    if target.get("properties").is_some() {
        return "table".into();
    }
    if let Some(values) = target.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|v| format!("`{}`", v.as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ");
    }
    if let Some(variants) = target.get("oneOf").and_then(Value::as_array)
        && variants.iter().all(|v| v.get("const").is_some())
    {
        return variants
            .iter()
            .map(|v| format!("`{}`", v["const"].as_str().unwrap_or("?")))
            .collect::<Vec<_>>()
            .join(", ");
    }
    if let Some(options) = target.get("anyOf").and_then(Value::as_array) {
        let texts: Vec<String> = options
            .iter()
            .filter(|o| o["type"] != "null")
            .map(|o| type_text(o, defs))
            .collect();
        // `Axis<T>`: one value or a list of them.
        if let [one, list] = texts.as_slice()
            && *list == format!("list of {one}")
        {
            return format!("{one} (list)");
        }
        return texts.join(" or ");
    }
    let kind = match &target["type"] {
        Value::String(s) => s.clone(),
        Value::Array(kinds) => kinds
            .iter()
            .filter_map(Value::as_str)
            .filter(|k| *k != "null")
            .collect::<Vec<_>>()
            .join(" or "),
        _ => "any".into(),
    };
    match (kind.as_str(), target.get("items")) {
        ("array", Some(items)) => format!("list of {}", type_text(items, defs)),
        ("object", _) => "table".into(),
        _ => kind,
    }
}

fn backends_page() -> String {
    let mut out = format!(
        "# Backends\n\n{GENERATED}\n\nThe backends of the registry, what they take and their \
         `[options.<backend>]` keys. `inferbench backends` says which can run on this machine.\n"
    );
    for backend in registry::all() {
        let caps = backend.capabilities();
        let models: Vec<String> = caps.models.iter().map(|m| m.to_string()).collect();
        let _ = write!(
            out,
            "\n## `{}`\n\n- models: {}\n- logits compared with the reference: {}\n- KV-cache decoder: {}\n",
            backend.name(),
            models.join(", "),
            if caps.logits { "yes" } else { "no" },
            if caps.decoder { "yes" } else { "no" },
        );
        if backend.options().is_empty() {
            out.push_str("\nNo options.\n");
            continue;
        }
        out.push_str("\n| option | values | meaning |\n|---|---|---|\n");
        for option in backend.options() {
            let _ = writeln!(
                out,
                "| `{}` | {} | {} |",
                option.key,
                cell(&option.kind.to_string()),
                cell(option.doc)
            );
        }
    }
    out
}

fn csv_page() -> String {
    let mut out = format!(
        "# `results.csv` columns\n\n{GENERATED}\n\nOne row per case, in this order. \
         Empty cells are values that do not apply or were not measured.\n\n\
         | column | meaning |\n|---|---|\n"
    );
    for column in COLUMNS {
        let _ = writeln!(out, "| `{}` | {} |", column.name, cell(column.doc));
    }
    out
}

fn status_page() -> String {
    let mut out = format!(
        "# Statuses and exit codes\n\n{GENERATED}\n\n## Case statuses\n\n\
         | status | meaning |\n|---|---|\n"
    );
    for status in Status::ALL {
        let _ = writeln!(
            out,
            "| `{}` | {} |",
            status.as_str(),
            cell(status.meaning())
        );
    }
    out.push_str("\n## Exit codes\n\n| code | meaning |\n|---|---|\n");
    for (code, meaning) in EXIT_CODES {
        let _ = writeln!(out, "| {code} | {} |", cell(meaning));
    }
    out
}
