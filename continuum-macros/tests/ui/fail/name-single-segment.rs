use continuum_runtime::continuum_event;

#[continuum_event("progress")]
pub struct Progress {
    pub value: u8,
}

fn main() {}
