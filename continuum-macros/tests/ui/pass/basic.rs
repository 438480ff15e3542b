use continuum_runtime::prelude::*;

/// Progress of one AI generation task.
#[continuum_event("ai.task.progress")]
#[derive(Debug, Clone)]
pub struct AiTaskProgress {
    /// The task's id.
    #[event(length(min = 1, max = 128), pattern = "^gen-[0-9]+$")]
    pub task_id: String,
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
    #[event(range(exclusive_min = 0.0, max = 1.0))]
    pub ratio: f64,
    #[event(range(min = -10, exclusive_max = 10))]
    pub delta: Option<i32>,
}

fn main() {
    assert_eq!(AiTaskProgress::TYPE, "ai.task.progress");
    let ok = AiTaskProgress { task_id: "gen-1".into(), progress: 100, ratio: 1.0, delta: Some(-10) };
    assert!(ok.validate().is_ok());
    let bad = AiTaskProgress { task_id: "x".into(), progress: 101, ratio: 0.0, delta: Some(10) };
    let issues = bad.validate().unwrap_err();
    let paths: Vec<&str> = issues.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["taskId", "progress", "ratio", "delta"]);
    let schema = AiTaskProgress::schema();
    assert_eq!(schema.docs, "Progress of one AI generation task.");
    assert_eq!(schema.payload.unwrap().fields[0].docs, "The task's id.");
    let json = serde_json::to_string(&ok).unwrap();
    assert_eq!(json, r#"{"taskId":"gen-1","progress":100,"ratio":1.0,"delta":-10}"#);
    // The typed helpers exist with the hub's exact signatures (not called here).
    let _: fn(AiTaskProgress, &Hub) -> continuum_runtime::Emit<continuum_runtime::EventId> =
        AiTaskProgress::emit;
    let _: fn(AiTaskProgress, &str, &Hub) -> continuum_runtime::Emit<continuum_runtime::EventId> =
        AiTaskProgress::emit_to;
}
