use continuum_runtime::continuum_event;

#[continuum_event("ai.task.progress", deny_unknown_feilds = false)]
pub struct Progress {
    pub value: u8,
}

#[continuum_event("ai.task.done", strict = true)]
pub struct Done;

fn main() {}
