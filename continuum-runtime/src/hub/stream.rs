//! The SSE subscription served as the body of `GET /api/events`.

use std::collections::VecDeque;
use std::convert::Infallible;
use std::fmt;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;

use super::limits::Admission;
use super::{Grant, Inner, TypeFilter};
use crate::id::{encode_u64, splitmix64};
use crate::ring::{Frame, Read, Registration, Wants};
use crate::sse::{self, ResetReason};

/// Frames copied out of the ring per read-lock acquisition.
const READ_BATCH: usize = 64;
/// Bytes concatenated into one body chunk when several frames are ready: one
/// chunk (one `write`, one HTTP/1.1 chunk header) instead of many.
const COALESCE_BYTES: usize = 32 * 1024;
/// Ring batches read in one poll before yielding to other tasks.
const READS_PER_POLL: usize = 16;

/// What a subscription asks for. Build with [`SseOptions::new`] and the setters.
///
/// ```
/// use continuum_runtime::hub::{Grant, SseOptions, TypeFilter};
///
/// let opts = SseOptions::new()
///     .last_event_id("abc")
///     .types(TypeFilter::parse("media.*").unwrap())
///     .grant(Grant::public().with_channel("user:1"));
/// assert_eq!(opts.last_event_id.as_deref(), Some("abc"));
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct SseOptions {
    /// The client's `Last-Event-ID` header (or `lastEventId` query), verbatim.
    pub last_event_id: Option<String>,
    /// The `?types=` filter.
    pub types: TypeFilter,
    /// What the authorization hook granted.
    pub grant: Grant,
    /// `?snapshot=true`: before live events, the latest event of each live
    /// key of the keyed types the filter matches (and the grant allows),
    /// then `continuum.snapshot`. Not sent when `last_event_id` replays
    /// from the buffer; sent after the reset when it cannot.
    pub snapshot: bool,
    /// The fingerprint of the contract the client was built from (the
    /// `contract` query); `None`: the client does not say, nothing is checked.
    pub contract: Option<String>,
    /// The version the client reads of each event type it reads at version
    /// 2 or later (the `versions` query); any other type: version 1.
    pub versions: Vec<(String, u32)>,
}

impl SseOptions {
    /// Every type, public events only, no replay.
    pub fn new() -> Self {
        SseOptions::default()
    }

    /// Resume after this id (replay, or `continuum.reset` if that leaves a gap).
    pub fn last_event_id(mut self, id: impl Into<String>) -> Self {
        self.last_event_id = Some(id.into());
        self
    }

    /// Only these event types.
    pub fn types(mut self, types: TypeFilter) -> Self {
        self.types = types;
        self
    }

    /// The channels the subscriber may see.
    pub fn grant(mut self, grant: Grant) -> Self {
        self.grant = grant;
        self
    }

    /// Start with a snapshot of keyed state (see [`SseOptions::snapshot`](#structfield.snapshot)).
    pub fn snapshot(mut self, snapshot: bool) -> Self {
        self.snapshot = snapshot;
        self
    }
    /// The client's contract: its fingerprint, and the types it reads at a
    /// version above 1. With a fingerprint other than the hub's, every
    /// subscribed type whose version here differs from the client's is
    /// named in one `continuum.reset` (`contract`) right after the
    /// handshake, and none of its events is sent on this stream.
    ///
    /// ```
    /// use continuum_runtime::hub::SseOptions;
    ///
    /// let opts = SseOptions::new().contract("0123456789abcdef", [("ai.task.progress", 2)]);
    /// assert_eq!(opts.versions, [("ai.task.progress".to_owned(), 2)]);
    /// ```
    pub fn contract<'a>(
        mut self,
        fingerprint: impl Into<String>,
        versions: impl IntoIterator<Item = (&'a str, u32)>,
    ) -> Self {
        self.contract = Some(fingerprint.into());
        self.versions = versions
            .into_iter()
            .map(|(t, v)| (t.to_owned(), v))
            .collect();
        self
    }
}

/// The subscribed types whose version on this hub is not the one the
/// client reads, sorted; none when the client sent no fingerprint, or the
/// hub's.
fn unreadable_types(inner: &Inner, options: &SseOptions) -> Vec<&'static str> {
    let Some(fingerprint) = &options.contract else {
        return Vec::new();
    };
    let versions = &inner.log.log.versions;
    if **versions.fingerprint() == **fingerprint {
        return Vec::new();
    }
    let mut types: Vec<&'static str> = versions
        .registry()
        .iter()
        .filter(|reg| options.types.matches(reg.type_name))
        .filter(|reg| {
            let client = options
                .versions
                .iter()
                .find(|(t, _)| t == reg.type_name)
                .map_or(1, |(_, v)| *v);
            client != reg.version
        })
        .map(|reg| reg.type_name)
        .collect();
    types.sort_unstable();
    types
}

/// A frame of a type the subscriber was told it will not get, or a
/// `contract` reset: the reset goes out once per type, then nothing of it.
fn contract_filter(blocked: &mut Option<Box<Blocked>>, frame: &Frame) -> bool {
    let Blocked(list) = &mut **blocked.get_or_insert_with(Default::default);
    if list.iter().any(|t| **t == *frame.type_name) {
        return false;
    }
    if frame.contract {
        list.push(frame.type_name.to_string());
    }
    true
}

/// A grant's expiry and its timer, made at the first poll (a timer needs a
/// runtime).
struct ExpiryTimer {
    at: tokio::time::Instant,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Open,
    /// Send what is pending, then end.
    Ending,
    Done,
}

/// One SSE subscriber: an `http_body::Body` (and a `Stream` of `Bytes`)
/// yielding complete SSE frames. Each item holds one or more whole frames.
///
/// Idle, it holds no buffer: a cursor into the hub's shared ring, its filter
/// and grant, and a slot in the hub's waker list. Dropping it (client gone)
/// updates the metrics.
pub struct SseStream {
    inner: Arc<Inner>,
    cursor: u64,
    /// Head of the ring at subscribe time: frames before it are replay,
    /// which does not count towards the lag bound.
    live_from: u64,
    filter: TypeFilter,
    grant: Grant,
    pending: VecDeque<Bytes>,
    state: State,
    heartbeat: u64,
    deadline: Option<tokio::time::Instant>,
    registration: Option<Registration>,
    connection_id: String,
    retry_ms: u64,
    /// When the grant expires (see [`Grant::with_expiry`]); boxed, as few
    /// grants expire and every idle subscriber pays for inline room.
    expiry: Option<Box<ExpiryTimer>>,
    /// The subscriber's place under the hub's caps, given back on drop.
    _admission: Option<Admission>,
    /// Event types this stream no longer sends (after a `contract` reset);
    /// `None`, and no cost, until there is one.
    blocked: Option<Box<Blocked>>,
}

/// The event types a stream no longer sends. Boxed in the stream: most
/// never have one, and every idle subscriber pays for inline room.
#[derive(Debug, Default)]
struct Blocked(Vec<String>);

impl fmt::Debug for SseStream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SseStream")
            .field("connection_id", &self.connection_id)
            .field("cursor", &self.cursor)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}

impl SseStream {
    pub(crate) fn new(
        inner: Arc<Inner>,
        options: SseOptions,
        admission: Option<Admission>,
    ) -> Self {
        let log = &inner.log.log;
        // Types the client cannot read: reset once, never sent (nor in the snapshot).
        let unreadable = unreadable_types(&inner, &options);
        let (types, grant) = (&options.types, &options.grant);
        let (t, c) = (
            |n: &str| types.matches(n) && !unreadable.contains(&n),
            |ch: Option<&str>| grant.allows(ch),
        );
        let wants = Wants {
            types: &t,
            channel: &c,
        };
        let (start, snapshot) = log.start_with_snapshot(
            options.last_event_id.as_deref(),
            options.snapshot.then_some(&wants),
        );
        let n = inner.connections.fetch_add(1, Relaxed);
        let r = splitmix64(inner.seed ^ splitmix64(n));
        let connection_id = encode_u64(r);
        let base = inner.config.retry_base.as_millis().min(u64::MAX as u128) as u64;
        let retry_ms = base + if base == 0 { 0 } else { (r >> 17) % base };
        let mut pending = VecDeque::with_capacity(2);
        pending.push_back(sse::connected_frame(
            retry_ms,
            &connection_id,
            start.epoch,
            Some(start.resume),
        ));
        let blocked = if unreadable.is_empty() {
            None
        } else {
            pending.push_back(sse::contract_reset_frame(unreadable.iter().copied(), None));
            inner.metrics.resets.fetch_add(1, Relaxed);
            Some(Box::new(Blocked(
                unreadable.iter().map(|t| t.to_string()).collect(),
            )))
        };
        if let Some(reason) = start.reset {
            pending.push_back(sse::reset_frame(reason, None));
            inner.metrics.resets.fetch_add(1, Relaxed);
        }
        if let Some(snapshot) = snapshot {
            pending.extend(super::snapshot::sse_frames(snapshot));
        }
        inner.log.log.subscribers.fetch_add(1, Relaxed);
        inner.metrics.connections_total.fetch_add(1, Relaxed);
        let deadline = inner
            .config
            .max_connection_lifetime
            .map(|d| tokio::time::Instant::now() + d);
        tracing::debug!(connection_id = %connection_id, reset = ?start.reset.map(ResetReason::as_str), "sse subscriber connected");
        let expiry = options.grant.expires_at().map(|at| {
            Box::new(ExpiryTimer {
                at: tokio::time::Instant::from_std(at),
                timer: None,
            })
        });
        SseStream {
            blocked,
            expiry,
            _admission: admission,
            heartbeat: log.heartbeat_generation(),
            cursor: start.cursor,
            live_from: start.head,
            filter: options.types,
            grant: options.grant,
            pending,
            state: State::Open,
            deadline,
            registration: None,
            connection_id,
            retry_ms,
            inner,
        }
    }

    /// This connection's id, as sent in `continuum.connected`.
    pub fn connection_id(&self) -> &str {
        &self.connection_id
    }

    /// The `retry:` hint sent to this connection, in milliseconds.
    pub fn retry_ms(&self) -> u64 {
        self.retry_ms
    }

    /// The subscriber fell behind: conflate it to the latest event per key
    /// it missed when everything it missed was keyed, else cut it off.
    fn fell_behind(&mut self) {
        let (types, grant) = (&self.filter, &self.grant);
        let (t, c) = (
            |n: &str| types.matches(n),
            |ch: Option<&str>| grant.allows(ch),
        );
        let wants = Wants {
            types: &t,
            channel: &c,
        };
        match self.inner.log.log.conflate(self.cursor, &wants) {
            Some(conflated) => {
                self.cursor = conflated.cursor;
                let n = conflated.frames.len() as u64;
                self.pending.extend(conflated.frames);
                self.inner.metrics.frames_delivered.fetch_add(n, Relaxed);
                self.inner.metrics.conflated.fetch_add(1, Relaxed);
                tracing::debug!(connection_id = %self.connection_id, keys = n, "sse subscriber fell behind on keyed events; sent the latest per key");
            }
            None => self.cut_off(),
        }
    }

    fn cut_off(&mut self) {
        let log = &self.inner.log.log;
        self.pending.clear();
        self.pending
            .push_back(sse::reset_frame(ResetReason::Lagged, Some(log.last_id())));
        self.state = State::Ending;
        self.inner.metrics.resets.fetch_add(1, Relaxed);
        self.inner.metrics.cut_off.fetch_add(1, Relaxed);
        tracing::debug!(connection_id = %self.connection_id, "sse subscriber fell behind; cut off with a reset");
    }

    /// Whether the grant has expired; arms the expiry timer otherwise.
    fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(expiry) = &mut self.expiry else {
            return false;
        };
        let at = expiry.at;
        if tokio::time::Instant::now() >= at {
            return true;
        }
        if expiry.timer.is_none() && tokio::runtime::Handle::try_current().is_err() {
            // Polled outside Tokio: checked again at the next poll.
            return false;
        }
        let timer = expiry
            .timer
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(at)));
        std::future::Future::poll(timer.as_mut(), cx).is_ready()
    }

    /// The grant expired: drop what is not yet written (the subscriber may
    /// no longer see it), send the `expired` reset and end.
    fn expire(&mut self) {
        self.expiry = None;
        self.pending.clear();
        self.pending
            .push_back(sse::reset_frame(ResetReason::Expired, None));
        self.state = State::Ending;
        self.inner.metrics.resets.fetch_add(1, Relaxed);
        tracing::debug!(connection_id = %self.connection_id, "sse subscriber's grant expired; ended with a reset");
    }

    /// Pop the next chunk: the first pending frame, or several concatenated.
    fn next_chunk(&mut self) -> Option<Bytes> {
        let first = self.pending.pop_front()?;
        if self.pending.is_empty() || first.len() >= COALESCE_BYTES {
            return Some(first);
        }
        let mut total = first.len();
        let mut count = 1;
        for b in &self.pending {
            if total + b.len() > COALESCE_BYTES {
                break;
            }
            total += b.len();
            count += 1;
        }
        if count == 1 {
            return Some(first);
        }
        let mut buf = Vec::with_capacity(total);
        buf.extend_from_slice(&first);
        for b in self.pending.drain(..count - 1) {
            buf.extend_from_slice(&b);
        }
        Some(Bytes::from(buf))
    }

    fn poll_chunk(&mut self, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        match self.poll_fill(cx) {
            Poll::Ready(true) => Poll::Ready(self.next_chunk()),
            Poll::Ready(false) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    }

    /// The frames ready to write, oldest first (see [`Self::poll_fill`]).
    pub(crate) fn frames(&self) -> &VecDeque<Bytes> {
        &self.pending
    }

    /// Forget the first `n` ready frames: they were written.
    pub(crate) fn consume(&mut self, n: usize) {
        self.pending.drain(..n.min(self.pending.len()));
    }

    /// Make frames ready: `Ready(true)` when [`Self::frames`] holds at least
    /// one, `Ready(false)` when the stream has ended, `Pending` (waker
    /// registered) when there is nothing to send yet.
    pub(crate) fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<bool> {
        if self.state == State::Open && self.poll_expired(cx) {
            self.expire();
        }
        let mut reads = 0;
        loop {
            if !self.pending.is_empty() {
                return Poll::Ready(true);
            }
            match self.state {
                State::Open => {}
                State::Ending | State::Done => {
                    self.state = State::Done;
                    return Poll::Ready(false);
                }
            }
            let log = &self.inner.log.log;
            let hb = log.heartbeat_generation();
            if hb != self.heartbeat {
                self.heartbeat = hb;
                if self
                    .deadline
                    .is_some_and(|d| tokio::time::Instant::now() >= d)
                {
                    tracing::debug!(connection_id = %self.connection_id, "sse connection reached its lifetime cap");
                    self.state = State::Done;
                    return Poll::Ready(false);
                }
                self.pending.push_back(sse::keep_alive());
                return Poll::Ready(true);
            }
            let head = log.head();
            if self.cursor < head {
                if head - self.cursor.max(self.live_from) > self.inner.config.queue_bound as u64 {
                    self.fell_behind();
                    continue;
                }
                let (filter, grant, pending) = (&self.filter, &self.grant, &mut self.pending);
                let blocked = &mut self.blocked;
                let resets = &self.inner.metrics.resets;
                let read = log.read(self.cursor, READ_BATCH, |f| {
                    if f.control {
                        // The backplane's reset: for every subscriber.
                        resets.fetch_add(1, Relaxed);
                        pending.push_back(f.bytes.clone());
                    } else if filter.matches(&f.type_name)
                        && grant.allows(f.channel.as_deref())
                        && ((blocked.is_none() && !f.contract) || contract_filter(blocked, f))
                    {
                        if f.contract {
                            resets.fetch_add(1, Relaxed);
                        }
                        pending.push_back(f.bytes.clone());
                    }
                    true
                });
                match read {
                    Read::Advanced(pos) => {
                        self.cursor = pos;
                        if !self.pending.is_empty() {
                            self.inner
                                .metrics
                                .frames_delivered
                                .fetch_add(self.pending.len() as u64, Relaxed);
                        }
                    }
                    Read::Lagged { .. } => self.fell_behind(),
                    Read::Empty => {}
                }
                reads += 1;
                if reads >= READS_PER_POLL && self.pending.is_empty() {
                    // Long run of filtered-out frames: let other tasks run.
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                continue;
            }
            if log.register(
                &mut self.registration,
                cx.waker(),
                self.cursor,
                self.heartbeat,
            ) {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for SseStream {
    fn drop(&mut self) {
        self.inner.log.log.subscribers.fetch_sub(1, Relaxed);
        tracing::debug!(connection_id = %self.connection_id, "sse subscriber disconnected");
    }
}

impl futures_core::Stream for SseStream {
    type Item = Bytes;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Bytes>> {
        self.get_mut().poll_chunk(cx)
    }
}

impl http_body::Body for SseStream {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        self.get_mut()
            .poll_chunk(cx)
            .map(|c| c.map(|b| Ok(http_body::Frame::data(b))))
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done && self.pending.is_empty()
    }
}
