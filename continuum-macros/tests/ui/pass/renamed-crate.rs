//! Generated code reaches the runtime only through `crate = …`: here the
//! runtime is known only as `renamed_continuum`, as after
//! `renamed_continuum = { package = "continuum-runtime", … }` in Cargo.toml.
extern crate continuum_runtime as renamed_continuum;

use renamed_continuum::{continuum_event, Event, Payload};

#[derive(Payload)]
#[event(crate = renamed_continuum)]
pub struct Inner {
    #[event(range(max = 3))]
    pub level: u8,
}

#[continuum_event("test.renamed", crate = renamed_continuum)]
pub struct Renamed {
    pub inner: Inner,
    #[event(pattern = "^a")]
    pub name: String,
}

fn main() {
    assert_eq!(Renamed::TYPE, "test.renamed");
    let ev = Renamed { inner: Inner { level: 4 }, name: "b".into() };
    assert_eq!(ev.validate().unwrap_err().issues().len(), 2);
}
