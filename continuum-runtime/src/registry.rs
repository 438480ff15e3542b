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

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use crate::event::{DynEvent, Event};
use crate::schema::EventSchema;
use crate::validate::ValidationErrors;

/// Turns a payload's JSON text into a validated, type-erased event, or every issue.
pub type DecodeFn = fn(&str) -> Result<Arc<dyn DynEvent>, ValidationErrors>;

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
    /// Two Rust types declare the same event name.
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
                "event type `{type_name}` is declared by both `{first}` and `{second}`; rename one of them"
            ),
        }
    }
}

impl std::error::Error for RegistryError {}

/// Event types by name.
#[derive(Clone, Debug, Default)]
pub struct Registry {
    by_name: HashMap<&'static str, Registration>,
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

    /// Register `E`. Registering the same type twice is allowed; a different
    /// type with the same name is an error.
    pub fn register<E: Event>(&mut self) -> Result<(), RegistryError> {
        self.insert(Registration::of::<E>())
    }

    /// Insert a registration.
    pub fn insert(&mut self, reg: Registration) -> Result<(), RegistryError> {
        match self.by_name.get(reg.type_name) {
            Some(existing) if existing.rust_name != reg.rust_name => {
                Err(RegistryError::DuplicateType {
                    type_name: reg.type_name,
                    first: existing.rust_name,
                    second: reg.rust_name,
                })
            }
            Some(_) => Ok(()),
            None => {
                self.by_name.insert(reg.type_name, reg);
                Ok(())
            }
        }
    }

    /// Look up an event type by wire name.
    pub fn get(&self, type_name: &str) -> Option<&Registration> {
        self.by_name.get(type_name)
    }

    /// Every registration, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = &Registration> {
        self.by_name.values()
    }

    /// The keyed event types (`#[continuum_event("…", key = field)]`), in
    /// no particular order.
    pub fn keyed(&self) -> impl Iterator<Item = &Registration> {
        self.by_name.values().filter(|r| r.key().is_some())
    }

    /// How many event types are registered.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// Whether no event type is registered.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}
