//! The typed Rust client (feature `client`): publish events to a Continuum
//! server's `POST /api/events` and subscribe to its `GET /api/events` from
//! another Rust service, with the same `#[continuum_event]` types the server
//! declares.
//!
//! ```
//! use continuum_runtime::prelude::*;
//! use continuum_runtime::client::{Client, Item};
//!
//! #[continuum_event("ai.task.progress")]
//! #[derive(Debug)]
//! pub struct AiTaskProgress {
//!     #[event(length(min = 1, max = 128))]
//!     pub task_id: String,
//!     #[event(range(min = 0, max = 100))]
//!     pub progress: u8,
//! }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # let hub = Hub::builder().ingest_token("secret").build()?;
//! # let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! # let url = format!("http://{}/api/events", listener.local_addr()?);
//! # tokio::spawn(continuum_runtime::Server::new(hub).run(listener, std::future::pending::<()>()));
//! let client = Client::new(&url).token("secret");     // e.g. http://127.0.0.1:3000/api/events
//!
//! // Publish: validated here, sent with an idempotency key, retried on
//! // connection errors and `503`; resolves to the id the server assigned.
//! let first = client.publish(&AiTaskProgress { task_id: "gen-1".into(), progress: 10 }).await?;
//!
//! // Subscribe: typed events, reconnecting with `Last-Event-ID`; a reset
//! // (the server could not prove nothing was missed) is an item, not a gap.
//! // `last_event_id` resumes after an id; without it the stream starts live.
//! let mut events = client.subscribe::<AiTaskProgress>().last_event_id(first.to_string());
//! let second = client.publish(&AiTaskProgress { task_id: "gen-1".into(), progress: 20 }).await?;
//! while let Some(item) = events.next().await {       // also a `futures_core::Stream`
//!     match item? {
//!         Item::Event { id, event } => {
//!             assert_eq!((id, event.progress), (second, 20));
//!             break;
//!         }
//!         Item::Reset(reason) => println!("missed events ({reason:?}): refetch state"),
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! # Publishing
//!
//! [`Client::publish`] and [`Client::publish_batch`] return a [`Publish`]
//! (await it, or set [`idempotency_key`](Publish::idempotency_key) first).
//! Each call has one `Idempotency-Key` — generated, unless set — sent with
//! every attempt, so the server publishes the event at most once however
//! many attempts it takes. Attempts are retried after connection errors,
//! timeouts and `502`/`503`/`504` answers, with exponential backoff and
//! jitter, waiting the server's `retry-after` when it sends one (capped at
//! the backoff's maximum). Failures are a [`ClientError`] with `is_*`
//! predicates; a `422` carries its typed [`Issue`](crate::validate::Issue)s.
//!
//! # Subscribing
//!
//! [`Client::subscribe`] yields `Result<Item<E>, ClientError>`: every event
//! of type `E`, decoded, with its id, and an
//! [`Item::Reset`] wherever the server could not prove the stream has no
//! gap (after a restart with a new epoch, an evicted id, a subscriber that
//! fell behind). When the connection drops the subscription reconnects after
//! the server's `retry:` (with backoff while the server is unreachable) and
//! sends the last id it saw as `Last-Event-ID`, so the server replays what
//! was missed. An `Err` item is an event that could not be decoded (the
//! stream goes on) or a refusal of the server (`401`, `400`; the stream then
//! ends). [`Client::subscribe_types`] is the untyped form, for several types
//! at once.
//!
//! Subscribers are tolerant readers, so a newer server never breaks an
//! older subscriber: received events are read with
//! [`read_event`](crate::decode::read_event) (fields this build lacks are
//! ignored, value constraints are not re-checked: the server validated
//! them), control events this version does not know are ignored, a reset
//! reason it does not know is [`ResetReason::Other`], and events of a type
//! the subscription does not read are skipped and counted
//! ([`Subscription::skipped`]). Every subscription sends this build's
//! contract (`contract=<fingerprint>`, and `versions=` for events at
//! version 2 or later; see [`Client::contract`]); a server on another
//! contract answers with [`ResetReason::Contract`] instead of events this
//! build cannot read.
//!
//! # Keyed state
//!
//! [`Client::subscribe_state`] keeps the latest event per key of a keyed
//! event (`key = …` on its declaration), from a snapshot on connect, live
//! and conflated events, and a new snapshot after every reset: see
//! [`StateSubscription`].
//!
//! Plain `http://` only (HTTP/1.1, or HTTP/2 with
//! [`http2_prior_knowledge`](Client::http2_prior_knowledge)): the client is
//! for service-to-service traffic; terminate TLS in front of it.

mod answer;
mod conn;
mod connection;
mod contract;
mod error;
mod item;
mod publish;
mod reset;
mod retry;
mod sse;
mod state;
mod subscribe;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::Uri;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

pub use self::connection::ConnectionEvent;
pub use self::error::ClientError;
pub use self::item::Item;
pub use self::publish::{Envelope, Publish, PublishFuture};
pub use self::reset::ResetReason;
pub use self::state::{StateSubscription, StateUpdate};
pub use self::subscribe::{RawEvent, Subscription};

use crate::http::EVENT_KEY_HEADER;
use error::Kind;

type HttpClient = hyper_util::client::legacy::Client<HttpConnector, Full<Bytes>>;

/// A client of one Continuum server's events path, e.g.
/// `http://events.internal:3000/api/events`.
///
/// Cheap to clone (clones share connections); configure it with the
/// builder-style methods before use. See the [module docs](self).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

/// A client's settings: what the publish and subscribe paths read.
#[derive(Clone)]
struct Inner {
    url: Result<Uri, String>,
    headers: HeaderMap,
    /// A header that could not be set (reported by every call, like a bad URL).
    header_error: Option<String>,
    http: HttpClient,
    http2_only: bool,
    retries: u32,
    backoff: (Duration, Duration),
    timeout: Duration,
    idle_timeout: Duration,
    /// The contract subscriptions send; `None`: every event linked into the binary.
    contract: Option<Arc<contract::Sent>>,
}

/// Retries of a publish after its first attempt, by default.
const DEFAULT_RETRIES: u32 = 6;
const DEFAULT_BACKOFF: (Duration, Duration) = (Duration::from_millis(100), Duration::from_secs(10));
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);
/// More than twice the server's default heartbeat (25 s).
const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

fn http_client(http2_only: bool) -> HttpClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
    hyper_util::client::legacy::Client::builder(TokioExecutor::new())
        .http2_only(http2_only)
        .build(connector)
}

impl Client {
    /// A client of the events path at `url` (an absolute `http://` URL,
    /// e.g. `http://127.0.0.1:3000/api/events`).
    ///
    /// A URL that is not one makes every call fail with an
    /// [`is_builder`](ClientError::is_builder) error, so configuration read
    /// from the environment fails where it is used, with the reason.
    pub fn new(url: impl AsRef<str>) -> Client {
        Client {
            inner: Arc::new(Inner {
                url: parse_url(url.as_ref()),
                headers: HeaderMap::new(),
                header_error: None,
                http: http_client(false),
                http2_only: false,
                retries: DEFAULT_RETRIES,
                backoff: DEFAULT_BACKOFF,
                timeout: DEFAULT_TIMEOUT,
                idle_timeout: DEFAULT_IDLE_TIMEOUT,
                contract: None,
            }),
        }
    }

    fn inner_mut(&mut self) -> &mut Inner {
        Arc::make_mut(&mut self.inner)
    }

    /// Send `token` as `x-continuum-event-key` (the server's ingest token).
    pub fn token(self, token: impl AsRef<str>) -> Client {
        self.header(EVENT_KEY_HEADER, token)
    }

    /// Send a header with every request (e.g. `authorization` or `cookie`
    /// for the server's subscriber authorization hook). Marked sensitive if
    /// it is the token, `authorization` or `cookie`, so it is never logged.
    pub fn header(mut self, name: impl AsRef<str>, value: impl AsRef<str>) -> Client {
        let (name, value) = (name.as_ref(), value.as_ref());
        let parsed = HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| "name")
            .and_then(|n| {
                HeaderValue::from_str(value)
                    .map(|v| (n, v))
                    .map_err(|_| "value")
            });
        let inner = self.inner_mut();
        match parsed {
            Ok((name, mut value)) => {
                let sensitive = [EVENT_KEY_HEADER, "authorization", "cookie"];
                value.set_sensitive(sensitive.contains(&name.as_str()));
                inner.headers.insert(name, value);
            }
            Err(what) => {
                inner.header_error = Some(format!("the header `{name}` has an invalid {what}"));
            }
        }
        self
    }

    /// How many times a publish is retried after its first attempt
    /// (default 6); `0` never retries.
    pub fn retries(mut self, retries: u32) -> Client {
        self.inner_mut().retries = retries;
        self
    }

    /// The backoff between publish attempts and between subscription
    /// reconnects while the server is unreachable: `initial`, doubling up to
    /// `max`, with jitter (default 100 ms to 10 s). A server's `retry-after`
    /// replaces the backoff, capped at `max`.
    pub fn backoff(mut self, initial: Duration, max: Duration) -> Client {
        self.inner_mut().backoff = (initial, max.max(initial));
        self
    }

    /// How long one publish attempt may take, connecting included
    /// (default 30 s); after that it counts as failed and is retried.
    pub fn timeout(mut self, timeout: Duration) -> Client {
        self.inner_mut().timeout = timeout;
        self
    }

    /// How long a subscription waits for any byte (an event or the server's
    /// heartbeat) before it considers the connection dead and reconnects
    /// (default 60 s; keep it above the server's heartbeat, 25 s by default).
    pub fn idle_timeout(mut self, timeout: Duration) -> Client {
        self.inner_mut().idle_timeout = timeout;
        self
    }

    /// The contract this client's subscriptions send (`contract=` and
    /// `versions=`): that of `registry`. By default, that of every event
    /// linked into this binary ([`Registry::from_inventory`](crate::Registry::from_inventory)).
    /// A server whose contract differs for a subscribed type answers with
    /// [`Item::Reset`]`(`[`ResetReason::Contract`]`)` instead of events this
    /// build cannot read.
    pub fn contract(mut self, registry: &crate::Registry) -> Client {
        self.inner_mut().contract = Some(Arc::new(contract::Sent::of(registry)));
        self
    }

    /// Speak HTTP/2 without upgrade negotiation (h2c with prior knowledge),
    /// which `continuum_runtime::serve` accepts: every subscription and
    /// publish then shares one connection.
    pub fn http2_prior_knowledge(mut self) -> Client {
        let inner = self.inner_mut();
        inner.http2_only = true;
        inner.http = http_client(true);
        self
    }

    fn config_error(&self) -> Option<ClientError> {
        let inner = &self.inner;
        match (&inner.url, &inner.header_error) {
            (Err(e), _) | (_, Some(e)) => Some(ClientError::new(Kind::Builder, e.clone())),
            _ => None,
        }
    }

    fn url(&self) -> Result<&Uri, ClientError> {
        match self.config_error() {
            Some(e) => Err(e),
            None => self
                .inner
                .url
                .as_ref()
                .map_err(|e| ClientError::new(Kind::Builder, e.clone())),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inner = &self.inner;
        f.debug_struct("Client")
            .field("url", &inner.url)
            // `HeaderValue`'s Debug prints `Sensitive` for the token.
            .field("headers", &inner.headers)
            .field("http2_only", &inner.http2_only)
            .field("retries", &inner.retries)
            .field("backoff", &inner.backoff)
            .field("timeout", &inner.timeout)
            .field("idle_timeout", &inner.idle_timeout)
            .finish()
    }
}

fn parse_url(url: &str) -> Result<Uri, String> {
    let uri: Uri = url
        .parse()
        .map_err(|e| format!("`{url}` is not a URL: {e}"))?;
    if uri.scheme_str() != Some("http") || uri.authority().is_none() {
        return Err(format!(
            "`{url}` must be an absolute `http://` URL of the events path (TLS is not supported)"
        ));
    }
    Ok(uri)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        assert!(parse_url("http://127.0.0.1:3000/api/events").is_ok());
        assert!(parse_url("https://example.com/api/events")
            .unwrap_err()
            .contains("TLS"));
        assert!(parse_url("/api/events").is_err());
        assert!(parse_url("not a url").is_err());
    }
}
