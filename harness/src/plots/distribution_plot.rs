//! Latency distribution of one case, base against candidate, as empirical
//! CDFs: the whole distribution at once, so a shift of the body and a
//! longer tail are told apart (a box plot hides bimodality).

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{Figure, text};

pub struct LatencyCdf<'a> {
    pub clock: &'a str,
    pub case: &'a str,
    pub base: &'a [f64],
    pub candidate: &'a [f64],
}

/// Points of the empirical CDF: (x sorted, i / n).
pub fn ecdf(samples: &[f64]) -> Vec<(f64, f64)> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len() as f64;
    sorted
        .into_iter()
        .enumerate()
        .map(|(i, x)| (x, (i + 1) as f64 / n))
        .collect()
}

impl Figure for LatencyCdf<'_> {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String> {
        root.fill(&WHITE).map_err(text)?;
        let (base, cand) = (ecdf(self.base), ecdf(self.candidate));
        // Up to the 99.5th percentile: the last few outliers would squash
        // the body of the distribution into one pixel column.
        let upper = |c: &[(f64, f64)]| {
            c.iter()
                .find(|(_, p)| *p >= 0.995)
                .or(c.last())
                .map_or(1.0, |(x, _)| *x)
        };
        let lower = |c: &[(f64, f64)]| c.first().map_or(0.0, |(x, _)| *x);
        let (lo, hi) = (
            lower(&base).min(lower(&cand)),
            upper(&base).max(upper(&cand)),
        );
        let pad = ((hi - lo) * 0.05).max(1e-6);
        let mut chart = ChartBuilder::on(root)
            .caption(
                format!("latency distribution — {}", self.case),
                ("sans-serif", 20),
            )
            .margin(15)
            .x_label_area_size(45)
            .y_label_area_size(60)
            .build_cartesian_2d((lo - pad)..(hi + pad), 0.0..1.0)
            .map_err(text)?;
        chart
            .configure_mesh()
            .x_desc(format!("{} time per forward pass (ms)", self.clock))
            .y_desc("fraction of iterations ≤ x")
            .draw()
            .map_err(text)?;
        for (points, color, label) in [
            (&base, RGBColor(40, 90, 200), "base"),
            (&cand, RGBColor(220, 110, 20), "candidate"),
        ] {
            chart
                .draw_series(LineSeries::new(
                    points.iter().copied(),
                    color.stroke_width(2),
                ))
                .map_err(text)?
                .label(format!("{label} (n = {})", points.len()))
                .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color));
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::LowerRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .draw()
            .map_err(text)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ecdf_by_hand() {
        assert_eq!(
            ecdf(&[3.0, 1.0, 2.0, 2.0]),
            vec![(1.0, 0.25), (2.0, 0.5), (2.0, 0.75), (3.0, 1.0)]
        );
    }
}
