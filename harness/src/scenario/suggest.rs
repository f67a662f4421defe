//! "Did you mean …?" for misspelled keys and values.

pub use inferbench_backend::closest;

/// Pulls the backticked names out of serde's messages such as
/// "unknown field `bakends`, expected one of `name`, `backends`".
pub fn backticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_serde_messages() {
        let m = "unknown field `bakends`, expected one of `name`, `backends`";
        assert_eq!(backticked(m), vec!["bakends", "name", "backends"]);
    }
}
