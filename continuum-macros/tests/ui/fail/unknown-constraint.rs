use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress")]
pub struct Progress {
    #[event(rang(min = 0, max = 100))]
    pub value: u8,
    #[event(regex = "^[a-z]+$")]
    pub name: String,
}

fn main() {}
