use continuum_runtime::continuum_event;

#[continuum_event]
pub struct Progress {
    pub value: u8,
}

#[continuum_event(crate = continuum_runtime)]
pub struct Other {
    pub value: u8,
}

fn main() {}
