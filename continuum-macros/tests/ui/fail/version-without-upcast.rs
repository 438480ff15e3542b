use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress", version = 2)]
pub struct ProgressV2 {
    pub fraction: f32,
}

fn main() {}
