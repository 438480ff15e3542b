use continuum_runtime::continuum_event;

#[continuum_event("continuum.reset")]
pub struct Reset;

fn main() {}
