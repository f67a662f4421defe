//! Reads named tensors from a safetensors file one at a time (seek and
//! read), widened to f32, so loading holds the weights once, not the file
//! plus the weights. Format: <https://github.com/huggingface/safetensors#format>.

use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::ModelError;

struct Entry {
    dtype: String,
    shape: Vec<usize>,
    begin: u64,
    end: u64,
}

/// An open safetensors file: its directory of tensors and the file.
pub struct SafetensorsFile {
    path: PathBuf,
    file: File,
    data_start: u64,
    entries: HashMap<String, Entry>,
}

impl SafetensorsFile {
    pub fn open(path: &Path) -> Result<Self, ModelError> {
        let io = |e| ModelError::io(path, e);
        let mut file = File::open(path).map_err(io)?;
        let file_len = file.metadata().map_err(io)?.len();
        let mut len = [0u8; 8];
        file.read_exact(&mut len)
            .map_err(|_| ModelError::invalid(path, "truncated: no safetensors header"))?;
        let len = u64::from_le_bytes(len);
        if len > file_len.saturating_sub(8) {
            return Err(ModelError::invalid(
                path,
                format!("truncated: header of {len} bytes, file of {file_len}"),
            ));
        }
        let mut header = vec![0u8; len as usize];
        file.read_exact(&mut header).map_err(io)?;
        let header: Value = serde_json::from_slice(&header)
            .map_err(|e| ModelError::invalid(path, format!("header is not JSON: {e}")))?;
        let mut entries = HashMap::new();
        for (name, info) in header.as_object().into_iter().flatten() {
            if name == "__metadata__" {
                continue;
            }
            let entry = parse_entry(info).ok_or_else(|| {
                ModelError::invalid(path, format!("tensor `{name}`: bad header entry"))
            })?;
            if 8 + len + entry.end > file_len {
                return Err(ModelError::invalid(
                    path,
                    format!("truncated: tensor `{name}` extends past the end of the file"),
                ));
            }
            entries.insert(name.clone(), entry);
        }
        Ok(SafetensorsFile {
            path: path.to_path_buf(),
            file,
            data_start: 8 + len,
            entries,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn contains(&self, name: &str) -> bool {
        self.entries.contains_key(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(String::as_str)
    }

    /// Reads tensor `name`, which must have `shape`, widened to f32 from
    /// F32, F16, BF16 or F64 (F64 rounded to nearest).
    pub fn read_f32(&mut self, name: &str, shape: &[usize]) -> Result<Vec<f32>, ModelError> {
        let path = self.path.clone();
        let invalid = |m: String| ModelError::invalid(&path, format!("tensor `{name}` {m}"));
        let entry = self
            .entries
            .get(name)
            .ok_or_else(|| invalid("missing".into()))?;
        if entry.shape != shape {
            return Err(invalid(format!(
                "has shape {:?}, expected {shape:?}",
                entry.shape
            )));
        }
        let width = match entry.dtype.as_str() {
            "F32" => 4,
            "F16" | "BF16" => 2,
            "F64" => 8,
            other => {
                return Err(invalid(format!(
                    "has dtype {other}; supported: F32, F16, BF16, F64"
                )));
            }
        };
        let count: usize = shape.iter().product();
        if entry.end.checked_sub(entry.begin) != Some(count as u64 * width) {
            return Err(invalid(
                "has data_offsets that do not match its shape".into(),
            ));
        }
        let mut bytes = vec![0u8; count * width as usize];
        self.file
            .seek(SeekFrom::Start(self.data_start + entry.begin))
            .and_then(|_| self.file.read_exact(&mut bytes))
            .map_err(|e| ModelError::io(&path, e))?;
        Ok(widen(&entry.dtype, &bytes))
    }
}

fn widen(dtype: &str, bytes: &[u8]) -> Vec<f32> {
    match dtype {
        "F32" => bytes
            .chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect(),
        "F16" => bytes
            .chunks_exact(2)
            .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        "BF16" => bytes
            .chunks_exact(2)
            .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
            .collect(),
        _ => bytes
            .chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect(),
    }
}

fn parse_entry(info: &Value) -> Option<Entry> {
    let offsets = info.get("data_offsets")?.as_array()?;
    Some(Entry {
        dtype: info.get("dtype")?.as_str()?.to_string(),
        shape: info
            .get("shape")?
            .as_array()?
            .iter()
            .map(|d| d.as_u64().map(|d| d as usize))
            .collect::<Option<_>>()?,
        begin: offsets.first()?.as_u64()?,
        end: offsets.get(1)?.as_u64()?,
    })
}
