//! Continuum inside an existing axum app: the app's own routes beside the
//! events endpoint, subscribers authorized from a session cookie, and an event
//! emitted to one user's channel.
//!
//! ```sh
//! cargo run --example axum_embed
//! # sign in as user 42 (sets the `session` cookie), then subscribe:
//! curl -c jar -s http://127.0.0.1:3001/login/42
//! curl -b jar -N http://127.0.0.1:3001/api/events
//! # in another terminal: a private event for user 42 only, and a public one
//! curl -s -X POST http://127.0.0.1:3001/notify/42 -d 'your export is ready'
//! curl -s -X POST http://127.0.0.1:3001/announce -d 'maintenance at 18:00'
//! ```
//! A subscriber without the cookie gets `401`; user 7 never sees user 42's events.

use axum::extract::{Path, State};
use axum::http::{header, request::Parts, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::Router;
use continuum_runtime::hub::{Grant, Reject};
use continuum_runtime::prelude::*;

/// A notification meant for one user.
#[continuum_event("user.notification")]
pub struct UserNotification {
    /// What to tell the user.
    #[event(length(min = 1, max = 500))]
    pub text: String,
}

/// An announcement for everyone.
#[continuum_event("site.announcement")]
pub struct Announcement {
    /// The announcement.
    #[event(length(min = 1, max = 500))]
    pub text: String,
}

/// The user id from the `session` cookie. A real app verifies a signed
/// session here; the demo trusts the cookie's value.
fn session_user(parts: &Parts) -> Option<u64> {
    let cookies = parts.headers.get(header::COOKIE)?.to_str().ok()?;
    cookies
        .split(';')
        .filter_map(|c| c.trim().split_once('='))
        .find(|(name, _)| *name == "session")
        .and_then(|(_, value)| value.parse().ok())
}

/// Subscribers see public events plus their own user's channel.
fn authorize(parts: &Parts) -> Result<Grant, Reject> {
    match session_user(parts) {
        Some(user) => Ok(Grant::public().with_channel(format!("user:{user}"))),
        None => Err(Reject::unauthorized("sign in first: GET /login/{user}")),
    }
}

async fn login(Path(user): Path<u64>) -> impl IntoResponse {
    (
        [(
            header::SET_COOKIE,
            format!("session={user}; Path=/; HttpOnly; SameSite=Lax"),
        )],
        format!("signed in as user {user}\n"),
    )
}

async fn notify(State(hub): State<Hub>, Path(user): Path<u64>, text: String) -> impl IntoResponse {
    match (UserNotification { text })
        .emit_to(&format!("user:{user}"), &hub)
        .await
    {
        Ok(id) => (StatusCode::ACCEPTED, format!("sent {id} to user {user}\n")),
        Err(err) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{err}\n")),
    }
}

async fn announce(State(hub): State<Hub>, text: String) -> impl IntoResponse {
    match (Announcement { text }).emit(&hub).await {
        Ok(id) => (StatusCode::ACCEPTED, format!("announced {id}\n")),
        Err(err) => (StatusCode::UNPROCESSABLE_ENTITY, format!("{err}\n")),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .init();

    let hub = Hub::builder().authorize(authorize).build()?;
    let events = hub.service();
    let app = Router::new()
        .route(
            "/",
            get(|| async { "an existing app; its events are at /api/events\n" }),
        )
        .route("/login/{user}", get(login))
        .route("/notify/{user}", post(notify))
        .route("/announce", post(announce))
        // GET (subscribe), POST (ingest) and OPTIONS (CORS preflight) on one path.
        .route_service("/api/events", events.clone())
        .with_state(hub);

    let addr = std::env::var("CONTINUUM_ADDR").unwrap_or_else(|_| "127.0.0.1:3001".into());
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    println!(
        "axum app with Continuum at http://{}/ (events at /api/events)",
        listener.local_addr()?
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            let _ = tokio::signal::ctrl_c().await;
            // SSE streams never end on their own: end them so axum's graceful
            // shutdown can finish (clients reconnect and replay later).
            events.shutdown_streams();
        })
        .await?;
    Ok(())
}
