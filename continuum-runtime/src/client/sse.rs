//! A small SSE decoder, written from the [HTML standard's event stream
//! interpretation] rather than borrowed from the server's encoder, so the
//! client would notice if the two ever disagreed.
//!
//! Lines end with `\r\n`, `\n` or a lone `\r` (also when a chunk boundary
//! falls between `\r` and `\n`); a leading byte-order mark is skipped;
//! comments (`:` lines) are ignored; `data:` lines join with `\n`; an event
//! without `data` is not dispatched; `id` containing NUL is ignored; `retry`
//! is honoured only when it is all ASCII digits. The last event id persists
//! across events (and across reconnects: the caller seeds it).
//!
//! [HTML standard's event stream interpretation]: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

use std::collections::VecDeque;

/// One dispatched event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SseEvent {
    /// The last event id at dispatch (may have been set by an earlier event).
    pub(crate) id: String,
    /// The event type; `message` when the stream named none.
    pub(crate) event: String,
    /// The data lines joined with `\n`.
    pub(crate) data: String,
}

/// Incremental decoder: [`feed`](Self::feed) bytes as they arrive, take
/// events with [`next_event`](Self::next_event).
#[derive(Debug, Default)]
pub(crate) struct Decoder {
    line: Vec<u8>,
    /// The previous chunk ended in `\r`: a `\n` first in the next one
    /// belongs to that line end.
    after_cr: bool,
    /// Whether the first bytes (and a possible BOM) were seen.
    started: bool,
    data: String,
    has_data: bool,
    event: String,
    last_id: String,
    retry: Option<u64>,
    ready: VecDeque<SseEvent>,
}

impl Decoder {
    /// A decoder whose last event id starts as `last_id` (the id a
    /// reconnecting client sent).
    pub(crate) fn new(last_id: Option<&str>) -> Self {
        Decoder {
            last_id: last_id.unwrap_or_default().to_owned(),
            ..Decoder::default()
        }
    }

    /// Decode `bytes`, queueing every event they complete.
    pub(crate) fn feed(&mut self, mut bytes: &[u8]) {
        if !self.started {
            // The BOM may itself arrive split over chunks; wait for 3 bytes.
            self.line.extend_from_slice(bytes);
            if self.line.len() < 3 && b"\xEF\xBB\xBF".starts_with(&self.line) {
                return;
            }
            self.started = true;
            let mut pending = std::mem::take(&mut self.line);
            if pending.starts_with(b"\xEF\xBB\xBF") {
                pending.drain(..3);
            }
            self.feed(&pending);
            return;
        }
        if self.after_cr {
            self.after_cr = false;
            if let Some(rest) = bytes.strip_prefix(b"\n") {
                bytes = rest;
            }
        }
        while let Some(end) = bytes.iter().position(|&b| b == b'\n' || b == b'\r') {
            self.line.extend_from_slice(&bytes[..end]);
            let line = std::mem::take(&mut self.line);
            self.process_line(&line);
            self.line = line;
            self.line.clear();
            let crlf = bytes[end] == b'\r';
            bytes = &bytes[end + 1..];
            if crlf {
                match bytes.first() {
                    Some(b'\n') => bytes = &bytes[1..],
                    Some(_) => {}
                    None => self.after_cr = true,
                }
            }
        }
        self.line.extend_from_slice(bytes);
    }

    /// The next complete event, in stream order.
    pub(crate) fn next_event(&mut self) -> Option<SseEvent> {
        self.ready.pop_front()
    }

    /// The newest valid `retry:` value (milliseconds), taken once.
    pub(crate) fn take_retry(&mut self) -> Option<u64> {
        self.retry.take()
    }

    fn process_line(&mut self, line: &[u8]) {
        if line.is_empty() {
            self.dispatch();
            return;
        }
        if line[0] == b':' {
            return; // a comment (the server's heartbeat)
        }
        let (field, value) = match line.iter().position(|&b| b == b':') {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => self.event = String::from_utf8_lossy(value).into_owned(),
            b"data" => {
                if self.has_data {
                    self.data.push('\n');
                }
                self.data.push_str(&String::from_utf8_lossy(value));
                self.has_data = true;
            }
            b"id" if !value.contains(&0) => {
                self.last_id = String::from_utf8_lossy(value).into_owned();
            }
            b"retry" if !value.is_empty() && value.iter().all(u8::is_ascii_digit) => {
                if let Ok(ms) = std::str::from_utf8(value).unwrap_or("").parse() {
                    self.retry = Some(ms);
                }
            }
            _ => {} // unknown fields are ignored
        }
    }

    fn dispatch(&mut self) {
        let event = std::mem::take(&mut self.event);
        if !std::mem::replace(&mut self.has_data, false) {
            self.data.clear();
            return;
        }
        self.ready.push_back(SseEvent {
            id: self.last_id.clone(),
            event: if event.is_empty() {
                "message".to_owned()
            } else {
                event
            },
            data: std::mem::take(&mut self.data),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_chunks(chunks: &[&[u8]]) -> (Vec<SseEvent>, Option<u64>) {
        let mut d = Decoder::new(None);
        let mut out = Vec::new();
        for c in chunks {
            d.feed(c);
            out.extend(std::iter::from_fn(|| d.next_event()));
        }
        (out, d.take_retry())
    }

    fn ev(id: &str, event: &str, data: &str) -> SseEvent {
        SseEvent {
            id: id.into(),
            event: event.into(),
            data: data.into(),
        }
    }

    #[test]
    fn fields_and_multiline_data() {
        let (events, _) =
            decode_chunks(&[b"id: 1\nevent: note\ndata: line one\ndata: line two\n\n"]);
        assert_eq!(events, [ev("1", "note", "line one\nline two")]);
    }

    #[test]
    fn every_line_ending_even_split_across_chunks() {
        let stream: &[u8] = b"event: a\r\ndata: x\r\n\r\nevent: b\rdata: y\r\rdata: z\n\n";
        let (whole, _) = decode_chunks(&[stream]);
        let expected = [ev("", "a", "x"), ev("", "b", "y"), ev("", "message", "z")];
        assert_eq!(whole, expected);
        // Every split point, including between `\r` and `\n`.
        for i in 0..=stream.len() {
            let (split, _) = decode_chunks(&[&stream[..i], &stream[i..]]);
            assert_eq!(split, expected, "split at {i}");
        }
        // One byte at a time.
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        assert_eq!(decode_chunks(&bytes).0, expected);
    }

    #[test]
    fn comments_empty_data_and_no_data() {
        let (events, _) =
            decode_chunks(&[b":\n\n: heartbeat\nevent: x\n\ndata\n\ndata:\ndata:\n\n"]);
        // `event: x` without data is not dispatched; `data` alone is one
        // empty line; two empty data lines are one `\n`.
        assert_eq!(events, [ev("", "message", ""), ev("", "message", "\n")]);
    }

    #[test]
    fn value_keeps_all_but_one_leading_space_and_colons() {
        let (events, _) = decode_chunks(&[b"data:  two spaces: and a colon\n\n"]);
        assert_eq!(events, [ev("", "message", " two spaces: and a colon")]);
    }

    #[test]
    fn id_persists_and_nul_is_ignored() {
        let (events, _) =
            decode_chunks(&[b"id: a\ndata: 1\n\ndata: 2\n\nid: b\0c\ndata: 3\n\nid\ndata: 4\n\n"]);
        let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
        assert_eq!(ids, ["a", "a", "a", ""]);
        // An id on an event that is never dispatched still counts.
        let (events, _) = decode_chunks(&[b"id: 7\nevent: c\n\ndata: x\n\n"]);
        assert_eq!(events, [ev("7", "message", "x")]);
        // The seed is the reconnecting client's id.
        let mut d = Decoder::new(Some("seed"));
        d.feed(b"data: x\n\n");
        assert_eq!(d.next_event().unwrap().id, "seed");
    }

    #[test]
    fn retry_only_when_all_digits() {
        assert_eq!(decode_chunks(&[b"retry: 2500\n"]).1, Some(2500));
        assert_eq!(decode_chunks(&[b"retry: 25x\n"]).1, None);
        assert_eq!(decode_chunks(&[b"retry:\n"]).1, None);
        assert_eq!(decode_chunks(&[b"retry: -1\n"]).1, None);
        assert_eq!(decode_chunks(&[b"retry: 10\nretry: oops\n"]).1, Some(10));
    }

    #[test]
    fn incomplete_event_is_not_dispatched() {
        let (events, _) = decode_chunks(&[b"data: done\n\ndata: half"]);
        assert_eq!(events, [ev("", "message", "done")]);
    }

    #[test]
    fn bom_is_skipped_once_even_split() {
        let stream: &[u8] = b"\xEF\xBB\xBFdata: x\n\n\xEF\xBB\xBFdata: y\n\n";
        for i in 0..=4 {
            let (events, _) = decode_chunks(&[&stream[..i], &stream[i..]]);
            assert_eq!(events[0], ev("", "message", "x"), "split at {i}");
            // A BOM later is not special: `\u{feff}data` is an unknown field.
            assert_eq!(events.len(), 1);
        }
    }

    #[test]
    fn unknown_fields_and_invalid_utf8() {
        let (events, _) = decode_chunks(&[b"foo: bar\ndata: caf\xC3\xA9 \xFF\n\n"]);
        assert_eq!(events, [ev("", "message", "café \u{FFFD}")]);
    }

    #[test]
    fn agrees_with_the_servers_encoder() {
        let frame = crate::sse::FrameBuilder::new()
            .id("abc")
            .event("note")
            .data("one\r\ntwo\rthree\n")
            .finish();
        let (events, _) = decode_chunks(&[&frame]);
        assert_eq!(events, [ev("abc", "note", "one\ntwo\nthree\n")]);
    }
}
