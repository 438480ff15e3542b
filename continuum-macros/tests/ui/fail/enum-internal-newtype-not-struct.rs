use continuum_runtime::Payload;

#[derive(Payload)]
#[serde(tag = "kind")]
pub enum Stage {
    Queued,
    Failed(String),
}

fn main() {}
