use continuum_runtime::continuum_event;

#[continuum_event("ai.task.stage")]
pub enum Stage {
    Queued,
    Done,
}

fn main() {}
