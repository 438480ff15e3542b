use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
#[serde(tag = "type")]
pub struct Progress {
    pub progress: u8,
}

fn main() {}
