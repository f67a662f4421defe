//! The documented range of every numeric scenario setting, checked where it
//! is written (the top level or one `[[cases]]` entry) so the error points
//! at that line. A setting outside its range would otherwise reach the run:
//! an infinite or negative time panics at `Duration::from_secs_f64`, a NaN
//! limit never fails.
//!
//! | setting                                   | range                 |
//! |-------------------------------------------|-----------------------|
//! | `warmup.seconds`, `measurement.min_seconds` | finite, ≥ 0         |
//! | `measurement.max_seconds`                 | finite, > 0, ≥ `min_seconds` |
//! | `measurement.min_iterations`, `max_iterations` | ≥ 1, min ≤ max   |
//! | `warmup.iterations`                       | ≥ 0 (0: no warm-up)   |
//! | `accuracy.max_abs`, `max_rel_l2`, `max_kl` | finite, ≥ 0          |
//! | `accuracy.min_top1`                       | 0 ≤ x ≤ 1             |
//! | `accuracy.min_cosine`                     | −1 ≤ x ≤ 1            |
//! | `generation.rate`, `target_p99_ttft_ms`, `timeout_ms` | finite, > 0 |
//! | `generation.max_error_rate`               | 0 ≤ x ≤ 1             |
//!
//! Times are also at most [`MAX_SECONDS`], so every deadline built from them
//! fits a `Duration`.

use super::expand::Invalid;
use super::{AccuracyConfig, GenerationConfig, MeasurementConfig, WarmupConfig};

/// One year: longer than any benchmark, far below `Duration`'s limit.
pub const MAX_SECONDS: f64 = 365.0 * 24.0 * 3600.0;

/// The numeric settings one table of the file wrote (top level: `group` None).
pub struct Written<'a> {
    pub warmup: Option<&'a WarmupConfig>,
    pub measurement: Option<&'a MeasurementConfig>,
    pub accuracy: Option<&'a AccuracyConfig>,
    pub generation: Option<&'a GenerationConfig>,
}

fn invalid(key: &str, group: Option<usize>, message: String) -> Invalid {
    Invalid {
        key: key.to_string(),
        group,
        message,
    }
}

/// `lo ≤ value ≤ hi` (or `lo < value` when `open_low`), NaN never inside.
fn in_range(
    key: &str,
    value: Option<f64>,
    (lo, open_low, hi): (f64, bool, f64),
    what: &str,
    group: Option<usize>,
) -> Result<(), Invalid> {
    let Some(v) = value else { return Ok(()) };
    let low_ok = if open_low { v > lo } else { v >= lo };
    if low_ok && v <= hi {
        return Ok(());
    }
    Err(invalid(
        key,
        group,
        format!("`{key}` is {v}; it must be {what}"),
    ))
}

const TIME: (f64, bool, f64) = (0.0, false, MAX_SECONDS);
const POSITIVE_TIME: (f64, bool, f64) = (0.0, true, MAX_SECONDS);
const LIMIT: (f64, bool, f64) = (0.0, false, f64::MAX);
const POSITIVE: (f64, bool, f64) = (0.0, true, f64::MAX);

pub fn check_written(w: &Written, group: Option<usize>) -> Result<(), Invalid> {
    let time = "a finite number of seconds, at least 0 and at most one year";
    let positive_time = "a finite number of seconds, above 0 and at most one year";
    if let Some(wu) = w.warmup {
        in_range("seconds", wu.seconds, TIME, time, group)?;
    }
    if let Some(m) = w.measurement {
        in_range("min_seconds", m.min_seconds, TIME, time, group)?;
        in_range(
            "max_seconds",
            m.max_seconds,
            POSITIVE_TIME,
            positive_time,
            group,
        )?;
        for (key, count) in [
            ("min_iterations", m.min_iterations),
            ("max_iterations", m.max_iterations),
        ] {
            if count == Some(0) {
                return Err(invalid(key, group, format!("`{key}` must be at least 1")));
            }
        }
    }
    if let Some(a) = w.accuracy {
        let limit = "a finite number, at least 0";
        in_range("max_abs", a.max_abs, LIMIT, limit, group)?;
        in_range("max_rel_l2", a.max_rel_l2, LIMIT, limit, group)?;
        in_range("max_kl", a.max_kl, LIMIT, limit, group)?;
        in_range(
            "min_top1",
            a.min_top1,
            (0.0, false, 1.0),
            "between 0 and 1",
            group,
        )?;
        let cosine = (-1.0, false, 1.0);
        in_range(
            "min_cosine",
            a.min_cosine,
            cosine,
            "between -1 and 1",
            group,
        )?;
    }
    if let Some(g) = w.generation {
        let positive = "a finite number above 0";
        for &rate in g.rate.iter().flat_map(|a| a.0.iter()) {
            in_range("rate", Some(rate), POSITIVE, positive, group)?;
        }
        let fraction = (0.0, false, 1.0);
        in_range(
            "max_error_rate",
            g.max_error_rate,
            fraction,
            "between 0 and 1",
            group,
        )?;
        let ms = Some(MAX_SECONDS * 1e3);
        in_range(
            "target_p99_ttft_ms",
            g.target_p99_ttft_ms,
            POSITIVE,
            positive,
            group,
        )?;
        in_range("timeout_ms", g.timeout_ms, POSITIVE, positive, group)?;
        for (key, v) in [
            ("target_p99_ttft_ms", g.target_p99_ttft_ms),
            ("timeout_ms", g.timeout_ms),
        ] {
            if v > ms {
                return Err(invalid(key, group, format!("`{key}` exceeds one year")));
            }
        }
    }
    Ok(())
}

/// Checks between settings that may come from different tables: the merged
/// values of one `[[cases]]` entry.
pub fn check_merged(m: &super::Measurement, group: Option<usize>) -> Result<(), Invalid> {
    if m.min_seconds > m.max_seconds {
        return Err(invalid(
            "min_seconds",
            group,
            format!(
                "`min_seconds` ({}) exceeds `max_seconds` ({})",
                m.min_seconds, m.max_seconds
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::scenario::parse_str;
    use std::path::Path;

    fn error(text: &str) -> String {
        parse_str(text, Path::new("s.toml"), "s", 1)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn non_finite_and_negative_times_are_located() {
        let e = error("[measurement]\nmax_seconds = inf\n");
        assert!(e.starts_with("s.toml:2:1: `max_seconds` is inf"), "{e}");
        let e = error("[warmup]\nseconds = -100\n");
        assert!(e.starts_with("s.toml:2:1: `seconds` is -100"), "{e}");
        let e = error("[measurement]\nmin_seconds = nan\n");
        assert!(e.starts_with("s.toml:2:1: `min_seconds` is NaN"), "{e}");
        let e = error("[measurement]\nmax_seconds = 1e300\n");
        assert!(e.contains("at most one year"), "{e}");
    }

    #[test]
    fn settings_in_a_later_case_group_point_at_that_group() {
        let e =
            error("[[cases]]\nname = 'a'\n[[cases]]\nname = 'b'\nwarmup = { seconds = -1.0 }\n");
        assert!(e.starts_with("s.toml:5:12: `seconds` is -1"), "{e}");
    }

    #[test]
    fn minimums_above_maximums_and_zero_counts_are_rejected() {
        let e = error("[measurement]\nmin_seconds = 10\nmax_seconds = 5\n");
        assert!(
            e.contains("`min_seconds` (10) exceeds `max_seconds` (5)"),
            "{e}"
        );
        let e = error("[measurement]\nmin_iterations = 0\n");
        assert!(
            e.starts_with("s.toml:2:1: `min_iterations` must be at least 1"),
            "{e}"
        );
    }

    #[test]
    fn limits_and_generation_numbers_have_ranges() {
        let e = error("[accuracy]\nmax_rel_l2 = nan\n");
        assert!(e.contains("`max_rel_l2` is NaN"), "{e}");
        let e = error("[accuracy]\nmin_top1 = 1.5\n");
        assert!(e.contains("between 0 and 1"), "{e}");
        let e = error("[generation]\npattern = 'server'\nrate = [2.0, inf]\n");
        assert!(e.starts_with("s.toml:3:1: `rate` is inf"), "{e}");
        let e = error("[generation]\ntimeout_ms = -5\n");
        assert!(e.contains("`timeout_ms` is -5"), "{e}");
    }
}
