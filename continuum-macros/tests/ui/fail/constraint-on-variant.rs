use continuum_runtime::Payload;

#[derive(Payload)]
pub enum Stage {
    Queued,
    #[event(length(min = 1))]
    Failed { reason: String },
}

fn main() {}
