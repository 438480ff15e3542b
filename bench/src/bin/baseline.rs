//! The baseline: what a team writes today instead of Continuum — an axum `Sse`
//! endpoint fed by a `tokio::sync::broadcast`, each subscriber serializing every
//! event itself. Typical code, nothing clever; it answers the same contract as
//! Continuum's `/api/events` for the benchmark's event type.
//!
//! ```text
//! baseline [ADDR]          # or BASELINE_ADDR; default 127.0.0.1:3001
//! BASELINE_CAPACITY=65536  # broadcast buffer, in events
//! ```
//!
//! The broadcast buffer is sized so that no scenario makes a subscriber lag (a
//! lagging subscriber silently skips events, which would make the baseline's
//! figures incomparable); the typical 1024 would lose events at max rate.

use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tokio::sync::broadcast;
use tokio_stream::wrappers::BroadcastStream;
use tokio_stream::{Stream, StreamExt};

/// The payload of `bench.tick`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BenchTick {
    seq: u64,
    sent_ns: u64,
}

/// The ingest envelope, which is also what subscribers receive as `data`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Envelope {
    #[serde(rename = "type")]
    ty: String,
    data: BenchTick,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum Ingest {
    One(Envelope),
    Many(Vec<Envelope>),
}

#[derive(Debug, Clone)]
struct Published {
    id: String,
    envelope: Envelope,
}

#[derive(Clone)]
struct AppState {
    tx: broadcast::Sender<Published>,
    next_id: Arc<AtomicU64>,
    next_conn: Arc<AtomicU64>,
}

const MAX_SEQ: u64 = 1_000_000_000_000;

async fn subscribe(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.tx.subscribe();
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let connected = Event::default()
        .event("continuum.connected")
        .data(json!({ "connectionId": conn.to_string() }).to_string());
    let events = BroadcastStream::new(rx).filter_map(|msg| {
        // A lagged receiver skips what it missed, as typical code does.
        let published = msg.ok()?;
        let json = serde_json::to_string(&published.envelope).ok()?;
        Some(Ok(Event::default()
            .event(&published.envelope.ty)
            .id(published.id)
            .data(json)))
    });
    Sse::new(tokio_stream::once(Ok(connected)).chain(events)).keep_alive(KeepAlive::default())
}

async fn ingest(State(state): State<AppState>, Json(body): Json<Ingest>) -> Response {
    let (envelopes, single) = match body {
        Ingest::One(e) => (vec![e], true),
        Ingest::Many(v) => (v, false),
    };
    for (i, e) in envelopes.iter().enumerate() {
        if e.ty != "bench.tick" {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": "unknown event type", "index": i })),
            )
                .into_response();
        }
        if e.data.seq > MAX_SEQ {
            return (
                StatusCode::UNPROCESSABLE_ENTITY,
                Json(json!({ "error": "data.seq out of range", "index": i })),
            )
                .into_response();
        }
    }
    if envelopes.is_empty() {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            Json(json!({ "error": "empty batch" })),
        )
            .into_response();
    }
    let mut ids = Vec::with_capacity(envelopes.len());
    for envelope in envelopes {
        let id = state.next_id.fetch_add(1, Ordering::Relaxed).to_string();
        ids.push(id.clone());
        // No subscribers is not an error.
        let _ = state.tx.send(Published { id, envelope });
    }
    let body = if single {
        json!({ "id": ids[0] })
    } else {
        json!({ "ids": ids })
    };
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .or_else(|| std::env::var("BASELINE_ADDR").ok())
        .unwrap_or_else(|| "127.0.0.1:3001".to_owned());
    let capacity = std::env::var("BASELINE_CAPACITY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(65_536);
    let (tx, _) = broadcast::channel(capacity);
    let state = AppState {
        tx,
        next_id: Arc::new(AtomicU64::new(1)),
        next_conn: Arc::new(AtomicU64::new(1)),
    };
    let app = Router::new()
        .route("/api/events", get(subscribe).post(ingest))
        .with_state(state);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    eprintln!("baseline listening on {}", listener.local_addr()?);
    axum::serve(listener, app).await
}
