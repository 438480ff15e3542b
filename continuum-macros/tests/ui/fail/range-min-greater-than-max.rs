use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(range(min = 100, max = 0))]
    pub progress: u8,
    #[event(range(exclusive_min = 1.5, exclusive_max = 1.5))]
    pub ratio: f64,
}

fn main() {}
