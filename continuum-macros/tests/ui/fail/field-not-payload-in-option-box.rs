use continuum_runtime::continuum_event;
use serde::{Deserialize, Serialize};

/// serde's traits but not `Payload`, two containers deep.
#[derive(Serialize, Deserialize)]
pub struct Meta {
    pub source: String,
}

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub meta: Option<Box<Meta>>,
}

fn main() {}
