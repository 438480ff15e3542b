//! What a reader's Rust type holds, written into the exported JSON Schema.
//!
//! The JSON Schema exporter merges a field's `range` with its type's bounds
//! (`#[event(range(max = 100))] progress: u8` becomes `"maximum": 100`), and
//! bounds an `f32` by its range the same way. That is right for a writer, but
//! a tolerant reader does not re-check ranges: what it can read is its
//! *type*. Without the type, widening that range to 200 (fine: a `u8` holds
//! 200) could not be told from widening it to 300 (a `u8` reader fails). So
//! the contract keeps the exporter's schema and adds one keyword,
//! [`TYPE_KEY`], on every integer, float and fixed-size array node: `"u8"`,
//! `"i64"`, `"f32"`, `"[_; 3]"` (or `"1..=255"` for an integer type with
//! other bounds). JSON Schema validators ignore it.
//!
//! The walk follows the exporter's shapes exactly (see `json_schema.rs`):
//! `Option` is `anyOf: [null, inner]`, nested structs and enums are
//! `$ref`s into `$defs`, a tagged enum is a `oneOf` in variant order.

use std::collections::HashSet;

use serde_json::{Map, Value};

use crate::json_schema::json_schema;
use crate::schema::{EnumRepr, EventSchema, StructSchema, TaggedSchema, TypeSchema, VariantKind};

/// The keyword naming the Rust type a reader holds a value in.
pub const TYPE_KEY: &str = "x-continuum-type";

/// The exporter's JSON Schema for `event`, with [`TYPE_KEY`] annotations.
pub(crate) fn annotated_schema(event: &EventSchema) -> Value {
    let mut schema = json_schema(event);
    let mut walk = Walk {
        defs: match schema.as_object_mut().and_then(|o| o.remove("$defs")) {
            Some(Value::Object(defs)) => defs,
            _ => Map::new(),
        },
        seen: HashSet::new(),
    };
    if let Some(s) = event.payload {
        walk.fields(&mut schema, s);
    }
    if !walk.defs.is_empty() {
        schema["$defs"] = Value::Object(walk.defs);
    }
    schema
}

/// The name of an integer type with these bounds.
pub(crate) fn integer_name(min: i128, max: u128) -> String {
    const NAMED: [(&str, i128, u128); 10] = [
        ("u8", 0, u8::MAX as u128),
        ("u16", 0, u16::MAX as u128),
        ("u32", 0, u32::MAX as u128),
        ("u64", 0, u64::MAX as u128),
        ("u128", 0, u128::MAX),
        ("i8", i8::MIN as i128, i8::MAX as u128),
        ("i16", i16::MIN as i128, i16::MAX as u128),
        ("i32", i32::MIN as i128, i32::MAX as u128),
        ("i64", i64::MIN as i128, i64::MAX as u128),
        ("i128", i128::MIN, i128::MAX as u128),
    ];
    NAMED
        .iter()
        .find(|(_, lo, hi)| *lo == min && *hi == max)
        .map_or_else(
            || format!("{min}..={max}"),
            |(name, _, _)| (*name).to_owned(),
        )
}

struct Walk {
    defs: Map<String, Value>,
    /// Definitions already annotated (recursive types end here).
    seen: HashSet<String>,
}

impl Walk {
    fn fields(&mut self, node: &mut Value, s: &StructSchema) {
        for f in s.fields {
            if let Some(prop) = node.pointer_mut(&format!("/properties/{}", escape(f.name))) {
                self.ty(prop, (f.ty)());
            }
        }
    }

    fn ty(&mut self, node: &mut Value, ty: TypeSchema) {
        match ty {
            TypeSchema::Integer { min, max } => mark(node, integer_name(min, max)),
            TypeSchema::Float { f32 } => mark(node, if f32 { "f32" } else { "f64" }.into()),
            TypeSchema::Option(inner) => {
                if let Some(v) = node.pointer_mut("/anyOf/1") {
                    self.ty(v, inner());
                }
            }
            TypeSchema::Array(item) | TypeSchema::Set(item) => self.child(node, "items", item()),
            TypeSchema::FixedArray { item, len } => {
                mark(node, format!("[_; {len}]"));
                self.child(node, "items", item());
            }
            TypeSchema::Map(value) => self.child(node, "additionalProperties", value()),
            TypeSchema::Struct(s) => self.def(node, |w, def| w.fields(def, s)),
            TypeSchema::Tagged(t) => self.def(node, |w, def| w.tagged(def, t)),
            TypeSchema::Bool
            | TypeSchema::String
            | TypeSchema::Any
            | TypeSchema::Enum(_)
            | TypeSchema::Format(_)
            | TypeSchema::Null => {}
        }
    }

    fn child(&mut self, node: &mut Value, key: &str, ty: TypeSchema) {
        if let Some(v) = node.get_mut(key) {
            self.ty(v, ty);
        }
    }

    /// Annotate the definition `node` refers to, once.
    fn def(&mut self, node: &Value, annotate: impl FnOnce(&mut Self, &mut Value)) {
        let Some(name) = node
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix("#/$defs/"))
        else {
            return;
        };
        if !self.seen.insert(name.to_owned()) {
            return;
        }
        if let Some(mut def) = self.defs.remove(name) {
            annotate(self, &mut def);
            self.defs.insert(name.to_owned(), def);
        }
    }

    fn tagged(&mut self, def: &mut Value, t: &TaggedSchema) {
        let Some(branches) = def.get_mut("oneOf").and_then(Value::as_array_mut) else {
            return;
        };
        for (branch, variant) in branches.iter_mut().zip(t.variants) {
            match (t.repr, variant.kind) {
                (_, VariantKind::Unit) => {}
                (EnumRepr::External, kind) => {
                    let pointer = format!("/properties/{}", escape(variant.name));
                    if let Some(v) = branch.pointer_mut(&pointer) {
                        self.carried(v, kind);
                    }
                }
                // The variant's fields sit beside the tag.
                (EnumRepr::Internal { .. }, kind) => self.carried(branch, kind),
                (EnumRepr::Adjacent { content, .. }, kind) => {
                    let pointer = format!("/properties/{}", escape(content));
                    if let Some(v) = branch.pointer_mut(&pointer) {
                        self.carried(v, kind);
                    }
                }
            }
        }
    }

    /// A newtype variant's value, or a struct variant's fields (inline).
    fn carried(&mut self, node: &mut Value, kind: VariantKind) {
        match kind {
            VariantKind::Unit => {}
            VariantKind::Newtype { ty, .. } => match (ty(), node.get("$ref")) {
                // An internally tagged newtype's struct is inlined beside the tag.
                (TypeSchema::Struct(s), None) => self.fields(node, s),
                (ty, _) => self.ty(node, ty),
            },
            VariantKind::Struct(s) => self.fields(node, s),
        }
    }
}

fn mark(node: &mut Value, name: String) {
    if let Some(obj) = node.as_object_mut() {
        obj.insert(TYPE_KEY.into(), name.into());
    }
}

/// A JSON Pointer segment (RFC 6901).
fn escape(segment: &str) -> String {
    segment.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_names() {
        assert_eq!(integer_name(0, 255), "u8");
        assert_eq!(integer_name(i128::MIN, i128::MAX as u128), "i128");
        assert_eq!(integer_name(1, 255), "1..=255");
    }
}
