use continuum_runtime::Payload;

pub struct Opaque;

#[derive(Payload)]
#[serde(tag = "kind")]
pub enum Stage {
    Queued,
    Failed { cause: Opaque },
}

fn main() {}
