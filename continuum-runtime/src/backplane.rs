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
//! - A Redis Streams backplane would `XADD` (bounded `MAXLEN`) and return the
//!   stream ids mapped to sequences (`ms << 16 | n`), keep one epoch for the
//!   shared stream (stored beside it), and run a reader task per node that
//!   calls [`LocalLog::deliver`] for every entry it reads — including the ones
//!   this node published — so all nodes fan out the same order and a client
//!   can reconnect to any node with its `Last-Event-ID`.
//!
//! ```
//! use std::sync::Arc;
//! use continuum_runtime::{Hub, backplane::InMemory};
//!
//! let hub = Hub::builder().backplane(Arc::new(InMemory::new())).build().unwrap();
//! # let _ = hub;
//! ```

use std::any::Any;
use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use bytes::Bytes;

use crate::hub::log::Log;
use crate::id::{Epoch, EventId};

/// One event, encoded once, on its way to the backplane.
#[derive(Clone)]
pub struct Outgoing {
    /// The event's type name, e.g. `ai.task.progress`.
    pub type_name: Cow<'static, str>,
    /// The channel it is restricted to; `None` for a public event.
    pub channel: Option<Arc<str>>,
    /// The payload as JSON (the envelope's `data`).
    pub data: Bytes,
    /// The typed value for in-process subscribers, when published on this node.
    pub value: Option<Arc<dyn Any + Send + Sync>>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("type_name", &self.type_name)
            .field("channel", &self.channel)
            .field("data", &self.data)
            .field("value", &self.value.is_some())
            .finish()
    }
}

/// A backplane could not publish.
#[derive(Debug)]
pub struct BackplaneError {
    message: String,
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
            source,
        }
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

/// The transport that orders events and delivers them to every node's
/// [`LocalLog`]. See the [module docs](self).
pub trait Backplane: Send + Sync + 'static {
    /// The epoch of the stream this backplane orders; ids of other epochs
    /// are foreign. Must not change while the hub runs.
    fn epoch(&self) -> Epoch;

    /// Called once when the hub is built, with the log to deliver into (a
    /// shared backplane starts its reader task here). The default does nothing.
    fn attach(&self, log: LocalLog) {
        let _ = log;
    }

    /// Publish `batch` atomically and in order, returning one id per event.
    /// The events must reach `log` (now, or later from a reader) in id order.
    ///
    /// # Errors
    /// When the transport fails; nothing of the batch may be delivered then.
    fn publish(&self, log: &LocalLog, batch: Vec<Outgoing>)
        -> Result<Vec<EventId>, BackplaneError>;
}

/// The default backplane: one process, dense sequence numbers, a random
/// epoch per start (so ids from before a restart are recognised as foreign).
#[derive(Debug)]
pub struct InMemory {
    epoch: Epoch,
}

impl InMemory {
    /// A backplane with a fresh random epoch.
    pub fn new() -> Self {
        InMemory {
            epoch: Epoch::random(),
        }
    }

    /// A backplane with a chosen epoch (tests, or restoring a stream).
    pub fn with_epoch(epoch: Epoch) -> Self {
        InMemory { epoch }
    }
}

impl Default for InMemory {
    fn default() -> Self {
        InMemory::new()
    }
}

impl Backplane for InMemory {
    fn epoch(&self) -> Epoch {
        self.epoch
    }

    fn publish(
        &self,
        log: &LocalLog,
        batch: Vec<Outgoing>,
    ) -> Result<Vec<EventId>, BackplaneError> {
        Ok(log.append(batch))
    }
}

/// A node's ordered log of encoded frames: the replay buffer and the live
/// fan-out in one ring. Handed to the [`Backplane`]; cheap to clone.
#[derive(Clone)]
pub struct LocalLog {
    pub(crate) log: Arc<Log>,
}

impl fmt::Debug for LocalLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalLog")
            .field("epoch", &self.log.epoch())
            .finish_non_exhaustive()
    }
}

impl LocalLog {
    /// The epoch of this log's ids.
    pub fn epoch(&self) -> Epoch {
        self.log.epoch()
    }

    /// Assign the next dense sequence numbers to `batch` and fan it out.
    /// For single-node backplanes; the batch is contiguous in the log.
    pub fn append(&self, batch: Vec<Outgoing>) -> Vec<EventId> {
        self.log.append(batch)
    }

    /// Fan out events whose ids the backplane assigned. Events whose
    /// sequence is not above the last one delivered are ignored (so a reader
    /// may redeliver after a reconnect), as are ids of another epoch.
    pub fn deliver(&self, events: Vec<(EventId, Outgoing)>) {
        self.log.deliver(events)
    }

    /// Declare that this node's view of the stream starts after `seq`: a
    /// `Last-Event-ID` at or after it can be replayed from the local buffer,
    /// an older one gets `continuum.reset`. Call before the first
    /// [`deliver`](Self::deliver) when joining an existing stream.
    pub fn resume_after(&self, seq: u64) {
        self.log.resume_after(seq)
    }
}
