use std::collections::HashMap;

use continuum_runtime::continuum_event;

pub struct Opaque;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub by_owner: HashMap<String, Opaque>,
}

fn main() {}
