use continuum_runtime::prelude::*;

#[derive(Payload)]
pub struct Owner {
    pub name: String,
}

#[continuum_event("ai.task.progress", key = owner)]
pub struct Progress {
    pub owner: Owner,
    pub progress: u8,
}

fn main() {}
