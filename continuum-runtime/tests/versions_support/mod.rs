//! Two builds of one event, for the version tests: the old build declares
//! `ai.task.progress` version 1 only (a percentage); the new build keeps it
//! and adds version 2 (a fraction, the field renamed: a breaking change,
//! made as a version with an upcast). Each build is a registry, so two
//! builds' hubs run in one test process.
#![allow(dead_code)]

use continuum_runtime::contract::Contract;
use continuum_runtime::prelude::*;
use continuum_runtime::Registry;

/// Version 1: what old workers send and the old build stored.
#[continuum_event("ai.task.progress")]
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressV1 {
    /// The task.
    #[event(length(min = 1))]
    pub task_id: String,
    /// Percent done.
    #[event(range(max = 100))]
    pub percent: u8,
}

/// Version 2: a fraction instead of a percentage.
#[continuum_event("ai.task.progress", version = 2, upcast_from = ProgressV1)]
#[derive(Debug, Clone, PartialEq)]
pub struct ProgressV2 {
    /// The task.
    #[event(length(min = 1))]
    pub task_id: String,
    /// Done, from 0 to 1.
    #[event(range(min = 0.0, max = 1.0))]
    pub fraction: f64,
}

impl From<ProgressV1> for ProgressV2 {
    fn from(v1: ProgressV1) -> Self {
        ProgressV2 {
            task_id: v1.task_id,
            fraction: f64::from(v1.percent) / 100.0,
        }
    }
}

/// Another event, the same in both builds: a marker that shows what a
/// stream sent before it.
#[continuum_event("app.marker")]
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Which one.
    pub n: u32,
}

/// The old build's events.
pub fn old_build() -> Registry {
    let mut r = Registry::new();
    r.register::<ProgressV1>().unwrap();
    r.register::<Marker>().unwrap();
    r
}

/// The new build's events (version 1 comes with version 2's `upcast_from`).
pub fn new_build() -> Registry {
    let mut r = Registry::new();
    r.register::<ProgressV2>().unwrap();
    r.register::<Marker>().unwrap();
    r
}

/// A build's contract fingerprint, as its clients send it.
pub fn fingerprint(registry: &Registry) -> String {
    Contract::of(registry).fingerprint()
}

/// `{"type": "ai.task.progress", "data": {"taskId": …, "percent": …}}`: an
/// old worker's POST, without a version.
pub fn v1_body(task: &str, percent: u8) -> String {
    format!(r#"{{"type":"ai.task.progress","data":{{"taskId":"{task}","percent":{percent}}}}}"#)
}

/// A marker's envelope.
pub fn marker_body(n: u32) -> String {
    format!(r#"{{"type":"app.marker","data":{{"n":{n}}}}}"#)
}
