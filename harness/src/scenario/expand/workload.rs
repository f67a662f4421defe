//! What a group's cases compute: forward passes over `seq_len` tokens, or
//! generation workloads with their load patterns and SLOs.

use super::{Invalid, check};
use crate::generation::slo::Slo;
use crate::scenario::{GenerationCase, GenerationConfig, LoadPattern, SloConfig};

/// What one case computes: a forward pass over `seq_len` tokens, or a
/// generation workload.
pub(super) struct Workload {
    /// Tokens one sequence reaches (checked against `max_seq`).
    pub tokens: usize,
    pub seq_len: usize,
    /// Id part after the batch (`t64`, `p32g16`).
    pub tag: String,
    /// Id part after the threads (`/server@5rps`, `/concurrencyx4`).
    pub suffix: String,
    pub generation: Option<GenerationCase>,
}

/// `[slo]`, with `target_p99_ttft_ms` as the documented alias of `ttft_ms`.
fn slo(slo: Option<SloConfig>, g: &GenerationConfig, group: Option<usize>) -> Result<Slo, Invalid> {
    let s = slo.unwrap_or_default();
    check(
        group,
        "target_p99_ttft_ms",
        s.ttft_ms.is_none() || g.target_p99_ttft_ms.is_none(),
        || "`target_p99_ttft_ms` is an alias of `[slo] ttft_ms`: give only one".into(),
    )?;
    let slo = Slo {
        ttft_ms: s.ttft_ms.or(g.target_p99_ttft_ms),
        tpot_ms: s.tpot_ms,
        e2e_ms: s.e2e_ms,
    };
    for (key, v) in [
        ("ttft_ms", slo.ttft_ms),
        ("tpot_ms", slo.tpot_ms),
        ("e2e_ms", slo.e2e_ms),
    ] {
        check(group, key, v.is_none_or(|v| v > 0.0), || {
            format!("`{key}` must be a positive number of milliseconds")
        })?;
    }
    Ok(slo)
}

/// The workloads of a group: a forward pass per `seq_len`, or, with
/// `[generation]`, one per load pattern and its rates or concurrencies.
pub(super) fn workloads(
    g: Option<&GenerationConfig>,
    slo_config: Option<SloConfig>,
    seq_lens: &[usize],
    group: Option<usize>,
) -> Result<Vec<Workload>, Invalid> {
    let Some(g) = g else {
        return Ok(seq_lens
            .iter()
            .map(|&s| Workload {
                tokens: s,
                seq_len: s,
                tag: format!("t{s}"),
                suffix: String::new(),
                generation: None,
            })
            .collect());
    };
    let base = generation_base(g, slo_config, group)?;
    let (prompt_len, gen_len) = (base.prompt_len, base.gen_len);
    let patterns = g
        .pattern
        .as_ref()
        .map_or_else(|| vec![LoadPattern::SingleStream], |a| a.0.clone());
    let mut out = Vec::new();
    for pattern in patterns {
        for (generation, suffix) in pattern_variants(pattern, &base, g, group)? {
            out.push(Workload {
                tokens: prompt_len + gen_len,
                seq_len: prompt_len,
                tag: format!("p{prompt_len}g{gen_len}"),
                suffix,
                generation: Some(generation),
            });
        }
    }
    Ok(out)
}

/// `[generation]` checked and defaulted, for the single-stream pattern.
fn generation_base(
    g: &GenerationConfig,
    slo_config: Option<SloConfig>,
    group: Option<usize>,
) -> Result<GenerationCase, Invalid> {
    let (prompt_len, gen_len) = (g.prompt_len.unwrap_or(32), g.gen_len.unwrap_or(16));
    let requests = g.requests.unwrap_or(16);
    let search_rate = g.search_rate.unwrap_or(false);
    check(
        group,
        "prompt_len",
        prompt_len > 0 && gen_len > 0 && requests > 0,
        || "`prompt_len`, `gen_len` and `requests` must be at least 1".into(),
    )?;
    let slo = slo(slo_config, g, group)?;
    check(group, "search_rate", !search_rate || slo.is_set(), || {
        "`search_rate` needs an `[slo]` limit (`ttft_ms`, `tpot_ms` or `e2e_ms`) to search against"
            .into()
    })?;
    let burstiness = g.burstiness.unwrap_or(1.0);
    check(
        group,
        "burstiness",
        burstiness > 0.0 && burstiness.is_finite(),
        || "`burstiness` must be a positive number (1 is Poisson)".into(),
    )?;
    Ok(GenerationCase {
        prompt_len,
        gen_len,
        requests,
        pattern: LoadPattern::SingleStream,
        rate: None,
        slo,
        search_rate,
        burstiness,
        ignore_eos: g.ignore_eos.unwrap_or(true),
        prompts: Vec::new(),
        concurrency: 1,
        seed: g.seed.unwrap_or(0),
        timeout_ms: g.timeout_ms,
        max_error_rate: g.max_error_rate,
    })
}

/// The generation cases of one load pattern, each with its id suffix: one
/// per `rate` of `server` (or its highest rate under the SLO with
/// `search_rate`), one per `concurrency` of `concurrency`, else one.
fn pattern_variants(
    pattern: LoadPattern,
    base: &GenerationCase,
    g: &GenerationConfig,
    group: Option<usize>,
) -> Result<Vec<(GenerationCase, String)>, Invalid> {
    let name = pattern.as_str();
    let base = GenerationCase {
        pattern,
        ..base.clone()
    };
    Ok(match pattern {
        LoadPattern::Server if base.search_rate => vec![(base, format!("/{name}@max"))],
        LoadPattern::Server => {
            let rates = g.rate.as_ref().map(|a| a.0.clone()).unwrap_or_default();
            check(
                group,
                "rate",
                !rates.is_empty() && rates.iter().all(|&r| r > 0.0),
                || {
                    "the `server` pattern needs a positive `rate` (requests/s) or `search_rate = true`".into()
                },
            )?;
            let at = |rate| GenerationCase {
                rate: Some(rate),
                ..base.clone()
            };
            rates
                .into_iter()
                .map(|rate| (at(rate), format!("/{name}@{rate}rps")))
                .collect()
        }
        LoadPattern::Concurrency => {
            let ns = g
                .concurrency
                .as_ref()
                .map_or_else(|| vec![1], |a| a.0.clone());
            check(group, "concurrency", ns.iter().all(|&n| n > 0), || {
                "`concurrency` must be at least 1".into()
            })?;
            let with = |concurrency| GenerationCase {
                concurrency,
                ..base.clone()
            };
            ns.into_iter()
                .map(|n| (with(n), format!("/{name}x{n}")))
                .collect()
        }
        _ => vec![(base, format!("/{name}"))],
    })
}
