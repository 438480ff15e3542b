//! A backend worker (the original design's "Docker service") sending typed
//! events to a running Continuum server over `POST /api/events`, with the
//! ingest token, and showing the error a bad payload gets.
//!
//! ```sh
//! cargo run --example ai_progress                     # terminal 1: the server
//! cargo run --example ingest_worker                   # terminal 2: this worker
//! ```
//! Environment: `CONTINUUM_URL` (default `http://127.0.0.1:3000/api/events`),
//! `CONTINUUM_EVENT_INGEST_TOKEN` (sent as `x-continuum-event-key` when set).

use std::time::Duration;

use continuum::demo::{AiTaskProgress, Stage};
use continuum_runtime::Event;
use serde_json::json;

/// POST one envelope built from a typed event; the worker shares the event's
/// Rust type with the server, so the shape cannot drift.
async fn send(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: serde_json::Value,
) -> Result<(u16, String), reqwest::Error> {
    let mut request = client
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string());
    if let Some(token) = token {
        request = request.header("x-continuum-event-key", token);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    Ok((status, response.text().await?))
}

fn envelope(event: &AiTaskProgress) -> serde_json::Value {
    json!({ "type": "ai.task.progress", "data": event })
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url = std::env::var("CONTINUUM_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:3000/api/events".into());
    let token = std::env::var("CONTINUUM_EVENT_INGEST_TOKEN").ok();
    let client = reqwest::Client::new();

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
        // Check locally first: the server would refuse it anyway, but a worker
        // that validates before sending finds its bugs without a round trip.
        event.validate()?;
        let (status, body) = send(&client, &url, token.as_deref(), envelope(&event)).await?;
        println!("  {stage:?} {progress:>3}% -> {status} {body}");
        if status != 202 {
            return Err(format!("the server refused a valid event: {status} {body}").into());
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }

    // What a bad payload gets: 422 with every issue, in wire names.
    let bad = json!({ "type": "ai.task.progress", "data": { "taskId": "", "stage": "thinking", "progress": 250, "eta": 3 } });
    let (status, body) = send(&client, &url, token.as_deref(), bad).await?;
    println!("\na bad payload gets {status}:\n{body}");
    Ok(())
}
