use std::collections::HashSet;

use continuum_runtime::continuum_event;

#[continuum_event("ai.task.tagged")]
pub struct Tagged {
    #[event(range(max = 3))]
    pub tags: HashSet<String>,
}

fn main() {}
