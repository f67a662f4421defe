//! Expansion of a scenario into its matrix of cases: every list-valued
//! setting multiplies the cases (a cartesian product, as llama-bench does).

mod grid;
mod group;
mod model;
mod monitor;
mod settings;
mod workload;

use std::collections::HashMap;

use super::ranges::{Written, check_written};
use super::{Case, CaseSettings, Scenario};
use crate::registry::{self, BackendName};
use group::expand_group;

/// A setting that is wrong, with the key to point at.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid {
    pub key: String,
    /// Index of the `[[cases]]` entry, if the setting came from one.
    pub group: Option<usize>,
    pub message: String,
}

/// Whether the backend runs a model served at the scenario's `[endpoint]`.
pub(super) fn is_served(backend: &BackendName) -> bool {
    registry::find(backend.as_str()).is_some_and(|b| b.capabilities().endpoint)
}

fn check(
    group: Option<usize>,
    key: &str,
    ok: bool,
    message: impl FnOnce() -> String,
) -> Result<(), Invalid> {
    if ok {
        Ok(())
    } else {
        Err(Invalid {
            key: key.to_string(),
            group,
            message: message(),
        })
    }
}

/// Cases a scenario may expand to unless its `max_cases` allows more: a
/// matrix is counted before it is built, so a typo'd sweep of 10⁹ cases is
/// an error, not an out-of-memory abort.
pub const DEFAULT_MAX_CASES: usize = 10_000;

/// The top level's numeric tables, as a `[[cases]]` entry would hold them.
fn top_settings(s: &Scenario) -> CaseSettings {
    CaseSettings {
        warmup: s.warmup.clone(),
        measurement: s.measurement.clone(),
        accuracy: s.accuracy.clone(),
        generation: s.generation.clone(),
        ..CaseSettings::default()
    }
}

fn written(c: &CaseSettings) -> Written<'_> {
    Written {
        warmup: c.warmup.as_ref(),
        measurement: c.measurement.as_ref(),
        accuracy: c.accuracy.as_ref(),
        generation: c.generation.as_ref(),
    }
}

/// Every case of the scenario, in file order; ids are unique.
pub fn expand(
    s: &Scenario,
    scenario_name: &str,
    default_threads: usize,
) -> Result<Vec<Case>, Invalid> {
    let top = CaseSettings::default();
    check_written(&written(&top_settings(s)), None)?;
    let limit = s.max_cases.unwrap_or(DEFAULT_MAX_CASES);
    let mut cases = Vec::new();
    match &s.cases {
        Some(groups) if !groups.is_empty() => {
            for (i, g) in groups.iter().enumerate() {
                check_written(&written(g), Some(i))?;
                let remaining = limit.saturating_sub(cases.len());
                let group = expand_group(s, g, Some(i), scenario_name, default_threads, remaining)?;
                cases.extend(group);
            }
        }
        _ => cases = expand_group(s, &top, None, scenario_name, default_threads, limit)?,
    }
    let mut seen: HashMap<&str, Option<String>> = HashMap::new();
    for c in &cases {
        if let Some(first) = seen.insert(&c.id, c.group.clone()) {
            return Err(Invalid {
                key: "cases".into(),
                group: None,
                message: format!(
                    "case `{}` is listed twice (groups {} and {}); give the groups different settings",
                    c.id,
                    first.as_deref().unwrap_or("?"),
                    c.group.as_deref().unwrap_or("?")
                ),
            });
        }
    }
    Ok(cases)
}

#[cfg(test)]
mod tests {
    use super::model::DEFAULT_SPEC;
    use super::*;
    use crate::scenario::ReferenceKind;

    fn scenario(text: &str) -> Scenario {
        toml::from_str(text).unwrap()
    }

    #[test]
    fn lists_multiply() {
        let s = scenario(
            "backends = ['candle', 'ort']\nbatch = [1, 4]\nseq_len = [8, 16, 32]\nthreads = 2",
        );
        let cases = expand(&s, "t", 8).unwrap();
        assert_eq!(cases.len(), 2 * 2 * 3);
        assert_eq!(cases[0].id, "gpt-v1024-h128-l2/candle/cpu/f32/b1/t8/th2");
        assert_eq!(cases[11].id, "gpt-v1024-h128-l2/ort/cpu/f32/b4/t32/th2");
        assert!(cases.iter().all(|c| c.threads == 2 && c.scenario == "t"));
    }

    #[test]
    fn defaults_fill_what_is_missing() {
        let cases = expand(&scenario(""), "t", 8).unwrap();
        assert_eq!(cases.len(), 1);
        let c = &cases[0];
        assert_eq!(
            (c.backend.as_str(), c.batch, c.seq_len, c.threads),
            ("candle", 1, 32, 8)
        );
        assert_eq!(c.model.spec, DEFAULT_SPEC);
        assert_eq!(c.measurement.min_iterations, 10);
        assert_eq!(c.reference, ReferenceKind::F64);
    }

    #[test]
    fn cases_override_the_defaults() {
        let s = scenario(
            "batch = 2\n[model]\nname = 'm'\nlayers = 1\n[measurement]\nmin_iterations = 5\n\
             [[cases]]\nname = 'wide'\nmodel = { hidden = 64 }\n\
             [[cases]]\nname = 'long'\nseq_len = 64\nmeasurement = { min_iterations = 7 }\n",
        );
        let cases = expand(&s, "t", 1).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(
            (cases[0].model.spec.hidden, cases[0].model.spec.layers),
            (64, 1)
        );
        assert_eq!(cases[0].measurement.min_iterations, 5);
        assert_eq!((cases[1].seq_len, cases[1].batch), (64, 2));
        assert_eq!(cases[1].measurement.min_iterations, 7);
        assert_eq!(cases[1].group.as_deref(), Some("long"));
    }

    #[test]
    fn model_knobs_sweep() {
        let s = scenario("[model]\nlayers = [1, 2]\nhidden = [32, 64]");
        let cases = expand(&s, "t", 1).unwrap();
        let names: Vec<_> = cases.iter().map(|c| c.model.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "gpt-v1024-h32-l1",
                "gpt-v1024-h32-l2",
                "gpt-v1024-h64-l1",
                "gpt-v1024-h64-l2"
            ]
        );
    }

    #[test]
    fn generation_patterns_expand() {
        let s = scenario(
            "[model]\nmax_seq = 64\n[generation]\nprompt_len = 16\ngen_len = 8\n\
             pattern = ['single_stream', 'server', 'concurrency']\nrate = [2.0, 4.5]\nconcurrency = [1, 2]\n",
        );
        let ids: Vec<String> = expand(&s, "t", 1)
            .unwrap()
            .into_iter()
            .map(|c| c.id)
            .collect();
        let tail: Vec<&str> = ids
            .iter()
            .map(|id| id.split_once("/b1/").unwrap().1)
            .collect();
        assert_eq!(
            tail,
            [
                "p16g8/th1/single_stream",
                "p16g8/th1/server@2rps",
                "p16g8/th1/server@4.5rps",
                "p16g8/th1/concurrencyx1",
                "p16g8/th1/concurrencyx2"
            ]
        );
        let e = expand(&scenario("[generation]\npattern = 'server'"), "t", 1).unwrap_err();
        assert_eq!(e.key, "rate");
        let e = expand(
            &scenario("[model]\nmax_seq = 20\n[generation]\nprompt_len = 16\ngen_len = 8"),
            "t",
            1,
        )
        .unwrap_err();
        assert!(
            e.message.contains("24 tokens per sequence exceed"),
            "{}",
            e.message
        );
    }

    #[test]
    fn huge_matrices_are_counted_before_they_are_built() {
        let list = |n: usize| {
            format!(
                "[{}]",
                (1..=n).map(|i| i.to_string()).collect::<Vec<_>>().join(",")
            )
        };
        let text = format!(
            "batch = {}\nseq_len = {}\nthreads = {}\n[model]\nseed = {}\nlayers = {}\n",
            list(1000),
            list(100),
            list(100),
            list(10),
            list(10)
        );
        let e = expand(&scenario(&text), "t", 1).unwrap_err();
        assert_eq!(e.key, "batch");
        assert!(
            e.message.contains("this group alone: 1000000000)"),
            "{}",
            e.message
        );
        let e = expand(&scenario("max_cases = 3\nbatch = [1, 2, 3, 4]"), "t", 1).unwrap_err();
        assert_eq!(e.key, "max_cases");
        assert_eq!(
            expand(&scenario("max_cases = 4\nbatch = [1, 2, 3, 4]"), "t", 1)
                .unwrap()
                .len(),
            4
        );
        // The limit is over the whole file, not per group.
        let e = expand(
            &scenario("max_cases = 3\n[[cases]]\nbatch = [1, 2]\n[[cases]]\nbatch = [3, 4]"),
            "t",
            1,
        );
        assert!(e.is_err());
    }

    #[test]
    fn ort_option_typos_are_caught_up_front() {
        let e = expand(&scenario("[options.ort]\nintra_op_thread = 2"), "t", 1).unwrap_err();
        assert_eq!(e.key, "intra_op_thread");
        assert_eq!(
            e.message,
            "unknown ort option `intra_op_thread`, did you mean `intra_op_threads`?"
        );
        assert!(expand(&scenario("[options.ort]\nspinning = true"), "t", 1).is_ok());
        let e = expand(
            &scenario("[options.ort]\ngraph_optimization = 'max'"),
            "t",
            1,
        )
        .unwrap_err();
        assert_eq!(e.key, "graph_optimization");
        assert!(e.message.contains("`disable`, `basic`"), "{}", e.message);
        let e = expand(&scenario("[options.ort]\nintra_op_threads = 0"), "t", 1).unwrap_err();
        assert!(e.message.contains("at least 1"), "{}", e.message);
        let e = expand(&scenario("[options.candle]\nthreads = 2"), "t", 1).unwrap_err();
        assert_eq!(
            (e.key.as_str(), e.message.as_str()),
            (
                "threads",
                "candle has no options; remove `threads` from `[options.candle]`"
            )
        );
    }

    #[test]
    fn invalid_settings_name_their_key() {
        let e = expand(&scenario("seq_len = 300"), "t", 1).unwrap_err();
        assert_eq!(e.key, "seq_len");
        assert!(
            e.message
                .contains("300 tokens per sequence exceed the model's `max_seq` 256"),
            "{}",
            e.message
        );
        let e = expand(&scenario("[model]\nhidden = 30\nheads = 4"), "t", 1).unwrap_err();
        assert!(e.message.contains("multiple of `heads`"));
        let e = expand(&scenario("[[cases]]\n[[cases]]\n"), "t", 1).unwrap_err();
        assert!(e.message.contains("listed twice"), "{}", e.message);
    }
}
