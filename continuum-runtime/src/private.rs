//! Not public API: what generated code names. Everything here may change
//! without notice.

pub use ::core;
pub use ::inventory;
pub use ::serde;
pub use ::serde_json;

pub use crate::constraints::{
    custom, EachCheck, LengthCheck, Pattern, PatternCheck, RangeBounds, RangeCheck,
};
pub use crate::event::{Event, Payload};
pub use crate::hub::{Emit, EmitError, EventId, Hub};
pub use crate::registry::{Registration, Submitted};
pub use crate::schema::{
    Constraint, EnumSchema, EventSchema, FieldSchema, Number, StructSchema, TypeSchema,
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
