use continuum_runtime::Payload;

#[derive(Payload)]
#[serde(tag = "kind", content = "kind")]
pub enum Stage {
    Queued,
    Progress(u8),
}

fn main() {}
