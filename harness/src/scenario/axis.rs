//! A scenario value that may be written once or as a list: `batch = 4` or
//! `batch = [1, 4, 16]`. Lists expand into a matrix of cases.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, IntoDeserializer, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Axis<T>(pub Vec<T>);

impl<T> Axis<T> {
    pub fn one(value: T) -> Self {
        Axis(vec![value])
    }
}

struct AxisVisitor<T>(PhantomData<T>);

macro_rules! forward_scalar {
    ($($method:ident: $ty:ty),*) => {$(
        fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            T::deserialize(v.into_deserializer()).map(Axis::one)
        }
    )*};
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for AxisVisitor<T> {
    type Value = Axis<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a value or a non-empty list of values")
    }

    forward_scalar!(visit_bool: bool, visit_i64: i64, visit_u64: u64, visit_f64: f64, visit_str: &str, visit_string: String);

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut values = Vec::new();
        while let Some(v) = seq.next_element()? {
            values.push(v);
        }
        if values.is_empty() {
            return Err(de::Error::invalid_length(
                0,
                &"a non-empty list (an empty one expands to no cases)",
            ));
        }
        Ok(Axis(values))
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Axis<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(AxisVisitor(PhantomData))
    }
}

impl<T: schemars::JsonSchema> schemars::JsonSchema for Axis<T> {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        format!("Axis_of_{}", T::schema_name()).into()
    }

    fn json_schema(generator: &mut schemars::SchemaGenerator) -> schemars::Schema {
        let item = generator.subschema_for::<T>();
        schemars::json_schema!({
            "description": "One value, or a list of values that expands into one case each.",
            "anyOf": [item, { "type": "array", "items": item, "minItems": 1 }]
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Doc {
        a: Axis<u32>,
        b: Axis<String>,
    }

    #[test]
    fn one_or_many() {
        let d: Doc = toml::from_str("a = 3\nb = ['x', 'y']").unwrap();
        assert_eq!(
            (d.a.0, d.b.0),
            (vec![3], vec!["x".to_string(), "y".to_string()])
        );
    }

    #[test]
    fn empty_list_is_an_error() {
        let e = toml::from_str::<Doc>("a = []\nb = 'x'").err().unwrap();
        assert!(e.to_string().contains("non-empty"), "{e}");
    }
}
