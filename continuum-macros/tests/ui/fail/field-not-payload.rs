use continuum_runtime::continuum_event;
use serde::{Deserialize, Serialize};

/// Serializable, but not a `Payload`: no schema, no validation.
#[derive(Serialize, Deserialize)]
pub struct Meta {
    pub source: String,
}

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub meta: Meta,
}

fn main() {}
