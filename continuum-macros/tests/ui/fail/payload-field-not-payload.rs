use continuum_runtime::{continuum_event, Payload};

pub struct Opaque;

/// The mistake is here, once; the event that uses `Inner` is fine.
#[derive(Payload)]
pub struct Inner {
    pub opaque: Opaque,
}

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub inner: Inner,
    pub more: Vec<Inner>,
}

fn main() {}
