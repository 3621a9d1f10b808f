//! Floats that survive JSON: `NaN` and the infinities written as strings.
//!
//! serde_json writes a non-finite `f64` as `null` and then refuses to read `null` back as a
//! number, so one diverged loss (`NaN`) in a history made a whole model file unreadable.
//! Fields marked `#[serde(with = "crate::json_float")]` (or `json_float::option`) write
//! finite values as plain numbers and `NaN`, `Infinity` and `-Infinity` as those strings; they
//! read all three forms back, and `null` as `NaN` (files written before this module).

use serde::de::{self, Deserializer, Visitor};
use serde::{Deserialize, Serialize, Serializer};
use std::fmt;

/// The string a non-finite value is written as.
fn name(value: f64) -> &'static str {
    if value.is_nan() {
        "NaN"
    } else if value > 0.0 {
        "Infinity"
    } else {
        "-Infinity"
    }
}

/// Writes `value` as a number, or as a string when it is not finite.
pub fn serialize<S: Serializer>(value: &f64, serializer: S) -> Result<S::Ok, S::Error> {
    if value.is_finite() {
        serializer.serialize_f64(*value)
    } else {
        serializer.serialize_str(name(*value))
    }
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\" or \"-Infinity\"")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        match v {
            "NaN" => Ok(f64::NAN),
            "Infinity" => Ok(f64::INFINITY),
            "-Infinity" => Ok(f64::NEG_INFINITY),
            other => Err(E::invalid_value(de::Unexpected::Str(other), &self)),
        }
    }
}

/// Reads a number, `"NaN"`, `"Infinity"`, `"-Infinity"` or `null` (as `NaN`).
pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<f64, D::Error> {
    deserializer.deserialize_any(FloatVisitor)
}

/// The same for `Option<f64>`: `None` is `null`, a non-finite value a string.
pub mod option {
    use super::*;

    /// Writes `None` as `null`, a value as [`super::serialize`] does.
    pub fn serialize<S: Serializer>(value: &Option<f64>, serializer: S) -> Result<S::Ok, S::Error> {
        match value {
            None => serializer.serialize_none(),
            Some(v) => super::serialize(v, serializer),
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Repr {
        Value(#[serde(deserialize_with = "super::deserialize")] f64),
    }

    /// Reads `null` as `None`, anything else as [`super::deserialize`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Option<f64>, D::Error> {
        let value: Option<Repr> = Option::deserialize(deserializer)?;
        Ok(value.map(|Repr::Value(v)| v))
    }
}

/// The same for `Vec<f64>`: each element as [`serialize`] writes it (a curve's thresholds
/// start at `+inf`, which plain serde_json would write as `null` and refuse to read back).
pub mod vec {
    use super::*;

    /// Writes each value as a number, or as a string when it is not finite.
    pub fn serialize<S: Serializer>(values: &[f64], serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(values.iter().map(|&v| Float(v)))
    }

    /// Reads each value as [`super::deserialize`] does.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<f64>, D::Error> {
        let values: Vec<Float> = Vec::deserialize(deserializer)?;
        Ok(values.into_iter().map(|Float(v)| v).collect())
    }
}

/// A float written the same way, for values inside collections (`Vec<Float>`).
#[derive(Clone, Copy, Debug, PartialEq, PartialOrd, Default)]
pub struct Float(pub f64);

impl Serialize for Float {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Float {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserialize(deserializer).map(Float)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    struct Row {
        #[serde(with = "super")]
        a: f64,
        #[serde(with = "super::option", default)]
        b: Option<f64>,
        #[serde(with = "super::vec", default)]
        c: Vec<f64>,
    }

    #[test]
    fn non_finite_values_round_trip_through_json() {
        for a in [1.5, 0.0, -2.25e-9, 1e308, f64::INFINITY, f64::NEG_INFINITY] {
            for b in [None, Some(3.0), Some(f64::NEG_INFINITY)] {
                let c = vec![f64::INFINITY, a, 0.25];
                let row = Row { a, b, c };
                let text = serde_json::to_string(&row).unwrap();
                let back: Row = serde_json::from_str(&text).unwrap();
                assert_eq!(back, row, "{text}");
            }
        }
        let text = serde_json::to_string(&Row {
            a: f64::NAN,
            b: Some(f64::NAN),
            c: vec![f64::NAN, f64::INFINITY, 1.0],
        })
        .unwrap();
        assert_eq!(text, r#"{"a":"NaN","b":"NaN","c":["NaN","Infinity",1.0]}"#);
        let back: Row = serde_json::from_str(&text).unwrap();
        assert!(back.a.is_nan() && back.b.unwrap().is_nan() && back.c[0].is_nan());
        assert_eq!(back.c[1..], [f64::INFINITY, 1.0]);
    }

    #[test]
    fn null_from_older_files_reads_as_nan_and_junk_is_refused() {
        let back: Row = serde_json::from_str(r#"{"a":null}"#).unwrap();
        assert!(back.a.is_nan());
        assert_eq!(back.b, None);
        assert!(serde_json::from_str::<Row>(r#"{"a":"lots"}"#).is_err());
        assert!(serde_json::from_str::<Row>(r#"{"a":[1]}"#).is_err());
    }
}
