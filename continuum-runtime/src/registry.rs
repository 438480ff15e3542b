//! The registry of every event type in the binary.
//!
//! ```
//! use continuum_runtime::prelude::*;
//! use continuum_runtime::Registry;
//!
//! #[continuum_event("docs.registry.ping")]
//! pub struct Ping;
//!
//! // Every `#[continuum_event]` linked into the binary, without listing them:
//! let registry = Registry::from_inventory().unwrap();
//! let ping = registry.get("docs.registry.ping").unwrap();
//! let event = (ping.decode)("null").unwrap();
//! assert_eq!(event.type_name(), "docs.registry.ping");
//!
//! // Or by hand, where link-time collection is unavailable:
//! let mut registry = Registry::new();
//! registry.register::<Ping>().unwrap();
//! assert!(registry.get("docs.registry.ping").is_some());
//! ```
//!
//! # Why `inventory`
//!
//! Each `#[continuum_event]` submits a [`Submitted`] entry with
//! [`inventory`](https://docs.rs/inventory), so events declared in any crate
//! of the final binary are found without a central list. `inventory` runs one
//! tiny life-before-main constructor per entry (placed in `.init_array` on
//! ELF, `__mod_init_func` on Mach-O, `.CRT$XCU` on Windows). It was chosen
//! over `linkme`'s linker-section slices because it needs no per-platform
//! linker support for a `static` slice of non-`Copy` data and has the widest
//! platform coverage (Linux, Android, the BSDs, illumos, macOS, iOS, Windows).
//!
//! Limits: on WebAssembly the constructors only run when the host (or the
//! module's linkage) calls `__wasm_call_ctors`, which some embedders do not;
//! on targets without constructor support, and when a linker drops an object
//! file that nothing else references (a static library whose events are never
//! named), entries can be missing. In those cases use
//! [`Registry::register`] for each event — the hub builder accepts both.

use std::any::Any;
use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::event::{DynEvent, Event, VisitVersion};
use crate::schema::EventSchema;
use crate::validate::{Checker, ValidationErrors};

/// Turns a payload's JSON text into a validated, type-erased event, or every issue.
pub type DecodeFn = fn(&str) -> Result<Arc<dyn DynEvent>, ValidationErrors>;

/// Turns the previous version's value into this version's (`None` when the
/// value is not of the previous version's type). See [`Registration::upcast`].
pub type UpcastFn = fn(Arc<dyn Any + Send + Sync>) -> Option<Arc<dyn DynEvent>>;

/// One event type known to the registry.
#[derive(Clone, Copy, Debug)]
pub struct Registration {
    /// The wire type name, e.g. `ai.task.progress`.
    pub type_name: &'static str,
    /// The Rust type's path, for error messages.
    pub rust_name: &'static str,
    /// Decode and validate a payload.
    pub decode: DecodeFn,
    /// The event's schema.
    pub schema: fn() -> &'static EventSchema,
    /// The declaration's version (`version = N`; 1 by default).
    pub version: u32,
    /// For version N ≥ 2, the upcast from version N − 1 (the declaration's
    /// `From` impl); for version 1, a function that upcasts nothing.
    pub upcast: UpcastFn,
    /// Registers version N − 1 and the versions before it (nothing for
    /// version 1), so a registry never holds a version without the ones
    /// before it.
    pub register_previous: fn(&mut Registry) -> Result<(), RegistryError>,
}

impl Registration {
    /// The registration of the event type `E`: what `#[continuum_event]`
    /// submits to the link-time inventory and [`Registry::register`] inserts.
    pub fn of<E: Event>() -> Registration {
        Registration {
            type_name: E::TYPE,
            rust_name: std::any::type_name::<E>(),
            decode: crate::decode::decode_dyn::<E>,
            schema: E::schema,
            version: E::VERSION,
            upcast: E::__upcast,
            register_previous: register_previous::<E>,
        }
    }
}

impl Registration {
    /// The key field's wire name of a keyed event (`None`: not keyed).
    pub fn key(&self) -> Option<&'static str> {
        (self.schema)().key
    }

    /// How long a key nobody updates is kept (`None`: no retention).
    pub fn ttl(&self) -> Option<std::time::Duration> {
        (self.schema)().ttl
    }
}

/// Register the version before `E`'s, and so on down the chain.
fn register_previous<E: Event>(registry: &mut Registry) -> Result<(), RegistryError> {
    struct Visit<'a>(&'a mut Registry, Result<(), RegistryError>);
    impl VisitVersion for Visit<'_> {
        fn visit<P: Event>(&mut self) {
            self.1 = self.0.register::<P>();
        }
    }
    let mut visit = Visit(registry, Ok(()));
    E::__previous(&mut visit);
    visit.1
}

/// The entry each `#[continuum_event]` submits to the link-time inventory.
///
/// A function rather than a [`Registration`] value because the Rust type's
/// name (`core::any::type_name`) is not available in a `static`.
#[derive(Clone, Copy, Debug)]
pub struct Submitted(pub fn() -> Registration);

inventory::collect!(Submitted);

/// Every registration submitted at link time, duplicates included, in no
/// particular order. [`Registry::from_inventory`] is this, checked.
pub fn linked() -> impl Iterator<Item = Registration> {
    inventory::iter::<Submitted>.into_iter().map(|s| (s.0)())
}

/// A registry could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistryError {
    /// Two Rust types declare the same event name (and the same version:
    /// the message names it when it is not 1).
    DuplicateType {
        /// The event name both declare.
        type_name: &'static str,
        /// The Rust type registered first.
        first: &'static str,
        /// The Rust type registered second.
        second: &'static str,
    },
}

impl fmt::Display for RegistryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RegistryError::DuplicateType { type_name, first, second } => write!(
                f,
                "event type `{type_name}` is declared by both `{first}` and `{second}`; rename one of them, \
                 or make one the next version (`version = N, upcast_from = …`)"
            ),
        }
    }
}

impl std::error::Error for RegistryError {}

/// Event types by name: for each, its newest version (what ingest publishes
/// and the typed API returns) and the versions before it.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    /// The newest version of each type.
    by_name: HashMap<&'static str, Registration>,
    /// The older versions of the types that have several, oldest first.
    /// Empty in the common case: one version per type costs nothing.
    older: HashMap<&'static str, Vec<Registration>>,
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Self {
        Registry::default()
    }

    /// Every event type linked into the binary (see the module docs for how,
    /// and where that does not work).
    ///
    /// # Errors
    ///
    /// [`RegistryError::DuplicateType`] when two different Rust types declare
    /// the same event name, naming both.
    pub fn from_inventory() -> Result<Self, RegistryError> {
        let mut registry = Registry::new();
        // Visit in a stable order so the error names the same pair every run.
        let mut regs: Vec<Registration> = linked().collect();
        regs.sort_by(|a, b| (a.type_name, a.rust_name).cmp(&(b.type_name, b.rust_name)));
        for reg in regs {
            registry.insert(reg)?;
        }
        Ok(registry)
    }

    /// Register `E`, and the versions before it when it names one
    /// (`upcast_from`). Registering the same type twice is allowed; a
    /// different type with the same name and version is an error.
    pub fn register<E: Event>(&mut self) -> Result<(), RegistryError> {
        self.insert(Registration::of::<E>())
    }

    /// Insert a registration, and the versions before it.
    pub fn insert(&mut self, reg: Registration) -> Result<(), RegistryError> {
        let duplicate = |existing: &Registration| RegistryError::DuplicateType {
            type_name: reg.type_name,
            first: existing.rust_name,
            second: reg.rust_name,
        };
        match self.by_name.get_mut(reg.type_name) {
            None => {
                self.by_name.insert(reg.type_name, reg);
            }
            Some(newest) if newest.version == reg.version => {
                if newest.rust_name != reg.rust_name {
                    return Err(duplicate(newest));
                }
                return Ok(());
            }
            Some(newest) => {
                // Keep the newer one in `by_name`, the other among the older.
                let old = if reg.version > newest.version {
                    std::mem::replace(newest, reg)
                } else {
                    reg
                };
                let older = self.older.entry(reg.type_name).or_default();
                match older.binary_search_by_key(&old.version, |r| r.version) {
                    Ok(i) if older[i].rust_name != old.rust_name => {
                        return Err(duplicate(&older[i]))
                    }
                    Ok(_) => return Ok(()),
                    Err(i) => older.insert(i, old),
                }
            }
        }
        (reg.register_previous)(self)
    }

    /// The newest version of an event type, by wire name.
    pub fn get(&self, type_name: &str) -> Option<&Registration> {
        self.by_name.get(type_name)
    }

    /// Every version of an event type, oldest first (empty for an unknown type).
    pub fn versions<'a>(
        &'a self,
        type_name: &str,
    ) -> impl DoubleEndedIterator<Item = &'a Registration> {
        let older = self.older.get(type_name).map_or(&[][..], Vec::as_slice);
        older.iter().chain(self.by_name.get(type_name))
    }

    /// One version of an event type.
    pub fn version(&self, type_name: &str, version: u32) -> Option<&Registration> {
        match self.by_name.get(type_name) {
            Some(newest) if newest.version == version => Some(newest),
            Some(_) => self
                .older
                .get(type_name)?
                .iter()
                .find(|r| r.version == version),
            None => None,
        }
    }

    /// Whether some event type has more than one version.
    pub fn has_versions(&self) -> bool {
        !self.older.is_empty()
    }

    /// Decode `payload` as version `version` of `type_name` (as the newest
    /// when `None`, then as each older version, newest first: the first that
    /// accepts it), then upcast it to the newest version.
    ///
    /// ```
    /// use continuum_runtime::prelude::*;
    /// use continuum_runtime::Registry;
    ///
    /// #[continuum_event("docs.decode.note")]
    /// pub struct NoteV1 { pub text: String }
    ///
    /// #[continuum_event("docs.decode.note", version = 2, upcast_from = NoteV1)]
    /// #[derive(Debug, PartialEq)]
    /// pub struct NoteV2 { pub text: String, pub lang: Option<String> }
    ///
    /// impl From<NoteV1> for NoteV2 {
    ///     fn from(v1: NoteV1) -> Self { NoteV2 { text: v1.text, lang: None } }
    /// }
    ///
    /// let mut registry = Registry::new();
    /// registry.register::<NoteV2>().unwrap();
    /// // An old worker's payload (version 1, no version given): recognised, upcast.
    /// let event = registry.decode("docs.decode.note", None, r#"{"text": "hi", "extra": 1}"#);
    /// assert!(event.is_err(), "neither version takes `extra`");
    /// let event = registry.decode("docs.decode.note", Some(1), r#"{"text": "hi"}"#).unwrap();
    /// let v2 = event.into_any().downcast::<NoteV2>().unwrap();
    /// assert_eq!(*v2, NoteV2 { text: "hi".into(), lang: None });
    /// ```
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnknownType`], [`DecodeError::UnknownVersion`], or
    /// [`DecodeError::Invalid`] with the issues of the version asked for
    /// (without a version: of the newest).
    pub fn decode(
        &self,
        type_name: &str,
        version: Option<u32>,
        payload: &str,
    ) -> Result<Arc<dyn DynEvent>, DecodeError> {
        let newest = self
            .by_name
            .get(type_name)
            .ok_or(DecodeError::UnknownType)?;
        match version {
            // The fast path: one version, or the newest asked for.
            None if !self.older.contains_key(type_name) => {
                (newest.decode)(payload).map_err(DecodeError::Invalid)
            }
            Some(v) if v == newest.version => {
                (newest.decode)(payload).map_err(DecodeError::Invalid)
            }
            Some(v) => {
                let reg = self
                    .version(type_name, v)
                    .ok_or(DecodeError::UnknownVersion {
                        newest: newest.version,
                    })?;
                let event = (reg.decode)(payload).map_err(DecodeError::Invalid)?;
                self.upcast(type_name, v, event)
            }
            None => {
                let issues = match (newest.decode)(payload) {
                    Ok(event) => return Ok(event),
                    Err(issues) => issues,
                };
                for reg in self.versions(type_name).rev().skip(1) {
                    if let Ok(event) = (reg.decode)(payload) {
                        return self.upcast(type_name, reg.version, event);
                    }
                }
                Err(DecodeError::Invalid(issues))
            }
        }
    }

    /// Upcast `event`, of version `from`, to the newest version of its
    /// type, and validate the result as the newest.
    ///
    /// # Errors
    ///
    /// [`DecodeError::UnknownVersion`] when the type has no version `from`,
    /// [`DecodeError::Upcast`] when an upcast did not take the value (it is
    /// not of version `from`'s type, or is shared), [`DecodeError::Invalid`]
    /// when the upcast value fails the newest version's validation.
    pub fn upcast(
        &self,
        type_name: &str,
        from: u32,
        mut event: Arc<dyn DynEvent>,
    ) -> Result<Arc<dyn DynEvent>, DecodeError> {
        let newest = self
            .by_name
            .get(type_name)
            .ok_or(DecodeError::UnknownType)?;
        if from > newest.version || self.version(type_name, from).is_none() {
            return Err(DecodeError::UnknownVersion {
                newest: newest.version,
            });
        }
        for reg in self.versions(type_name).filter(|r| r.version > from) {
            event =
                (reg.upcast)(event.into_any()).ok_or(DecodeError::Upcast { to: reg.version })?;
        }
        let mut cx = Checker::new();
        event.__check(&mut cx);
        cx.finish().map_err(DecodeError::Invalid)?;
        Ok(event)
    }

    /// The newest version of every event type, in no particular order
    /// ([`versions`](Self::versions) lists a type's older ones).
    pub fn iter(&self) -> impl Iterator<Item = &Registration> {
        self.by_name.values()
    }

    /// The keyed event types (`#[continuum_event("…", key = field)]`), in
    /// no particular order.
    pub fn keyed(&self) -> impl Iterator<Item = &Registration> {
        self.by_name.values().filter(|r| r.key().is_some())
    }

    /// How many event types are registered (each counted once, whatever
    /// its number of versions).
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no event type is registered.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// [`Registry::decode`] or [`Registry::upcast`] could not give the newest
/// version of an event.
#[derive(Clone, Debug, PartialEq)]
pub enum DecodeError {
    /// No event of that type is registered.
    UnknownType,
    /// The type has no such version.
    UnknownVersion {
        /// The newest version the registry knows.
        newest: u32,
    },
    /// The payload (or the upcast value) failed validation: every issue.
    Invalid(ValidationErrors),
    /// The upcast to version `to` did not take the value.
    Upcast {
        /// The version whose upcast failed.
        to: u32,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::UnknownType => f.write_str("unknown event type"),
            DecodeError::UnknownVersion { newest } => {
                write!(
                    f,
                    "unknown version (this build knows versions 1 to {newest})"
                )
            }
            DecodeError::Invalid(e) => e.fmt(f),
            DecodeError::Upcast { to } => write!(f, "the upcast to version {to} failed"),
        }
    }
}

impl std::error::Error for DecodeError {}
