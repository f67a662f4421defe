//! The checks every model config's `validate` is made of, each failing
//! with a message that names the config key, and the parameter count every
//! config derives from its weight shapes.

/// `[("field", config.field), ...]`: sizes named by their field, which is
/// their config key. A macro because a function cannot see a field's name:
/// each key is written once, so the name in a message cannot drift from the
/// value checked.
macro_rules! keyed {
    ($config:ident: $($field:ident),+ $(,)?) => {
        [$((stringify!($field), $config.$field)),+]
    };
}
pub(crate) use keyed;

/// Fails on the first size that is 0, naming its key: a zero-sized
/// dimension makes an empty tensor, and the runtimes disagree on what that
/// computes (or panic).
pub(crate) fn each_at_least_one(sizes: &[(&str, usize)]) -> Result<(), String> {
    match sizes.iter().find(|(_, size)| *size == 0) {
        Some((name, _)) => Err(format!("`{name}` must be at least 1")),
        None => Ok(()),
    }
}

/// Fails unless the first size is a whole multiple of the second (heads
/// split a width evenly), naming both keys and values.
pub(crate) fn multiple_of(
    [(name, size), (divisor_name, divisor)]: [(&str, usize); 2],
) -> Result<(), String> {
    if size.is_multiple_of(divisor) {
        Ok(())
    } else {
        Err(format!(
            "`{name}` ({size}) must be a multiple of `{divisor_name}` ({divisor})"
        ))
    }
}

/// Fails unless `value` is a finite number above 0 (a norm's epsilon, a
/// rotary base).
pub(crate) fn positive(name: &str, value: f64) -> Result<(), String> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(format!("`{name}` must be a positive number"))
    }
}

/// The number of values in weights of these shapes.
pub(crate) fn parameter_count(shapes: &[(String, Vec<usize>)]) -> u64 {
    shapes
        .iter()
        .map(|(_, s)| s.iter().product::<usize>() as u64)
        .sum()
}
