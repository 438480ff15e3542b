//! [`LocalLog`]: the handle through which a backplane writes ordered events
//! into a node's ring, without seeing the ring itself.

use std::fmt;
use std::sync::Arc;

use super::{Log, Outgoing};
use crate::id::{Epoch, EventId};
use crate::sse::ResetReason;

/// A node's ordered log of encoded frames: the replay buffer and the live
/// fan-out in one ring. Handed to the [`Backplane`](crate::backplane::Backplane); cheap to clone.
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

/// A [`LocalLog`] that does not keep the hub alive: a backplane's
/// background task holds this and ends when [`upgrade`](Self::upgrade)
/// finds the hub gone.
#[derive(Clone, Debug)]
pub struct WeakLocalLog(std::sync::Weak<Log>);

impl WeakLocalLog {
    /// The log, while its hub lives.
    pub fn upgrade(&self) -> Option<LocalLog> {
        self.0.upgrade().map(|log| LocalLog { log })
    }
}

impl LocalLog {
    /// A handle that does not keep the hub alive.
    pub fn downgrade(&self) -> WeakLocalLog {
        WeakLocalLog(Arc::downgrade(&self.log))
    }

    /// How many events the log holds for replay: what a backplane joining
    /// an existing stream should fill it with.
    pub fn capacity(&self) -> usize {
        self.log.capacity()
    }

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

    /// As [`deliver`](Self::deliver), for events written by any build at
    /// the given versions (a shared backplane stores each event's version
    /// beside it: [`version_of`](Self::version_of) when publishing, 1 when
    /// absent). An older version is upcast to this build's newest once,
    /// before fan-out and replay; a version newer than this build knows is
    /// never sent: the subscribers of its type get `continuum.reset`
    /// (`contract`) in its place, and no more events of that type.
    pub fn deliver_versioned(&self, events: Vec<(EventId, Outgoing, u32)>) {
        self.log.deliver_versioned(events)
    }

    /// The version this build publishes events of `type_name` at (1 unless
    /// declared with `version = N`): what a shared backplane stores beside
    /// each event.
    pub fn version_of(&self, type_name: &str) -> u32 {
        self.log.versions.newest(type_name)
    }

    /// This build's contract fingerprint
    /// ([`Contract::fingerprint`](crate::contract::Contract::fingerprint) of
    /// the hub's registry), computed once: what a shared backplane stores
    /// beside each event, so a reader knows which build wrote it.
    pub fn fingerprint(&self) -> &str {
        self.log.versions.fingerprint()
    }

    /// The stream's epoch is `epoch` and the next events come after
    /// `after_seq`. The first call sets where the log starts (silently: at
    /// attach, or when a shared backplane has joined its stream); later, when the backplane's
    /// view broke — the stream was lost and a new epoch began, or events left
    /// the stream before this node read them — every subscriber gets
    /// `continuum.reset` in order (`stream_lost` for a new epoch, `evicted`
    /// for a gap in the same one), and no older id replays past the break.
    pub fn restart(&self, epoch: Epoch, after_seq: u64) {
        let reason = if epoch == self.epoch() {
            ResetReason::Evicted
        } else {
            ResetReason::StreamLost
        };
        self.log.restart(epoch, after_seq, reason)
    }

    /// Drop `key` of the keyed type `type_name` from this node's state
    /// (a shared backplane calls it where the stream orders a forget);
    /// whether the key was there.
    pub fn forget(&self, type_name: &str, key: &str) -> bool {
        self.log.forget(type_name, key)
    }

    /// Declare that this node's view of the stream starts after `seq`: a
    /// `Last-Event-ID` at or after it can be replayed from the local buffer,
    /// an older one gets `continuum.reset`. Call before the first
    /// [`deliver`](Self::deliver) when joining an existing stream.
    pub fn resume_after(&self, seq: u64) {
        self.log.resume_after(seq)
    }
}
