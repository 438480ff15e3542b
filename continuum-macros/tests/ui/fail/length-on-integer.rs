use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(length(max = 3))]
    pub progress: u8,
}

fn main() {}
