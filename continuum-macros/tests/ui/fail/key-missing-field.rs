use continuum_runtime::prelude::*;

#[continuum_event("ai.task.progress", key = taks_id)]
pub struct Progress {
    pub task_id: String,
    pub progress: u8,
}

fn main() {}
