use continuum_runtime::prelude::*;

// One mistake, one error: the bound that is not a number is reported, and
// the constraint is not then also said to need a bound.
#[continuum_event("ui.range.bound")]
pub struct Bounded {
    #[event(range(min = "a"))]
    pub n: u8,
}

fn main() {}
