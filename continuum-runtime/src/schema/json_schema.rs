//! JSON Schema (draft 2020-12) from an event's [`EventSchema`], so other
//! languages can validate payloads the way the server will.
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! /// Progress of one task.
//! #[continuum_event("docs.task.progress")]
//! pub struct TaskProgress {
//!     #[event(range(min = 0, max = 100))]
//!     pub progress: u8,
//! }
//!
//! let schema = continuum_runtime::json_schema::json_schema(TaskProgress::schema());
//! assert_eq!(schema["title"], "docs.task.progress");
//! assert_eq!(schema["properties"]["progress"]["maximum"], 100);
//! assert_eq!(schema["required"][0], "progress");
//! ```
//!
//! Number bounds merge: a field's schema carries the bounds of its Rust type
//! (an integer's `minimum`/`maximum`; for an `f32`, the exclusive bounds
//! ±3.4028235677973366e38 past which a number rounds to infinity) and of its
//! `range`, and of each side keeps only the tightest bound.
//!
//! An enum with data is a `oneOf`, its variants told apart by `const` names;
//! sets carry `uniqueItems`, fixed arrays `minItems`/`maxItems`, and the
//! feature types (`uuid`, `chrono`, `time`, `url`) their `format`:
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! #[derive(Payload)]
//! #[serde(tag = "kind")]
//! pub enum Stage {
//!     Queued,
//!     Failed { reason: String },
//! }
//!
//! #[continuum_event("docs.task.stage")]
//! pub struct TaskStage {
//!     pub stage: Stage,
//!     pub tags: std::collections::BTreeSet<String>,
//! }
//!
//! let schema = continuum_runtime::json_schema::json_schema(TaskStage::schema());
//! let failed = &schema["$defs"]["Stage"]["oneOf"][1];
//! assert_eq!(failed["properties"]["kind"]["const"], "failed");
//! assert_eq!(failed["required"], serde_json::json!(["kind", "reason"]));
//! assert_eq!(schema["properties"]["tags"]["uniqueItems"], true);
//! ```
//!
//! What it cannot say: that the server also takes the other spellings the
//! feature types' own parsers take (a UUID without hyphens or in braces, a
//! `chrono` date-time with a space for the `T`), which the `format`s refuse;
//! `custom = …` checks (recorded as a `$comment`);
//! `pattern`s are written for the Rust `regex` crate, whose syntax is close to
//! but not identical with ECMA-262 (character classes and anchors agree); and
//! for an `f32` field, a number within `f32` rounding of a `range` bound, which
//! the server judges rounded to `f32` and the schema as written.

use serde_json::{json, Map, Value};

use super::defs::{addr, Defs};
use super::{
    Constraint, EnumRepr, EventSchema, FieldSchema, Number, RangeBounds, StructSchema,
    TaggedSchema, TypeSchema, VariantKind, VariantSchema,
};

/// The `$schema` URI of the documents produced here.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of an event's payload (the envelope's `data`). Nested
/// structs and enums are placed in `$defs` and referenced by their Rust name.
pub fn json_schema(event: &EventSchema) -> Value {
    let mut b = Builder::default();
    let root = match event.payload {
        Some(s) => b.struct_body(s),
        // A unit event: `null`, or an empty object for clients that always send one.
        None => json!({ "anyOf": [{ "type": "null" }, { "type": "object", "maxProperties": 0 }] }),
    };
    let mut head = Map::new();
    head.insert("$schema".into(), DRAFT_2020_12.into());
    head.insert("title".into(), event.name.into());
    if !event.docs.is_empty() {
        head.insert("description".into(), event.docs.into());
    }
    if let Some(key) = event.key {
        head.insert("x-continuum-key".into(), key.into());
    }
    if let Some(ttl) = event.ttl {
        head.insert("x-continuum-ttl-secs".into(), ttl.as_secs().into());
    }
    if let Value::Object(mut body) = root {
        head.append(&mut body);
    }
    if !b.defs.is_empty() {
        let defs: Map<String, Value> = b.defs.into_iter().collect();
        head.insert("$defs".into(), Value::Object(defs));
    }
    Value::Object(head)
}

/// The JSON Schema of one type on its own (with its own `$defs`).
pub fn type_json_schema(ty: TypeSchema) -> Value {
    let mut b = Builder::default();
    let mut v = b.ty(ty);
    if !b.defs.is_empty() {
        let defs: Map<String, Value> = b.defs.into_iter().collect();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("$defs".into(), Value::Object(defs));
        }
    }
    v
}

#[derive(Default)]
struct Builder {
    defs: Defs<Value>,
}

impl Builder {
    /// A `$ref` to the definition at `addr`, building it first if new.
    fn reference(
        &mut self,
        addr: usize,
        rust_name: &str,
        build: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        let name = match self.defs.reserve(addr, rust_name) {
            Ok(name) => name,
            Err(known) => return json!({ "$ref": format!("#/$defs/{known}") }),
        };
        let schema = build(self);
        self.defs.set(addr, schema);
        json!({ "$ref": format!("#/$defs/{name}") })
    }

    fn ty(&mut self, ty: TypeSchema) -> Value {
        match ty {
            TypeSchema::Bool => json!({ "type": "boolean" }),
            TypeSchema::String => json!({ "type": "string" }),
            TypeSchema::Integer { min, max } => {
                let mut v = json!({ "type": "integer" });
                // `i128`/`u128` bounds lie past what a JSON integer here can
                // carry exactly; -2^127, 2^127 and 2^128 are exact as floats,
                // and for whole numbers `< 2^128` is `<= u128::MAX`.
                #[allow(clippy::cast_precision_loss)]
                match int_value(min) {
                    Some(min) => v["minimum"] = min,
                    None => v["minimum"] = (min as f64).into(),
                }
                match i128::try_from(max).ok().and_then(int_value) {
                    Some(max) => v["maximum"] = max,
                    None => v["exclusiveMaximum"] = power_of_two_above(max).into(),
                }
                v
            }
            TypeSchema::Set(inner) => {
                json!({ "type": "array", "items": self.ty(inner()), "uniqueItems": true })
            }
            TypeSchema::FixedArray { item, len } => {
                json!({ "type": "array", "items": self.ty(item()), "minItems": len, "maxItems": len })
            }
            TypeSchema::Format(f) => match f.format {
                Some(format) => json!({ "type": "string", "format": format }),
                None => {
                    let any: Vec<Value> = f.any_of.iter().map(|f| json!({ "format": f })).collect();
                    json!({ "type": "string", "anyOf": any })
                }
            },
            TypeSchema::Tagged(t) => self.reference(addr(t), t.rust_name, |b| b.tagged(t)),
            TypeSchema::Float { f32: false } => json!({ "type": "number" }),
            // Exactly the numbers that round to a finite `f32`, as decoding
            // takes them (`f32::MAX` written as `3.4028235e38` is one of them).
            TypeSchema::Float { f32: true } => json!({
                "type": "number",
                "exclusiveMinimum": -F32_LIMIT,
                "exclusiveMaximum": F32_LIMIT,
            }),
            TypeSchema::Any => json!({}),
            TypeSchema::Null => json!({ "type": "null" }),
            TypeSchema::Option(inner) => {
                let inner = self.ty(inner());
                json!({ "anyOf": [{ "type": "null" }, inner] })
            }
            TypeSchema::Array(inner) => json!({ "type": "array", "items": self.ty(inner()) }),
            TypeSchema::Map(inner) => {
                json!({ "type": "object", "additionalProperties": self.ty(inner()) })
            }
            TypeSchema::Struct(s) => self.reference(addr(s), s.rust_name, |b| b.struct_body(s)),
            TypeSchema::Enum(e) => self.reference(addr(e), e.rust_name, |_| {
                let mut v = json!({ "type": "string", "enum": e.variants });
                if !e.docs.is_empty() {
                    v["description"] = e.docs.into();
                }
                v
            }),
        }
    }

    fn struct_body(&mut self, s: &StructSchema) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in s.fields {
            props.insert(f.name.to_owned(), self.field(f));
            if f.required {
                required.push(Value::from(f.name));
            }
        }
        let mut v = json!({ "type": "object", "properties": props });
        if !required.is_empty() {
            v["required"] = Value::Array(required);
        }
        if s.deny_unknown_fields {
            v["additionalProperties"] = false.into();
        }
        if !s.docs.is_empty() {
            v["description"] = s.docs.into();
        }
        v
    }

    /// `oneOf` the variants, each told apart by a `const` name.
    fn tagged(&mut self, t: &TaggedSchema) -> Value {
        let branches: Vec<Value> = t
            .variants
            .iter()
            .map(|variant| {
                let mut b = self.variant(t, variant);
                if !variant.docs.is_empty() {
                    if let Some(obj) = b.as_object_mut() {
                        obj.insert("description".into(), variant.docs.into());
                    }
                }
                b
            })
            .collect();
        let mut v = json!({ "oneOf": branches });
        if !t.docs.is_empty() {
            v["description"] = t.docs.into();
        }
        v
    }

    fn variant(&mut self, t: &TaggedSchema, variant: &VariantSchema) -> Value {
        let name = json!({ "const": variant.name });
        let deny = |mut v: Value, deny: bool| {
            if deny {
                v["additionalProperties"] = false.into();
            }
            v
        };
        match (t.repr, variant.kind) {
            (EnumRepr::External, VariantKind::Unit) => json!({ "anyOf": [
                name,
                // serde also takes `{"unit": null}`.
                { "type": "object", "properties": { variant.name: { "type": "null" } }, "required": [variant.name], "additionalProperties": false },
            ] }),
            (EnumRepr::External, kind) => {
                json!({ "type": "object", "properties": { variant.name: self.carried(kind) }, "required": [variant.name], "additionalProperties": false })
            }
            // serde ignores the other fields of a unit variant.
            (EnumRepr::Internal { tag }, VariantKind::Unit) => {
                json!({ "type": "object", "properties": { tag: name }, "required": [tag] })
            }
            (EnumRepr::Internal { tag }, kind) => {
                // A newtype variant carries a struct (checked at compile time).
                let s = match kind {
                    VariantKind::Struct(s) => s,
                    VariantKind::Newtype { ty, .. } => match ty() {
                        TypeSchema::Struct(s) => s,
                        _ => return json!(false),
                    },
                    VariantKind::Unit => return json!(false),
                };
                let mut body = self.struct_body(s);
                if let Some(props) = body["properties"].as_object_mut() {
                    props.insert(tag.into(), name);
                }
                match body["required"].as_array_mut() {
                    Some(required) => required.insert(0, tag.into()),
                    None => body["required"] = json!([tag]),
                }
                body
            }
            (EnumRepr::Adjacent { tag, content }, VariantKind::Unit) => deny(
                json!({ "type": "object", "properties": { tag: name, content: { "type": "null" } }, "required": [tag] }),
                t.deny_unknown_fields,
            ),
            (EnumRepr::Adjacent { tag, content }, kind) => deny(
                json!({ "type": "object", "properties": { tag: name, content: self.carried(kind) }, "required": [tag, content] }),
                t.deny_unknown_fields,
            ),
        }
    }

    /// What a newtype or struct variant carries.
    fn carried(&mut self, kind: VariantKind) -> Value {
        match kind {
            VariantKind::Unit => json!({ "type": "null" }),
            VariantKind::Newtype { ty, constraints } => self.constrained(ty(), constraints),
            VariantKind::Struct(s) => self.struct_body(s),
        }
    }

    fn field(&mut self, f: &FieldSchema) -> Value {
        let mut v = self.constrained((f.ty)(), f.constraints);
        if !f.docs.is_empty() {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("description".into(), f.docs.into());
            }
        }
        v
    }

    /// `ty` with `constraints` applied; `Option` passes them to its `Some` value.
    fn constrained(&mut self, ty: TypeSchema, constraints: &[Constraint]) -> Value {
        if constraints.is_empty() {
            return self.ty(ty);
        }
        if let TypeSchema::Option(inner) = ty {
            let inner = self.constrained(inner(), constraints);
            return json!({ "anyOf": [{ "type": "null" }, inner] });
        }
        let mut v = self.ty(ty);
        for c in constraints {
            self.apply(&mut v, ty, c);
        }
        v
    }

    fn apply(&mut self, v: &mut Value, ty: TypeSchema, c: &Constraint) {
        match *c {
            Constraint::Range(RangeBounds {
                min,
                max,
                exclusive_min,
                exclusive_max,
            }) => {
                if let Some(min) = min {
                    bound(v, min, true, exclusive_min);
                }
                if let Some(max) = max {
                    bound(v, max, false, exclusive_max);
                }
            }
            Constraint::Length { min, max } => {
                let (lo, hi) = match ty {
                    TypeSchema::String => ("minLength", "maxLength"),
                    TypeSchema::Map(_) => ("minProperties", "maxProperties"),
                    _ => ("minItems", "maxItems"),
                };
                if let Some(min) = min {
                    v[lo] = min.into();
                }
                if let Some(max) = max {
                    v[hi] = max.into();
                }
            }
            Constraint::Pattern(p) => v["pattern"] = p.source().into(),
            Constraint::Custom(path) => v["$comment"] = format!("also checked by `{path}`").into(),
            Constraint::Each(inner) => match ty {
                TypeSchema::Array(item)
                | TypeSchema::Set(item)
                | TypeSchema::FixedArray { item, .. } => {
                    v["items"] = self.constrained(item(), inner);
                }
                TypeSchema::Map(item) => {
                    v["additionalProperties"] = self.constrained(item(), inner)
                }
                _ => {}
            },
        }
    }
}

/// Where an `f32` stops: 2^128 − 2^103, halfway between `f32::MAX` and
/// 2^128 (exact in `f64`). A number below it in magnitude rounds to a finite
/// `f32`; from it on, to infinity (a tie rounds to even, here 2^128).
#[allow(clippy::cast_lossless, clippy::cast_precision_loss)]
const F32_LIMIT: f64 = f32::MAX as f64 + (1u128 << 103) as f64;

/// Put `n` on `v` as its lower (`is_min`) or upper bound, `exclusive` or not,
/// unless the bound already there (the Rust type's, or another `range`'s) is
/// at least as tight: one keyword per side, the tightest.
fn bound(v: &mut Value, n: Number, is_min: bool, exclusive: bool) {
    let (inclusive_key, exclusive_key) = if is_min {
        ("minimum", "exclusiveMinimum")
    } else {
        ("maximum", "exclusiveMaximum")
    };
    let Some(obj) = v.as_object_mut() else {
        return;
    };
    let old = [(inclusive_key, false), (exclusive_key, true)]
        .into_iter()
        .find_map(|(key, excl)| obj.get(key).and_then(Value::as_f64).map(|b| (b, excl)));
    let new = n.as_f64();
    let tighter = match old {
        None => true,
        // On a tie an exclusive bound is the tighter; between two of a kind
        // the new one wins (it may be exact where `f64` rounded).
        Some((old, old_exclusive)) if new == old => exclusive || !old_exclusive,
        Some((old, _)) if is_min => new > old,
        Some((old, _)) => new < old,
    };
    if tighter {
        obj.remove(inclusive_key);
        obj.remove(exclusive_key);
        let key = if exclusive {
            exclusive_key
        } else {
            inclusive_key
        };
        obj.insert(key.into(), number_value(n));
    }
}

/// `max + 1` for `i128::MAX` (2^127) and `u128::MAX` (2^128), exact as
/// floats; any other `max` as the nearest float.
#[allow(clippy::cast_precision_loss)]
fn power_of_two_above(max: u128) -> f64 {
    // `as f64` rounds both maxima up to the power of two above them.
    max as f64
}

fn int_value(v: i128) -> Option<Value> {
    if let Ok(v) = i64::try_from(v) {
        Some(v.into())
    } else {
        u64::try_from(v).ok().map(Value::from)
    }
}

fn number_value(n: Number) -> Value {
    match n {
        Number::Int(v) => int_value(v).unwrap_or_else(|| n.as_f64().into()),
        Number::Float(v) => v.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::fits_f32;

    fn range(min: Option<Number>, max: Option<Number>, exclusive: bool) -> [Constraint; 1] {
        [Constraint::Range(RangeBounds {
            min,
            max,
            exclusive_min: exclusive,
            exclusive_max: exclusive,
        })]
    }

    fn constrained(ty: TypeSchema, constraints: &[Constraint]) -> Value {
        Builder::default().constrained(ty, constraints)
    }

    const F32: TypeSchema = TypeSchema::Float { f32: true };

    #[test]
    fn f32_limit_is_where_rounding_reaches_infinity() {
        assert_eq!(
            serde_json::to_string(&F32_LIMIT).unwrap(),
            "3.4028235677973366e+38"
        );
        let below = f64::from_bits(F32_LIMIT.to_bits() - 1);
        for sign in [1.0, -1.0] {
            assert!(!fits_f32(sign * F32_LIMIT));
            assert!(fits_f32(sign * below));
            #[allow(clippy::cast_possible_truncation)]
            let rounded = (sign * below) as f32;
            assert_eq!(rounded.abs(), f32::MAX);
        }
    }

    #[test]
    fn f32_carries_its_bounds_and_f64_none() {
        assert_eq!(
            type_json_schema(F32),
            json!({
                "type": "number",
                "exclusiveMinimum": -3.402_823_567_797_336_6e38,
                "exclusiveMaximum": 3.402_823_567_797_336_6e38,
            })
        );
        assert_eq!(
            type_json_schema(TypeSchema::Float { f32: false }),
            json!({ "type": "number" })
        );
    }

    #[test]
    fn the_tighter_bound_wins_on_each_side() {
        // A user range inside the `f32`'s replaces its bounds.
        let v = constrained(
            F32,
            &range(Some(Number::Int(0)), Some(Number::Float(1.5)), false),
        );
        assert_eq!(v, json!({ "type": "number", "minimum": 0, "maximum": 1.5 }));
        let v = constrained(
            F32,
            &range(Some(Number::Int(-1)), Some(Number::Int(1)), true),
        );
        assert_eq!(
            v,
            json!({ "type": "number", "exclusiveMinimum": -1, "exclusiveMaximum": 1 })
        );
        // One beyond it does not.
        for exclusive in [false, true] {
            let v = constrained(
                F32,
                &range(
                    Some(Number::Float(-1e39)),
                    Some(Number::Float(1e39)),
                    exclusive,
                ),
            );
            assert_eq!(v, type_json_schema(F32), "exclusive: {exclusive}");
        }
        // Integers: an exclusive bound on the type's own bound replaces it.
        let u8_schema = TypeSchema::Integer { min: 0, max: 255 };
        let v = constrained(u8_schema, &range(Some(Number::Int(0)), None, true));
        assert_eq!(
            v,
            json!({ "type": "integer", "exclusiveMinimum": 0, "maximum": 255 })
        );
        let v = constrained(u8_schema, &range(None, Some(Number::Int(300)), false));
        assert_eq!(
            v,
            json!({ "type": "integer", "minimum": 0, "maximum": 255 })
        );
    }
}
