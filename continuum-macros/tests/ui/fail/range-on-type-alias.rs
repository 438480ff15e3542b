use continuum_runtime::continuum_event;

/// The syntax cannot tell this is a string; the trait bound can.
pub type TaskId = String;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(range(min = 1, max = 10))]
    pub task_id: TaskId,
}

fn main() {}
