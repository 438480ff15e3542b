//! The hub: ids, the replay buffer, fan-out to subscribers, typed emit and
//! in-process typed subscribe.
//!
//! ```
//! use continuum_runtime::hub::{Grant, SseOptions};
//! use continuum_runtime::Hub;
//! # use continuum_runtime::{Event, Payload, EventSchema, TypeSchema, validate::Checker};
//! # #[derive(serde::Serialize, serde::Deserialize)]
//! # struct Ping { n: u32 }
//! # impl Payload for Ping { fn check(&self, _: &mut Checker) {} fn describe() -> TypeSchema { TypeSchema::Any } }
//! # static SCHEMA: EventSchema = EventSchema { name: "ping", version: 1, payload: None, docs: "", key: None, ttl: None };
//! # impl Event for Ping { const TYPE: &'static str = "ping"; fn schema() -> &'static EventSchema { &SCHEMA } }
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!
//! let hub = Hub::builder().replay_capacity(100).build()?;
//! let first = hub.emit(Ping { n: 1 }).await?;    // validated, encoded once, published
//! hub.emit_to("user:42", Ping { n: 2 }).await?;  // only subscribers granted `user:42`
//!
//! // What `GET /api/events` serves: the handshake, then replay after `first`, then live.
//! let stream = hub.subscribe_sse(SseOptions::new()
//!     .last_event_id(first.to_string())
//!     .grant(Grant::public().with_channel("user:42")));
//! # drop(stream);
//! # Ok(()) }
//! ```
//!
//! # How the HTTP layer uses the hub
//!
//! - `GET`: [`Hub::authorize`] with the request head (→ [`Grant`] or a
//!   [`Reject`] to answer with its status), [`TypeFilter::parse`] on `?types=`,
//!   then [`Hub::subscribe_sse`] with `Last-Event-ID` (header, or the
//!   `lastEventId` query); the returned [`SseStream`] is the response body
//!   (`http_body::Body<Data = Bytes, Error = Infallible>`).
//! - `POST`: decode each envelope with [`Hub::registry`] (→ validated
//!   `Arc<dyn DynEvent>`), then await [`Hub::publish_dyn`] (with the
//!   `Idempotency-Key`, if any) and answer once it resolves; count every
//!   refusal with [`Hub::record_ingest_reject`].
//! - Settings (path, limits, token, origins) come from [`Hub::config`].

pub(crate) mod auth;
mod builder;
mod default;
mod emit;
mod env;
pub(crate) mod filter;
pub(crate) mod limits;
mod publish;
mod snapshot;
mod stream;
mod ticker;
mod typed;

use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

pub use self::auth::{AuthHook, Expiry, Grant, Reject};
pub use self::builder::{BuildError, HubBuilder};
pub use self::default::{default_hub, emit, emit_to, set_default_hub};
pub use self::emit::{Emit, EmitError};
pub use self::env::ConfigError;
pub use self::filter::{TypeFilter, TypeFilterError};
pub use self::snapshot::{StateEvent, StateSnapshot};
pub use self::stream::{SseOptions, SseStream};
pub use self::typed::{Lagged, Subscription};
pub use crate::id::EventId;

use crate::backplane::{Backplane, InMemory, LocalLog};
use crate::config::Config;
use crate::event::{DynEvent, Event};
use crate::metrics::{IngestReject, Metrics, MetricsSnapshot};
use crate::registry::Registry;
use crate::ring::versions::Versions;
use crate::ring::{KeyedState, Log};

/// The registry a new builder starts with: every `#[continuum_event]` type
/// linked into the binary, or the duplicate-name error `build` reports.
pub(crate) fn initial_registry() -> (Registry, Option<crate::registry::RegistryError>) {
    match Registry::from_inventory() {
        Ok(r) => (r, None),
        Err(e) => (Registry::new(), Some(e)),
    }
}

/// The hub: publish events, subscribe to them. Cheap to clone (an `Arc`
/// inside); every clone is the same hub.
#[derive(Clone)]
pub struct Hub {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) config: Config,
    pub(crate) registry: Registry,
    pub(crate) auth: Option<AuthHook>,
    pub(crate) backplane: Arc<dyn Backplane>,
    pub(crate) log: LocalLog,
    pub(crate) metrics: Metrics,
    /// Seed for connection ids and `retry:` jitter.
    pub(crate) seed: u64,
    pub(crate) connections: AtomicU64,
    /// Whether the shared heartbeat ticker task is running.
    pub(crate) ticker_running: AtomicBool,
    /// Subscribers admitted under the caps.
    pub(crate) limits: limits::Limits,
}

impl fmt::Debug for Hub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hub")
            .field("epoch", &self.inner.log.epoch())
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

/// One event for [`Hub::publish_dyn`]: a validated, type-erased event (as
/// the registry's `decode` returns it) and its channel (`None`: public).
pub type DynPublish = (Arc<dyn DynEvent>, Option<Arc<str>>);

/// The result of [`Hub::publish_dyn`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Published {
    /// The ids of the events, in order.
    pub ids: Vec<EventId>,
    /// `true` when the key was seen within the window: nothing was published
    /// now and `ids` are the ones assigned the first time.
    pub replayed: bool,
}

/// Whether `type_name` is reserved for the hub's own control events.
pub fn is_reserved_type(type_name: &str) -> bool {
    type_name == "continuum" || type_name.starts_with("continuum.")
}

impl Hub {
    /// Start building a hub (see [`HubBuilder`]).
    pub fn builder() -> HubBuilder {
        HubBuilder::new()
    }

    pub(crate) fn from_parts(
        config: Config,
        registry: Registry,
        auth: Option<AuthHook>,
        backplane: Option<Arc<dyn Backplane>>,
    ) -> Hub {
        let backplane = backplane.unwrap_or_else(|| {
            Arc::new(InMemory::new().idempotency_capacity(config.idempotency_capacity))
        });
        let capacity = config.replay_capacity.max(config.queue_bound);
        // The backplane sets the real epoch when it attaches (a shared one
        // learns it from its stream); until then, a random one.
        let state = KeyedState::new(
            registry.keyed().map(|r| (r.type_name.to_owned(), r.ttl())),
            config.max_keys_per_type,
        );
        let log = LocalLog {
            log: Arc::new(Log::with_state(
                crate::id::Epoch::random(),
                capacity,
                state,
                Versions::new(registry.clone()),
            )),
        };
        backplane.attach(log.clone());
        Hub {
            inner: Arc::new(Inner {
                config,
                registry,
                auth,
                backplane,
                log,
                metrics: Metrics::default(),
                seed: crate::id::random_u64(),
                connections: AtomicU64::new(0),
                ticker_running: AtomicBool::new(false),
                limits: limits::Limits::default(),
            }),
        }
    }

    /// The hub's settings (path, limits, token, CORS origins…).
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The event types accepted by ingest.
    pub fn registry(&self) -> &Registry {
        &self.inner.registry
    }

    /// The epoch of this hub's ids.
    pub fn epoch(&self) -> crate::id::Epoch {
        self.inner.log.epoch()
    }

    /// The id of the newest event (sequence 0 of the epoch before any).
    pub fn last_event_id(&self) -> EventId {
        self.inner.log.log.last_id()
    }

    /// Run the authorization hook on a subscription request's head; without
    /// a hook, [`Grant::public`]. A hook that panics rejects with `500`.
    /// Rejections are counted in the metrics.
    pub fn authorize(&self, parts: &http::request::Parts) -> Result<Grant, Reject> {
        let Some(hook) = &self.inner.auth else {
            return Ok(Grant::public());
        };
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| hook(parts)))
            .unwrap_or_else(|_| {
                Err(Reject::with_status(
                    http::StatusCode::INTERNAL_SERVER_ERROR,
                    "authorization hook failed",
                ))
            });
        if result.is_err() {
            self.inner
                .metrics
                .subscribers_rejected
                .fetch_add(1, Ordering::Relaxed);
        }
        result
    }

    /// Whether an authorization hook is installed.
    pub fn has_auth_hook(&self) -> bool {
        self.inner.auth.is_some()
    }

    /// Whether the backplane can publish now (always for the in-memory one;
    /// `false` while a shared backplane's transport is unreachable).
    pub fn backplane_is_up(&self) -> bool {
        self.inner.backplane.is_up()
    }

    /// Whether the backplane is the in-process one ([`InMemory`]): always up,
    /// nothing shared (the health route reports `"in_memory"`).
    pub fn backplane_is_in_process(&self) -> bool {
        self.inner.backplane.is_in_process()
    }

    /// Resolves once the backplane can publish: at once for the in-memory
    /// one; for Redis, once connected and agreed on the stream's epoch. For
    /// start-up ordering and readiness probes; publishing before it waits a
    /// few seconds for the first connection, then fails.
    pub async fn backplane_ready(&self) {
        self.inner.backplane.ready().await
    }

    /// Count an accepted ingest request (the HTTP layer calls this once the
    /// backplane acknowledged it).
    pub fn record_ingest_accepted(&self) {
        self.inner
            .metrics
            .ingest_accepted
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Count a refused ingest request (the HTTP layer calls this for each).
    pub fn record_ingest_reject(&self, why: IngestReject) {
        self.inner.metrics.reject(why);
    }

    /// A snapshot of the hub's counters.
    pub fn metrics(&self) -> MetricsSnapshot {
        let mut snapshot = self.inner.metrics.snapshot();
        let log = &self.inner.log.log;
        snapshot.events_published = log.published.load(Ordering::Relaxed);
        snapshot.subscribers_now = log.subscribers.load(Ordering::Relaxed);
        snapshot.keys_evicted = log.keys_evicted.load(Ordering::Relaxed);
        snapshot.keys = log.keys() as u64;
        snapshot.backplane = self.inner.backplane.metrics();
        snapshot
    }

    /// Open an SSE subscription: the body of a `GET /api/events` response.
    ///
    /// The stream yields, in order: `retry:` (base plus per-connection
    /// jitter) and `continuum.connected` (`{"connectionId","epoch"}`, with the
    /// `id` the client resumes from); then either the replay of what the
    /// buffer holds after `last_event_id`, or `continuum.reset` when a gap
    /// cannot be ruled out (evicted, foreign epoch, unknown id); then live
    /// events passing the type filter and the grant, and heartbeat comments
    /// from the hub's one ticker. A subscriber that falls more than
    /// [`Config::queue_bound`] events behind gets `continuum.reset`
    /// (`lagged`) and the stream ends; its client reconnects and resumes.
    /// The stream also ends cleanly at the connection-lifetime cap.
    ///
    /// Must be called within a Tokio runtime for heartbeats to run (the
    /// ticker starts with the first subscriber); the stream itself works anywhere.
    ///
    /// Streams opened here do not count against the subscriber caps
    /// ([`HubBuilder::max_subscribers`]): those are the HTTP layer's.
    pub fn subscribe_sse(&self, options: SseOptions) -> SseStream {
        self.ensure_ticker();
        SseStream::new(self.inner.clone(), options, None)
    }

    /// Take a place under the subscriber caps for a subscriber from `ip`.
    pub(crate) fn admit(
        &self,
        ip: Option<std::net::IpAddr>,
    ) -> Result<limits::Admission, limits::Refused> {
        let admitted = limits::admit(&self.inner, ip);
        if admitted.is_err() {
            self.inner
                .metrics
                .subscribers_limited
                .fetch_add(1, Ordering::Relaxed);
        }
        admitted
    }

    /// [`subscribe_sse`](Self::subscribe_sse) for an admitted subscriber,
    /// which holds its place until the stream is dropped.
    pub(crate) fn subscribe_sse_admitted(
        &self,
        options: SseOptions,
        admission: limits::Admission,
    ) -> SseStream {
        self.ensure_ticker();
        SseStream::new(self.inner.clone(), options, Some(admission))
    }

    /// Subscribe in-process to every event of type `E` published from now on
    /// (on this node: typed values; from other nodes: decoded from JSON).
    /// Events on channels are included: in-process code is trusted.
    ///
    /// Lag is explicit: a subscription more than [`Config::queue_bound`]
    /// events behind yields `Err(Lagged)` once with how many events (of any
    /// type) it skipped, then continues from the newest.
    ///
    /// ```
    /// # use continuum_runtime::{Event, Payload, EventSchema, TypeSchema, validate::Checker, Hub};
    /// # #[derive(serde::Serialize, serde::Deserialize, Debug)]
    /// # struct Ping { n: u32 }
    /// # impl Payload for Ping { fn check(&self, _: &mut Checker) {} fn describe() -> TypeSchema { TypeSchema::Any } }
    /// # static SCHEMA: EventSchema = EventSchema { name: "ping", version: 1, payload: None, docs: "", key: None, ttl: None };
    /// # impl Event for Ping { const TYPE: &'static str = "ping"; fn schema() -> &'static EventSchema { &SCHEMA } }
    /// use std::future::poll_fn;
    /// use std::pin::Pin;
    /// use futures_core::Stream;
    ///
    /// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
    /// let hub = Hub::builder().build().unwrap();
    /// let mut pings = hub.subscribe::<Ping>();
    /// hub.emit(Ping { n: 7 }).await.unwrap();
    /// let got = poll_fn(|cx| Pin::new(&mut pings).poll_next(cx)).await.unwrap().unwrap();
    /// assert_eq!(got.n, 7);
    /// # });
    /// ```
    pub fn subscribe<E: Event>(&self) -> Subscription<E> {
        Subscription::new(self.inner.clone())
    }

    /// Start the shared heartbeat ticker if it is not running and we are in
    /// a Tokio runtime. It stops when the hub is dropped or its runtime shuts down.
    fn ensure_ticker(&self) {
        if self.inner.ticker_running.load(Ordering::Acquire) {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.inner.ticker_running.swap(true, Ordering::AcqRel) {
            return;
        }
        let weak = Arc::downgrade(&self.inner);
        let period = self.inner.config.heartbeat;
        self.inner.log.log.start_pump();
        rt.spawn(ticker::ticker(weak, period));
    }
}
