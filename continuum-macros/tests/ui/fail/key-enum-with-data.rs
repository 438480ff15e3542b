use continuum_runtime::prelude::*;

#[derive(Payload)]
pub enum Target {
    Task { id: String },
    All,
}

#[continuum_event("ai.task.cancelled", key = target)]
pub struct Cancelled {
    pub target: Target,
}

fn main() {}
