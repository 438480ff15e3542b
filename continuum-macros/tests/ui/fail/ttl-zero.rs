use continuum_runtime::prelude::*;

#[continuum_event("ai.task.progress", key = task_id, ttl = "0s")]
pub struct Progress {
    pub task_id: String,
}

fn main() {}
