//! The cartesian product of a scenario's sweep axes, walked as indices.

/// Every combination of one index per axis, for axes of the given lengths,
/// the last axis changing fastest: the order of nested `for` loops over the
/// axes, without the nesting. No combination when an axis is empty.
pub(super) fn grid<const N: usize>(lengths: [usize; N]) -> impl Iterator<Item = [usize; N]> {
    // Counted with saturation like the case count; a matrix that large was
    // refused before anything walks it.
    let cells = lengths.iter().copied().fold(1, usize::saturating_mul);
    (0..cells).map(move |mut rest| {
        let mut at = [0; N];
        for (index, &length) in at.iter_mut().zip(&lengths).rev() {
            *index = rest % length;
            rest /= length;
        }
        at
    })
}

#[cfg(test)]
mod tests {
    use super::grid;

    #[test]
    fn walks_like_nested_loops() {
        let mut nested = Vec::new();
        for a in 0..2 {
            for b in 0..3 {
                for c in 0..1 {
                    nested.push([a, b, c]);
                }
            }
        }
        assert_eq!(grid([2, 3, 1]).collect::<Vec<_>>(), nested);
        assert_eq!(grid([2, 0, 3]).count(), 0);
        assert_eq!(grid([]).count(), 1, "no axis: the one empty combination");
    }
}
