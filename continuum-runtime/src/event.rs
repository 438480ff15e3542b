//! The [`Event`] and [`Payload`] traits, and the reference for the
//! `#[continuum_event]` attribute and `#[derive(Payload)]` that implement them.
//!
//! # `#[continuum_event("name", …)]`
//!
//! On a struct with named fields (or a unit struct, for an event without
//! data). It implements, without any other derive: serde's `Serialize` and
//! `Deserialize`, [`Payload`], [`Event`] (`TYPE`, `schema()`, `validate()`),
//! a registry entry (see [`crate::registry`]) and typed helpers
//! `event.emit(&hub)` / `event.emit_to(channel, &hub)` that call
//! [`Hub::emit`](crate::Hub::emit) / [`Hub::emit_to`](crate::Hub::emit_to).
//!
//! `Deserialize` is serde's derive when a serde option changes how fields
//! are read (`default`, `alias`, `with`, `flatten`, …) or a field's type
//! names `u128`/`i128`; otherwise it is Continuum's: any self-describing
//! format, read through a `serde_json::Value` and decoded as ingest decodes
//! (same values, same errors, serde's messages), for a fraction of the
//! compile time of serde's derive (bench/compile-cost). A format that is
//! not self-describing (bincode) is then refused:
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! #[continuum_event("docs.deserialize.ping")]
//! #[derive(Debug, PartialEq)]
//! pub struct Ping {
//!     pub seq: u32,
//! }
//!
//! let ping: Ping = serde_json::from_str(r#"{"seq": 7}"#).unwrap();
//! assert_eq!(ping, Ping { seq: 7 });
//! let err = serde_json::from_str::<Ping>(r#"{"seq": 7, "extra": 1}"#).unwrap_err();
//! assert!(err.to_string().starts_with("unknown field `extra`, expected `seq`"));
//! ```
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! /// Progress of one AI generation task.
//! #[continuum_event("ai.task.progress")]
//! #[derive(Debug, Clone)]
//! pub struct AiTaskProgress {
//!     #[event(length(min = 1, max = 128))]
//!     pub task_id: String,
//!     #[event(range(min = 0, max = 100))]
//!     pub progress: u8,
//! }
//!
//! let bad = AiTaskProgress { task_id: String::new(), progress: 101 };
//! let issues = bad.validate().unwrap_err();
//! assert_eq!(issues.issues()[0].path, "taskId"); // wire names, camelCase by default
//! assert_eq!(issues.issues()[1].message, "must be at most 100");
//! ```
//!
//! - **Name**: lowercase dot-separated segments `[a-z][a-z0-9_-]*`, at least
//!   two, not starting with the reserved `continuum.`; checked at compile time.
//! - **Options**: `crate = path` (the runtime under another name, as serde's
//!   `crate = "…"`), `deny_unknown_fields = false` (accept fields the event
//!   does not declare; by default they are an `unknown_field` issue),
//!   `version = N` and `upcast_from = Previous` (below, "Versions").
//! - **Wire names**: `#[serde(rename_all = "camelCase")]` unless you write
//!   your own `rename_all`; `#[serde(rename = "…")]`, `default` and `skip`
//!   on fields are honoured in issue paths and schemas, and
//!   `skip_serializing_if` leaves a field out as serde does. `flatten`, `tag`
//!   (on a struct), `untagged`, `transparent`, `from`/`into` are rejected:
//!   the schema could not describe them.
//! - **Docs**: `///` on the struct and its fields become `docs` in the schema.
//!
//! # Versions: an intended break
//!
//! A change that would break old writers or old readers (see
//! [`crate::contract`]) is made as a new version kept beside the old one:
//! `version = N` on the new struct, `upcast_from = Previous` naming the
//! struct of version N − 1, and `impl From<Previous> for New`. Ingest
//! accepts every version and publishes the newest, a node upcasts older
//! events it reads from a shared stream, and a reader that cannot read the
//! newest version gets `continuum.reset` (`contract`) instead.
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! /// Version 1, kept so old workers' events and stored events still read.
//! #[continuum_event("docs.versions.progress")]
//! pub struct ProgressV1 {
//!     pub percent: u8,
//! }
//!
//! /// Version 2: a fraction instead of a percentage.
//! #[continuum_event("docs.versions.progress", version = 2, upcast_from = ProgressV1)]
//! pub struct ProgressV2 {
//!     pub fraction: f32,
//! }
//!
//! impl From<ProgressV1> for ProgressV2 {
//!     fn from(v1: ProgressV1) -> Self {
//!         ProgressV2 { fraction: f32::from(v1.percent) / 100.0 }
//!     }
//! }
//!
//! assert_eq!(ProgressV2::VERSION, 2);
//! assert_eq!(ProgressV2::schema().version, 2);
//! let mut registry = continuum_runtime::Registry::new();
//! registry.register::<ProgressV2>().unwrap(); // and version 1, through `upcast_from`
//! assert_eq!(registry.versions("docs.versions.progress").count(), 2);
//! ```
//!
//! The chain is checked at compile time: `version = 2` or later without
//! `upcast_from`, `upcast_from` on version 1, an `upcast_from` naming
//! anything but version N − 1 of the same event (a hole, or a skipped
//! version), two versions naming the same predecessor, and a missing
//! `From` impl are compile errors. The older structs must live in the same
//! crate. Two declarations of the same name and version that name no
//! predecessor (two version-1 structs) are found when the registry is
//! built: [`RegistryError::DuplicateType`](crate::registry::RegistryError).
//!
//! ```compile_fail
//! use continuum_runtime::prelude::*;
//!
//! #[continuum_event("docs.versions.hole")]
//! pub struct V1 { pub n: u32 }
//!
//! // Version 3 must name version 2: the chain has a hole.
//! #[continuum_event("docs.versions.hole", version = 3, upcast_from = V1)]
//! pub struct V3 { pub n: u64 }
//! impl From<V1> for V3 { fn from(v: V1) -> Self { V3 { n: v.n.into() } } }
//! ```
//!
//! # Field constraints: `#[event(…)]`
//!
//! | constraint | applies to | issue code |
//! |---|---|---|
//! | `range(min = a, max = b)`, `range(exclusive_min = a, exclusive_max = b)` (any mix; at least one bound) | integers and floats | `range` |
//! | `length(min = a, max = b)` | `String` (chars), `Vec` (items), maps (entries) | `length` |
//! | `pattern = "regex"` (the `regex` crate's syntax, parsed at compile time, matched anywhere unless anchored) | `String` | `pattern` |
//! | `custom = path::to_fn` with `fn(&FieldType) -> Result<(), impl Display>` | anything | `custom` |
//! | `each(…)` (the constraints inside apply to every element / map value, paths `[i]` / `.key`) | `Vec`, `HashMap`, `BTreeMap` | — |
//!
//! Constraints on an `Option<T>` apply to the `Some` value (so `each` on an
//! `Option<Vec<T>>` reaches the `T`s). A constraint on a type it cannot
//! apply to, `min > max`, a regex that does not parse, an unknown or
//! duplicate constraint are compile errors at the offending token:
//!
//! ```compile_fail
//! use continuum_runtime::prelude::*;
//!
//! #[continuum_event("ai.task.progress")]
//! pub struct Bad {
//!     #[event(range(min = 1, max = 10))] // `range` applies to numbers, not `String`
//!     pub task_id: String,
//! }
//! ```
//!
//! # `#[derive(Payload)]`
//!
//! For the types inside events: structs with named fields (validated
//! recursively, paths such as `items[2].name`), unit-variant enums (string
//! unions) and enums with data (below). Like the attribute, it also implements `Serialize` and
//! `Deserialize` with the same defaults — camelCase names (`Stage::Queued` is
//! `"queued"`), unknown fields rejected — so do not derive those as well.
//! `#[event(crate = path, deny_unknown_fields = false)]` on the type sets the
//! options.
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! #[derive(Payload, Debug, Clone, Copy, PartialEq)]
//! pub enum Stage { Queued, Prompting, Done }
//!
//! #[derive(Payload, Debug, Clone)]
//! pub struct Item {
//!     #[event(length(min = 1))]
//!     pub display_name: String,
//! }
//!
//! #[continuum_event("shop.order.placed")]
//! pub struct OrderPlaced {
//!     pub stage: Stage,
//!     #[event(length(max = 10), each(custom = no_test_items))]
//!     pub items: Vec<Item>,
//! }
//!
//! fn no_test_items(item: &Item) -> Result<(), &'static str> {
//!     if item.display_name == "test" { Err("test items cannot be ordered") } else { Ok(()) }
//! }
//!
//! let order = OrderPlaced {
//!     stage: Stage::Queued,
//!     items: vec![Item { display_name: "".into() }, Item { display_name: "test".into() }],
//! };
//! let paths: Vec<String> = order.validate().unwrap_err().into_issues().into_iter().map(|i| i.path).collect();
//! assert_eq!(paths, ["items[0].displayName", "items[1]"]);
//! assert_eq!(serde_json::to_string(&Stage::Prompting).unwrap(), r#""prompting""#);
//! ```
//!
//! ## Enums with data
//!
//! Struct, newtype and unit variants, in serde's three representations:
//! externally tagged (the default: `"queued"`, `{"failed": {"reason": "…"}}`),
//! internally tagged (`#[serde(tag = "kind")]`: `{"kind": "failed", "reason":
//! "…"}`) and adjacently tagged (`#[serde(tag = "t", content = "c")]`:
//! `{"t": "failed", "c": {"reason": "…"}}`). Variant names are camelCase by
//! default; `rename_all` on the enum renames variants, on a variant (or
//! `rename_all_fields` on the enum) its fields. Constraints on variant fields
//! are checked like struct fields, at the variant's wire path; the schema is a
//! [`TaggedSchema`](crate::TaggedSchema).
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! #[derive(Payload, Debug)]
//! #[serde(tag = "t", content = "c")]
//! pub enum Step {
//!     Idle,
//!     Percent(#[event(range(max = 100))] u8),
//!     Done { took_ms: u64 },
//! }
//!
//! #[continuum_event("jobs.step.changed")]
//! pub struct StepChanged {
//!     pub step: Step,
//! }
//!
//! let bad = StepChanged { step: Step::Percent(101) };
//! assert_eq!(bad.validate().unwrap_err().issues()[0].path, "step.c");
//! let done = StepChanged { step: Step::Done { took_ms: 5 } };
//! assert_eq!(
//!     serde_json::to_string(&done).unwrap(),
//!     r#"{"step":{"t":"done","c":{"tookMs":5}}}"#
//! );
//! ```
//!
//! Internally tagged, a newtype variant carries a struct with named fields
//! (serde writes the tag beside them). A tuple variant with several fields,
//! an internally tagged newtype variant of anything else, `#[serde(untagged)]`
//! and `#[event(…)]` on a variant itself are compile errors at the offending
//! token:
//!
//! ```compile_fail
//! use continuum_runtime::prelude::*;
//!
//! #[derive(Payload)]
//! #[serde(tag = "kind")]
//! pub enum Stage {
//!     Failed(String), // use `Failed { reason: String }`, or add `content = "…"`
//! }
//! ```
//!
//! A field type that is not a `Payload` is one error at the type, naming
//! `Payload`, whatever else the type derives:
//!
//! ```compile_fail
//! use continuum_runtime::prelude::*;
//!
//! pub struct Opaque;
//!
//! #[continuum_event("ai.task.progress")]
//! pub struct Progress {
//!     pub inner: Vec<Opaque>, // `Opaque` cannot be part of an event payload
//! }
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::sync::Arc;

mod key;

pub use self::key::EventKey;

use serde::de::DeserializeOwned;
use serde::Serialize;

/// Which types each field constraint applies to (`range`: numbers,
/// `length`: strings, sequences and maps, `pattern`: strings, `each`:
/// sequences, maps and `Option`s): a constraint on another type is a compile
/// error that names one of these traits. Generated code calls them; users
/// never do.
pub use crate::payload::constraints::{EachCheck, LengthCheck, PatternCheck, RangeCheck};
pub use crate::payload::Payload;
use crate::schema::EventSchema;
use crate::validate::{Checker, ValidationErrors};

/// A real-time event: a payload with a dotted type name such as
/// `ai.task.progress`. Implemented by `#[continuum_event("…")]`.
pub trait Event: Payload + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The event's type name on the wire, e.g. `ai.task.progress`.
    const TYPE: &'static str;

    /// The declaration's version: `#[continuum_event("…", version = N)]`,
    /// 1 by default. See "Versions" in the module docs.
    const VERSION: u32 = 1;

    /// The static description of the event: name, docs, fields, constraints.
    fn schema() -> &'static EventSchema;

    /// Check every constraint, collecting every issue (not only the first).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut cx = Checker::new();
        self.check(&mut cx);
        cx.finish()
    }

    /// The key of a keyed event (`#[continuum_event("…", key = field)]`):
    /// the key field's value as text (see [`EventKey`]); `None` for an
    /// event without a key.
    ///
    /// ```
    /// use continuum_runtime::prelude::*;
    ///
    /// #[continuum_event("docs.key.progress", key = task_id, ttl = "1h")]
    /// pub struct Progress { pub task_id: String, pub percent: u8 }
    ///
    /// let p = Progress { task_id: "gen-1".into(), percent: 5 };
    /// assert_eq!(p.key().as_deref(), Some("gen-1"));
    /// assert_eq!(Progress::schema().key, Some("taskId"));
    /// assert_eq!(Progress::schema().ttl, Some(std::time::Duration::from_secs(3600)));
    /// ```
    fn key(&self) -> Option<Cow<'_, str>> {
        None
    }

    /// Deserialize the payload's JSON text (the envelope's `data`); serde's
    /// `from_str` unless generated code reads the fields one by one (see
    /// `__private::Fields`, which gives the same values for less code per
    /// event). Not for users: decoding calls it.
    #[doc(hidden)]
    fn __decode(json: &str) -> serde_json::Result<Self> {
        serde_json::from_str(json)
    }

    /// For version N ≥ 2: the previous version's value (type-erased, as
    /// decoding returns it) turned into this one with the declaration's
    /// `From` impl; `None` for any other value. Not for users.
    #[doc(hidden)]
    fn __upcast(previous: Arc<dyn Any + Send + Sync>) -> Option<Arc<dyn DynEvent>> {
        let _ = previous;
        None
    }

    /// For version N ≥ 2: show `visitor` the previous version's type, so a
    /// registry that registers this version registers the whole chain. Not
    /// for users.
    #[doc(hidden)]
    fn __previous<V: VisitVersion>(visitor: &mut V) {
        let _ = visitor;
    }
}

/// Sees the previous version of an event type (see [`Event::__previous`]).
#[doc(hidden)]
pub trait VisitVersion {
    /// Called with the previous version's type.
    fn visit<P: Event>(&mut self);
}

/// Implemented by `#[continuum_event(…, version = N, upcast_from = Prev)]`
/// for `Prev`: one version of an event has at most one next version, so a
/// second declaration naming the same `upcast_from` is a compile error
/// ("conflicting implementations of trait `NextVersion`"). Generated code
/// implements it; users never do.
pub trait NextVersion {}

/// A validated event whose Rust type has been erased, as produced by the
/// registry from ingested JSON and consumed by the hub.
pub trait DynEvent: Any + Send + Sync {
    /// The event's type name, e.g. `ai.task.progress`.
    fn type_name(&self) -> &'static str;
    /// Serialize the payload (the envelope's `data`) as JSON into `out`.
    fn write_data(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
    /// The key of a keyed event ([`Event::key`]), `None` for another.
    fn dyn_key(&self) -> Option<Cow<'_, str>>;
    /// Upcast for typed in-process subscribers (`Arc::downcast`).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
    /// `Payload::check` through the erased type: decoding validates with it,
    /// so its logic is compiled once rather than once per event type. Not
    /// for users.
    #[doc(hidden)]
    fn __check(&self, cx: &mut Checker) {
        let _ = cx;
    }
}

impl<E: Event> DynEvent for E {
    fn type_name(&self) -> &'static str {
        E::TYPE
    }
    fn write_data(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
    fn dyn_key(&self) -> Option<Cow<'_, str>> {
        self.key()
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
    fn __check(&self, cx: &mut Checker) {
        self.check(cx);
    }
}
