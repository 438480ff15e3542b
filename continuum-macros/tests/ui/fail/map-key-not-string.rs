use std::collections::HashMap;

use continuum_runtime::continuum_event;

/// JSON object keys are strings.
#[continuum_event("ai.task.progress")]
pub struct Progress {
    pub by_id: HashMap<u32, String>,
}

fn main() {}
