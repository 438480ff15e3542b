//! The registry of every event type in the binary.

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

    /// Register `E`. Registering the same type twice is allowed; a different
    /// type with the same name is an error.
    pub fn register<E: Event>(&mut self) -> Result<(), RegistryError> {
        self.insert(crate::__private::registration::<E>())
    }

    /// Insert a registration.
    pub fn insert(&mut self, reg: Registration) -> Result<(), RegistryError> {
        match self.by_name.get(reg.type_name) {
            Some(existing) if existing.rust_name != reg.rust_name => Err(RegistryError::DuplicateType {
                type_name: reg.type_name,
                first: existing.rust_name,
                second: reg.rust_name,
            }),
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
}
