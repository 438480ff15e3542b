//! The static description of an event: name, docs, fields, types and
//! constraints. JSON Schema and TypeScript are produced from it, and decoding
//! walks it to report every issue of a payload that does not deserialize.
//!
//! A [`TypeSchema`] says what the wire holds and, where the Rust type is
//! narrower than JSON, how far: an integer carries its type's bounds, a float
//! whether it is an `f32`.
//!
//! ```
//! use continuum_runtime::{Payload, TypeSchema};
//!
//! assert!(matches!(<f32 as Payload>::describe(), TypeSchema::Float { f32: true }));
//! assert!(matches!(<f64 as Payload>::describe(), TypeSchema::Float { f32: false }));
//! assert!(matches!(<u8 as Payload>::describe(), TypeSchema::Integer { min: 0, max: 255 }));
//! ```

mod defs;
pub mod json_schema;
pub mod typescript;

use std::fmt;
use std::sync::OnceLock;

/// The wire shape of one type.
#[derive(Clone, Copy, Debug)]
pub enum TypeSchema {
    /// `true` / `false`.
    Bool,
    /// A JSON string.
    String,
    /// A whole number within the Rust type's bounds.
    Integer {
        /// The smallest value the Rust type holds.
        min: i128,
        /// The largest value the Rust type holds.
        max: u128,
    },
    /// A floating-point number: an `f64`, or an `f32` when `f32` is set.
    ///
    /// Every finite JSON number fits an `f64`. An `f32` holds less: a number
    /// fits when it rounds to a finite `f32`, that is when its magnitude is
    /// below 3.4028235677973366e38 (halfway between `f32::MAX` and 2^128), so
    /// `1e39` is refused while `3.4028235e38` (`f32::MAX` as written) is not.
    /// Decoding reports a number beyond that as a `type` issue, as it does an
    /// integer outside its Rust type, and the JSON Schema export bounds the
    /// field with it.
    Float {
        /// Whether the Rust type is `f32` (else `f64`).
        f32: bool,
    },
    /// Any JSON value (`serde_json::Value`).
    Any,
    /// `null` or the inner type.
    Option(fn() -> TypeSchema),
    /// A JSON array of the inner type.
    Array(fn() -> TypeSchema),
    /// A JSON object whose values are the inner type.
    Map(fn() -> TypeSchema),
    /// A struct with named fields.
    Struct(&'static StructSchema),
    /// A string union from a unit-variant enum.
    Enum(&'static EnumSchema),
    /// An enum whose variants may carry data, in one of serde's
    /// representations (see [`TaggedSchema`]).
    Tagged(&'static TaggedSchema),
    /// A JSON array of unique items of the inner type (`HashSet`, `BTreeSet`).
    Set(fn() -> TypeSchema),
    /// A JSON array of exactly `len` items of the inner type (`[T; N]`).
    FixedArray {
        /// The items' type.
        item: fn() -> TypeSchema,
        /// How many items.
        len: usize,
    },
    /// A JSON string in a given format (a UUID, a timestamp, a URL, an IP
    /// address), checked by the Rust type's own parser.
    Format(&'static StringFormat),
    /// JSON `null`: the payload of a unit-struct event (an event without data).
    Null,
}

/// A string format: its JSON Schema name and the parser that decides.
#[derive(Debug)]
pub struct StringFormat {
    /// The JSON Schema `format`, e.g. `uuid`, `date-time`, `uri`, `ipv4`;
    /// `None` when JSON Schema has no one name for it (`IpAddr`: see `any_of`).
    pub format: Option<&'static str>,
    /// Formats any of which the string may have (`IpAddr`: `ipv4` or `ipv6`);
    /// empty unless `format` is `None`.
    pub any_of: &'static [&'static str],
    /// What a human reads in an issue, e.g. "a UUID".
    pub expected: &'static str,
    /// Whether the Rust type takes `text` (as its `Deserialize` would).
    pub parses: fn(&str) -> bool,
}

/// An enum in one of serde's representations, each variant a unit, a
/// newtype (one unnamed field) or a struct (named fields).
///
/// ```
/// use continuum_runtime::prelude::*;
/// use continuum_runtime::{EnumRepr, TypeSchema, VariantKind};
///
/// #[derive(Payload, Debug)]
/// #[serde(tag = "kind")]
/// pub enum Stage {
///     Queued,
///     Failed { reason: String },
/// }
///
/// let TypeSchema::Tagged(t) = <Stage as Payload>::describe() else { unreachable!() };
/// assert!(matches!(t.repr, EnumRepr::Internal { tag: "kind" }));
/// assert_eq!(t.variants[1].name, "failed");
/// assert!(matches!(t.variants[1].kind, VariantKind::Struct(s) if s.fields[0].name == "reason"));
/// ```
#[derive(Debug)]
pub struct TaggedSchema {
    /// The Rust type's name.
    pub rust_name: &'static str,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// How a variant is told apart on the wire.
    pub repr: EnumRepr,
    /// The variants in declaration order, skipped ones left out.
    pub variants: &'static [VariantSchema],
    /// Whether keys beside the tag and content of an adjacently tagged
    /// enum are rejected (struct variants' own fields follow their
    /// [`StructSchema::deny_unknown_fields`]).
    pub deny_unknown_fields: bool,
}

impl TaggedSchema {
    /// The variant with wire name `name`.
    pub fn variant(&self, name: &str) -> Option<&'static VariantSchema> {
        self.variants.iter().find(|v| v.name == name)
    }

    /// The wire names of the variants, quoted and comma-separated, for messages.
    pub fn names(&self) -> String {
        let names: Vec<String> = self
            .variants
            .iter()
            .map(|v| format!("\"{}\"", v.name))
            .collect();
        names.join(", ")
    }
}

/// serde's enum representations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum EnumRepr {
    /// serde's default: a unit variant is its name, `"queued"`; any other is
    /// an object with one key, its name: `{"failed": {"reason": "…"}}`.
    External,
    /// `#[serde(tag = "kind")]`: the name is a field beside the variant's
    /// own, `{"kind": "failed", "reason": "…"}`.
    Internal {
        /// The tag field's name.
        tag: &'static str,
    },
    /// `#[serde(tag = "t", content = "c")]`: `{"t": "failed", "c": {"reason": "…"}}`;
    /// a unit variant has no content.
    Adjacent {
        /// The tag field's name.
        tag: &'static str,
        /// The content field's name.
        content: &'static str,
    },
}

/// One variant of a [`TaggedSchema`].
#[derive(Debug)]
pub struct VariantSchema {
    /// The wire name (after serde renames).
    pub name: &'static str,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// What the variant carries.
    pub kind: VariantKind,
}

/// What a variant carries.
#[derive(Clone, Copy, Debug)]
pub enum VariantKind {
    /// Nothing.
    Unit,
    /// One unnamed field, `Failed(String)`, with its constraints.
    Newtype {
        /// The field's type.
        ty: fn() -> TypeSchema,
        /// Constraints on the field's value.
        constraints: &'static [Constraint],
    },
    /// Named fields, `Failed { reason: String }`.
    Struct(&'static StructSchema),
}

/// A struct with named fields (an event's payload or a nested `Payload`).
#[derive(Debug)]
pub struct StructSchema {
    /// The Rust type's name.
    pub rust_name: &'static str,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// The fields in declaration order, skipped fields left out.
    pub fields: &'static [FieldSchema],
    /// Whether fields not listed are rejected.
    pub deny_unknown_fields: bool,
}

/// One field of a struct.
#[derive(Debug)]
pub struct FieldSchema {
    /// The wire name (after serde renames).
    pub name: &'static str,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// The field's type.
    pub ty: fn() -> TypeSchema,
    /// Whether the field must be present (not `Option`, no `#[serde(default)]`).
    pub required: bool,
    /// Constraints on the field's value.
    pub constraints: &'static [Constraint],
}

/// A string union from a unit-variant enum.
#[derive(Debug)]
pub struct EnumSchema {
    /// The Rust type's name.
    pub rust_name: &'static str,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// The wire names of the variants.
    pub variants: &'static [&'static str],
}

/// A number in a constraint, kept exact.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Number {
    /// A whole number.
    Int(i128),
    /// A floating-point number.
    Float(f64),
}

/// The bounds of a `range(…)` constraint: the schema's description and what
/// the generated check compares against, one value for both.
#[derive(Clone, Copy, Debug)]
pub struct RangeBounds {
    /// Lower bound.
    pub min: Option<Number>,
    /// Upper bound.
    pub max: Option<Number>,
    /// Whether `min` itself is excluded.
    pub exclusive_min: bool,
    /// Whether `max` itself is excluded.
    pub exclusive_max: bool,
}

/// A constraint declared with `#[event(…)]` on a field.
#[derive(Clone, Copy, Debug)]
pub enum Constraint {
    /// `range(min = …, max = …)`, inclusive unless `exclusive_*`.
    Range(RangeBounds),
    /// `length(min = …, max = …)`: chars for strings, items for sequences and maps.
    Length {
        /// Lower bound, inclusive.
        min: Option<u64>,
        /// Upper bound, inclusive.
        max: Option<u64>,
    },
    /// `pattern = "regex"`: the regex, compiled once on first use and shared
    /// by `validate()` and decoding (its text is [`Pattern::source`]).
    Pattern(&'static Pattern),
    /// `custom = path`: the function's path as written.
    Custom(&'static str),
    /// `each(…)`: constraints on every element of a sequence, value of a map,
    /// or the inner value of an `Option`.
    Each(&'static [Constraint]),
}

/// The static description of an event.
#[derive(Debug)]
pub struct EventSchema {
    /// The event's type name, e.g. `ai.task.progress`.
    pub name: &'static str,
    /// The declaration's version (`#[continuum_event("…", version = 2)]`; 1
    /// by default). See [`crate::registry`] for how versions are kept.
    pub version: u32,
    /// The payload: a struct, or `None` for a unit event (no data; `data` is `null`).
    pub payload: Option<&'static StructSchema>,
    /// The `///` doc comment, trimmed.
    pub docs: &'static str,
    /// The wire name of the key field of a keyed event (`key = task_id` →
    /// `taskId`): the runtime keeps the latest event per key. `None`: not keyed.
    pub key: Option<&'static str>,
    /// How long a key nobody updates is kept (`ttl = "1h"`); `None`: until
    /// it is forgotten or evicted.
    pub ttl: Option<std::time::Duration>,
}

impl Number {
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Number::Int(v) => v as f64,
            Number::Float(v) => v,
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Number::Int(v) => write!(f, "{v}"),
            Number::Float(v) => write!(f, "{v}"),
        }
    }
}

/// A `pattern = "…"` regex, compiled on first use and then shared.
///
/// The macro has already parsed the pattern with `regex-syntax`, so
/// compilation cannot fail on syntax; should it fail anyway (e.g. a size
/// limit), the value is reported as not matching rather than panicking.
#[derive(Debug)]
pub struct Pattern {
    source: &'static str,
    compiled: OnceLock<Option<regex::Regex>>,
}

impl Pattern {
    /// A pattern not yet compiled.
    pub const fn new(source: &'static str) -> Self {
        Pattern {
            source,
            compiled: OnceLock::new(),
        }
    }

    /// The pattern as written.
    pub fn source(&self) -> &'static str {
        self.source
    }

    /// Whether `text` matches (anywhere, as JSON Schema's `pattern` does).
    pub fn is_match(&self, text: &str) -> bool {
        self.compiled
            .get_or_init(|| regex::Regex::new(self.source).ok())
            .as_ref()
            .is_some_and(|re| re.is_match(text))
    }
}

/// Whether the JSON number `v` (read as `f64`) fits an `f32`: it rounds to a
/// finite one, as serde's `f64` → `f32` conversion does. Past
/// ±3.4028235677973366e38 (halfway between `f32::MAX` and 2^128) it rounds to
/// infinity.
pub(crate) fn fits_f32(v: f64) -> bool {
    round_f32(v).is_finite()
}

/// `v` rounded to the nearest `f32` (to infinity past its range).
#[allow(clippy::cast_possible_truncation)]
pub(crate) fn round_f32(v: f64) -> f64 {
    f64::from(v as f32)
}
