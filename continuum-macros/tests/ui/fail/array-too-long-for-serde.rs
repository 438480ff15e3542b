use continuum_runtime::continuum_event;

/// serde reads and writes arrays of up to 32 items.
#[continuum_event("audio.frame.ready")]
pub struct Frame {
    pub samples: [u8; 64],
}

fn main() {}
