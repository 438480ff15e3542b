//! [`ResetReason`] as a client reads it: every reason this version knows,
//! and [`ResetReason::Other`] for one it does not (a newer server), so a
//! reset is always a reset, never an error (issue 18's tolerant reader).

use std::fmt;

use serde_json::Value;

use crate::sse;

/// Why the server sent `continuum.reset`: events may have been missed (or
/// would be unreadable), so state built from earlier events must be rebuilt.
///
/// The server's reasons ([`sse::ResetReason`]) plus [`Contract`](Self::Contract)
/// and a catch-all, [`Other`](Self::Other): a reason this client does not
/// know is still a reset. Compare with the server's enum directly
/// (`reason == sse::ResetReason::Lagged`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ResetReason {
    /// The `Last-Event-ID` is older than anything the replay buffer holds.
    Evicted,
    /// The `Last-Event-ID` comes from another epoch (e.g. before a restart).
    ForeignEpoch,
    /// The subscriber fell behind and was cut off; it reconnects.
    Lagged,
    /// The `Last-Event-ID` is not an id the server issued.
    UnknownId,
    /// The shared stream behind a backplane was lost; a new epoch began.
    StreamLost,
    /// The subscriber's grant expired; it reconnects and is authorized afresh.
    Expired,
    /// The server's contract differs from this client's for the subscribed
    /// types (another version of an event): the server does not send those
    /// events on this connection. Deploy a client built from the server's
    /// declarations.
    Contract,
    /// A reason this version of the client does not know, by its wire name.
    Other(String),
}

impl ResetReason {
    /// The reason read from its wire name; an unknown name is [`Other`](Self::Other).
    pub fn from_wire(name: &str) -> ResetReason {
        match name {
            "evicted" => ResetReason::Evicted,
            "foreign_epoch" => ResetReason::ForeignEpoch,
            "lagged" => ResetReason::Lagged,
            "unknown_id" => ResetReason::UnknownId,
            "stream_lost" => ResetReason::StreamLost,
            "expired" => ResetReason::Expired,
            "contract" => ResetReason::Contract,
            other => ResetReason::Other(other.to_owned()),
        }
    }

    /// The wire name, e.g. `foreign_epoch`.
    pub fn as_str(&self) -> &str {
        match self {
            ResetReason::Evicted => "evicted",
            ResetReason::ForeignEpoch => "foreign_epoch",
            ResetReason::Lagged => "lagged",
            ResetReason::UnknownId => "unknown_id",
            ResetReason::StreamLost => "stream_lost",
            ResetReason::Expired => "expired",
            ResetReason::Contract => "contract",
            ResetReason::Other(name) => name,
        }
    }
}

impl fmt::Display for ResetReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<sse::ResetReason> for ResetReason {
    fn from(reason: sse::ResetReason) -> Self {
        ResetReason::from_wire(reason.as_str())
    }
}

impl PartialEq<sse::ResetReason> for ResetReason {
    fn eq(&self, other: &sse::ResetReason) -> bool {
        self.as_str() == other.as_str()
    }
}

impl PartialEq<ResetReason> for sse::ResetReason {
    fn eq(&self, other: &ResetReason) -> bool {
        self.as_str() == other.as_str()
    }
}

/// The reason of a `continuum.reset` frame's data: whatever the body holds,
/// a reset (a body without a readable reason is `Other("")`).
pub(crate) fn reason_of(data: &str) -> ResetReason {
    let reason = serde_json::from_str::<Value>(data)
        .ok()
        .and_then(|v| Some(v.get("reason")?.as_str()?.to_owned()));
    ResetReason::from_wire(reason.as_deref().unwrap_or(""))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reason_round_trips_and_unknown_ones_are_other() {
        for reason in [
            sse::ResetReason::Evicted,
            sse::ResetReason::ForeignEpoch,
            sse::ResetReason::Lagged,
            sse::ResetReason::UnknownId,
            sse::ResetReason::StreamLost,
            sse::ResetReason::Expired,
        ] {
            let data = format!(r#"{{"reason":"{}","extra":[1]}}"#, reason.as_str());
            assert_eq!(reason_of(&data), reason);
            assert_eq!(ResetReason::from(reason), reason);
        }
        assert_eq!(
            reason_of(r#"{"reason":"contract","types":["a.b"]}"#),
            ResetReason::Contract
        );
        assert_eq!(
            reason_of(r#"{"reason":"cosmic_ray"}"#),
            ResetReason::Other("cosmic_ray".into())
        );
        assert_eq!(reason_of("not json"), ResetReason::Other(String::new()));
        assert_eq!(ResetReason::Other("x".into()).to_string(), "x");
    }
}
