use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
#[continuum_event("ai.task.advance")]
pub struct Progress {
    pub progress: u8,
}

fn main() {}
