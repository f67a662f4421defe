//! A loaded ONNX Runtime session behind inferbench's `Session` trait.
//!
//! Inputs are built once in `prepare` and only borrowed by `run`; each run
//! lets ORT allocate its outputs, as Python's `InferenceSession.run` does,
//! and keeps them for `outputs`. The timed region is therefore ORT's
//! `Run` plus a name list, nothing the Python binding does not also do.

use half::f16;
use inferbench_backend::{
    BackendError, Decoder, ElementType, EncoderBatch, HostTensor, InputDim, InputSpec, NamedTensor,
    Session, TensorData, TokenBatch,
};
use ort::session::Session as OrtSessionHandle;
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};

use crate::SessionConfig;
use crate::decoder::OrtDecoder;
use crate::onnx::{self, Export, ExportSource, WeightFormat};

/// Where an exported model's KV-cache decoder graph comes from: written and
/// loaded on the first `decoder()` call, with the forward session's options.
#[derive(Debug, Clone)]
pub struct DecoderSource {
    pub source: ExportSource,
    pub format: WeightFormat,
    pub config: SessionConfig,
}

pub struct OrtSession {
    session: OrtSessionHandle,
    /// Set for an exported model, which takes `TokenBatch`es; a model file
    /// takes named inputs and has no decoder.
    decoder_source: Option<DecoderSource>,
    decoder_session: Option<OrtSessionHandle>,
    /// Set for an exported encoder, which takes `EncoderBatch`es
    /// (`input_ids` and `attention_mask`).
    encoder: Option<inferbench_backend::BertConfig>,
    weight_bytes: Option<u64>,
    file_bytes: Option<u64>,
    inputs: Vec<(String, DynValue)>,
    outputs: Vec<DynValue>,
}

fn run_err(e: impl std::fmt::Display) -> BackendError {
    BackendError::Run(e.to_string())
}

impl OrtSession {
    pub fn new(
        session: OrtSessionHandle,
        decoder_source: Option<DecoderSource>,
        weight_bytes: Option<u64>,
        file_bytes: Option<u64>,
    ) -> Self {
        Self {
            session,
            decoder_source,
            decoder_session: None,
            encoder: None,
            weight_bytes,
            file_bytes,
            inputs: Vec::new(),
            outputs: Vec::new(),
        }
    }
}

fn element_type(ty: TensorElementType) -> Result<ElementType, String> {
    match ty {
        TensorElementType::Float32 => Ok(ElementType::F32),
        TensorElementType::Float16 => Ok(ElementType::F16),
        TensorElementType::Int64 => Ok(ElementType::I64),
        other => Err(format!("{other:?}").to_lowercase()),
    }
}

/// One input's ORT value, in the element type the model declares.
fn to_value(t: &NamedTensor, declared: ElementType) -> Result<DynValue, BackendError> {
    let shape: Vec<i64> = t.shape.iter().map(|&d| d as i64).collect();
    let err = |e: ort::Error| BackendError::Run(format!("input `{}`: {e}", t.name));
    let value = match (&t.data, declared) {
        (TensorData::Float(v), ElementType::F32) => Tensor::from_array((shape, v.clone()))
            .map_err(err)?
            .into_dyn(),
        (TensorData::Float(v), ElementType::F16) => {
            let v: Vec<f16> = v.iter().map(|&x| f16::from_f32(x)).collect();
            Tensor::from_array((shape, v)).map_err(err)?.into_dyn()
        }
        (TensorData::Int(v), ElementType::I64) => Tensor::from_array((shape, v.clone()))
            .map_err(err)?
            .into_dyn(),
        _ => {
            return Err(BackendError::Run(format!(
                "input `{}` holds {} values but the model declares {declared}",
                t.name, t.element_type
            )));
        }
    };
    Ok(value)
}

fn to_host(name: &str, value: &DynValue) -> Result<HostTensor, BackendError> {
    let Some(ty) = value.dtype().tensor_type() else {
        return Err(BackendError::Run(format!(
            "output `{name}` is not a tensor ({:?})",
            value.dtype()
        )));
    };
    let err = |e: ort::Error| BackendError::Run(format!("output `{name}`: {e}"));
    macro_rules! widen {
        ($t:ty, $f:expr) => {{
            let (shape, data) = value.try_extract_tensor::<$t>().map_err(err)?;
            (shape.to_vec(), data.iter().map($f).collect::<Vec<f32>>())
        }};
    }
    let (shape, data) = match ty {
        TensorElementType::Float32 => widen!(f32, |&x| x),
        TensorElementType::Float16 => widen!(f16, |x| x.to_f32()),
        TensorElementType::Float64 => widen!(f64, |&x| x as f32),
        TensorElementType::Int64 => widen!(i64, |&x| x as f32),
        TensorElementType::Int32 => widen!(i32, |&x| x as f32),
        other => {
            return Err(BackendError::Run(format!(
                "output `{name}` has element type {other:?}, which inferbench cannot compare"
            )));
        }
    };
    Ok(HostTensor {
        name: name.to_string(),
        shape: shape.iter().map(|&d| d.max(0) as usize).collect(),
        data,
    })
}

impl OrtSession {
    /// The session of an exported encoder graph ([`crate::onnx::bert_graph`]).
    pub fn with_encoder(mut self, config: inferbench_backend::BertConfig) -> Self {
        self.encoder = Some(config);
        self
    }
}

impl Session for OrtSession {
    fn prepare_encoder(&mut self, input: &EncoderBatch) -> Result<(), BackendError> {
        let Some(config) = &self.encoder else {
            return Err(BackendError::Unsupported(
                "this ONNX model is not an exported encoder".into(),
            ));
        };
        input.validate(config)?;
        let shape = [input.batch, input.seq_len];
        let ids = Tensor::from_array((shape, input.ids.clone())).map_err(run_err)?;
        let mask = Tensor::from_array((shape, input.mask.clone())).map_err(run_err)?;
        self.inputs = vec![
            (onnx::INPUT_IDS.to_string(), ids.into_dyn()),
            (onnx::ATTENTION_MASK.to_string(), mask.into_dyn()),
        ];
        Ok(())
    }

    fn prepare(&mut self, input: &TokenBatch) -> Result<(), BackendError> {
        if self.encoder.is_some() {
            return self.prepare_encoder(&EncoderBatch::from(input));
        }
        let Some(source) = &self.decoder_source else {
            return Err(BackendError::Run(
                "this model file takes named inputs, not token batches".into(),
            ));
        };
        let layout = source.source.cache_layout();
        input.validate(layout.vocab_size, layout.max_positions)?;
        let ids = Tensor::from_array(([input.batch, input.seq_len], input.ids.clone()))
            .map_err(run_err)?;
        self.inputs = vec![(onnx::INPUT.to_string(), ids.into_dyn())];
        Ok(())
    }

    fn inputs(&self) -> Vec<InputSpec> {
        self.session
            .inputs()
            .iter()
            .map(|outlet| {
                let (element, dims) = match outlet.dtype() {
                    ValueType::Tensor {
                        ty,
                        shape,
                        dimension_symbols,
                    } => {
                        let dims = shape
                            .iter()
                            .enumerate()
                            .map(|(i, &d)| match dimension_symbols.get(i) {
                                _ if d >= 0 => InputDim::Fixed(d as usize),
                                Some(s) if !s.is_empty() => InputDim::Symbolic(s.clone()),
                                _ => InputDim::Unnamed,
                            })
                            .collect();
                        (element_type(*ty), dims)
                    }
                    other => (Err(format!("{other:?}")), Vec::new()),
                };
                InputSpec {
                    name: outlet.name().to_string(),
                    element_type: element,
                    dims,
                }
            })
            .collect()
    }

    fn prepare_named(&mut self, inputs: &[NamedTensor]) -> Result<(), BackendError> {
        let mut values = Vec::new();
        for spec in Session::inputs(self) {
            let tensor = inputs
                .iter()
                .find(|t| t.name == spec.name)
                .ok_or_else(|| BackendError::Run(format!("no value for input `{}`", spec.name)))?;
            let declared = spec.element_type.map_err(|ty| {
                BackendError::Run(format!("input `{}` has unsupported type {ty}", spec.name))
            })?;
            values.push((spec.name, to_value(tensor, declared)?));
        }
        self.inputs = values;
        Ok(())
    }

    fn run(&mut self) -> Result<(), BackendError> {
        if self.inputs.is_empty() && !self.session.inputs().is_empty() {
            return Err(BackendError::run_before_prepare());
        }
        let feed: Vec<(&str, &DynValue)> =
            self.inputs.iter().map(|(n, v)| (n.as_str(), v)).collect();
        let outputs = self.session.run(feed).map_err(run_err)?;
        self.outputs = outputs.into_iter().map(|(_, v)| v).collect();
        Ok(())
    }

    fn outputs(&mut self) -> Result<Vec<HostTensor>, BackendError> {
        if self.outputs.is_empty() {
            return Err(BackendError::outputs_before_run());
        }
        self.session
            .outputs()
            .iter()
            .zip(&self.outputs)
            .map(|(outlet, value)| to_host(outlet.name(), value))
            .collect()
    }

    fn weight_bytes(&self) -> Option<u64> {
        self.weight_bytes
    }

    fn model_file_bytes(&self) -> Option<u64> {
        self.file_bytes
    }

    fn decoder(&mut self) -> Result<Box<dyn Decoder + '_>, BackendError> {
        let Some(source) = &self.decoder_source else {
            return Err(BackendError::Unsupported(
                "KV-cache decoding runs on exported models, not on a model file".into(),
            ));
        };
        if self.decoder_session.is_none() {
            let path = source.source.ensure(Export {
                format: source.format,
                kv_cache: true,
            })?;
            self.decoder_session = Some(crate::open_session(&source.config, &path)?);
        }
        let session = self.decoder_session.as_mut().expect("opened above");
        Ok(Box::new(OrtDecoder::new(
            session,
            source.source.cache_layout(),
            source.format,
        )))
    }
}
