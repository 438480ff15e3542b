//! Checking: everything that can be wrong with a declaration and can be
//! known at compile time, and the [`Model`] built from a declaration with
//! none of it. The event name's grammar ([`name`]), constraints against
//! their fields ([`constraints`]), enums ([`variants`]), and here the item
//! itself: generics, shape, derives `#[continuum_event]` implements itself,
//! the attribute written twice, serde options events cannot follow.
//!
//! Errors come out in source order: each parsed unit's parse errors
//! ([`Parsed::errors`]) are reported where the unit is checked, before what
//! the check finds in it.

use syn::ext::IdentExt;
use syn::{Fields, Ident, Path};

use crate::ast::{self, Data, Input};
use crate::attr::{EventArgs, Parsed, SerdeNote};
use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::model::{default_krate, Checked, Failed, Field, Model, Shape, Stub};
use crate::ty;

mod constraints;
mod keyed;
mod name;
mod variants;

/// Which macro is checking, for messages.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Event,
    Payload,
}

/// Check a `#[continuum_event(…)]` struct and its arguments.
pub(crate) fn event(args: Parsed<EventArgs>, input: Input<'_>) -> Checked {
    let cx = Ctxt::new();
    let Parsed {
        value: args,
        errors,
    } = args;
    // The name comes first in the source: its check, then the arguments'
    // parse errors (which follow it, or are about it when it is no string).
    if let Some(name) = &args.name {
        name::check(&cx, name);
    }
    if let Some(e) = errors {
        cx.push(e);
    }
    for a in &input.repeated {
        cx.error_tokens(
            a,
            "`#[continuum_event]` is applied twice; an event has exactly one name, so remove one",
        );
    }
    for (path, name) in &input.our_derives {
        cx.error_tokens(
            path,
            format!(
                "`#[continuum_event]` already implements `{name}`; remove it from this `derive`"
            ),
        );
    }
    let version = version(&cx, &args);
    let krate = args.krate.unwrap_or_else(default_krate);
    let item = input.item;
    let mut model = container(&cx, input, Kind::Event, krate, args.deny_unknown_fields);
    keyed::check(&cx, item, args.key, args.ttl, model.as_mut());
    if let Some(m) = &mut model {
        m.event = args.name;
        m.version = version;
        m.upcast_from = args.upcast_from.map(|(_, path)| path);
    }
    finish(cx, model)
}

/// `version = N` and `upcast_from`: a version from 1, and a predecessor
/// named exactly when there is one (the predecessor's own version and name
/// are checked by the generated code, which can see it).
fn version(cx: &Ctxt, args: &EventArgs) -> u32 {
    let version = match &args.version {
        None => 1,
        Some(lit) => match lit.base10_parse::<u32>() {
            Ok(0) | Err(_) => {
                cx.error(
                    lit.span(),
                    "event versions are whole numbers from 1, e.g. `version = 2`",
                );
                1
            }
            Ok(n) => n,
        },
    };
    match (&args.upcast_from, &args.version) {
        (None, Some(lit)) if version >= 2 => cx.error(
            lit.span(),
            format!(
                "version {version} needs `upcast_from = <the struct of version {}>` and \
                 `impl From<ThatStruct> for ThisStruct`: old writers' and stored events are upcast with it",
                version - 1
            ),
        ),
        (Some((key, _)), _) if version == 1 => cx.error(
            key.span(),
            "`upcast_from` names the previous version, and version 1 has none; \
             add `version = 2` (or later), or remove `upcast_from`",
        ),
        _ => {}
    }
    version
}

/// Check a `#[derive(Payload)]` type.
pub(crate) fn payload(input: Input<'_>) -> Checked {
    let cx = Ctxt::new();
    parse_errors(&cx, &input.options);
    let (krate, deny) = input.options.value.clone();
    let krate = krate.unwrap_or_else(default_krate);
    let model = container(&cx, input, Kind::Payload, krate, deny);
    finish(cx, model)
}

fn finish(cx: Ctxt, model: Option<Model>) -> Checked {
    match (cx.check(), model) {
        (Ok(()), Some(m)) => Ok(m),
        (Err(error), model) => Err(Failed {
            error,
            stub: model.as_ref().map(Stub::of),
        }),
        // `container` gives no model only after reporting why.
        (Ok(()), None) => unreachable!("no model and no error"),
    }
}

/// Report a parsed unit's parse errors, at the point of the source the
/// check has reached.
fn parse_errors<T>(cx: &Ctxt, parsed: &Parsed<T>) {
    if let Some(e) = &parsed.errors {
        cx.push(e.clone());
    }
}

/// Report what serde accepts and events cannot follow.
fn serde_notes(cx: &Ctxt, notes: &[SerdeNote], on_container: bool) {
    for note in notes {
        match note {
            SerdeNote::Unsupported(k, span) if on_container => cx.error(
                *span,
                format!("`#[serde({k})]` is not supported on Continuum payloads: the schema and validation paths could not follow it"),
            ),
            SerdeNote::Unsupported(k, span) if k == "flatten" => cx.error(
                *span,
                "`#[serde(flatten)]` is not supported on Continuum payloads: declare the fields directly, or nest the struct under a field",
            ),
            SerdeNote::Unsupported(k, span) => cx.error(
                *span,
                format!("`#[serde({k})]` on a variant is not supported on Continuum payloads: the schema could not tell which variant a value is; give every variant a name"),
            ),
            SerdeNote::SplitNames(what, span) => cx.error(
                *span,
                format!("`{what}` with different serialize and deserialize names is not supported: an event has one wire name per field"),
            ),
        }
    }
}

/// Check the item and build its model, reporting every problem in `cx`.
/// Returns `None` only when the item's shape is unusable (so not even stub
/// impls can be generated), after reporting why.
fn container(
    cx: &Ctxt,
    input: Input<'_>,
    kind: Kind,
    krate: Path,
    deny_by_option: bool,
) -> Option<Model> {
    let item = input.item;
    let what = match kind {
        Kind::Event => "`#[continuum_event]`",
        Kind::Payload => "`#[derive(Payload)]`",
    };
    let mut shape_ok = true;
    if let Some(param) = item.generics.params.first() {
        shape_ok = false;
        match param {
            syn::GenericParam::Lifetime(l) => cx.error_tokens(
                &item.generics,
                format!(
                    "{what} cannot be used on a struct that borrows (lifetime `{}`): payloads are decoded from JSON into owned data; use owned types such as `String`",
                    l.lifetime
                ),
            ),
            _ => cx.error_tokens(
                &item.generics,
                format!("{what} cannot be used on a generic type: each event and payload type has one fixed schema; use concrete field types"),
            ),
        }
    }
    parse_errors(cx, &input.serde);
    serde_notes(cx, &input.serde.value.notes, true);
    let serde = &input.serde.value;
    let rule = serde.rename_all.or(if serde.has_rename_all {
        None
    } else {
        Some(RenameRule::Camel)
    });
    if let (Data::Struct(..), Some(tag)) = (&input.data, &serde.tag) {
        cx.error(
            tag.span(),
            format!("`#[serde(tag)]` on a struct is not supported on Continuum payloads: the schema could not describe the extra field; declare `{}` as a field", tag.value()),
        );
    }
    let (mut plain_decode, mut plain_encode) = (false, false);
    let is_struct = matches!(input.data, Data::Struct(..));
    let shape = match input.data {
        Data::Struct(Fields::Named(_), fields) => {
            let count = fields.len();
            let fields = named_fields(cx, fields, rule, serde.default);
            plain_decode =
                !serde.other_de && fields.len() == count && fields.iter().all(|f| f.plain_de);
            plain_encode = kind == Kind::Event
                && !serde.other_ser
                && fields.len() == count
                && fields.iter().all(|f| f.plain_ser);
            Shape::Named(fields)
        }
        Data::Struct(Fields::Unit, _) if kind == Kind::Event => Shape::Unit,
        Data::Struct(Fields::Unit, _) => {
            cx.error(
                item.ident.span(),
                "`#[derive(Payload)]` on a unit struct: a nested payload needs fields; use a struct with named fields, or a unit-variant enum for a set of names",
            );
            return None;
        }
        Data::Struct(Fields::Unnamed(unnamed), _) => {
            cx.error_tokens(
                unnamed,
                format!("{what} needs named fields: a payload is a JSON object keyed by field name; write `struct {} {{ name: Type, … }}`", item.ident),
            );
            return None;
        }
        Data::Enum(_, variants) if kind == Kind::Payload => {
            match variants::build(cx, variants, serde, rule) {
                Some(shape) => shape,
                // The variants' errors are reported; the model stays, so the
                // enum still gets stub impls and a field of its type does
                // not add "not a `Payload`" to them (one error per mistake).
                None => Shape::Enum(Vec::new()),
            }
        }
        Data::Enum(e, _) => {
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
    // An enum's `deny_unknown_fields` reaches its struct variants' fields
    // and an adjacently tagged enum's own keys.
    let deny_applies = is_struct || matches!(shape, Shape::Tagged(_));
    Some(Model {
        ident: item.ident.clone(),
        event: None,
        keyed: None,
        version: 1,
        upcast_from: None,
        docs: input.docs,
        krate,
        deny_unknown_fields: deny,
        add_rename_all: !serde.has_rename_all,
        add_deny: deny_by_option && !serde.deny_unknown_fields && deny_applies,
        plain_decode,
        plain_encode,
        serde_name: serde
            .rename
            .clone()
            .unwrap_or_else(|| item.ident.unraw().to_string()),
        shape,
    })
}

/// The named fields of a struct or struct variant, under the `rule` for
/// their wire names; skipped fields left out.
fn named_fields(
    cx: &Ctxt,
    fields: Vec<ast::Field<'_>>,
    rule: Option<RenameRule>,
    container_default: bool,
) -> Vec<Field> {
    let mut out = Vec::new();
    for f in fields {
        let Some(ident) = f.syn.ident.clone() else {
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
fn field(
    cx: &Ctxt,
    f: ast::Field<'_>,
    ident: Option<Ident>,
    wire: String,
    container_default: bool,
) -> Option<Field> {
    parse_errors(cx, &f.serde);
    serde_notes(cx, &f.serde.value.notes, false);
    parse_errors(cx, &f.constraints);
    let (sf, constraints) = (f.serde.value, f.constraints.value);
    if sf.skip {
        if let Some(c) = constraints.first() {
            cx.error(
                c.kw.span(),
                "constraints on a field serde skips are never checked; remove them or the `skip`",
            );
        }
        return None;
    }
    let ty = &f.syn.ty;
    constraints::check(cx, Some(ty), &constraints);
    let option = ty::is_option(ty);
    // `Self` in the path would name serde's helper type, not ours.
    let routed = !ty::is_standard(ty) && !ty::mentions_self(ty);
    let via_deserialize = routed && !sf.own_deserialize;
    Some(Field {
        required: !(option || sf.default || container_default),
        ident,
        ty: ty.clone(),
        wire: sf.rename.unwrap_or(wire),
        docs: f.docs,
        constraints,
        via_serialize: routed && !sf.own_serialize,
        via_deserialize,
        add_default: via_deserialize && option && !sf.default && !container_default,
        plain_de: !sf.other_de,
        plain_ser: !sf.other_ser,
    })
}
