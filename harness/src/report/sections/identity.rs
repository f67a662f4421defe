//! Who ran what, where: scenario, commit, machine, versions, command line,
//! and the other files of the run folder.

use std::fmt::Write;

use crate::report::RunFiles;
use crate::report::html::{escape, key_values};

fn commit(files: &RunFiles) -> String {
    let env = &files.doc.environment;
    match (&env.git_commit, env.git_dirty) {
        (Some(c), Some(true)) => format!("{c} (with uncommitted changes)"),
        (Some(c), _) => c.clone(),
        (None, _) => "unknown (not a git checkout)".into(),
    }
}

/// A merged run's shards, each with the machine it ran on; nothing for a
/// run on one machine.
fn shards(env: &crate::results::environment::Environment) -> String {
    if env.shards.is_empty() {
        return String::new();
    }
    let labels: Vec<String> = env
        .shards
        .iter()
        .map(|m| format!("shard {}", m.index))
        .collect();
    let rows: Vec<(&str, String)> = env
        .shards
        .iter()
        .zip(&labels)
        .map(|(m, label)| {
            let machine = format!(
                "{} — {}, {} logical cores, {} (run {})",
                m.hostname.as_deref().unwrap_or("unknown host"),
                m.cpu_model.as_deref().unwrap_or("unknown CPU"),
                m.logical_cores,
                m.os,
                m.run_id
            );
            (label.as_str(), machine)
        })
        .collect();
    key_values("Shards and their machines", &rows)
}

pub fn render(files: &RunFiles) -> String {
    let doc = &files.doc;
    let env = &doc.environment;
    let rows = [
        (
            "scenario",
            format!("{} ({})", doc.scenario, env.scenario_path),
        ),
        ("scenario sha256", env.scenario_sha256.clone()),
        ("run", doc.run_id.clone()),
        ("started", doc.started_at.clone()),
        (
            "finished",
            doc.finished_at
                .clone()
                .unwrap_or_else(|| "not finished (interrupted run)".into()),
        ),
        ("commit", commit(files)),
        ("inferbench", env.inferbench_version.clone()),
        (
            "machine",
            format!(
                "{}, {} logical cores",
                env.cpu_model.as_deref().unwrap_or("unknown CPU"),
                env.logical_cores
            ),
        ),
        (
            "system",
            format!(
                "{}, kernel {}",
                env.os,
                env.kernel.as_deref().unwrap_or("?")
            ),
        ),
        ("command line", env.command_line.join(" ")),
    ];
    let mut out = key_values("Identity of the run", &rows);
    let backends: Vec<(&str, String)> = env
        .backends
        .iter()
        .map(|(k, v)| (k.as_str(), v.clone()))
        .collect();
    out.push_str(&key_values(
        "Backends and their runtime versions",
        &backends,
    ));
    out.push_str(&shards(env));
    out.push_str("<p class=\"files\">Files in the run folder: ");
    let names: Vec<String> = files
        .files
        .iter()
        .map(|f| format!("<code>{}</code>", escape(f)))
        .collect();
    let _ = writeln!(out, "{}</p>", names.join(", "));
    out
}
