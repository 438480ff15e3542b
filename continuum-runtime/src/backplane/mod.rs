//! The seam between the hub and the transport that orders events.
//!
//! The hub encodes each event once into an [`Outgoing`] and hands batches to a
//! [`Backplane`], which assigns ids and delivers the events — in order — to the
//! node's [`LocalLog`], from which every local subscriber reads. Replay, lag
//! detection and `continuum.reset` decisions all work on ids (epoch +
//! strictly increasing sequence), never on "this process published it", so a
//! shared backplane can replace the default without touching subscribers.
//!
//! - [`InMemory`] (the default) assigns dense local sequence numbers under
//!   the log's publish lock and delivers synchronously: one process, no
//!   external service.
//! - `RedisBackplane` (cargo feature `redis`, see the `redis` module)
//!   `XADD`s each batch to a Redis stream and maps stream ids to sequences,
//!   keeps one epoch for the stream (stored beside it), and runs a reader
//!   task per node that calls [`LocalLog::deliver`] for every entry it reads
//!   — including the ones this node published — so all nodes fan out the
//!   same order and a client can reconnect to any node with its
//!   `Last-Event-ID`.
//!
//! Publishing returns a [`Publishing`] acknowledgement: ready at once for
//! [`InMemory`], a future for a backplane that waits for a reply (see
//! [`Emit`](crate::hub::Emit) for why `emit` is a future).
//!
//! ```
//! use std::sync::Arc;
//! use continuum_runtime::{Hub, backplane::InMemory};
//!
//! let hub = Hub::builder().backplane(Arc::new(InMemory::new())).build().unwrap();
//! # let _ = hub;
//! ```

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "redis")]
pub use self::redis::{RedisBackplane, RedisOptions};

use crate::id::{Epoch, EventId};
pub use crate::ring::{LocalLog, Outgoing, WeakLocalLog};

/// A backplane could not publish.
#[derive(Debug)]
pub struct BackplaneError {
    message: String,
    unavailable: bool,
    unconfirmed: bool,
    source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl BackplaneError {
    /// An error with a message and an optional cause.
    pub fn new(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        BackplaneError {
            message: message.into(),
            unavailable: false,
            unconfirmed: false,
            source,
        }
    }

    /// The transport is unreachable (or did not answer in time): nothing was
    /// published, and a retry later may succeed. Ingest answers `503`
    /// `backplane_unavailable` with `retry-after`.
    pub fn unavailable(
        message: impl Into<String>,
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        BackplaneError {
            unavailable: true,
            ..BackplaneError::new(message, source)
        }
    }

    /// Whether the transport was unreachable (see [`unavailable`](Self::unavailable)).
    pub fn is_unavailable(&self) -> bool {
        self.unavailable
    }

    /// The batch was written but not confirmed as durable in time (Redis
    /// `WAIT` saw too few replicas): it may still be delivered, and a retry
    /// should carry the same idempotency key. Also
    /// [`is_unavailable`](Self::is_unavailable) (ingest answers `503`).
    pub fn unconfirmed(message: impl Into<String>) -> Self {
        BackplaneError {
            unconfirmed: true,
            ..BackplaneError::unavailable(message, None)
        }
    }

    /// Whether the batch was written but not confirmed (see
    /// [`unconfirmed`](Self::unconfirmed)).
    pub fn is_unconfirmed(&self) -> bool {
        self.unconfirmed
    }
}

impl fmt::Display for BackplaneError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "backplane: {}", self.message)
    }
}

impl std::error::Error for BackplaneError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source.as_deref().map(|e| e as _)
    }
}

/// What a backplane acknowledged: the ids of a published batch, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ack {
    /// One id per event of the batch, in order.
    pub ids: Vec<EventId>,
    /// `true` when the idempotency key was seen within its window: nothing
    /// was published now and `ids` are the ones assigned the first time.
    pub replayed: bool,
}

/// A batch published at most once per key within `window`: a retry with the
/// same key (on any node, for a shared backplane) gets the first ids back.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyKey {
    /// The client's `Idempotency-Key`.
    pub key: Arc<str>,
    /// How long the key is remembered.
    pub window: Duration,
}

/// The acknowledgement of [`Backplane::publish`]: a future resolving to the
/// [`Ack`] once the backplane has the batch. Ready at once for a backplane
/// that orders events in-process, such as [`InMemory`]; no allocation then.
#[must_use = "the batch is being published; await the acknowledgement to learn its ids or its error"]
pub struct Publishing {
    state: PublishingState,
}

enum PublishingState {
    Ready(Option<Result<Ack, BackplaneError>>),
    Pending(Pin<Box<dyn Future<Output = Result<Ack, BackplaneError>> + Send>>),
}

impl Publishing {
    /// An acknowledgement known now.
    pub fn ready(result: Result<Ack, BackplaneError>) -> Self {
        Publishing {
            state: PublishingState::Ready(Some(result)),
        }
    }

    /// An acknowledgement that arrives later (e.g. a reply from Redis). The
    /// publish must already be under way: dropping this must not cancel it.
    pub fn pending(
        future: impl Future<Output = Result<Ack, BackplaneError>> + Send + 'static,
    ) -> Self {
        Publishing {
            state: PublishingState::Pending(Box::pin(future)),
        }
    }

    /// The acknowledgement if it is known without waiting.
    pub(crate) fn take_ready(&mut self) -> Option<Result<Ack, BackplaneError>> {
        match &mut self.state {
            PublishingState::Ready(r) => r.take(),
            PublishingState::Pending(_) => None,
        }
    }
}

impl fmt::Debug for Publishing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let state = match &self.state {
            PublishingState::Ready(Some(Ok(_))) => "acknowledged",
            PublishingState::Ready(Some(Err(_))) => "failed",
            PublishingState::Ready(None) => "taken",
            PublishingState::Pending(_) => "pending",
        };
        f.debug_struct("Publishing").field("state", &state).finish()
    }
}

impl Future for Publishing {
    type Output = Result<Ack, BackplaneError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match &mut self.get_mut().state {
            PublishingState::Ready(r) => {
                Poll::Ready(r.take().unwrap_or_else(|| {
                    Err(BackplaneError::new("acknowledgement polled twice", None))
                }))
            }
            PublishingState::Pending(f) => f.as_mut().poll(cx),
        }
    }
}

/// The transport that orders events and delivers them to every node's
/// [`LocalLog`]. See the [module docs](self).
pub trait Backplane: Send + Sync + 'static {
    /// Called once when the hub is built, with the log to deliver into. The
    /// backplane sets the log's epoch here or later ([`LocalLog::restart`]);
    /// a shared backplane starts its reader task here.
    fn attach(&self, log: LocalLog);

    /// Publish `batch` atomically and in order, at most once per `key`
    /// within its window. The events must reach `log` (now, or later from a
    /// reader) in id order; the returned [`Publishing`] resolves to their ids
    /// once the backplane has them. The publish starts before this returns.
    ///
    /// On error nothing of the batch may be delivered.
    fn publish(
        &self,
        log: &LocalLog,
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
    ) -> Publishing;

    /// Forget `key` of the keyed type `type_name` on every node, in order
    /// with the events published around it. The default (a backplane whose
    /// log is this node's alone) drops it from `log` now.
    fn forget(&self, log: &LocalLog, type_name: &str, key: &str) -> Publishing {
        log.forget(type_name, key);
        Publishing::ready(Ok(Ack {
            ids: Vec::new(),
            replayed: false,
        }))
    }

    /// Whether the backplane can publish now (`false` while its transport is
    /// unreachable). For metrics and health checks; the default is `true`.
    fn is_up(&self) -> bool {
        true
    }

    /// Whether events stay in this process (the [`InMemory`] backplane):
    /// then the health route reports `"in_memory"` instead of up or down.
    /// `false` by default: a backplane is taken to be shared.
    fn is_in_process(&self) -> bool {
        false
    }

    /// Resolves once the backplane can publish (at once by default). A
    /// shared backplane connects in the background after `attach`.
    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        Box::pin(std::future::ready(()))
    }

    /// The backplane's own figures for [`Hub::metrics`](crate::Hub::metrics);
    /// `None` (the default) for one with nothing to report.
    fn metrics(&self) -> Option<crate::metrics::BackplaneMetrics> {
        None
    }
}

/// The default backplane: one process, dense sequence numbers, a random
/// epoch per start (so ids from before a restart are recognised as foreign).
/// Publishing is synchronous: the acknowledgement is ready when
/// [`Backplane::publish`] returns.
#[derive(Debug)]
pub struct InMemory {
    epoch: Epoch,
    idempotency: Mutex<IdempotencyWindow>,
}

impl InMemory {
    /// A backplane with a fresh random epoch.
    pub fn new() -> Self {
        InMemory::with_epoch(Epoch::random())
    }

    /// A backplane with a chosen epoch (tests, or restoring a stream).
    pub fn with_epoch(epoch: Epoch) -> Self {
        InMemory {
            epoch,
            idempotency: Mutex::new(IdempotencyWindow::new(DEFAULT_IDEMPOTENCY_CAPACITY)),
        }
    }

    /// Remember at most `capacity` idempotency keys (oldest forgotten
    /// first); 0 remembers none.
    pub fn idempotency_capacity(self, capacity: usize) -> Self {
        InMemory {
            idempotency: Mutex::new(IdempotencyWindow::new(capacity)),
            ..self
        }
    }
}

impl Default for InMemory {
    fn default() -> Self {
        InMemory::new()
    }
}

/// Keys a new [`InMemory`] remembers at most.
const DEFAULT_IDEMPOTENCY_CAPACITY: usize = 10_000;

impl Backplane for InMemory {
    fn attach(&self, log: LocalLog) {
        log.restart(self.epoch, 0);
    }

    fn is_in_process(&self) -> bool {
        true
    }

    fn publish(
        &self,
        log: &LocalLog,
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
    ) -> Publishing {
        let Some(key) = key else {
            return Publishing::ready(Ok(Ack {
                ids: log.append(batch),
                replayed: false,
            }));
        };
        // Held across the append so that concurrent retries publish once.
        let mut window = self
            .idempotency
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let now = tokio::time::Instant::now();
        window.expire(now, key.window);
        if let Some(ids) = window.get(&key.key) {
            return Publishing::ready(Ok(Ack {
                ids,
                replayed: true,
            }));
        }
        let ids = log.append(batch);
        window.insert(now, key.key, ids.clone());
        Publishing::ready(Ok(Ack {
            ids,
            replayed: false,
        }))
    }
}

/// Idempotency keys seen within the window, oldest first.
#[derive(Debug)]
struct IdempotencyWindow {
    capacity: usize,
    map: HashMap<Arc<str>, (tokio::time::Instant, Vec<EventId>)>,
    order: VecDeque<(tokio::time::Instant, Arc<str>)>,
}

impl IdempotencyWindow {
    fn new(capacity: usize) -> Self {
        IdempotencyWindow {
            capacity,
            map: HashMap::new(),
            order: VecDeque::new(),
        }
    }

    fn expire(&mut self, now: tokio::time::Instant, window: Duration) {
        while let Some((at, _)) = self.order.front() {
            if now.duration_since(*at) < window {
                break;
            }
            if let Some((_, k)) = self.order.pop_front() {
                self.map.remove(&k);
            }
        }
    }

    fn get(&self, key: &str) -> Option<Vec<EventId>> {
        self.map.get(key).map(|(_, ids)| ids.clone())
    }

    fn insert(&mut self, now: tokio::time::Instant, key: Arc<str>, ids: Vec<EventId>) {
        if self.capacity == 0 {
            return;
        }
        while self.map.len() >= self.capacity {
            match self.order.pop_front() {
                Some((_, k)) => {
                    self.map.remove(&k);
                }
                None => break,
            }
        }
        self.order.push_back((now, key.clone()));
        self.map.insert(key, (now, ids));
    }
}
