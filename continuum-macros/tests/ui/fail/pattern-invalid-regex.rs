use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(pattern = "^(gen-[0-9]+$")]
    pub task_id: String,
}

fn main() {}
