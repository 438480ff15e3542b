//! A minimal streaming client for `GET /api/events` over raw HTTP/1.1: status line and
//! headers, chunked transfer decoding, and just enough SSE parsing to tell the load
//! generator what it needs — which frames arrived, their event type class and the
//! `sentNs` stamp inside a benchmark event's data.
//!
//! It allocates nothing per event: complete lines are parsed in place from the read
//! buffer, and only a line split across two reads is copied.
//!
//! ```
//! use continuum_bench::sse::{Frame, Kind, SseClient};
//!
//! let mut client = SseClient::new();
//! let mut frames = Vec::new();
//! let bytes = b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n\
//!               27\r\nevent: bench.tick\ndata: {\"sentNs\":42}\n\n\r\n";
//! client.feed(bytes, |f| frames.push(f)).unwrap();
//! assert_eq!(frames, [Frame::Event { kind: Kind::Tick, sent_ns: Some(42) }]);
//! ```

use std::fmt;
use std::sync::LazyLock;

use memchr::{memchr, memmem};

/// The event type names the load generator tells apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `bench.tick`: a benchmark event, counted and timed.
    Tick,
    /// `continuum.connected`: the handshake both servers send first.
    Connected,
    /// `continuum.reset`: the server could not prove nothing was missed.
    Reset,
    /// Any other type, including the default `message`.
    Other,
}

impl Kind {
    fn from_name(name: &[u8]) -> Self {
        match name {
            b"bench.tick" => Kind::Tick,
            b"continuum.connected" => Kind::Connected,
            b"continuum.reset" => Kind::Reset,
            _ => Kind::Other,
        }
    }
}

/// One complete SSE frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Frame {
    /// A dispatched event (it had at least one `data:` line).
    Event {
        /// The class of its `event:` name.
        kind: Kind,
        /// The first `"sentNs":<digits>` found in its data, if any.
        sent_ns: Option<u64>,
    },
    /// A comment line (`: …`), such as a keep-alive.
    Comment,
}

/// Why a response stream cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParseError {
    /// The response status was not `200`.
    Status(u16),
    /// The status line or headers were malformed or too long.
    BadHead,
    /// The chunked transfer coding was malformed.
    BadChunk,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Status(code) => write!(f, "response status {code}"),
            ParseError::BadHead => f.write_str("malformed response head"),
            ParseError::BadChunk => f.write_str("malformed chunked body"),
        }
    }
}

impl std::error::Error for ParseError {}

const MAX_HEAD: usize = 64 * 1024;
const SENT_NS: &[u8] = b"\"sentNs\":";
/// Built once: constructing a searcher per data line cost the generator 7% of its CPU.
static SENT_NS_FINDER: LazyLock<memmem::Finder<'static>> =
    LazyLock::new(|| memmem::Finder::new(SENT_NS));

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Chunk {
    /// Reading the hex size; the value so far.
    Size(u64),
    /// Skipping a chunk extension up to the line feed.
    Ext(u64),
    /// Inside chunk data; bytes left.
    Data(u64),
    /// After chunk data, expecting CRLF.
    DataEnd,
    /// The last (zero) chunk was read.
    Done,
}

/// A streaming parser for one SSE response; feed it every byte read from the socket.
#[derive(Debug)]
pub struct SseClient {
    in_head: bool,
    head: Vec<u8>,
    chunked: Option<Chunk>,
    line: Vec<u8>,
    kind: Kind,
    sent_ns: Option<u64>,
    has_data: bool,
}

impl Default for SseClient {
    fn default() -> Self {
        Self::new()
    }
}

impl SseClient {
    /// A parser expecting the response's status line.
    pub fn new() -> Self {
        SseClient {
            in_head: true,
            head: Vec::new(),
            chunked: None,
            line: Vec::new(),
            kind: Kind::Other,
            sent_ns: None,
            has_data: false,
        }
    }

    /// Whether the server ended a chunked body (the stream is over).
    pub fn is_done(&self) -> bool {
        self.chunked == Some(Chunk::Done)
    }

    /// Parse `data`, calling `on` for every complete frame in it.
    pub fn feed(&mut self, data: &[u8], mut on: impl FnMut(Frame)) -> Result<(), ParseError> {
        let mut data = data;
        if self.in_head {
            let from = self.head.len().saturating_sub(3);
            self.head.extend_from_slice(data);
            let Some(end) = memmem::find(&self.head[from..], b"\r\n\r\n").map(|i| from + i + 4)
            else {
                return if self.head.len() > MAX_HEAD {
                    Err(ParseError::BadHead)
                } else {
                    Ok(())
                };
            };
            self.parse_head(end)?;
            self.in_head = false;
            // The body bytes that came with the head: the part of `data` after it.
            let body_in_data = self.head.len() - end;
            data = &data[data.len() - body_in_data..];
            self.head = Vec::new();
        }
        if self.chunked.is_some() {
            self.feed_chunked(data, &mut on)
        } else {
            self.feed_body(data, &mut on);
            Ok(())
        }
    }

    fn parse_head(&mut self, end: usize) -> Result<(), ParseError> {
        let head = &self.head[..end];
        let mut lines = head.split(|&b| b == b'\n');
        let status = lines.next().ok_or(ParseError::BadHead)?;
        let mut parts = status.split(|&b| b == b' ');
        let version = parts.next().unwrap_or_default();
        if !version.starts_with(b"HTTP/1.") {
            return Err(ParseError::BadHead);
        }
        let code = parts
            .next()
            .and_then(|c| std::str::from_utf8(c).ok())
            .and_then(|c| c.parse::<u16>().ok())
            .ok_or(ParseError::BadHead)?;
        if code != 200 {
            return Err(ParseError::Status(code));
        }
        for line in lines {
            let Some(colon) = memchr(b':', line) else {
                continue;
            };
            let (name, value) = (&line[..colon], &line[colon + 1..]);
            if name.eq_ignore_ascii_case(b"transfer-encoding")
                && value
                    .to_ascii_lowercase()
                    .windows(7)
                    .any(|w| w == b"chunked")
            {
                self.chunked = Some(Chunk::Size(0));
            }
        }
        Ok(())
    }

    fn feed_chunked(
        &mut self,
        mut data: &[u8],
        on: &mut impl FnMut(Frame),
    ) -> Result<(), ParseError> {
        let mut state = self.chunked.unwrap_or(Chunk::Size(0));
        while !data.is_empty() {
            match state {
                Chunk::Size(v) => {
                    let b = data[0];
                    data = &data[1..];
                    state = match b {
                        b'0'..=b'9' | b'a'..=b'f' | b'A'..=b'F' => {
                            let digit = (b as char).to_digit(16).unwrap_or(0) as u64;
                            Chunk::Size(
                                v.checked_mul(16)
                                    .and_then(|v| v.checked_add(digit))
                                    .ok_or(ParseError::BadChunk)?,
                            )
                        }
                        b'\n' => end_of_size(v),
                        _ => Chunk::Ext(v),
                    };
                }
                Chunk::Ext(v) => match memchr(b'\n', data) {
                    Some(i) => {
                        data = &data[i + 1..];
                        state = end_of_size(v);
                    }
                    None => data = &[],
                },
                Chunk::Data(left) => {
                    let n = usize::try_from(left).unwrap_or(usize::MAX).min(data.len());
                    self.feed_body(&data[..n], on);
                    data = &data[n..];
                    let left = left - n as u64;
                    state = if left == 0 {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left)
                    };
                }
                Chunk::DataEnd => {
                    let b = data[0];
                    data = &data[1..];
                    state = match b {
                        b'\r' => Chunk::DataEnd,
                        b'\n' => Chunk::Size(0),
                        _ => return Err(ParseError::BadChunk),
                    };
                }
                // Trailers and anything after the last chunk are ignored.
                Chunk::Done => data = &[],
            }
        }
        self.chunked = Some(state);
        Ok(())
    }

    fn feed_body(&mut self, mut data: &[u8], on: &mut impl FnMut(Frame)) {
        while let Some(i) = memchr(b'\n', data) {
            if self.line.is_empty() {
                self.line_complete(&data[..i], on);
            } else {
                let mut line = std::mem::take(&mut self.line);
                line.extend_from_slice(&data[..i]);
                self.line_complete(&line, on);
                line.clear();
                self.line = line;
            }
            data = &data[i + 1..];
        }
        self.line.extend_from_slice(data);
    }

    fn line_complete(&mut self, line: &[u8], on: &mut impl FnMut(Frame)) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.is_empty() {
            if self.has_data {
                on(Frame::Event {
                    kind: self.kind,
                    sent_ns: self.sent_ns,
                });
            }
            self.kind = Kind::Other;
            self.sent_ns = None;
            self.has_data = false;
            return;
        }
        if line[0] == b':' {
            on(Frame::Comment);
            return;
        }
        let (field, value) = match memchr(b':', line) {
            Some(i) => {
                let value = &line[i + 1..];
                (&line[..i], value.strip_prefix(b" ").unwrap_or(value))
            }
            None => (line, &b""[..]),
        };
        match field {
            b"event" => self.kind = Kind::from_name(value),
            b"data" => {
                self.has_data = true;
                if self.sent_ns.is_none() {
                    self.sent_ns = find_sent_ns(value);
                }
            }
            _ => {}
        }
    }
}

fn end_of_size(size: u64) -> Chunk {
    if size == 0 {
        Chunk::Done
    } else {
        Chunk::Data(size)
    }
}

/// The unsigned integer after the first `"sentNs":` in `data`.
fn find_sent_ns(data: &[u8]) -> Option<u64> {
    let at = SENT_NS_FINDER.find(data)? + SENT_NS.len();
    let digits = data[at..].iter().skip_while(|b| **b == b' ');
    let mut value: u64 = 0;
    let mut any = false;
    for &b in digits {
        if !b.is_ascii_digit() {
            break;
        }
        value = value.checked_mul(10)?.checked_add(u64::from(b - b'0'))?;
        any = true;
    }
    any.then_some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEAD: &[u8] =
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n";

    fn chunked(body: &[u8], pieces: usize) -> Vec<u8> {
        let mut out = HEAD.to_vec();
        for part in body.chunks(body.len().div_ceil(pieces)) {
            out.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
            out.extend_from_slice(part);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
        out
    }

    fn parse_split(bytes: &[u8], step: usize) -> (Vec<Frame>, bool) {
        let mut client = SseClient::new();
        let mut frames = Vec::new();
        for piece in bytes.chunks(step) {
            client.feed(piece, |f| frames.push(f)).unwrap();
        }
        (frames, client.is_done())
    }

    #[test]
    fn frames_survive_every_split_of_chunks_and_reads() {
        let body = b"event: continuum.connected\ndata: {\"connectionId\":\"c1\"}\n\n\
                     retry: 3000\n\n\
                     : keep-alive\n\n\
                     id: 7\r\nevent: bench.tick\r\ndata: {\"type\":\"bench.tick\",\"data\":{\"seq\":1,\"sentNs\": 123456}}\r\n\r\n\
                     data: line one\ndata: line two\n\n\
                     event: continuum.reset\ndata: {}\n\n";
        let expected = [
            Frame::Event {
                kind: Kind::Connected,
                sent_ns: None,
            },
            Frame::Comment,
            Frame::Event {
                kind: Kind::Tick,
                sent_ns: Some(123_456),
            },
            Frame::Event {
                kind: Kind::Other,
                sent_ns: None,
            },
            Frame::Event {
                kind: Kind::Reset,
                sent_ns: None,
            },
        ];
        for pieces in [1, 2, 5, 17] {
            let bytes = chunked(body, pieces);
            for step in [1, 3, 7, 64, bytes.len()] {
                let (frames, done) = parse_split(&bytes, step);
                assert_eq!(frames, expected, "pieces {pieces}, step {step}");
                assert!(done);
            }
        }
    }

    #[test]
    fn identity_body_and_errors() {
        let mut client = SseClient::new();
        let mut frames = Vec::new();
        client
            .feed(
                b"HTTP/1.1 200 OK\r\n\r\nevent: bench.tick\ndata: {\"sentNs\":9}\n\n",
                |f| frames.push(f),
            )
            .unwrap();
        assert_eq!(
            frames,
            [Frame::Event {
                kind: Kind::Tick,
                sent_ns: Some(9)
            }]
        );

        let mut client = SseClient::new();
        assert_eq!(
            client.feed(b"HTTP/1.1 401 Unauthorized\r\n\r\n", |_| {}),
            Err(ParseError::Status(401))
        );
        let mut client = SseClient::new();
        assert_eq!(
            client.feed(b"SSH-2.0\r\n\r\n", |_| {}),
            Err(ParseError::BadHead)
        );
        let mut client = SseClient::new();
        assert_eq!(
            client.feed(
                b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nabcdeXY",
                |_| {}
            ),
            Err(ParseError::BadChunk)
        );
    }

    #[test]
    fn sent_ns_needs_digits() {
        assert_eq!(find_sent_ns(b"{\"sentNs\":}"), None);
        assert_eq!(find_sent_ns(b"{\"sentNs\":99999999999999999999999}"), None);
        assert_eq!(find_sent_ns(b"{\"seq\":1,\"sentNs\":5}"), Some(5));
    }
}
