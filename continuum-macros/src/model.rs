//! From parsed input to the checked model that generation reads. Building the
//! model runs every check; generation never sees an input with errors.

use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::attr::{self, Constraint};
use crate::case::RenameRule;
use crate::check;
use crate::ctxt::Ctxt;

pub(crate) struct Field {
    /// `None` for a newtype variant's one unnamed field.
    pub(crate) ident: Option<Ident>,
    pub(crate) ty: Type,
    pub(crate) wire: String,
    pub(crate) docs: String,
    pub(crate) required: bool,
    pub(crate) constraints: Vec<Constraint>,
    /// Write through `Payload::__serialize` (see [`check::is_standard`]).
    pub(crate) via_serialize: bool,
    /// Read through `Payload::__deserialize`.
    pub(crate) via_deserialize: bool,
    /// An `Option` read through `Payload::__deserialize` needs serde's
    /// `default` to stay optional (the user wrote none).
    pub(crate) add_default: bool,
    /// serde reads it by its wire name alone (no `default`, `alias`, `with`, …).
    pub(crate) plain_de: bool,
}

pub(crate) enum Shape {
    /// A struct with named fields (skipped fields left out).
    Named(Vec<Field>),
    /// A unit struct: an event without data.
    Unit,
    /// A unit-variant enum without a tag: the variants' wire names.
    Enum(Vec<String>),
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
}

/// Which macro is building the model, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Event,
    Payload,
}

pub(crate) fn default_krate() -> Path {
    syn::parse_quote!(::continuum_runtime)
}

/// Build the model, reporting every problem in `cx`. Returns `None` only when
/// the item's shape is unusable (so not even stub impls can be generated).
pub(crate) fn build(
    cx: &Ctxt,
    input: &DeriveInput,
    kind: Kind,
    krate: Path,
    deny_by_option: bool,
) -> Option<Model> {
    let what = match kind {
        Kind::Event => "`#[continuum_event]`",
        Kind::Payload => "`#[derive(Payload)]`",
    };
    let mut shape_ok = true;
    if let Some(param) = input.generics.params.first() {
        shape_ok = false;
        match param {
            syn::GenericParam::Lifetime(l) => cx.error_tokens(
                &input.generics,
                format!(
                    "{what} cannot be used on a struct that borrows (lifetime `{}`): payloads are decoded from JSON into owned data; use owned types such as `String`",
                    l.lifetime
                ),
            ),
            _ => cx.error_tokens(
                &input.generics,
                format!("{what} cannot be used on a generic type: each event and payload type has one fixed schema; use concrete field types"),
            ),
        }
    }
    let serde = attr::serde_container(cx, &input.attrs);
    let rule = serde.rename_all.or(if serde.has_rename_all {
        None
    } else {
        Some(RenameRule::Camel)
    });
    if let (Data::Struct(_), Some(tag)) = (&input.data, &serde.tag) {
        cx.error(
            tag.span(),
            format!("`#[serde(tag)]` on a struct is not supported on Continuum payloads: the schema could not describe the extra field; declare `{}` as a field", tag.value()),
        );
    }
    let mut plain_decode = false;
    let shape = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => {
                let fields = named_fields(cx, &named.named, rule, serde.default);
                plain_decode = !serde.other_de
                    && fields.len() == named.named.len()
                    && fields.iter().all(|f| f.plain_de);
                Shape::Named(fields)
            }
            Fields::Unit if kind == Kind::Event => Shape::Unit,
            Fields::Unit => {
                cx.error(
                    input.ident.span(),
                    "`#[derive(Payload)]` on a unit struct: a nested payload needs fields; use a struct with named fields, or a unit-variant enum for a set of names",
                );
                return None;
            }
            Fields::Unnamed(unnamed) => {
                cx.error_tokens(
                    unnamed,
                    format!("{what} needs named fields: a payload is a JSON object keyed by field name; write `struct {} {{ name: Type, … }}`", input.ident),
                );
                return None;
            }
        },
        Data::Enum(e) if kind == Kind::Payload => {
            match crate::variants::build(cx, e, &serde, rule) {
                Some(shape) => shape,
                // The variants' errors are reported; the model stays, so the
                // enum still gets stub impls and a field of its type does
                // not add "not a `Payload`" to them (one error per mistake).
                None => Shape::Enum(Vec::new()),
            }
        }
        Data::Enum(e) => {
            cx.error(
                e.enum_token.span,
                "`#[continuum_event]` goes on a struct with named fields (or a unit struct for an event without data), not an enum; to use this enum inside an event, derive `Payload` on it",
            );
            return None;
        }
        Data::Union(u) => {
            cx.error(
                u.union_token.span,
                format!("{what} cannot be used on a union; use a struct with named fields"),
            );
            return None;
        }
    };
    if !shape_ok {
        return None;
    }
    let deny = deny_by_option || serde.deny_unknown_fields;
    let deny_applies = match &input.data {
        Data::Struct(_) => true,
        // An enum's `deny_unknown_fields` reaches its struct variants' fields
        // and an adjacently tagged enum's own keys.
        Data::Enum(_) => matches!(shape, Shape::Tagged(_)),
        Data::Union(_) => false,
    };
    Some(Model {
        ident: input.ident.clone(),
        docs: attr::docs(&input.attrs),
        krate,
        deny_unknown_fields: deny,
        add_rename_all: !serde.has_rename_all,
        add_deny: deny_by_option && !serde.deny_unknown_fields && deny_applies,
        plain_decode,
        shape,
    })
}

/// The named fields of a struct or struct variant, under the `rule` for
/// their wire names; skipped fields left out.
pub(crate) fn named_fields<'a>(
    cx: &Ctxt,
    fields: impl IntoIterator<Item = &'a syn::Field>,
    rule: Option<RenameRule>,
    container_default: bool,
) -> Vec<Field> {
    let mut out = Vec::new();
    for f in fields {
        let Some(ident) = f.ident.clone() else {
            continue;
        };
        let raw = ident.unraw().to_string();
        let wire = rule.map_or_else(|| raw.clone(), |r| r.apply_to_field(&raw));
        if let Some(field) = field(cx, f, Some(ident), wire, container_default) {
            out.push(field);
        }
    }
    out
}

/// One field, or `None` when serde skips it. `wire` is the name before the
/// field's own `rename`.
pub(crate) fn field(
    cx: &Ctxt,
    f: &syn::Field,
    ident: Option<Ident>,
    wire: String,
    container_default: bool,
) -> Option<Field> {
    let sf = attr::serde_field(cx, &f.attrs);
    let constraints = attr::parse_field_constraints(cx, &f.attrs);
    if sf.skip {
        if let Some(c) = constraints.first() {
            cx.error(
                c.kw.span(),
                "constraints on a field serde skips are never checked; remove them or the `skip`",
            );
        }
        return None;
    }
    check::constraints(cx, Some(&f.ty), &constraints);
    let option = check::is_option(&f.ty);
    // `Self` in the path would name serde's helper type, not ours.
    let routed = !check::is_standard(&f.ty) && !check::mentions_self(&f.ty);
    let via_deserialize = routed && !sf.own_deserialize;
    Some(Field {
        required: !(option || sf.default || container_default),
        ident,
        ty: f.ty.clone(),
        wire: sf.rename.unwrap_or(wire),
        docs: attr::docs(&f.attrs),
        constraints,
        via_serialize: routed && !sf.own_serialize,
        via_deserialize,
        add_default: via_deserialize && option && !sf.default && !container_default,
        plain_de: !sf.other_de,
    })
}
