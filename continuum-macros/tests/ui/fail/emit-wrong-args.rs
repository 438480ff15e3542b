use continuum_runtime::{continuum_event, Hub};

#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub progress: u8,
}

// The typed helper takes the hub by reference and publishes to `Hub::emit`.
fn publish(hub: Hub) {
    let _ = Progress { progress: 1 }.emit(hub);
}

fn main() {}
