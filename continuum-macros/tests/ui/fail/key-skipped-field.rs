use continuum_runtime::prelude::*;

#[continuum_event("ai.task.progress", key = task_id)]
pub struct Progress {
    #[serde(skip)]
    pub task_id: String,
    pub progress: u8,
}

fn main() {}
