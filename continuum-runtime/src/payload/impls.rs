//! [`Payload`] for the standard types an event field can have.
//!
//! Containers read and write their items through the items' own
//! [`Payload::__serialize`]/[`Payload::__deserialize`] (through [`Ser`] and
//! [`De`]), so an item whose wire form differs from its `Serialize` (a
//! timestamp) or that refuses more (a set) keeps its form inside a `Vec`,
//! an `Option` or a map.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::hash::{BuildHasher, Hash};
use std::sync::Arc;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::constraints::{apply_items, apply_range, apply_text};
use super::Payload;
use crate::schema::{Constraint, TypeSchema};
use crate::validate::{Checker, IssueCode};

/// An item written through [`Payload::__serialize`].
struct Ser<'a, T>(&'a T);

impl<T: Payload> Serialize for Ser<'_, T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.__serialize(serializer)
    }
}

/// An item read through [`Payload::__deserialize`].
struct De<T>(T);

impl<'de, T: Payload> Deserialize<'de> for De<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        T::__deserialize(deserializer).map(De)
    }
}

macro_rules! leaf {
    ($($t:ty => $schema:expr),* $(,)?) => {$(
        impl Payload for $t {
            fn check(&self, _: &mut Checker) {}
            fn describe() -> TypeSchema {
                $schema
            }
        }
    )*};
}
leaf!(bool => TypeSchema::Bool);

macro_rules! strings {
    ($($t:ty),*) => {$(
        impl Payload for $t {
            fn check(&self, _: &mut Checker) {}
            fn describe() -> TypeSchema {
                TypeSchema::String
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                apply_text(self, c, cx);
            }
        }
    )*};
}
strings!(String, Cow<'static, str>);

macro_rules! ints {
    ($($t:ty)*) => {$(
        impl Payload for $t {
            fn check(&self, _: &mut Checker) {}
            #[allow(clippy::cast_lossless, clippy::cast_sign_loss, trivial_numeric_casts)]
            fn describe() -> TypeSchema {
                TypeSchema::Integer { min: <$t>::MIN as i128, max: <$t>::MAX as u128 }
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                apply_range(self, c, cx);
            }
        }
    )*};
}
ints!(i8 i16 i32 i64 i128 isize u8 u16 u32 u64 u128 usize);

macro_rules! floats {
    ($($t:ident: $f32:literal),*) => {$(
        impl Payload for $t {
            /// JSON has no NaN or infinity (serde_json writes them as `null`),
            /// so a non-finite float cannot be sent faithfully.
            fn check(&self, cx: &mut Checker) {
                if !self.is_finite() {
                    cx.report(IssueCode::Type, "must be a finite number");
                }
            }
            fn describe() -> TypeSchema {
                TypeSchema::Float { f32: $f32 }
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                apply_range(self, c, cx);
            }
        }
    )*};
}
floats!(f32: true, f64: false);

impl Payload for serde_json::Value {
    fn check(&self, _: &mut Checker) {}
    fn describe() -> TypeSchema {
        TypeSchema::Any
    }
}

impl<T: Payload> Payload for Option<T> {
    fn check(&self, cx: &mut Checker) {
        if let Some(v) = self {
            v.check(cx);
        }
    }
    fn describe() -> TypeSchema {
        TypeSchema::Option(T::describe)
    }
    /// Constraints apply to the `Some` value; `None` passes.
    fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
        if let Some(v) = self {
            v.__constrain(c, cx);
        }
    }
    fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => serializer.serialize_some(&Ser(v)),
            None => serializer.serialize_none(),
        }
    }
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Option::<De<T>>::deserialize(deserializer)?.map(|De(v)| v))
    }
}

/// `Box<T>` and `Arc<T>`: the value inside, on the wire and in checks.
macro_rules! pointers {
    ($($p:ident),*) => {$(
        impl<T: Payload> Payload for $p<T> {
            fn check(&self, cx: &mut Checker) {
                (**self).check(cx);
            }
            fn describe() -> TypeSchema {
                T::describe()
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                (**self).__constrain(c, cx);
            }
            fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                (**self).__serialize(serializer)
            }
            fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                T::__deserialize(deserializer).map($p::new)
            }
        }
    )*};
}
pointers!(Box, Arc);

fn check_items<'a, T: Payload + 'a>(items: impl Iterator<Item = &'a T>, cx: &mut Checker) {
    for (i, item) in items.enumerate() {
        cx.enter_index(i);
        item.check(cx);
        cx.leave();
    }
}

/// `Vec<T>` and `VecDeque<T>`: JSON arrays.
macro_rules! sequences {
    ($($s:ident),*) => {$(
        impl<T: Payload> Payload for $s<T> {
            fn check(&self, cx: &mut Checker) {
                check_items(self.iter(), cx);
            }
            fn describe() -> TypeSchema {
                TypeSchema::Array(T::describe)
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                apply_items(self, c, cx);
            }
            fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_seq(self.iter().map(Ser))
            }
            fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                Ok(Vec::<De<T>>::deserialize(deserializer)?.into_iter().map(|De(v)| v).collect())
            }
        }
    )*};
}
sequences!(Vec, VecDeque);

/// Fixed-size arrays: exactly `N` items. serde reads and writes arrays of up
/// to 32 items, so those are the ones implemented (a longer one is then a
/// plain "not a `Payload`" error rather than one per serde trait).
macro_rules! arrays {
    ($($n:literal)*) => {$(
        impl<T: Payload> Payload for [T; $n] {
            fn check(&self, cx: &mut Checker) {
                check_items(self.iter(), cx);
            }
            fn describe() -> TypeSchema {
                TypeSchema::FixedArray { item: T::describe, len: $n }
            }
            fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
                apply_items(self, c, cx);
            }
        }
    )*};
}
arrays!(0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32);

/// Read a set's items, refusing a duplicate as JSON Schema's `uniqueItems`
/// does (serde alone would keep one and drop the other silently).
fn unique<'de, D, T, C>(
    deserializer: D,
    mut insert: impl FnMut(&mut C, T) -> bool,
) -> Result<C, D::Error>
where
    D: Deserializer<'de>,
    T: Payload,
    C: Default,
{
    let mut set = C::default();
    for De(item) in Vec::<De<T>>::deserialize(deserializer)? {
        if !insert(&mut set, item) {
            return Err(D::Error::custom("duplicate item in a set"));
        }
    }
    Ok(set)
}

impl<T: Payload + Eq + Hash, S: BuildHasher + Default> Payload for HashSet<T, S> {
    fn check(&self, cx: &mut Checker) {
        check_items(self.iter(), cx);
    }
    fn describe() -> TypeSchema {
        TypeSchema::Set(T::describe)
    }
    fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
        apply_items(self, c, cx);
    }
    fn __serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.collect_seq(self.iter().map(Ser))
    }
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        unique(deserializer, |set: &mut Self, item| set.insert(item))
    }
}

impl<T: Payload + Ord> Payload for BTreeSet<T> {
    fn check(&self, cx: &mut Checker) {
        check_items(self.iter(), cx);
    }
    fn describe() -> TypeSchema {
        TypeSchema::Set(T::describe)
    }
    fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
        apply_items(self, c, cx);
    }
    fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.iter().map(Ser))
    }
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        unique(deserializer, |set: &mut Self, item| set.insert(item))
    }
}

fn check_values<'a, T: Payload + 'a>(
    entries: impl Iterator<Item = (&'a String, &'a T)>,
    cx: &mut Checker,
) {
    for (k, v) in entries {
        cx.enter_key(k);
        v.check(cx);
        cx.leave();
    }
}

impl<T: Payload, S: BuildHasher + Default> Payload for HashMap<String, T, S> {
    fn check(&self, cx: &mut Checker) {
        check_values(self.iter(), cx);
    }
    fn describe() -> TypeSchema {
        TypeSchema::Map(T::describe)
    }
    fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
        apply_items(self, c, cx);
    }
    fn __serialize<Z: Serializer>(&self, serializer: Z) -> Result<Z::Ok, Z::Error> {
        serializer.collect_map(self.iter().map(|(k, v)| (k, Ser(v))))
    }
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = HashMap::<String, De<T>, S>::deserialize(deserializer)?;
        Ok(map.into_iter().map(|(k, De(v))| (k, v)).collect())
    }
}

impl<T: Payload> Payload for BTreeMap<String, T> {
    fn check(&self, cx: &mut Checker) {
        check_values(self.iter(), cx);
    }
    fn describe() -> TypeSchema {
        TypeSchema::Map(T::describe)
    }
    fn __constrain(&self, c: &Constraint, cx: &mut Checker) {
        apply_items(self, c, cx);
    }
    fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.iter().map(|(k, v)| (k, Ser(v))))
    }
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let map = BTreeMap::<String, De<T>>::deserialize(deserializer)?;
        Ok(map.into_iter().map(|(k, De(v))| (k, v)).collect())
    }
}
