//! The demo: a standalone Continuum server with a live page.
//!
//! ```sh
//! cargo run --example ai_progress        # then open http://127.0.0.1:3000
//! ```
//!
//! Environment: `CONTINUUM_ADDR` (default `127.0.0.1:3000`),
//! `CONTINUUM_EVENT_INGEST_TOKEN` (unset: ingest is open),
//! `CONTINUUM_DEMO_SIMULATE=0` (no simulated tasks: only what you POST).
//! The event itself, `AiTaskProgress`, is declared in `src/demo.rs`.

use continuum::demo::{DemoOptions, DemoServer};

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let addr = std::env::var("CONTINUUM_ADDR").unwrap_or_else(|_| "127.0.0.1:3000".into());
    let options = DemoOptions::from_env();
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    let local = listener.local_addr()?;

    println!("Continuum demo: open http://{local}/");
    println!("  events stream: GET  http://{local}/api/events");
    match &options.ingest_token {
        Some(_) => println!("  ingest:        POST http://{local}/api/events  (token required in x-continuum-event-key)"),
        None => println!("  ingest:        POST http://{local}/api/events  (open: no CONTINUUM_EVENT_INGEST_TOKEN set)"),
    }
    println!(
        "  simulated tasks: {}",
        if options.simulate {
            "on (CONTINUUM_DEMO_SIMULATE=0 turns them off)"
        } else {
            "off"
        }
    );
    println!(
        "  try: curl -i -X POST http://{local}/api/events -H 'content-type: application/json' \\"
    );
    println!("         -d '{{\"type\":\"ai.task.progress\",\"data\":{{\"taskId\":\"from-curl\",\"stage\":\"generating\",\"progress\":42}}}}'");

    let server = DemoServer::start(listener, options).await;
    shutdown_signal().await;
    println!("shutting down: streams end cleanly, browsers reconnect when the server is back");
    server.stop().await;
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
