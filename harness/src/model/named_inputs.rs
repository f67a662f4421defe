//! Inputs for a model file, generated from what the model declares: each
//! input's name, element type and shape, with free dimensions bound from
//! the case.
//!
//! Free dimensions: a size in the scenario's `[model] dims` map wins; else a
//! name containing `batch` takes the case's `batch` and one containing
//! `seq`, `len` or `token` its `seq_len`; an unnamed free dimension takes
//! `batch` on axis 0 and `seq_len` on axis 1 (the layout of token inputs).
//! Values: int64 inputs named like masks are all ones, like positions count
//! 0, 1, ... along the last axis, like token types are zeros, all others are
//! token ids below `vocab_size`; float inputs are N(0, 1). Everything is
//! drawn from the case's input seed, so every backend sees the same values.
//!
//! Fixed dimensions must agree with the case: axis 0 of an input of rank ≥ 2
//! is its batch, and axis 1 of an int64 input of rank ≥ 2 its sequence. A
//! file fixed at `[1, 128]` run as `batch = 4, seq_len = 32` would measure
//! one shape and report throughput for another, so it is refused with the
//! file's shape named. Position ids (`[1, seq]`, broadcast) are exempt.

use std::collections::BTreeMap;

use inferbench_backend::{ElementType, InputDim, InputSpec, NamedTensor, TensorData};

use super::rng::SplitMix64;

/// What the case says about input sizes and values.
#[derive(Debug, Clone)]
pub struct InputBinding<'a> {
    pub batch: usize,
    pub seq_len: usize,
    pub dims: &'a BTreeMap<String, usize>,
    pub vocab_size: Option<usize>,
    pub seed: u64,
}

impl InputBinding<'_> {
    fn size(&self, input: &str, axis: usize, dim: &InputDim) -> Result<usize, String> {
        let unbound = |what: String| {
            format!(
                "input `{input}` has a free dimension {what} (axis {axis}) that inferbench cannot size; \
                 set it in the scenario with `[model] dims = {{ {} = N }}`",
                match dim {
                    InputDim::Symbolic(s) => s.as_str(),
                    _ => "name",
                }
            )
        };
        match dim {
            InputDim::Fixed(n) => Ok(*n),
            InputDim::Symbolic(name) => {
                if let Some(&n) = self.dims.get(name) {
                    return Ok(n);
                }
                let lower = name.to_lowercase();
                if lower.contains("batch") {
                    Ok(self.batch)
                } else if ["seq", "len", "token"].iter().any(|k| lower.contains(k)) {
                    Ok(self.seq_len)
                } else {
                    Err(unbound(format!("`{name}`")))
                }
            }
            InputDim::Unnamed => match axis {
                0 => Ok(self.batch),
                1 => Ok(self.seq_len),
                _ => Err(unbound("without a name".into())),
            },
        }
    }
}

/// Refuses an input whose fixed batch or sequence axis differs from the
/// case's (see the module documentation).
fn check_fixed_axes(
    spec: &InputSpec,
    element_type: &ElementType,
    binding: &InputBinding<'_>,
) -> Result<(), String> {
    // Position ids are often `[1, seq]`, broadcast over the batch.
    if spec.dims.len() < 2 || spec.name.to_lowercase().contains("position") {
        return Ok(());
    }
    let shape: Vec<String> = spec
        .dims
        .iter()
        .map(|d| match d {
            InputDim::Fixed(n) => n.to_string(),
            InputDim::Symbolic(s) => s.clone(),
            InputDim::Unnamed => "?".into(),
        })
        .collect();
    let mut checks = vec![(0, "batch", binding.batch)];
    if *element_type == ElementType::I64 {
        checks.push((1, "seq_len", binding.seq_len));
    }
    for (axis, key, wanted) in checks {
        if let InputDim::Fixed(n) = spec.dims[axis]
            && n != wanted
        {
            return Err(format!(
                "input `{}` has the fixed shape [{}]: its {key} is {n}, but the case runs \
                 `{key} = {wanted}`; set `{key} = {n}` for this model",
                spec.name,
                shape.join(", ")
            ));
        }
    }
    Ok(())
}

/// One tensor per declared input, in the declared order.
pub fn generate(
    specs: &[InputSpec],
    binding: &InputBinding<'_>,
) -> Result<Vec<NamedTensor>, String> {
    let mut rng = SplitMix64::new(binding.seed ^ 0x0A11_1A7E);
    specs
        .iter()
        .map(|spec| {
            let element_type = spec.element_type.clone().map_err(|ty| {
                format!(
                    "input `{}` has element type {ty}; inferbench generates float, float16 and int64 inputs",
                    spec.name
                )
            })?;
            check_fixed_axes(spec, &element_type, binding)?;
            let shape = spec
                .dims
                .iter()
                .enumerate()
                .map(|(axis, d)| binding.size(&spec.name, axis, d))
                .collect::<Result<Vec<_>, _>>()?;
            let n: usize = shape.iter().product();
            let data = match element_type {
                ElementType::F32 | ElementType::F16 => {
                    TensorData::Float((0..n).map(|_| rng.next_normal() as f32).collect())
                }
                ElementType::I64 => TensorData::Int(int_values(
                    &spec.name,
                    &shape,
                    binding.vocab_size,
                    &mut rng,
                )?),
            };
            Ok(NamedTensor {
                name: spec.name.clone(),
                element_type,
                shape,
                data,
            })
        })
        .collect()
}

fn int_values(
    name: &str,
    shape: &[usize],
    vocab_size: Option<usize>,
    rng: &mut SplitMix64,
) -> Result<Vec<i64>, String> {
    let n: usize = shape.iter().product();
    let lower = name.to_lowercase();
    if lower.contains("mask") {
        return Ok(vec![1; n]);
    }
    if lower.contains("position") {
        let last = shape.last().copied().unwrap_or(1).max(1);
        return Ok((0..n).map(|i| (i % last) as i64).collect());
    }
    if lower.contains("type") {
        return Ok(vec![0; n]);
    }
    let vocab = vocab_size.ok_or_else(|| {
        format!(
            "input `{name}` takes token ids: set `[model] vocab_size` to the model's vocabulary size"
        )
    })?;
    Ok((0..n).map(|_| rng.below(vocab as u64) as i64).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(name: &str, element_type: ElementType, dims: Vec<InputDim>) -> InputSpec {
        InputSpec {
            name: name.into(),
            element_type: Ok(element_type),
            dims,
        }
    }

    fn binding(dims: &BTreeMap<String, usize>) -> InputBinding<'_> {
        InputBinding {
            batch: 2,
            seq_len: 5,
            dims,
            vocab_size: Some(7),
            seed: 1,
        }
    }

    #[test]
    fn binds_free_dimensions_and_fills_by_name() {
        let dims = BTreeMap::from([("features".to_string(), 3)]);
        let sym = |s: &str| InputDim::Symbolic(s.into());
        let specs = [
            spec(
                "input_ids",
                ElementType::I64,
                vec![sym("batch_size"), sym("sequence")],
            ),
            spec(
                "attention_mask",
                ElementType::I64,
                vec![InputDim::Unnamed, InputDim::Unnamed],
            ),
            spec(
                "position_ids",
                ElementType::I64,
                vec![InputDim::Fixed(1), sym("seq_len")],
            ),
            spec("x", ElementType::F16, vec![sym("batch"), sym("features")]),
        ];
        let t = generate(&specs, &binding(&dims)).unwrap();
        assert_eq!(t[0].shape, [2, 5]);
        let TensorData::Int(ids) = &t[0].data else {
            panic!()
        };
        assert!(ids.iter().all(|&i| (0..7).contains(&i)) && ids.iter().any(|&i| i != ids[0]));
        assert_eq!(t[1].data, TensorData::Int(vec![1; 10]));
        assert_eq!(t[2].data, TensorData::Int(vec![0, 1, 2, 3, 4]));
        assert_eq!(
            (t[3].shape.as_slice(), t[3].element_type),
            ([2, 3].as_slice(), ElementType::F16)
        );
        // Same seed, same values.
        assert_eq!(t, generate(&specs, &binding(&dims)).unwrap());
    }

    #[test]
    fn fixed_axes_that_disagree_with_the_case_name_the_files_shape() {
        let none = BTreeMap::new();
        let fixed = |dims: [usize; 2]| {
            [spec(
                "input_ids",
                ElementType::I64,
                dims.iter().map(|&n| InputDim::Fixed(n)).collect(),
            )]
        };
        let e = generate(&fixed([1, 5]), &binding(&none)).unwrap_err();
        assert!(
            e.contains("fixed shape [1, 5]") && e.contains("`batch = 1`"),
            "{e}"
        );
        let e = generate(&fixed([2, 128]), &binding(&none)).unwrap_err();
        assert!(
            e.contains("fixed shape [2, 128]") && e.contains("`seq_len = 128`"),
            "{e}"
        );
        assert_eq!(
            generate(&fixed([2, 5]), &binding(&none)).unwrap()[0].shape,
            [2, 5]
        );
        // Float inputs' axis 1 is not a sequence (image channels).
        let image = [spec(
            "pixels",
            ElementType::F32,
            vec![InputDim::Fixed(2), InputDim::Fixed(3)],
        )];
        assert!(generate(&image, &binding(&none)).is_ok());
    }

    #[test]
    fn unsizable_inputs_say_how_to_fix_them() {
        let none = BTreeMap::new();
        let specs = [spec(
            "img",
            ElementType::F32,
            vec![InputDim::Symbolic("height".into())],
        )];
        let e = generate(&specs, &binding(&none)).unwrap_err();
        assert!(
            e.contains("`height`") && e.contains("dims = { height = N }"),
            "{e}"
        );
        let ids = [spec("ids", ElementType::I64, vec![InputDim::Fixed(3)])];
        let e = generate(
            &ids,
            &InputBinding {
                vocab_size: None,
                ..binding(&none)
            },
        )
        .unwrap_err();
        assert!(e.contains("vocab_size"), "{e}");
        let odd = [InputSpec {
            name: "flag".into(),
            element_type: Err("bool".into()),
            dims: vec![],
        }];
        assert!(
            generate(&odd, &binding(&none))
                .unwrap_err()
                .contains("element type bool")
        );
    }
}
