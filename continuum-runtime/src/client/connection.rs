//! [`ConnectionEvent`]: what a [`Subscription`](super::Subscription)'s
//! connection does, for callers that show it (`continuum tail` prints
//! reconnects); events and resets stay items of the stream.

use std::time::Duration;

use serde::Deserialize;

/// A change of a subscription's connection, passed to the callback of
/// [`Subscription::on_connection`](super::Subscription::on_connection).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The server accepted the subscription (its `continuum.connected`
    /// arrived): the first connection, or a reconnection.
    Connected {
        /// The server's id for this connection.
        connection_id: String,
        /// The epoch of the server's ids.
        epoch: String,
        /// The `Last-Event-ID` this connection resumed after, if any: the
        /// server replays what followed it (or sends a reset).
        resumed_after: Option<String>,
    },
    /// The connection ended or could not be made; the subscription tries
    /// again after `retry_in`.
    Disconnected {
        /// Why, in words.
        reason: String,
        /// How long until the next attempt.
        retry_in: Duration,
    },
}

/// `Connected` from a `continuum.connected` frame's data.
pub(super) fn connected(data: &str, resumed_after: Option<String>) -> ConnectionEvent {
    #[derive(Deserialize, Default)]
    #[serde(rename_all = "camelCase", default)]
    struct Data {
        connection_id: String,
        epoch: String,
    }
    let d: Data = serde_json::from_str(data).unwrap_or_default();
    ConnectionEvent::Connected {
        connection_id: d.connection_id,
        epoch: d.epoch,
        resumed_after,
    }
}

/// The callback a subscription reports its connection to.
pub(super) type Observer = Box<dyn FnMut(&ConnectionEvent) + Send>;
