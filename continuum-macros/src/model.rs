//! The checked model that generation reads: what `check` produces from a
//! parsed item with no errors (wire names decided, constraints known to
//! fit, how each field travels). Generation never sees unchecked input; for
//! an item with errors it gets a [`Failed`] and emits only stubs.

use syn::{Ident, LitStr, Path, Type};

use crate::attr::Constraint;

pub(crate) struct Field {
    /// `None` for a newtype variant's one unnamed field.
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Type,
    pub(crate) wire: String,
    pub(crate) docs: String,
    pub(crate) required: bool,
    pub(crate) constraints: Vec<Constraint>,
    /// Write through `Payload::__serialize` (see [`crate::ty::is_standard`]).
    pub(crate) via_serialize: bool,
    /// Read through `Payload::__deserialize`.
    pub(crate) via_deserialize: bool,
    /// An `Option` read through `Payload::__deserialize` needs serde's
    /// `default` to stay optional (the user wrote none).
    pub(crate) add_default: bool,
    /// serde reads it by its wire name alone (no `default`, `alias`, `with`, …).
    pub(crate) plain_de: bool,
    /// serde writes it by its wire name alone (no `skip_serializing_if`,
    /// `serialize_with`, …).
    pub(crate) plain_ser: bool,
}

pub(crate) enum Shape {
    /// A struct with named fields (skipped fields left out).
    Named(Vec<Field>),
    /// A unit struct: an event without data.
    Unit,
    /// A unit-variant enum without a tag: each variant's name and wire name.
    Enum(Vec<(Ident, String)>),
    /// An enum with data, or with a tag.
    Tagged(Tagged),
}

pub(crate) struct Tagged {
    pub(crate) repr: Repr,
    pub(crate) variants: Vec<Variant>,
}

pub(crate) enum Repr {
    External,
    Internal(String),
    Adjacent(String, String),
}

pub(crate) struct Variant {
    pub(crate) ident: Ident,
    pub(crate) wire: String,
    pub(crate) docs: String,
    pub(crate) kind: VariantKind,
    /// Add `#[serde(rename_all = "camelCase")]` for its fields.
    pub(crate) add_rename_all: bool,
}

pub(crate) enum VariantKind {
    Unit,
    Newtype(Box<Field>),
    Struct(Vec<Field>),
}

pub(crate) struct Model {
    pub(crate) ident: Ident,
    /// The event's name (`#[continuum_event("…")]`); `None` for a payload.
    pub(crate) event: Option<LitStr>,
    /// `key = field` (and `ttl`), checked; `None` for an event without a key.
    pub(crate) keyed: Option<Keyed>,
    /// The event's version (`version = N`, 1 by default; 1 for a payload).
    pub(crate) version: u32,
    /// The previous version's struct (`upcast_from = …`), for version ≥ 2.
    pub(crate) upcast_from: Option<Path>,
    pub(crate) docs: String,
    pub(crate) shape: Shape,
    pub(crate) krate: Path,
    /// Unknown fields are rejected (our default) — add `deny_unknown_fields`
    /// unless the user already wrote it.
    pub(crate) deny_unknown_fields: bool,
    /// Add `#[serde(rename_all = "camelCase")]` (the user wrote none).
    pub(crate) add_rename_all: bool,
    /// Add `#[serde(deny_unknown_fields)]`.
    pub(crate) add_deny: bool,
    /// A struct whose every field serde reads by wire name alone (none
    /// skipped, no serde option that changes reading): generated code reads
    /// it field by field (`Event::__decode`), with the same result as
    /// serde's derive for less code per event.
    pub(crate) plain_decode: bool,
    /// An event whose every field serde writes by wire name alone (none
    /// skipped, no serde option that changes writing): generated code
    /// writes it (`expand::serde::serialize_impl`) as serde's derive would.
    pub(crate) plain_encode: bool,
    /// The name serde gives the struct when writing it (`rename`, else the
    /// Rust name).
    pub(crate) serde_name: String,
}

/// An event's key field, found and not optional, and its retention.
pub(crate) struct Keyed {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    /// The field's wire name (`taskId`).
    pub(crate) wire: String,
    /// `ttl`, in seconds.
    pub(crate) ttl_secs: Option<u64>,
}

pub(crate) fn default_krate() -> Path {
    syn::parse_quote!(::continuum_runtime)
}

/// The outcome of checking an item: its model, or every error found.
pub(crate) type Checked = Result<Model, Failed>;

/// An item with errors: the errors, and what the stub impls emitted beside
/// them need (`None` when the item's shape is unusable even for stubs).
pub(crate) struct Failed {
    pub(crate) error: syn::Error,
    pub(crate) stub: Option<Stub>,
}

/// Enough of an item with errors for stub impls, so one mistake gives one
/// error and not one more wherever the type is used.
pub(crate) struct Stub {
    pub(crate) ident: Ident,
    pub(crate) krate: Path,
    /// A struct with named fields (it gets `__private::Struct` too).
    pub(crate) named: bool,
}

impl Stub {
    pub(crate) fn of(m: &Model) -> Self {
        Stub {
            ident: m.ident.clone(),
            krate: m.krate.clone(),
            named: matches!(m.shape, Shape::Named(_)),
        }
    }
}
