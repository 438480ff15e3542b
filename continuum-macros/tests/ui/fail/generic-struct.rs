use continuum_runtime::continuum_event;

#[continuum_event("ai.task.result")]
pub struct TaskResult<T> {
    pub value: T,
}

fn main() {}
