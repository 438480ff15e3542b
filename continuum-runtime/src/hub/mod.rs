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
mod snapshot;
mod stream;
mod ticker;
mod typed;

use std::borrow::Cow;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;

use bytes::Bytes;

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

use crate::backplane::{Ack, Backplane, IdempotencyKey, InMemory, LocalLog, Outgoing, Publishing};
use crate::config::Config;
use crate::event::{DynEvent, Event};
use crate::metrics::{IngestReject, Metrics, MetricsSnapshot};
use crate::registry::{DecodeError, Registry};
use crate::ring::versions::Versions;
use crate::ring::{KeyedState, Log};
use crate::trace::TraceContext;

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

    /// Validate `event`, then publish it to every subscriber. Returns an
    /// [`Emit`]: a future resolving to the event's id once the backplane has
    /// it. The event is validated, encoded and handed to the backplane
    /// before `emit` returns, so dropping the future does not un-publish it;
    /// await it to learn the id or the backplane's error. With the in-memory
    /// backplane it is ready at once.
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.emit.ping")] pub struct Ping { pub n: u32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let hub = Hub::builder().build()?;
    /// let id = hub.emit(Ping { n: 1 }).await?;     // published, id assigned
    /// assert_eq!(hub.last_event_id(), id);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`EmitError::Invalid`] with every issue (nothing is published then),
    /// [`EmitError::Backplane`] when the backplane could not publish.
    pub fn emit<E: Event>(&self, event: E) -> Emit<EventId> {
        self.emit_one(None, event)
    }

    /// Validate `event`, then publish it to the subscribers granted `channel`.
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_to<E: Event>(&self, channel: &str, event: E) -> Emit<EventId> {
        self.emit_one(Some(Arc::from(channel)), event)
    }

    fn emit_one<E: Event>(&self, channel: Option<Arc<str>>, event: E) -> Emit<EventId> {
        if let Err(issues) = event.validate() {
            return Emit::failed(EmitError::Invalid(issues));
        }
        match self.encode(Arc::new(event), channel) {
            Ok(out) => self.publish(vec![out], None, None, emit::first_id),
            Err(e) => Emit::failed(e),
        }
    }

    /// Validate every event, then publish them all in order, or none: the
    /// error lists every issue of every event, paths prefixed with the index.
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.emit.batch")] pub struct Ping { pub n: u32 }
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let hub = Hub::builder().build().unwrap();
    /// let ids = hub.emit_batch([Ping { n: 1 }, Ping { n: 2 }]).await.unwrap();
    /// assert_eq!(ids.len(), 2);
    /// assert!(ids[0] < ids[1]);
    /// # }
    /// ```
    ///
    /// # Errors
    /// As [`emit`](Self::emit).
    pub fn emit_batch<E: Event>(&self, events: impl IntoIterator<Item = E>) -> Emit<Vec<EventId>> {
        let events: Vec<E> = events.into_iter().collect();
        let mut issues = Vec::new();
        for (i, e) in events.iter().enumerate() {
            if let Err(errs) = e.validate() {
                issues.extend(errs.prefixed(&format!("[{i}]")).into_issues());
            }
        }
        if !issues.is_empty() {
            return Emit::failed(EmitError::Invalid(issues.into()));
        }
        match events
            .into_iter()
            .map(|e| self.encode(Arc::new(e), None))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(batch) => self.publish(batch, None, None, emit::ids),
            Err(e) => Emit::failed(e),
        }
    }

    /// Encode a typed event. One of an older version (its struct kept
    /// beside the newest, `version = N`) is upcast first: what is
    /// published is always the newest shape. One branch when no type has
    /// several versions.
    fn encode<E: Event>(
        &self,
        event: Arc<E>,
        channel: Option<Arc<str>>,
    ) -> Result<Outgoing, EmitError> {
        let registry = &self.inner.registry;
        if !registry.has_versions()
            || registry
                .get(E::TYPE)
                .is_none_or(|r| r.version == E::VERSION)
        {
            return encode_typed(event, channel);
        }
        let newest = registry
            .upcast(E::TYPE, E::VERSION, event)
            .map_err(|e| match e {
                DecodeError::Invalid(issues) => EmitError::Invalid(issues),
                other => EmitError::Upcast(other),
            })?;
        let mut data = Vec::with_capacity(128);
        newest.write_data(&mut data).map_err(EmitError::Encode)?;
        let key = newest.dyn_key().map(|k| Arc::from(&*k));
        Ok(Outgoing {
            type_name: Cow::Borrowed(E::TYPE),
            channel,
            data: Bytes::from(data),
            value: Some(newest.into_any()),
            trace: None,
            key,
        })
    }

    /// Publish events already validated (as the registry's `decode` returns
    /// them), each public (`None`) or on a channel, in order, all or nothing;
    /// with an idempotency `key`, at most once per key within the
    /// [`Config::idempotency_window`] (on every node that shares the
    /// backplane): a repeated key publishes nothing and resolves to the ids
    /// assigned the first time (`replayed: true`). This is what
    /// `POST /api/events` calls.
    ///
    /// # Errors
    /// [`EmitError::ReservedType`] for a `continuum.*` type,
    /// [`EmitError::Encode`], [`EmitError::Backplane`]; nothing is published then.
    pub fn publish_dyn(&self, events: Vec<DynPublish>, key: Option<&str>) -> Emit<Published> {
        self.publish_dyn_traced(events, key, None)
    }

    /// [`publish_dyn`](Self::publish_dyn) for events created in the trace
    /// context `created` (the `traceparent` of the request that carried
    /// them): every node's fan-out span links to it. With the `otel` layer
    /// recording, the events carry the publish span's context instead, a
    /// child of the current span (give that span `created` as its parent,
    /// as ingest does). See [`trace`](crate::trace).
    ///
    /// ```
    /// # use continuum_runtime::prelude::*;
    /// # #[continuum_event("docs.traced.ping")] pub struct Ping { pub n: u32 }
    /// use std::sync::Arc;
    /// use continuum_runtime::trace::TraceContext;
    ///
    /// let hub = Hub::builder().build().unwrap();
    /// let created = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", None);
    /// let decode = hub.registry().get("docs.traced.ping").unwrap().decode;
    /// let event = decode(r#"{"n":1}"#).unwrap();
    /// let published = hub.publish_dyn_traced(vec![(event, None)], None, created).now().unwrap().unwrap();
    /// assert_eq!(published.ids.len(), 1);
    /// ```
    ///
    /// # Errors
    /// As [`publish_dyn`](Self::publish_dyn).
    pub fn publish_dyn_traced(
        &self,
        events: Vec<DynPublish>,
        key: Option<&str>,
        created: Option<TraceContext>,
    ) -> Emit<Published> {
        let mut batch = Vec::with_capacity(events.len());
        for (event, channel) in events {
            let type_name = event.type_name();
            if is_reserved_type(type_name) {
                return Emit::failed(EmitError::ReservedType(Cow::Borrowed(type_name)));
            }
            let mut data = Vec::with_capacity(128);
            if let Err(e) = event.write_data(&mut data) {
                return Emit::failed(EmitError::Encode(e));
            }
            let key = event.dyn_key().map(|k| Arc::from(&*k));
            batch.push(Outgoing {
                type_name: Cow::Borrowed(type_name),
                channel,
                data: Bytes::from(data),
                value: Some(event.into_any()),
                trace: None,
                key,
            });
        }
        let key = key.map(|k| IdempotencyKey {
            key: Arc::from(k),
            window: self.inner.config.idempotency_window,
        });
        self.publish(batch, key, created.map(Arc::new), emit::published)
    }

    /// Hand `batch` to the backplane under a `continuum.publish` span, each
    /// event carrying its creation context (see [`crate::trace`]).
    fn publish<T>(
        &self,
        mut batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
        created: Option<Arc<TraceContext>>,
        map: fn(Ack) -> Result<T, EmitError>,
    ) -> Emit<T> {
        if let Some(o) = batch.iter().find(|o| is_reserved_type(&o.type_name)) {
            return Emit::failed(EmitError::ReservedType(o.type_name.clone()));
        }
        if batch.is_empty() && key.is_none() {
            let none = Publishing::ready(Ok(Ack {
                ids: Vec::new(),
                replayed: false,
            }));
            return Emit::new(none, map, tracing::Span::none());
        }
        let single = match batch.as_slice() {
            [one] => Some(one.type_name.as_ref()),
            _ => None,
        };
        let span = crate::trace::publish_span(single, batch.len());
        if let Some(created) = crate::trace::creation_context(&span, created) {
            for o in &mut batch {
                o.trace = Some(created.clone());
            }
        }
        let publishing = {
            let _in = span.enter();
            self.inner.backplane.publish(&self.inner.log, batch, key)
        };
        Emit::new(publishing, map, span)
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

fn encode_typed<E: Event>(event: Arc<E>, channel: Option<Arc<str>>) -> Result<Outgoing, EmitError> {
    let mut data = Vec::with_capacity(128);
    serde_json::to_writer(&mut data, &*event).map_err(EmitError::Encode)?;
    let key = event.key().map(|k| Arc::from(&*k));
    Ok(Outgoing {
        type_name: Cow::Borrowed(E::TYPE),
        channel,
        data: Bytes::from(data),
        value: Some(event),
        trace: None,
        key,
    })
}
