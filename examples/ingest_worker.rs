//! A backend worker (the original design's "Docker service") sending typed
//! events to a running Continuum server with the typed client
//! (`continuum_runtime::client`, feature `client`): the token, an
//! idempotency key per event and retries are the client's job, and a bad
//! payload comes back as typed issues.
//!
//! ```sh
//! cargo run --example ai_progress                     # terminal 1: the server
//! cargo run --example ingest_worker                   # terminal 2: this worker
//! ```
//! Environment: `CONTINUUM_URL` (default `http://127.0.0.1:3000/api/events`),
//! `CONTINUUM_EVENT_INGEST_TOKEN` (sent as `x-continuum-event-key` when set).

use std::time::Duration;

use continuum::demo::{AiTaskProgress, Stage};
use continuum_runtime::client::{Client, Envelope};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CONTINUUM_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:3000/api/events".into());
    let mut client = Client::new(&url);
    if let Ok(token) = std::env::var("CONTINUUM_EVENT_INGEST_TOKEN") {
        client = client.token(token);
    }

    let task_id = format!("worker-{}", std::process::id());
    println!("worker: sending {task_id} to {url}");
    let steps = [(Stage::Queued, 0), (Stage::Prompting, 5)]
        .into_iter()
        .chain((1..=10).map(|i| (Stage::Generating, i * 10)))
        .chain([(Stage::Done, 100)]);
    for (stage, progress) in steps {
        let event = AiTaskProgress {
            task_id: task_id.clone(),
            stage,
            progress,
        };
        // Validated here first (the worker shares the event's Rust type with
        // the server, so the shape cannot drift), then sent; a restarting
        // server or a 503 is retried with the same idempotency key, so the
        // event is published once.
        let id = client.publish(&event).await?;
        println!("  {stage:?} {progress:>3}% -> {id}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // What a bad payload gets: 422 with every issue, in wire names. (A typed
    // event this wrong would not compile or would fail validation before
    // leaving the worker; an untyped envelope shows the server's answer.)
    let bad = Envelope::untyped(
        "ai.task.progress",
        json!({ "taskId": "", "stage": "thinking", "progress": 250, "eta": 3 }),
    );
    match client.publish(bad).await {
        Err(e) if e.is_invalid() => {
            println!(
                "\na bad payload gets {}:",
                e.status().map_or(0, |s| s.as_u16())
            );
            for issue in e.issues() {
                println!("  {issue}");
            }
        }
        other => return Err(format!("expected a 422, got {other:?}").into()),
    }
    Ok(())
}
