//! Keyed state: the latest event per key of each keyed event type
//! (`#[continuum_event("…", key = field)]`), kept beside the ring and
//! updated under the ring's write lock in the same step as the append, so
//! that a snapshot taken under the read lock together with the ring's head
//! has no gap and no duplicate with what a subscriber reads from that head.
//!
//! Per type: a map from key to the latest entry (its SSE frame, its payload
//! JSON, its id and position, when it was updated) and the updates in
//! position order (a queue with stale items skipped lazily), so the oldest
//! update is found at the front for eviction (a bound on live keys) and for
//! `ttl`. Unkeyed types never reach this module: their publish path is the
//! ring's alone.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::time::Instant;

use super::Frame;
use crate::id::EventId;

/// The keys a type keeps at most when not configured
/// ([`HubBuilder::max_keys_per_type`](crate::hub::HubBuilder::max_keys_per_type)).
pub const DEFAULT_MAX_KEYS_PER_TYPE: usize = 10_000;

/// The latest event of one key.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub(crate) id: EventId,
    /// Its position in the ring (see [`super::Ring`]).
    pub(crate) pos: u64,
    pub(crate) channel: Option<Arc<str>>,
    /// The whole SSE frame, as live subscribers got it.
    pub(crate) bytes: Bytes,
    /// The payload JSON (the envelope's `data`).
    pub(crate) data: Bytes,
    pub(crate) updated: Instant,
}

/// One entry of a snapshot: the entry and its type.
#[derive(Clone, Debug)]
pub(crate) struct Snap {
    pub(crate) type_name: Arc<str>,
    pub(crate) entry: Entry,
}

#[derive(Default)]
struct TypeState {
    name: Arc<str>,
    ttl: Option<Duration>,
    entries: HashMap<Arc<str>, Entry>,
    /// Updates in position order; an item whose position is not its key's
    /// entry's any more is stale and skipped.
    order: VecDeque<(u64, Arc<str>)>,
}

/// Why keys left the state (for the metrics and the eviction log line).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Dropped {
    /// Keys evicted by the bound on live keys.
    pub(crate) evicted: u64,
}

/// The latest event per key of every keyed type of a node.
pub(crate) struct KeyedState {
    types: HashMap<Arc<str>, TypeState>,
    /// The `ttl` of each keyed type the registry knows.
    ttls: HashMap<Arc<str>, Option<Duration>>,
    max_keys: usize,
    /// One past the newest position of an entry that left the state
    /// (evicted, expired or forgotten): a subscriber behind it may have
    /// missed that key's last event, which conflation cannot send any more.
    pub(crate) dropped_pos: u64,
}

impl KeyedState {
    /// State for the keyed types `ttls` (name → ttl), at most `max_keys`
    /// live keys per type.
    pub(crate) fn new(
        ttls: impl IntoIterator<Item = (String, Option<Duration>)>,
        max_keys: usize,
    ) -> Self {
        KeyedState {
            types: HashMap::new(),
            ttls: ttls.into_iter().map(|(n, t)| (Arc::from(n), t)).collect(),
            max_keys: max_keys.max(1),
            dropped_pos: 0,
        }
    }

    #[cfg(feature = "redis")]
    /// The keyed types the registry knows, sorted.
    pub(crate) fn known_types(&self) -> Vec<Arc<str>> {
        let mut v: Vec<Arc<str>> = self.ttls.keys().cloned().collect();
        v.sort();
        v
    }

    /// Whether any known type has a `ttl` (the ticker then sweeps).
    pub(crate) fn has_ttl(&self) -> bool {
        self.ttls.values().any(Option::is_some)
    }

    #[cfg(feature = "redis")]
    /// The `ttl` of a keyed type the registry knows.
    pub(crate) fn ttl_of(&self, type_name: &str) -> Option<Duration> {
        self.ttls.get(type_name).copied().flatten()
    }

    pub(crate) fn max_keys(&self) -> usize {
        self.max_keys
    }

    fn type_state(&mut self, name: &str) -> &mut TypeState {
        if !self.types.contains_key(name) {
            let name: Arc<str> = Arc::from(name);
            let ttl = self.ttls.get(&name).copied().flatten();
            self.types.insert(
                name.clone(),
                TypeState {
                    name,
                    ttl,
                    ..TypeState::default()
                },
            );
        }
        self.types.get_mut(name).expect("inserted above")
    }

    /// Record `frame` (keyed by `key`) at position `pos` as its key's latest.
    pub(crate) fn update(
        &mut self,
        frame: &Frame,
        key: &Arc<str>,
        pos: u64,
        now: Instant,
    ) -> Dropped {
        let max_keys = self.max_keys;
        let t = self.type_state(&frame.type_name);
        let entry = Entry {
            id: frame.id,
            pos,
            channel: frame.channel.clone(),
            bytes: frame.bytes.clone(),
            data: frame.data.clone().unwrap_or_default(),
            updated: now,
        };
        match t.entries.get_mut(&**key) {
            Some(e) => *e = entry,
            None => {
                t.entries.insert(key.clone(), entry);
            }
        }
        t.order.push_back((pos, key.clone()));
        let mut dropped = Dropped::default();
        let mut dropped_pos = 0;
        // Expired keys first (the front is the oldest update), then the bound.
        if let Some(ttl) = t.ttl {
            dropped_pos = dropped_pos.max(t.expire(now, ttl));
        }
        while t.entries.len() > max_keys {
            let Some(p) = t.pop_oldest() else { break };
            dropped.evicted += 1;
            dropped_pos = dropped_pos.max(p + 1);
        }
        t.compact();
        self.dropped_pos = self.dropped_pos.max(dropped_pos);
        dropped
    }

    /// Drop `key` of `type_name` now; whether it was there.
    pub(crate) fn forget(&mut self, type_name: &str, key: &str) -> bool {
        let Some(t) = self.types.get_mut(type_name) else {
            return false;
        };
        let Some(e) = t.entries.remove(key) else {
            return false;
        };
        self.dropped_pos = self.dropped_pos.max(e.pos + 1);
        t.compact();
        true
    }

    /// Drop every key not updated within its type's `ttl`.
    pub(crate) fn expire(&mut self, now: Instant) {
        let mut dropped_pos = 0;
        for t in self.types.values_mut() {
            if let Some(ttl) = t.ttl {
                dropped_pos = dropped_pos.max(t.expire(now, ttl));
            }
        }
        self.dropped_pos = self.dropped_pos.max(dropped_pos);
    }

    /// Forget everything (a new epoch: no entry of the old one may be served).
    pub(crate) fn clear(&mut self, head: u64) {
        self.types.clear();
        self.dropped_pos = head;
    }

    /// How many live keys, over every type.
    pub(crate) fn len(&self) -> usize {
        self.types.values().map(|t| t.entries.len()).sum()
    }

    /// Whether the state holds nothing (no keyed event seen, or all dropped).
    pub(crate) fn is_empty(&self) -> bool {
        self.types.values().all(|t| t.entries.is_empty())
    }

    /// The live entries of the types `wants_type` accepts and whose channel
    /// `allows` grants, with a position in `from..to`, in id order. Keys past
    /// their `ttl` are left out (removed at the next update or sweep).
    pub(crate) fn collect(
        &self,
        from: u64,
        to: u64,
        now: Instant,
        wants_type: &dyn Fn(&str) -> bool,
        allows: &dyn Fn(Option<&str>) -> bool,
    ) -> Vec<Snap> {
        let mut out = Vec::new();
        for t in self.types.values() {
            if !wants_type(&t.name) {
                continue;
            }
            for e in t.entries.values() {
                let live = t
                    .ttl
                    .is_none_or(|ttl| now.saturating_duration_since(e.updated) < ttl);
                if live && (from..to).contains(&e.pos) && allows(e.channel.as_deref()) {
                    out.push(Snap {
                        type_name: t.name.clone(),
                        entry: e.clone(),
                    });
                }
            }
        }
        out.sort_unstable_by_key(|s| s.entry.pos);
        out
    }

    /// The types a snapshot for `wants_type` covers: the keyed types the
    /// registry knows and those with state, sorted.
    pub(crate) fn types_for(&self, wants_type: &dyn Fn(&str) -> bool) -> Vec<Arc<str>> {
        let mut v: Vec<Arc<str>> = self
            .ttls
            .keys()
            .chain(self.types.keys())
            .filter(|n| wants_type(n))
            .cloned()
            .collect();
        v.sort();
        v.dedup();
        v
    }

    #[cfg(feature = "redis")]
    /// Entries loaded from elsewhere (a shared backplane's state at join),
    /// placed at `pos`; ids of the same key keep the newest.
    pub(crate) fn load(&mut self, type_name: &str, key: Arc<str>, entry: Entry) {
        let max_keys = self.max_keys;
        let t = self.type_state(type_name);
        if t.entries.get(&key).is_some_and(|e| e.id >= entry.id) {
            return;
        }
        t.order.push_back((entry.pos, key.clone()));
        t.entries.insert(key, entry);
        while t.entries.len() > max_keys {
            if t.pop_oldest().is_none() {
                break;
            }
        }
    }
}

impl TypeState {
    /// Whether the queue item `(pos, key)` is its key's current entry.
    fn is_current(&self, pos: u64, key: &str) -> bool {
        self.entries.get(key).is_some_and(|e| e.pos == pos)
    }

    /// Remove the key with the oldest update; its position.
    fn pop_oldest(&mut self) -> Option<u64> {
        while let Some((pos, key)) = self.order.pop_front() {
            if self.is_current(pos, &key) {
                self.entries.remove(&key);
                return Some(pos);
            }
        }
        None
    }

    /// Remove keys not updated within `ttl`; one past the newest position
    /// removed (0 when none).
    fn expire(&mut self, now: Instant, ttl: Duration) -> u64 {
        let mut dropped = 0;
        while let Some((pos, key)) = self.order.front() {
            match self.entries.get(&**key) {
                Some(e) if e.pos == *pos => {
                    if now.saturating_duration_since(e.updated) < ttl {
                        break;
                    }
                    dropped = pos + 1;
                    let key = key.clone();
                    self.entries.remove(&key);
                }
                _ => {}
            }
            self.order.pop_front();
        }
        dropped
    }

    /// Drop stale queue items once they outnumber the live keys.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.entries.len() + 64 {
            let entries = &self.entries;
            self.order
                .retain(|(pos, key)| entries.get(&**key).is_some_and(|e| e.pos == *pos));
        }
    }
}
