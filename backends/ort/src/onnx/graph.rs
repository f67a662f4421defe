//! A small builder for ONNX graphs: nodes with fresh output names,
//! constant initializers, declared inputs and outputs.

use super::proto::{
    AttributeProto, AttributeType, DataType, Dimension, DimensionValue, GraphProto, ModelProto,
    NodeProto, OperatorSetIdProto, TensorProto, TensorShapeProto, TensorTypeProto, TypeProto,
    ValueInfoProto,
};

/// The default-domain operator set every graph inferbench writes uses.
/// Opset 17 (ONNX 1.12) is the first with `LayerNormalization`.
pub const OPSET: i64 = 17;

/// IR version 8 is the one ONNX 1.12 writes for opset 17 (onnx/docs/Versioning.md).
pub const IR_VERSION: i64 = 8;

/// One dimension of a declared input or output.
#[derive(Debug, Clone, PartialEq)]
pub enum Dim {
    Fixed(i64),
    Named(String),
}

#[derive(Default)]
pub struct GraphBuilder {
    nodes: Vec<NodeProto>,
    initializers: Vec<TensorProto>,
    inputs: Vec<ValueInfoProto>,
    outputs: Vec<ValueInfoProto>,
    next_id: usize,
}

impl GraphBuilder {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `op_type(inputs)` with one output and returns the output's name,
    /// made unique from `hint`.
    pub fn node(
        &mut self,
        op_type: &str,
        hint: &str,
        inputs: &[&str],
        attributes: Vec<AttributeProto>,
    ) -> String {
        self.next_id += 1;
        let output = format!("{hint}_{}", self.next_id);
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![output.clone()],
            name: format!("{op_type}_{}", self.next_id),
            op_type: op_type.to_string(),
            attribute: attributes,
            ..Default::default()
        });
        output
    }

    /// Adds a node with three outputs (e.g. `DynamicQuantizeLinear`'s
    /// quantized values, scale and zero point) and returns their names.
    pub fn node3(
        &mut self,
        op_type: &str,
        hint: &str,
        inputs: &[&str],
    ) -> (String, String, String) {
        self.next_id += 1;
        let id = self.next_id;
        let [a, b, c] = ["q", "scale", "zero_point"].map(|s| format!("{hint}_{s}_{id}"));
        self.nodes.push(NodeProto {
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![a.clone(), b.clone(), c.clone()],
            name: format!("{op_type}_{id}"),
            op_type: op_type.to_string(),
            ..Default::default()
        });
        (a, b, c)
    }

    /// Renames the last node's output, to give a graph output its name.
    pub fn rename_last_output(&mut self, name: &str) {
        if let Some(node) = self.nodes.last_mut() {
            node.output = vec![name.to_string()];
        }
    }

    pub fn initializer(&mut self, tensor: TensorProto) -> String {
        let name = tensor.name.clone();
        self.initializers.push(tensor);
        name
    }

    pub fn input(&mut self, name: &str, elem_type: DataType, dims: &[Dim]) {
        self.inputs.push(value_info(name, elem_type, dims));
    }

    pub fn output(&mut self, name: &str, elem_type: DataType, dims: &[Dim]) {
        self.outputs.push(value_info(name, elem_type, dims));
    }

    pub fn finish(self, name: &str) -> GraphProto {
        GraphProto {
            node: self.nodes,
            name: name.to_string(),
            initializer: self.initializers,
            input: self.inputs,
            output: self.outputs,
            ..Default::default()
        }
    }
}

/// A model around `graph` in the default domain at [`OPSET`].
pub fn model(graph: GraphProto, doc: &str) -> ModelProto {
    ModelProto {
        ir_version: IR_VERSION,
        opset_import: vec![OperatorSetIdProto {
            domain: String::new(),
            version: OPSET,
        }],
        producer_name: "inferbench".into(),
        producer_version: env!("CARGO_PKG_VERSION").into(),
        doc_string: doc.into(),
        graph: Some(graph),
        ..Default::default()
    }
}

fn value_info(name: &str, elem_type: DataType, dims: &[Dim]) -> ValueInfoProto {
    let dim = dims
        .iter()
        .map(|d| Dimension {
            value: Some(match d {
                Dim::Fixed(n) => DimensionValue::DimValue(*n),
                Dim::Named(s) => DimensionValue::DimParam(s.clone()),
            }),
        })
        .collect();
    ValueInfoProto {
        name: name.to_string(),
        r#type: Some(TypeProto {
            tensor_type: Some(TensorTypeProto {
                elem_type: elem_type as i32,
                shape: Some(TensorShapeProto { dim }),
            }),
        }),
        ..Default::default()
    }
}

/// An f32 tensor, stored little-endian in `raw_data` (onnx.proto: "raw_data
/// ... MUST be stored in little-endian order").
pub fn f32_tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float as i32,
        raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    }
}

/// A float16 tensor from f32 values (rounded to nearest), its bit patterns
/// little-endian in `raw_data`.
pub fn f16_tensor(name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Float16 as i32,
        raw_data: data
            .iter()
            .flat_map(|&x| half::f16::from_f32(x).to_le_bytes())
            .collect(),
        ..Default::default()
    }
}

/// An f32 or f16 tensor, as `elem_type` says.
pub fn float_tensor(elem_type: DataType, name: &str, dims: &[usize], data: &[f32]) -> TensorProto {
    match elem_type {
        DataType::Float16 => f16_tensor(name, dims, data),
        _ => f32_tensor(name, dims, data),
    }
}

pub fn u8_tensor(name: &str, dims: &[usize], data: &[u8]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Uint8 as i32,
        raw_data: data.to_vec(),
        ..Default::default()
    }
}

pub fn i64_tensor(name: &str, dims: &[usize], data: &[i64]) -> TensorProto {
    TensorProto {
        name: name.to_string(),
        dims: dims.iter().map(|&d| d as i64).collect(),
        data_type: DataType::Int64 as i32,
        raw_data: data.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    }
}

pub fn attr_int(name: &str, i: i64) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Int as i32,
        i,
        ..Default::default()
    }
}

pub fn attr_float(name: &str, f: f32) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Float as i32,
        f,
        ..Default::default()
    }
}

pub fn attr_ints(name: &str, ints: &[i64]) -> AttributeProto {
    AttributeProto {
        name: name.into(),
        r#type: AttributeType::Ints as i32,
        ints: ints.to_vec(),
        ..Default::default()
    }
}
