//! "Did you mean …?" for misspelled keys and values.

/// The candidate closest to `word` by edit distance, if it is close enough
/// to be a plausible typo (at most a third of the word's length, min 1 edit,
/// max 3), as in cargo's and clap's suggestions.
pub fn closest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (word.chars().count() / 3).clamp(1, 3);
    candidates
        .into_iter()
        .map(|c| (strsim::damerau_levenshtein(word, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// Pulls the backticked names out of serde's messages such as
/// "unknown field `bakends`, expected one of `name`, `backends`".
pub fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_plausible_typos_only() {
        let keys = ["backends", "batch", "threads"];
        assert_eq!(closest("bakends", keys), Some("backends"));
        assert_eq!(closest("thraeds", keys), Some("threads"));
        assert_eq!(closest("colour", keys), None);
    }

    #[test]
    fn reads_serde_messages() {
        let m = "unknown field `bakends`, expected one of `name`, `backends`";
        assert_eq!(backticked(m), vec!["bakends", "name", "backends"]);
    }
}
