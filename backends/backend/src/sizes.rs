//! The check every model config's `validate` starts with.

/// Fails on the first size that is 0, naming its key: a zero-sized
/// dimension makes an empty tensor, and the runtimes disagree on what that
/// computes (or panic).
pub(crate) fn each_at_least_one(sizes: &[(&str, usize)]) -> Result<(), String> {
    match sizes.iter().find(|(_, size)| *size == 0) {
        Some((name, _)) => Err(format!("`{name}` must be at least 1")),
        None => Ok(()),
    }
}
