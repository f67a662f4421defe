//! One section per case: what it was, then its latency distribution and
//! its per-iteration series (for generation cases, each request's
//! end-to-end latency, TTFT and TPOT).

use std::fmt::Write;

use crate::report::charts::{distribution, iterations};
use crate::report::format;
use crate::report::html::{breakable, escape, key_values};
use crate::report::run_page::{case_anchor, status_badge};
use crate::results::CaseResult;

fn ms(ns: &[u64]) -> Vec<f64> {
    ns.iter().map(|&v| v as f64 * 1e-6).collect()
}

fn facts(r: &CaseResult) -> String {
    let c = &r.case;
    let mut rows = vec![
        (
            "backend",
            format!(
                "{} ({})",
                c.backend,
                r.runtime_version.as_deref().unwrap_or("version unknown")
            ),
        ),
        (
            "precision, device",
            format!("{}, {}", c.precision, c.device),
        ),
        (
            "shape",
            format!(
                "batch {}, {} tokens, {} threads",
                c.batch, c.seq_len, c.threads
            ),
        ),
        (
            "model",
            c.model
                .file
                .as_ref()
                .map_or_else(|| c.model.name.clone(), |f| f.path.display().to_string()),
        ),
        (
            "iterations",
            format!(
                "{} measured after {} warm-up",
                r.iterations, r.warmup_iterations
            ),
        ),
        (
            "latency",
            format!(
                "p50 {}, p99 {}",
                format::ms(r.latency_ms.map(|l| l.p50)),
                format::ms(r.latency_ms.map(|l| l.p99))
            ),
        ),
        (
            "throughput",
            format!(
                "{}, {}{}",
                format::tokens_per_s(r.throughput_tokens_per_s),
                format::gflops(r.gflop_per_s),
                format::of_peak(r.peak_fraction)
            ),
        ),
        ("peak memory", format::mib(r.peak_rss_bytes)),
        ("load", format::ms(r.load_ms)),
    ];
    if let Some(a) = r.accuracy {
        rows.push((
            "accuracy",
            format!(
                "rel L2 {:.1e}, top1 {:.4}, KL {:.1e} nats",
                a.rel_l2, a.top1, a.kl
            ),
        ));
    }
    if let Some(g) = &r.generation {
        rows.push((
            "load pattern",
            format!(
                "{}, {} requests, {} errors, {} achieved",
                g.pattern.as_str(),
                g.requests,
                g.errors,
                format::rate(Some(g.achieved_rate))
            ),
        ));
    }
    key_values("What was measured", &rows)
}

fn figures(r: &CaseResult) -> String {
    let id = &r.case.id;
    let samples = ms(&r.samples_ns);
    let what = if r.generation.is_some() {
        "request latency, end to end"
    } else {
        "latency per forward pass"
    };
    let mut out: Vec<Option<String>> = vec![
        distribution(&format!("{id}: distribution of {what}"), &samples, "ms"),
        iterations(&format!("{id}: {what} per iteration"), &samples, "ms"),
    ];
    if let Some(g) = &r.generation {
        out.push(distribution(
            &format!("{id}: TTFT per request"),
            &ms(&g.ttft_samples_ns),
            "ms",
        ));
        out.push(distribution(
            &format!("{id}: TPOT per request"),
            &ms(&g.tpot_samples_ns),
            "ms",
        ));
    }
    let figures: String = out.into_iter().flatten().collect();
    if figures.is_empty() {
        "<p class=\"empty\">No samples: nothing was measured.</p>\n".into()
    } else {
        format!("<div class=\"figures\">{figures}</div>\n")
    }
}

pub fn render(cases: &[CaseResult]) -> String {
    let mut out = String::new();
    for (i, r) in cases.iter().enumerate() {
        let _ = writeln!(
            out,
            "<article class=\"case\" id=\"{}\"><h3>{} {}</h3>",
            case_anchor(i),
            breakable(&r.case.id),
            status_badge(r.status)
        );
        if let Some(m) = &r.message {
            let _ = writeln!(
                out,
                "<p class=\"reason\"><strong>{}:</strong> {}</p>",
                r.status.as_str(),
                escape(m)
            );
        }
        if r.iterations > 0 {
            out.push_str(&facts(r));
            out.push_str(&figures(r));
        } else {
            let c = &r.case;
            let _ = writeln!(
                out,
                "<p class=\"empty\">Nothing measured: {} {} on {}, batch {}, {} tokens.</p>",
                c.backend, c.precision, c.device, c.batch, c.seq_len
            );
        }
        out.push_str("</article>\n");
    }
    out
}
