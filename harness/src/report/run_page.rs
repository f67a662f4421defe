//! The page of one run: who ran what where, every case in a sortable
//! table, the warnings with their fixes, the backend × precision study,
//! generation figures, generated text, and each case's distribution and
//! per-iteration series.

use std::fmt::Write;

use super::RunFiles;
use super::html::{Page, escape};
use super::sections::{cases, generation, identity, precision, summary, texts, warnings};
use crate::results::{CaseResult, Status};

/// Anchor of case `index`'s section.
pub fn case_anchor(index: usize) -> String {
    format!("case-{index}")
}

/// A status as a badge: a mark and the word, so colour is not needed to
/// read it.
pub fn status_badge(status: Status) -> String {
    let mark = match status {
        Status::Measured => "✓",
        Status::Skipped => "–",
        Status::Error => "✗",
        Status::Failed => "!",
        Status::Interrupted => "⏹",
        Status::Missing => "?",
    };
    format!(
        "<span class=\"status st-{s}\"><span aria-hidden=\"true\">{mark}</span> {s}</span>",
        s = status.as_str()
    )
}

fn status_counts(cases: &[CaseResult]) -> String {
    let mut parts = Vec::new();
    for status in [
        Status::Measured,
        Status::Failed,
        Status::Error,
        Status::Skipped,
        Status::Missing,
    ] {
        let count = cases.iter().filter(|c| c.status == status).count();
        if count > 0 {
            parts.push(format!("{count} {}", status_badge(status)));
        }
    }
    parts.join(" · ")
}

fn header(files: &RunFiles, sections: &[(&str, &str, String)]) -> String {
    let doc = &files.doc;
    let mut out = format!(
        "<header><h1>{} <span class=\"sub\">run {}</span></h1>\n",
        escape(&doc.scenario),
        escape(&doc.run_id)
    );
    if let Some(d) = &files.description {
        let _ = writeln!(out, "<p class=\"description\">{}</p>", escape(d));
    }
    let _ = writeln!(
        out,
        "<p class=\"counts\">{} cases: {}</p>",
        doc.cases.len(),
        status_counts(&doc.cases)
    );
    out.push_str("<nav aria-label=\"Sections\"><ul>");
    for (id, heading, _) in sections {
        let _ = write!(out, "<li><a href=\"#{id}\">{}</a></li>", escape(heading));
    }
    out.push_str("</ul></nav></header>\n");
    out
}

pub fn render_run(files: &RunFiles) -> String {
    let doc = &files.doc;
    let mut sections = vec![
        ("identity", "Run", identity::render(files)),
        ("summary", "Cases", summary::render(&doc.cases)),
    ];
    let optional = [
        ("warnings", "Warnings", warnings::render(doc)),
        (
            "precision",
            "Backends and precisions",
            precision::render(&doc.cases),
        ),
        ("generation", "Generation", generation::render(&doc.cases)),
        ("texts", "Generated text", texts::render(files)),
    ];
    for (id, heading, content) in optional {
        if let Some(content) = content {
            sections.push((id, heading, content));
        }
    }
    sections.push(("details", "Per case", cases::render(&doc.cases)));
    let mut page = Page::new(&format!("{} — inferbench run {}", doc.scenario, doc.run_id));
    page.push(&header(files, &sections));
    for (id, heading, content) in &sections {
        page.section(id, heading, content);
    }
    page.finish()
}
