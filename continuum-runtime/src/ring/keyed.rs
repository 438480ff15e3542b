//! What the log does with keyed state (see [`super::state`]): snapshots
//! taken together with a subscription's start (under the same read lock as
//! the ring's head, so snapshot ∪ live has no gap and no duplicate),
//! conflation of a subscriber that fell behind on keyed events only,
//! `forget`, the `ttl` sweep, state loaded from a shared backplane, and the
//! eviction log line.

use std::sync::atomic::Ordering;
use std::sync::{Arc, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;

#[cfg(feature = "redis")]
use super::state::Entry;
use super::{lock, Log, Ring, Snap, Start};
use crate::id::EventId;
#[cfg(feature = "redis")]
use crate::sse;

/// Evictions are logged at most this often (one line per burst).
const EVICTION_LOG_EVERY: Duration = Duration::from_secs(10);

/// A snapshot of keyed state at a position of the log.
#[derive(Debug)]
pub(crate) struct SnapshotOf {
    /// The latest event of each live key, in id order.
    pub(crate) entries: Vec<Snap>,
    /// The keyed types it covers, sorted.
    pub(crate) types: Vec<Arc<str>>,
    /// The id of the newest event at the snapshot's position.
    pub(crate) last_id: EventId,
}

/// A lagging subscriber conflated: where it continues, and the latest event
/// per key it missed, in id order.
pub(crate) struct Conflated {
    pub(crate) cursor: u64,
    pub(crate) frames: Vec<Bytes>,
}

/// Which events a snapshot or conflation is for: the subscription's type
/// filter and grant.
pub(crate) struct Wants<'a> {
    pub(crate) types: &'a dyn Fn(&str) -> bool,
    pub(crate) channel: &'a dyn Fn(Option<&str>) -> bool,
}

/// One entry of a shared backplane's state, to load at join.
#[cfg(feature = "redis")]
#[derive(Debug)]
pub(crate) struct Loaded {
    pub(crate) type_name: String,
    pub(crate) key: Arc<str>,
    pub(crate) id: EventId,
    pub(crate) channel: Option<Arc<str>>,
    pub(crate) data: Bytes,
    /// How long ago it was updated.
    pub(crate) age: Duration,
}

fn snapshot_in(ring: &Ring, from: u64, wants: &Wants<'_>) -> SnapshotOf {
    let head = ring.first_pos + ring.frames.len() as u64;
    let now = tokio::time::Instant::now();
    SnapshotOf {
        entries: ring
            .state
            .collect(from, head, now, wants.types, wants.channel),
        types: ring.state.types_for(wants.types),
        last_id: EventId::new(ring.epoch, ring.last_seq),
    }
}

impl Log {
    /// [`Log::start`], and with `snapshot` the keyed state at the same
    /// position when the subscription starts without replay (no
    /// `Last-Event-ID`, or a reset): a replay from the buffer gets none.
    pub(crate) fn start_with_snapshot(
        &self,
        last_event_id: Option<&str>,
        snapshot: Option<&Wants<'_>>,
    ) -> (Start, Option<SnapshotOf>) {
        let ring = self.ring();
        let start = Self::start_in(&ring, last_event_id);
        let fresh = start.reset.is_some() || last_event_id.is_none_or(|t| t.trim().is_empty());
        let snap = snapshot
            .filter(|_| fresh)
            .map(|wants| snapshot_in(&ring, 0, wants));
        (start, snap)
    }

    /// The keyed state now (for `GET /api/events/state`).
    pub(crate) fn snapshot(&self, wants: &Wants<'_>) -> SnapshotOf {
        snapshot_in(&self.ring(), 0, wants)
    }

    /// A subscriber at `cursor` fell behind (its cursor left the ring, or it
    /// is past the lag bound). When everything it missed that it may see was
    /// keyed, and the state still holds the latest event of every key it
    /// missed, it continues from the head with those latest events instead
    /// of a reset; otherwise `None`.
    pub(crate) fn conflate(&self, cursor: u64, wants: &Wants<'_>) -> Option<Conflated> {
        let ring = self.ring();
        if ring.state.is_empty() || ring.state.dropped_pos > cursor || ring.unkeyed_evicted > cursor
        {
            return None;
        }
        let head = ring.first_pos + ring.frames.len() as u64;
        let held = (cursor.max(ring.first_pos) - ring.first_pos) as usize;
        for f in ring.frames.range(held..) {
            let wanted = (wants.types)(&f.type_name) && (wants.channel)(f.channel.as_deref());
            if f.control || (f.key.is_none() && wanted) {
                return None;
            }
        }
        let now = tokio::time::Instant::now();
        let frames = ring
            .state
            .collect(cursor, head, now, wants.types, wants.channel)
            .into_iter()
            .map(|s| s.entry.bytes)
            .collect();
        Some(Conflated {
            cursor: head,
            frames,
        })
    }

    /// Drop `key` of `type_name` from the state now.
    pub(crate) fn forget(&self, type_name: &str, key: &str) -> bool {
        let _guard = lock(&self.publish);
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        ring.state.forget(type_name, key)
    }

    /// Drop the keys past their type's `ttl` (the hub's ticker calls this).
    pub(crate) fn expire_state(&self) {
        if !self.has_ttl {
            return;
        }
        let now = tokio::time::Instant::now();
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        ring.state.expire(now);
    }

    #[cfg(feature = "redis")]
    /// Load state kept elsewhere (a shared backplane's, at join), as of the
    /// log's head: call before delivering what follows it.
    pub(crate) fn load_state(&self, mut loaded: Vec<Loaded>) {
        loaded.sort_by_key(|l| l.id);
        let _guard = lock(&self.publish);
        let mut ring = self.ring.write().unwrap_or_else(PoisonError::into_inner);
        let ring = &mut *ring;
        let pos = ring.first_pos + ring.frames.len() as u64;
        let now = tokio::time::Instant::now();
        for l in loaded {
            if l.id.epoch() != ring.epoch {
                continue;
            }
            let entry = Entry {
                id: l.id,
                pos,
                channel: l.channel,
                bytes: sse::event_frame(l.id, &l.type_name, &l.data),
                data: l.data,
                updated: now.checked_sub(l.age).unwrap_or(now),
            };
            ring.state.load(&l.type_name, l.key, entry);
        }
        ring.state.expire(now);
    }

    #[cfg(feature = "redis")]
    /// The keyed types this node knows (from its registry), sorted.
    pub(crate) fn keyed_types(&self) -> Vec<Arc<str>> {
        self.ring().state.known_types()
    }

    #[cfg(feature = "redis")]
    /// The bound on live keys per type.
    pub(crate) fn max_keys(&self) -> usize {
        self.ring().state.max_keys()
    }

    #[cfg(feature = "redis")]
    /// The `ttl` of `type_name` in milliseconds (0: none, or not keyed).
    pub(crate) fn ttl_millis(&self, type_name: &str) -> u64 {
        self.ring()
            .state
            .ttl_of(type_name)
            .map_or(0, |t| t.as_millis().clamp(1, u64::MAX as u128) as u64)
    }

    /// Live keys, over every type.
    pub(crate) fn keys(&self) -> usize {
        self.ring().state.len()
    }

    /// Count evictions, and log them once per burst.
    pub(super) fn record_evictions(&self, n: u64) {
        self.keys_evicted.fetch_add(n, Ordering::Relaxed);
        let mut log = lock(&self.evict_log);
        log.1 += n;
        let now = Instant::now();
        if log
            .0
            .is_none_or(|at| now.duration_since(at) >= EVICTION_LOG_EVERY)
        {
            let max = self.ring().state.max_keys();
            tracing::warn!(
                evicted = log.1,
                max_keys_per_type = max,
                "continuum: keyed state evicted the least recently updated keys (a type reached max_keys_per_type); raise HubBuilder::max_keys_per_type (CONTINUUM_MAX_KEYS_PER_TYPE) or give the type a shorter ttl"
            );
            *log = (Some(now), 0);
        }
    }
}
