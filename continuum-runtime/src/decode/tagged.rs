//! The shape pass of decoding (see [`crate::decode`]) for an enum with data,
//! in each of serde's representations. An unknown or missing variant name is
//! one issue, naming every allowed one; a known variant's content is then
//! walked like any other value, at its wire path.

use serde_json::{Map, Value};

use super::constraints::check_json;
use super::{walk, walk_struct, wrong_type};
use crate::schema::{EnumRepr, TaggedSchema, TypeSchema, VariantKind, VariantSchema};
use crate::validate::{Checker, IssueCode};

pub(crate) fn walk_tagged(
    t: &TaggedSchema,
    value: &mut Value,
    cx: &mut Checker,
    constraints: bool,
) {
    match t.repr {
        EnumRepr::External => external(t, value, cx, constraints),
        EnumRepr::Internal { tag } => {
            let Some(map) = value.as_object_mut() else {
                return wrong_type(cx, &format!("an object with a `{tag}` field"), value);
            };
            let Some(variant) = by_tag(t, tag, map, cx) else {
                return;
            };
            // A unit variant's other fields are ignored by serde; a newtype
            // variant's value is a struct (checked at compile time) whose
            // fields sit beside the tag.
            match variant.kind {
                VariantKind::Unit => {}
                VariantKind::Struct(s) => walk_struct(s, map, cx, constraints, Some(tag)),
                VariantKind::Newtype { ty, .. } => {
                    if let TypeSchema::Struct(s) = ty() {
                        walk_struct(s, map, cx, constraints, Some(tag));
                    }
                }
            }
        }
        EnumRepr::Adjacent { tag, content } => {
            let Some(map) = value.as_object_mut() else {
                return wrong_type(cx, &format!("an object with a `{tag}` field"), value);
            };
            if t.deny_unknown_fields {
                for key in map.keys().filter(|k| *k != tag && *k != content) {
                    cx.enter_key(key);
                    cx.report(
                        IssueCode::UnknownField,
                        format!("is not a field of this enum; expected `{tag}` and `{content}`"),
                    );
                    cx.leave();
                }
            }
            let Some(variant) = by_tag(t, tag, map, cx) else {
                return;
            };
            cx.enter_field(content);
            match (variant.kind, map.get_mut(content)) {
                (VariantKind::Unit, None | Some(Value::Null)) => {}
                (VariantKind::Unit, Some(other)) => {
                    wrong_type(
                        cx,
                        &format!("null (variant \"{}\" carries no data)", variant.name),
                        other,
                    );
                }
                (_, None) => cx.report(IssueCode::Required, "is required"),
                (kind, Some(v)) => carried(kind, v, cx, constraints),
            }
            cx.leave();
        }
    }
}

/// `"unit"` or `{"variant": content}`.
fn external(t: &TaggedSchema, value: &mut Value, cx: &mut Checker, constraints: bool) {
    if let Value::String(name) = value {
        match t.variant(name) {
            Some(VariantSchema {
                kind: VariantKind::Unit,
                ..
            }) => {}
            Some(v) => cx.report(
                IssueCode::Type,
                format!(
                    "variant \"{}\" carries data; write it as {{\"{}\": …}}",
                    v.name, v.name
                ),
            ),
            None => unknown_variant(t, name, cx),
        }
        return;
    }
    let Some(map) = value.as_object_mut() else {
        return wrong_type(
            cx,
            "a variant name or an object with one key, the variant",
            value,
        );
    };
    let mut entries = map.iter_mut();
    let (Some((name, content)), None) = (entries.next(), entries.next()) else {
        return cx.report(
            IssueCode::Type,
            format!(
                "expected an object with exactly one key, the variant: one of {}",
                t.names()
            ),
        );
    };
    let Some(variant) = t.variant(name) else {
        return unknown_variant(t, name, cx);
    };
    cx.enter_field(variant.name);
    match variant.kind {
        // serde takes `{"unit": null}` as well as `"unit"`.
        VariantKind::Unit if content.is_null() => {}
        VariantKind::Unit => wrong_type(cx, "null", content),
        kind => carried(kind, content, cx, constraints),
    }
    cx.leave();
}

/// What a newtype or struct variant carries.
fn carried(kind: VariantKind, value: &mut Value, cx: &mut Checker, constraints: bool) {
    match kind {
        VariantKind::Unit => {}
        VariantKind::Newtype {
            ty,
            constraints: declared,
        } => {
            let ty = ty();
            walk(ty, value, cx, constraints);
            if constraints {
                check_json(ty, value, declared, cx);
            }
        }
        VariantKind::Struct(s) => match value.as_object_mut() {
            Some(map) => walk_struct(s, map, cx, constraints, None),
            None => wrong_type(cx, "an object", value),
        },
    }
}

/// The variant the `tag` field names; `None` (and one issue) when it is
/// missing or names none.
fn by_tag(
    t: &TaggedSchema,
    tag: &'static str,
    map: &Map<String, Value>,
    cx: &mut Checker,
) -> Option<&'static VariantSchema> {
    cx.enter_field(tag);
    let found = match map.get(tag) {
        None => {
            cx.report(
                IssueCode::Required,
                format!("is required: the variant, one of {}", t.names()),
            );
            None
        }
        Some(Value::String(name)) => {
            let v = t.variant(name);
            if v.is_none() {
                unknown_variant(t, name, cx);
            }
            v
        }
        Some(other) => {
            wrong_type(cx, &format!("a variant name, one of {}", t.names()), other);
            None
        }
    };
    cx.leave();
    found
}

fn unknown_variant(t: &TaggedSchema, name: &str, cx: &mut Checker) {
    cx.report(
        IssueCode::Type,
        format!(
            "unknown variant {}; expected one of {}",
            Value::from(name),
            t.names()
        ),
    );
}
