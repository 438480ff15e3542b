use continuum_runtime::Payload;

#[derive(Payload)]
#[serde(rename_all_fields = "camelcase")]
pub enum Stage {
    Queued,
    Failed { failure_reason: String },
}

fn main() {}
