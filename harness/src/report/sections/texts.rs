//! Generated text per case beside the reference's, differences marked.
//! results.json carries the text of real-model runs (prompt, generated
//! text and, where computed, the reference's); older runs and synthetic
//! models have none, and the section is left out. The fields are read from
//! the plain JSON so that a run written by a newer build still renders.

use std::fmt::Write;

use serde_json::Value;

use crate::report::RunFiles;
use crate::report::diff::diff;
use crate::report::html::escape;
use crate::report::run_page::case_anchor;

const PROMPT: [&str; 3] = ["prompt_text", "prompt", "first_request_prompt"];
// Not `text`: a case's `text` is the evaluation text's file.
const GENERATED: [&str; 3] = ["generated_text", "first_request_text", "output_text"];
const REFERENCE: [&str; 3] = [
    "reference_text",
    "reference_generated_text",
    "reference_output_text",
];

/// The first of `keys` holding a string, in the case or its `generation`.
fn find<'a>(case: &'a Value, keys: &[&str]) -> Option<&'a str> {
    [Some(case), case.get("generation")]
        .into_iter()
        .flatten()
        .find_map(|v| keys.iter().find_map(|k| v.get(*k)?.as_str()))
}

struct CaseText<'a> {
    index: usize,
    id: String,
    model: String,
    prompt: Option<&'a str>,
    generated: &'a str,
    reference: Option<&'a str>,
}

fn texts(files: &RunFiles) -> Vec<CaseText<'_>> {
    files
        .doc
        .cases
        .iter()
        .enumerate()
        .filter_map(|(index, r)| {
            let raw = files.raw_case(index)?;
            Some(CaseText {
                index,
                id: r.case.id.clone(),
                model: r.case.model.name.clone(),
                prompt: find(raw, &PROMPT),
                generated: find(raw, &GENERATED)?,
                reference: find(raw, &REFERENCE),
            })
        })
        .collect()
}

fn one(t: &CaseText, reference: Option<(&str, &str)>) -> String {
    let mut out = format!(
        "<article class=\"text-case\"><h3><a href=\"#{}\">{}</a></h3>\n",
        case_anchor(t.index),
        escape(&t.id)
    );
    if let Some(p) = t.prompt {
        let _ = writeln!(
            out,
            "<p class=\"prompt\"><strong>Prompt:</strong> {}</p>",
            escape(p)
        );
    }
    let Some((source, reference)) = reference else {
        let _ = writeln!(
            out,
            "<pre class=\"generated\">{}</pre></article>",
            escape(t.generated)
        );
        return out;
    };
    let d = diff(t.generated, reference);
    let _ = writeln!(
        out,
        "<p>{} of {} reference words in common; the first {} agree. \
         <ins>Underlined</ins>: only in this case; <del>struck through</del>: only in the reference.</p>\n\
         <div class=\"side-by-side\"><div><h4>This case</h4><p class=\"generated\">{}</p></div>\
         <div><h4>{}</h4><p class=\"generated\">{}</p></div></div></article>",
        d.common_words,
        d.reference_words,
        d.same_prefix_words,
        d.candidate_html,
        escape(source),
        d.reference_html
    );
    out
}

pub fn render(files: &RunFiles) -> Option<String> {
    let all = texts(files);
    if all.is_empty() {
        return None;
    }
    let mut out = String::new();
    for t in &all {
        // The reference's own text when the run recorded it; else the
        // first case of the same model (the f32 one, when there is one).
        let fallback = all
            .iter()
            .filter(|o| o.model == t.model && o.index != t.index)
            .min_by_key(|o| !files.doc.cases[o.index].case.id.contains("/f32/"))
            .map(|o| (format!("Case {}", o.id), o.generated));
        let reference = match (t.reference, &fallback) {
            (Some(text), _) => Some(("Reference".to_string(), text)),
            (None, Some((name, text))) => Some((name.clone(), *text)),
            (None, None) => None,
        };
        out.push_str(&one(t, reference.as_ref().map(|(n, s)| (n.as_str(), *s))));
    }
    Some(out)
}
