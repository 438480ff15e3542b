//! Three versions of one event: the chain compiles, the registry holds every
//! version (reached from the newest alone), and an old payload is upcast.
#![deny(warnings)]

use continuum_runtime::prelude::*;
use continuum_runtime::Registry;

#[continuum_event("ai.task.progress")]
pub struct ProgressV1 {
    pub percent: u8,
}

#[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
pub struct ProgressV2 {
    pub fraction: f32,
}

#[continuum_event("ai.task.progress", version = 3, upcast_from = ProgressV2)]
#[derive(Debug, PartialEq)]
pub struct ProgressV3 {
    pub fraction: f32,
    pub note: Option<String>,
}

impl From<ProgressV1> for ProgressV2 {
    fn from(v1: ProgressV1) -> Self {
        ProgressV2 { fraction: f32::from(v1.percent) / 100.0 }
    }
}

impl From<ProgressV2> for ProgressV3 {
    fn from(v2: ProgressV2) -> Self {
        ProgressV3 { fraction: v2.fraction, note: None }
    }
}

fn main() {
    assert_eq!((ProgressV1::VERSION, ProgressV2::VERSION, ProgressV3::VERSION), (1, 2, 3));
    let mut registry = Registry::new();
    registry.register::<ProgressV3>().unwrap();
    let versions: Vec<u32> = registry.versions("ai.task.progress").map(|r| r.version).collect();
    assert_eq!(versions, [1, 2, 3]);
    let event = registry.decode("ai.task.progress", None, r#"{"percent": 50}"#).unwrap();
    let v3 = event.into_any().downcast::<ProgressV3>().unwrap();
    assert_eq!(*v3, ProgressV3 { fraction: 0.5, note: None });
}
