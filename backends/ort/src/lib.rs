//! inferbench backend adapter for ONNX Runtime, loaded at run time from
//! `libonnxruntime` (see [`library`] for where it is looked up).
//!
//! The synthetic GPT is exported to an `.onnx` file by inferbench's own
//! writer ([`onnx`]) from the same safetensors weights candle reads, and
//! cached beside them; a model file named in a scenario runs as it is.

mod decoder;
pub mod library;
mod matmul;
pub mod onnx;
mod options;
mod session;

use inferbench_backend::{
    Backend, BackendError, BackendStatus, Capabilities, CaseContext, Device, LoadOptions, Matmul,
    MatmulSpec, ModelFormat, ModelKind, ModelSource, OptionSpec, Precision, Session, Support,
};
use ort::session::Session as OrtSessionHandle;
use std::path::PathBuf;

use onnx::{Export, ExportSource, ExportedModel, WeightFormat};
pub use options::{OPTIONS, SessionConfig};
use session::{DecoderSource, OrtSession};

#[derive(Debug, Default)]
pub struct OrtBackend;

impl Backend for OrtBackend {
    fn name(&self) -> &'static str {
        "ort"
    }

    fn options(&self) -> &'static [OptionSpec] {
        OPTIONS
    }

    fn capabilities(&self) -> Capabilities {
        Capabilities {
            models: &[
                ModelKind::SyntheticGpt,
                ModelKind::Llama,
                ModelKind::Bert,
                ModelKind::File(ModelFormat::Onnx),
            ],
            logits: true,
            decoder: true,
            endpoint: false,
        }
    }

    fn warnings(&self, case: &CaseContext<'_>) -> Vec<String> {
        // ONNX Runtime's pool threads spin while idle; on every core they
        // compete with the work being measured.
        let spinning = case.options.get("spinning").map(String::as_str) == Some("true");
        if spinning && case.threads >= case.cores {
            vec![format!(
                "ONNX Runtime threads spin while idle and the case uses all {} cores; spinning competes with the measured work. Set `[options.ort] spinning = false` (the default) or use fewer `threads`.",
                case.cores
            )]
        } else {
            Vec::new()
        }
    }

    fn status(&self) -> BackendStatus {
        match library::runtime() {
            Ok(rt) => BackendStatus::Ready {
                runtime_version: format!("onnxruntime {} ({})", rt.version, rt.path.display()),
            },
            Err(u) => BackendStatus::Unavailable {
                reason: u.reason,
                hint: u.hint,
            },
        }
    }

    fn supports(&self, device: Device, precision: Precision) -> Support {
        if !device.is_cpu() && !cfg!(feature = "cuda") {
            return Support::No(format!("{}, not {device}", options::CUDA_NOT_COMPILED));
        }
        // inferbench's ONNX writer exports f32, f16 and dynamically
        // quantized int8 graphs; GGUF's block formats are candle's.
        match weight_format(precision) {
            Some(_) => Support::Yes,
            None => Support::No(format!(
                "the ort backend exports f32, f16 and int8 graphs, not {precision}"
            )),
        }
    }

    fn matmul(&self, spec: &MatmulSpec) -> Result<Box<dyn Matmul>, BackendError> {
        Ok(Box::new(matmul::OrtMatmul::new(spec)?))
    }

    fn open(
        &self,
        model: &ModelSource,
        options: &LoadOptions,
    ) -> Result<Box<dyn Session>, BackendError> {
        library::runtime().map_err(|u| BackendError::Unavailable {
            reason: u.reason,
            hint: u.hint,
        })?;
        let config = SessionConfig::parse(&options.options, options.threads, options.device)?;
        let format = weight_format(options.precision).unwrap_or(WeightFormat::F32);
        let exported = |model: ExportedModel, weights: &PathBuf, cache_dir: &PathBuf| {
            let source = ExportSource {
                model,
                weights: weights.clone(),
                cache_dir: cache_dir.clone(),
            };
            export(source, format, &config)
        };
        let (path, decoder, weight_bytes) = match model {
            ModelSource::SyntheticGpt {
                spec,
                weights,
                cache_dir,
            } => exported(ExportedModel::SyntheticGpt(*spec), weights, cache_dir)?,
            ModelSource::Llama {
                config,
                weights,
                cache_dir,
                ..
            } => exported(
                ExportedModel::Llama(Box::new(config.clone())),
                weights,
                cache_dir,
            )?,
            ModelSource::File {
                path,
                format: ModelFormat::Onnx,
            } => (path.clone(), None, None),
            ModelSource::Bert {
                config: bert,
                weights,
                pooling,
                cache_dir,
            } => {
                let path = onnx::ensure_bert_onnx(bert, *pooling, weights, cache_dir, format)?;
                let session = open_session(&config, &path)?;
                let file_bytes = std::fs::metadata(&path).ok().map(|m| m.len());
                let weight_bytes = Some(onnx::bert_weight_bytes(bert, format));
                let session = OrtSession::new(session, None, weight_bytes, file_bytes);
                return Ok(Box::new(session.with_encoder(bert.clone())));
            }
            ModelSource::File { format, .. } => {
                return Err(BackendError::Unsupported(format!(
                    "ONNX Runtime does not run {} model files",
                    format.as_str()
                )));
            }
        };
        let session = open_session(&config, &path)?;
        let file_bytes = std::fs::metadata(&path).ok().map(|m| m.len());
        Ok(Box::new(OrtSession::new(
            session,
            decoder,
            weight_bytes,
            file_bytes,
        )))
    }
}

/// The forward graph of an exported model in `format` (written to its
/// cache on first use), where its decoder graph comes from, and the bytes
/// its weights take in ORT's memory.
fn export(
    source: ExportSource,
    format: WeightFormat,
    config: &SessionConfig,
) -> Result<(PathBuf, Option<DecoderSource>, Option<u64>), BackendError> {
    let path = source.ensure(Export {
        format,
        kv_cache: false,
    })?;
    // ORT's constant folding (every level but `disable`) turns the f16
    // weights' Casts into f32 initializers at load.
    let in_memory = if format == WeightFormat::F16 && config.optimization != "disable" {
        WeightFormat::F32
    } else {
        format
    };
    let weight_bytes = source.weight_bytes(in_memory);
    let decoder = DecoderSource {
        source,
        format,
        config: config.clone(),
    };
    Ok((path, Some(decoder), Some(weight_bytes)))
}

/// The exported graph's weight format for a precision, if ORT runs it.
fn weight_format(precision: Precision) -> Option<WeightFormat> {
    match precision {
        Precision::F32 => Some(WeightFormat::F32),
        Precision::F16 => Some(WeightFormat::F16),
        Precision::Int8 => Some(WeightFormat::Int8),
        _ => None,
    }
}

/// An ORT session over `path`, built with the case's options.
fn open_session(
    config: &SessionConfig,
    path: &std::path::Path,
) -> Result<OrtSessionHandle, BackendError> {
    let runtime = library::runtime().map_err(|u| BackendError::Unavailable {
        reason: u.reason,
        hint: u.hint,
    })?;
    let builder = OrtSessionHandle::builder(&runtime.environment)
        .map_err(|e| BackendError::Load(format!("ONNX Runtime session builder: {e}")))?;
    let mut builder = config.apply(builder)?;
    builder
        .commit_from_file(path)
        .map_err(|e| BackendError::ModelFile {
            path: path.to_path_buf(),
            message: format!("ONNX Runtime cannot load it: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use inferbench_backend::{ElementType, InputDim, NamedTensor, TensorData};
    use prost::Message;

    use super::*;
    use crate::onnx::proto::DataType;
    use crate::onnx::{Dim, GraphBuilder, attr_int, model};

    /// `y = float(x) * 2` for `x: float16[batch, 3]`.
    fn half_model(dir: &std::path::Path) -> std::path::PathBuf {
        let mut g = GraphBuilder::new();
        let dims = [Dim::Named("batch".into()), Dim::Fixed(3)];
        g.input("x", DataType::Float16, &dims);
        let two = g.initializer(onnx::f32_tensor("two", &[], &[2.0]));
        let x = g.node(
            "Cast",
            "x32",
            &["x"],
            vec![attr_int("to", DataType::Float as i64)],
        );
        g.node("Mul", "y", &[&x, &two], vec![]);
        g.rename_last_output("y");
        g.output("y", DataType::Float, &dims);
        let path = dir.join("half.onnx");
        std::fs::write(&path, model(g.finish("half"), "test").encode_to_vec()).unwrap();
        path
    }

    /// Casts in a model file, and in the model ONNX Runtime actually runs
    /// after its CPU provider took the nodes it has kernels for (saved with
    /// optimizations off, so only required transformations apply).
    fn casts_before_and_after_ort(model: &crate::onnx::proto::ModelProto) -> (usize, usize) {
        let dir = tempfile::tempdir().unwrap();
        let (path, saved) = (dir.path().join("m.onnx"), dir.path().join("ran.onnx"));
        std::fs::write(&path, model.encode_to_vec()).unwrap();
        let runtime = library::runtime().expect("run `bash ci/setup.sh`");
        OrtSessionHandle::builder(&runtime.environment)
            .unwrap()
            .with_optimization_level(ort::session::builder::GraphOptimizationLevel::Disable)
            .unwrap()
            .with_optimized_model_path(&saved)
            .unwrap()
            .commit_from_file(&path)
            .unwrap();
        let ran = crate::onnx::proto::ModelProto::decode(std::fs::read(&saved).unwrap().as_slice())
            .unwrap();
        let casts = |m: &crate::onnx::proto::ModelProto| {
            let g = m.graph.as_ref().unwrap();
            g.node.iter().filter(|n| n.op_type == "Cast").count()
        };
        (casts(model), casts(&ran))
    }

    #[test]
    fn the_f16_graph_runs_without_casts_added_by_onnx_runtime() {
        // ORT's InsertCastTransformer wraps each float16 node its CPU
        // provider has no f16 kernel for in Casts to f32. The writer casts
        // around LayerNormalization and Softmax itself, so none are added.
        let spec = onnx::gpt_tests::spec();
        let weights = onnx::gpt_tests::weights(&spec);
        for kv_cache in [false, true] {
            let export = onnx::Export {
                format: onnx::WeightFormat::F16,
                kv_cache,
            };
            let model = onnx::gpt_graph(&spec, &weights, export).unwrap();
            let (ours, ran) = casts_before_and_after_ort(&model);
            // One per stored weight (wte, wpe, 4 linear weights and 4
            // biases per layer, lm_head), and in the decoder 4 per layer
            // around the f16 cache.
            let cache = if kv_cache { 4 * spec.layers } else { 0 };
            assert_eq!(ours, 3 + 8 * spec.layers + cache);
            assert_eq!(ran, ours, "kv_cache {kv_cache}");
        }
    }

    #[test]
    fn runs_a_float16_input_model_file() {
        // Needs the library from `ci/setup.sh` (found through the source tree).
        let dir = tempfile::tempdir().unwrap();
        let source = ModelSource::File {
            path: half_model(dir.path()),
            format: ModelFormat::Onnx,
        };
        let options = LoadOptions {
            device: Device::Cpu,
            precision: Precision::F32,
            threads: 1,
            options: BTreeMap::new(),
        };
        let mut session = OrtBackend
            .load(&source, &options)
            .expect("run `bash ci/setup.sh`");
        let inputs = session.inputs();
        assert_eq!(inputs[0].element_type, Ok(ElementType::F16));
        assert_eq!(
            inputs[0].dims,
            [InputDim::Symbolic("batch".into()), InputDim::Fixed(3)]
        );
        session
            .prepare_named(&[NamedTensor {
                name: "x".into(),
                element_type: ElementType::F16,
                shape: vec![2, 3],
                // 0.1 is not a float16: it arrives rounded to one.
                data: TensorData::Float(vec![0.5, -1.0, 0.1, 3.0, 1024.0, 0.0]),
            }])
            .unwrap();
        session.run().unwrap();
        let out = session.outputs().unwrap();
        assert_eq!(
            (out[0].name.as_str(), out[0].shape.as_slice()),
            ("y", [2, 3].as_slice())
        );
        assert_eq!(
            out[0].data,
            [
                1.0,
                -2.0,
                2.0 * half::f16::from_f32(0.1).to_f32(),
                6.0,
                2048.0,
                0.0
            ]
        );
        // Token batches are for the synthetic GPT only.
        let tokens = inferbench_backend::TokenBatch {
            batch: 1,
            seq_len: 1,
            ids: vec![0],
        };
        assert!(session.prepare(&tokens).is_err());
    }
}
