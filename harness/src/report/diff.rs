//! Word-level differences of two texts (a case's generated text against
//! the reference's), by the longest common subsequence of their words.

use super::html::escape;

/// Words beyond this are compared as one tail (the LCS table is n × m).
const MAX_WORDS: usize = 2000;

/// Per word of `a` and of `b`: whether it belongs to the common part.
pub fn common_words(a: &[&str], b: &[&str]) -> (Vec<bool>, Vec<bool>) {
    let (n, m) = (a.len().min(MAX_WORDS), b.len().min(MAX_WORDS));
    // lcs[i][j]: LCS length of a[i..n] and b[j..m].
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let (mut in_a, mut in_b) = (vec![false; a.len()], vec![false; b.len()]);
    let (mut i, mut j) = (0, 0);
    while i < n && j < m {
        if a[i] == b[j] {
            (in_a[i], in_b[j]) = (true, true);
            (i, j) = (i + 1, j + 1);
        } else if lcs[i + 1][j] >= lcs[i][j + 1] {
            i += 1;
        } else {
            j += 1;
        }
    }
    (in_a, in_b)
}

/// The words of `text` as HTML, those outside the common part wrapped in
/// `tag` (`ins` or `del`: marked by underline or strike-through as well
/// as colour).
fn marked(words: &[&str], common: &[bool], tag: &str) -> String {
    words
        .iter()
        .zip(common)
        .map(|(w, &same)| {
            if same {
                escape(w)
            } else {
                format!("<{tag}>{}</{tag}>", escape(w))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A case's text and the reference's, differences marked, and how many
/// leading words agree.
pub struct TextDiff {
    pub candidate_html: String,
    pub reference_html: String,
    pub same_prefix_words: usize,
    pub common_words: usize,
    pub reference_words: usize,
}

pub fn diff(candidate: &str, reference: &str) -> TextDiff {
    let a: Vec<&str> = candidate.split_whitespace().collect();
    let b: Vec<&str> = reference.split_whitespace().collect();
    let (in_a, in_b) = common_words(&a, &b);
    TextDiff {
        candidate_html: marked(&a, &in_a, "ins"),
        reference_html: marked(&b, &in_b, "del"),
        same_prefix_words: a.iter().zip(&b).take_while(|(x, y)| x == y).count(),
        common_words: in_b.iter().filter(|&&c| c).count(),
        reference_words: b.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marks_the_words_that_differ() {
        let d = diff("the cat sat on a mat", "the cat sat on the mat");
        assert_eq!(d.candidate_html, "the cat sat on <ins>a</ins> mat");
        assert_eq!(d.reference_html, "the cat sat on <del>the</del> mat");
        assert_eq!(
            (d.same_prefix_words, d.common_words, d.reference_words),
            (4, 5, 6)
        );
    }

    #[test]
    fn escapes_the_text() {
        assert_eq!(diff("<b>", "<b>").candidate_html, "&lt;b&gt;");
    }
}
