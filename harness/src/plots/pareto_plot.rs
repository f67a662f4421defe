//! Accuracy lost against speed gained, per backend and precision, with the
//! Pareto front marked: the quantization study's summary picture. Speed-up
//! is each case's median latency relative to the same backend's f32 case of
//! the same shape (model, device, batch, tokens, threads); accuracy loss is
//! the relative L2 error of the logits against the f64 reference.

use std::path::Path;

use inferbench_backend::Precision;
use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, PlotError, png_and_svg, text};
use crate::results::{CaseResult, Status};

#[derive(Debug, Clone, PartialEq)]
pub struct ParetoPoint {
    pub backend: String,
    pub precision: Precision,
    /// p50(f32) / p50(this case), same backend and shape.
    pub speedup: f64,
    /// Relative L2 error against the reference.
    pub error: f64,
}

fn same_shape(a: &CaseResult, b: &CaseResult) -> bool {
    let (a, b) = (&a.case, &b.case);
    a.backend == b.backend
        && a.model == b.model
        && a.device == b.device
        && a.batch == b.batch
        && a.seq_len == b.seq_len
        && a.threads == b.threads
        && a.generation == b.generation
}

/// Points of every measured (or accuracy-failed) case that has an f32
/// counterpart to be compared with.
pub fn pareto_points(results: &[CaseResult]) -> Vec<ParetoPoint> {
    let usable = |r: &&CaseResult| matches!(r.status, Status::Measured | Status::Failed);
    results
        .iter()
        .filter(usable)
        .filter_map(|r| {
            let base = results
                .iter()
                .filter(usable)
                .find(|b| b.case.precision == Precision::F32 && same_shape(b, r))?;
            Some(ParetoPoint {
                backend: r.case.backend.to_string(),
                precision: r.case.precision,
                speedup: base.latency_ms?.p50 / r.latency_ms?.p50,
                error: r.accuracy?.rel_l2,
            })
        })
        .collect()
}

/// Indices of the points no other point beats on both axes (at least as
/// fast and at least as accurate, and strictly better on one), sorted by
/// speed-up.
pub fn pareto_front(points: &[ParetoPoint]) -> Vec<usize> {
    let dominated = |p: &ParetoPoint| {
        points.iter().any(|q| {
            q.speedup >= p.speedup
                && q.error <= p.error
                && (q.speedup > p.speedup || q.error < p.error)
        })
    };
    let mut front: Vec<usize> = (0..points.len())
        .filter(|&i| !dominated(&points[i]))
        .collect();
    front.sort_by(|&a, &b| points[a].speedup.total_cmp(&points[b].speedup));
    front
}

/// Errors below this are drawn at it: f32 against f64 is ~1e-7, and a log
/// axis needs a floor.
pub const ERROR_FLOOR: f64 = 1e-9;

struct Pareto {
    points: Vec<ParetoPoint>,
    front: Vec<usize>,
    title: String,
}

const PALETTE: [RGBColor; 4] = [
    RGBColor(31, 119, 180),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

impl Figure for Pareto {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let y = |p: &ParetoPoint| p.error.max(ERROR_FLOOR);
        let max_x = self.points.iter().map(|p| p.speedup).fold(1.0, f64::max) * 1.15;
        let min_x = self.points.iter().map(|p| p.speedup).fold(1.0, f64::min) * 0.85;
        let max_y = self.points.iter().map(y).fold(1e-6, f64::max) * 3.0;
        let mut chart = ChartBuilder::on(root)
            .caption(&self.title, ("sans-serif", 20))
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(min_x..max_x, (ERROR_FLOOR..max_y).log_scale())
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("speed-up vs the same backend's f32 (median latency)")
            .y_desc("relative L2 error vs f64 reference")
            .y_label_formatter(&|v| format!("{v:.0e}"))
            .draw()
            .map_err(text)?;
        let front: Vec<(f64, f64)> = self
            .front
            .iter()
            .map(|&i| (self.points[i].speedup, y(&self.points[i])))
            .collect();
        chart
            .draw_series(LineSeries::new(front, BLACK.stroke_width(2)))
            .map_err(text)?
            .label("Pareto front")
            .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLACK.stroke_width(2)));
        let mut backends: Vec<&str> = self.points.iter().map(|p| p.backend.as_str()).collect();
        backends.dedup();
        backends.sort();
        backends.dedup();
        for (i, backend) in backends.iter().enumerate() {
            let color = PALETTE[i % PALETTE.len()];
            let mine: Vec<&ParetoPoint> = self
                .points
                .iter()
                .filter(|p| p.backend == *backend)
                .collect();
            chart
                .draw_series(
                    mine.iter()
                        .map(|p| Circle::new((p.speedup, y(p)), 6, color.filled())),
                )
                .map_err(text)?
                .label(*backend)
                .legend(move |(x, y)| Circle::new((x + 10, y), 5, color.filled()));
            chart
                .draw_series(mine.iter().map(|p| {
                    Text::new(
                        format!(" {}", p.precision),
                        (p.speedup, y(p)),
                        ("sans-serif", 14).into_font(),
                    )
                }))
                .map_err(text)?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(text)?;
        Ok(())
    }
}

/// Writes `pareto.png` and `pareto.svg` into `dir` when the run compared at
/// least two precisions of a backend; returns the number of files written.
pub fn write_pareto(
    dir: &Path,
    results: &[CaseResult],
    scenario: &str,
) -> Result<usize, PlotError> {
    let points = pareto_points(results);
    if points.iter().all(|p| p.precision == Precision::F32) {
        return Ok(0);
    }
    let front = pareto_front(&points);
    let figure = Pareto {
        points,
        front,
        title: format!("{scenario}: accuracy loss against speed-up"),
    };
    png_and_svg(dir, "pareto", &figure)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(backend: &str, speedup: f64, error: f64) -> ParetoPoint {
        ParetoPoint {
            backend: backend.into(),
            precision: Precision::F32,
            speedup,
            error,
        }
    }

    #[test]
    fn front_by_hand() {
        // (1, 1e-7) f32, (1.5, 1e-3) good, (1.2, 1e-2) dominated by the
        // previous, (2.0, 1e-1) fastest, (0.5, 1e-3) dominated.
        let points = [
            p("a", 1.0, 1e-7),
            p("a", 1.5, 1e-3),
            p("b", 1.2, 1e-2),
            p("b", 2.0, 1e-1),
            p("b", 0.5, 1e-3),
        ];
        assert_eq!(pareto_front(&points), vec![0, 1, 3]);
        // A tie on both axes dominates neither.
        assert_eq!(
            pareto_front(&[p("a", 1.0, 1.0), p("b", 1.0, 1.0)]),
            vec![0, 1]
        );
    }
}
