//! Reference outputs kept on disk: the f64 reference costs ~0.3 GFLOP per
//! token on SmolLM2, so each sequence's logits are computed once per model
//! folder and read back after.

use std::path::Path;

use crate::ReferenceError;

/// The values `compute` returns for `ids`, from `folder/reference/` when an
/// earlier call stored them (key: `what` and the ids).
pub fn cached_values(
    folder: &Path,
    what: &str,
    ids: &[u32],
    compute: impl FnOnce() -> Result<Vec<f64>, ReferenceError>,
) -> Result<Vec<f64>, ReferenceError> {
    let ids_text: Vec<String> = ids.iter().map(u32::to_string).collect();
    let path = folder
        .join("reference")
        .join(format!("{what}-{}.f64", short_hash(&ids_text.join(","))));
    if let Ok(bytes) = std::fs::read(&path) {
        return Ok(bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")))
            .collect());
    }
    let values = compute()?;
    let dir = path.parent().expect("has a parent");
    std::fs::create_dir_all(dir).map_err(|e| inferbench_models::ModelError::io(dir, e))?;
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    inferbench_models::cache::write_atomically(&path, &bytes)?;
    Ok(values)
}

/// The logits `[ids.len(), vocab]` of one sequence, cached.
pub fn cached_logits(
    folder: &Path,
    ids: &[u32],
    compute: impl FnOnce() -> Result<Vec<f64>, ReferenceError>,
) -> Result<Vec<f64>, ReferenceError> {
    cached_values(folder, "logits", ids, compute)
}

/// The greedy continuation of `prompt` by `n` tokens, cached.
pub fn cached_greedy(
    folder: &Path,
    prompt: &[u32],
    n: usize,
    compute: impl FnOnce() -> Result<Vec<u32>, ReferenceError>,
) -> Result<Vec<u32>, ReferenceError> {
    let values = cached_values(folder, &format!("greedy{n}"), prompt, || {
        Ok(compute()?.into_iter().map(f64::from).collect())
    })?;
    Ok(values.into_iter().map(|v| v as u32).collect())
}

/// FNV-1a, 64 bits: a file name for a short key, not a security hash.
fn short_hash(text: &str) -> String {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in text.bytes() {
        h = (h ^ b as u64).wrapping_mul(0x100000001b3);
    }
    format!("{h:016x}")
}
