use continuum_runtime::continuum_event;

#[derive(Debug)]
pub struct Opaque;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub items: Vec<Opaque>,
}

fn main() {}
