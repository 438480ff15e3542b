//! Keyed state as the hub shows it: [`Hub::snapshot`] (what
//! `GET /api/events/state` answers, and what `?snapshot=true` sends before
//! live events) and [`Hub::forget`].
//!
//! ```
//! use continuum_runtime::prelude::*;
//! use continuum_runtime::hub::{Grant, TypeFilter};
//!
//! #[continuum_event("docs.state.progress", key = task_id, ttl = "1h")]
//! pub struct Progress { pub task_id: String, pub percent: u8 }
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let hub = Hub::builder().build()?;
//! hub.emit(Progress { task_id: "a".into(), percent: 10 }).await?;
//! hub.emit(Progress { task_id: "b".into(), percent: 50 }).await?;
//! hub.emit(Progress { task_id: "a".into(), percent: 20 }).await?;
//!
//! // The latest event of each key, in id order.
//! let state = hub.snapshot(&TypeFilter::all(), &Grant::public());
//! let data: Vec<&[u8]> = state.events.iter().map(|e| &e.data[..]).collect();
//! assert_eq!(data, [&br#"{"taskId":"b","percent":50}"#[..], br#"{"taskId":"a","percent":20}"#]);
//!
//! hub.forget::<Progress>("a").await?;   // the task was deleted
//! assert_eq!(hub.snapshot(&TypeFilter::all(), &Grant::public()).events.len(), 1);
//! # Ok(()) }
//! ```

use std::sync::Arc;

use bytes::Bytes;

use super::{emit, Emit, EventId, Grant, Hub, TypeFilter};
use crate::event::{Event, EventKey};
use crate::ring::{SnapshotOf, Wants};
use crate::sse;

/// The keyed state of a hub at one position of its log: the latest event
/// of each live key of the keyed types asked for (see [`Hub::snapshot`]).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StateSnapshot {
    /// The latest event of each live key, in id order.
    pub events: Vec<StateEvent>,
    /// The id of the newest event of the log at the snapshot's position:
    /// subscribe with it as `Last-Event-ID` to continue with no gap and no
    /// duplicate.
    pub last_event_id: EventId,
    /// The keyed types the snapshot covers (whether or not they have live
    /// keys), sorted.
    pub types: Vec<Arc<str>>,
}

/// One event of a [`StateSnapshot`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct StateEvent {
    /// Its id.
    pub id: EventId,
    /// Its type, e.g. `ai.task.progress`.
    pub type_name: Arc<str>,
    /// Its channel; `None` for a public event.
    pub channel: Option<Arc<str>>,
    /// Its payload as JSON (the envelope's `data`).
    pub data: Bytes,
}

impl StateSnapshot {
    fn of(snap: SnapshotOf) -> Self {
        StateSnapshot {
            events: snap
                .entries
                .into_iter()
                .map(|s| StateEvent {
                    id: s.entry.id,
                    type_name: s.type_name,
                    channel: s.entry.channel,
                    data: s.entry.data,
                })
                .collect(),
            last_event_id: snap.last_id,
            types: snap.types,
        }
    }

    /// The JSON document `GET /api/events/state` answers:
    /// `{"events":[{"id","type","data"}…],"lastEventId":"…","types":[…]}`.
    pub fn to_json(&self) -> Vec<u8> {
        let mut out =
            Vec::with_capacity(64 + self.events.iter().map(|e| e.data.len() + 64).sum::<usize>());
        out.extend_from_slice(b"{\"events\":[");
        for (i, e) in self.events.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"{\"id\":\"");
            e.id.write_to(&mut out);
            out.extend_from_slice(b"\",\"type\":");
            // Serializing a &str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &*e.type_name);
            out.extend_from_slice(b",\"data\":");
            out.extend_from_slice(&e.data);
            out.push(b'}');
        }
        out.extend_from_slice(b"],\"lastEventId\":\"");
        self.last_event_id.write_to(&mut out);
        out.extend_from_slice(b"\",\"types\":");
        let types: Vec<&str> = self.types.iter().map(|t| &**t).collect();
        let _ = serde_json::to_writer(&mut out, &types);
        out.push(b'}');
        out
    }
}

/// The SSE frames of a snapshot: each event's frame, in id order, then
/// `continuum.snapshot`.
pub(crate) fn sse_frames(snap: SnapshotOf) -> impl Iterator<Item = Bytes> {
    let end = sse::snapshot_frame(snap.entries.len(), &snap.types);
    snap.entries
        .into_iter()
        .map(|s| s.entry.bytes)
        .chain(std::iter::once(end))
}

impl Hub {
    /// The latest event of each live key of the keyed types `types` matches
    /// whose channel `grant` allows, in id order, at one position of the log
    /// (what `GET /api/events/state` answers; keys past their `ttl` are left
    /// out). [`Hub::forget`] drops a key now.
    pub fn snapshot(&self, types: &TypeFilter, grant: &Grant) -> StateSnapshot {
        let (t, c) = (
            |n: &str| types.matches(n),
            |ch: Option<&str>| grant.allows(ch),
        );
        let wants = Wants {
            types: &t,
            channel: &c,
        };
        StateSnapshot::of(self.inner.log.log.snapshot(&wants))
    }

    /// Forget `key` of the keyed event type `E` now (an app's "task
    /// deleted"): snapshots no longer hold it. Over a shared backplane every
    /// node forgets it, in order with the events around it. Resolves once
    /// the backplane has done it (at once in memory).
    ///
    /// # Errors
    /// [`EmitError::Backplane`](super::EmitError::Backplane) when a shared
    /// backplane could not reach its transport.
    pub fn forget<E: Event>(&self, key: &(impl EventKey + ?Sized)) -> Emit<()> {
        let key = key.to_key();
        Emit::new(
            self.inner.backplane.forget(&self.inner.log, E::TYPE, &key),
            emit::nothing,
            tracing::Span::none(),
        )
    }
}
