use continuum_runtime::continuum_event;

#[continuum_event("ai.task.tags")]
pub struct Tags {
    #[event(pattern = "^[a-z]+$")]
    pub tags: Vec<String>,
}

fn main() {}
