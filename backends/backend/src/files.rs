//! The files every crate reads and writes the same way: f32 safetensors
//! weights (the shared form of every model's numbers), written atomically.

use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

use crate::BackendError;
use crate::cache::write_atomically;

/// Tensors by name: shape and row-major f32 values.
pub type F32Tensors = BTreeMap<String, (Vec<usize>, Vec<f32>)>;

/// Every tensor of a safetensors file whose tensors are all f32; anything
/// else is an error that names the file (and the tensor).
pub fn read_f32_safetensors(path: &Path) -> Result<F32Tensors, BackendError> {
    let err = |message: String| BackendError::ModelFile {
        path: path.to_path_buf(),
        message,
    };
    let bytes = fs::read(path).map_err(|e| err(e.to_string()))?;
    let st = safetensors::SafeTensors::deserialize(&bytes).map_err(|e| err(e.to_string()))?;
    let mut out = BTreeMap::new();
    for (name, view) in st.tensors() {
        if view.dtype() != safetensors::Dtype::F32 {
            return Err(err(format!(
                "tensor `{name}` is {:?}, expected F32",
                view.dtype()
            )));
        }
        let data = view
            .data()
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        out.insert(name, (view.shape().to_vec(), data));
    }
    Ok(out)
}

/// Writes f32 tensors as a safetensors file, atomically.
pub fn write_f32_safetensors(path: &Path, tensors: &F32Tensors) -> io::Result<()> {
    let raw: Vec<(&str, Vec<u8>, &[usize])> = tensors
        .iter()
        .map(|(name, (shape, data))| {
            let bytes = data.iter().flat_map(|x| x.to_le_bytes()).collect();
            (name.as_str(), bytes, shape.as_slice())
        })
        .collect();
    let views = raw
        .iter()
        .map(|(name, bytes, shape)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.to_vec(), bytes)
                .map(|v| (*name, v))
        })
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let bytes = safetensors::serialize(views, None).map_err(|e| io::Error::other(e.to_string()))?;
    write_atomically(path, &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_the_file_when_corrupt() {
        let dir = std::env::temp_dir().join(format!("inferbench-files-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("w.safetensors");
        let mut tensors = F32Tensors::new();
        tensors.insert("a".into(), (vec![2, 1], vec![1.5, -2.0]));
        write_f32_safetensors(&path, &tensors).unwrap();
        assert_eq!(read_f32_safetensors(&path).unwrap(), tensors);
        fs::write(&path, b"not safetensors").unwrap();
        let e = read_f32_safetensors(&path).unwrap_err().to_string();
        assert!(e.contains("w.safetensors"), "{e}");
        fs::remove_dir_all(&dir).unwrap();
    }
}
