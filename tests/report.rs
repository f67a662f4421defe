//! The HTML reports in a real browser: the real binary runs a small real
//! scenario, and headless Chromium (driven over the DevTools protocol)
//! loads `report.html`, the comparison page and the history page. The
//! rendered DOM must hold one summary row per case and only SVGs that
//! parsed and drew something; the console must stay free of errors and the
//! page must not ask the network for anything. Screenshots go to a
//! temporary folder (set INFERBENCH_KEEP_SCREENSHOTS=DIR to keep them).

mod support;

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use predicates::str::contains;
use serde_json::Value;
use support::chromium::Browser;

fn scenario(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../tests/scenarios/{name}.toml"))
}

fn inferbench(dir: &Path) -> Command {
    let mut cmd = Command::cargo_bin("inferbench").unwrap();
    cmd.env("INFERBENCH_CACHE_DIR", dir.join("cache"))
        .current_dir(dir);
    cmd
}

/// Runs `name` into `dir/out` and returns the run folder. Exit 1 (a case
/// failed its limits, e.g. a rate that misses its target on a busy
/// machine) still leaves a complete folder.
fn run(dir: &Path, name: &str, out: &str, extra: &[&str]) -> PathBuf {
    let output = inferbench(dir)
        .args(["run", scenario(name).to_str().unwrap(), "--out", out])
        .args(extra)
        .output()
        .unwrap();
    assert!(
        matches!(output.status.code(), Some(0 | 1)),
        "run {name}: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    support::newest_run(&dir.join(out))
}

/// Where screenshots go: a kept folder when asked for, else `tmp`.
fn screenshot_dir(tmp: &Path) -> PathBuf {
    std::env::var_os("INFERBENCH_KEEP_SCREENSHOTS")
        .map_or_else(|| tmp.join("screenshots"), PathBuf::from)
}

/// Every SVG element: parsed as SVG (also when re-parsed on its own as an
/// XML document) and with at least one drawn element of non-zero size.
const SVG_CHECK: &str = r#"Array.from(document.querySelectorAll('svg')).map((svg, i) => {
  const xml = new DOMParser().parseFromString(svg.outerHTML, 'image/svg+xml');
  const parsed = svg instanceof SVGSVGElement && !xml.querySelector('parsererror');
  const drawn = Array.from(svg.querySelectorAll('path,rect,circle,line,polyline,polygon,text'))
    .filter(e => { const b = e.getBBox(); return b.width > 0 || b.height > 0; }).length;
  return { i, label: svg.getAttribute('aria-label') || svg.getAttribute('class'), parsed, drawn };
}).filter(s => !s.parsed || s.drawn === 0)"#;

/// What is wrong with a loaded page, by kind.
#[derive(Debug, Default)]
struct Problems {
    svgs: Vec<Value>,
    console: Vec<String>,
    requests: Vec<String>,
}

/// Loads `page` and collects what no report page may have.
fn problems(browser: &mut Browser, page: &Path) -> Problems {
    let url = browser.open(page);
    let svgs = browser
        .eval(SVG_CHECK)
        .as_array()
        .cloned()
        .unwrap_or_default();
    let console = browser
        .events
        .iter()
        .filter(|e| {
            (e["method"] == "Runtime.consoleAPICalled" && e["params"]["type"] == "error")
                || e["method"] == "Runtime.exceptionThrown"
                || (e["method"] == "Log.entryAdded" && e["params"]["entry"]["level"] == "error")
        })
        .map(|e| e.to_string())
        .collect();
    let requests = browser
        .events_of("Network.requestWillBeSent")
        .iter()
        .map(|e| {
            e["params"]["request"]["url"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .filter(|u| u != &url)
        .collect();
    Problems {
        svgs,
        console,
        requests,
    }
}

/// Loads `page`, asserts it has SVGs and no problems, and writes its
/// screenshot to `shot`; returns the number of SVGs.
fn check_page(browser: &mut Browser, page: &Path, shot: &Path) -> u64 {
    let found = problems(browser, page);
    assert!(
        found.svgs.is_empty() && found.console.is_empty() && found.requests.is_empty(),
        "{}: {found:#?}",
        page.display()
    );
    let svgs = browser
        .eval("document.querySelectorAll('svg').length")
        .as_u64()
        .unwrap();
    assert!(svgs > 0, "{}: no SVG at all", page.display());
    // Charts are named for screen readers; legends' keys are hidden from them.
    let unnamed = browser.eval(
        "Array.from(document.querySelectorAll('svg')).filter(s => s.getAttribute('aria-hidden') !== 'true' \
         && !(s.getAttribute('role') === 'img' && s.getAttribute('aria-label') && s.querySelector('title'))).length",
    );
    assert_eq!(
        unnamed.as_u64(),
        Some(0),
        "{}: SVGs without a name",
        page.display()
    );
    let png = browser.screenshot(1280, None);
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "a PNG screenshot");
    fs::create_dir_all(shot.parent().unwrap()).unwrap();
    fs::write(shot, png).unwrap();
    svgs
}

#[test]
fn the_checks_catch_a_broken_page() {
    // A console error, a request to the network and an SVG that draws
    // nothing: each must be reported (the checks can fail).
    let tmp = tempfile::tempdir().unwrap();
    let page = tmp.path().join("broken.html");
    fs::write(
        &page,
        "<!DOCTYPE html><html><head><link rel=\"icon\" href=\"data:,\"></head><body>\
         <svg width=\"10\" height=\"10\"></svg><img src=\"http://127.0.0.1:9/x.png\">\
         <script>console.error('broken')</script></body></html>",
    )
    .unwrap();
    let mut browser = Browser::start();
    let found = problems(&mut browser, &page);
    assert_eq!(found.svgs.len(), 1, "{found:#?}");
    assert!(!found.console.is_empty(), "{found:#?}");
    assert_eq!(
        found.requests,
        vec!["http://127.0.0.1:9/x.png"],
        "{found:#?}"
    );
}

#[test]
fn a_real_run_writes_a_report_that_renders_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = run(tmp.path(), "report", "runs", &["--no-history"]);
    let page = dir.join("report.html");
    let results: Value =
        serde_json::from_str(&fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    let cases = results["cases"].as_array().unwrap().len() as u64;
    let mut browser = Browser::start();
    let svgs = check_page(
        &mut browser,
        &page,
        &screenshot_dir(tmp.path()).join("run.png"),
    );
    // Per measured case a distribution and a series, plus the study's figures.
    assert!(svgs >= cases, "{svgs} SVGs for {cases} cases");
    let rows = browser.eval("document.querySelectorAll('#summary-table tbody tr').length");
    assert_eq!(rows.as_u64(), Some(cases), "one summary row per case");
    let skipped = browser.eval(
        "Array.from(document.querySelectorAll('#summary-table tr.row-skipped td.reason')).every(td => td.textContent.length > 0)",
    );
    assert_eq!(
        skipped,
        Value::Bool(true),
        "every skipped row shows its reason"
    );
    for section in ["identity", "summary", "precision", "generation", "details"] {
        let found = browser.eval(&format!("!!document.getElementById('{section}')"));
        assert_eq!(found, Value::Bool(true), "section #{section}");
    }
    // The print stylesheet: no navigation, no sort buttons' arrows.
    browser.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "print" }),
    );
    let nav = browser.eval("getComputedStyle(document.querySelector('nav')).display");
    assert_eq!(nav.as_str(), Some("none"), "print hides the navigation");
    browser.call(
        "Emulation.setEmulatedMedia",
        serde_json::json!({ "media": "" }),
    );
    // Sorting by p50 puts the measured cases first, fastest first.
    let order = browser.eval(
        "document.querySelectorAll('#summary-table th button')[2].click();\
         Array.from(document.querySelectorAll('#summary-table tbody tr')).map(r => r.cells[2].dataset.sort)",
    );
    let values: Vec<&str> = order
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let numbers: Vec<f64> = values
        .iter()
        .take_while(|v| !v.is_empty())
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[0] <= w[1]),
        "sorted: {values:?}"
    );
    assert!(
        values[numbers.len()..].iter().all(|v| v.is_empty()),
        "blanks last: {values:?}"
    );
}

#[test]
fn comparison_and_history_pages_render_in_chromium() {
    let tmp = tempfile::tempdir().unwrap();
    let history = tmp.path().join("history.jsonl");
    let history = history.to_str().unwrap();
    let base = run(tmp.path(), "tiny", "base", &["--history", history]);
    let candidate = run(
        tmp.path(),
        "tiny",
        "candidate",
        &["--history", history, "--inject-slowdown", "40"],
    );
    let output = inferbench(tmp.path())
        .args([
            "compare",
            base.to_str().unwrap(),
            candidate.to_str().unwrap(),
        ])
        .args(["--html", "out/gate.html"])
        .output()
        .unwrap();
    assert!(matches!(output.status.code(), Some(0 | 1)), "{output:?}");
    inferbench(tmp.path())
        .args(["history", "--file", history, "--html", "out/history.html"])
        .assert()
        .success();
    let shots = screenshot_dir(tmp.path());
    let mut browser = Browser::start();
    check_page(
        &mut browser,
        &tmp.path().join("out/gate.html"),
        &shots.join("gate.png"),
    );
    let banner = browser.eval("document.querySelector('.banner').textContent");
    let banner = banner.as_str().unwrap();
    assert!(
        ["Regressed", "Improved", "No change"]
            .iter()
            .any(|v| banner.contains(v)),
        "{banner}"
    );
    let forest = browser.eval("!!document.querySelector('#forest svg')");
    assert_eq!(forest, Value::Bool(true), "the forest plot");
    let mut browser = Browser::start();
    check_page(
        &mut browser,
        &tmp.path().join("out/history.html"),
        &shots.join("history.png"),
    );
}

#[test]
fn report_of_a_folder_without_results_names_it() {
    let tmp = tempfile::tempdir().unwrap();
    inferbench(tmp.path())
        .args(["report", "."])
        .assert()
        .code(2)
        .stderr(contains("not a run folder (no results.json)"));
}
