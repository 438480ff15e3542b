use continuum_runtime::continuum_event;

#[continuum_event("ai..progress")]
pub struct Progress {
    pub value: u8,
}

fn main() {}
