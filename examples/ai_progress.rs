//! The demo: a standalone Continuum server with a live page.
//!
//! ```sh
//! cargo run --example ai_progress        # then open http://127.0.0.1:3000
//! cargo run --example ai_progress -- --typescript > web/continuum-events.ts
//! cargo run --example ai_progress -- --contract > continuum.contract.json
//! ```
//!
//! `--typescript` prints the TypeScript module for every event in the binary
//! (`ContinuumEventMap` and one interface per payload, for
//! `@continuum/client`) and exits; `--contract` prints the contract of every
//! event in the binary (`Contract::of(…).to_json()`, the file a project
//! commits to catch breaking changes) and exits.
//!
//! Environment: `CONTINUUM_ADDR` (default `127.0.0.1:3000`),
//! `CONTINUUM_EVENT_INGEST_TOKEN` (unset: ingest is open),
//! `CONTINUUM_DEMO_SIMULATE=0` (no simulated tasks: only what you POST),
//! `CONTINUUM_REDIS_URL` (e.g. `redis://127.0.0.1:6379`: several demo
//! processes share one stream of events; `CONTINUUM_REDIS_STREAM` names it),
//! `OTEL_EXPORTER_OTLP_ENDPOINT` (e.g. `http://127.0.0.1:4318`: spans
//! exported over OTLP/HTTP, `OTEL_EXPORTER_OTLP_PROTOCOL` `http/protobuf` or
//! `http/json`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES`).
//! The event itself, `AiTaskProgress`, is declared in `src/demo.rs`.

use continuum::demo::{DemoOptions, DemoServer};
use continuum_runtime::HubBuilder;
use tracing_subscriber::filter::LevelFilter;
use tracing_subscriber::prelude::*;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if std::env::args().skip(1).any(|a| a == "--typescript") {
        // Every event linked into this binary, as a user generates it from theirs.
        let hub = continuum_runtime::Hub::builder().build()?;
        print!("{}", continuum_runtime::typescript::module(hub.registry()));
        return Ok(());
    }
    if std::env::args().skip(1).any(|a| a == "--contract") {
        let hub = continuum_runtime::Hub::builder().build()?;
        print!(
            "{}",
            continuum_runtime::contract::Contract::of(hub.registry()).to_json()
        );
        return Ok(());
    }
    // Logs as RUST_LOG says (default info); spans exported over OTLP when
    // OTEL_EXPORTER_OTLP_ENDPOINT is set (its own filter: info and above,
    // whatever RUST_LOG is).
    let otel = continuum_runtime::otel::init()?;
    tracing_subscriber::registry()
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .with_filter(
                    tracing_subscriber::EnvFilter::try_from_default_env()
                        .unwrap_or_else(|_| "info".into()),
                ),
        )
        .with(otel.layer().with_filter(LevelFilter::INFO))
        .init();

    // CONTINUUM_EVENT_INGEST_TOKEN, CONTINUUM_HEARTBEAT_SECS, CONTINUUM_ALLOWED_ORIGINS,
    // CONTINUUM_REDIS_URL, CONTINUUM_REDIS_STREAM.
    let builder = HubBuilder::from_env()?;
    let options = DemoOptions::from_env();
    let addr = std::env::var("CONTINUUM_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;
    let server = DemoServer::start(listener, builder, options.clone()).await?;
    let token_required = server.hub().config().ingest_token().is_some();

    println!("Continuum demo: open http://{local}/");
    println!("  events stream: GET  http://{local}/api/events");
    println!("  event schemas: GET  http://{local}/api/events/schema");
    if token_required {
        println!("  ingest:        POST http://{local}/api/events  (token required in x-continuum-event-key)");
    } else {
        println!("  ingest:        POST http://{local}/api/events  (open: no CONTINUUM_EVENT_INGEST_TOKEN set)");
    }
    match std::env::var("CONTINUUM_REDIS_URL") {
        Ok(url) if !url.trim().is_empty() => {
            println!("  backplane:     redis at {url}: every node on that stream sees every event")
        }
        _ => println!(
            "  backplane:     in-memory (set CONTINUUM_REDIS_URL to share events between nodes)"
        ),
    }
    if otel.is_enabled() {
        println!("  traces:        exported over OTLP (OTEL_EXPORTER_OTLP_ENDPOINT)");
    }
    println!(
        "  simulated tasks: {}",
        if options.simulate {
            "on (CONTINUUM_DEMO_SIMULATE=0 turns them off)"
        } else {
            "off"
        }
    );
    let key = if token_required {
        "-H \"x-continuum-event-key: $CONTINUUM_EVENT_INGEST_TOKEN\" "
    } else {
        ""
    };
    println!("  try: curl -i -X POST http://{local}/api/events -H 'content-type: application/json' {key}\\");
    println!("         -d '{{\"type\":\"ai.task.progress\",\"data\":{{\"taskId\":\"from-curl\",\"stage\":\"generating\",\"progress\":42}}}}'");

    shutdown_signal().await;
    println!("shutting down: streams end cleanly, browsers reconnect when the server is back");
    server.stop().await;
    // Export the spans still buffered.
    otel.shutdown()?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install a SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
