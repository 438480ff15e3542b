use continuum_runtime::Payload;

#[derive(Payload)]
pub enum Stage {
    Queued,
    Resized(u32, u32),
}

fn main() {}
