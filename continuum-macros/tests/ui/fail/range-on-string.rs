use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(range(min = 1, max = 10))]
    pub task_id: String,
}

fn main() {}
