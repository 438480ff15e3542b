use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(range(minimum = 0, max = 100))]
    pub value: u8,
}

fn main() {}
