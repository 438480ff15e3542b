use continuum_runtime::prelude::*;

#[continuum_event("ai.task.progress", ttl = "1h")]
pub struct Progress {
    pub task_id: String,
}

fn main() {}
