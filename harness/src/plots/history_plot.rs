//! One case's history of a metric: the values run after run, vertical
//! lines where a change point begins (labelled with its commit), and the
//! baseline band — the range the gate accepts around the baseline's value.

use plotters::coord::Shift;
use plotters::coord::types::RangedCoordf64;
use plotters::prelude::*;

use super::{Figure, text};
use crate::history::{ChangePoint, Series};

pub struct HistoryPlot<'a> {
    pub series: &'a Series<'a>,
    pub change_points: Vec<&'a ChangePoint>,
    /// (low, high) the gate accepts, from the baseline and the threshold.
    pub band: Option<(f64, f64)>,
}

impl Figure for HistoryPlot<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let values = self.series.values();
        let n = values.len().max(1);
        let (lo, hi) = self.y_range(&values);
        let metric = self.series.metric;
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("{} — {}", self.series.case, metric),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(70)
            .build_cartesian_2d(-0.5..(n as f64 - 0.5), lo..hi)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc("run (oldest first)")
            .y_desc(format!("{} ({})", metric.label(), metric.unit()))
            .draw()
            .map_err(text)?;
        if let Some((bl, bh)) = self.band {
            chart
                .draw_series(std::iter::once(Rectangle::new(
                    [(-0.5, bl), (n as f64 - 0.5, bh)],
                    RGBColor(40, 90, 200).mix(0.15).filled(),
                )))
                .map_err(text)?
                .label("baseline ± threshold")
                .legend(|(x, y)| {
                    Rectangle::new(
                        [(x, y - 5), (x + 20, y + 5)],
                        RGBColor(40, 90, 200).mix(0.3).filled(),
                    )
                });
        }
        let line = RGBColor(30, 30, 30);
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                line.stroke_width(2),
            ))
            .map_err(text)?
            .label(metric.as_str())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], line));
        chart
            .draw_series(
                values
                    .iter()
                    .enumerate()
                    .map(|(i, v)| Circle::new((i as f64, *v), 3, line.filled())),
            )
            .map_err(text)?;
        self.draw_change_points(&mut chart, (lo, hi))?;
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(text)?;
        Ok(())
    }
}

type Chart<'a, DB> = ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>;

impl HistoryPlot<'_> {
    /// The y axis: every value and the band, with a margin.
    fn y_range(&self, values: &[f64]) -> (f64, f64) {
        let (mut lo, mut hi) = values
            .iter()
            .fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), &v| {
                (l.min(v), h.max(v))
            });
        if let Some((bl, bh)) = self.band {
            lo = lo.min(bl);
            hi = hi.max(bh);
        }
        if !lo.is_finite() {
            (lo, hi) = (0.0, 1.0);
        }
        let pad = ((hi - lo) * 0.1).max(hi.abs() * 0.01).max(1e-9);
        (lo - pad, hi + pad)
    }

    /// A red line where each change point begins, labelled with its
    /// commit and change.
    fn draw_change_points<DB: DrawingBackend>(
        &self,
        chart: &mut Chart<'_, DB>,
        (lo, hi): (f64, f64),
    ) -> Result<(), String> {
        let red = RGBColor(200, 30, 30);
        for cp in &self.change_points {
            let x = cp.index as f64 - 0.5;
            chart
                .draw_series(std::iter::once(PathElement::new(
                    vec![(x, lo), (x, hi)],
                    red.stroke_width(2),
                )))
                .map_err(text)?;
            let commit = cp
                .git_commit
                .as_deref()
                .map_or("?", |c| &c[..c.len().min(8)]);
            // Just below the top, inside the margin above the highest value.
            let y = hi - (hi - lo) * 0.05;
            chart
                .draw_series(std::iter::once(Text::new(
                    format!("{commit} {:+.1}%", cp.change),
                    (x + 0.1, y),
                    ("sans-serif", 14).into_font().color(&red),
                )))
                .map_err(text)?;
        }
        Ok(())
    }
}

/// Writes `<case>-<metric>-history.{png,svg}` into `dir`.
pub fn history_plot(dir: &std::path::Path, plot: &HistoryPlot) -> Result<usize, super::PlotError> {
    let stem = format!(
        "{}-{}-history",
        super::slug(&plot.series.case),
        plot.series.metric
    );
    super::png_and_svg(dir, &stem, plot)
}
