//! Keyed events and helpers shared by the keyed-state tests (one node and
//! over Redis): what a subscriber's view of the state is, built from the
//! frames it read.
#![allow(dead_code)]

use std::collections::BTreeMap;

use continuum_runtime::prelude::*;
use eventsource_stream::Event as SseEvent;
use serde_json::Value;

/// Progress of a task: the latest per task is the task's state.
#[continuum_event("jobs.task.progress", key = task_id, ttl = "1h")]
#[derive(Debug, Clone, PartialEq)]
pub struct TaskProgress {
    /// The task.
    pub task_id: String,
    /// Percent.
    pub percent: u32,
}

/// A log line: not keyed.
#[continuum_event("jobs.task.log")]
#[derive(Debug, Clone, PartialEq)]
pub struct TaskLog {
    /// The line.
    pub line: String,
}

/// Load of a worker, keyed by an integer, kept without a ttl.
#[continuum_event("jobs.worker.load", key = worker)]
#[derive(Debug, Clone, PartialEq)]
pub struct WorkerLoad {
    /// The worker.
    pub worker: u32,
    /// Its load.
    pub load: u32,
}

pub fn task(id: &str, percent: u32) -> TaskProgress {
    TaskProgress {
        task_id: id.into(),
        percent,
    }
}

/// The key of an event frame of a keyed type in these tests.
pub fn key_of(e: &SseEvent) -> String {
    let v: Value = serde_json::from_str(&e.data).expect("data is JSON");
    let d = &v["data"];
    match e.event.as_str() {
        "jobs.task.progress" => d["taskId"].as_str().expect("taskId").to_owned(),
        "jobs.worker.load" => d["worker"].as_u64().expect("worker").to_string(),
        other => panic!("not a keyed type: {other}"),
    }
}

/// (type, key) → (id, data) of the newest event per key among `events`
/// (in the order read): a client's state map.
pub fn state_of<'a>(
    events: impl IntoIterator<Item = &'a SseEvent>,
) -> BTreeMap<(String, String), (String, Value)> {
    let mut state = BTreeMap::new();
    for e in events {
        if e.event.starts_with("continuum.") || e.event == "jobs.task.log" {
            continue;
        }
        let v: Value = serde_json::from_str(&e.data).expect("data is JSON");
        state.insert(
            (e.event.clone(), key_of(e)),
            (e.id.clone(), v["data"].clone()),
        );
    }
    state
}

/// The same map from a `GET …/state` document.
pub fn state_of_json(doc: &Value) -> BTreeMap<(String, String), (String, Value)> {
    let mut state = BTreeMap::new();
    for e in doc["events"].as_array().expect("events") {
        let t = e["type"].as_str().expect("type").to_owned();
        let d = &e["data"];
        let key = match t.as_str() {
            "jobs.task.progress" => d["taskId"].as_str().expect("taskId").to_owned(),
            _ => d["worker"].as_u64().expect("worker").to_string(),
        };
        state.insert(
            (t, key),
            (e["id"].as_str().expect("id").to_owned(), d.clone()),
        );
    }
    state
}
