//! Writing HTML by hand: escaping, and the page frame every report shares
//! (inline CSS, the small sort script, a print stylesheet). No template
//! engine: the pages are a handful of tables and inline SVG figures.

use std::fmt::Write;

/// The page's style sheet, screen and print (`@media print`).
const STYLE: &str = include_str!("assets/report.css");
/// Sorting of tables marked `class="sortable"`; nothing else runs.
const SORT_SCRIPT: &str = include_str!("assets/sort.js");

/// Escapes text for element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// A case id that may wrap after each `/` (ids are long and have no spaces).
pub fn breakable(id: &str) -> String {
    escape(id).replace('/', "/<wbr>")
}

/// An HTML page being assembled section by section.
pub struct Page {
    title: String,
    body: String,
}

impl Page {
    pub fn new(title: &str) -> Self {
        Self {
            title: title.to_string(),
            body: String::new(),
        }
    }

    /// Appends raw, already escaped HTML.
    pub fn push(&mut self, html: &str) {
        self.body.push_str(html);
    }

    /// A `<section>` with an id (the table of contents links to it) and a
    /// heading.
    pub fn section(&mut self, id: &str, heading: &str, content: &str) {
        let _ = write!(
            self.body,
            "<section id=\"{id}\" aria-labelledby=\"{id}-h\"><h2 id=\"{id}-h\">{}</h2>\n{content}</section>\n",
            escape(heading)
        );
    }

    /// The whole document. The empty data-URL icon stops the browser from
    /// asking for `favicon.ico`: the page makes no request at all.
    pub fn finish(self) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
             <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
             <link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>\n{STYLE}</style>\n\
             </head>\n<body>\n<main>\n{}</main>\n<script>\n{SORT_SCRIPT}</script>\n</body>\n</html>\n",
            escape(&self.title),
            self.body
        )
    }
}

/// A table cell for a sortable column: the shown text and the raw value
/// the script sorts by (empty values sort last).
pub fn sort_cell(shown: &str, value: Option<f64>) -> String {
    match value.filter(|v| v.is_finite()) {
        Some(v) => format!("<td class=\"num\" data-sort=\"{v}\">{}</td>", escape(shown)),
        None => format!("<td class=\"num\" data-sort=\"\">{}</td>", escape(shown)),
    }
}

/// A two-column table of names and values (identity, settings).
pub fn key_values(caption: &str, rows: &[(&str, String)]) -> String {
    let mut out = format!(
        "<table class=\"kv\"><caption>{}</caption><tbody>\n",
        escape(caption)
    );
    for (key, value) in rows {
        let _ = writeln!(
            out,
            "<tr><th scope=\"row\">{}</th><td>{}</td></tr>",
            escape(key),
            escape(value)
        );
    }
    out.push_str("</tbody></table>\n");
    out
}

/// A table header row whose columns the sort script can order; `numeric`
/// columns sort by their cells' `data-sort` values.
pub fn sortable_header(columns: &[(&str, bool)]) -> String {
    let mut out = String::from("<thead><tr>");
    for (name, numeric) in columns {
        let kind = if *numeric { "num" } else { "text" };
        let _ = write!(
            out,
            "<th scope=\"col\" data-kind=\"{kind}\" aria-sort=\"none\"><button type=\"button\">{}</button></th>",
            escape(name)
        );
    }
    out.push_str("</tr></thead>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
