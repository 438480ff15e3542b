use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(each(range(max = 100)))]
    pub progress: Option<u8>,
}

fn main() {}
