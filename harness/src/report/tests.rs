//! Tests of the pages as a whole: the structure of a fixed run's page
//! (an insta snapshot of its outline), a run folder from an older build,
//! and the size of a large run's page.

use std::path::{Path, PathBuf};

use super::{RunFiles, render_run};
use crate::results::json::RunDocument;
use crate::stats::Summary;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src/report/testdata/run")
}

const VOID: [&str; 7] = ["meta", "link", "br", "wbr", "img", "input", "hr"];
/// Elements whose text the outline shows.
const TEXT: [&str; 19] = [
    "h1",
    "h2",
    "h3",
    "h4",
    "th",
    "td",
    "caption",
    "figcaption",
    "li",
    "p",
    "a",
    "button",
    "strong",
    "div",
    "span",
    "code",
    "ins",
    "del",
    "pre",
];

/// The page's element tree, one element a line, with ids, classes and the
/// text of headings and cells; each SVG as its accessible name and a count
/// of its elements, style and script as their name only. Our pages are
/// written by us, so a small scanner suffices.
fn outline(html: &str) -> String {
    let mut out = String::new();
    let mut stack: Vec<String> = Vec::new();
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        let text = rest[..open]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        if !text.is_empty() && stack.last().is_some_and(|t| TEXT.contains(&t.as_str())) {
            out.push_str(&format!("{}\"{text}\"\n", "  ".repeat(stack.len())));
        }
        rest = &rest[open..];
        let close = rest.find('>').expect("tags end");
        let tag = &rest[1..close];
        rest = &rest[close + 1..];
        if tag.starts_with('!') {
            continue;
        }
        if let Some(name) = tag.strip_prefix('/') {
            assert_eq!(stack.pop().as_deref(), Some(name), "tags nest");
            continue;
        }
        let name = tag
            .split_whitespace()
            .next()
            .unwrap_or("")
            .trim_end_matches('/');
        let attr = |key: &str| {
            tag.split(&format!(" {key}=\""))
                .nth(1)
                .and_then(|v| v.split('"').next())
                .map(str::to_string)
        };
        let mut line = format!("{}{name}", "  ".repeat(stack.len()));
        if let Some(id) = attr("id") {
            line += &format!("#{id}");
        }
        if let Some(class) = attr("class") {
            line += &format!(".{}", class.replace(' ', "."));
        }
        if matches!(name, "svg" | "style" | "script") {
            let end = rest.find(&format!("</{name}>")).expect("closed");
            let inner = &rest[..end];
            let detail = match name {
                "svg" => format!(
                    " [{}] {} elements",
                    attr("aria-label").unwrap_or_default(),
                    inner.matches('<').count() - inner.matches("</").count()
                ),
                _ => String::new(),
            };
            out.push_str(&format!("{line}{detail}\n"));
            rest = &rest[end + name.len() + 3..];
            continue;
        }
        out.push_str(&line);
        out.push('\n');
        if !(tag.ends_with('/') || VOID.contains(&name)) {
            stack.push(name.to_string());
        }
    }
    assert!(stack.is_empty(), "unclosed: {stack:?}");
    out
}

#[test]
fn the_page_of_a_fixed_run() {
    let page = render_run(&RunFiles::load(&fixture()).unwrap());
    insta::assert_snapshot!(outline(&page));
}

#[test]
fn a_run_folder_of_an_older_build_renders() {
    // Before generation workloads, telemetry timestamps and CPU samples:
    // results.json had none of these keys.
    let mut doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(fixture().join("results.json")).unwrap()).unwrap();
    for case in doc["cases"].as_array_mut().unwrap() {
        let case = case.as_object_mut().unwrap();
        for key in [
            "generation",
            "started_at_unix_ns",
            "finished_at_unix_ns",
            "load_started_at_unix_ns",
            "cpu_samples_ns",
        ] {
            case.remove(key);
        }
    }
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("results.json"), doc.to_string()).unwrap();
    let page = render_run(&RunFiles::load(dir.path()).unwrap());
    assert!(!page.contains("id=\"generation\""));
    assert_eq!(page.matches("<tr class=\"row-").count(), 12, "every case");
}

/// A long-tailed latency sample: a level with noise and a spike every 97th.
fn samples(seed: u64, n: usize) -> Vec<u64> {
    let mut state = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    (0..n)
        .map(|i| {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            let noise = (state >> 33) % 200_000;
            1_000_000 + noise + if i % 97 == 0 { 3_000_000 } else { 0 }
        })
        .collect()
}

#[test]
fn a_page_of_50_cases_with_10000_samples_each_stays_under_2_mb() {
    let doc: RunDocument =
        serde_json::from_slice(&std::fs::read(fixture().join("results.json")).unwrap()).unwrap();
    let template = doc.cases[0].clone();
    let mut big = doc.clone();
    big.cases = (0..50)
        .map(|i| {
            let mut case = template.clone();
            case.case.id = format!("{}/copy{i}", template.case.id);
            case.samples_ns = samples(i, 10_000);
            let ms: Vec<f64> = case.samples_ns.iter().map(|&ns| ns as f64 * 1e-6).collect();
            case.latency_ms = Summary::of(&ms);
            case.iterations = ms.len();
            case
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    crate::results::json::write(&dir.path().join("results.json"), &big).unwrap();
    let json_size = std::fs::metadata(dir.path().join("results.json"))
        .unwrap()
        .len();
    let page = render_run(&RunFiles::load(dir.path()).unwrap());
    assert!(page.len() < 2 << 20, "{} bytes", page.len());
    // The samples stayed in results.json: the page is a fraction of it.
    assert!(
        (page.len() as u64) < json_size / 4,
        "{} of {json_size}",
        page.len()
    );
    assert_eq!(page.matches("<tr class=\"row-").count(), 50);
}

#[test]
fn the_page_of_a_fixed_comparison() {
    use crate::gate::comparison::tests::{record, samples, side};
    let comparison = crate::gate::report::fixture::comparison();
    // The sides' samples, for the regressed case's distributions.
    let id = &comparison.cases[0].id;
    let base = side("base", vec![record(id, samples(1.0))]);
    let candidate = side("candidate", vec![record(id, samples(1.05))]);
    let page = super::render_comparison(&comparison, &base, &candidate);
    insta::assert_snapshot!(outline(&page));
}

#[test]
fn the_page_of_a_fixed_history() {
    use crate::gate::settings::GateSettings;
    use crate::history::edivisive::EDivisive;
    use crate::history::{analyze_all, store::tests::entry};
    // Case a slows down by 20% at run 9; case b stays.
    let entries: Vec<_> = (0..16)
        .flat_map(|run| {
            let p50 = if run < 9 { 1.0 } else { 1.2 } + (run % 3) as f64 * 0.005;
            [entry(run, "a", p50), entry(run, "b", 2.0)]
        })
        .collect();
    let found = analyze_all(&entries, &EDivisive::default(), &GateSettings::default());
    let page = super::render_history("history.jsonl", &entries, &found);
    insta::assert_snapshot!(outline(&page));
}

#[test]
fn a_run_folder_before_its_first_case_renders() {
    // `inferbench run` writes results.json before the first case ends; a
    // report of an interrupted run starts from such a file.
    let mut doc: RunDocument =
        serde_json::from_slice(&std::fs::read(fixture().join("results.json")).unwrap()).unwrap();
    doc.cases.clear();
    doc.finished_at = None;
    let dir = tempfile::tempdir().unwrap();
    crate::results::json::write(&dir.path().join("results.json"), &doc).unwrap();
    let page = render_run(&RunFiles::load(dir.path()).unwrap());
    assert!(page.contains("0 cases"), "{page}");
    assert!(page.contains("not finished (interrupted run)"));
    assert!(!page.contains("<svg"), "nothing to draw");
}
