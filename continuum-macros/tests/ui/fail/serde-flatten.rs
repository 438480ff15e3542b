use continuum_runtime::{continuum_event, Payload};

#[derive(Payload)]
pub struct Common {
    pub source: String,
}

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[serde(flatten)]
    pub common: Common,
}

fn main() {}
