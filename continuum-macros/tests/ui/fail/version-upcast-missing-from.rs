use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct ProgressV1 {
    pub percent: u8,
}

// No `impl From<ProgressV1> for ProgressV2`.
#[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
pub struct ProgressV2 {
    pub fraction: f32,
}

fn main() {}
