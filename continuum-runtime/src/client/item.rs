//! [`Item`]: what a subscription yields, an event or a reset. Its own file
//! because both the typed subscription and the connection loop (`conn.rs`)
//! build it.

use super::reset::ResetReason;
use crate::id::EventId;

/// One item of a [`Subscription`](super::Subscription): an event, or a reset.
///
/// Match both: a reset means events may have been missed (the server
/// restarted with a new epoch, the last id left its replay buffer, this
/// subscriber fell behind), so state built from earlier events must be
/// refetched. Live events follow the reset.
#[derive(Clone, Debug, PartialEq)]
pub enum Item<T> {
    /// An event and its id (the stream resumes after it on reconnect).
    Event {
        /// The id the server assigned.
        id: EventId,
        /// The payload, read tolerantly (unknown fields ignored).
        event: T,
    },
    /// The server could not prove nothing was missed: refetch state.
    Reset(ResetReason),
}
