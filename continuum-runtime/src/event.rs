//! The [`Event`] and [`Payload`] traits that `#[continuum_event]` and
//! `#[derive(Payload)]` implement.

use std::any::Any;
use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::schema::{EventSchema, TypeSchema};
use crate::validate::{Checker, ValidationErrors};

/// A type that can appear inside an event payload: it can check its own
/// constraints and describe its shape.
///
/// Implemented for `String`, `bool`, every integer and float type,
/// `Option<T>`, `Vec<T>`, `HashMap<String, T>`, `BTreeMap<String, T>` and
/// `serde_json::Value`; derive it for your own structs and unit-variant enums
/// with `#[derive(Payload)]`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be part of an event payload",
    label = "`{Self}` does not implement `Payload`",
    note = "add `#[derive(continuum_runtime::Payload)]` to `{Self}` (structs with named fields and unit-variant enums), or use a supported type: String, bool, integers, floats, Option, Vec, HashMap<String, _>, BTreeMap<String, _>, serde_json::Value"
)]
pub trait Payload {
    /// Check every constraint of `self` and of its nested values, recording
    /// each violation in `cx` at the current path.
    fn check(&self, cx: &mut Checker);

    /// Describe this type's wire shape.
    fn describe() -> TypeSchema;
}

/// A real-time event: a payload with a dotted type name such as
/// `ai.task.progress`. Implemented by `#[continuum_event("…")]`.
pub trait Event: Payload + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The event's type name on the wire, e.g. `ai.task.progress`.
    const TYPE: &'static str;

    /// The static description of the event: name, docs, fields, constraints.
    fn schema() -> &'static EventSchema;

    /// Check every constraint, collecting every issue (not only the first).
    fn validate(&self) -> Result<(), ValidationErrors> {
        let mut cx = Checker::new();
        self.check(&mut cx);
        cx.finish()
    }
}

/// A validated event whose Rust type has been erased, as produced by the
/// registry from ingested JSON and consumed by the hub.
pub trait DynEvent: Any + Send + Sync {
    /// The event's type name, e.g. `ai.task.progress`.
    fn type_name(&self) -> &'static str;
    /// Serialize the payload (the envelope's `data`) as JSON into `out`.
    fn write_data(&self, out: &mut Vec<u8>) -> serde_json::Result<()>;
    /// Upcast for typed in-process subscribers (`Arc::downcast`).
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync>;
}

impl<E: Event> DynEvent for E {
    fn type_name(&self) -> &'static str {
        E::TYPE
    }
    fn write_data(&self, out: &mut Vec<u8>) -> serde_json::Result<()> {
        serde_json::to_writer(out, self)
    }
    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}
