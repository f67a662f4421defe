//! The model of a group: its settings merged over the top level, checked
//! for one source, and swept into one case per synthetic-GPT variant.

use inferbench_backend::GptSpec;

use super::Invalid;
use super::grid::grid;
use crate::scenario::{Axis, CheckpointFormat, LlamaCheckpoint, ModelCase, ModelConfig, ModelFile};

/// Model knobs when a scenario leaves them out: a small GPT that runs in
/// milliseconds on one core.
pub(super) const DEFAULT_SPEC: GptSpec = GptSpec {
    vocab_size: 1024,
    hidden: 128,
    layers: 2,
    heads: 4,
    max_seq: 256,
    seed: 0,
};

pub(super) fn merge_model(over: Option<&ModelConfig>, base: Option<&ModelConfig>) -> ModelConfig {
    let (o, b) = (
        over.cloned().unwrap_or_default(),
        base.cloned().unwrap_or_default(),
    );
    ModelConfig {
        name: o.name.or(b.name),
        file: o.file.or(b.file),
        gguf: o.gguf.or(b.gguf),
        hf: o.hf.or(b.hf),
        dims: o.dims.or(b.dims),
        vocab_size: o.vocab_size.or(b.vocab_size),
        hidden: o.hidden.or(b.hidden),
        layers: o.layers.or(b.layers),
        heads: o.heads.or(b.heads),
        max_seq: o.max_seq.or(b.max_seq),
        seed: o.seed.or(b.seed),
    }
}

/// A model file takes no synthetic-GPT knob but `vocab_size` (the token-id
/// range), and that one as a single value.
pub(super) fn check_model_file(m: &ModelConfig, group: Option<usize>) -> Result<(), Invalid> {
    check_checkpoint(m, group)?;
    let knob = knobs_set(m).find(|key| !matches!(*key, "vocab_size" | "dims"));
    match (&m.file, knob) {
        (Some(_), Some(key)) => Err(Invalid {
            key: key.to_string(),
            group,
            message: format!("`{key}` is a knob of the synthetic GPT; a model `file` has its own"),
        }),
        (Some(_), None) if m.vocab_size.as_ref().is_some_and(|a| a.0.len() != 1) => Err(Invalid {
            key: "vocab_size".into(),
            group,
            message: "a model file takes one `vocab_size` (its token-id range), not a list".into(),
        }),
        (None, _) if m.dims.is_some() => Err(Invalid {
            key: "dims".into(),
            group,
            message:
                "`dims` sizes the free dimensions of a model `file`; the synthetic GPT has none"
                    .into(),
        }),
        _ => Ok(()),
    }
}

/// A Llama checkpoint (`gguf` or `hf`) is the whole model: no second
/// source, no synthetic-GPT knob, no `vocab_size` (it has its own).
fn check_checkpoint(m: &ModelConfig, group: Option<usize>) -> Result<(), Invalid> {
    let sources: Vec<&str> = [
        ("file", m.file.is_some()),
        ("gguf", m.gguf.is_some()),
        ("hf", m.hf.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
    .collect();
    let invalid = |key: &str, message: String| Invalid {
        key: key.into(),
        group,
        message,
    };
    if sources.len() > 1 {
        return Err(invalid(
            sources[1],
            format!(
                "a model has one source; `{}` and `{}` are both set",
                sources[0], sources[1]
            ),
        ));
    }
    let Some(&source) = sources.first().filter(|s| **s != "file") else {
        return Ok(());
    };
    match knobs_set(m).next() {
        Some(key) => Err(invalid(
            key,
            format!("`{key}` is a knob of the synthetic GPT; a `{source}` checkpoint has its own"),
        )),
        None => Ok(()),
    }
}

/// The synthetic GPT's knobs (and a model file's `dims`) that `m` sets.
fn knobs_set(m: &ModelConfig) -> impl Iterator<Item = &'static str> {
    [
        ("vocab_size", m.vocab_size.is_some()),
        ("hidden", m.hidden.is_some()),
        ("layers", m.layers.is_some()),
        ("heads", m.heads.is_some()),
        ("max_seq", m.max_seq.is_some()),
        ("seed", m.seed.is_some()),
        ("dims", m.dims.is_some()),
    ]
    .into_iter()
    .filter_map(|(key, set)| set.then_some(key))
}

fn checkpoint(m: &ModelConfig) -> Option<LlamaCheckpoint> {
    let (format, path) = match (&m.gguf, &m.hf) {
        (Some(path), _) => (CheckpointFormat::Gguf, path),
        (None, Some(path)) => (CheckpointFormat::Hf, path),
        (None, None) => return None,
    };
    Some(LlamaCheckpoint {
        format,
        path: path.clone(),
    })
}

/// The models a group sweeps: one for a checkpoint or a model file, else
/// one synthetic GPT per combination of its knobs.
pub(super) fn model_variants(m: &ModelConfig) -> Vec<ModelCase> {
    if let Some(llama) = checkpoint(m) {
        let stem = llama
            .path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or("model");
        return vec![ModelCase {
            name: m.name.clone().unwrap_or_else(|| stem.to_string()),
            spec: DEFAULT_SPEC,
            file: None,
            llama: Some(llama),
            encoder: None,
        }];
    }
    if let Some(path) = &m.file {
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("model");
        return vec![ModelCase {
            name: m.name.clone().unwrap_or_else(|| stem.to_string()),
            spec: DEFAULT_SPEC,
            file: Some(ModelFile {
                path: path.clone(),
                dims: m.dims.clone().unwrap_or_default(),
                vocab_size: m.vocab_size.as_ref().and_then(|a| a.0.first().copied()),
            }),
            llama: None,
            encoder: None,
        }];
    }
    let d = DEFAULT_SPEC;
    let list =
        |a: &Option<Axis<usize>>, v: usize| a.as_ref().map_or_else(|| vec![v], |a| a.0.clone());
    let sizes = [
        list(&m.vocab_size, d.vocab_size),
        list(&m.hidden, d.hidden),
        list(&m.layers, d.layers),
        list(&m.heads, d.heads),
        list(&m.max_seq, d.max_seq),
    ];
    let seeds = m
        .seed
        .as_ref()
        .map_or_else(|| vec![d.seed], |a| a.0.clone());
    let [v, h, l, nh, t] = sizes.each_ref().map(Vec::len);
    let mut out: Vec<ModelCase> = grid([v, h, l, nh, t, seeds.len()])
        .map(|[v, h, l, nh, t, seed]| ModelCase {
            name: String::new(),
            spec: GptSpec {
                vocab_size: sizes[0][v],
                hidden: sizes[1][h],
                layers: sizes[2][l],
                heads: sizes[3][nh],
                max_seq: sizes[4][t],
                seed: seeds[seed],
            },
            file: None,
            llama: None,
            encoder: None,
        })
        .collect();
    // A custom name labels a single model; sweeps get one label per variant.
    let single = out.len() == 1;
    for mc in &mut out {
        let s = mc.spec;
        let auto = format!("gpt-v{}-h{}-l{}", s.vocab_size, s.hidden, s.layers);
        mc.name = match (&m.name, single) {
            (Some(name), true) => name.clone(),
            (Some(name), false) => format!("{name}-v{}-h{}-l{}", s.vocab_size, s.hidden, s.layers),
            (None, _) => auto,
        };
    }
    out
}

/// How many model variants `m` sweeps, counted without building them.
pub(super) fn model_variant_count(m: &ModelConfig) -> usize {
    if m.file.is_some() {
        return 1;
    }
    let len = |a: &Option<Axis<usize>>| a.as_ref().map_or(1, |a| a.0.len());
    [
        len(&m.vocab_size),
        len(&m.hidden),
        len(&m.layers),
        len(&m.heads),
        len(&m.max_seq),
        m.seed.as_ref().map_or(1, |a| a.0.len()),
    ]
    .into_iter()
    .fold(1, usize::saturating_mul)
}
