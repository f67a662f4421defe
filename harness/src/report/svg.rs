//! Inline SVG charts: scales with readable ticks, and a plot builder that
//! draws axes, grid, marks and labels. Every figure carries `role="img"`, an
//! `aria-label` and a `<title>`, and every mark a tooltip; colours come
//! from the style sheet's classes, so print and screen can differ, and
//! series differ by dash and marker as well as colour.

use std::fmt::Write;

use super::format;
use super::html::escape;

/// How values map onto an axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ScaleKind {
    Linear,
    /// Base-10 logarithmic; values ≤ 0 are drawn at the lower bound.
    Log,
}

/// A data range mapped onto a pixel range.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    pub kind: ScaleKind,
    pub lo: f64,
    pub hi: f64,
    px_lo: f64,
    px_hi: f64,
}

impl Scale {
    /// A linear scale over `[lo, hi]`, widened when the range is empty.
    pub fn linear(lo: f64, hi: f64) -> Self {
        let (lo, hi) = if hi > lo {
            (lo, hi)
        } else {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            (lo - pad, hi + pad)
        };
        Self {
            kind: ScaleKind::Linear,
            lo,
            hi,
            px_lo: 0.0,
            px_hi: 1.0,
        }
    }

    /// A log scale over whole decades around `[lo, hi]` (both > 0).
    pub fn log(lo: f64, hi: f64) -> Self {
        let lo = 10f64.powf(lo.max(f64::MIN_POSITIVE).log10().floor());
        let hi = 10f64.powf(hi.max(lo * 10.0).log10().ceil());
        Self {
            kind: ScaleKind::Log,
            lo,
            hi,
            px_lo: 0.0,
            px_hi: 1.0,
        }
    }

    /// A linear scale over the values with some room around them.
    pub fn covering(values: impl Iterator<Item = f64>, from_zero: bool) -> Self {
        let (mut lo, mut hi) = (f64::INFINITY, f64::NEG_INFINITY);
        for v in values.filter(|v| v.is_finite()) {
            lo = lo.min(v);
            hi = hi.max(v);
        }
        if !lo.is_finite() {
            return Self::linear(0.0, 1.0);
        }
        if from_zero {
            lo = lo.min(0.0);
        }
        let pad = (hi - lo) * 0.05;
        Self::linear(if from_zero { lo } else { lo - pad }, hi + pad)
    }

    fn on(mut self, px_lo: f64, px_hi: f64) -> Self {
        self.px_lo = px_lo;
        self.px_hi = px_hi;
        self
    }

    /// The pixel position of `v`.
    pub fn px(&self, v: f64) -> f64 {
        let t = match self.kind {
            ScaleKind::Linear => (v - self.lo) / (self.hi - self.lo),
            ScaleKind::Log => {
                (v.max(self.lo).log10() - self.lo.log10()) / (self.hi.log10() - self.lo.log10())
            }
        };
        self.px_lo + t * (self.px_hi - self.px_lo)
    }

    /// Tick values and the step their labels are written with.
    pub fn ticks(&self) -> (Vec<f64>, f64) {
        match self.kind {
            ScaleKind::Linear => {
                let step = nice_step((self.hi - self.lo) / 5.0);
                let first = (self.lo / step).ceil() as i64;
                let last = (self.hi / step).floor() as i64;
                ((first..=last).map(|i| i as f64 * step).collect(), step)
            }
            ScaleKind::Log => {
                let (a, b) = (
                    self.lo.log10().round() as i32,
                    self.hi.log10().round() as i32,
                );
                ((a..=b).map(|e| 10f64.powi(e)).collect(), 0.0)
            }
        }
    }

    fn label(&self, v: f64, step: f64) -> String {
        match self.kind {
            ScaleKind::Linear => format::tick(v, step),
            ScaleKind::Log => format!("{v:.0e}"),
        }
    }
}

/// 1, 2 or 5 times a power of ten, at least `raw`.
fn nice_step(raw: f64) -> f64 {
    if raw.is_nan() || raw <= 0.0 || raw.is_infinite() {
        return 1.0;
    }
    let magnitude = 10f64.powf(raw.log10().floor());
    let fraction = raw / magnitude;
    let nice = if fraction <= 1.0 {
        1.0
    } else if fraction <= 2.0 {
        2.0
    } else if fraction <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * magnitude
}

/// Margins around the plotting area, pixels.
const LEFT: f64 = 72.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 14.0;
const BOTTOM: f64 = 44.0;

/// One chart being drawn: the plotting area, its two scales and the marks
/// so far.
pub struct Plot {
    label: String,
    width: f64,
    height: f64,
    pub x: Scale,
    pub y: Scale,
    x_title: String,
    y_title: String,
    marks: String,
    legend: Vec<(String, String)>,
    /// False for charts whose y positions are rows, not values.
    y_ticks: bool,
}

/// Pixels a label of `text` takes at the charts' 11 px font (an estimate;
/// the font is the reader's).
pub fn label_width(text: &str) -> f64 {
    text.chars().count() as f64 * 6.3
}

/// Two decimals are below a pixel's resolution and keep pages small.
fn n(v: f64) -> String {
    let r = (v * 10.0).round() / 10.0;
    if r == r.trunc() {
        format!("{}", r as i64)
    } else {
        format!("{r:.1}")
    }
}

impl Plot {
    /// A `width` × `height` chart; `label` is its accessible name.
    pub fn new(label: &str, width: f64, height: f64, x: Scale, y: Scale) -> Self {
        Self {
            label: label.to_string(),
            width,
            height,
            x: x.on(LEFT, width - RIGHT),
            y: y.on(height - BOTTOM, TOP),
            x_title: String::new(),
            y_title: String::new(),
            marks: String::new(),
            legend: Vec::new(),
            y_ticks: true,
        }
    }

    /// Wider margins, for row labels on the left or values on the right.
    pub fn margins(mut self, left: f64, right: f64) -> Self {
        self.x = self.x.on(left, self.width - right);
        self
    }

    /// A label left of the plotting area, level with `y` (a row's name).
    pub fn row_label(&mut self, y: f64, text: &str) {
        let _ = writeln!(
            self.marks,
            "<text class=\"row-label\" x=\"{}\" y=\"{}\" text-anchor=\"end\" dy=\"4\">{}</text>",
            n(self.x.px(self.x.lo) - 6.0),
            n(self.y.px(y)),
            escape(text)
        );
    }

    /// A label right of the plotting area, level with `y` (a row's value).
    pub fn value_label(&mut self, y: f64, class: &str, text: &str) {
        let _ = writeln!(
            self.marks,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\" dy=\"4\">{}</text>",
            n(self.x.px(self.x.hi) + 6.0),
            n(self.y.px(y)),
            escape(text)
        );
    }

    /// Rows of labelled bars or strips: no value ticks on y.
    pub fn without_y_ticks(mut self) -> Self {
        self.y_ticks = false;
        self
    }

    pub fn titles(mut self, x: &str, y: &str) -> Self {
        self.x_title = x.to_string();
        self.y_title = y.to_string();
        self
    }

    /// A legend entry: the CSS class of the series' marks and its name.
    pub fn legend(&mut self, class: &str, name: &str) {
        self.legend.push((class.to_string(), name.to_string()));
    }

    /// A rectangle between two data corners.
    pub fn rect(&mut self, (x0, x1): (f64, f64), (y0, y1): (f64, f64), class: &str, tip: &str) {
        let (a, b) = (self.x.px(x0), self.x.px(x1));
        let (c, d) = (self.y.px(y0), self.y.px(y1));
        let _ = writeln!(
            self.marks,
            "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>{}</title></rect>",
            n(a.min(b)),
            n(c.min(d)),
            n((b - a).abs().max(0.5)),
            n((d - c).abs()),
            escape(tip)
        );
    }

    /// A polyline through data points.
    pub fn line(&mut self, points: &[(f64, f64)], class: &str, tip: &str) {
        self.path(points, false, class, tip);
    }

    /// A closed shape through data points (a min–max band).
    pub fn area(&mut self, points: &[(f64, f64)], class: &str, tip: &str) {
        self.path(points, true, class, tip);
    }

    fn path(&mut self, points: &[(f64, f64)], closed: bool, class: &str, tip: &str) {
        if points.is_empty() {
            return;
        }
        let mut d = String::new();
        for (i, &(x, y)) in points.iter().enumerate() {
            let _ = write!(
                d,
                "{}{},{}",
                if i == 0 { "M" } else { "L" },
                n(self.x.px(x)),
                n(self.y.px(y))
            );
        }
        if closed {
            d.push('Z');
        }
        let _ = writeln!(
            self.marks,
            "<path class=\"{class}\" d=\"{d}\"><title>{}</title></path>",
            escape(tip)
        );
    }

    /// A point marker: a circle, or a square for `square` (series tell
    /// apart without colour).
    pub fn point(&mut self, (x, y): (f64, f64), class: &str, square: bool, tip: &str) {
        let (px, py) = (self.x.px(x), self.y.px(y));
        let shape = if square {
            format!(
                "<rect class=\"{class}\" x=\"{}\" y=\"{}\" width=\"9\" height=\"9\">",
                n(px - 4.5),
                n(py - 4.5)
            )
        } else {
            format!(
                "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"5\">",
                n(px),
                n(py)
            )
        };
        let close = if square { "</rect>" } else { "</circle>" };
        let _ = writeln!(self.marks, "{shape}<title>{}</title>{close}", escape(tip));
    }

    /// Text at a data position (offset a little right and up).
    pub fn text(&mut self, (x, y): (f64, f64), class: &str, text: &str) {
        let _ = writeln!(
            self.marks,
            "<text class=\"{class}\" x=\"{}\" y=\"{}\">{}</text>",
            n(self.x.px(x) + 7.0),
            n(self.y.px(y) - 6.0),
            escape(text)
        );
    }

    /// A labelled horizontal line across the plot at `y` (a target, a band
    /// edge), its label at the right end.
    pub fn hline(&mut self, y: f64, class: &str, label: &str) {
        let (py, x0, x1) = (self.y.px(y), self.x.px(self.x.lo), self.x.px(self.x.hi));
        self.rule(
            (x0, py),
            (x1, py),
            class,
            label,
            (x1 - 4.0, py - 5.0, "end"),
        );
    }

    /// A labelled vertical line at `x` (a percentile, a change point), its
    /// label at the top.
    pub fn vline(&mut self, x: f64, class: &str, label: &str) {
        let (px, y0, y1) = (self.x.px(x), self.y.px(self.y.lo), self.y.px(self.y.hi));
        self.rule(
            (px, y0),
            (px, y1),
            class,
            label,
            (px + 3.0, y1 + 11.0, "start"),
        );
    }

    /// A line between two pixel positions with its label at `at`.
    fn rule(
        &mut self,
        (x1, y1): (f64, f64),
        (x2, y2): (f64, f64),
        class: &str,
        label: &str,
        (lx, ly, anchor): (f64, f64, &str),
    ) {
        let label = escape(label);
        let _ = writeln!(
            self.marks,
            "<line class=\"{class}\" x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\"><title>{label}</title></line>\
             <text class=\"marker-label\" x=\"{}\" y=\"{}\" text-anchor=\"{anchor}\">{label}</text>",
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            n(lx),
            n(ly),
        );
    }

    /// Grid lines, tick labels and axis titles.
    fn axes(&self) -> String {
        let mut out = String::from("<g class=\"axes\">\n");
        let (left, right) = (self.x.px(self.x.lo), self.x.px(self.x.hi));
        let (bottom, top) = (self.y.px(self.y.lo), self.y.px(self.y.hi));
        let (xt, xs) = self.x.ticks();
        for v in xt {
            let p = n(self.x.px(v));
            let _ = writeln!(
                out,
                "<line class=\"grid\" x1=\"{p}\" y1=\"{}\" x2=\"{p}\" y2=\"{}\"/>\
                 <text class=\"tick\" x=\"{p}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
                n(top),
                n(bottom),
                n(bottom + 15.0),
                self.x.label(v, xs)
            );
        }
        let (yt, ys) = self.y.ticks();
        for v in yt.into_iter().filter(|_| self.y_ticks) {
            let p = n(self.y.px(v));
            let _ = writeln!(
                out,
                "<line class=\"grid\" x1=\"{}\" y1=\"{p}\" x2=\"{}\" y2=\"{p}\"/>\
                 <text class=\"tick\" x=\"{}\" y=\"{p}\" text-anchor=\"end\" dy=\"4\">{}</text>",
                n(left),
                n(right),
                n(left - 6.0),
                self.y.label(v, ys)
            );
        }
        let _ = writeln!(
            out,
            "<rect class=\"frame\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"/>\
             <text class=\"axis-title\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
             <text class=\"axis-title\" transform=\"translate(14,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n</g>",
            n(left),
            n(top),
            n(right - left),
            n(bottom - top),
            n((left + right) / 2.0),
            n(self.height - 6.0),
            escape(&self.x_title),
            n((top + bottom) / 2.0),
            escape(&self.y_title)
        );
        out
    }

    /// The figure: the SVG with its accessible name, a caption, and the
    /// legend as text (readable without colour).
    pub fn finish(self, caption: &str) -> String {
        let legend: String = self
            .legend
            .iter()
            .map(|(class, name)| {
                format!(
                    "<li><svg class=\"key\" width=\"22\" height=\"10\" aria-hidden=\"true\"><line class=\"{class}\" x1=\"1\" y1=\"5\" x2=\"21\" y2=\"5\"/></svg>{}</li>",
                    escape(name)
                )
            })
            .collect();
        let legend = if legend.is_empty() {
            String::new()
        } else {
            format!("<ul class=\"legend\">{legend}</ul>")
        };
        format!(
            "<figure>\n<svg xmlns=\"http://www.w3.org/2000/svg\" class=\"chart\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"{label}\">\
             <title>{label}</title>\n{axes}{marks}</svg>\n<figcaption>{caption}{legend}</figcaption>\n</figure>\n",
            w = n(self.width),
            h = n(self.height),
            label = escape(&self.label),
            axes = self.axes(),
            marks = self.marks,
            caption = escape(caption),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_numbers_inside_the_range() {
        let (ticks, step) = Scale::linear(0.13, 0.98).ticks();
        assert_eq!(step, 0.2);
        assert_eq!(ticks.len(), 4, "{ticks:?}");
        assert!((ticks[0] - 0.2).abs() < 1e-12 && (ticks[3] - 0.8).abs() < 1e-12);
        let (decades, _) = Scale::log(3e-7, 2e-3).ticks();
        assert_eq!(decades.len(), 6, "{decades:?}");
    }

    #[test]
    fn scales_map_ends_onto_the_plot_area() {
        let plot = Plot::new(
            "t",
            400.0,
            200.0,
            Scale::linear(0.0, 10.0),
            Scale::log(1e-3, 1.0),
        );
        assert_eq!(plot.x.px(0.0), LEFT);
        assert_eq!(plot.x.px(10.0), 400.0 - RIGHT);
        assert_eq!(plot.y.px(1.0), TOP);
        assert_eq!(plot.y.px(1e-3), 200.0 - BOTTOM);
        // Below a log axis' floor: drawn at the floor, not off the chart.
        assert_eq!(plot.y.px(0.0), 200.0 - BOTTOM);
    }
}
