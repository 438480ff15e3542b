//! Two hubs in one process over one Redis, as two app-server replicas would
//! be: an event emitted on node A reaches a subscriber of node B, with the
//! same id, and that id replays on either node.
//!
//! ```sh
//! redis-server --port 6379 --save '' &                    # any Redis ≥ 7
//! CONTINUUM_REDIS_URL=redis://127.0.0.1:6379 cargo run --example two_nodes
//! ```

use std::time::Duration;

use continuum::demo::{AiTaskProgress, Stage};
use continuum_runtime::hub::SseOptions;
use continuum_runtime::Hub;
use futures_util::StreamExt;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let url =
        std::env::var("CONTINUUM_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
    let stream = format!("continuum:two-nodes:{}", std::process::id());
    let node = || Hub::builder().redis(&url).redis_stream(&stream).build();
    let (a, b) = (node()?, node()?);
    for (name, hub) in [("A", &a), ("B", &b)] {
        tokio::time::timeout(Duration::from_secs(5), hub.backplane_ready())
            .await
            .map_err(|_| {
                format!("node {name}: no Redis at {url} (start one, or set CONTINUUM_REDIS_URL)")
            })?;
    }
    println!(
        "nodes A and B share stream `{stream}` at {url}, epoch {}",
        a.epoch()
    );

    // A browser on node B (the SSE body GET /api/events would serve).
    let mut on_b = b.subscribe_sse(SseOptions::new());
    let hello = on_b.next().await.ok_or("stream ended")?;
    print!("B -> browser:\n{}", String::from_utf8_lossy(&hello));

    let event = AiTaskProgress {
        task_id: "gen-1".into(),
        stage: Stage::Generating,
        progress: 40,
    };
    let id = event.emit(&a).await?;
    println!("A: emitted ai.task.progress, Redis acknowledged id {id}");
    let frame = tokio::time::timeout(Duration::from_secs(5), on_b.next())
        .await?
        .ok_or("stream ended")?;
    print!("B -> browser:\n{}", String::from_utf8_lossy(&frame));
    assert!(String::from_utf8_lossy(&frame).contains(&format!("id: {id}")));
    println!("the event crossed from A to B with the same id");
    Ok(())
}
