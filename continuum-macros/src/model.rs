//! From parsed input to the checked model that generation reads. Building the
//! model runs every check; generation never sees an input with errors.

use syn::ext::IdentExt;
use syn::{Data, DeriveInput, Fields, Ident, Path, Type};

use crate::attr::{self, Constraint};
use crate::case::RenameRule;
use crate::check;
use crate::ctxt::Ctxt;

pub(crate) struct Field {
    pub(crate) ident: Ident,
    pub(crate) ty: Type,
    pub(crate) wire: String,
    pub(crate) docs: String,
    pub(crate) required: bool,
    pub(crate) constraints: Vec<Constraint>,
}

pub(crate) enum Shape {
    /// A struct with named fields (skipped fields left out).
    Named(Vec<Field>),
    /// A unit struct: an event without data.
    Unit,
    /// A unit-variant enum: the variants' wire names.
    Enum(Vec<String>),
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
    let shape = match &input.data {
        Data::Struct(s) => match &s.fields {
            Fields::Named(named) => {
                let mut fields = Vec::new();
                for f in &named.named {
                    let sf = attr::serde_field(cx, &f.attrs);
                    let constraints = attr::parse_field_constraints(cx, &f.attrs);
                    if sf.skip {
                        if let Some(c) = constraints.first() {
                            cx.error(c.kw.span(), "constraints on a field serde skips are never checked; remove them or the `skip`");
                        }
                        continue;
                    }
                    check::constraints(cx, Some(&f.ty), &constraints);
                    let Some(ident) = f.ident.clone() else {
                        continue;
                    };
                    let raw = ident.unraw().to_string();
                    let wire = sf.rename.unwrap_or_else(|| {
                        rule.map_or_else(|| raw.clone(), |r| r.apply_to_field(&raw))
                    });
                    fields.push(Field {
                        required: !(check::is_option(&f.ty) || sf.default || serde.default),
                        ident,
                        ty: f.ty.clone(),
                        wire,
                        docs: attr::docs(&f.attrs),
                        constraints,
                    });
                }
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
            let mut variants = Vec::new();
            for v in &e.variants {
                if !matches!(v.fields, Fields::Unit) {
                    cx.error_tokens(
                        &v.fields,
                        format!("`#[derive(Payload)]` supports unit-variant enums only (a string union); variant `{}` carries data", v.ident),
                    );
                    shape_ok = false;
                    continue;
                }
                let sf = attr::serde_field(cx, &v.attrs);
                if sf.skip {
                    continue;
                }
                let raw = v.ident.unraw().to_string();
                variants.push(sf.rename.unwrap_or_else(|| {
                    rule.map_or_else(|| raw.clone(), |r| r.apply_to_variant(&raw))
                }));
            }
            Shape::Enum(variants)
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
    Some(Model {
        ident: input.ident.clone(),
        docs: attr::docs(&input.attrs),
        krate,
        deny_unknown_fields: deny,
        add_rename_all: !serde.has_rename_all,
        add_deny: deny_by_option
            && !serde.deny_unknown_fields
            && !matches!(input.data, Data::Enum(_)),
        shape,
    })
}
