//! The backend × precision study: accuracy lost against speed gained with
//! the Pareto front (the points of `plots::pareto_points`), and
//! tokens/s per backend and precision for each shape of case.

use std::collections::BTreeMap;

use crate::plots::{ERROR_FLOOR, ParetoPoint, pareto_front, pareto_points};
use crate::report::charts::{HEIGHT, WIDTH, bars};
use crate::report::svg::{Plot, Scale};
use crate::results::{CaseResult, Status};

fn pareto(points: &[ParetoPoint]) -> String {
    let y = |p: &ParetoPoint| p.error.max(ERROR_FLOOR);
    let (lo, hi) = points
        .iter()
        .map(|p| p.speedup)
        .fold((1.0f64, 1.0f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    // Room on the right for the last point's label.
    let x = Scale::linear(lo * 0.9, hi * 1.2);
    let lo = points.iter().map(y).fold(f64::INFINITY, f64::min);
    let hi = points.iter().map(y).fold(1e-6, f64::max);
    let mut plot = Plot::new(
        "Accuracy loss against speed-up per backend and precision",
        WIDTH,
        HEIGHT + 60.0,
        x,
        Scale::log(lo, hi),
    )
    .titles(
        "speed-up vs the same backend's f32 (median latency)",
        "relative L2 error vs f64 reference",
    );
    let front: Vec<(f64, f64)> = pareto_front(points)
        .into_iter()
        .map(|i| (points[i].speedup, y(&points[i])))
        .collect();
    plot.line(&front, "series front", "Pareto front");
    plot.legend(
        "series front",
        "Pareto front (no other point is both faster and more accurate)",
    );
    let mut backends: Vec<&str> = points.iter().map(|p| p.backend.as_str()).collect();
    backends.sort();
    backends.dedup();
    for (i, backend) in backends.iter().enumerate() {
        let class = format!("pt s{}", i % 6);
        for p in points.iter().filter(|p| p.backend == *backend) {
            let name = format!("{backend} {}", p.precision);
            let tip = format!("{name}: ×{:.2} speed-up, rel L2 {:.1e}", p.speedup, p.error);
            plot.point((p.speedup, y(p)), &class, i % 2 == 1, &tip);
            plot.text((p.speedup, y(p)), "point-label", &name);
        }
        plot.legend(&format!("series s{}", i % 6), backend);
    }
    plot.finish("Each point is labelled with its backend and precision; up and left is worse")
}

/// Cases of the same shape differ only by backend and precision.
fn shape(r: &CaseResult) -> String {
    let c = &r.case;
    let load = c
        .generation
        .as_ref()
        .map_or_else(String::new, |g| format!(", {}", g.pattern.as_str()));
    format!(
        "{} on {}, batch {}, {} tokens, {} threads{load}",
        c.model.name, c.device, c.batch, c.seq_len, c.threads
    )
}

pub fn render(cases: &[CaseResult]) -> Option<String> {
    let measured: Vec<&CaseResult> = cases
        .iter()
        .filter(|r| matches!(r.status, Status::Measured | Status::Failed))
        .collect();
    let mut kinds: Vec<(String, String)> = measured
        .iter()
        .map(|r| (r.case.backend.to_string(), r.case.precision.to_string()))
        .collect();
    kinds.sort();
    kinds.dedup();
    if kinds.len() < 2 {
        return None;
    }
    let mut out = String::new();
    let points = pareto_points(cases);
    if points
        .iter()
        .any(|p| p.precision != inferbench_backend::Precision::F32)
    {
        out.push_str(&pareto(&points));
    }
    let mut groups: BTreeMap<String, Vec<(String, f64)>> = BTreeMap::new();
    for r in &measured {
        if let Some(t) = r.throughput_tokens_per_s {
            // Generation cases of one shape differ by their load too
            // (the id's last part: `server@50rps`, `concurrency2`, ...).
            let load = r
                .case
                .generation
                .as_ref()
                .and_then(|_| r.case.id.rsplit('/').next());
            let name = format!(
                "{} {} {}",
                r.case.backend,
                r.case.precision,
                load.unwrap_or("")
            );
            let name = name.trim_end().to_string();
            groups.entry(shape(r)).or_default().push((name, t));
        }
    }
    for (shape, rows) in &groups {
        out.push_str(&bars(&format!("Tokens/s: {shape}"), rows, "tok/s")?);
    }
    Some(out)
}
