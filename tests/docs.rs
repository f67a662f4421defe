//! The book: its reference pages are generated from the code and from the
//! binary's `--help`, every page and relative link points at a file that
//! exists, and `mdbook build` takes it without an error or warning.
//! `INFERBENCH_BLESS=1 cargo test --test docs` rewrites the generated pages.

#[allow(dead_code)] // the docs test reads only mdBook's version
#[path = "support/pinned.rs"]
mod pinned;

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn blessing() -> bool {
    std::env::var_os("INFERBENCH_BLESS").is_some()
}

/// Writes the pages when blessing; else returns the paths of stale ones.
fn check_pages(pages: Vec<(String, String)>) -> Vec<String> {
    let dir = root().join("docs/src/reference");
    let mut stale = Vec::new();
    for (name, text) in pages {
        let path = dir.join(name);
        if blessing() {
            std::fs::write(&path, &text).unwrap();
        } else if std::fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            stale.push(path.display().to_string());
        }
    }
    stale
}

#[test]
fn reference_pages_are_current() {
    let pages = inferbench::reference_docs::pages()
        .into_iter()
        .map(|(name, text)| (name.to_string(), text))
        .collect();
    let stale = check_pages(pages);
    assert!(
        stale.is_empty(),
        "stale reference pages (run `INFERBENCH_BLESS=1 cargo test --test docs`): {stale:?}"
    );
}

/// `inferbench ARGS --help`, as the binary prints it.
fn help(args: &[&str]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_inferbench"))
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "inferbench {args:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommands a help text lists under `Commands:`, `help` left out.
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Commands:")
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// The CLI page: every (sub)command's `--help`, depth first.
fn cli_page() -> String {
    let mut out = String::from(
        "# Command line\n\n<!-- Generated from the binary's `--help` by `tests/docs.rs`; \
         `INFERBENCH_BLESS=1 cargo test --test docs` rewrites it. -->\n",
    );
    let mut queue: Vec<Vec<String>> = vec![vec![]];
    while let Some(path) = queue.pop() {
        let args: Vec<&str> = path.iter().map(String::as_str).collect();
        let text = help(&args);
        let title = std::iter::once("inferbench")
            .chain(args.iter().copied())
            .collect::<Vec<_>>()
            .join(" ");
        // clap indents blank lines; the page keeps no trailing spaces.
        let lines: Vec<&str> = text.trim_end().lines().map(str::trim_end).collect();
        out.push_str(&format!(
            "\n## `{title}`\n\n```text\n{}\n```\n",
            lines.join("\n")
        ));
        for name in subcommands(&text).into_iter().rev() {
            let mut sub = path.clone();
            sub.push(name);
            queue.push(sub);
        }
    }
    out
}

#[test]
fn cli_page_is_current() {
    let stale = check_pages(vec![("cli.md".into(), cli_page())]);
    assert!(
        stale.is_empty(),
        "stale CLI page (run `INFERBENCH_BLESS=1 cargo test --test docs`): {stale:?}"
    );
}

/// The targets of the Markdown links and images in `text`, outside code.
fn link_targets(text: &str) -> Vec<String> {
    let mut targets = Vec::new();
    let mut in_fence = false;
    for line in text.lines() {
        if line.trim_start().starts_with("```") {
            in_fence = !in_fence;
            continue;
        }
        if in_fence {
            continue;
        }
        // Inline code spans are the odd-numbered pieces between backticks.
        let prose: String = line.split('`').step_by(2).collect::<Vec<_>>().join(" ");
        let mut rest = prose.as_str();
        while let Some(start) = rest.find("](") {
            rest = &rest[start + 2..];
            let end = rest.find(')').unwrap_or(rest.len());
            targets.push(rest[..end].trim().to_string());
            rest = &rest[end..];
        }
    }
    targets
}

/// Relative links of `file` whose target file does not exist.
fn broken_links(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap();
    let dir = file.parent().unwrap();
    link_targets(&text)
        .into_iter()
        .filter(|t| !t.contains("://") && !t.starts_with("mailto:") && !t.starts_with('#'))
        .filter(|t| {
            let path = t.split('#').next().unwrap_or(t);
            !dir.join(path).exists()
        })
        .map(|t| format!("{}: {t}", file.display()))
        .collect()
}

fn markdown_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            markdown_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "md") {
            out.push(path);
        }
    }
}

#[test]
fn summary_pages_and_relative_links_exist() {
    let src = root().join("docs/src");
    let summary = std::fs::read_to_string(src.join("SUMMARY.md")).unwrap();
    let pages = link_targets(&summary);
    assert!(
        pages.len() > 10,
        "SUMMARY.md lists too few pages: {pages:?}"
    );
    let missing: Vec<&String> = pages.iter().filter(|p| !src.join(p).is_file()).collect();
    assert!(
        missing.is_empty(),
        "SUMMARY.md lists missing pages: {missing:?}"
    );

    let mut files = vec![root().join("README.md")];
    markdown_files(&src, &mut files);
    let broken: Vec<String> = files.iter().flat_map(|f| broken_links(f)).collect();
    assert!(
        broken.is_empty(),
        "links to missing files:\n{}",
        broken.join("\n")
    );
}

#[test]
fn link_targets_skip_code() {
    let text = "[a](x.md) `[b](y.md)` ![c](img/z.png#p)\n```\n[d](w.md)\n```\n";
    assert_eq!(link_targets(text), ["x.md", "img/z.png#p"]);
}

/// mdBook as `ci/setup.sh` installs it, else one on the PATH.
fn mdbook() -> Option<PathBuf> {
    let cache = std::env::var_os("INFERBENCH_CACHE")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/inferbench")))?;
    let pinned = cache.join(format!("mdbook-{}/bin/mdbook", pinned::mdbook_version()));
    if pinned.is_file() {
        return Some(pinned);
    }
    let on_path = Command::new("mdbook").arg("--version").output();
    on_path
        .is_ok_and(|o| o.status.success())
        .then(|| "mdbook".into())
}

#[test]
fn book_builds_without_warnings() {
    let Some(mdbook) = mdbook() else {
        assert!(
            std::env::var_os("INFERBENCH_REQUIRE_MDBOOK").is_none(),
            "mdbook is missing: run `bash ci/setup.sh`"
        );
        eprintln!(
            "SKIPPED: mdbook is missing (`bash ci/setup.sh` installs it); the book was not built"
        );
        return;
    };
    let dest = tempfile::tempdir().unwrap();
    let output = Command::new(&mdbook)
        .arg("build")
        .arg(root().join("docs"))
        .arg("--dest-dir")
        .arg(dest.path())
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "mdbook build failed:\n{log}");
    let complaints: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("WARN") || l.contains("ERROR"))
        .collect();
    assert!(complaints.is_empty(), "mdbook build warned:\n{log}");
    assert!(dest.path().join("guide/running.html").is_file());
}
