//! Trace context: the W3C `traceparent`/`tracestate` an event was created
//! in, carried with it to every node, and the hub's `tracing` spans.
//!
//! An event remembers where it was created ([`TraceContext`]): ingest reads
//! the request's `traceparent` and `tracestate` headers, [`Hub::emit`](crate::Hub::emit) takes
//! the current span's context (feature `otel`), and the Rust client sends
//! its caller's. The context travels in [`Outgoing`](crate::backplane::Outgoing)
//! to the local fan-out and in the Redis entry to the other nodes.
//!
//! The spans follow OpenTelemetry's messaging conventions; they are plain
//! `tracing` spans (nothing is recorded, formatted or allocated when no
//! subscriber wants them), exported over OTLP by the [`otel`]
//! module (feature `otel`):
//!
//! | span | kind | when | attributes |
//! |---|---|---|---|
//! | `continuum.ingest` (`POST /api/events`) | server | each `POST` | `http.request.method`, `http.route`, `http.response.status_code`, `messaging.batch.message_count`; child of the request's `traceparent` |
//! | `continuum.publish` (`publish <type>`) | producer | each emit or ingest, until the backplane acknowledges | `messaging.system`, `messaging.operation.name = "publish"`, `messaging.destination.name` (the type), `messaging.message.id` (one event), `messaging.batch.message_count` |
//! | `continuum.deliver` (`deliver <type>`) | consumer | once per event per node, when it enters the node's fan-out (not per subscriber) | `messaging.system = "continuum"`, `messaging.operation.name = "deliver"`, `messaging.destination.name` (the type), `messaging.message.id` (the event id), `continuum.subscribers` (SSE subscribers of the node then); a root span *linked* to the creation context |
//!
//! Without the `otel` feature, the creation context is the `traceparent`
//! the publisher sent, passed on unchanged; with it (and the
//! [`otel`] layer installed), it is the publish span's, in the
//! same trace.
//!
//! ```
//! use continuum_runtime::trace::TraceContext;
//!
//! let tc = TraceContext::parse("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", Some("congo=t61rcWkgMzE"))
//!     .expect("a valid traceparent");
//! assert_eq!(tc.trace_id_hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
//! assert_eq!(tc.traceparent(), "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01");
//! assert_eq!(tc.tracestate(), Some("congo=t61rcWkgMzE"));
//! assert!(TraceContext::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01", None).is_none());
//! ```

#[cfg(feature = "otel")]
pub mod otel;
mod spans;

use std::fmt;

pub(crate) use self::spans::{creation_context, deliver_span, ingest_span, publish_span};

/// The request header carrying the W3C trace parent.
pub const TRACEPARENT: &str = "traceparent";
/// The request header carrying vendor trace state.
pub const TRACESTATE: &str = "tracestate";
/// Longest `tracestate` kept (the W3C limit for 32 members); a longer one
/// is dropped, the `traceparent` kept.
const MAX_TRACESTATE: usize = 512;

/// A W3C trace context: the trace, the span an event was created in, the
/// sampling flags and the vendors' `tracestate`.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct TraceContext {
    trace_id: [u8; 16],
    span_id: [u8; 8],
    flags: u8,
    state: Option<Box<str>>,
}

impl TraceContext {
    /// Parse a `traceparent` header (`00-<32 hex>-<16 hex>-<2 hex>`, lower
    /// case, ids not all zero) and an optional `tracestate`; `None` when the
    /// `traceparent` is not one (the W3C rule: then both are ignored). A
    /// later version is read by its first four fields, as the spec asks.
    pub fn parse(traceparent: &str, tracestate: Option<&str>) -> Option<TraceContext> {
        let tp = traceparent.trim().as_bytes();
        if tp.len() < 55 || (tp.len() > 55 && (tp[..2] == *b"00" || tp[55] != b'-')) {
            return None;
        }
        if tp[2] != b'-' || tp[35] != b'-' || tp[52] != b'-' {
            return None;
        }
        let version = hex::<1>(&tp[..2])?;
        let trace_id = hex::<16>(&tp[3..35])?;
        let span_id = hex::<8>(&tp[36..52])?;
        let [flags] = hex::<1>(&tp[53..55])?;
        if version == [0xff] || trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        let state = tracestate
            .map(str::trim)
            .filter(|s| {
                !s.is_empty()
                    && s.len() <= MAX_TRACESTATE
                    && s.bytes().all(|b| (0x20..0x7f).contains(&b))
            })
            .map(Box::from);
        Some(TraceContext {
            trace_id,
            span_id,
            flags,
            state,
        })
    }

    /// A context from its parts (an OpenTelemetry span's, say).
    pub fn from_parts(
        trace_id: [u8; 16],
        span_id: [u8; 8],
        flags: u8,
        tracestate: Option<&str>,
    ) -> Option<TraceContext> {
        if trace_id == [0; 16] || span_id == [0; 8] {
            return None;
        }
        Some(TraceContext {
            trace_id,
            span_id,
            flags,
            state: tracestate.filter(|s| !s.is_empty()).map(Box::from),
        })
    }

    /// The trace id.
    pub fn trace_id(&self) -> [u8; 16] {
        self.trace_id
    }

    /// The trace id as 32 lower-case hex digits (how tracing UIs show it).
    pub fn trace_id_hex(&self) -> String {
        let mut out = String::with_capacity(32);
        push_hex(&mut out, &self.trace_id);
        out
    }

    /// The id of the span the event was created in.
    pub fn span_id(&self) -> [u8; 8] {
        self.span_id
    }

    /// The trace flags (`0x01`: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The `traceparent` header value (version `00`).
    pub fn traceparent(&self) -> String {
        let mut out = String::with_capacity(55);
        out.push_str("00-");
        push_hex(&mut out, &self.trace_id);
        out.push('-');
        push_hex(&mut out, &self.span_id);
        out.push('-');
        push_hex(&mut out, &[self.flags]);
        out
    }

    /// The `tracestate` header value, if any.
    pub fn tracestate(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// How a Redis entry stores it: the `traceparent`, then a space and the
    /// `tracestate` when there is one (a `traceparent` has no space).
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn to_entry(&self) -> String {
        let mut out = self.traceparent();
        if let Some(state) = &self.state {
            out.push(' ');
            out.push_str(state);
        }
        out
    }

    /// The inverse of [`to_entry`](Self::to_entry); `None` for anything else.
    #[cfg_attr(not(feature = "redis"), allow(dead_code))]
    pub(crate) fn from_entry(text: &str) -> Option<TraceContext> {
        match text.split_once(' ') {
            Some((tp, state)) => TraceContext::parse(tp, Some(state)),
            None => TraceContext::parse(text, None),
        }
    }
}

impl fmt::Debug for TraceContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TraceContext")
            .field("traceparent", &self.traceparent())
            .field("tracestate", &self.state)
            .finish()
    }
}

impl fmt::Display for TraceContext {
    /// The `traceparent` form.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.traceparent())
    }
}

fn hex<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    if text.len() != 2 * N {
        return None;
    }
    let digit = |b: u8| match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        _ => None,
    };
    let mut out = [0u8; N];
    for (i, pair) in text.chunks_exact(2).enumerate() {
        out[i] = digit(pair[0])? << 4 | digit(pair[1])?;
    }
    Some(out)
}

fn push_hex(out: &mut String, bytes: &[u8]) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn traceparents_parse_by_the_w3c_rules() {
        let tc = TraceContext::parse(TP, None).unwrap();
        assert_eq!(tc.traceparent(), TP);
        assert_eq!(tc.flags(), 1);
        assert_eq!(tc.span_id(), [0, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7]);
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert!(TraceContext::parse(bad, None).is_none(), "{bad:?}");
        }
        // A later version may append fields after a dash.
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what";
        assert_eq!(TraceContext::parse(future, None).unwrap().traceparent(), TP);
    }

    #[test]
    fn entries_round_trip_with_and_without_state() {
        let plain = TraceContext::parse(TP, None).unwrap();
        assert_eq!(TraceContext::from_entry(&plain.to_entry()), Some(plain));
        let with = TraceContext::parse(TP, Some("a=1, b=two words")).unwrap();
        assert_eq!(with.to_entry(), format!("{TP} a=1, b=two words"));
        assert_eq!(TraceContext::from_entry(&with.to_entry()), Some(with));
        assert_eq!(TraceContext::from_entry("garbage"), None);
        // A state with control characters is dropped, the parent kept.
        let odd = TraceContext::parse(TP, Some("a=1\n")).unwrap();
        assert_eq!(odd.tracestate(), Some("a=1"));
        let odd = TraceContext::parse(TP, Some("a=\u{1}")).unwrap();
        assert_eq!(odd.tracestate(), None);
    }
}
