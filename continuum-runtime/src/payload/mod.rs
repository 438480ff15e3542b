//! Payload types: the [`Payload`] trait every type inside an event
//! implements, its implementations for the standard types ([`impls`]) and
//! string-formatted ones ([`formats`]), how a payload reads its fields from
//! JSON text ([`fields`]), and the run-time side of field constraints
//! ([`constraints`]). The user's reference is the `event` module.

pub(crate) mod constraints;
pub(crate) mod fields;
mod formats;
mod impls;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub use self::fields::Fields;
use crate::schema::{Constraint, FieldSchema, TypeSchema};
use crate::validate::Checker;

/// A type that can appear inside an event payload: it can check its own
/// constraints, describe its shape, and travel as JSON.
///
/// Implemented for `String`, `Cow<'static, str>`, `bool`, every integer and
/// float type, `Option<T>`, `Box<T>`, `Arc<T>`, `Vec<T>`, `VecDeque<T>`,
/// `[T; N]`, `HashSet<T>`, `BTreeSet<T>`, `HashMap<String, T>`,
/// `BTreeMap<String, T>`, `std::net::IpAddr` (and its `V4`/`V6`) and
/// `serde_json::Value`; with the cargo features of the same names,
/// `uuid::Uuid`, `chrono::DateTime<Utc>`/`DateTime<FixedOffset>`/`NaiveDate`,
/// `time::OffsetDateTime` and `url::Url`. Derive it for your own structs and
/// enums with `#[derive(Payload)]`.
///
/// Generated serde code reads and writes a field whose type is not one of
/// the standard types above through [`Payload::__serialize`] and
/// [`Payload::__deserialize`], so a type that is not a `Payload` gives one
/// error, about `Payload`, rather than one per serde trait.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of an event payload",
    label = "`{Self}` does not implement `Payload`",
    note = "add `#[derive(continuum_runtime::Payload)]` to `{Self}` (structs with named fields and enums; it also derives serde's traits, so remove `Serialize`/`Deserialize` from its derives), or use a supported type: String, bool, integers, floats, Option, Box, Arc, Vec, arrays, sets, HashMap<String, _>, BTreeMap<String, _>, IpAddr, serde_json::Value; for `uuid::Uuid`, `chrono`/`time` timestamps and `url::Url`, enable the `continuum-runtime` feature of the same name"
)]
pub trait Payload: Serialize + DeserializeOwned {
    /// Check every constraint of `self` and of its nested values, recording
    /// each violation in `cx` at the current path.
    fn check(&self, cx: &mut Checker);

    /// Describe this type's wire shape.
    fn describe() -> TypeSchema;

    /// Write `self` as it travels in a payload; `Serialize` unless the wire
    /// form differs (`time::OffsetDateTime` travels as RFC 3339). Not for
    /// users: generated code calls it.
    #[doc(hidden)]
    fn __serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.serialize(serializer)
    }

    /// Read a value as it travels in a payload; `Deserialize` unless the
    /// wire form differs, or the type refuses more (a set refuses duplicate
    /// items). Not for users: generated code calls it.
    #[doc(hidden)]
    fn __deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        <Self as Deserialize<'de>>::deserialize(deserializer)
    }

    /// Apply one declarative constraint of a field's schema (`range`,
    /// `length`, `pattern`, `each`) to `self`, through the constraint trait
    /// of that kind (`__private::RangeCheck`, …). A type no constraint
    /// applies to ignores it: generated code asserts at compile time that
    /// every declared constraint applies to the field's type, so validation
    /// can run from the schema's tables rather than from a generated body per
    /// constraint (compile cost, bench/compile-cost). Not for users.
    #[doc(hidden)]
    fn __constrain(&self, constraint: &Constraint, cx: &mut Checker) {
        let _ = (constraint, cx);
    }

    /// Check `self` as the struct field `field`: its own `check`, then the
    /// field's constraints from the schema, at its wire name. What a
    /// generated `check` calls for each field without a `custom`
    /// constraint. Not for users.
    #[doc(hidden)]
    fn __check_field(&self, field: &FieldSchema, cx: &mut Checker) {
        cx.enter_field(field.name);
        self.check(cx);
        for c in field.constraints {
            self.__constrain(c, cx);
        }
        cx.leave();
    }

    /// Read field `i` of an event's payload (see `__private::Fields::take`).
    /// A method of this trait so that generated code names the field's type
    /// only as `<T as Payload>`: a type that is not a `Payload` stays one
    /// error. Not for users.
    #[doc(hidden)]
    fn __field(fields: &mut Fields<'_>, i: usize, via: bool, default: bool) -> Option<Self> {
        fields.take(i, via, default)
    }
}
