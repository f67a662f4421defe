//! ONNX Runtime session options from a scenario's `[options.ort]` table:
//! declared in [`OPTIONS`] (which the harness checks at `validate` time and
//! writes into the reference docs), parsed here at load.

use std::collections::BTreeMap;

use inferbench_backend::{BackendError, Device, OptionKind, OptionSpec, check_options};
use ort::session::builder::{GraphOptimizationLevel, SessionBuilder};

const AT_LEAST_ONE: OptionKind = OptionKind::Integer {
    min: 1,
    max: u64::MAX,
};

pub const OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: "intra_op_threads",
        kind: AT_LEAST_ONE,
        doc: "Threads inside one operator (default: the case's `threads`).",
    },
    OptionSpec {
        key: "inter_op_threads",
        kind: AT_LEAST_ONE,
        doc: "Threads across independent operators, used only in the parallel execution mode (default 1).",
    },
    OptionSpec {
        key: "execution_mode",
        kind: OptionKind::Choice(&["sequential", "parallel"]),
        doc: "Operators one at a time (default) or independent ones in parallel.",
    },
    OptionSpec {
        key: "graph_optimization",
        kind: OptionKind::Choice(&["disable", "basic", "extended", "layout", "all"]),
        doc: "Graph optimization level (default `all`, ORT's own default `ORT_ENABLE_ALL`).",
    },
    OptionSpec {
        key: "spinning",
        kind: OptionKind::Bool,
        doc: "Whether idle pool threads spin waiting for work (default `false`: on a shared machine spinning threads steal the cores the measured work needs; ORT's own default is `true`).",
    },
    OptionSpec {
        key: "execution_provider",
        kind: OptionKind::Choice(&["cpu", "cuda"]),
        doc: "Execution provider (default: from the case's device).",
    },
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Provider {
    Cpu,
    Cuda(usize),
}

#[derive(Debug, Clone, PartialEq)]
pub struct SessionConfig {
    pub intra_threads: usize,
    pub inter_threads: usize,
    pub parallel: bool,
    pub optimization: &'static str,
    pub spinning: bool,
    pub provider: Provider,
}

fn count(key: &str, value: &str) -> Result<usize, BackendError> {
    value
        .parse::<usize>()
        .map_err(|e| BackendError::Load(format!("option `ort.{key}` = `{value}` is invalid: {e}")))
}

impl SessionConfig {
    pub fn parse(
        options: &BTreeMap<String, String>,
        threads: usize,
        device: Device,
    ) -> Result<Self, BackendError> {
        let mut config = SessionConfig {
            intra_threads: threads,
            inter_threads: 1,
            parallel: false,
            optimization: "all",
            spinning: false,
            provider: match device {
                Device::Cpu => Provider::Cpu,
                Device::Cuda(n) => Provider::Cuda(n),
            },
        };
        // Every key and value is one `OPTIONS` declares; the arms below
        // only turn them into settings.
        check_options(
            "ort",
            OPTIONS,
            options.iter().map(|(k, v)| (k.as_str(), v.clone())),
        )
        .map_err(|(_, message)| BackendError::Load(message))?;
        for (key, value) in options {
            match (key.as_str(), value.as_str()) {
                ("intra_op_threads", v) => config.intra_threads = count(key, v)?,
                ("inter_op_threads", v) => config.inter_threads = count(key, v)?,
                ("execution_mode", v) => config.parallel = v == "parallel",
                ("graph_optimization", v) => {
                    config.optimization = ["disable", "basic", "extended", "layout"]
                        .into_iter()
                        .find(|l| *l == v)
                        .unwrap_or("all")
                }
                ("spinning", v) => config.spinning = v == "true",
                ("execution_provider", "cpu") => config.provider = Provider::Cpu,
                ("execution_provider", _) => {
                    config.provider = Provider::Cuda(match device {
                        Device::Cuda(n) => n,
                        Device::Cpu => 0,
                    })
                }
                _ => {}
            }
        }
        Ok(config)
    }

    fn level(&self) -> GraphOptimizationLevel {
        match self.optimization {
            "disable" => GraphOptimizationLevel::Disable,
            "basic" => GraphOptimizationLevel::Level1,
            "extended" => GraphOptimizationLevel::Level2,
            "layout" => GraphOptimizationLevel::Level3,
            _ => GraphOptimizationLevel::All,
        }
    }

    /// Applies every option to a session builder.
    pub fn apply(&self, builder: SessionBuilder) -> Result<SessionBuilder, BackendError> {
        let err = |e: ort::Error| BackendError::Load(format!("ONNX Runtime session options: {e}"));
        let builder = builder
            .with_intra_threads(self.intra_threads)
            .map_err(|e| err(e.into()))?
            .with_inter_threads(self.inter_threads)
            .map_err(|e| err(e.into()))?
            .with_parallel_execution(self.parallel)
            .map_err(|e| err(e.into()))?
            .with_optimization_level(self.level())
            .map_err(|e| err(e.into()))?
            .with_intra_op_spinning(self.spinning)
            .map_err(|e| err(e.into()))?
            .with_inter_op_spinning(self.spinning)
            .map_err(|e| err(e.into()))?;
        self.with_provider(builder)
    }

    #[cfg(feature = "cuda")]
    fn with_provider(&self, builder: SessionBuilder) -> Result<SessionBuilder, BackendError> {
        use ort::ep::ExecutionProvider as _;
        match self.provider {
            Provider::Cpu => Ok(builder),
            Provider::Cuda(n) => {
                let cuda = ort::ep::CUDA::default().with_device_id(n as i32);
                if !ort::ep::CUDA::is_available().unwrap_or(false) {
                    return Err(BackendError::Unsupported(
                        "this ONNX Runtime library has no CUDA execution provider (install the onnxruntime-gpu build)".into(),
                    ));
                }
                builder
                    .with_execution_providers([cuda.build().error_on_failure()])
                    .map_err(|e| BackendError::Load(format!("CUDA execution provider: {e}")))
            }
        }
    }

    #[cfg(not(feature = "cuda"))]
    fn with_provider(&self, builder: SessionBuilder) -> Result<SessionBuilder, BackendError> {
        match self.provider {
            Provider::Cpu => Ok(builder),
            Provider::Cuda(_) => Err(BackendError::Unsupported(CUDA_NOT_COMPILED.into())),
        }
    }
}

pub const CUDA_NOT_COMPILED: &str =
    "inferbench-ort was built without its `cuda` feature, so ONNX Runtime runs on cpu only";

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(pairs: &[(&str, &str)]) -> Result<SessionConfig, BackendError> {
        let map = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        SessionConfig::parse(&map, 3, Device::Cpu)
    }

    #[test]
    fn defaults_follow_the_case() {
        let c = parse(&[]).unwrap();
        assert_eq!((c.intra_threads, c.inter_threads), (3, 1));
        assert!(!c.spinning && !c.parallel);
        assert_eq!((c.optimization, c.provider), ("all", Provider::Cpu));
    }

    #[test]
    fn options_override() {
        let c = parse(&[
            ("intra_op_threads", "2"),
            ("inter_op_threads", "4"),
            ("execution_mode", "parallel"),
            ("graph_optimization", "basic"),
            ("spinning", "true"),
        ])
        .unwrap();
        assert_eq!((c.intra_threads, c.inter_threads), (2, 4));
        assert!(c.spinning && c.parallel);
        assert_eq!(c.level(), GraphOptimizationLevel::Level1);
    }

    #[test]
    fn bad_options_say_what_is_expected() {
        let e = parse(&[("graph_optimisation", "all")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains(
                "unknown ort option `graph_optimisation`, did you mean `graph_optimization`?"
            ),
            "{e}"
        );
        let e = parse(&[("execution_provider", "tpu")])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("`ort.execution_provider` = `tpu`") && e.contains("`cpu` or `cuda`"),
            "{e}"
        );
        let e = parse(&[("intra_op_threads", "0")]).unwrap_err().to_string();
        assert!(e.contains("at least 1"), "{e}");
    }
}
