use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(range(min = 0))]
    #[event(range(max = 100))]
    pub progress: u8,
}

fn main() {}
