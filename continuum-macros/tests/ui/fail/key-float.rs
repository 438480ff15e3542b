use continuum_runtime::prelude::*;

#[continuum_event("sensor.reading.taken", key = value)]
pub struct Reading {
    pub value: f64,
}

fn main() {}
