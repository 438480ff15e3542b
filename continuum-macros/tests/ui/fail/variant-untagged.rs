use continuum_runtime::Payload;

#[derive(Payload)]
pub enum Stage {
    Queued,
    #[serde(untagged)]
    Other(String),
}

fn main() {}
