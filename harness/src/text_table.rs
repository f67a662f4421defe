//! Column-aligned text tables for the terminal: the run's table and the
//! gate's comparison.

/// `rows` (the header first) as lines of cells two spaces apart, each
/// column as wide as its widest cell: the first `left` columns aligned
/// left (names), the others right (numbers). Trailing spaces are trimmed.
pub fn aligned(rows: &[Vec<String>], left: usize) -> String {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|i| {
            rows.iter()
                .filter_map(|r| r.get(i))
                .map(|c| c.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .enumerate()
            .map(|(i, (c, w))| {
                if i < left {
                    format!("{c:<w$}")
                } else {
                    format!("{c:>w$}")
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_align_left_and_numbers_right() {
        let rows = vec![
            vec!["case".to_string(), "ms".to_string()],
            vec!["a-long-case".to_string(), "1.5".to_string()],
            vec!["b".to_string(), "12.25".to_string()],
        ];
        assert_eq!(
            super::aligned(&rows, 1),
            "case            ms\na-long-case    1.5\nb            12.25\n"
        );
    }
}
