//! Decoding as a *reader* does (issue 18): what a subscriber receives was
//! validated by the server that published it, possibly a newer build with a
//! newer declaration of the event. A reader therefore ignores fields its own
//! declaration does not have (at any depth: nested payloads, enum variants'
//! fields, items of lists and maps) and does not re-check value constraints
//! (`range`, `length`, `pattern`: a newer server may have widened them). It
//! still cannot read a value outside its types — a missing required field, a
//! wrong type, an enum variant it does not know, an integer wider than its
//! field — and reports those as issues, with wire paths, as ingest would.
//!
//! This is the "tolerant reader" the contract's compatibility rules
//! ([`crate::contract`]) assume for the forward direction, so a change the
//! rules call forward compatible never breaks an older Rust subscriber.

use serde_json::{Map, Value};

use super::{check_shape, serde_error, wide_ints};
use crate::event::Event;
use crate::schema::{EnumRepr, StructSchema, TaggedSchema, TypeSchema, VariantKind};
use crate::validate::{Checker, Issue, IssueCode, ValidationErrors};

/// Read `json` (the envelope's `data`) as `E` as a tolerant reader does:
/// fields `E` does not declare are ignored at any depth (nested payloads,
/// enum variants' fields, items of lists and maps) and value constraints are
/// not checked (the server that published it validated them, possibly
/// against a newer, wider declaration). A value outside `E`'s types — a
/// missing required field, a wrong type, an enum variant `E` does not know,
/// an integer wider than its field — is still an issue, with its wire path.
///
/// ```
/// use continuum_runtime::decode::read_event;
/// use continuum_runtime::prelude::*;
///
/// #[continuum_event("doc.read.progress")]
/// #[derive(Debug)]
/// pub struct Progress {
///     pub task_id: String,
///     #[event(range(max = 100))]
///     pub progress: u8,
/// }
///
/// // A newer server added `eta` and widened the range: still readable.
/// let p: Progress = read_event(r#"{"taskId": "a", "progress": 150, "eta": 3}"#).unwrap();
/// assert_eq!((p.task_id.as_str(), p.progress), ("a", 150));
/// // A value outside the reader's types is not.
/// let err = read_event::<Progress>(r#"{"taskId": "a", "progress": 300}"#).unwrap_err();
/// assert_eq!(err.issues()[0].path, "progress");
/// ```
///
/// # Errors
///
/// Every issue when the payload holds a value `E` cannot read.
pub fn read_event<E: Event>(json: &str) -> Result<E, ValidationErrors> {
    // The fast path: the payload is exactly what `E` declares.
    if let Ok(event) = E::__decode(json) {
        return Ok(event);
    }
    let mut value: Value = serde_json::from_str(json).map_err(|e| {
        ValidationErrors::from(vec![Issue::new(
            "",
            IssueCode::Type,
            format!("invalid JSON: {e}"),
        )])
    })?;
    let marked = wide_ints::mark(json);
    if let Some(Ok(exact)) = marked.as_deref().map(serde_json::from_str::<Value>) {
        value = exact;
    }
    let ty = E::describe();
    if matches!(ty, TypeSchema::Null) && value.is_object() {
        value = Value::Null;
    }
    prune(ty, &mut value);
    // The shape pass reports what cannot be read, and normalizes what can
    // (`1.0` for an integer field).
    let mut cx = Checker::new();
    check_shape(ty, &mut value, &mut cx);
    cx.finish()?;
    let text = value.to_string();
    let text = match marked {
        Some(_) => wide_ints::unmark(&text),
        None => text,
    };
    E::__decode(&text).map_err(serde_error)
}

/// Remove from `value` every object member `ty` does not declare, at any depth.
fn prune(ty: TypeSchema, value: &mut Value) {
    match ty {
        TypeSchema::Option(inner) => {
            if !value.is_null() {
                prune(inner(), value);
            }
        }
        TypeSchema::Array(inner) | TypeSchema::Set(inner) => each(inner(), value),
        TypeSchema::FixedArray { item, .. } => each(item(), value),
        TypeSchema::Map(inner) => {
            if let Some(map) = value.as_object_mut() {
                let inner = inner();
                map.values_mut().for_each(|v| prune(inner, v));
            }
        }
        TypeSchema::Struct(s) => {
            if let Some(map) = value.as_object_mut() {
                prune_struct(s, map, None);
            }
        }
        TypeSchema::Tagged(t) => prune_tagged(t, value),
        TypeSchema::Bool
        | TypeSchema::String
        | TypeSchema::Integer { .. }
        | TypeSchema::Float { .. }
        | TypeSchema::Any
        | TypeSchema::Enum(_)
        | TypeSchema::Format(_)
        | TypeSchema::Null => {}
    }
}

fn each(item: TypeSchema, value: &mut Value) {
    if let Some(items) = value.as_array_mut() {
        items.iter_mut().for_each(|v| prune(item, v));
    }
}

/// The struct's own fields (and `keep`, an enclosing enum's tag) stay.
fn prune_struct(s: &StructSchema, map: &mut Map<String, Value>, keep: Option<&str>) {
    map.retain(|k, _| Some(k.as_str()) == keep || s.fields.iter().any(|f| f.name == k));
    for field in s.fields {
        if let Some(v) = map.get_mut(field.name) {
            prune((field.ty)(), v);
        }
    }
}

fn prune_tagged(t: &TaggedSchema, value: &mut Value) {
    let Some(map) = value.as_object_mut() else {
        return; // a unit variant's name, or not readable anyway
    };
    match t.repr {
        EnumRepr::External => {
            if let Some((name, content)) = map.iter_mut().next() {
                if let Some(v) = t.variant(name) {
                    prune_carried(v.kind, content);
                }
            }
        }
        EnumRepr::Internal { tag } => {
            let variant = map
                .get(tag)
                .and_then(Value::as_str)
                .and_then(|n| t.variant(n));
            match variant.map(|v| v.kind) {
                Some(VariantKind::Struct(s)) => prune_struct(s, map, Some(tag)),
                Some(VariantKind::Newtype { ty, .. }) => {
                    if let TypeSchema::Struct(s) = ty() {
                        prune_struct(s, map, Some(tag));
                    }
                }
                Some(VariantKind::Unit) => map.retain(|k, _| k == tag),
                None => {}
            }
        }
        EnumRepr::Adjacent { tag, content } => {
            map.retain(|k, _| k == tag || k == content);
            let variant = map
                .get(tag)
                .and_then(Value::as_str)
                .and_then(|n| t.variant(n));
            if let (Some(v), Some(c)) = (variant, map.get_mut(content)) {
                prune_carried(v.kind, c);
            }
        }
    }
}

fn prune_carried(kind: VariantKind, value: &mut Value) {
    match kind {
        VariantKind::Unit => {}
        VariantKind::Newtype { ty, .. } => prune(ty(), value),
        VariantKind::Struct(s) => {
            if let Some(map) = value.as_object_mut() {
                prune_struct(s, map, None);
            }
        }
    }
}
