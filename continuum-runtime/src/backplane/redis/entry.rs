//! Stream ids and entries: how a Redis stream id becomes an event's sequence,
//! and how an `XREAD`/`XREVRANGE` reply becomes events for the local log.

use std::borrow::Cow;
use std::sync::Arc;

use bytes::Bytes;
use redis::Value;

use crate::backplane::Outgoing;
use crate::id::Epoch;
use crate::trace::TraceContext;

/// Bits of a sequence that hold the entry's number within its millisecond.
/// Redis numbers entries within one millisecond from 0; 2^20 is more than a
/// million entries in one millisecond. The remaining 44 bits hold
/// milliseconds since 1970 until the year 2527.
const SEQ_BITS: u32 = 20;

/// A stream id `ms-n` as a sequence: `ms << 20 | n`, so sequences order like
/// stream ids. `None` for text that is not a stream id or out of range.
pub(crate) fn seq_of(stream_id: &[u8]) -> Option<u64> {
    let text = std::str::from_utf8(stream_id).ok()?;
    let (ms, n) = text.split_once('-')?;
    let (ms, n): (u64, u64) = (ms.parse().ok()?, n.parse().ok()?);
    if ms >= 1 << (64 - SEQ_BITS) || n >= 1 << SEQ_BITS {
        return None;
    }
    Some(ms << SEQ_BITS | n)
}

/// The stream id `ms-n` of a sequence made by [`seq_of`].
pub(crate) fn stream_id_of(seq: u64) -> String {
    format!("{}-{}", seq >> SEQ_BITS, seq & ((1 << SEQ_BITS) - 1))
}

/// The millisecond timestamp in a sequence (Redis's clock when it was added).
pub(crate) fn millis_of(seq: u64) -> u64 {
    seq >> SEQ_BITS
}

/// One entry read from the stream.
#[derive(Debug)]
pub(crate) struct Entry {
    /// The stream id as Redis wrote it (where the next read starts).
    pub(crate) stream_id: String,
    pub(crate) seq: u64,
    /// The epoch the publisher wrote into the entry.
    pub(crate) epoch: Option<Epoch>,
    /// The entry's number within its epoch (1, 2, 3, …): a number missing
    /// between two reads means entries were trimmed before they were read.
    pub(crate) number: Option<u64>,
    /// The event's version (`v`; 1 when absent: single-version events, and
    /// entries of builds before versions).
    pub(crate) version: u32,
    /// The writer's contract fingerprint (`w`; absent in entries of builds
    /// before versions).
    pub(crate) fingerprint: Option<Box<str>>,
    pub(crate) event: Outgoing,
    /// A `forget` of `event.key` (written by `FORGET`): no event to deliver,
    /// a key to drop, in order with the events around it.
    pub(crate) forget: bool,
}

fn bytes_of(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

fn items(v: &Value) -> Option<&[Value]> {
    match v {
        Value::Array(a) | Value::Set(a) => Some(a),
        _ => None,
    }
}

/// Parse an epoch as the scripts store it: a decimal number.
pub(crate) fn parse_epoch(v: &[u8]) -> Option<Epoch> {
    std::str::from_utf8(v)
        .ok()?
        .parse::<u64>()
        .ok()
        .map(Epoch::new)
}

/// One `[id, [field, value, …]]` pair. The fields (short, since every entry
/// carries them; written by `PUBLISH` in `scripts.rs`): `e` the epoch, `n`
/// the entry's number within it, `t`
/// the type, `c` the channel (absent for a public event), `d` the data JSON
/// (absent from a forget).
///
/// Optional fields, each absent from entries written by a build that
/// predates it (such an entry reads as before), and ignored by older
/// readers (the `_` arm below), so nodes of both builds share a stream:
/// - `tc` the trace context the event was created in: its W3C
///   `traceparent`, then a space and the `tracestate` if any
///   ([`TraceContext::from_entry`]); unreadable text is dropped, never
///   the event.
/// - `k` the key of a keyed event; with `f` (and no `d`) the entry is a
///   forget of that key, applied in order with the events around it.
/// - `v` the event's version (`version = N`; absent: 1). An entry whose
///   `v` is not a version from 1 is skipped, never read as version 1.
/// - `w` the writer's contract fingerprint (`Contract::fingerprint`).
fn entry(v: &Value) -> Option<Entry> {
    let [id, fields] = items(v)? else {
        return None;
    };
    let stream_id = std::str::from_utf8(bytes_of(id)?).ok()?.to_owned();
    let seq = seq_of(stream_id.as_bytes())?;
    let (mut epoch, mut number, mut type_name, mut channel, mut data) =
        (None, None, None, None, None);
    let mut trace = None;
    let (mut key, mut forget) = (None, false);
    let (mut version, mut fingerprint) = (1, None);
    let fields: Vec<&[u8]> = match fields {
        Value::Map(pairs) => pairs
            .iter()
            .flat_map(|(k, v)| [bytes_of(k), bytes_of(v)])
            .collect::<Option<_>>()?,
        other => items(other)?.iter().map(bytes_of).collect::<Option<_>>()?,
    };
    for pair in fields.chunks_exact(2) {
        let value = pair[1];
        match pair[0] {
            b"e" => epoch = parse_epoch(value),
            b"n" => number = std::str::from_utf8(value).ok().and_then(|n| n.parse().ok()),
            b"t" => type_name = Some(std::str::from_utf8(value).ok()?.to_owned()),
            b"c" => channel = Some(Arc::<str>::from(std::str::from_utf8(value).ok()?)),
            b"d" => data = Some(Bytes::copy_from_slice(value)),
            b"tc" => {
                trace = std::str::from_utf8(value)
                    .ok()
                    .and_then(TraceContext::from_entry)
                    .map(Arc::new)
            }
            b"k" => key = Some(Arc::<str>::from(std::str::from_utf8(value).ok()?)),
            b"f" => forget = true,
            b"v" => {
                version = std::str::from_utf8(value)
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .filter(|&v| v >= 1)?
            }
            b"w" => fingerprint = std::str::from_utf8(value).ok().map(Box::from),
            _ => {}
        }
    }
    let forget = forget && key.is_some();
    let data = if forget { Bytes::new() } else { data? };
    Some(Entry {
        stream_id,
        seq,
        epoch,
        number,
        version,
        fingerprint,
        event: Outgoing {
            type_name: Cow::Owned(type_name?),
            channel,
            data,
            value: None,
            trace,
            key,
        },
        forget,
    })
}

/// The entries of an `XRANGE`/`XREVRANGE` reply (an array of entries).
/// Entries that cannot be read are skipped and counted in the second value.
pub(crate) fn range_reply(v: &Value) -> (Vec<Entry>, usize) {
    let mut bad = 0;
    let entries = items(v)
        .unwrap_or_default()
        .iter()
        .filter_map(|e| {
            let parsed = entry(e);
            bad += usize::from(parsed.is_none());
            parsed
        })
        .collect();
    (entries, bad)
}

/// The entries of an `XREAD` reply for one stream (`Nil` when the block
/// timed out: no entries).
pub(crate) fn xread_reply(v: &Value) -> (Vec<Entry>, usize) {
    let streams: Vec<&Value> = match v {
        Value::Nil => return (Vec::new(), 0),
        Value::Map(pairs) => pairs.iter().map(|(_, v)| v).collect(),
        other => items(other)
            .unwrap_or_default()
            .iter()
            .filter_map(|s| items(s).and_then(|kv| kv.get(1)))
            .collect(),
    };
    let mut all = Vec::new();
    let mut bad = 0;
    for s in streams {
        let (mut entries, b) = range_reply(s);
        all.append(&mut entries);
        bad += b;
    }
    (all, bad)
}

/// One value of a state hash (written by `PUBLISH`):
/// `<epoch> <stream id> <channel length> <channel><data>`.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct StateValue {
    pub(crate) epoch: Epoch,
    pub(crate) seq: u64,
    pub(crate) channel: Option<Arc<str>>,
    pub(crate) data: Bytes,
}

pub(crate) fn state_value(v: &[u8]) -> Option<StateValue> {
    let mut rest = v;
    let mut word = || {
        let at = rest.iter().position(|&b| b == b' ')?;
        let w = &rest[..at];
        rest = &rest[at + 1..];
        Some(w)
    };
    let epoch = parse_epoch(word()?)?;
    let seq = seq_of(word()?)?;
    let len: usize = std::str::from_utf8(word()?).ok()?.parse().ok()?;
    let channel = rest.get(..len)?;
    let data = Bytes::copy_from_slice(rest.get(len..)?);
    let channel = (len > 0)
        .then(|| std::str::from_utf8(channel).ok().map(Arc::<str>::from))
        .flatten();
    Some(StateValue {
        epoch,
        seq,
        channel,
        data,
    })
}

/// The `[field, value, …]` pairs of an `HGETALL` reply (RESP2 array or RESP3 map).
pub(crate) fn hash_pairs(v: &Value) -> Vec<(&[u8], &[u8])> {
    match v {
        Value::Map(pairs) => pairs
            .iter()
            .filter_map(|(k, v)| Some((bytes_of(k)?, bytes_of(v)?)))
            .collect(),
        other => items(other)
            .unwrap_or_default()
            .chunks_exact(2)
            .filter_map(|p| Some((bytes_of(&p[0])?, bytes_of(&p[1])?)))
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stream_ids_map_to_ordered_sequences_and_back() {
        let a = seq_of(b"1764547200000-0").unwrap();
        let b = seq_of(b"1764547200000-1").unwrap();
        let c = seq_of(b"1764547200001-0").unwrap();
        assert!(a < b && b < c);
        assert_eq!(b - a, 1);
        assert_eq!(millis_of(c), 1764547200001);
        assert_eq!(seq_of(b"0-0"), Some(0));
        assert_eq!(stream_id_of(b), "1764547200000-1");
        assert_eq!(stream_id_of(0), "0-0");
        for bad in [
            &b"17-"[..],
            b"-1",
            b"x-1",
            b"1",
            b"1-1048576",
            b"99999999999999999-0",
        ] {
            assert_eq!(seq_of(bad), None, "{:?}", std::str::from_utf8(bad));
        }
    }

    #[test]
    fn xread_replies_parse_in_resp2_shape() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let reply = Value::Array(vec![Value::Array(vec![
            bulk("continuum:events"),
            Value::Array(vec![
                Value::Array(vec![
                    bulk("5-0"),
                    Value::Array(vec![
                        bulk("e"),
                        bulk("42"),
                        bulk("n"),
                        bulk("7"),
                        bulk("t"),
                        bulk("a.b"),
                        bulk("d"),
                        bulk("{\"n\":1}"),
                    ]),
                ]),
                Value::Array(vec![bulk("5-1"), Value::Array(vec![bulk("e")])]),
                Value::Array(vec![
                    bulk("6-0"),
                    Value::Array(vec![
                        bulk("e"),
                        bulk("42"),
                        bulk("t"),
                        bulk("a.b"),
                        bulk("c"),
                        bulk("user:1"),
                        bulk("d"),
                        bulk("null"),
                    ]),
                ]),
            ]),
        ])]);
        let (entries, bad) = xread_reply(&reply);
        assert_eq!(bad, 1, "the entry without fields is counted, not delivered");
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0].stream_id, "5-0");
        assert_eq!(entries[0].epoch, Some(Epoch::new(42)));
        assert_eq!(entries[0].number, Some(7));
        assert_eq!(&entries[0].event.data[..], b"{\"n\":1}");
        assert_eq!(entries[1].event.channel.as_deref(), Some("user:1"));
        assert!(
            entries[0].event.trace.is_none(),
            "an entry without `tc` reads as before"
        );
        assert_eq!(xread_reply(&Value::Nil).0.len(), 0);
    }

    #[test]
    fn the_trace_context_field_is_read_and_a_bad_one_is_dropped_not_the_event() {
        let bulk = |s: &str| Value::BulkString(s.as_bytes().to_vec());
        let tp = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        let one = |tc: &str| {
            Value::Array(vec![
                bulk("7-0"),
                Value::Array(vec![
                    bulk("e"),
                    bulk("42"),
                    bulk("t"),
                    bulk("a.b"),
                    bulk("tc"),
                    bulk(tc),
                    bulk("d"),
                    bulk("{}"),
                ]),
            ])
        };
        let (entries, bad) = range_reply(&Value::Array(vec![
            one(&format!("{tp} vendor=x")),
            one("not a traceparent"),
        ]));
        assert_eq!((entries.len(), bad), (2, 0));
        let trace = entries[0].event.trace.as_deref().expect("read");
        assert_eq!(trace.traceparent(), tp);
        assert_eq!(trace.tracestate(), Some("vendor=x"));
        assert!(entries[1].event.trace.is_none());
    }
}

#[cfg(test)]
mod state_tests {
    use super::*;

    #[test]
    fn state_values_parse_with_and_without_a_channel() {
        let v = state_value(b"42 5-1 6 user:1{\"a\": 1}").unwrap();
        assert_eq!(v.epoch, Epoch::new(42));
        assert_eq!(v.seq, seq_of(b"5-1").unwrap());
        assert_eq!(v.channel.as_deref(), Some("user:1"));
        assert_eq!(&v.data[..], b"{\"a\": 1}");
        let v = state_value(b"42 5-1 0 {}").unwrap();
        assert_eq!((v.channel, &v.data[..]), (None, &b"{}"[..]));
        assert_eq!(state_value(b"42 5-1 9 ab"), None);
    }
}
