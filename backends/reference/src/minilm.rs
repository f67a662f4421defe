//! The all-MiniLM-L6-v2 fixture (`vendor/models/all-minilm-l6-v2/`, which
//! `ci/setup.sh` installs) for the encoder tests across the workspace: its
//! config, pooling and f64 reference, a padded batch mixing short and long
//! sentences, and the per-sentence cosine of a backend's embeddings with
//! the reference's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use inferbench_backend::bert::{LAST_HIDDEN_STATE, SENTENCE_EMBEDDING};
use inferbench_backend::{
    Backend, BertArch, BertConfig, Device, EncoderBatch, HostTensor, LoadOptions, ModelSource,
    PoolingMode, Precision, SentencePooling, Session,
};

use crate::bert::cosine;
use crate::{BertReference, ReferenceError};

/// `vendor/models/all-minilm-l6-v2/` in the workspace.
pub fn folder() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../vendor/models/all-minilm-l6-v2")
}

/// The fixture's weights as the harness hands them to a backend: converted
/// once (content-keyed) into one f32 file holding exactly the encoder's
/// tensors (the checkpoint also stores `position_ids` as i64 and a pooler).
pub fn weights() -> PathBuf {
    let cache = std::env::temp_dir().join("inferbench-minilm-tests");
    inferbench_models::bert_folder::convert_bert_cached(&folder(), &cache)
        .expect("the fixture converts (ci/setup.sh installs it)")
        .weights
}

/// The fixture's `config.json`.
pub fn config() -> BertConfig {
    BertConfig {
        arch: BertArch::Bert,
        vocab_size: 30522,
        hidden_size: 384,
        intermediate_size: 1536,
        num_hidden_layers: 6,
        num_attention_heads: 12,
        max_position_embeddings: 512,
        type_vocab_size: 2,
        layer_norm_eps: 1e-12,
        pad_token_id: 0,
    }
}

/// The fixture's `modules.json` + `1_Pooling/config.json`: mean, normalized.
pub fn pooling() -> SentencePooling {
    SentencePooling {
        mode: PoolingMode::Mean,
        normalize: true,
    }
}

pub fn reference() -> Result<BertReference, ReferenceError> {
    BertReference::load(&config(), &weights())
}

/// `[CLS] ... [SEP]` sentences of the given lengths (real vocabulary ids,
/// word pieces 1996..; a sentence's ids depend on its length only, so one
/// length is the same sentence in any batch), padded on the right with id 0
/// to the longest.
pub fn padded_batch(lengths: &[usize]) -> EncoderBatch {
    let seq_len = lengths.iter().copied().max().unwrap_or(0);
    let (mut ids, mut mask) = (Vec::new(), Vec::new());
    for &len in lengths {
        for t in 0..seq_len {
            let id = match t {
                0 => 101,
                t if t + 1 == len => 102,
                t if t < len => 1996 + ((t * 37 + len * 101) % 5000) as i64,
                _ => 0,
            };
            ids.push(id);
            mask.push(i64::from(t < len));
        }
    }
    EncoderBatch {
        batch: lengths.len(),
        seq_len,
        ids,
        mask,
    }
}

/// A batch mixing a short, a medium and a long sentence (4, 9 and 33 tokens).
pub fn mixed_batch() -> EncoderBatch {
    padded_batch(&[4, 33, 9])
}

/// The cosine of each sentence's embedding (`[batch, hidden]`, row-major)
/// with the reference's for the same real tokens.
pub fn embedding_cosines(
    reference: &BertReference,
    batch: &EncoderBatch,
    embeddings: &[f32],
) -> Result<Vec<f64>, ReferenceError> {
    let hidden = reference.config().hidden_size;
    let lengths = batch.lengths();
    (0..batch.batch)
        .map(|b| {
            let ids = &batch.ids[b * batch.seq_len..b * batch.seq_len + lengths[b]];
            let want = reference.embed_sentence(ids, pooling())?;
            let got: Vec<f64> = embeddings[b * hidden..(b + 1) * hidden]
                .iter()
                .map(|&v| v as f64)
                .collect();
            Ok(cosine(&got, &want))
        })
        .collect()
}

/// The fixture as the harness hands it to a backend (`cache_dir`: where
/// the backend may keep converted forms).
pub fn model_source(cache_dir: PathBuf) -> ModelSource {
    ModelSource::Bert {
        config: config(),
        weights: weights(),
        pooling: Some(pooling()),
        cache_dir,
    }
}

type TestResult<T> = Result<T, Box<dyn std::error::Error>>;

/// One forward pass of `batch`; the session's outputs.
pub fn run(session: &mut dyn Session, batch: &EncoderBatch) -> TestResult<Vec<HostTensor>> {
    session.prepare_encoder(batch)?;
    session.run()?;
    Ok(session.outputs()?)
}

/// The worst per-sentence cosine with the reference over [`mixed_batch`],
/// after checking the outputs' names and shapes.
pub fn worst_cosine(session: &mut dyn Session, reference: &BertReference) -> TestResult<f64> {
    let batch = mixed_batch();
    let outputs = run(session, &batch)?;
    let names: Vec<&str> = outputs.iter().map(|o| o.name.as_str()).collect();
    assert_eq!(names, [LAST_HIDDEN_STATE, SENTENCE_EMBEDDING]);
    assert_eq!(outputs[0].shape, [batch.batch, batch.seq_len, 384]);
    assert_eq!(outputs[1].shape, [batch.batch, 384]);
    let cosines = embedding_cosines(reference, &batch, &outputs[1].data)?;
    Ok(cosines.into_iter().fold(f64::INFINITY, f64::min))
}

/// The largest change padding makes to a sentence's embedding: the
/// 9-token sentence alone, then third in [`mixed_batch`] (padded to 33).
pub fn padding_change(session: &mut dyn Session) -> TestResult<f32> {
    let alone = run(session, &padded_batch(&[9]))?;
    let padded = run(session, &mixed_batch())?;
    let hidden = config().hidden_size;
    Ok(alone[1].data[..hidden]
        .iter()
        .zip(&padded[1].data[2 * hidden..])
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f32::max))
}

/// Loads the fixture on `backend` (cpu, one thread) at `precision`.
pub fn load(
    backend: &dyn Backend,
    precision: Precision,
    cache_dir: &Path,
) -> TestResult<Box<dyn Session>> {
    let options = LoadOptions {
        device: Device::Cpu,
        precision,
        threads: 1,
        options: BTreeMap::new(),
    };
    Ok(backend.load(&model_source(cache_dir.to_path_buf()), &options)?)
}

/// Each `(precision, least cosine)`: the worst sentence of [`mixed_batch`]
/// on `backend` is at least that close to the reference.
pub fn assert_close_to_reference(backend: &dyn Backend, cases: &[(Precision, f64)]) {
    let cache = std::env::temp_dir().join("inferbench-minilm-tests");
    let reference = reference().expect("the f64 reference loads the fixture");
    for &(precision, min) in cases {
        let worst = load(backend, precision, &cache)
            .and_then(|mut session| worst_cosine(&mut *session, &reference))
            .unwrap_or_else(|e| panic!("{} {precision}: {e}", backend.name()));
        // The figure itself, for the closing note (`--nocapture`).
        eprintln!("{} {precision}: worst cosine {worst:.9}", backend.name());
        assert!(
            worst >= min,
            "{} {precision}: worst cosine {worst} < {min}",
            backend.name()
        );
    }
}

/// Padding changes no embedding by more than `tolerance` (f32).
pub fn assert_padding_is_masked(backend: &dyn Backend, tolerance: f32) {
    let cache = std::env::temp_dir().join("inferbench-minilm-tests");
    let change = load(backend, Precision::F32, &cache)
        .and_then(|mut session| padding_change(&mut *session))
        .unwrap_or_else(|e| panic!("{}: {e}", backend.name()));
    eprintln!(
        "{}: padding changed the embedding by {change:e}",
        backend.name()
    );
    assert!(
        change <= tolerance,
        "{}: padding changed an embedding by {change}",
        backend.name()
    );
}
