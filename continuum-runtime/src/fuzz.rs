//! Entry points for the fuzz targets in `fuzz/` (`cargo fuzz`): the parsers
//! that see untrusted bytes but are not public API. Hidden, and not covered
//! by semver; nothing else should call these. This door converts the
//! internal types; internal code never names it.

use bytes::Bytes;
use serde_json::Value;

use crate::http::envelope;
use crate::http::query::SubscribeQuery;
use crate::http::BodyParts;
use crate::registry::Registry;
use crate::serve::{parse_head as parse_internal, unfinished_head, Head as Unfinished, Parse};

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
    match parse_internal(buf, body_limit) {
        Parse::Partial => Head::Partial,
        Parse::Other => Head::Hyper,
        Parse::Malformed(_) => Head::Malformed,
        Parse::Request(p) => Head::Request {
            method: p.request.method().to_string(),
            uri: p.request.uri().to_string(),
            len: p.len,
            body_len: p.body_len,
            close: p.close,
            headers: p.request.headers().len(),
        },
    }
}

/// Whether a head that never ended (timeout or the client's close) is
/// answered `400` (`true`) or closed silently.
pub fn unfinished_head_is_answered(buf: &[u8]) -> bool {
    matches!(
        unfinished_head(buf, String::new()),
        Unfinished::Malformed(..)
    )
}

/// An ingest body as decoded by `POST`: every event's type, channel and
/// data JSON, and whether the body was one envelope; or the refusal's
/// status and JSON body.
pub type Decoded = Result<(bool, Vec<(&'static str, Option<String>, Vec<u8>)>), (u16, Value)>;

/// Decode an ingest body against `registry`, as `POST` does before publishing.
pub fn decode_ingest_body(registry: &Registry, body: &[u8]) -> Decoded {
    match envelope::decode_body(registry, body) {
        Ok(batch) => {
            let mut events = Vec::with_capacity(batch.events.len());
            for (event, channel) in batch.events {
                let mut data = Vec::new();
                event
                    .write_data(&mut data)
                    .expect("a decoded event serializes");
                events.push((event.type_name(), channel.map(|c| c.to_string()), data));
            }
            Ok((batch.single, events))
        }
        Err(err) => {
            let res = err.into_response();
            let status = res.status().as_u16();
            let body = match res.into_body().into_parts() {
                BodyParts::Full(data) => data.unwrap_or_default(),
                BodyParts::Stream(..) => Bytes::new(),
            };
            let value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            Err((status, value))
        }
    }
}

/// The subscribe query as `GET` reads it: the `types` items and `lastEventId`.
pub fn subscribe_query(query: &str) -> (Option<Vec<String>>, Option<String>) {
    let q = SubscribeQuery::parse(Some(query));
    (q.types, q.last_event_id)
}
