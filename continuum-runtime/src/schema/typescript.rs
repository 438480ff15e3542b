//! TypeScript declarations from event schemas, so a front-end's types follow
//! the Rust declarations: one `interface` per payload (docs become TSDoc),
//! a string union per unit-variant enum, optional properties for `Option`
//! and `#[serde(default)]` fields, and `ContinuumEventMap`, the map from event
//! name to payload that `@continuum/client` is typed with. [`module`] adds
//! `continuumKeys` (each keyed event's key field, what `useContinuumState`
//! reads) and `continuumContract` (the contract's fingerprint and every
//! event's version, which the client sends when it subscribes, so a server
//! on another contract resets it instead of sending shapes it cannot read).
//!
//! ```
//! use continuum_runtime::prelude::*;
//!
//! #[derive(Payload)]
//! pub enum Stage { Queued, Done }
//!
//! /// Progress of one task.
//! #[continuum_event("docs.ts.progress")]
//! pub struct TaskProgress {
//!     pub task_id: String,
//!     pub stage: Stage,
//!     pub note: Option<String>,
//! }
//!
//! let hub = Hub::builder().register::<TaskProgress>().build().unwrap();
//! let ts = continuum_runtime::typescript::module(hub.registry());
//! assert!(ts.contains("export type Stage = \"queued\" | \"done\";"));
//! assert!(ts.contains("  taskId: string;"));
//! assert!(ts.contains("  note?: string | null;"));
//! assert!(ts.contains("export interface ContinuumEventMap {"));
//! assert!(ts.contains("  \"docs.ts.progress\": TaskProgress;"));
//! assert!(ts.contains("export type ContinuumEvent =\n  | { type: \"docs.ts.progress\"; data: TaskProgress }"));
//! let fingerprint = continuum_runtime::contract::Contract::of(hub.registry()).fingerprint();
//! assert!(ts.contains(&format!(
//!     "export const continuumContract = {{ fingerprint: \"{fingerprint}\", versions: {{ \"docs.ts.progress\": 1 }} }} as const;"
//! )));
//! ```
//!
//! Commit the module next to your front-end and keep it fresh with
//! [`sync_file`]: it writes the file only when the text changed, and in
//! [`Mode::Check`] (a test in CI) fails when the file on disk is stale.
//!
//! ```no_run
//! use continuum_runtime::typescript::{self, Mode};
//! # let hub = continuum_runtime::Hub::builder().build().unwrap();
//! // In a test: regenerate locally, refuse a stale file under CI=true.
//! typescript::sync_file("web/src/continuum-events.ts", &typescript::module(hub.registry()), Mode::from_env())
//!     .unwrap_or_else(|stale| panic!("{stale}"));
//! ```

use std::fmt::{self, Write};
use std::path::{Path, PathBuf};

use super::defs::{addr, Defs};
use super::{EnumRepr, EventSchema, StructSchema, TaggedSchema, TypeSchema, VariantKind};
use crate::contract::Contract;
use crate::registry::Registry;

/// The TypeScript module for every event in `registry`, sorted by event name
/// so the text is the same on every run: what [`typescript`] writes for them,
/// then `continuumKeys` and `continuumContract`:
///
/// ```ts
/// export const continuumKeys = { "ai.task.progress": "taskId" } as const;
/// export const continuumContract = { fingerprint: "…", versions: { "ai.task.progress": 1 } } as const;
/// ```
///
/// `continuumKeys` lists keyed events only (`{} as const` when none);
/// `continuumContract.versions` lists every event, with the newest version
/// the registry declares, and its fingerprint is
/// [`Contract::of(registry).fingerprint()`](Contract::fingerprint).
pub fn module(registry: &Registry) -> String {
    let mut events: Vec<&'static EventSchema> = registry.iter().map(|r| (r.schema)()).collect();
    events.sort_by_key(|e| e.name);
    let mut out = typescript(events.iter().copied());
    let keys: Vec<String> = events
        .iter()
        .filter_map(|e| Some(format!("{}: {}", quote(e.name), quote(key_of(e)?))))
        .collect();
    out.push_str("\n/** The key field of every keyed event (`key = …` in Rust): what `useContinuumState` reads. */\n");
    let _ = writeln!(
        out,
        "export const continuumKeys = {} as const;",
        object(&keys)
    );
    let contract = Contract::of(registry);
    let versions: Vec<String> = contract
        .events()
        .filter_map(|(name, versions)| {
            Some(format!("{}: {}", quote(name), versions.last()?.version))
        })
        .collect();
    out.push_str(
        "\n/** The contract of these declarations: pass it to `subscribe` (`contract`), which sends it to the server. */\n",
    );
    let _ = writeln!(
        out,
        "export const continuumContract = {{ fingerprint: {}, versions: {} }} as const;",
        quote(&contract.fingerprint()),
        object(&versions)
    );
    out
}

/// The wire name of the event's key field, when it is keyed.
fn key_of(event: &EventSchema) -> Option<&'static str> {
    event.key
}

/// `{ a, b }` on one line, `{}` when empty.
fn object(members: &[String]) -> String {
    if members.is_empty() {
        "{}".to_owned()
    } else {
        format!("{{ {} }}", members.join(", "))
    }
}

/// Declarations for `events`, in the order given: one `interface` per struct,
/// one union type per enum, `ContinuumEventMap` (event name → payload, `null`
/// for an event without data) and `ContinuumEvent`, the union of the
/// envelopes `{ type: "…"; data: … }` the SSE stream carries.
pub fn typescript<'a>(events: impl IntoIterator<Item = &'a EventSchema>) -> String {
    let mut w = Writer::default();
    let mut entries = Vec::new();
    for event in events {
        let data = match event.payload {
            Some(s) => w.struct_ref(s),
            None => "null".to_owned(),
        };
        entries.push((event, data));
    }
    let mut out = String::from("// Generated by continuum_runtime::typescript. Do not edit.\n");
    for text in w.decls.bodies() {
        out.push('\n');
        out.push_str(text);
    }
    out.push_str("\n/** Every event by name: the type `@continuum/client` is typed with. */\n");
    out.push_str("export interface ContinuumEventMap {\n");
    for (event, data) in &entries {
        out.push_str(&doc(event.docs, "  "));
        let _ = writeln!(out, "  {}: {data};", quote(event.name));
    }
    out.push_str("}\n");
    out.push_str("\n/** Every event envelope on the stream. */\nexport type ContinuumEvent =\n");
    if entries.is_empty() {
        out.push_str("  never");
    } else {
        let envelopes: Vec<String> = entries
            .iter()
            .map(|(event, data)| format!("  | {{ type: {}; data: {data} }}", quote(event.name)))
            .collect();
        out.push_str(&envelopes.join("\n"));
    }
    out.push_str(";\n");
    out
}

/// What [`sync_file`] does with a file that differs from the generated text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Write the new text (a developer regenerating).
    Write,
    /// Leave the file alone and report it stale (CI).
    Check,
}

impl Mode {
    /// [`Mode::Check`] when the environment variable `CI` is `true` or `1`
    /// (as CI services set it), else [`Mode::Write`].
    pub fn from_env() -> Mode {
        match std::env::var("CI") {
            Ok(v) if v == "true" || v == "1" => Mode::Check,
            _ => Mode::Write,
        }
    }
}

/// What [`sync_file`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Synced {
    /// The file already held the text; it was not touched.
    Unchanged,
    /// The file was missing or different and has been written.
    Written,
}

/// [`sync_file`] could not bring the file up to date.
#[derive(Debug)]
pub enum SyncError {
    /// In [`Mode::Check`], the file is missing or differs from the generated text.
    Stale {
        /// The file.
        path: PathBuf,
    },
    /// Reading or writing the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
}

impl fmt::Display for SyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SyncError::Stale { path } => write!(
                f,
                "`{}` is stale: it differs from the TypeScript generated from the Rust events; \
                 regenerate it (run the same check without CI=true) and commit it",
                path.display()
            ),
            SyncError::Io { path, source } => write!(f, "`{}`: {source}", path.display()),
        }
    }
}

impl std::error::Error for SyncError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            SyncError::Stale { .. } => None,
            SyncError::Io { source, .. } => Some(source),
        }
    }
}

/// Make the file at `path` hold `text`: untouched when it already does (so
/// watchers and build tools see no change), written otherwise in
/// [`Mode::Write`] (creating missing parent folders), and
/// [`SyncError::Stale`] in [`Mode::Check`].
///
/// ```
/// use continuum_runtime::typescript::{sync_file, Mode, Synced, SyncError};
///
/// let path = std::env::temp_dir().join(format!("continuum-sync-doc-{}.ts", std::process::id()));
/// assert_eq!(sync_file(&path, "export {};\n", Mode::Write).unwrap(), Synced::Written);
/// assert_eq!(sync_file(&path, "export {};\n", Mode::Check).unwrap(), Synced::Unchanged);
/// assert!(matches!(sync_file(&path, "// changed\n", Mode::Check), Err(SyncError::Stale { .. })));
/// # std::fs::remove_file(&path).unwrap();
/// ```
///
/// # Errors
///
/// [`SyncError::Stale`] in check mode when the file differs or is missing;
/// [`SyncError::Io`] when it cannot be read or written.
pub fn sync_file(path: impl AsRef<Path>, text: &str, mode: Mode) -> Result<Synced, SyncError> {
    let path = path.as_ref();
    let io = |source| SyncError::Io {
        path: path.to_owned(),
        source,
    };
    match std::fs::read(path) {
        Ok(current) if current == text.as_bytes() => return Ok(Synced::Unchanged),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(e)),
    }
    if mode == Mode::Check {
        return Err(SyncError::Stale {
            path: path.to_owned(),
        });
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, text).map_err(io)?;
    Ok(Synced::Written)
}

#[derive(Default)]
struct Writer {
    decls: Defs<String>,
}

impl Writer {
    fn struct_ref(&mut self, s: &'static StructSchema) -> String {
        let addr = addr(s);
        let name = match self.decls.reserve(addr, s.rust_name) {
            Ok(name) => name,
            Err(existing) => return existing,
        };
        let mut text = doc(s.docs, "");
        let _ = writeln!(text, "export interface {name} {{");
        for f in s.fields {
            text.push_str(&doc(f.docs, "  "));
            let optional = if f.required { "" } else { "?" };
            let ty = self.ty((f.ty)());
            let _ = writeln!(text, "  {}{optional}: {ty};", property(f.name));
        }
        text.push_str("}\n");
        self.decls.set(addr, text);
        name
    }

    /// An enum with data: a discriminated union, one member per variant.
    fn tagged_ref(&mut self, t: &'static TaggedSchema) -> String {
        let addr = addr(t);
        let name = match self.decls.reserve(addr, t.rust_name) {
            Ok(name) => name,
            Err(existing) => return existing,
        };
        let mut text = doc(t.docs, "");
        let _ = write!(text, "export type {name} =");
        if t.variants.is_empty() {
            text.push_str(" never");
        }
        for v in t.variants {
            let tag = quote(v.name);
            let member = match (t.repr, v.kind) {
                (EnumRepr::External, VariantKind::Unit) => tag,
                (EnumRepr::External, kind) => {
                    format!("{{ {}: {} }}", property(v.name), self.carried(kind))
                }
                (EnumRepr::Internal { tag: key }, VariantKind::Struct(s)) => {
                    let mut members = vec![format!("{}: {tag}", property(key))];
                    members.extend(self.members(s));
                    format!("{{ {} }}", members.join("; "))
                }
                // The value's fields beside the tag.
                (EnumRepr::Internal { tag: key }, VariantKind::Newtype { ty, .. }) => {
                    format!("{{ {}: {tag} }} & {}", property(key), self.ty(ty()))
                }
                (EnumRepr::Internal { tag: key }, _) => format!("{{ {}: {tag} }}", property(key)),
                (EnumRepr::Adjacent { tag: key, .. }, VariantKind::Unit) => {
                    format!("{{ {}: {tag} }}", property(key))
                }
                (EnumRepr::Adjacent { tag: key, content }, kind) => format!(
                    "{{ {}: {tag}; {}: {} }}",
                    property(key),
                    property(content),
                    self.carried(kind)
                ),
            };
            let _ = write!(text, "\n  | {member}");
        }
        text.push_str(";\n");
        self.decls.set(addr, text);
        name
    }

    /// What a newtype or struct variant carries, inline.
    fn carried(&mut self, kind: VariantKind) -> String {
        match kind {
            VariantKind::Unit => "null".into(),
            VariantKind::Newtype { ty, .. } => self.ty(ty()),
            VariantKind::Struct(s) => format!("{{ {} }}", self.members(s).join("; ")),
        }
    }

    /// `name?: type` for each field of `s`.
    fn members(&mut self, s: &StructSchema) -> Vec<String> {
        s.fields
            .iter()
            .map(|f| {
                let optional = if f.required { "" } else { "?" };
                format!("{}{optional}: {}", property(f.name), self.ty((f.ty)()))
            })
            .collect()
    }

    fn ty(&mut self, ty: TypeSchema) -> String {
        match ty {
            TypeSchema::Bool => "boolean".into(),
            TypeSchema::String => "string".into(),
            TypeSchema::Integer { .. } | TypeSchema::Float { .. } => "number".into(),
            TypeSchema::Any => "unknown".into(),
            TypeSchema::Null => "null".into(),
            TypeSchema::Option(inner) => format!("{} | null", self.ty(inner())),
            TypeSchema::Array(inner) | TypeSchema::Set(inner) => array(&self.ty(inner())),
            // A tuple type says how many; past 16 items that reads worse than `T[]`.
            TypeSchema::FixedArray { item, len } if len <= 16 => {
                let item = self.ty(item());
                format!("[{}]", vec![item; len].join(", "))
            }
            TypeSchema::FixedArray { item, .. } => array(&self.ty(item())),
            TypeSchema::Format(_) => "string".into(),
            TypeSchema::Tagged(t) => self.tagged_ref(t),
            TypeSchema::Map(inner) => format!("Record<string, {}>", self.ty(inner())),
            TypeSchema::Struct(s) => self.struct_ref(s),
            TypeSchema::Enum(e) => {
                let addr = addr(e);
                match self.decls.reserve(addr, e.rust_name) {
                    Ok(name) => {
                        let variants: Vec<String> = e.variants.iter().map(|v| quote(v)).collect();
                        let union = if variants.is_empty() {
                            "never".to_owned()
                        } else {
                            variants.join(" | ")
                        };
                        let text = format!("{}export type {name} = {union};\n", doc(e.docs, ""));
                        self.decls.set(addr, text);
                        name
                    }
                    Err(existing) => existing,
                }
            }
        }
    }
}

/// `T[]`, parenthesized when `T` is a union.
fn array(inner: &str) -> String {
    if inner.contains(' ') {
        format!("({inner})[]")
    } else {
        format!("{inner}[]")
    }
}

/// A JSON string literal is a valid TypeScript string literal.
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_default()
}

/// `name` as a property key: bare when it is an identifier, quoted otherwise.
fn property(name: &str) -> String {
    let ident = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if ident {
        name.to_owned()
    } else {
        quote(name)
    }
}

fn doc(docs: &str, indent: &str) -> String {
    if docs.is_empty() {
        return String::new();
    }
    let mut out = format!("{indent}/**\n");
    for line in docs.lines() {
        let _ = writeln!(out, "{indent} * {}", line.replace("*/", "*\\/"));
    }
    let _ = writeln!(out, "{indent} */");
    out
}
