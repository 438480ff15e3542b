use continuum_runtime::continuum_event;

#[continuum_event("media.thumbnail.ready")]
pub struct Thumbnail {
    pub width: u32,
}

// `upcast_from` names a version of another event.
#[continuum_event("ai.task.progress", version = 2, upcast_from = Thumbnail)]
pub struct ProgressV2 {
    pub fraction: f32,
}

impl From<Thumbnail> for ProgressV2 {
    fn from(_: Thumbnail) -> Self {
        ProgressV2 { fraction: 0.0 }
    }
}

fn main() {}
