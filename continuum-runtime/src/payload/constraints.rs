//! The run-time side of `#[event(…)]` field constraints.
//!
//! Each constraint is a trait implemented for exactly the types it applies to,
//! so a constraint on the wrong type is a compile error at the field's type,
//! worded by `#[diagnostic::on_unimplemented]` ("`range` applies to numbers,
//! not `String`"). `Option<T>` is transparent to every constraint: it applies
//! to the `Some` value, and `None` passes.
//!
//! Generated code calls these through `__private`; users never name them.
//!
//! On its failure path, decoding evaluates the same declarative constraints
//! (from the schema) on the JSON value (`decode::constraints`); both sides
//! build their issues with the same functions here, so codes and messages agree.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt;
use std::sync::Arc;

use super::Payload;
use crate::schema::{Constraint, Number, Pattern, RangeBounds};
use crate::validate::{Checker, IssueCode};

/// A number read from a field, kept exact for comparison with a bound.
#[derive(Clone, Copy, Debug)]
pub(crate) enum NumValue {
    /// A signed integer.
    Signed(i128),
    /// An unsigned integer (may exceed `i128::MAX`).
    Unsigned(u128),
    /// A float.
    Float(f64),
}

impl NumValue {
    fn cmp_bound(self, bound: Number) -> Option<std::cmp::Ordering> {
        use std::cmp::Ordering;
        match (self, bound) {
            (NumValue::Signed(v), Number::Int(b)) => Some(v.cmp(&b)),
            (NumValue::Unsigned(v), Number::Int(b)) => match i128::try_from(v) {
                Ok(v) => Some(v.cmp(&b)),
                Err(_) => Some(Ordering::Greater),
            },
            // Bounds written as floats, or float values: compare as floats.
            (v, b) => v.as_f64().partial_cmp(&b.as_f64()),
        }
    }

    #[allow(clippy::cast_precision_loss)]
    fn as_f64(self) -> f64 {
        match self {
            NumValue::Signed(v) => v as f64,
            NumValue::Unsigned(v) => v as f64,
            NumValue::Float(v) => v,
        }
    }
}

/// Types `range(…)` applies to: integers and floats (and `Option`s of them).
#[diagnostic::on_unimplemented(
    message = "`range` applies to numbers, not `{Self}`",
    label = "`range` cannot check a `{Self}`",
    note = "`range(min = …, max = …)` checks integer and float fields; use `length(min = …, max = …)` for strings, sequences and maps"
)]
pub trait RangeCheck {
    /// Report a `range` issue at the current path when out of bounds.
    fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds);
}

pub(crate) fn check_num(value: NumValue, cx: &mut Checker, b: &RangeBounds) {
    use std::cmp::Ordering::{Greater, Less};
    if let Some(min) = b.min {
        match (value.cmp_bound(min), b.exclusive_min) {
            (Some(Less), false) => cx.report(IssueCode::Range, format!("must be at least {min}")),
            (Some(Less | std::cmp::Ordering::Equal), true) => {
                cx.report(IssueCode::Range, format!("must be greater than {min}"));
            }
            (None, _) => cx.report(IssueCode::Range, "must be a number"),
            _ => {}
        }
    }
    if let Some(max) = b.max {
        match (value.cmp_bound(max), b.exclusive_max) {
            (Some(Greater), false) => cx.report(IssueCode::Range, format!("must be at most {max}")),
            (Some(Greater | std::cmp::Ordering::Equal), true) => {
                cx.report(IssueCode::Range, format!("must be less than {max}"));
            }
            (None, _) if b.min.is_none() => cx.report(IssueCode::Range, "must be a number"),
            _ => {}
        }
    }
}

macro_rules! range_ints {
    ($variant:ident: $($t:ty)*) => {$(
        impl RangeCheck for $t {
            #[allow(clippy::cast_lossless, trivial_numeric_casts)]
            fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds) {
                check_num(NumValue::$variant(*self as _), cx, bounds);
            }
        }
    )*};
}
range_ints!(Signed: i8 i16 i32 i64 i128 isize);
range_ints!(Unsigned: u8 u16 u32 u64 u128 usize);

impl RangeCheck for f32 {
    fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds) {
        check_num(NumValue::Float(f64::from(*self)), cx, bounds);
    }
}

impl RangeCheck for f64 {
    fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds) {
        check_num(NumValue::Float(*self), cx, bounds);
    }
}

impl<T: RangeCheck> RangeCheck for Option<T> {
    fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds) {
        if let Some(v) = self {
            v.check_range(cx, bounds);
        }
    }
}

/// Types `length(…)` applies to: strings (in chars), sequences and maps (in
/// items), and `Option`s of them.
#[diagnostic::on_unimplemented(
    message = "`length` applies to strings, sequences and maps, not `{Self}`",
    label = "`length` cannot check a `{Self}`",
    note = "`length(min = …, max = …)` counts the characters of a `String` and the items of a `Vec` or map; use `range(min = …, max = …)` for numbers"
)]
pub trait LengthCheck {
    /// Report a `length` issue at the current path when out of bounds.
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>);
}

/// What `length` counts in a string.
pub(crate) const CHARS: &str = "character";
/// What `length` counts in a sequence.
pub(crate) const ITEMS: &str = "item";
/// What `length` counts in a map.
pub(crate) const ENTRIES: &str = "entry";

pub(crate) fn check_len(
    len: usize,
    unit: &str,
    cx: &mut Checker,
    min: Option<u64>,
    max: Option<u64>,
) {
    let len = len as u64;
    let plural = |n: u64| if n == 1 { "" } else { "s" };
    if let Some(min) = min {
        if len < min {
            cx.report(
                IssueCode::Length,
                format!("must have at least {min} {unit}{}", plural(min)),
            );
        }
    }
    if let Some(max) = max {
        if len > max {
            cx.report(
                IssueCode::Length,
                format!("must have at most {max} {unit}{}", plural(max)),
            );
        }
    }
}

impl LengthCheck for String {
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
        check_len(self.chars().count(), CHARS, cx, min, max);
    }
}

impl LengthCheck for Cow<'_, str> {
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
        check_len(self.chars().count(), CHARS, cx, min, max);
    }
}

/// Sequences and sets: `length` counts items.
macro_rules! length_items {
    ($($t:ty => [$($g:tt)*]),*) => {$(
        impl<$($g)*> LengthCheck for $t {
            fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
                check_len(self.len(), ITEMS, cx, min, max);
            }
        }
    )*};
}
length_items!(Vec<T> => [T], VecDeque<T> => [T], HashSet<T, S> => [T, S], BTreeSet<T> => [T], [T; N] => [T, const N: usize]);

impl<K, V, S> LengthCheck for HashMap<K, V, S> {
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
        check_len(self.len(), ENTRIES, cx, min, max);
    }
}

impl<K, V> LengthCheck for BTreeMap<K, V> {
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
        check_len(self.len(), ENTRIES, cx, min, max);
    }
}

impl<T: LengthCheck> LengthCheck for Option<T> {
    fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
        if let Some(v) = self {
            v.check_length(cx, min, max);
        }
    }
}

/// `Box<T>` and `Arc<T>`: the value inside.
macro_rules! pointer_checks {
    ($($p:ident),*) => {$(
        impl<T: LengthCheck + ?Sized> LengthCheck for $p<T> {
            fn check_length(&self, cx: &mut Checker, min: Option<u64>, max: Option<u64>) {
                (**self).check_length(cx, min, max);
            }
        }
        impl<T: RangeCheck + ?Sized> RangeCheck for $p<T> {
            fn check_range(&self, cx: &mut Checker, bounds: &RangeBounds) {
                (**self).check_range(cx, bounds);
            }
        }
        impl<T: PatternCheck + ?Sized> PatternCheck for $p<T> {
            fn check_pattern(&self, cx: &mut Checker, pattern: &Pattern) {
                (**self).check_pattern(cx, pattern);
            }
        }
        impl<T: EachCheck + ?Sized> EachCheck for $p<T> {
            type Item = T::Item;
            fn check_each<F: FnMut(&T::Item, &mut Checker)>(&self, cx: &mut Checker, f: F) {
                (**self).check_each(cx, f);
            }
        }
    )*};
}
pointer_checks!(Box, Arc);

/// Types `pattern = "…"` applies to: `String` (and `Option<String>`).
#[diagnostic::on_unimplemented(
    message = "`pattern` applies to strings, not `{Self}`",
    label = "`pattern` cannot check a `{Self}`",
    note = "`pattern = \"regex\"` checks `String` fields; use `each(pattern = \"…\")` for the strings inside a `Vec` or map"
)]
pub trait PatternCheck {
    /// Report a `pattern` issue at the current path when `self` does not match.
    fn check_pattern(&self, cx: &mut Checker, pattern: &Pattern);
}

pub(crate) fn check_str_pattern(text: &str, cx: &mut Checker, pattern: &Pattern) {
    if !pattern.is_match(text) {
        cx.report(
            IssueCode::Pattern,
            format!("must match the pattern `{}`", pattern.source()),
        );
    }
}

impl PatternCheck for String {
    fn check_pattern(&self, cx: &mut Checker, pattern: &Pattern) {
        check_str_pattern(self, cx, pattern);
    }
}

impl<T: PatternCheck> PatternCheck for Option<T> {
    fn check_pattern(&self, cx: &mut Checker, pattern: &Pattern) {
        if let Some(v) = self {
            v.check_pattern(cx, pattern);
        }
    }
}

impl PatternCheck for Cow<'_, str> {
    fn check_pattern(&self, cx: &mut Checker, pattern: &Pattern) {
        check_str_pattern(self, cx, pattern);
    }
}

/// Types `each(…)` applies to: sequences (every element, path `[i]`), maps
/// (every value, path `.key`), and `Option`s of them.
#[diagnostic::on_unimplemented(
    message = "`each` applies to sequences and maps, not `{Self}`",
    label = "`each` cannot look inside a `{Self}`",
    note = "`each(…)` checks every element of a `Vec` or every value of a map; constraints on an `Option` already apply to its `Some` value, so write them without `each`"
)]
pub trait EachCheck {
    /// The element type the inner constraints check.
    type Item;
    /// Call `f` on every element, with the checker's path at that element.
    fn check_each<F: FnMut(&Self::Item, &mut Checker)>(&self, cx: &mut Checker, f: F);
}

/// Sequences, sets and arrays: every item, path `[i]` (a `HashSet`'s in
/// its iteration order, which is also the order it is written in).
macro_rules! each_items {
    ($($t:ty => [$($g:tt)*]),*) => {$(
        impl<$($g)*> EachCheck for $t {
            type Item = T;
            fn check_each<F: FnMut(&T, &mut Checker)>(&self, cx: &mut Checker, mut f: F) {
                for (i, item) in self.iter().enumerate() {
                    cx.enter_index(i);
                    f(item, cx);
                    cx.leave();
                }
            }
        }
    )*};
}
each_items!(Vec<T> => [T], VecDeque<T> => [T], HashSet<T, S> => [T, S], BTreeSet<T> => [T], [T; N] => [T, const N: usize]);

impl<K: AsRef<str>, V, S> EachCheck for HashMap<K, V, S> {
    type Item = V;
    fn check_each<F: FnMut(&V, &mut Checker)>(&self, cx: &mut Checker, mut f: F) {
        for (k, v) in self {
            cx.enter_key(k.as_ref());
            f(v, cx);
            cx.leave();
        }
    }
}

impl<K: AsRef<str>, V> EachCheck for BTreeMap<K, V> {
    type Item = V;
    fn check_each<F: FnMut(&V, &mut Checker)>(&self, cx: &mut Checker, mut f: F) {
        for (k, v) in self {
            cx.enter_key(k.as_ref());
            f(v, cx);
            cx.leave();
        }
    }
}

impl<T: EachCheck> EachCheck for Option<T> {
    type Item = T::Item;
    fn check_each<F: FnMut(&T::Item, &mut Checker)>(&self, cx: &mut Checker, f: F) {
        if let Some(v) = self {
            v.check_each(cx, f);
        }
    }
}

/// `Payload::__constrain` for numbers: `range`.
pub(crate) fn apply_range<T: RangeCheck + ?Sized>(v: &T, c: &Constraint, cx: &mut Checker) {
    if let Constraint::Range(bounds) = c {
        v.check_range(cx, bounds);
    }
}

/// `Payload::__constrain` for strings: `length` and `pattern`.
pub(crate) fn apply_text<T: LengthCheck + PatternCheck + ?Sized>(
    v: &T,
    c: &Constraint,
    cx: &mut Checker,
) {
    match *c {
        Constraint::Length { min, max } => v.check_length(cx, min, max),
        Constraint::Pattern(pattern) => v.check_pattern(cx, pattern),
        _ => {}
    }
}

/// `Payload::__constrain` for sequences, sets, arrays and maps: `length`,
/// and `each` with the inner constraints applied to every item in turn.
pub(crate) fn apply_items<T>(v: &T, c: &Constraint, cx: &mut Checker)
where
    T: LengthCheck + EachCheck + ?Sized,
    T::Item: Payload,
{
    match *c {
        Constraint::Length { min, max } => v.check_length(cx, min, max),
        Constraint::Each(inner) => v.check_each(cx, |item, cx| {
            for c in inner {
                Payload::__constrain(item, c, cx);
            }
        }),
        _ => {}
    }
}

/// Record the outcome of a `custom = path` function.
pub fn custom<E: fmt::Display>(cx: &mut Checker, result: Result<(), E>) {
    if let Err(e) = result {
        cx.report(IssueCode::Custom, e.to_string());
    }
}
