//! JSON Schema (draft 2020-12) from an event's [`EventSchema`], so other
//! languages can validate payloads the way the server will.
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! /// Progress of one task.
//! #[continuum_event("docs.task.progress")]
//! pub struct TaskProgress {
//!     #[event(range(min = 0, max = 100))]
//!     pub progress: u8,
//! }
//!
//! let schema = continuum_runtime::json_schema::json_schema(TaskProgress::schema());
//! assert_eq!(schema["title"], "docs.task.progress");
//! assert_eq!(schema["properties"]["progress"]["maximum"], 100);
//! assert_eq!(schema["required"][0], "progress");
//! ```
//!
//! What it cannot say: `custom = …` checks (recorded as a `$comment`), and
//! `pattern`s are written for the Rust `regex` crate, whose syntax is close to
//! but not identical with ECMA-262 (character classes and anchors agree).

use serde_json::{json, Map, Value};

use crate::schema::{Constraint, EventSchema, FieldSchema, Number, StructSchema, TypeSchema};

/// The `$schema` URI of the documents produced here.
pub const DRAFT_2020_12: &str = "https://json-schema.org/draft/2020-12/schema";

/// The JSON Schema of an event's payload (the envelope's `data`). Nested
/// structs and enums are placed in `$defs` and referenced by their Rust name.
pub fn json_schema(event: &EventSchema) -> Value {
    let mut b = Builder::default();
    let root = match event.payload {
        Some(s) => b.struct_body(s),
        // A unit event: `null`, or an empty object for clients that always send one.
        None => json!({ "anyOf": [{ "type": "null" }, { "type": "object", "maxProperties": 0 }] }),
    };
    let mut head = Map::new();
    head.insert("$schema".into(), DRAFT_2020_12.into());
    head.insert("title".into(), event.name.into());
    if !event.docs.is_empty() {
        head.insert("description".into(), event.docs.into());
    }
    if let Value::Object(mut body) = root {
        head.append(&mut body);
    }
    if !b.defs.is_empty() {
        let defs: Map<String, Value> = b.defs.into_iter().map(|d| (d.name, d.schema)).collect();
        head.insert("$defs".into(), Value::Object(defs));
    }
    Value::Object(head)
}

/// The JSON Schema of one type on its own (with its own `$defs`).
pub fn type_json_schema(ty: TypeSchema) -> Value {
    let mut b = Builder::default();
    let mut v = b.ty(ty);
    if !b.defs.is_empty() {
        let defs: Map<String, Value> = b.defs.into_iter().map(|d| (d.name, d.schema)).collect();
        if let Some(obj) = v.as_object_mut() {
            obj.insert("$defs".into(), Value::Object(defs));
        }
    }
    v
}

struct Def {
    /// Identity of the `StructSchema`/`EnumSchema` static.
    addr: usize,
    name: String,
    schema: Value,
}

#[derive(Default)]
struct Builder {
    defs: Vec<Def>,
}

impl Builder {
    /// A `$ref` to the definition at `addr`, building it first if new.
    fn reference(
        &mut self,
        addr: usize,
        rust_name: &str,
        build: impl FnOnce(&mut Self) -> Value,
    ) -> Value {
        if let Some(d) = self.defs.iter().find(|d| d.addr == addr) {
            return json!({ "$ref": format!("#/$defs/{}", d.name) });
        }
        // Two different types with one Rust name (in different modules) get `Name2`, …
        let mut name = rust_name.to_owned();
        let mut n = 1;
        while self.defs.iter().any(|d| d.name == name) {
            n += 1;
            name = format!("{rust_name}{n}");
        }
        // Reserve the slot before building, so recursive types terminate.
        self.defs.push(Def {
            addr,
            name: name.clone(),
            schema: Value::Null,
        });
        let schema = build(self);
        if let Some(d) = self.defs.iter_mut().find(|d| d.addr == addr) {
            d.schema = schema;
        }
        json!({ "$ref": format!("#/$defs/{name}") })
    }

    fn ty(&mut self, ty: TypeSchema) -> Value {
        match ty {
            TypeSchema::Bool => json!({ "type": "boolean" }),
            TypeSchema::String => json!({ "type": "string" }),
            TypeSchema::Integer { min, max } => {
                let mut v = json!({ "type": "integer" });
                if let Some(min) = int_value(min) {
                    v["minimum"] = min;
                }
                if let Some(max) = i128::try_from(max).ok().and_then(int_value) {
                    v["maximum"] = max;
                }
                v
            }
            TypeSchema::Float => json!({ "type": "number" }),
            TypeSchema::Any => json!({}),
            TypeSchema::Null => json!({ "type": "null" }),
            TypeSchema::Option(inner) => {
                let inner = self.ty(inner());
                json!({ "anyOf": [{ "type": "null" }, inner] })
            }
            TypeSchema::Array(inner) => json!({ "type": "array", "items": self.ty(inner()) }),
            TypeSchema::Map(inner) => {
                json!({ "type": "object", "additionalProperties": self.ty(inner()) })
            }
            TypeSchema::Struct(s) => {
                self.reference(std::ptr::from_ref(s) as usize, s.rust_name, |b| {
                    b.struct_body(s)
                })
            }
            TypeSchema::Enum(e) => {
                self.reference(std::ptr::from_ref(e) as usize, e.rust_name, |_| {
                    let mut v = json!({ "type": "string", "enum": e.variants });
                    if !e.docs.is_empty() {
                        v["description"] = e.docs.into();
                    }
                    v
                })
            }
        }
    }

    fn struct_body(&mut self, s: &StructSchema) -> Value {
        let mut props = Map::new();
        let mut required = Vec::new();
        for f in s.fields {
            props.insert(f.name.to_owned(), self.field(f));
            if f.required {
                required.push(Value::from(f.name));
            }
        }
        let mut v = json!({ "type": "object", "properties": props });
        if !required.is_empty() {
            v["required"] = Value::Array(required);
        }
        if s.deny_unknown_fields {
            v["additionalProperties"] = false.into();
        }
        if !s.docs.is_empty() {
            v["description"] = s.docs.into();
        }
        v
    }

    fn field(&mut self, f: &FieldSchema) -> Value {
        let mut v = self.constrained((f.ty)(), f.constraints);
        if !f.docs.is_empty() {
            if let Some(obj) = v.as_object_mut() {
                obj.insert("description".into(), f.docs.into());
            }
        }
        v
    }

    /// `ty` with `constraints` applied; `Option` passes them to its `Some` value.
    fn constrained(&mut self, ty: TypeSchema, constraints: &[Constraint]) -> Value {
        if constraints.is_empty() {
            return self.ty(ty);
        }
        if let TypeSchema::Option(inner) = ty {
            let inner = self.constrained(inner(), constraints);
            return json!({ "anyOf": [{ "type": "null" }, inner] });
        }
        let mut v = self.ty(ty);
        for c in constraints {
            self.apply(&mut v, ty, c);
        }
        v
    }

    fn apply(&mut self, v: &mut Value, ty: TypeSchema, c: &Constraint) {
        match *c {
            Constraint::Range {
                min,
                max,
                exclusive_min,
                exclusive_max,
            } => {
                if let Some(min) = min {
                    if exclusive_min {
                        v["exclusiveMinimum"] = number_value(min);
                    } else if tighter(v.get("minimum"), min, true) {
                        v["minimum"] = number_value(min);
                    }
                }
                if let Some(max) = max {
                    if exclusive_max {
                        v["exclusiveMaximum"] = number_value(max);
                    } else if tighter(v.get("maximum"), max, false) {
                        v["maximum"] = number_value(max);
                    }
                }
            }
            Constraint::Length { min, max } => {
                let (lo, hi) = match ty {
                    TypeSchema::String => ("minLength", "maxLength"),
                    TypeSchema::Map(_) => ("minProperties", "maxProperties"),
                    _ => ("minItems", "maxItems"),
                };
                if let Some(min) = min {
                    v[lo] = min.into();
                }
                if let Some(max) = max {
                    v[hi] = max.into();
                }
            }
            Constraint::Pattern(p) => v["pattern"] = p.source().into(),
            Constraint::Custom(path) => v["$comment"] = format!("also checked by `{path}`").into(),
            Constraint::Each(inner) => match ty {
                TypeSchema::Array(item) => v["items"] = self.constrained(item(), inner),
                TypeSchema::Map(item) => {
                    v["additionalProperties"] = self.constrained(item(), inner)
                }
                _ => {}
            },
        }
    }
}

/// Whether bound `new` is stricter than the existing keyword value.
fn tighter(existing: Option<&Value>, new: Number, is_min: bool) -> bool {
    match existing.and_then(Value::as_f64) {
        None => true,
        Some(old) if is_min => new.as_f64() >= old,
        Some(old) => new.as_f64() <= old,
    }
}

fn int_value(v: i128) -> Option<Value> {
    if let Ok(v) = i64::try_from(v) {
        Some(v.into())
    } else {
        u64::try_from(v).ok().map(Value::from)
    }
}

fn number_value(n: Number) -> Value {
    match n {
        Number::Int(v) => int_value(v).unwrap_or_else(|| n.as_f64().into()),
        Number::Float(v) => v.into(),
    }
}
