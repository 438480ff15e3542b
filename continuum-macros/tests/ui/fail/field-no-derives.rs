use continuum_runtime::continuum_event;

/// No derives at all: one error, about `Payload`, not one per serde trait.
pub struct Opaque;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub inner: Opaque,
}

fn main() {}
