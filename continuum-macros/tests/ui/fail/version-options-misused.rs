use continuum_runtime::continuum_event;

pub struct Old;

// Three mistakes at once: version 0, `upcast_from` on version 1, a misspelt option.
#[continuum_event("ai.task.progress", version = 0)]
pub struct Zero {
    pub n: u8,
}

#[continuum_event("ai.task.step", upcast_from = Old, versoin = 2)]
pub struct First {
    pub n: u8,
}

fn main() {}
