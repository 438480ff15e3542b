//! The Redis Streams backplane (cargo feature `redis`): several nodes — app
//! server replicas — behave as one hub.
//!
//! ```no_run
//! use continuum_runtime::Hub;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // Or set CONTINUUM_REDIS_URL and use HubBuilder::from_env().
//! let hub = Hub::builder()
//!     .redis("redis://127.0.0.1:6379")
//!     .redis_stream("myapp:events")
//!     .build()?;
//! continuum_runtime::serve("127.0.0.1:3000", hub).await?;
//! # Ok(()) }
//! ```
//!
//! # How it works
//!
//! - **One order.** A node publishes a batch with one Lua script (`XADD` per
//!   event, `MAXLEN ~` retention): stored whole and in order, or not at all.
//!   One reader task per node reads the stream (`XREAD BLOCK`, up to 1,000
//!   entries a call) and delivers every entry — its own included — into the
//!   node's log, so every node fans out the same events in the same order.
//! - **Ids are the stream's.** An event's sequence is its stream id
//!   (`ms << 20 | n`), its epoch is the stream's, kept in Redis beside it
//!   (`<stream>:epoch`, created once, atomically, by whichever node comes
//!   first, with an entry counter `<stream>:count`). A `Last-Event-ID` issued by any node replays on any other. A
//!   node that starts fills its replay buffer from the stream's tail
//!   (`XREVRANGE`), so it replays like the nodes that were running.
//! - **Never a silent gap.** Every entry carries its epoch and its number
//!   within the epoch. When the stream
//!   is lost (Redis restarted empty, the key deleted), publishers refuse to
//!   recreate it, the first node to notice creates a new epoch, and every
//!   subscriber of every node gets `continuum.reset` (`stream_lost`). When
//!   entries left the stream before a reader got to them (it was
//!   disconnected longer than the retention lasts), its subscribers get
//!   `continuum.reset` (`evicted`). An id older than the retention gets
//!   `evicted` on connect.
//! - **Idempotency across nodes.** An `Idempotency-Key` is stored in Redis
//!   (`<stream>:idem:<key>`, with the window as its TTL) by the same script
//!   that publishes, so a retry on another node gets the first ids.
//! - **Acknowledged before `202`.** [`Hub::emit`](crate::Hub::emit) and
//!   ingest resolve once Redis has replied. Publishes wait in one queue per
//!   node and go out together, pipelined, while the previous group is in
//!   flight: one round trip for many concurrent publishes, in call order.
//!
//! # When Redis is unreachable
//!
//! Publishing fails at once with an [`unavailable`](BackplaneError::is_unavailable)
//! error (ingest answers `503 backplane_unavailable` with `retry-after`),
//! and never waits more than the response timeout (2 s) for a Redis that
//! stopped answering. Connected subscribers stay connected and keep their
//! heartbeats. The reader reconnects with backoff (100 ms doubling to 5 s)
//! and resumes after the last entry it delivered; each change between up and
//! down is logged once. [`Hub::metrics`](crate::Hub::metrics) reports
//! whether the backplane is up, publish latency and reader lag.
//!
//! # Why the `redis` crate, and no connection manager
//!
//! `redis` (redis-rs) is the most used Redis client in Rust, maintained by
//! the Redis project, with tokio support, pipelining and scripts. Its
//! multiplexed connection carries publishes; the reader has its own
//! connection because `XREAD BLOCK` holds a connection while it waits. The
//! reconnection is this module's own rather than redis-rs's
//! `ConnectionManager`, because what happens on reconnect is the point: the
//! epoch is checked, trimmed entries are detected, and "up" and "down" are
//! reported once each.

mod entry;
mod publisher;
mod reader;
mod scripts;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};

use super::{Ack, Backplane, BackplaneError, IdempotencyKey, LocalLog, Outgoing, Publishing};

/// The stream key when none is configured.
pub const DEFAULT_STREAM: &str = "continuum:events";
/// Entries the stream keeps (`XADD … MAXLEN ~`) when not configured.
pub const DEFAULT_RETENTION: usize = 100_000;

/// How to reach Redis and which stream to use. See [`RedisBackplane::new`].
#[derive(Clone, Debug)]
pub struct RedisOptions {
    url: String,
    stream: String,
    retention: usize,
    response_timeout: Duration,
    block: Duration,
}

impl RedisOptions {
    /// Options for the Redis at `url` (`redis://[user:password@]host:port[/db]`),
    /// with the default stream and retention.
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions {
            url: url.into(),
            stream: DEFAULT_STREAM.to_owned(),
            retention: DEFAULT_RETENTION,
            response_timeout: Duration::from_secs(2),
            block: Duration::from_secs(2),
        }
    }

    /// The stream key (default [`DEFAULT_STREAM`]); its epoch and
    /// idempotency keys are named after it.
    pub fn stream(mut self, key: impl Into<String>) -> Self {
        self.stream = key.into();
        self
    }

    /// About how many entries the stream keeps (default
    /// [`DEFAULT_RETENTION`]): `Last-Event-ID`s older than that get
    /// `continuum.reset` (`evicted`), and a node restarting within it replays.
    pub fn retention(mut self, entries: usize) -> Self {
        self.retention = entries.max(1);
        self
    }

    /// How long a publish waits for Redis's reply before it fails (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long an idle reader's `XREAD` blocks before it checks the stream
    /// is still there (default 2 s).
    pub fn block(mut self, block: Duration) -> Self {
        self.block = block;
        self
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The stream key.
    pub fn stream_key(&self) -> &str {
        &self.stream
    }

    /// The retention, in entries.
    pub fn retention_entries(&self) -> usize {
        self.retention
    }
}

/// The Redis Streams backplane. See the [module docs](self).
pub struct RedisBackplane {
    shared: Arc<Shared>,
    /// Publishes, in call order, to the publisher task (which ends when this
    /// sender is dropped with the hub).
    requests: mpsc::UnboundedSender<publisher::Request>,
    tasks: Mutex<Option<mpsc::UnboundedReceiver<publisher::Request>>>,
}

impl fmt::Debug for RedisBackplane {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RedisBackplane")
            .field("stream", &self.shared.keys.stream)
            .field("state", &*self.shared.state.borrow())
            .finish_non_exhaustive()
    }
}

/// Whether the backplane can publish.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum State {
    /// Not connected yet since start: publishes wait (a few seconds at most).
    Connecting,
    Up,
    Down,
}

pub(crate) struct Keys {
    pub(crate) stream: String,
    pub(crate) epoch: String,
    pub(crate) count: String,
    idempotency_prefix: String,
}

impl Keys {
    fn new(stream: &str) -> Self {
        Keys {
            stream: stream.to_owned(),
            epoch: format!("{stream}:epoch"),
            count: format!("{stream}:count"),
            idempotency_prefix: format!("{stream}:idem:"),
        }
    }

    pub(crate) fn idempotency(&self, key: &str) -> String {
        format!("{}{key}", self.idempotency_prefix)
    }
}

/// What the publisher and reader tasks share.
pub(crate) struct Shared {
    pub(crate) client: redis::Client,
    pub(crate) keys: Keys,
    pub(crate) options: RedisOptions,
    state: watch::Sender<State>,
    /// Why the backplane is down (logged once per change, and in errors).
    down_reason: Mutex<String>,
    /// A publisher found the stream missing: the reader re-checks after its
    /// current read.
    pub(crate) resync: AtomicBool,
    /// Bumped each time the backplane comes up after being down: the
    /// publisher's connection from before is broken, and is replaced before
    /// use rather than failing the first publish after an outage.
    pub(crate) generation: AtomicU64,
    pub(crate) metrics: RedisMetrics,
}

/// Counters behind [`BackplaneMetrics`](crate::metrics::BackplaneMetrics).
#[derive(Debug, Default)]
pub(crate) struct RedisMetrics {
    pub(crate) publishes: AtomicU64,
    pub(crate) publish_micros: AtomicU64,
    pub(crate) failures: AtomicU64,
    pub(crate) reader_lag_millis: AtomicU64,
    pub(crate) entries_read: AtomicU64,
    pub(crate) resets: AtomicU64,
}

impl Shared {
    pub(crate) fn state(&self) -> State {
        *self.state.borrow()
    }

    pub(crate) fn state_changes(&self) -> watch::Receiver<State> {
        self.state.subscribe()
    }

    /// The backplane works again; logged once per change.
    pub(crate) fn set_up(&self) {
        // Only the reader changes the state, so `was` cannot go stale here.
        let was = *self.state.borrow();
        if was == State::Down {
            // Before `Up` is visible: a publisher that sees `Up` must also
            // see that its connection from before the outage is dead (the
            // other order let one publish go out on it: a spurious 503).
            self.generation.fetch_add(1, Ordering::AcqRel);
        }
        self.state.send_replace(State::Up);
        if was != State::Up {
            tracing::info!(stream = %self.keys.stream, "continuum: redis backplane up");
        }
    }

    /// The backplane cannot reach Redis; logged once per change.
    pub(crate) fn set_down(&self, why: &dyn fmt::Display) {
        let why = why.to_string();
        *self
            .down_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = why.clone();
        let was = self.state.send_replace(State::Down);
        if was != State::Down {
            tracing::warn!(stream = %self.keys.stream, error = %why, "continuum: redis backplane down; publishing fails until it reconnects");
        }
    }

    pub(crate) fn unavailable(&self) -> BackplaneError {
        let why = self
            .down_reason
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone();
        BackplaneError::unavailable(format!("redis unreachable ({why})"), None)
    }

    /// A connection for publishes, or for the reader (whose `XREAD BLOCK`
    /// waits up to `block` for a reply).
    pub(crate) async fn connect(
        &self,
        for_reader: bool,
    ) -> redis::RedisResult<redis::aio::MultiplexedConnection> {
        let response = if for_reader {
            self.options.block + self.options.response_timeout
        } else {
            self.options.response_timeout
        };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(self.options.response_timeout))
            .set_response_timeout(Some(response));
        self.client
            .get_multiplexed_async_connection_with_config(&config)
            .await
    }
}

impl RedisBackplane {
    /// A backplane for the Redis and stream in `options`. Nothing connects
    /// until the hub is built ([`Backplane::attach`]), which must happen
    /// inside a Tokio runtime.
    ///
    /// # Errors
    /// When the URL cannot be parsed.
    pub fn new(options: RedisOptions) -> Result<Self, BackplaneError> {
        let invalid = |e: redis::RedisError| {
            BackplaneError::new(
                format!("invalid redis url `{}`: {e}", options.url),
                Some(Box::new(e)),
            )
        };
        let info = redis::IntoConnectionInfo::into_connection_info(options.url.as_str())
            .map_err(invalid)?;
        // TCP_NODELAY (redis-rs leaves Nagle on): several publishes are in
        // flight on one connection, and with Nagle each small write after
        // the first waits for the previous one's ACK, i.e. for Redis's reply,
        // which serialises the pipelines. Measured (1 subscriber, 4,000
        // events, 4 publishing connections, loopback): see BENCHMARKS.md.
        let tcp = info.tcp_settings().clone().set_nodelay(true);
        let client = redis::Client::open(info.set_tcp_settings(tcp)).map_err(invalid)?;
        let (requests, rx) = mpsc::unbounded_channel();
        let (state, _) = watch::channel(State::Connecting);
        Ok(RedisBackplane {
            shared: Arc::new(Shared {
                client,
                keys: Keys::new(&options.stream),
                options,
                state,
                down_reason: Mutex::new("not connected yet".to_owned()),
                resync: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                metrics: RedisMetrics::default(),
            }),
            requests,
            tasks: Mutex::new(Some(rx)),
        })
    }
}

impl Backplane for RedisBackplane {
    /// Starts the reader and publisher tasks on the current Tokio runtime.
    ///
    /// # Panics
    /// Outside a Tokio runtime (`HubBuilder::build` checks first and
    /// reports it as an error instead).
    fn attach(&self, log: LocalLog) {
        let Some(rx) = self
            .tasks
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take()
        else {
            tracing::error!("continuum: a redis backplane can serve one hub; attach ignored");
            return;
        };
        let backfill = log.capacity();
        tokio::spawn(reader::run(self.shared.clone(), log.downgrade(), backfill));
        tokio::spawn(publisher::run(self.shared.clone(), rx));
    }

    fn publish(
        &self,
        _log: &LocalLog,
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
    ) -> Publishing {
        if self.shared.state() == State::Down {
            self.shared.metrics.failures.fetch_add(1, Ordering::Relaxed);
            return Publishing::ready(Err(self.shared.unavailable()));
        }
        let (reply, ack) = oneshot::channel();
        let request = publisher::Request::new(batch, key, reply);
        if self.requests.send(request).is_err() {
            return Publishing::ready(Err(BackplaneError::unavailable(
                "the redis publisher task is not running (its runtime shut down)",
                None,
            )));
        }
        Publishing::pending(async move {
            ack.await.unwrap_or_else(|_| {
                Err(BackplaneError::unavailable(
                    "the redis publisher task ended before replying",
                    None,
                ))
            })
        })
    }

    fn is_up(&self) -> bool {
        self.shared.state() == State::Up
    }

    fn ready(&self) -> Pin<Box<dyn Future<Output = ()> + Send + 'static>> {
        let mut changes = self.shared.state_changes();
        Box::pin(async move {
            let _ = changes.wait_for(|s| *s == State::Up).await;
        })
    }

    fn metrics(&self) -> Option<crate::metrics::BackplaneMetrics> {
        let m = &self.shared.metrics;
        Some(crate::metrics::BackplaneMetrics {
            up: self.is_up(),
            publishes: m.publishes.load(Ordering::Relaxed),
            publish_seconds_total: m.publish_micros.load(Ordering::Relaxed) as f64 / 1e6,
            publish_failures: m.failures.load(Ordering::Relaxed),
            entries_read: m.entries_read.load(Ordering::Relaxed),
            reader_lag_seconds: m.reader_lag_millis.load(Ordering::Relaxed) as f64 / 1e3,
            resets: m.resets.load(Ordering::Relaxed),
        })
    }
}

/// Turn an ack's text (`"<epoch> <stream id> …"`) into ids.
pub(crate) fn parse_ack(text: &[u8], replayed: bool) -> Result<Ack, BackplaneError> {
    let bad = || BackplaneError::new("unexpected reply from the publish script", None);
    let text = std::str::from_utf8(text).map_err(|_| bad())?;
    let mut parts = text.split(' ');
    let epoch = parts
        .next()
        .and_then(|e| entry::parse_epoch(e.as_bytes()))
        .ok_or_else(bad)?;
    let ids = parts
        .map(|id| entry::seq_of(id.as_bytes()).map(|seq| crate::id::EventId::new(epoch, seq)))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(bad)?;
    Ok(Ack { ids, replayed })
}
