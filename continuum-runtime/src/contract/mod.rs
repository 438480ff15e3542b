//! The event contract as a file, and what a change to it breaks.
//!
//! A deployment runs several builds at once: old and new nodes on one Redis
//! stream during a rolling deploy, browser tabs on yesterday's bundle,
//! workers shipped on their own schedule, events stored by the previous
//! build. [`Contract::of`] captures everything those builds must agree on —
//! every event's name, version and JSON Schema, plus the runtime's envelope
//! and control events — as deterministic text ([`Contract::to_json`]) that a
//! project commits, e.g. as `continuum.contract.json`. [`diff()`] judges a
//! change between two contracts; [`check()`] runs that judgment in the
//! project's own `cargo test`.
//!
//! ```
//! use continuum_runtime::contract::{self, Contract, Mode};
//! use continuum_runtime::prelude::*;
//! use continuum_runtime::Registry;
//!
//! mod v1 {
//!     use continuum_runtime::prelude::*;
//!     #[continuum_event("docs.contract.progress")]
//!     pub struct Progress {
//!         pub task_id: String,
//!         pub note: Option<String>,
//!     }
//! }
//! mod v2 {
//!     use continuum_runtime::prelude::*;
//!     #[continuum_event("docs.contract.progress")]
//!     pub struct Progress {
//!         pub task_id: String,
//!         pub eta: Option<u32>,
//!     }
//! }
//!
//! let mut old = Registry::new();
//! old.register::<v1::Progress>().unwrap();
//! let mut new = Registry::new();
//! new.register::<v2::Progress>().unwrap();
//!
//! let report = contract::diff(&Contract::of(&old), &Contract::of(&new));
//! assert!(report.breaks(Mode::Backward));
//! assert_eq!(
//!     report.to_string(),
//!     "breaking backward docs.contract.progress data.note: field removed; \
//!      old workers that still send `note` get 422 `unknown_field`\n\
//!      compatible docs.contract.progress data.eta: optional field added; old readers ignore it\n"
//! );
//! ```
//!
//! # What breaks, and in which direction
//!
//! One definition, applied to every kind of change:
//!
//! - A change **breaks backward** when some payload that the *old*
//!   declaration accepts — an old worker's `POST`, an event stored by the
//!   old build — is rejected by, or reads differently in, the *new* build.
//! - It **breaks forward** when some payload that the *new* declaration
//!   accepts cannot be read by a reader built from the *old* contract (an
//!   open browser tab, a Rust subscriber on the old build).
//!
//! Writers are judged by ingest's full validation: types, required fields,
//! unknown fields (`deny_unknown_fields`, the default; `additionalProperties:
//! false` in the schema), and constraints (range, length, pattern, custom).
//! Readers are tolerant: they ignore fields and event types they do not
//! know and do not re-check constraints, but they cannot read a value
//! outside their *types*: a missing required field, `null` where the type is
//! not an `Option`, an enum variant they do not know, a changed type, an
//! integer wider than their integer type, a string their format type (UUID,
//! date-time, …) does not parse, a duplicate in a set, a fixed-size array of
//! another length.
//!
//! | change (old → new) | backward | forward |
//! |---|---|---|
//! | event type added | ok | ok (readers skip unknown types) |
//! | event type removed | **breaks** (`unknown_type`) | ok |
//! | optional field added | ok, unless the old struct took unknown fields | ok |
//! | required field added | **breaks** (`required`) | ok |
//! | field removed, old optional | **breaks** if the new struct denies unknown fields | ok |
//! | field removed, old required | as above | **breaks** |
//! | field renamed, `rename_all` changed | a removal plus an addition, per field | |
//! | optional → required | **breaks** (`required`) | ok |
//! | required → optional | ok | **breaks** |
//! | `T` → `Option<T>` (now takes `null`) | ok | **breaks** |
//! | `Option<T>` → `T` | **breaks** (`type`) | ok |
//! | integer type widened (`u8` → `u16`) | ok | **breaks** |
//! | integer type narrowed (`u16` → `u8`) | **breaks** (`type`) | ok |
//! | range/length narrowed, pattern or custom check added or changed | **breaks** (`range`, `length`, `pattern`, `custom`) | ok |
//! | range widened within the old type | ok | ok |
//! | range widened past the old type | ok | **breaks** |
//! | integer → float | ok (except past 2^53, which reads rounded) | **breaks** |
//! | float → integer | **breaks** (`type`) | ok |
//! | other type change | **breaks** (`type`) | **breaks** |
//! | enum variant added | ok | **breaks** |
//! | enum variant removed | **breaks** (`type`) | ok |
//! | enum tag or representation changed | **breaks** | **breaks** |
//! | struct starts denying unknown fields | **breaks** (`unknown_field`) | ok |
//! | docs, field order, `$defs` names | ok | ok |
//!
//! Nested structs and the fields of enum variants are judged by the same
//! rules, at their wire path: `data.files[].name` (array items),
//! `data.byOwner.*.size` (map values), `data.stage[kind=failed].reason` (a
//! variant's field, tagged enum), `data.stage.failed.reason` (externally
//! tagged). Runtime vocabulary: control events and reset reasons added or
//! removed are compatible (readers ignore unknown control events and treat
//! an unknown reset reason as a reset); a changed envelope breaks both ways.
//!
//! # Versions: an intended break
//!
//! A change that breaks is made as a new version of the event, its old
//! declaration kept beside it (`version = N` and `upcast_from = Previous`,
//! see [`crate::event`]). [`Contract::of`] lists every version, and
//! [`diff()`] judges versions by the same definition:
//!
//! | change (old → new) | backward | forward | line |
//! |---|---|---|---|
//! | a new newest version, the old newest kept | ok: old writers' and stored events of the old version are accepted and upcast | ok: an old reader gets `continuum.reset` (`contract`), never the new shape | `compatible ai.task.progress type: new version 2 with an upcast from version 1; …` |
//! | a kept older version changed | judged as any change, backward only (the new build never publishes it): `ai.task.progress@1 data.note` | — | `breaking backward ai.task.progress@1 data.note: …` |
//! | a version removed (or the newest rolled back) | **breaks** (`unknown_version`; stored events reset subscribers) | ok | `breaking backward ai.task.progress@1 type: version 1 removed; …` |
//! | same newest version on both sides | every rule above, both directions | | |
//!
//! ```
//! use continuum_runtime::contract::{self, Contract, Mode};
//! use continuum_runtime::Registry;
//!
//! mod old {
//!     use continuum_runtime::prelude::*;
//!     #[continuum_event("docs.contract.step")]
//!     pub struct Step { pub percent: u8 }
//! }
//! mod new {
//!     use continuum_runtime::prelude::*;
//!     #[continuum_event("docs.contract.step")]
//!     pub struct StepV1 { pub percent: u8 }
//!     #[continuum_event("docs.contract.step", version = 2, upcast_from = StepV1)]
//!     pub struct StepV2 { pub fraction: f32 }
//!     impl From<StepV1> for StepV2 {
//!         fn from(v1: StepV1) -> Self { StepV2 { fraction: f32::from(v1.percent) / 100.0 } }
//!     }
//! }
//!
//! let mut before = Registry::new();
//! before.register::<old::Step>().unwrap();
//! let mut after = Registry::new();
//! after.register::<new::StepV2>().unwrap();
//! let report = contract::diff(&Contract::of(&before), &Contract::of(&after));
//! assert!(!report.breaks(Mode::Full));
//! assert_eq!(
//!     report.to_string(),
//!     "compatible docs.contract.step type: new version 2 with an upcast from version 1; \
//!      old workers' version-1 events are accepted and upcast to version 2; \
//!      old readers get continuum.reset (contract) instead of version 2\n"
//! );
//! ```
//!
//! At run time the same promise holds: ingest takes every version (the
//! envelope's `"version"`, or recognised by shape) and publishes the
//! newest; a node upcasts older entries it reads from a shared stream and
//! resets (`contract`) the subscribers of a type whose entry is newer than
//! it knows; a subscriber whose `contract=` fingerprint differs gets a
//! `contract` reset for every type whose version it does not read.
//!
//! # The file
//!
//! ```json
//! {
//!   "continuum_contract": 1,
//!   "events": {
//!     "ai.task.progress": [
//!       { "version": 1, "schema": { "$schema": "…", "title": "ai.task.progress", "type": "object", … } }
//!     ]
//!   },
//!   "runtime": { "control": { … }, "envelope": { … }, "reserved": "continuum.*" }
//! }
//! ```
//!
//! Keys are sorted and the text ends with a newline, so it is the same on
//! every build and platform. Each event lists its versions, oldest first
//! (one, version 1, unless declared otherwise); the schema is [`json_schema`](crate::json_schema::json_schema)'s
//! with an `x-continuum-type` keyword on integer, float and fixed-size array
//! nodes naming the Rust type a reader holds the value in (`"u8"`, `"f32"`),
//! which JSON Schema's merged bounds alone cannot say.

mod annotate;
mod canonical;
mod check;
mod diff;
mod report;
mod rules;
mod shape;
mod values;
mod vocabulary;

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::registry::Registry;

pub use annotate::TYPE_KEY;
pub use check::{check, check_with, CheckError, CheckOptions, Checked};
pub use diff::diff;
pub use report::{Change, Direction, Mode, Report};

/// The version of the file format written by [`Contract::to_json`].
pub const FORMAT: u64 = 1;

/// Every event's name, versions and JSON Schema, and the runtime's envelope
/// and control events: what every build of a deployment must agree on.
///
/// ```
/// use continuum_runtime::contract::Contract;
/// use continuum_runtime::prelude::*;
/// use continuum_runtime::Registry;
///
/// #[continuum_event("docs.contract.ping")]
/// pub struct Ping {
///     #[event(range(max = 100))]
///     pub level: u8,
/// }
///
/// let mut registry = Registry::new();
/// registry.register::<Ping>().unwrap();
/// let contract = Contract::of(&registry);
/// let text = contract.to_json();
/// assert_eq!(Contract::from_json(&text).unwrap(), contract);
/// let schema = &contract.event("docs.contract.ping").unwrap().schema;
/// assert_eq!(schema["properties"]["level"]["maximum"], 100);
/// assert_eq!(schema["properties"]["level"]["x-continuum-type"], "u8");
/// assert_eq!(contract.fingerprint().len(), 16);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Contract {
    events: BTreeMap<String, Vec<EventVersion>>,
    runtime: Value,
}

/// One version of one event in a [`Contract`].
#[derive(Clone, Debug, PartialEq)]
pub struct EventVersion {
    /// The version number (`version = N` on the declaration; 1 by default).
    pub version: u64,
    /// The payload's JSON Schema (the envelope's `data`), annotated with
    /// [`TYPE_KEY`].
    pub schema: Value,
}

impl Contract {
    /// The contract of every event in `registry`, and of this runtime.
    pub fn of(registry: &Registry) -> Contract {
        let events = registry
            .iter()
            .map(|newest| {
                let versions = registry
                    .versions(newest.type_name)
                    .map(|reg| EventVersion {
                        version: u64::from(reg.version),
                        schema: annotate::annotated_schema((reg.schema)()),
                    })
                    .collect();
                (newest.type_name.to_owned(), versions)
            })
            .collect();
        Contract {
            events,
            runtime: vocabulary::runtime(),
        }
    }

    /// The contract as canonical JSON: sorted keys, two-space indent, a
    /// final newline; the same text on every build and platform.
    pub fn to_json(&self) -> String {
        let events: Map<String, Value> = self
            .events
            .iter()
            .map(|(name, versions)| {
                let list = versions
                    .iter()
                    .map(|v| serde_json::json!({ "version": v.version, "schema": v.schema }))
                    .collect();
                (name.clone(), Value::Array(list))
            })
            .collect();
        let mut doc = Map::new();
        doc.insert("continuum_contract".into(), FORMAT.into());
        doc.insert("events".into(), Value::Object(events));
        doc.insert("runtime".into(), self.runtime.clone());
        canonical::to_string(&Value::Object(doc))
    }

    /// Read a contract written by [`to_json`](Self::to_json).
    ///
    /// # Errors
    ///
    /// [`ContractError`] when `text` is not JSON, or is JSON but not a
    /// contract (a missing member, a value of the wrong kind, a format
    /// version this runtime does not know).
    pub fn from_json(text: &str) -> Result<Contract, ContractError> {
        let doc: Value = serde_json::from_str(text).map_err(|e| ContractError::Json {
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })?;
        let not = |what: &str| ContractError::NotAContract(what.to_owned());
        let doc = doc
            .as_object()
            .ok_or_else(|| not("the document is not a JSON object"))?;
        match doc.get("continuum_contract").and_then(Value::as_u64) {
            Some(FORMAT) => {}
            Some(other) => return Err(ContractError::UnsupportedFormat(other)),
            None => return Err(not("`continuum_contract` (the format version) is missing")),
        }
        let runtime = doc
            .get("runtime")
            .filter(|r| r.is_object())
            .ok_or_else(|| not("`runtime` is missing or not an object"))?
            .clone();
        let listed = doc
            .get("events")
            .and_then(Value::as_object)
            .ok_or_else(|| not("`events` is missing or not an object"))?;
        let mut events = BTreeMap::new();
        for (name, versions) in listed {
            let bad = || {
                not(&format!(
                    "event `{name}`: expected a list of {{version, schema}}"
                ))
            };
            let mut list = Vec::new();
            for v in versions
                .as_array()
                .filter(|a| !a.is_empty())
                .ok_or_else(bad)?
            {
                let version = v.get("version").and_then(Value::as_u64).ok_or_else(bad)?;
                let schema = v.get("schema").filter(|s| s.is_object()).ok_or_else(bad)?;
                list.push(EventVersion {
                    version,
                    schema: schema.clone(),
                });
            }
            list.sort_by_key(|v| v.version);
            events.insert(name.clone(), list);
        }
        Ok(Contract { events, runtime })
    }

    /// A short, stable hash of [`to_json`](Self::to_json)'s text (FNV-1a,
    /// 64 bits, 16 hex digits): equal texts, equal fingerprints, on every
    /// platform. A client will send it to say which contract it was built from.
    pub fn fingerprint(&self) -> String {
        format!("{:016x}", canonical::fnv1a64(self.to_json().as_bytes()))
    }

    /// Every event's name and versions (oldest first), sorted by name.
    pub fn events(&self) -> impl Iterator<Item = (&str, &[EventVersion])> {
        self.events.iter().map(|(n, v)| (n.as_str(), v.as_slice()))
    }

    /// Every version of the event `name`, oldest first.
    pub fn versions(&self, name: &str) -> Option<&[EventVersion]> {
        self.events.get(name).map(Vec::as_slice)
    }

    /// The newest version of the event `name`.
    pub fn event(&self, name: &str) -> Option<&EventVersion> {
        self.events.get(name).and_then(|v| v.last())
    }

    /// The runtime's envelope and control events, as written in the file.
    pub fn runtime(&self) -> &Value {
        &self.runtime
    }
}

/// [`Contract::from_json`] could not read a contract.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ContractError {
    /// The text is not JSON.
    Json {
        /// Line of the error, from 1.
        line: usize,
        /// Column of the error, from 1.
        column: usize,
        /// What the parser said.
        message: String,
    },
    /// The text is JSON but not a contract; says what is missing or wrong.
    NotAContract(String),
    /// A contract in a format version this runtime does not read.
    UnsupportedFormat(u64),
}

impl fmt::Display for ContractError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ContractError::Json { message, .. } => write!(f, "not valid JSON: {message}"),
            ContractError::NotAContract(what) => write!(f, "not a Continuum contract: {what}"),
            ContractError::UnsupportedFormat(v) => write!(
                f,
                "contract format {v} is not supported (this runtime reads format {FORMAT}); \
                 upgrade continuum"
            ),
        }
    }
}

impl std::error::Error for ContractError {}
