//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): the parsers
//! that see untrusted bytes but are not public API. Hidden, and not covered
//! by semver; nothing else should call these.

use serde_json::Value;

use crate::registry::Registry;

/// What the standalone server's HTTP/1.1 reader makes of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Head {
    /// Not a whole head yet: read on.
    Partial,
    /// Handed to hyper with the bytes read so far.
    Hyper,
    /// Answered `400` and closed.
    Malformed,
    /// Answered by the reader.
    Request {
        /// `GET` or `POST`.
        method: String,
        /// The request target.
        uri: String,
        /// Length of the head in the buffer.
        len: usize,
        /// Declared body length.
        body_len: usize,
        /// `connection: close` was asked for.
        close: bool,
        /// Header count.
        headers: usize,
    },
}

/// Parse a request head as the standalone server does, with `body_limit`.
pub fn parse_head(buf: &[u8], body_limit: usize) -> Head {
    crate::serve::fuzz_parse_head(buf, body_limit)
}

/// Whether a head that never ended (timeout or the client's close) is
/// answered `400` (`true`) or closed silently.
pub fn unfinished_head_is_answered(buf: &[u8]) -> bool {
    crate::serve::fuzz_unfinished_is_answered(buf)
}

/// An ingest body as decoded by `POST`: every event's type, channel and
/// data JSON, and whether the body was one envelope; or the refusal's
/// status and JSON body.
pub type Decoded = Result<(bool, Vec<(&'static str, Option<String>, Vec<u8>)>), (u16, Value)>;

/// Decode an ingest body against `registry`, as `POST` does before publishing.
pub fn decode_ingest_body(registry: &Registry, body: &[u8]) -> Decoded {
    crate::http::fuzz_decode_body(registry, body)
}

/// The subscribe query as `GET` reads it: the `types` items and `lastEventId`.
pub fn subscribe_query(query: &str) -> (Option<Vec<String>>, Option<String>) {
    crate::http::fuzz_subscribe_query(query)
}
