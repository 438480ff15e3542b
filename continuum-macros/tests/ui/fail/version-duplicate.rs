use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct ProgressV1 {
    pub percent: u8,
}

#[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
pub struct ProgressV2 {
    pub fraction: f32,
}

// A second version 2 after the same version 1.
#[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
pub struct ProgressAlsoV2 {
    pub ratio: f64,
}

impl From<ProgressV1> for ProgressV2 {
    fn from(v1: ProgressV1) -> Self {
        ProgressV2 { fraction: f32::from(v1.percent) / 100.0 }
    }
}

impl From<ProgressV1> for ProgressAlsoV2 {
    fn from(v1: ProgressV1) -> Self {
        ProgressAlsoV2 { ratio: f64::from(v1.percent) / 100.0 }
    }
}

fn main() {}
