use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct ProgressV1 {
    pub percent: u8,
}

// Version 3 names version 1: version 2 is missing.
#[continuum_event("ai.task.progress", version = 3, upcast_from = ProgressV1)]
pub struct ProgressV3 {
    pub fraction: f32,
}

impl From<ProgressV1> for ProgressV3 {
    fn from(v1: ProgressV1) -> Self {
        ProgressV3 { fraction: f32::from(v1.percent) / 100.0 }
    }
}

fn main() {}
