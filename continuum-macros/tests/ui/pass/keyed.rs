//! Every kind of key: a string, integers, a unit enum (by its wire name),
//! a raw identifier and a renamed field; `ttl` in each unit.
#![deny(warnings)]

use std::time::Duration;

use continuum_runtime::prelude::*;

#[derive(Payload, Clone, Copy)]
pub enum Region {
    EuWest,
    UsEast,
}

#[continuum_event("ai.task.progress", key = task_id, ttl = "1h")]
pub struct Progress {
    pub task_id: String,
    pub progress: u8,
}

#[continuum_event("shop.order.total", key = order, ttl = "7d")]
pub struct OrderTotal {
    pub order: u64,
    pub cents: i64,
}

#[continuum_event("ops.region.health", key = region, ttl = "90s")]
pub struct RegionHealth {
    pub region: Region,
    pub ok: bool,
}

#[continuum_event("ops.job.state", key = r#type)]
pub struct JobState {
    pub r#type: i32,
}

#[continuum_event("ops.job.renamed", key = "job_id", ttl = "15m")]
pub struct Renamed {
    #[serde(rename = "JOB")]
    pub job_id: String,
}

fn main() {
    let p = Progress { task_id: "gen-1".into(), progress: 1 };
    assert_eq!(p.key().as_deref(), Some("gen-1"));
    assert_eq!(Progress::schema().key, Some("taskId"));
    assert_eq!(Progress::schema().ttl, Some(Duration::from_secs(3600)));
    assert_eq!(OrderTotal { order: 42, cents: -1 }.key().as_deref(), Some("42"));
    assert_eq!(OrderTotal::schema().ttl, Some(Duration::from_secs(7 * 86_400)));
    let h = RegionHealth { region: Region::UsEast, ok: true };
    assert_eq!(h.key().as_deref(), Some("usEast"));
    assert_eq!(RegionHealth::schema().ttl, Some(Duration::from_secs(90)));
    assert_eq!(JobState { r#type: -3 }.key().as_deref(), Some("-3"));
    assert_eq!(JobState::schema().key, Some("type"));
    assert_eq!(JobState::schema().ttl, None);
    assert_eq!(Renamed::schema().key, Some("JOB"));
    assert_eq!(Renamed::schema().ttl, Some(Duration::from_secs(900)));
    let r: &dyn continuum_runtime::DynEvent = &p;
    assert_eq!(r.dyn_key().as_deref(), Some("gen-1"));
    let schema = continuum_runtime::json_schema::json_schema(Progress::schema());
    assert_eq!(schema["x-continuum-key"], "taskId");
    assert_eq!(schema["x-continuum-ttl-secs"], 3600);
}
