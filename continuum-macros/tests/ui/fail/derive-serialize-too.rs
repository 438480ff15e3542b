use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
#[derive(Debug, serde::Serialize)]
pub struct Progress {
    pub progress: u8,
}

fn main() {}
