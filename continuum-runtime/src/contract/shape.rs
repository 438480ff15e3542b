//! Reading the exporter's JSON Schema back as shapes the diff can compare.
//!
//! A contract file holds JSON Schema, and the diff must work from files
//! alone (`continuum contract diff OLD NEW`), so it reads the schema rather
//! than the Rust declarations. It reads exactly the dialect
//! [`json_schema`](crate::json_schema::json_schema) writes: `Option` as
//! `anyOf: [{type: null}, T]`, structs as `properties`/`required` (closed by
//! `additionalProperties: false`), maps as `additionalProperties: T`, unit
//! enums as `enum`, enums with data as `oneOf` branches told apart by a
//! `const` tag (or, externally tagged, by their single property), `$ref`s
//! into `$defs`. Docs (`description`, `title`) are ignored: cosmetic. What it
//! does not recognise is [`Shape::Unknown`], compared by equality.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use super::annotate::TYPE_KEY;

/// A set of numbers: each side unbounded (`None`) or bounded, inclusively
/// or not. Integers are kept inclusive (`exclusiveMaximum: 10` is `≤ 9`).
///
/// Values are `f64`: exact for every bound below 2^53 and for the integer
/// types' own bounds (which round alike on both sides of a comparison).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Interval {
    pub(crate) lo: Option<(f64, bool)>,
    pub(crate) hi: Option<(f64, bool)>,
    integer: bool,
}

impl Interval {
    pub(crate) const ANY: Interval = Interval {
        lo: None,
        hi: None,
        integer: false,
    };

    fn of(node: &Value, min: &str, xmin: &str, max: &str, xmax: &str, integer: bool) -> Self {
        let side = |incl: &str, excl: &str, step: f64| {
            let inclusive = node.get(incl).and_then(Value::as_f64).map(|v| (v, false));
            let exclusive = node.get(excl).and_then(Value::as_f64).map(|v| (v, true));
            inclusive.or(exclusive).map(|(v, x)| {
                if integer {
                    // `step` is +1 on the low side: `> 0` is `>= 1`, `>= 0.5` is `>= 1`.
                    let whole = if step > 0.0 { v.ceil() } else { v.floor() };
                    (if x && whole == v { v + step } else { whole }, false)
                } else {
                    (v, x)
                }
            })
        };
        Interval {
            lo: side(min, xmin, 1.0),
            hi: side(max, xmax, -1.0),
            integer,
        }
    }

    /// `min..=max`, inclusive, for integer types.
    pub(crate) fn integer(lo: f64, hi: f64) -> Self {
        Interval {
            lo: Some((lo, false)),
            hi: Some((hi, false)),
            integer: true,
        }
    }

    /// Whether every number in `self` is in `other`.
    pub(crate) fn within(&self, other: &Interval) -> bool {
        let lo = match (self.lo, other.lo) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some((a, ax)), Some((b, bx))) => a > b || (a == b && (ax || !bx)),
        };
        let hi = match (self.hi, other.hi) {
            (_, None) => true,
            (None, Some(_)) => false,
            (Some((a, ax)), Some((b, bx))) => a < b || (a == b && (ax || !bx)),
        };
        lo && hi
    }

    /// Whether some number of the set lies beyond `±limit`.
    pub(crate) fn exceeds(&self, limit: f64) -> bool {
        self.lo.is_none_or(|(v, _)| v < -limit) || self.hi.is_none_or(|(v, _)| v > limit)
    }
}

impl std::fmt::Display for Interval {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let num = |v: f64| {
            if v.abs() >= 1e16 {
                format!("{v:e}")
            } else if v.fract() == 0.0 {
                format!("{v:.0}")
            } else {
                format!("{v}")
            }
        };
        if self.integer {
            if self.lo.is_none() && self.hi.is_none() {
                return f.write_str("any");
            }
            let lo = self.lo.map(|(v, _)| num(v)).unwrap_or_default();
            let hi = self
                .hi
                .map(|(v, _)| format!("={}", num(v)))
                .unwrap_or_default();
            return write!(f, "{lo}..{hi}");
        }
        match self.lo {
            None => f.write_str("(-inf, ")?,
            Some((v, x)) => write!(f, "{}{}, ", if x { "(" } else { "[" }, num(v))?,
        }
        match self.hi {
            None => f.write_str("+inf)"),
            Some((v, x)) => write!(f, "{}{}", num(v), if x { ")" } else { "]" }),
        }
    }
}

/// A struct's fields by wire name, and whether it refuses others.
#[derive(Clone, Debug, Default)]
pub(crate) struct Fields<'a> {
    pub(crate) fields: BTreeMap<&'a str, Field<'a>>,
    pub(crate) closed: bool,
}

/// One field: whether it must be present, and its schema.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Field<'a> {
    pub(crate) required: bool,
    pub(crate) schema: &'a Value,
}

/// How an enum's variant is told apart on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Repr<'a> {
    /// By its name: a string, or the single key of an object.
    External,
    /// By a tag field's `const` (serde's internal and adjacent tagging).
    Tag(&'a str),
}

/// What one variant carries.
#[derive(Clone, Debug)]
pub(crate) enum Body<'a> {
    /// Nothing.
    Unit,
    /// Externally tagged: the value under the variant's key.
    Value(&'a Value),
    /// Tagged: the fields beside the tag.
    Fields(Fields<'a>),
}

/// One schema node, read.
#[derive(Clone, Debug)]
pub(crate) enum Shape<'a> {
    Any,
    Null,
    Bool,
    Nullable(&'a Value),
    Integer {
        values: Interval,
        holds: Interval,
        name: Option<&'a str>,
    },
    Number {
        values: Interval,
        holds: Interval,
        name: Option<&'a str>,
    },
    String {
        /// Formats any of which the string has; `None`: any string.
        formats: Option<BTreeSet<&'a str>>,
        len: Interval,
        pattern: Option<&'a str>,
    },
    Array {
        items: &'a Value,
        len: Interval,
        unique: bool,
        fixed: Option<&'a str>,
    },
    Map {
        values: &'a Value,
        len: Interval,
    },
    Struct(Fields<'a>),
    Enum {
        repr: Repr<'a>,
        variants: BTreeMap<&'a str, Body<'a>>,
    },
    Ref(&'a str),
    Unknown(&'a Value),
}

/// Where an `f32` stops (see `json_schema.rs`).
const F32_LIMIT: f64 = 3.402_823_567_797_336_6e38;

/// Read one node.
pub(crate) fn parse(node: &Value) -> Shape<'_> {
    let Some(obj) = node.as_object() else {
        return match node {
            Value::Bool(true) => Shape::Any,
            _ => Shape::Unknown(node),
        };
    };
    if let Some(r) = obj.get("$ref").and_then(Value::as_str) {
        return r
            .strip_prefix("#/$defs/")
            .map_or(Shape::Unknown(node), Shape::Ref);
    }
    let ty = obj.get("type").and_then(Value::as_str);
    if ty.is_none() {
        if let Some([a, b]) = obj
            .get("anyOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
        {
            if is_null(a) {
                return Shape::Nullable(b);
            }
        }
        if let Some(branches) = obj.get("oneOf").and_then(Value::as_array) {
            return one_of(branches).unwrap_or(Shape::Unknown(node));
        }
        if obj.keys().all(|k| is_cosmetic(k)) {
            return Shape::Any;
        }
        return Shape::Unknown(node);
    }
    let len = |min: &str, max: &str| Interval::of(node, min, "", max, "", true);
    match ty.unwrap_or_default() {
        "null" => Shape::Null,
        "boolean" => Shape::Bool,
        "integer" => {
            let values = Interval::of(
                node,
                "minimum",
                "exclusiveMinimum",
                "maximum",
                "exclusiveMaximum",
                true,
            );
            let name = obj.get(TYPE_KEY).and_then(Value::as_str);
            let holds = name.and_then(integer_bounds).unwrap_or(values);
            Shape::Integer {
                values,
                holds,
                name,
            }
        }
        "number" => {
            let values = Interval::of(
                node,
                "minimum",
                "exclusiveMinimum",
                "maximum",
                "exclusiveMaximum",
                false,
            );
            let name = obj.get(TYPE_KEY).and_then(Value::as_str);
            let holds = match name {
                Some("f32") => Interval {
                    lo: Some((-F32_LIMIT, true)),
                    hi: Some((F32_LIMIT, true)),
                    integer: false,
                },
                Some("f64") => Interval::ANY,
                _ => values,
            };
            Shape::Number {
                values,
                holds,
                name,
            }
        }
        "string" => {
            if let Some(names) = obj.get("enum").and_then(Value::as_array) {
                let variants = names
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|n| (n, Body::Unit))
                    .collect();
                return Shape::Enum {
                    repr: Repr::External,
                    variants,
                };
            }
            let mut formats: Option<BTreeSet<&str>> = obj
                .get("format")
                .and_then(Value::as_str)
                .map(|f| [f].into());
            if let Some(any) = obj.get("anyOf").and_then(Value::as_array) {
                formats = Some(
                    any.iter()
                        .filter_map(|f| f.get("format").and_then(Value::as_str))
                        .collect(),
                );
            }
            Shape::String {
                formats,
                len: len("minLength", "maxLength"),
                pattern: obj.get("pattern").and_then(Value::as_str),
            }
        }
        "array" => Shape::Array {
            items: obj.get("items").unwrap_or(&Value::Bool(true)),
            len: len("minItems", "maxItems"),
            unique: obj.get("uniqueItems") == Some(&Value::Bool(true)),
            fixed: obj.get(TYPE_KEY).and_then(Value::as_str),
        },
        "object" => match obj.get("additionalProperties") {
            Some(values @ Value::Object(_)) if !obj.contains_key("properties") => Shape::Map {
                values,
                len: len("minProperties", "maxProperties"),
            },
            _ => Shape::Struct(fields(obj, None)),
        },
        _ => Shape::Unknown(node),
    }
}

/// A struct's fields, leaving out `skip` (an enum's tag).
pub(crate) fn fields<'a>(obj: &'a Map<String, Value>, skip: Option<&str>) -> Fields<'a> {
    let required: BTreeSet<&str> = obj
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let fields = obj
        .get("properties")
        .and_then(Value::as_object)
        .map(|props| {
            props
                .iter()
                .filter(|(name, _)| Some(name.as_str()) != skip)
                .map(|(name, schema)| {
                    let required = required.contains(name.as_str());
                    (name.as_str(), Field { required, schema })
                })
                .collect()
        })
        .unwrap_or_default();
    // `maxProperties: 0` is the unit event's "an empty object".
    let closed = obj.get("additionalProperties") == Some(&Value::Bool(false))
        || obj.get("maxProperties").and_then(Value::as_u64) == Some(0);
    Fields { fields, closed }
}

fn one_of(branches: &[Value]) -> Option<Shape<'_>> {
    let mut repr = None;
    let mut variants = BTreeMap::new();
    for branch in branches {
        let (r, name, body) = variant(branch)?;
        if *repr.get_or_insert(r) != r {
            return None;
        }
        variants.insert(name, body);
    }
    Some(Shape::Enum {
        repr: repr.unwrap_or(Repr::External),
        variants,
    })
}

fn variant(branch: &Value) -> Option<(Repr<'_>, &str, Body<'_>)> {
    let obj = branch.as_object()?;
    // An externally tagged unit variant: `"name"` or `{"name": null}`.
    if let Some(any) = obj.get("anyOf").and_then(Value::as_array) {
        let name = any.iter().find_map(|a| a.get("const")?.as_str())?;
        return Some((Repr::External, name, Body::Unit));
    }
    let props = obj.get("properties")?.as_object()?;
    let tag = props
        .iter()
        .find_map(|(key, v)| Some((key.as_str(), v.get("const")?.as_str()?)));
    if let Some((tag, name)) = tag {
        return Some((Repr::Tag(tag), name, Body::Fields(fields(obj, Some(tag)))));
    }
    match props.iter().next() {
        Some((name, value)) if props.len() == 1 => {
            Some((Repr::External, name.as_str(), Body::Value(value)))
        }
        _ => None,
    }
}

fn is_null(v: &Value) -> bool {
    v.get("type").and_then(Value::as_str) == Some("null")
}

/// Keywords that change nothing on the wire.
pub(crate) fn is_cosmetic(key: &str) -> bool {
    matches!(
        key,
        "description" | "title" | "$schema" | "$defs" | "$comment" | "examples"
    ) || key.starts_with("x-")
}

/// `value` without cosmetic keywords, at any depth: what equality of two
/// schemas this module cannot read should mean.
pub(crate) fn strip_cosmetic(value: &Value) -> Value {
    match value {
        Value::Object(obj) => Value::Object(
            obj.iter()
                .filter(|(k, _)| !matches!(k.as_str(), "description" | "title" | "examples"))
                .map(|(k, v)| (k.clone(), strip_cosmetic(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(strip_cosmetic).collect()),
        other => other.clone(),
    }
}

/// The custom check recorded on a node (`$comment: "also checked by `f`"`).
pub(crate) fn custom(node: &Value) -> Option<&str> {
    node.get("$comment").and_then(Value::as_str)
}

/// The bounds of an integer type by its annotation: `u8`, `i64`, `1..=255`.
fn integer_bounds(name: &str) -> Option<Interval> {
    #[allow(clippy::cast_precision_loss)]
    let (lo, hi) = match name {
        "u8" => (0.0, f64::from(u8::MAX)),
        "u16" => (0.0, f64::from(u16::MAX)),
        "u32" => (0.0, f64::from(u32::MAX)),
        "u64" => (0.0, u64::MAX as f64),
        "u128" => (0.0, u128::MAX as f64),
        "i8" => (f64::from(i8::MIN), f64::from(i8::MAX)),
        "i16" => (f64::from(i16::MIN), f64::from(i16::MAX)),
        "i32" => (f64::from(i32::MIN), f64::from(i32::MAX)),
        "i64" => (i64::MIN as f64, i64::MAX as f64),
        "i128" => (i128::MIN as f64, i128::MAX as f64),
        other => {
            let (lo, hi) = other.split_once("..=")?;
            (lo.parse().ok()?, hi.parse().ok()?)
        }
    };
    Some(Interval::integer(lo, hi))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn integer_bounds_are_inclusive() {
        let v = json!({ "type": "integer", "exclusiveMinimum": 0, "maximum": 255, TYPE_KEY: "u8" });
        let Shape::Integer { values, holds, .. } = parse(&v) else {
            panic!()
        };
        assert_eq!(values, Interval::integer(1.0, 255.0));
        assert!(values.within(&holds));
        assert!(!holds.within(&values));
        assert_eq!(values.to_string(), "1..=255");
    }

    #[test]
    fn float_intervals() {
        let a = Interval::of(
            &json!({ "exclusiveMaximum": 1.5 }),
            "",
            "",
            "",
            "exclusiveMaximum",
            false,
        );
        let b = Interval::of(&json!({ "maximum": 1.5 }), "", "", "maximum", "", false);
        assert!(a.within(&b));
        assert!(!b.within(&a));
        assert_eq!(a.to_string(), "(-inf, 1.5)");
    }
}
