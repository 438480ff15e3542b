use continuum_runtime::Payload;

/// Constraints on variant fields are checked like struct fields.
#[derive(Payload)]
#[serde(tag = "kind")]
pub enum Stage {
    Queued,
    Failed {
        #[event(range(min = 1))]
        reason: String,
    },
}

fn main() {}
