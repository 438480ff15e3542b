use continuum_runtime::continuum_event;

// Every mistake below is reported in one build.
#[continuum_event("AI.Task", strct = true)]
pub struct Progress {
    #[event(range(min = 0, max = 100))]
    pub task_id: String,
    #[event(lenght(max = 3))]
    pub stage: String,
    #[event(pattern = "[")]
    pub note: String,
}

fn main() {}
