//! Not public API: what generated code names. Everything here may change
//! without notice.

pub use ::core;
pub use ::inventory;
pub use ::serde;
pub use ::serde_json;

pub use crate::constraints::{
    custom, EachCheck, LengthCheck, Pattern, PatternCheck, RangeBounds, RangeCheck,
};
pub use crate::decode_fields::Fields;
pub use crate::event::{Event, Payload};
pub use crate::hub::{Emit, EmitError, EventId, Hub};
pub use crate::registry::{Registration, Submitted};
pub use crate::schema::{
    Constraint, EnumRepr, EnumSchema, EventSchema, FieldSchema, Number, StructSchema, TaggedSchema,
    TypeSchema, VariantKind, VariantSchema,
};
pub use crate::validate::{Checker, IssueCode};

/// The registration of `E`, used by both the inventory entry and `Registry::register`.
pub fn registration<E: Event>() -> Registration {
    Registration {
        type_name: E::TYPE,
        rust_name: ::core::any::type_name::<E>(),
        decode: decode::<E>,
        schema: E::schema,
    }
}

/// Decode `json` (the envelope's `data`; `null` for an event without data) as
/// `E`, validate it, and erase its type. Every issue uses the same shape: see
/// [`crate::decode`].
pub fn decode<E: Event>(
    json: &str,
) -> Result<std::sync::Arc<dyn crate::DynEvent>, crate::ValidationErrors> {
    crate::decode::decode_dyn::<E>(json)
}

/// A struct with named fields (derived `Payload`), or a `Box` of one: what
/// an internally tagged enum's newtype variant may carry, since serde writes
/// the tag beside the value's own fields.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the value of a newtype variant in an internally tagged enum",
    label = "serde can put the tag beside the fields of a struct only, not in a `{Self}`",
    note = "use a struct variant `Name {{ value: {Self} }}`, or add `content = \"…\"` beside `tag` (adjacently tagged)"
)]
pub trait Struct {}

impl<T: Struct> Struct for Box<T> {}
impl<T: Struct> Struct for std::sync::Arc<T> {}

/// A compile-time check that `T` is a [`Struct`].
pub const fn assert_struct<T: Struct + ?Sized>() {}
