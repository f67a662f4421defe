//! Numbers with their units, as the terminal table prints them
//! (`results/table.rs`): ms with three decimals, tokens/s whole, MiB with
//! one decimal, errors in scientific notation.

/// A number with `digits` decimals, or `-` (table cells; the unit is in
/// the column's header, as in the terminal table).
pub fn fixed(v: Option<f64>, digits: usize) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.digits$}"))
}

/// `1.234 ms`, or `-` when there is no value.
pub fn ms(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.3} ms"))
}

/// `12345 tok/s`.
pub fn tokens_per_s(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.0} tok/s"))
}

/// `12.34 GFLOP/s`.
pub fn gflops(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} GFLOP/s"))
}

/// `, 0.45 of the backend's matmul peak`, or nothing without a peak.
pub fn of_peak(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| {
        format!(", {v:.2} of the backend's matmul peak")
    })
}

/// Bytes as `123.4 MiB`.
pub fn mib(bytes: Option<u64>) -> String {
    bytes.map_or_else(|| "-".into(), |b| format!("{:.1} MiB", mebibytes(b)))
}

pub fn mebibytes(bytes: u64) -> f64 {
    bytes as f64 / (1u64 << 20) as f64
}

/// `1.2e-7`.
pub fn sci(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.1e}"))
}

/// `3.2 req/s`.
pub fn rate(v: Option<f64>) -> String {
    v.map_or_else(|| "-".into(), |v| format!("{v:.2} req/s"))
}

/// A tick label: as many decimals as the tick step needs, `k`/`M` for
/// large values.
pub fn tick(v: f64, step: f64) -> String {
    let a = v.abs();
    if a >= 1e6 && step >= 1e5 {
        return format!("{}M", trim(v / 1e6, step / 1e6));
    }
    if a >= 1e4 && step >= 1e3 {
        return format!("{}k", trim(v / 1e3, step / 1e3));
    }
    trim(v, step)
}

fn trim(v: f64, step: f64) -> String {
    let decimals = if step > 0.0 && step < 1.0 {
        (-step.log10().floor()) as usize
    } else {
        0
    };
    format!("{v:.decimals$}")
}

/// The first characters of a commit hash.
pub fn short_commit(commit: Option<&str>) -> String {
    commit.map_or_else(|| "unknown".into(), |c| c.chars().take(10).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_as_in_the_terminal_table() {
        assert_eq!(ms(Some(1.23456)), "1.235 ms");
        assert_eq!(tokens_per_s(Some(1234.6)), "1235 tok/s");
        assert_eq!(mib(Some(3 << 20)), "3.0 MiB");
        assert_eq!(sci(Some(1.25e-7)), "1.2e-7");
        assert_eq!(ms(None), "-");
    }

    #[test]
    fn tick_labels_follow_the_step() {
        assert_eq!(tick(0.25, 0.05), "0.25");
        assert_eq!(tick(2.0, 0.5), "2.0");
        assert_eq!(tick(20000.0, 5000.0), "20k");
        assert_eq!(tick(150.0, 50.0), "150");
    }
}
