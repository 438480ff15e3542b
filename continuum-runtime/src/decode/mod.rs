//! JSON text → a validated event, or every issue with it.
//!
//! [`read_event`] is the reader's side: what a subscriber receives, read
//! tolerantly (unknown fields ignored, constraints not re-checked).
//!
//! A well-formed payload is deserialized straight from its text and then
//! validated. Anything else is decoded in three passes so a client learns
//! everything wrong with it in one response:
//!
//! 1. **Shape**: the JSON value is walked against the event's schema, collecting
//!    every wrong type, missing required field, unknown field, out-of-bounds
//!    integer, number too large for an `f32` and unknown enum variant.
//! 2. **Deserialize**: serde builds the Rust value; should it still fail (a case
//!    the walk does not model, such as a `deserialize_with` function), its
//!    error becomes one issue of the same shape.
//! 3. **Validate**: the event's constraints, every issue collected.
//!
//! When the shape pass finds anything, there is no Rust value for
//! `validate()` to check, yet the well-typed parts of the payload may break
//! constraints too; a client should hear about those in the same response.
//! So on that failure path (a well-formed payload never reaches it) the
//! value is walked a second time, now also checking
//! each value's declarative constraints from the schema
//! ([`FieldSchema::constraints`](crate::schema::FieldSchema::constraints):
//! `range`, `length`, `pattern`, `each`) right after its shape. The issues
//! are built by the same functions `validate()` uses
//! (`payload::constraints`), so codes, messages and paths are the same, in
//! field declaration order. A value that is itself of the wrong type is not
//! measured. `custom = path` checks take the Rust value, so they run only
//! when the whole payload deserializes. Pattern regexes live in the schema
//! ([`Pattern`](crate::schema::Pattern), compiled once and shared with
//! `validate()`), so neither path compiles one per request.
//!
//! ```
//! use continuum_runtime::decode::decode_event;
//! use continuum_runtime::prelude::*;
//!
//! #[continuum_event("doc.progress")]
//! #[derive(Debug)]
//! pub struct Progress {
//!     #[event(length(min = 1))]
//!     pub task_id: String,
//!     #[event(range(max = 100))]
//!     pub progress: u8,
//! }
//!
//! let err = decode_event::<Progress>(r#"{"taskId": "", "progress": 250, "eta": 3}"#).unwrap_err();
//! let found: Vec<(&str, &str)> =
//!     err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
//! assert_eq!(found, [("taskId", "length"), ("progress", "range"), ("eta", "unknown_field")]);
//! ```
//!
//! A number an `f32` field cannot hold (it would round to infinity) is a
//! shape issue too, like an integer outside its Rust type, so the field's
//! `range` is not measured against it; a number that rounds to a finite
//! `f32` is taken:
//!
//! ```
//! use continuum_runtime::decode::decode_event;
//! use continuum_runtime::prelude::*;
//!
//! #[continuum_event("doc.reading")]
//! #[derive(Debug)]
//! pub struct Reading {
//!     #[event(range(max = 60))]
//!     pub celsius: f32,
//!     #[event(length(min = 1))]
//!     pub sensor: String,
//! }
//!
//! let err = decode_event::<Reading>(r#"{"celsius": 1e39, "sensor": ""}"#).unwrap_err();
//! let found: Vec<(&str, &str)> =
//!     err.issues().iter().map(|i| (i.path.as_str(), i.code.as_str())).collect();
//! assert_eq!(found, [("celsius", "type"), ("sensor", "length")]);
//! assert_eq!(err.issues()[0].message, "must be a number from -3.4028235e38 to 3.4028235e38");
//!
//! let cold = decode_event::<Reading>(r#"{"celsius": -3.4028235e38, "sensor": "a"}"#).unwrap();
//! assert_eq!(cold.celsius, f32::MIN);
//! ```

mod constraints;
mod tagged;
mod tolerant;
mod wide_ints;

pub use self::tolerant::read_event;

use std::sync::Arc;

use serde_json::Value;

use self::constraints::{check_json, json_integer};
use crate::event::{DynEvent, Event};
use crate::schema::{fits_f32, StructSchema, TypeSchema};
use crate::validate::{Checker, Issue, IssueCode, ValidationErrors};

/// Decode and validate `json` (the envelope's `data`) as `E`.
///
/// For an event without data (a unit struct), `null` and `{}` both decode.
pub fn decode_event<E: Event>(json: &str) -> Result<E, ValidationErrors> {
    let event = decode_dyn::<E>(json)?;
    // `decode_dyn::<E>` made it, so it is an `E`, and nothing else holds it.
    event
        .into_any()
        .downcast::<E>()
        .ok()
        .and_then(|e| Arc::try_unwrap(e).ok())
        .ok_or_else(|| serde_error_text("internal error: decoded event is not the expected type"))
}

/// Decode and validate, then erase the type: the registry's `decode`.
///
/// All of the logic is in [`decode_erased`], compiled once; per event type
/// there is only [`erase`], the event's own field reader wrapped in an
/// `Arc` (compile cost, bench/compile-cost: the logic generic over `E` was
/// the largest function compiled for every event).
pub(crate) fn decode_dyn<E: Event>(json: &str) -> Result<Arc<dyn DynEvent>, ValidationErrors> {
    decode_erased(json, E::describe(), erase::<E>)
}

/// `E::__decode`, boxed as a type-erased event.
fn erase<E: Event>(json: &str) -> serde_json::Result<Arc<dyn DynEvent>> {
    E::__decode(json).map(|e| Arc::new(e) as Arc<dyn DynEvent>)
}

fn decode_erased(
    json: &str,
    ty: TypeSchema,
    decode: fn(&str) -> serde_json::Result<Arc<dyn DynEvent>>,
) -> Result<Arc<dyn DynEvent>, ValidationErrors> {
    // The fast path, taken by well-formed payloads (most ingest traffic):
    // serde straight from the text, no `serde_json::Value` built.
    if let Ok(event) = decode(json) {
        match validate_dyn(&*event) {
            Ok(()) => return Ok(event),
            // A `type` issue from `validate()` means serde took a value the
            // field cannot hold: an `f32` given a number past its range, which
            // serde_json rounds to infinity unless its `float_roundtrip`
            // feature is on (then it refuses it). The shape pass below reports
            // it as what it is, without measuring it against the field's
            // `range` as `validate()` just did.
            Err(e) if !has_type_issue(&e) => return Err(e),
            Err(_) => {}
        }
    }

    // Something is off: find out everything that is (see the module docs).
    let normalized = shape_pass(json, ty)?;
    // The shape is right once normalized (`1.0` for an integer, `{}` for a unit
    // event, a repeated key): deserialize the normalized text. Through the same
    // `E::__decode` as the fast path, so each event instantiates one deserializer
    // (compile cost, bench/compile-cost), and not through `serde_path_to_error`:
    // the shape pass has already reported, with paths, every error serde could
    // find in a derived payload. What is left (e.g. a user's `deserialize_with`)
    // is reported at the payload's root.
    let event = decode(&normalized).map_err(serde_error)?;
    validate_dyn(&*event)?;
    Ok(event)
}

/// `Event::validate`, through the type-erased event.
fn validate_dyn(event: &dyn DynEvent) -> Result<(), ValidationErrors> {
    let mut cx = Checker::new();
    event.__check(&mut cx);
    cx.finish()
}

/// The failure path's shape pass, not generic so that it is compiled once
/// rather than once per event type (bench/compile-cost): every issue of
/// `json` against `ty`, or the normalized text to deserialize.
fn shape_pass(json: &str, ty: TypeSchema) -> Result<String, ValidationErrors> {
    let mut value: Value = serde_json::from_str(json).map_err(|e| {
        ValidationErrors::from(vec![Issue::new(
            "",
            IssueCode::Type,
            format!("invalid JSON: {e}"),
        )])
    })?;
    // Integers past 64 bits kept exact (see `crate::wide_ints`). Only once
    // the text is known to be JSON: a number where a key belongs would become
    // a valid key once marked.
    let marked = wide_ints::mark(json);
    if let Some(Ok(exact)) = marked.as_deref().map(serde_json::from_str::<Value>) {
        value = exact;
    }
    if matches!(ty, TypeSchema::Null) && value.as_object().is_some_and(serde_json::Map::is_empty) {
        value = Value::Null;
    }
    let mut cx = Checker::new();
    check_shape(ty, &mut value, &mut cx);
    if !cx.is_ok() {
        // The failure path: again, with the constraints (see the module docs).
        let mut cx = Checker::new();
        walk(ty, &mut value, &mut cx, true);
        cx.finish()?;
    }
    let normalized = value.to_string();
    Ok(match marked {
        Some(_) => wide_ints::unmark(&normalized),
        None => normalized,
    })
}

fn serde_error(e: serde_json::Error) -> ValidationErrors {
    serde_error_text(&e.to_string())
}

fn serde_error_text(message: &str) -> ValidationErrors {
    ValidationErrors::from(vec![serde_issue(String::new(), message)])
}

fn has_type_issue(e: &ValidationErrors) -> bool {
    e.issues().iter().any(|i| i.code == IssueCode::Type)
}

/// Every shape issue of `value` against `ty`, recorded in `cx`. Whole-number
/// floats given for integer fields (`1.0`) are rewritten as integers, as JSON
/// Schema counts them as integers too.
pub fn check_shape(ty: TypeSchema, value: &mut Value, cx: &mut Checker) {
    walk(ty, value, cx, false);
}

/// [`check_shape`], and with `constraints` also every field's declarative
/// constraints, each right after the field's shape (as `validate()` orders them).
pub(crate) fn walk(ty: TypeSchema, value: &mut Value, cx: &mut Checker, constraints: bool) {
    if wide_ints::is_marker(value)
        && !matches!(ty, TypeSchema::Integer { .. } | TypeSchema::Option(_))
    {
        // Only an integer field reads a wide integer exactly; any other sees
        // the float `serde_json::Value` holds for it.
        wide_ints::to_float(value);
    }
    match ty {
        TypeSchema::Null => {
            if !value.is_null() {
                wrong_type(cx, "null (this event has no data)", value);
            }
        }
        TypeSchema::Bool => {
            if !value.is_boolean() {
                wrong_type(cx, "a boolean", value);
            }
        }
        TypeSchema::String => {
            if !value.is_string() {
                wrong_type(cx, "a string", value);
            }
        }
        TypeSchema::Float { f32 } => {
            if !value.is_number() {
                wrong_type(cx, "a number", value);
            } else if f32 && !value.as_f64().is_some_and(fits_f32) {
                cx.report(
                    IssueCode::Type,
                    format!("must be a number from {:e} to {:e}", f32::MIN, f32::MAX),
                );
            }
        }
        TypeSchema::Integer { min, max } => {
            normalize_integer(value);
            let Some(in_bounds) = json_integer(value, min, max)
                .map(|(_, in_bounds)| in_bounds)
                .or_else(|| wide_integer(value, min, max))
            else {
                wrong_type(cx, "an integer", value);
                return;
            };
            if !in_bounds {
                cx.report(
                    IssueCode::Type,
                    format!("must be an integer from {min} to {max}"),
                );
            }
        }
        TypeSchema::Any => {}
        TypeSchema::Option(inner) => {
            if !value.is_null() {
                walk(inner(), value, cx, constraints);
            }
        }
        TypeSchema::Array(inner) => match value.as_array_mut() {
            Some(items) => walk_items(inner(), items, cx, constraints),
            None => wrong_type(cx, "an array", value),
        },
        TypeSchema::Map(inner) => match value.as_object_mut() {
            Some(map) => {
                let inner = inner();
                for (k, v) in map.iter_mut() {
                    cx.enter_key(k);
                    walk(inner, v, cx, constraints);
                    cx.leave();
                }
            }
            None => wrong_type(cx, "an object", value),
        },
        TypeSchema::Struct(s) => match value.as_object_mut() {
            Some(map) => walk_struct(s, map, cx, constraints, None),
            None => wrong_type(cx, "an object", value),
        },
        TypeSchema::Tagged(t) => tagged::walk_tagged(t, value, cx, constraints),
        TypeSchema::Set(inner) => match value.as_array_mut() {
            Some(items) => {
                walk_items(inner(), items, cx, constraints);
                report_duplicates(items, cx);
            }
            None => wrong_type(cx, "an array", value),
        },
        TypeSchema::FixedArray { item, len } => match value.as_array_mut() {
            Some(items) => {
                walk_items(item(), items, cx, constraints);
                if items.len() != len {
                    cx.report(
                        IssueCode::Type,
                        format!("expected an array of {len} items, found {}", items.len()),
                    );
                }
            }
            None => wrong_type(cx, "an array", value),
        },
        TypeSchema::Format(f) => match value.as_str() {
            Some(text) if (f.parses)(text) => {}
            Some(_) => cx.report(IssueCode::Type, format!("must be {}", f.expected)),
            None => wrong_type(cx, "a string", value),
        },
        TypeSchema::Enum(e) => {
            let known = value.as_str().is_some_and(|v| e.variants.contains(&v));
            if !known {
                let list: Vec<String> = e.variants.iter().map(|v| format!("\"{v}\"")).collect();
                cx.report(
                    IssueCode::Type,
                    format!("must be one of {}", list.join(", ")),
                );
            }
        }
    }
}

/// A whole number past 64 bits, which `serde_json::Value` holds only as a
/// float, for an `i128`/`u128` field: whether it lies within the type's
/// bounds (compared as floats: -2^127, 2^127 and 2^128 are exact). `None`
/// for any other value or type, as no other integer type reaches that far.
#[allow(clippy::cast_precision_loss)]
fn wide_integer(value: &Value, min: i128, max: u128) -> Option<bool> {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    let wide = min < i128::from(i64::MIN) || max > u128::from(u64::MAX);
    let f = value
        .as_f64()
        .filter(|f| wide && value.is_f64() && f.fract() == 0.0 && f.abs() >= TWO_63)?;
    // `max as f64` rounds `i128::MAX`/`u128::MAX` up to the power of two above.
    Some(f >= min as f64 && f < max as f64)
}

fn walk_items(item: TypeSchema, items: &mut [Value], cx: &mut Checker, constraints: bool) {
    for (i, v) in items.iter_mut().enumerate() {
        cx.enter_index(i);
        walk(item, v, cx, constraints);
        cx.leave();
    }
}

/// The fields of `map` against the struct `s`; `tag` is a key that belongs
/// to the enclosing enum (an internally tagged variant's tag), not unknown.
pub(crate) fn walk_struct(
    s: &StructSchema,
    map: &mut serde_json::Map<String, Value>,
    cx: &mut Checker,
    constraints: bool,
    tag: Option<&str>,
) {
    for field in s.fields {
        cx.enter_field(field.name);
        match map.get_mut(field.name) {
            Some(v) => {
                let ty = (field.ty)();
                walk(ty, v, cx, constraints);
                if constraints {
                    check_json(ty, v, field.constraints, cx);
                }
            }
            None if field.required => cx.report(IssueCode::Required, "is required"),
            None => {}
        }
        cx.leave();
    }
    if s.deny_unknown_fields {
        for key in map.keys() {
            if Some(key.as_str()) != tag && !s.fields.iter().any(|f| f.name == key) {
                cx.enter_key(key);
                cx.report(IssueCode::UnknownField, unknown_field_message(s.fields));
                cx.leave();
            }
        }
    }
}

/// A set's items are unique (as JSON Schema's `uniqueItems` says, and as
/// the set's `Deserialize` insists): each repeat is an issue at its index.
/// Items are compared as normalized JSON text, so this is linear.
fn report_duplicates(items: &[Value], cx: &mut Checker) {
    let mut seen = std::collections::HashSet::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        if !seen.insert(item.to_string()) {
            cx.enter_index(i);
            cx.report(
                IssueCode::Type,
                "repeats an earlier item; a set holds each item once",
            );
            cx.leave();
        }
    }
}

/// JSON Schema counts `1.0` as an integer; so does decoding. The value is
/// rewritten as an integer so serde accepts it too.
#[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
fn normalize_integer(value: &mut Value) {
    if let Some(f) = value.as_f64().filter(|_| value.is_f64()) {
        // 2^63 and 2^64 are exact in f64; beyond them no Rust integer type here fits.
        if f.fract() == 0.0 && (-9_223_372_036_854_775_808.0..0.0).contains(&f) {
            *value = Value::from(f as i64);
        } else if f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f) {
            *value = Value::from(f as u64);
        }
    }
}

pub(crate) fn unknown_field_message(fields: &[crate::schema::FieldSchema]) -> String {
    if fields.is_empty() {
        return "is not a field of this payload (it has none)".to_owned();
    }
    let names: Vec<String> = fields.iter().map(|f| format!("`{}`", f.name)).collect();
    format!(
        "is not a field of this payload; expected one of {}",
        names.join(", ")
    )
}

pub(crate) fn wrong_type(cx: &mut Checker, expected: &str, found: &Value) {
    let found = match found {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    };
    cx.report(
        IssueCode::Type,
        format!("expected {expected}, found {found}"),
    );
}

/// One issue from a serde error message, classified by its standard wording.
fn serde_issue(path: String, message: &str) -> Issue {
    let named = |prefix: &str| {
        message
            .strip_prefix(prefix)
            .and_then(|rest| rest.split('`').next())
            .map(|name| {
                if path.is_empty() {
                    name.to_owned()
                } else {
                    format!("{path}.{name}")
                }
            })
    };
    if let Some(p) = named("missing field `") {
        Issue::new(p, IssueCode::Required, "is required")
    } else if let Some(p) = named("unknown field `") {
        Issue::new(p, IssueCode::UnknownField, message.to_owned())
    } else {
        Issue::new(path, IssueCode::Type, message.to_owned())
    }
}
