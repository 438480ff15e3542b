//! The demo behind `cargo run --example ai_progress`: a standalone Continuum
//! server with a live page at `/` showing simulated AI generation tasks.
//!
//! Kept in the library (not only in the example) so the real-browser test
//! starts exactly the server a user runs, restarts it on the same port, and
//! watches the page reconnect.

use std::time::Duration;

use continuum_runtime::prelude::*;
use continuum_runtime::{BuildError, HubBuilder};

/// Where an AI generation task is.
#[derive(Payload, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for a worker.
    Queued,
    /// Building the prompt.
    Prompting,
    /// The model is generating.
    Generating,
    /// Finished; `progress` is 100.
    Done,
    /// Gave up.
    Failed,
}

/// Progress of one AI generation task.
// Keyed by its task: the server keeps the latest of each (for 5 minutes
// after its last change), so a page that opens mid-task shows it at once.
#[continuum_event("ai.task.progress", key = task_id, ttl = "5m")]
#[derive(Debug, Clone, PartialEq)]
pub struct AiTaskProgress {
    /// The task's id, e.g. `gen-123`.
    #[event(length(min = 1, max = 128))]
    pub task_id: String,
    /// Where the task is.
    pub stage: Stage,
    /// Percent done, 0 to 100.
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
}

/// The demo page, with `CONFIG` filled in for this hub and the page's
/// script inlined: `clients/typescript/demo/page.ts`, which uses
/// `@continuum/client`, bundled by `npm run bundle:demo` into
/// `src/demo/page.js` (committed; a test fails when it is stale). `node`
/// names the server that serves it (shown on the page, for several nodes
/// over Redis).
pub fn page(hub: &Hub, node: &str) -> String {
    let config = serde_json::json!({
        "path": hub.config().path(),
        "tokenRequired": hub.config().ingest_token().is_some(),
        "node": node,
    });
    // `</script` cannot appear in the bundle (esbuild escapes it in strings).
    include_str!("demo/index.html")
        .replacen(
            r#"/*CONTINUUM_CONFIG*/{ "path": "/api/events", "tokenRequired": false }"#,
            &config.to_string(),
            1,
        )
        .replacen("/*CONTINUUM_PAGE_SCRIPT*/", PAGE_SCRIPT, 1)
}

/// The bundled page script (see [`page`]).
pub const PAGE_SCRIPT: &str = include_str!("demo/page.js");

/// The demo's events as a TypeScript module (what
/// `cargo run --example ai_progress -- --typescript` prints), committed at
/// `clients/typescript/demo/continuum-events.ts`.
pub fn typescript() -> String {
    let mut registry = continuum_runtime::Registry::new();
    registry
        .register::<AiTaskProgress>()
        .expect("one type per event name");
    continuum_runtime::typescript::module(&registry)
}

/// The demo's contract (what `cargo run --example ai_progress -- --contract`
/// prints), committed at the repository root as `continuum.contract.json`:
/// the file a project keeps to catch breaking changes (README, "Changing
/// events safely").
pub fn contract() -> String {
    continuum_runtime::contract::Contract::of(&registry()).to_json()
}

/// The demo's events.
pub fn registry() -> continuum_runtime::Registry {
    let mut registry = continuum_runtime::Registry::new();
    registry
        .register::<AiTaskProgress>()
        .expect("one type per event name");
    registry
}

/// Run simulated tasks forever: `tasks` at a time, each going
/// queued → prompting → generating (0–100 %) → done (or, now and then, failed).
pub async fn simulate(hub: Hub, tasks: usize) {
    let mut handles = Vec::new();
    for lane in 0..tasks {
        let hub = hub.clone();
        handles.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            loop {
                n += 1;
                let id = format!("gen-{}{:03}", lane + 1, n % 1000);
                run_task(&hub, &id, lane as u64 * 7 + n).await;
                tokio::time::sleep(Duration::from_millis(1500)).await;
            }
        }));
    }
    for handle in handles {
        let _ = handle.await;
    }
}

async fn run_task(hub: &Hub, task_id: &str, seed: u64) {
    let emit = |stage: Stage, progress: u8| async move {
        let event = AiTaskProgress {
            task_id: task_id.to_owned(),
            stage,
            progress,
        };
        if let Err(err) = event.emit(hub).await {
            tracing::warn!(%err, "demo: could not emit");
        }
    };
    // A small deterministic "random" so lanes do not move in step.
    let step = 3 + (seed % 5) as u8;
    let tick = Duration::from_millis(150 + (seed % 4) * 60);
    emit(Stage::Queued, 0).await;
    tokio::time::sleep(tick * 4).await;
    emit(Stage::Prompting, 0).await;
    tokio::time::sleep(tick * 4).await;
    let fails_at = if seed % 9 == 4 { Some(60) } else { None };
    let mut progress = 0u8;
    while progress < 100 {
        progress = progress.saturating_add(step).min(100);
        if fails_at.is_some_and(|at| progress >= at) {
            emit(Stage::Failed, progress).await;
            return;
        }
        emit(Stage::Generating, progress).await;
        tokio::time::sleep(tick).await;
    }
    emit(Stage::Done, 100).await;
}

/// How the demo's simulator runs.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Run simulated tasks (`CONTINUUM_DEMO_SIMULATE=0` turns them off).
    pub simulate: bool,
    /// How many simulated tasks run at a time.
    pub tasks: usize,
}

impl Default for DemoOptions {
    fn default() -> Self {
        DemoOptions {
            simulate: true,
            tasks: 4,
        }
    }
}

impl DemoOptions {
    /// Options from the environment: `CONTINUUM_DEMO_SIMULATE` (`0`, `false`,
    /// `no` or `off` turns the simulator off).
    pub fn from_env() -> Self {
        let simulate = std::env::var("CONTINUUM_DEMO_SIMULATE")
            .map(|v| !matches!(v.trim(), "0" | "false" | "no" | "off"))
            .unwrap_or(true);
        DemoOptions {
            simulate,
            ..DemoOptions::default()
        }
    }
}

/// `127.0.0.1:3000 (redis)`: the address, and whether events are shared.
fn node_name(listener: &tokio::net::TcpListener, hub: &Hub) -> String {
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let backplane = if hub.metrics().backplane.is_some() {
        "shared over Redis"
    } else {
        "in-memory"
    };
    format!("{addr} ({backplane})")
}

/// A running demo server; [`stop`](Self::stop) shuts it down gracefully.
#[derive(Debug)]
pub struct DemoServer {
    hub: Hub,
    stop: tokio::sync::oneshot::Sender<()>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    simulator: Option<tokio::task::JoinHandle<()>>,
}

impl DemoServer {
    /// Serve the demo on `listener`: the page at `/`, events at the hub's
    /// path (`/api/events` unless `builder` says otherwise).
    ///
    /// # Errors
    /// The hub cannot be built (two Rust types declaring one event name).
    pub async fn start(
        listener: tokio::net::TcpListener,
        builder: HubBuilder,
        options: DemoOptions,
    ) -> Result<DemoServer, BuildError> {
        let hub = builder.register::<AiTaskProgress>().build()?;
        let node = node_name(&listener, &hub);
        let service = hub
            .service()
            .with_schema_route()
            .with_page("/", page(&hub, &node));
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let server = tokio::spawn(continuum_runtime::serve_with_shutdown(
            listener,
            service,
            async move {
                let _ = stopped.await;
            },
        ));
        let simulator = options
            .simulate
            .then(|| tokio::spawn(simulate(hub.clone(), options.tasks)));
        Ok(DemoServer {
            hub,
            stop,
            server,
            simulator,
        })
    }

    /// The hub behind the server, to emit events in-process.
    pub fn hub(&self) -> &Hub {
        &self.hub
    }

    /// Stop the simulator, end every stream cleanly and wait for the server to finish.
    pub async fn stop(self) {
        if let Some(simulator) = self.simulator {
            simulator.abort();
        }
        let _ = self.stop.send(());
        match self.server.await {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(%err, "demo server ended with an error"),
            Err(err) => tracing::warn!(%err, "demo server task failed"),
        }
    }
}
