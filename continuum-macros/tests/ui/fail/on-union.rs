use continuum_runtime::continuum_event;

#[continuum_event("ai.task.bits")]
pub union Bits {
    pub int: u32,
    pub float: f32,
}

fn main() {}
