use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(length(min = 10, max = 1))]
    pub task_id: String,
}

fn main() {}
