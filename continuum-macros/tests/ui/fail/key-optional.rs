use continuum_runtime::prelude::*;

#[continuum_event("ai.task.progress", key = task_id)]
pub struct Progress {
    pub task_id: Option<String>,
    pub progress: u8,
}

fn main() {}
