//! Writes f32 tensors to a safetensors file one tensor at a time, so a
//! conversion holds one tensor in memory, not the model. Format:
//! <https://github.com/huggingface/safetensors#format> (u64 little-endian
//! header length, JSON header with `data_offsets` relative to the data
//! start, padded with spaces to a multiple of 8, then the data).

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use serde_json::{Map, Value, json};

use crate::ModelError;

/// Writes `tensors` (name, shape) in order; `data(i)` yields tensor `i`'s
/// values. The file appears under `path` only when complete.
pub fn write_f32_safetensors(
    path: &Path,
    tensors: &[(String, Vec<usize>)],
    metadata: &BTreeMap<String, String>,
    data: impl FnMut(usize) -> Result<Vec<f32>, ModelError>,
) -> Result<(), ModelError> {
    let tmp = crate::cache::temporary_path(path);
    let written = write_to(&tmp, tensors, metadata, data);
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    std::fs::rename(&tmp, path).map_err(|e| ModelError::io(path, e))
}

fn write_to(
    tmp: &Path,
    tensors: &[(String, Vec<usize>)],
    metadata: &BTreeMap<String, String>,
    mut data: impl FnMut(usize) -> Result<Vec<f32>, ModelError>,
) -> Result<(), ModelError> {
    let header = header_bytes(tensors, metadata);
    let io = |e| ModelError::io(tmp, e);
    let mut out = BufWriter::new(File::create(tmp).map_err(io)?);
    out.write_all(&(header.len() as u64).to_le_bytes())
        .map_err(io)?;
    out.write_all(&header).map_err(io)?;
    for (i, (name, shape)) in tensors.iter().enumerate() {
        let values = data(i)?;
        let expected: usize = shape.iter().product();
        if values.len() != expected {
            return Err(ModelError::invalid(
                tmp,
                format!(
                    "tensor `{name}`: {} values for shape {shape:?}",
                    values.len()
                ),
            ));
        }
        for chunk in values.chunks(1 << 16) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            out.write_all(&bytes).map_err(io)?;
        }
    }
    out.into_inner()
        .map_err(|e| io(e.into_error()))?
        .sync_all()
        .map_err(io)
}

fn header_bytes(tensors: &[(String, Vec<usize>)], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), json!(metadata));
    }
    let mut offset = 0usize;
    for (name, shape) in tensors {
        let bytes = shape.iter().product::<usize>() * 4;
        header.insert(
            name.clone(),
            json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + bytes]}),
        );
        offset += bytes;
    }
    let mut bytes = Value::Object(header).to_string().into_bytes();
    while !bytes.len().is_multiple_of(8) {
        bytes.push(b' ');
    }
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_safetensors_crate_reads_what_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let tensors = vec![("a".to_string(), vec![2, 3]), ("b".to_string(), vec![1])];
        let meta = BTreeMap::from([("source".to_string(), "test".to_string())]);
        write_f32_safetensors(&path, &tensors, &meta, |i| {
            Ok(if i == 0 {
                (0..6).map(|v| v as f32).collect()
            } else {
                vec![-1.5]
            })
        })
        .unwrap();
        let bytes = std::fs::read(&path).unwrap();
        let (_, header) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
        assert_eq!(header.metadata().as_ref().unwrap()["source"], "test");
        let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
        let a = file.tensor("a").unwrap();
        assert_eq!(a.shape(), &[2, 3]);
        assert_eq!(&a.data()[20..24], &5.0f32.to_le_bytes());
        assert_eq!(file.tensor("b").unwrap().data(), &(-1.5f32).to_le_bytes());
    }

    #[test]
    fn a_wrong_count_is_an_error_and_leaves_no_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("w.safetensors");
        let tensors = vec![("a".to_string(), vec![2])];
        let err = write_f32_safetensors(&path, &tensors, &BTreeMap::new(), |_| Ok(vec![1.0]))
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("tensor `a`: 1 values for shape [2]")
        );
        assert!(!path.exists());
    }
}
