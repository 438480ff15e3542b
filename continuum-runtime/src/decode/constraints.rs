//! Field constraints on JSON values: decoding's failure path evaluates the
//! declarative constraints of the schema on the parsed JSON, so a payload
//! that does not deserialize still gets every constraint issue, with the
//! same codes and messages as `validate()` (both sides build their issues
//! with the functions of `payload::constraints`).

use serde_json::Value;

use super::wide_ints;
use crate::payload::constraints::{
    check_len, check_num, check_str_pattern, NumValue, CHARS, ENTRIES, ITEMS,
};
use crate::schema::{fits_f32, round_f32, Constraint, TypeSchema};
use crate::validate::Checker;

/// An integer JSON value as a [`NumValue`], and whether it lies within
/// `min..=max` (the bounds of the field's Rust type); `None` when the value
/// is not a whole number. Decoding has already rewritten `1.0` as `1`.
pub(crate) fn json_integer(value: &Value, min: i128, max: u128) -> Option<(NumValue, bool)> {
    if wide_ints::is_marker(value) {
        // An integer past 64 bits, exact (see `crate::wide_ints`); past 128
        // bits, out of every integer type's range.
        return Some(match wide_ints::exact(value) {
            Some(Ok(v)) => (NumValue::Signed(v), v >= min),
            Some(Err(v)) => (NumValue::Unsigned(v), v <= max),
            None => (NumValue::Float(f64::NAN), false),
        });
    }
    if let Some(v) = value.as_i64() {
        let in_bounds = i128::from(v) >= min && (v < 0 || u128::from(v.unsigned_abs()) <= max);
        Some((NumValue::Signed(v.into()), in_bounds))
    } else {
        value
            .as_u64()
            .map(|v| (NumValue::Unsigned(v.into()), u128::from(v) <= max))
    }
}

/// Check `constraints` on the JSON `value` of a field (or element) of wire
/// type `ty`, as `validate()` checks them on the deserialized value: the same
/// issues, in the same order, at the same paths (relative to the checker's
/// current path).
///
/// Only values the shape pass accepted are checked: a constraint on a value
/// of the wrong JSON type (or an integer outside its Rust type, or a number
/// an `f32` cannot hold) is skipped, as that value has already been reported
/// and has nothing to measure. `custom = path` is skipped too: its function
/// takes the Rust value, which exists only once the whole payload
/// deserializes.
///
/// A number for an `f32` is rounded to `f32` before it is compared, as the
/// deserialized value `validate()` checks is.
pub(crate) fn check_json(
    ty: TypeSchema,
    value: &Value,
    constraints: &[Constraint],
    cx: &mut Checker,
) {
    if let TypeSchema::Option(inner) = ty {
        // Every constraint on an `Option` applies to the `Some` value.
        if !value.is_null() {
            check_json(inner(), value, constraints, cx);
        }
        return;
    }
    for c in constraints {
        match *c {
            Constraint::Range(bounds) => {
                let number = match ty {
                    TypeSchema::Integer { min, max } => json_integer(value, min, max)
                        .and_then(|(v, in_bounds)| in_bounds.then_some(v)),
                    TypeSchema::Float { f32: false } => value.as_f64().map(NumValue::Float),
                    TypeSchema::Float { f32: true } => value
                        .as_f64()
                        .filter(|&v| fits_f32(v))
                        .map(|v| NumValue::Float(round_f32(v))),
                    _ => None,
                };
                if let Some(v) = number {
                    check_num(v, cx, &bounds);
                }
            }
            Constraint::Length { min, max } => {
                let counted = match (ty, value) {
                    (TypeSchema::String, Value::String(s)) => Some((s.chars().count(), CHARS)),
                    (
                        TypeSchema::Array(_) | TypeSchema::Set(_) | TypeSchema::FixedArray { .. },
                        Value::Array(items),
                    ) => Some((items.len(), ITEMS)),
                    (TypeSchema::Map(_), Value::Object(map)) => Some((map.len(), ENTRIES)),
                    _ => None,
                };
                if let Some((len, unit)) = counted {
                    check_len(len, unit, cx, min, max);
                }
            }
            Constraint::Pattern(pattern) => {
                if let (TypeSchema::String, Value::String(s)) = (ty, value) {
                    check_str_pattern(s, cx, pattern);
                }
            }
            Constraint::Each(inner) => match (ty, value) {
                (
                    TypeSchema::Array(item)
                    | TypeSchema::Set(item)
                    | TypeSchema::FixedArray { item, .. },
                    Value::Array(items),
                ) => {
                    let item = item();
                    for (i, v) in items.iter().enumerate() {
                        cx.enter_index(i);
                        check_json(item, v, inner, cx);
                        cx.leave();
                    }
                }
                (TypeSchema::Map(item), Value::Object(map)) => {
                    let item = item();
                    for (k, v) in map {
                        cx.enter_key(k);
                        check_json(item, v, inner, cx);
                        cx.leave();
                    }
                }
                _ => {}
            },
            Constraint::Custom(_) => {}
        }
    }
}
