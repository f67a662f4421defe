//! A group's settings merged over the top level's: the group's value when
//! it has one, else the top level's, else the default.

use std::path::PathBuf;

use super::Invalid;
use crate::scenario::{
    AccuracyConfig, AccuracyLimits, Axis, Measurement, MeasurementConfig, ModelCase,
    ReferenceCaseConfig, ReferenceKind, Warmup, WarmupConfig,
};

pub(super) fn pick<T: Clone>(over: &Option<T>, base: &Option<T>) -> Option<T> {
    over.clone().or_else(|| base.clone())
}

/// The values of a sweep axis: as written, or the one default.
pub(super) fn axis<T: Clone>(over: &Option<Axis<T>>, base: &Option<Axis<T>>, default: T) -> Vec<T> {
    pick(over, base).map_or_else(|| vec![default], |a| a.0)
}

pub(super) fn warmup(o: Option<&WarmupConfig>, b: Option<&WarmupConfig>) -> Warmup {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    Warmup {
        iterations: o.iterations.or(b.iterations).unwrap_or(3),
        seconds: o.seconds.or(b.seconds).unwrap_or(0.5),
    }
}

pub(super) fn measurement(
    o: Option<&MeasurementConfig>,
    b: Option<&MeasurementConfig>,
) -> Measurement {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    Measurement {
        min_iterations: o.min_iterations.or(b.min_iterations).unwrap_or(10),
        min_seconds: o.min_seconds.or(b.min_seconds).unwrap_or(3.0),
        max_iterations: o.max_iterations.or(b.max_iterations).unwrap_or(100_000),
        max_seconds: o.max_seconds.or(b.max_seconds).unwrap_or(60.0),
    }
}

/// The reference settings of a group: the kind as written (if written), the
/// golden folder and the reference-case overrides.
pub(super) struct ReferenceSettings {
    kind: Option<ReferenceKind>,
    golden: Option<PathBuf>,
    case: Option<ReferenceCaseConfig>,
}

/// The reference of one model.
pub(super) struct Reference {
    pub kind: ReferenceKind,
    pub golden: Option<PathBuf>,
    pub case: Option<ReferenceCaseConfig>,
}

impl ReferenceSettings {
    /// The reference of one model, checked against what that model is.
    pub(super) fn resolve(
        &self,
        model: &ModelCase,
        group: Option<usize>,
    ) -> Result<Reference, Invalid> {
        let file = model.file.is_some();
        let kind = self.kind.unwrap_or(if file {
            ReferenceKind::None
        } else {
            ReferenceKind::F64
        });
        let bad = |message: &str| Invalid {
            key: "reference".into(),
            group,
            message: message.into(),
        };
        match kind {
            ReferenceKind::F64 if file => Err(bad(
                "the f64 reference computes the synthetic GPT only; for a model file use \
                 `reference = \"golden\"` or `reference = \"case\"`",
            )),
            ReferenceKind::Golden | ReferenceKind::Case if !file => Err(bad(
                "`golden` and `case` references are for model files; the synthetic GPT uses `f64`",
            )),
            ReferenceKind::Golden if self.golden.is_none() => Err(bad(
                "`reference = \"golden\"` needs `golden = \"folder of input_N.pb / output_N.pb\"`",
            )),
            ReferenceKind::Case if self.case.is_none() => Err(bad(
                "`reference = \"case\"` needs `[accuracy.reference_case]` (backend, device, precision or file)",
            )),
            _ => Ok(Reference {
                kind,
                golden: self.golden.clone(),
                case: self.case.clone(),
            }),
        }
    }
}

pub(super) fn accuracy(
    o: Option<&AccuracyConfig>,
    b: Option<&AccuracyConfig>,
) -> (ReferenceSettings, AccuracyLimits) {
    let (o, b) = (
        o.cloned().unwrap_or_default(),
        b.cloned().unwrap_or_default(),
    );
    let limits = AccuracyLimits {
        max_abs: o.max_abs.or(b.max_abs),
        max_rel_l2: o.max_rel_l2.or(b.max_rel_l2),
        max_kl: o.max_kl.or(b.max_kl),
        min_top1: o.min_top1.or(b.min_top1),
        min_cosine: o.min_cosine.or(b.min_cosine),
    };
    let reference = ReferenceSettings {
        kind: o.reference.or(b.reference),
        golden: o.golden.or(b.golden),
        case: o.reference_case.or(b.reference_case),
    };
    (reference, limits)
}
