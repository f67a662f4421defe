//! Serde for `f64` that keeps NaN and ±inf. JSON has no literal for them and
//! serde_json writes them as `null`, which a plain `f64` field cannot read
//! back: a worker whose model produced NaN lost its whole report, and a run
//! holding one could not be compared or exported. Finite values stay JSON
//! numbers; the others are the strings `"NaN"`, `"inf"` and `"-inf"`. An
//! older file's `null` reads as NaN (what it stood for).
//!
//! Use with `#[serde(with = "crate::results::float")]` on an `f64` field and
//! `#[serde(default, with = "crate::results::float::option")]` on an
//! `Option<f64>` one.

use std::fmt;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

fn non_finite_name(v: f64) -> &'static str {
    if v.is_nan() {
        "NaN"
    } else if v > 0.0 {
        "inf"
    } else {
        "-inf"
    }
}

pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
    if v.is_finite() {
        s.serialize_f64(*v)
    } else {
        s.serialize_str(non_finite_name(*v))
    }
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
    d.deserialize_any(AnyF64).map(|v| v.unwrap_or(f64::NAN))
}

/// A number, one of the non-finite names, or null (`None`).
struct AnyF64;

impl<'de> Visitor<'de> for AnyF64 {
    type Value = Option<f64>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"inf\", \"-inf\" or null")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v as f64))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        match v {
            "NaN" => Ok(Some(f64::NAN)),
            "inf" => Ok(Some(f64::INFINITY)),
            "-inf" => Ok(Some(f64::NEG_INFINITY)),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
}

/// The same for `Option<f64>`: `None` is `null`, `Some(NaN)` is `"NaN"`.
pub mod option {
    use super::*;

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => super::serialize(v, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        d.deserialize_any(AnyF64)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct Both {
        #[serde(with = "super")]
        plain: f64,
        #[serde(default, with = "super::option")]
        maybe: Option<f64>,
    }

    fn round_trip(plain: f64, maybe: Option<f64>) -> Both {
        let json = serde_json::to_string(&Both { plain, maybe }).unwrap();
        serde_json::from_str(&json).unwrap()
    }

    fn same(a: f64, b: f64) -> bool {
        a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan())
    }

    #[test]
    fn non_finite_values_survive_and_old_nulls_read_as_nan() {
        for v in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -0.0, 1.5] {
            let back = round_trip(v, Some(v));
            assert!(same(back.plain, v) && same(back.maybe.unwrap(), v), "{v}");
        }
        assert_eq!(round_trip(1.0, None).maybe, None);
        let old: Both = serde_json::from_str(r#"{"plain": null}"#).unwrap();
        assert!(old.plain.is_nan() && old.maybe.is_none());
    }

    proptest! {
        #[test]
        fn any_f64_survives_the_json_round_trip(bits in any::<u64>(), some in any::<bool>()) {
            let v = f64::from_bits(bits);
            let back = round_trip(v, some.then_some(v));
            prop_assert!(same(back.plain, v));
            prop_assert_eq!(back.maybe.is_some(), some);
            if let Some(m) = back.maybe {
                prop_assert!(same(m, v));
            }
        }
    }
}
