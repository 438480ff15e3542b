//! The hub: ids, replay, fan-out, typed emit and subscribe.

/// Placeholder: built by the runtime issue.
#[derive(Debug)]
pub struct Hub {}

/// Placeholder: built by the runtime issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventId(pub String);

/// Placeholder: built by the runtime issue.
#[derive(Debug)]
pub enum EmitError {
    /// The event failed validation.
    Invalid(crate::ValidationErrors),
}

impl Hub {
    /// Validate, then publish.
    pub fn emit<E: crate::Event>(&self, event: E) -> Result<EventId, EmitError> {
        let _ = event;
        todo!()
    }
    /// Validate, then publish to subscribers granted `channel`.
    pub fn emit_to<E: crate::Event>(&self, channel: &str, event: E) -> Result<EventId, EmitError> {
        let _ = (channel, event);
        todo!()
    }
}
