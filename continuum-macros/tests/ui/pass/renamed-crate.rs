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

#[derive(Payload)]
#[event(crate = renamed_continuum)]
#[serde(tag = "kind")]
pub enum Step {
    Idle,
    Failed {
        #[event(length(min = 1))]
        reason: String,
        inner: Option<Inner>,
    },
}

#[continuum_event("test.renamed", crate = renamed_continuum)]
pub struct Renamed {
    pub inner: Inner,
    pub step: Step,
    pub steps: std::collections::BTreeSet<u8>,
    #[event(pattern = "^a")]
    pub name: String,
}

fn main() {
    assert_eq!(Renamed::TYPE, "test.renamed");
    let ev = Renamed {
        inner: Inner { level: 4 },
        step: Step::Failed { reason: String::new(), inner: None },
        steps: Default::default(),
        name: "b".into(),
    };
    assert_eq!(ev.validate().unwrap_err().issues().len(), 3);
    let _ = Step::Idle;
}
