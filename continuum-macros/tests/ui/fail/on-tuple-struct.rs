use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress(pub String, pub u8);

fn main() {}
