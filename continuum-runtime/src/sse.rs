//! Server-Sent Events framing: every frame the hub writes is built here, once,
//! into a [`Bytes`] shared by all subscribers.
//!
//! The rules follow the [HTML standard's event stream format] and axum's
//! `Event`: a value containing line breaks becomes several `data:` lines (the
//! client joins them back with `\n`); `\r\n` and lone `\r` count as line
//! breaks; `id` and `event` values never contain CR, LF or NUL (they are
//! removed), so a payload can never forge a field.
//!
//! [HTML standard's event stream format]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation
//!
//! ```
//! use continuum_runtime::sse;
//!
//! let frame = sse::FrameBuilder::new()
//!     .id("abc")
//!     .event("note")
//!     .data("line one\nline two")
//!     .finish();
//! assert_eq!(&frame[..], b"id: abc\nevent: note\ndata: line one\ndata: line two\n\n");
//! assert_eq!(sse::KEEP_ALIVE, b":\n\n");
//! ```

use bytes::Bytes;

use crate::id::{Epoch, EventId};

/// The heartbeat: an SSE comment line, ignored by clients but keeping proxies
/// and load balancers from closing an idle stream.
pub const KEEP_ALIVE: &[u8] = b":\n\n";

/// The keep-alive frame as shared [`Bytes`] (no allocation).
pub fn keep_alive() -> Bytes {
    Bytes::from_static(KEEP_ALIVE)
}

/// The event type of the handshake sent first on every stream.
pub const CONNECTED_EVENT: &str = "continuum.connected";
/// The event type that tells a client its view may have a gap: refetch state.
pub const RESET_EVENT: &str = "continuum.reset";

/// The event type that ends a snapshot of keyed state (`?snapshot=true`):
/// `{"count": N, "types": [...]}`; live events follow it.
pub const SNAPSHOT_EVENT: &str = "continuum.snapshot";

/// Why a stream sent `continuum.reset`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ResetReason {
    /// The `Last-Event-ID` is older than anything the replay buffer holds.
    Evicted,
    /// The `Last-Event-ID` comes from another epoch (e.g. before a restart).
    ForeignEpoch,
    /// The subscriber fell behind and is being cut off; it should reconnect.
    Lagged,
    /// The `Last-Event-ID` is not an id this hub issued (malformed, or newer
    /// than anything published).
    UnknownId,
    /// The shared stream behind a backplane was lost (e.g. Redis restarted
    /// empty): a new epoch began and events of the old one may be missing.
    StreamLost,
    /// The subscriber's grant expired (see
    /// [`Grant::with_expiry`](crate::hub::Grant::with_expiry)): reconnect to
    /// be authorized afresh.
    Expired,
    /// The server's version of an event type is not the one the client
    /// reads: the client's contract (its `contract=` fingerprint and
    /// `versions=` on subscribe) differs, or the stream carries a version
    /// newer than this node knows (an old node during a rolling deploy). The
    /// reset's `types` lists the event types concerned; the stream sends
    /// none of their events afterwards. A browser should reload its bundle.
    Contract,
}

impl ResetReason {
    /// Every reason, in declaration order.
    ///
    /// ```
    /// use continuum_runtime::sse::ResetReason;
    /// assert!(ResetReason::ALL.iter().any(|r| r.as_str() == "contract"));
    /// ```
    pub const ALL: [ResetReason; 7] = [
        ResetReason::Evicted,
        ResetReason::ForeignEpoch,
        ResetReason::Lagged,
        ResetReason::UnknownId,
        ResetReason::StreamLost,
        ResetReason::Expired,
        ResetReason::Contract,
    ];

    /// The wire name: `evicted`, `foreign_epoch`, `lagged`, `unknown_id`,
    /// `stream_lost`, `expired`, `contract`.
    pub const fn as_str(self) -> &'static str {
        // Exhaustive: a new reason fails to compile here until named, and
        // must then be added to `ALL` too.
        match self {
            ResetReason::StreamLost => "stream_lost",
            ResetReason::Evicted => "evicted",
            ResetReason::ForeignEpoch => "foreign_epoch",
            ResetReason::Lagged => "lagged",
            ResetReason::UnknownId => "unknown_id",
            ResetReason::Expired => "expired",
            ResetReason::Contract => "contract",
        }
    }
}

/// Builds one SSE frame field by field; [`finish`](Self::finish) adds the
/// blank line that dispatches the event.
#[derive(Debug, Default)]
pub struct FrameBuilder {
    buf: Vec<u8>,
}

impl FrameBuilder {
    /// An empty frame.
    pub fn new() -> Self {
        FrameBuilder { buf: Vec::new() }
    }

    /// An empty frame with room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        FrameBuilder {
            buf: Vec::with_capacity(capacity),
        }
    }

    /// `id: …` — CR, LF and NUL are removed (the standard ignores an id with NUL).
    pub fn id(mut self, id: &str) -> Self {
        self.single_line_field(b"id", id);
        self
    }

    /// `id: …` for an [`EventId`] (always clean, no scan needed).
    pub fn event_id(mut self, id: EventId) -> Self {
        self.buf.extend_from_slice(b"id: ");
        id.write_to(&mut self.buf);
        self.buf.push(b'\n');
        self
    }

    /// `event: …` — CR, LF and NUL are removed.
    pub fn event(mut self, event: &str) -> Self {
        self.single_line_field(b"event", event);
        self
    }

    /// `data: …`, one line per line of `data` (`\n`, `\r\n` and `\r` all break).
    pub fn data(mut self, data: &str) -> Self {
        write_multiline(&mut self.buf, b"data", data.as_bytes());
        self
    }

    /// `data: …` from raw bytes (e.g. JSON already encoded), split like [`data`](Self::data).
    pub fn data_bytes(mut self, data: &[u8]) -> Self {
        write_multiline(&mut self.buf, b"data", data);
        self
    }

    /// `retry: <ms>` — how long the client waits before reconnecting.
    pub fn retry(mut self, millis: u64) -> Self {
        self.buf.extend_from_slice(b"retry: ");
        self.buf.extend_from_slice(itoa_u64(millis).as_bytes());
        self.buf.push(b'\n');
        self
    }

    /// `: …` — a comment, one per line of `text`.
    pub fn comment(mut self, text: &str) -> Self {
        write_multiline(&mut self.buf, b"", text.as_bytes());
        self
    }

    /// End the frame (blank line) and freeze it.
    pub fn finish(mut self) -> Bytes {
        self.buf.push(b'\n');
        Bytes::from(self.buf)
    }

    fn single_line_field(&mut self, name: &[u8], value: &str) {
        self.buf.extend_from_slice(name);
        self.buf.extend_from_slice(b": ");
        self.buf.extend(
            value
                .bytes()
                .filter(|&b| b != b'\r' && b != b'\n' && b != 0),
        );
        self.buf.push(b'\n');
    }
}

fn itoa_u64(v: u64) -> String {
    v.to_string()
}

/// Write `name: line\n` for each line of `value`; an empty name writes comments (`: …`).
fn write_multiline(buf: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    let mut rest = value;
    loop {
        let brk = rest.iter().position(|&b| b == b'\n' || b == b'\r');
        let (line, next) = match brk {
            Some(i) => {
                let skip = if rest[i] == b'\r' && rest.get(i + 1) == Some(&b'\n') {
                    2
                } else {
                    1
                };
                (&rest[..i], Some(&rest[i + skip..]))
            }
            None => (rest, None),
        };
        buf.extend_from_slice(name);
        buf.push(b':');
        if !line.is_empty() {
            buf.push(b' ');
        }
        buf.extend_from_slice(line);
        buf.push(b'\n');
        match next {
            Some(n) => rest = n,
            None => break,
        }
    }
}

/// Encode a published event's frame: `id`, `event`, and the envelope
/// `{"type":…,"data":…}` as `data`. `data_json` is the payload's JSON.
///
/// Type names are dot-separated and checked by the macro, but they are still
/// JSON-escaped and SSE-sanitised here so no input can break the framing.
pub fn event_frame(id: EventId, type_name: &str, data_json: &[u8]) -> Bytes {
    let mut buf = Vec::with_capacity(48 + 2 * type_name.len() + data_json.len());
    buf.extend_from_slice(b"id: ");
    id.write_to(&mut buf);
    buf.extend_from_slice(b"\nevent: ");
    buf.extend(
        type_name
            .bytes()
            .filter(|&b| b != b'\r' && b != b'\n' && b != 0),
    );
    buf.push(b'\n');
    let field = buf.len();
    buf.extend_from_slice(b"data: ");
    let start = buf.len();
    write_envelope(&mut buf, type_name, data_json);
    if buf[start..].iter().any(|&b| b == b'\n' || b == b'\r') {
        // Only possible when the data holds raw JSON whitespace (e.g. a
        // `RawValue`); split it into several `data:` lines.
        let env = buf.split_off(start);
        buf.truncate(field);
        write_multiline(&mut buf, b"data", &env);
    } else {
        buf.push(b'\n');
    }
    buf.push(b'\n');
    Bytes::from(buf)
}

/// The ingest envelope `{"type":"…","data":…}`: what goes in is what comes out.
pub fn write_envelope(buf: &mut Vec<u8>, type_name: &str, data_json: &[u8]) {
    buf.extend_from_slice(b"{\"type\":");
    // Serializing a &str into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *buf, type_name);
    buf.extend_from_slice(b",\"data\":");
    buf.extend_from_slice(data_json);
    buf.push(b'}');
}

/// The handshake: `retry: <ms>`, then `continuum.connected` with
/// `{"connectionId":…,"epoch":…}`. When `resume_from` is given the frame also
/// carries that `id`, so a client that disconnects before any event arrives
/// reconnects from the right place.
pub fn connected_frame(
    retry_ms: u64,
    connection_id: &str,
    epoch: Epoch,
    resume_from: Option<EventId>,
) -> Bytes {
    let body = serde_json::json!({ "connectionId": connection_id, "epoch": epoch.to_string() });
    let mut f = FrameBuilder::with_capacity(128).retry(retry_ms);
    if let Some(id) = resume_from {
        f = f.event_id(id);
    }
    f.event(CONNECTED_EVENT).data(&body.to_string()).finish()
}

/// `continuum.reset` with `{"reason":…}`: the client may have missed events
/// and should refetch its state. With `resume_from`, the frame sets the
/// client's last id so its next reconnect replays from there.
pub fn reset_frame(reason: ResetReason, resume_from: Option<EventId>) -> Bytes {
    let mut f = FrameBuilder::with_capacity(96);
    if let Some(id) = resume_from {
        f = f.event_id(id);
    }
    f.event(RESET_EVENT)
        .data(&format!("{{\"reason\":\"{}\"}}", reason.as_str()))
        .finish()
}

/// `continuum.snapshot` (no `id`): the snapshot just sent held `count`
/// events of the keyed `types` (sorted); live events follow.
///
/// ```
/// let f = continuum_runtime::sse::snapshot_frame(2, &["a.b", "c.d"]);
/// assert_eq!(&f[..], b"event: continuum.snapshot\ndata: {\"count\":2,\"types\":[\"a.b\",\"c.d\"]}\n\n");
/// ```
pub fn snapshot_frame<S: AsRef<str>>(count: usize, types: &[S]) -> Bytes {
    let types: Vec<&str> = types.iter().map(AsRef::as_ref).collect();
    let body = serde_json::json!({ "count": count, "types": types });
    FrameBuilder::with_capacity(64)
        .event(SNAPSHOT_EVENT)
        .data(&body.to_string())
        .finish()
}

/// `continuum.reset` with `{"reason":"contract","types":[…]}`: the server
/// will not send these event types on this stream, because the client
/// cannot read the version the server has. With `resume_from`, the frame
/// also moves the client's last id past the event it replaces.
pub fn contract_reset_frame<'a>(
    types: impl IntoIterator<Item = &'a str>,
    resume_from: Option<EventId>,
) -> Bytes {
    let types: Vec<&str> = types.into_iter().collect();
    let body = serde_json::json!({ "reason": ResetReason::Contract.as_str(), "types": types });
    let mut f = FrameBuilder::with_capacity(128);
    if let Some(id) = resume_from {
        f = f.event_id(id);
    }
    f.event(RESET_EVENT).data(&body.to_string()).finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiline_and_cr() {
        let f = FrameBuilder::new().data("a\r\nb\rc\nd").finish();
        assert_eq!(&f[..], b"data: a\ndata: b\ndata: c\ndata: d\n\n");
        let f = FrameBuilder::new().data("").finish();
        assert_eq!(&f[..], b"data:\n\n");
        let f = FrameBuilder::new().data("x\n").finish();
        assert_eq!(&f[..], b"data: x\ndata:\n\n");
    }

    #[test]
    fn id_and_event_are_single_line() {
        let f = FrameBuilder::new().id("a\nb\r\0c").event("x\ny").finish();
        assert_eq!(&f[..], b"id: abc\nevent: xy\n\n");
    }

    #[test]
    fn comment_lines() {
        let f = FrameBuilder::new().comment("hi\nthere").finish();
        assert_eq!(&f[..], b": hi\n: there\n\n");
    }

    #[test]
    fn event_frame_shape() {
        let id = EventId::new(Epoch::new(1), 2);
        let f = event_frame(id, "a.b", br#"{"x":1}"#);
        let want =
            format!("id: {id}\nevent: a.b\ndata: {{\"type\":\"a.b\",\"data\":{{\"x\":1}}}}\n\n");
        assert_eq!(std::str::from_utf8(&f).unwrap(), want);
        let f = event_frame(id, "a.b", b"{\n\"x\":1}");
        let want = format!(
            "id: {id}\nevent: a.b\ndata: {{\"type\":\"a.b\",\"data\":{{\ndata: \"x\":1}}}}\n\n"
        );
        assert_eq!(std::str::from_utf8(&f).unwrap(), want);
    }

    #[test]
    fn reset_and_connected() {
        let f = reset_frame(ResetReason::ForeignEpoch, None);
        assert_eq!(
            &f[..],
            b"event: continuum.reset\ndata: {\"reason\":\"foreign_epoch\"}\n\n"
        );
        let f = connected_frame(2500, "conn", Epoch::new(0), None);
        let s = std::str::from_utf8(&f).unwrap();
        assert!(
            s.starts_with("retry: 2500\nevent: continuum.connected\ndata: {"),
            "{s}"
        );
        assert!(s.contains("\"connectionId\":\"conn\""));
        let f = contract_reset_frame(["a.b", "c.d"], None);
        assert_eq!(
            &f[..],
            b"event: continuum.reset\ndata: {\"reason\":\"contract\",\"types\":[\"a.b\",\"c.d\"]}\n\n"
        );
    }
}
