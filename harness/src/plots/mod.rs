//! Plots of runs and of the gate (plotters), each written as PNG and SVG:
//! - per comparison, every case's change with its interval and threshold;
//! - per case, the latency distribution (empirical CDF) of both sides;
//! - per case, the history of a metric with its change points and the
//!   baseline band;
//! - per run comparing precisions, accuracy loss against speed-up with
//!   the Pareto front.

mod comparison_plot;
mod distribution_plot;
mod font;
mod history_plot;
mod pareto_plot;

use std::path::{Path, PathBuf};

use plotters::coord::Shift;
use plotters::prelude::*;

pub use comparison_plot::comparison_plots;
pub use history_plot::{HistoryPlot, history_plot};
pub use pareto_plot::{ERROR_FLOOR, ParetoPoint, pareto_front, pareto_points, write_pareto};

#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    #[error("{0}")]
    Font(String),
    #[error("cannot create {}", path.display())]
    Folder {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("drawing {}: {message}", path.display())]
    Draw { path: PathBuf, message: String },
}

pub const SIZE: (u32, u32) = (960, 540);

/// A file-name-safe form of a case id (`/` and other marks become `_`).
pub fn slug(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// A picture that can be drawn on any plotters backend.
pub trait Figure {
    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), String>;
}

/// Draws `figure` into `<dir>/<stem>.png` and `<dir>/<stem>.svg`; returns
/// the number of files written.
pub fn png_and_svg(dir: &Path, stem: &str, figure: &impl Figure) -> Result<usize, PlotError> {
    font::ensure_font().map_err(PlotError::Font)?;
    std::fs::create_dir_all(dir).map_err(|source| PlotError::Folder {
        path: dir.to_path_buf(),
        source,
    })?;
    let failed = |path: &Path, message: String| PlotError::Draw {
        path: path.to_path_buf(),
        message,
    };
    let png = dir.join(format!("{stem}.png"));
    {
        let root = BitMapBackend::new(&png, SIZE).into_drawing_area();
        figure.draw(&root).map_err(|m| failed(&png, m))?;
        root.present().map_err(|e| failed(&png, e.to_string()))?;
    }
    let svg = dir.join(format!("{stem}.svg"));
    {
        let root = SVGBackend::new(&svg, SIZE).into_drawing_area();
        figure.draw(&root).map_err(|m| failed(&svg, m))?;
        root.present().map_err(|e| failed(&svg, e.to_string()))?;
    }
    Ok(2)
}

/// plotters' errors carry the backend type; the message is what matters.
pub(crate) fn text<E: std::fmt::Display>(e: E) -> String {
    e.to_string()
}

/// Colors by verdict: red regressed, green improved, grey otherwise.
pub(crate) fn verdict_color(v: crate::gate::verdict::Verdict) -> RGBColor {
    match v {
        crate::gate::verdict::Verdict::Regressed => RGBColor(200, 30, 30),
        crate::gate::verdict::Verdict::Improved => RGBColor(20, 140, 60),
        crate::gate::verdict::Verdict::Unchanged => RGBColor(90, 90, 90),
        crate::gate::verdict::Verdict::Inconclusive => RGBColor(200, 140, 0),
    }
}
