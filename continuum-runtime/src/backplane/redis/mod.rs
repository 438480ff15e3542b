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
//! - **Several builds on one stream.** Every entry carries the writer's
//!   contract fingerprint (`w`) and, for an event declared with
//!   `version = N` above 1, its version (`v`; absent means 1). A node
//!   upcasts an older version before fan-out and replay (once per entry),
//!   and never sends a version newer than its build knows: the subscribers
//!   of that type get `continuum.reset` (`contract`) instead
//!   ([`LocalLog::deliver_versioned`]).
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
//! - **Keyed state on every node.** The latest event per key of a keyed
//!   type (`#[continuum_event("…", key = field)]`) is kept in Redis
//!   (`<stream>:state:<type>`, ordered by update in
//!   `<stream>:state-order:<type>` for the `ttl` and the bound on live
//!   keys), written by the same script as the event's `XADD`. Every node
//!   also keeps it in memory from the entries it reads (each carries its
//!   key), so all nodes serve identical snapshots; a node that starts loads
//!   the hashes in the same atomic step as the stream's tail, so its state is
//!   the one at its stream position, even for keys older than the
//!   retention. [`Hub::forget`](crate::Hub::forget) writes a forget entry
//!   that every node applies in order. A new epoch deletes every state key
//!   of the lost stream (and values carry their epoch), so a snapshot never
//!   mixes epochs.
//! - **Acknowledged before `202`.** [`Hub::emit`](crate::Hub::emit) and
//!   ingest resolve once Redis has replied. Publishes wait in one queue per
//!   node and go out together, pipelined, while the previous group is in
//!   flight: one round trip for many concurrent publishes, in call order.
//!
//! # Topologies
//!
//! The URL says which (see `topology.rs`): `redis://host:6379` is one
//! server; several comma-separated `redis://` URLs are the seed nodes of a
//! Redis Cluster ([`RedisOptions::cluster`]);
//! `redis+sentinel://s1:26379,s2:26379/mymaster` is the primary that
//! Sentinel names for `mymaster`, looked up again on every reconnect.
//!
//! ```no_run
//! use continuum_runtime::Hub;
//!
//! # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hub = Hub::builder()
//!     .redis_cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"])
//!     .redis_wait_replicas(1)
//!     .build()?;
//! # let _ = hub; Ok(()) }
//! ```
//!
//! Every key of a stream lands in one hash slot: they are all derived from
//! one base, which a cluster gives a hash tag (`{continuum:events}`,
//! `{continuum:events}:epoch`, …); a name that already has a tag
//! (`{app}:events`) is kept, and one whose braces are not a valid tag
//! (`app{}`) is refused when the hub is built, with the fix in the error.
//! On one server or through Sentinel a name without braces keeps the key
//! names of earlier releases.
//!
//! # Failover
//!
//! Redis replicates asynchronously: a primary that dies may have
//! acknowledged entries that its replica never got, and the promoted
//! replica then numbers and dates new entries as if they had never been,
//! reissuing entry numbers and possibly stream ids that browsers already
//! hold for other events. So every reconnect in the same epoch first checks
//! (one script, `RESUME`) that the stream still holds what this node knows
//! of it: the last entry it delivered (same id, same number), the newest id
//! its publishes were acknowledged with, and an entry counter at least that
//! far. If not, the node replaces the stream with an empty one of a new
//! epoch, atomically, and every subscriber of every node gets
//! `continuum.reset` (`stream_lost`) — a new epoch rather than a reset
//! within the old one, because ids must never go backwards within an epoch
//! and the new primary's may. A node that saw nothing lost carries on; the
//! first node that did starts the new epoch, and the others follow it. Lost
//! entries that no node delivered and no publish of a running node was
//! acknowledged with (a node that died with its acks) cannot be detected:
//! that is what `WAIT` narrows.
//!
//! # Durability: `WAIT`
//!
//! With [`RedisOptions::wait_replicas`] (`CONTINUUM_REDIS_WAIT_REPLICAS`),
//! each group of publishes is followed by `WAIT n <timeout>`, and
//! [`Hub::emit`](crate::Hub::emit) and ingest succeed only once `n` replicas
//! confirmed the write. Fewer within the timeout (default 1 s) fails the
//! publish as unavailable (`503`), although the events were written and
//! may still be delivered: retry with the same `Idempotency-Key`. `WAIT`
//! does not make Redis strongly consistent: a failover can still promote a
//! replica that was not among the `n`, and a confirmed write can be lost
//! if those replicas fail too. It makes losing an acknowledged event
//! require more than one failure, and costs a replication round trip per
//! publish group.
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
pub(crate) mod keys;
mod options;
mod publisher;
mod reader;
mod scripts;
pub(crate) mod topology;

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use tokio::sync::{mpsc, oneshot, watch};

use self::keys::StreamKeys;
pub use self::options::RedisOptions;
use self::topology::{Connection, Endpoint, Topology};
use super::{Ack, Backplane, BackplaneError, IdempotencyKey, LocalLog, Outgoing, Publishing};
use crate::id::Epoch;

/// The stream key when none is configured.
pub const DEFAULT_STREAM: &str = "continuum:events";
/// Entries the stream keeps (`XADD … MAXLEN ~`) when not configured.
pub const DEFAULT_RETENTION: usize = 100_000;

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

/// What the publisher and reader tasks share.
pub(crate) struct Shared {
    pub(crate) topology: Topology,
    pub(crate) keys: StreamKeys,
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
    /// A publish met a failover (`READONLY`): the reader reconnects, which
    /// through Sentinel finds the new primary and checks what was lost.
    pub(crate) reconnect: AtomicBool,
    /// The newest stream id (as a sequence) a publish was acknowledged
    /// with, and its epoch: checked after a reconnect (see `RESUME`).
    pub(crate) acked: Mutex<Option<(Epoch, u64)>>,
    pub(crate) metrics: RedisMetrics,
    /// The node's contract fingerprint, written into every entry (set at
    /// attach, from the hub's registry).
    pub(crate) fingerprint: std::sync::OnceLock<Arc<str>>,
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
    pub(crate) async fn connect(&self, for_reader: bool) -> redis::RedisResult<Connection> {
        self.topology
            .connect(for_reader, self.options.timeouts())
            .await
    }

    /// Remember that a publish was acknowledged with `ack`.
    pub(crate) fn acknowledged(&self, ack: &Ack) {
        let Some(last) = ack.ids.last().filter(|_| !ack.replayed) else {
            return;
        };
        let mut acked = self.acked.lock().unwrap_or_else(PoisonError::into_inner);
        match &mut *acked {
            Some((epoch, seq)) if *epoch == last.epoch() => *seq = (*seq).max(last.seq()),
            other => *other = Some((last.epoch(), last.seq())),
        }
    }
}

impl RedisBackplane {
    /// A backplane for the Redis and stream in `options`. Nothing connects
    /// until the hub is built ([`Backplane::attach`]), which must happen
    /// inside a Tokio runtime.
    ///
    /// # Errors
    /// When the URL cannot be parsed, or the stream's name would put its
    /// keys in different Redis Cluster slots (see [Topologies](self#topologies)).
    pub fn new(options: RedisOptions) -> Result<Self, BackplaneError> {
        let endpoint = Endpoint::parse(&options.url).map_err(|e| {
            BackplaneError::new(format!("invalid redis url `{}`: {e}", options.url), None)
        })?;
        let keys = StreamKeys::new(&options.stream, matches!(endpoint, Endpoint::Cluster(_)))
            .map_err(|e| BackplaneError::new(e.to_string(), Some(Box::new(e))))?;
        // TCP_NODELAY (redis-rs leaves Nagle on): several publishes are in
        // flight on one connection, and with Nagle each small write after
        // the first waits for the previous one's ACK, i.e. for Redis's reply,
        // which serialises the pipelines. Measured (1 subscriber, 4,000
        // events, 4 publishing connections, loopback): see BENCHMARKS.md.
        let topology = Topology::open(&endpoint, options.timeouts()).map_err(|e| {
            BackplaneError::new(
                format!("invalid redis url `{}`: {e}", options.url),
                Some(Box::new(e)),
            )
        })?;
        let (requests, rx) = mpsc::unbounded_channel();
        let (state, _) = watch::channel(State::Connecting);
        Ok(RedisBackplane {
            shared: Arc::new(Shared {
                topology,
                keys,
                options,
                state,
                down_reason: Mutex::new("not connected yet".to_owned()),
                resync: AtomicBool::new(false),
                generation: AtomicU64::new(0),
                reconnect: AtomicBool::new(false),
                acked: Mutex::new(None),
                metrics: RedisMetrics::default(),
                fingerprint: std::sync::OnceLock::new(),
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
        let _ = self.shared.fingerprint.set(Arc::from(log.fingerprint()));
        let backfill = log.capacity();
        tokio::spawn(reader::run(self.shared.clone(), log.downgrade(), backfill));
        tokio::spawn(publisher::run(self.shared.clone(), rx));
    }

    fn publish(
        &self,
        log: &LocalLog,
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
    ) -> Publishing {
        let versions = if batch.iter().any(|o| log.version_of(&o.type_name) > 1) {
            batch.iter().map(|o| log.version_of(&o.type_name)).collect()
        } else {
            Vec::new()
        };
        let what = publisher::What::Publish {
            ttls: batch
                .iter()
                .map(|o| log.log.ttl_millis(&o.type_name))
                .collect(),
            max_keys: log.log.max_keys(),
            batch,
            key,
            versions,
        };
        self.send(what)
    }

    fn forget(&self, _log: &LocalLog, type_name: &str, key: &str) -> Publishing {
        self.send(publisher::What::Forget {
            type_name: type_name.to_owned(),
            key: key.to_owned(),
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
        self.metrics_now()
    }
}

impl RedisBackplane {
    /// Hand a publish (or a forget) to the publisher task.
    fn send(&self, what: publisher::What) -> Publishing {
        if self.shared.state() == State::Down {
            self.shared.metrics.failures.fetch_add(1, Ordering::Relaxed);
            return Publishing::ready(Err(self.shared.unavailable()));
        }
        let (reply, ack) = oneshot::channel();
        let request = publisher::Request::new(what, reply);
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

    fn metrics_now(&self) -> Option<crate::metrics::BackplaneMetrics> {
        let m = &self.shared.metrics;
        Some(crate::metrics::BackplaneMetrics {
            up: self.shared.state() == State::Up,
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
