//! The warnings the run raised, each with its fix, recomputed from the
//! stored results (the rules of `crate::warnings`, on the machine's core
//! count recorded in the environment).

use std::fmt::Write;

use crate::report::html::escape;
use crate::results::json::RunDocument;
use crate::warnings::for_result;

pub fn render(doc: &RunDocument) -> Option<String> {
    let cores = doc.environment.logical_cores.max(1);
    let warnings: Vec<String> = doc
        .cases
        .iter()
        .flat_map(|r| for_result(r, cores))
        .map(|w| w.to_string())
        .collect();
    if warnings.is_empty() {
        return None;
    }
    let mut out = String::from("<ul class=\"warnings\">\n");
    for w in &warnings {
        let _ = writeln!(
            out,
            "<li><span class=\"warn-mark\" aria-hidden=\"true\">⚠</span> <strong>warning:</strong> {}</li>",
            escape(w)
        );
    }
    out.push_str("</ul>\n");
    Some(out)
}
