//! The ring of encoded frames shared by every subscriber of a node: below
//! both the hub (which reads it for its subscribers) and the backplane
//! (which writes the ordered events into it through [`LocalLog`]).
//!
//! One ring is both the replay buffer and the live queue: a subscriber is a
//! cursor (a position in the ring), so fan-out costs each subscriber one
//! `Bytes` clone per event and publishers never touch subscribers. The ring
//! is written under a short write lock (push, evict) and read under a read
//! lock (copy a batch of `Bytes` out); no lock is held while anything is
//! written to a socket.
//!
//! Waking: a subscriber that has read everything registers its waker in
//! `waiters` (once per publish generation) and re-checks `head` under the same
//! mutex, so a publish between its last read and its registration is never
//! missed.

use std::borrow::Cow;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, RwLock};
use std::time::Instant;

mod frame;
mod keyed;
mod local;
mod start;
pub(crate) mod state;
pub(crate) mod versions;
mod wake;

pub(crate) use self::frame::Frame;
pub use self::frame::Outgoing;
#[cfg(feature = "redis")]
pub(crate) use self::keyed::Loaded;
pub(crate) use self::keyed::{SnapshotOf, Wants};
pub use self::local::{LocalLog, WeakLocalLog};
pub(crate) use self::start::Start;
pub(crate) use self::state::{KeyedState, Snap};
use self::versions::{Adapted, Versions};
use self::wake::Waiters;
use crate::id::{Epoch, EventId};
use crate::sse::{self, ResetReason};

pub(crate) struct Ring {
    pub(crate) frames: VecDeque<Frame>,
    /// Position of `frames[0]`; positions count every frame ever appended.
    pub(crate) first_pos: u64,
    /// Sequence of the newest frame no longer held (or the start of this
    /// node's view): a client that saw it can still replay without a gap.
    pub(crate) floor_seq: u64,
    /// Sequence of the newest frame appended (`floor_seq` when none).
    pub(crate) last_seq: u64,
    /// The epoch of the ids being appended now. A shared backplane learns it
    /// from its stream, and a new one begins when the stream is lost.
    pub(crate) epoch: Epoch,
    /// Position of the first frame of the current epoch: frames before it
    /// belong to a lost stream and are never replayed to a new subscriber.
    pub(crate) epoch_start: u64,
    /// Whether the backplane set the epoch yet (its first `restart`).
    pub(crate) joined: bool,
    /// The latest event per key of keyed types, updated with each append.
    pub(crate) state: KeyedState,
    /// One past the position of the newest frame evicted that was not keyed
    /// (or a control frame): a subscriber whose cursor is before it missed
    /// something conflation cannot stand in for.
    pub(crate) unkeyed_evicted: u64,
}

/// Where a subscriber is registered for wake-ups: (generation, index).
pub(crate) type Registration = (u64, usize);

pub(crate) struct Log {
    capacity: usize,
    /// Serialises publishers (sequence assignment and frame building) without
    /// blocking readers of the ring.
    publish: Mutex<()>,
    ring: RwLock<Ring>,
    /// Position one past the newest frame; readers poll it without the lock.
    head: AtomicU64,
    waiters: Mutex<Waiters>,
    /// Bumped by the shared heartbeat ticker.
    heartbeat: AtomicU64,
    /// Events appended or delivered into this log (the hub's
    /// `events_published`: on a shared backplane, every node's events).
    pub(crate) published: AtomicU64,
    /// SSE subscribers reading this log now (the hub's `subscribers_now`,
    /// and the fan-out span's `continuum.subscribers`).
    pub(crate) subscribers: AtomicU64,
    /// Keys evicted by the bound on live keys per type.
    pub(crate) keys_evicted: AtomicU64,
    /// When an eviction was last logged, and evictions since then.
    evict_log: Mutex<(Option<Instant>, u64)>,
    /// Whether a keyed type has a `ttl` (the ticker then sweeps the state).
    has_ttl: bool,
    /// This build's event versions and contract fingerprint.
    pub(crate) versions: Versions,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// What reading a batch found.
pub(crate) enum Read {
    /// Read up to the returned position (some frames may have been filtered out).
    Advanced(u64),
    /// Nothing new.
    Empty,
    /// The cursor fell out of the ring: `missed` frames are gone.
    Lagged { missed: u64 },
}

impl Log {
    #[cfg(test)]
    pub(crate) fn new(epoch: Epoch, capacity: usize) -> Self {
        let versions = Versions::new(Default::default());
        Log::with_state(epoch, capacity, KeyedState::new([], 1), versions)
    }

    /// A log whose keyed types are those `state` knows, for a build whose
    /// event versions are `versions`.
    pub(crate) fn with_state(
        epoch: Epoch,
        capacity: usize,
        state: KeyedState,
        versions: Versions,
    ) -> Self {
        let has_ttl = state.has_ttl();
        Log {
            capacity: capacity.max(1),
            publish: Mutex::new(()),
            ring: RwLock::new(Ring {
                frames: VecDeque::new(),
                first_pos: 0,
                floor_seq: 0,
                last_seq: 0,
                epoch,
                epoch_start: 0,
                joined: false,
                state,
                unkeyed_evicted: 0,
            }),
            head: AtomicU64::new(0),
            waiters: Mutex::new(Waiters::default()),
            heartbeat: AtomicU64::new(0),
            published: AtomicU64::new(0),
            subscribers: AtomicU64::new(0),
            keys_evicted: AtomicU64::new(0),
            evict_log: Mutex::new((None, 0)),
            has_ttl,
            versions,
        }
    }

    fn ring(&self) -> std::sync::RwLockReadGuard<'_, Ring> {
        self.ring.read().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn epoch(&self) -> Epoch {
        self.ring().epoch
    }

    pub(crate) fn capacity(&self) -> usize {
        self.capacity
    }

    pub(crate) fn head(&self) -> u64 {
        self.head.load(Ordering::Acquire)
    }

    pub(crate) fn heartbeat_generation(&self) -> u64 {
        self.heartbeat.load(Ordering::Acquire)
    }

    fn frame(id: EventId, o: Outgoing) -> Frame {
        let bytes = sse::event_frame(id, &o.type_name, &o.data);
        let data = if o.value.is_none() || o.key.is_some() {
            Some(o.data)
        } else {
            None
        };
        Frame {
            id,
            type_name: o.type_name,
            channel: o.channel,
            bytes,
            value: o.value,
            data,
            key: o.key,
            control: false,
            contract: false,
        }
    }

    /// Assign dense sequence numbers and append (the in-memory backplane).
    pub(crate) fn append(&self, batch: Vec<Outgoing>) -> Vec<EventId> {
        let guard = lock(&self.publish);
        let (epoch, mut seq) = {
            let ring = self.ring();
            (ring.epoch, ring.last_seq)
        };
        let mut ids = Vec::with_capacity(batch.len());
        let mut spans = Vec::new();
        // Encoding happens outside the ring lock: readers keep reading.
        let frames: Vec<Frame> = batch
            .into_iter()
            .map(|o| {
                seq += 1;
                let id = EventId::new(epoch, seq);
                ids.push(id);
                self.frame_traced(id, o, &mut spans)
            })
            .collect();
        self.push(frames);
        drop(guard);
        self.wake_all();
        // The fan-out spans end once the subscribers were woken.
        drop(spans);
        ids
    }

    /// Append events whose ids were assigned elsewhere (shared backplanes).
    pub(crate) fn deliver(&self, events: Vec<(EventId, Outgoing)>) {
        self.deliver_adapted(events.into_iter().map(|(id, o)| (id, Adapted::Same(o))));
    }

    /// As [`Self::deliver`], for events written at the given versions by
    /// any build: older versions are upcast, newer ones become a `contract`
    /// reset for their type.
    pub(crate) fn deliver_versioned(&self, events: Vec<(EventId, Outgoing, u32)>) {
        let versions = &self.versions;
        self.deliver_adapted(
            events
                .into_iter()
                .map(|(id, o, v)| (id, versions.adapt(o, v))),
        );
    }

    fn deliver_adapted(&self, events: impl Iterator<Item = (EventId, Adapted)>) {
        let guard = lock(&self.publish);
        let (epoch, mut last) = {
            let ring = self.ring();
            (ring.epoch, ring.last_seq)
        };
        let mut spans = Vec::new();
        let frames: Vec<Frame> = events
            .into_iter()
            .filter(|(id, _)| {
                let keep = id.epoch() == epoch && id.seq() > last;
                if keep {
                    last = id.seq();
                }
                keep
            })
            .map(|(id, adapted)| match adapted {
                Adapted::Same(o) | Adapted::Upcast(o) => self.frame_traced(id, o, &mut spans),
                Adapted::Unreadable(o) => Frame::contract(id, o),
            })
            .collect();
        if frames.is_empty() {
            return;
        }
        self.push(frames);
        drop(guard);
        self.wake_all();
        drop(spans);
    }

    /// [`Self::frame`], with the event's `continuum.deliver` span pushed to
    /// `spans` when something records it. With no `tracing` subscriber
    /// interested this is one relaxed load and a branch: no allocation, no
    /// formatting (`spans` stays an empty `Vec`).
    fn frame_traced(&self, id: EventId, o: Outgoing, spans: &mut Vec<tracing::Span>) -> Frame {
        if let Some(span) =
            crate::trace::deliver_span(id, &o.type_name, o.trace.as_deref(), &self.subscribers)
        {
            spans.push(span);
        }
        Self::frame(id, o)
    }

    pub(crate) fn resume_after(&self, seq: u64) {
        let _guard = lock(&self.publish);
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        if ring.frames.is_empty() && seq > ring.last_seq {
            ring.floor_seq = seq;
            ring.last_seq = seq;
        }
    }

    /// From now on ids are of `epoch` and continue after `after_seq`. The
    /// first call (the backplane joining its stream) only sets where the log
    /// starts. Any later one means the backplane's view broke (a new epoch,
    /// or events lost between the last one delivered and `after_seq`): every
    /// subscriber gets a `continuum.reset` with `reason`, in order, carrying
    /// the id to resume from; a subscriber connecting later with an older id
    /// gets a reset too. Nothing before the break is replayed after it.
    pub(crate) fn restart(&self, epoch: Epoch, after_seq: u64, reason: ResetReason) {
        let guard = lock(&self.publish);
        let after_seq = {
            let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
            let head = ring.first_pos + ring.frames.len() as u64;
            if !ring.joined {
                // The backplane's first word on the stream (at attach, or
                // when a shared one has joined it): where this node starts.
                ring.joined = true;
                ring.epoch = epoch;
                ring.epoch_start = head;
                ring.floor_seq = after_seq;
                ring.last_seq = after_seq;
                return;
            }
            if ring.epoch != epoch {
                // No entry of the lost stream is ever served again.
                ring.state.clear(head);
                ring.epoch = epoch;
                ring.epoch_start = head;
                ring.floor_seq = after_seq;
                ring.last_seq = after_seq;
                after_seq
            } else {
                // Ids at or before the break cannot prove a client missed
                // nothing; the reset keeps the ring ordered by `seq`.
                let after_seq = ring.last_seq.max(after_seq);
                ring.floor_seq = after_seq;
                ring.last_seq = after_seq;
                after_seq
            }
        };
        let id = EventId::new(epoch, after_seq);
        let frame = Frame {
            id,
            type_name: Cow::Borrowed(sse::RESET_EVENT),
            channel: None,
            bytes: sse::reset_frame(reason, Some(id)),
            value: None,
            data: None,
            key: None,
            control: true,
            contract: false,
        };
        self.push(vec![frame]);
        drop(guard);
        self.wake_all();
    }

    fn push(&self, frames: Vec<Frame>) {
        let n = frames.len() as u64;
        let events = frames.iter().filter(|f| !f.control).count() as u64;
        self.published.fetch_add(events, Ordering::Relaxed);
        // Frames evicted here are dropped after the lock is released.
        let mut evicted = Vec::new();
        let mut keys_evicted = 0;
        {
            let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
            let ring = &mut *ring;
            let head = ring.first_pos + ring.frames.len() as u64;
            // One clock read per batch, and only when it holds a keyed event:
            // unkeyed types pay nothing here.
            let mut now = None;
            for (pos, f) in (head..).zip(frames) {
                ring.last_seq = f.id.seq();
                if let Some(key) = &f.key {
                    let now = *now.get_or_insert_with(tokio::time::Instant::now);
                    keys_evicted += ring.state.update(&f, key, pos, now).evicted;
                }
                ring.frames.push_back(f);
            }
            while ring.frames.len() > self.capacity {
                if let Some(old) = ring.frames.pop_front() {
                    ring.floor_seq = old.id.seq();
                    ring.first_pos += 1;
                    if old.key.is_none() {
                        ring.unkeyed_evicted = ring.first_pos;
                    }
                    evicted.push(old);
                }
            }
            self.head.fetch_add(n, Ordering::AcqRel);
        }
        drop(evicted);
        if keys_evicted > 0 {
            self.record_evictions(keys_evicted);
        }
    }

    /// Read frames at `cursor`, at most `max`, calling `f` on each. Stops
    /// early when `f` returns `false` (the frame is then not consumed).
    pub(crate) fn read(&self, cursor: u64, max: usize, mut f: impl FnMut(&Frame) -> bool) -> Read {
        let ring = self.ring.read().unwrap_or_else(PoisonError::into_inner);
        if cursor < ring.first_pos {
            return Read::Lagged {
                missed: ring.first_pos - cursor,
            };
        }
        let start = (cursor - ring.first_pos) as usize;
        if start >= ring.frames.len() {
            return Read::Empty;
        }
        let mut pos = cursor;
        for frame in ring.frames.range(start..).take(max) {
            if !f(frame) {
                break;
            }
            pos += 1;
        }
        Read::Advanced(pos)
    }

    /// The id of the newest frame (seq 0 of the epoch when none).
    pub(crate) fn last_id(&self) -> EventId {
        let ring = self.ring();
        EventId::new(ring.epoch, ring.last_seq)
    }
}
