use continuum_runtime::prelude::*;

// One mistake, one error: the tuple variant is reported, and a field of the
// enum's type does not add "`Shape` cannot be part of an event payload".
#[derive(Payload)]
#[serde(tag = "kind")]
pub enum Shape {
    Pair(u8, u8),
}

#[continuum_event("ui.enum.used")]
pub struct Drawn {
    pub shape: Shape,
    pub shapes: Vec<Shape>,
}

fn main() {}
