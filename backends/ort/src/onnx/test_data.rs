//! Tensors stored as serialized `TensorProto` files, the layout ONNX uses
//! for test data (`test_data_set_0/input_0.pb`, `output_0.pb`, ...; see
//! onnx/docs/OnnxBackendTest.md). inferbench reads them as golden outputs.

use std::fs;
use std::path::Path;

use half::f16;
use inferbench_backend::{ElementType, NamedTensor, TensorData};
use prost::Message;

use super::proto::{DataType, TensorProto};

/// Reads one `.pb` tensor file.
pub fn read_tensor(path: &Path) -> Result<NamedTensor, String> {
    let bytes = fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    let proto = TensorProto::decode(bytes.as_slice())
        .map_err(|e| format!("{} is not a TensorProto: {e}", path.display()))?;
    decode(&proto).map_err(|e| format!("{}: {e}", path.display()))
}

/// Writes one `.pb` tensor file.
pub fn write_tensor(path: &Path, tensor: &NamedTensor) -> std::io::Result<()> {
    fs::write(path, encode(tensor).encode_to_vec())
}

pub fn encode(t: &NamedTensor) -> TensorProto {
    let (data_type, raw_data) = match (&t.data, t.element_type) {
        (TensorData::Float(v), ElementType::F16) => (
            DataType::Float16,
            v.iter()
                .flat_map(|&x| f16::from_f32(x).to_le_bytes())
                .collect(),
        ),
        (TensorData::Float(v), _) => (
            DataType::Float,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
        (TensorData::Int(v), _) => (
            DataType::Int64,
            v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ),
    };
    TensorProto {
        name: t.name.clone(),
        dims: t.shape.iter().map(|&d| d as i64).collect(),
        data_type: data_type as i32,
        raw_data,
        ..Default::default()
    }
}

pub fn decode(t: &TensorProto) -> Result<NamedTensor, String> {
    let shape: Vec<usize> = t
        .dims
        .iter()
        .map(|&d| usize::try_from(d).map_err(|_| format!("negative dimension {d}")))
        .collect::<Result<_, _>>()?;
    let n: usize = shape.iter().product();
    let raw = |width: usize| -> Option<Vec<&[u8]>> {
        (!t.raw_data.is_empty()).then(|| t.raw_data.chunks_exact(width).collect())
    };
    let (element_type, data) = match DataType::try_from(t.data_type) {
        Ok(DataType::Float) => {
            let v = match raw(4) {
                Some(c) => c
                    .iter()
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
                None => t.float_data.clone(),
            };
            (ElementType::F32, TensorData::Float(v))
        }
        Ok(DataType::Double) => {
            let v = match raw(8) {
                Some(c) => c
                    .iter()
                    .map(|b| f64::from_le_bytes(b[..8].try_into().expect("8 bytes")) as f32)
                    .collect(),
                None => t.double_data.iter().map(|&x| x as f32).collect(),
            };
            (ElementType::F32, TensorData::Float(v))
        }
        Ok(DataType::Float16) => {
            let v = match raw(2) {
                Some(c) => c
                    .iter()
                    .map(|b| f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                // onnx.proto: float16 values sit in int32_data as bit patterns.
                None => t
                    .int32_data
                    .iter()
                    .map(|&x| f16::from_bits(x as u16).to_f32())
                    .collect(),
            };
            (ElementType::F16, TensorData::Float(v))
        }
        Ok(DataType::Int64) => {
            let v = match raw(8) {
                Some(c) => c
                    .iter()
                    .map(|b| i64::from_le_bytes(b[..8].try_into().expect("8 bytes")))
                    .collect(),
                None => t.int64_data.clone(),
            };
            (ElementType::I64, TensorData::Int(v))
        }
        _ => {
            return Err(format!(
                "tensor `{}` has ONNX data type {}, expected float, float16, double or int64",
                t.name, t.data_type
            ));
        }
    };
    if data.len() != n {
        return Err(format!(
            "tensor `{}` has {} values for shape {shape:?}",
            t.name,
            data.len()
        ));
    }
    Ok(NamedTensor {
        name: t.name.clone(),
        element_type,
        shape,
        data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_element_type() {
        let dir = tempfile::tempdir().unwrap();
        for t in [
            NamedTensor {
                name: "ids".into(),
                element_type: ElementType::I64,
                shape: vec![2, 2],
                data: TensorData::Int(vec![1, -2, 3, 1 << 40]),
            },
            NamedTensor {
                name: "x".into(),
                element_type: ElementType::F32,
                shape: vec![3],
                data: TensorData::Float(vec![0.1, -2.5, 1e-30]),
            },
            NamedTensor {
                name: "h".into(),
                element_type: ElementType::F16,
                shape: vec![2],
                data: TensorData::Float(vec![0.5, -1024.0]),
            },
        ] {
            let path = dir.path().join(format!("{}.pb", t.name));
            write_tensor(&path, &t).unwrap();
            assert_eq!(read_tensor(&path).unwrap(), t);
        }
    }

    #[test]
    fn typed_fields_are_read_too() {
        let proto = TensorProto {
            name: "f".into(),
            dims: vec![2],
            data_type: DataType::Float as i32,
            float_data: vec![1.0, 2.0],
            ..Default::default()
        };
        assert_eq!(
            decode(&proto).unwrap().data,
            TensorData::Float(vec![1.0, 2.0])
        );
        let short = TensorProto {
            dims: vec![3],
            ..proto
        };
        assert!(
            decode(&short)
                .unwrap_err()
                .contains("2 values for shape [3]")
        );
    }
}
