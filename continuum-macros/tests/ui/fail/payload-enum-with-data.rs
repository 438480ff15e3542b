use continuum_runtime::Payload;

#[derive(Payload)]
pub enum Stage {
    Queued,
    Running { percent: u8 },
    Failed(String),
}

fn main() {}
