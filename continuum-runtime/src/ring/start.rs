//! Where a new subscription starts in the ring: after its `Last-Event-ID`
//! when the ring proves nothing was missed, else at the head with the
//! reason for a `continuum.reset`.

use super::{Log, Ring};
use crate::id::{Epoch, EventId, IdCheck};
use crate::sse::ResetReason;

/// Where a new subscription starts.
pub(crate) struct Start {
    pub(crate) cursor: u64,
    /// The head when the subscription started (where live events begin).
    pub(crate) head: u64,
    pub(crate) reset: Option<ResetReason>,
    /// The id the client should hold after the handshake.
    pub(crate) resume: EventId,
    /// The epoch the subscription starts in.
    pub(crate) epoch: Epoch,
}

impl Log {
    /// Where a subscription with `last_event_id` starts: after that id when
    /// the ring proves nothing was missed, else at the head with a reset.
    pub(super) fn start_in(ring: &Ring, last_event_id: Option<&str>) -> Start {
        let epoch = ring.epoch;
        let head = ring.first_pos + ring.frames.len() as u64;
        let at_head = |reset| Start {
            cursor: head,
            head,
            reset,
            resume: EventId::new(epoch, ring.last_seq),
            epoch,
        };
        let Some(text) = last_event_id.map(str::trim).filter(|t| !t.is_empty()) else {
            return at_head(None);
        };
        match epoch.check(text) {
            IdCheck::Invalid => at_head(Some(ResetReason::UnknownId)),
            IdCheck::ForeignEpoch => at_head(Some(ResetReason::ForeignEpoch)),
            IdCheck::Ours(seq) if seq > ring.last_seq => at_head(Some(ResetReason::UnknownId)),
            IdCheck::Ours(seq) if seq < ring.floor_seq => at_head(Some(ResetReason::Evicted)),
            IdCheck::Ours(seq) => {
                // Only this epoch's frames are ordered by `seq`: binary search
                // from the epoch's first frame.
                let (mut lo, mut hi) = (
                    (ring.epoch_start.saturating_sub(ring.first_pos) as usize)
                        .min(ring.frames.len()),
                    ring.frames.len(),
                );
                while lo < hi {
                    let mid = lo + (hi - lo) / 2;
                    if ring.frames[mid].id.seq() <= seq {
                        lo = mid + 1;
                    } else {
                        hi = mid;
                    }
                }
                let skip = lo;
                Start {
                    cursor: ring.first_pos + skip as u64,
                    head,
                    reset: None,
                    resume: EventId::new(epoch, seq),
                    epoch,
                }
            }
        }
    }
}
