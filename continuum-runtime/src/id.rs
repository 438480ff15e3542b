//! Event ids: short opaque strings that carry the stream's epoch and a sequence.
//!
//! An id is `[0-9A-Za-z_-]{9,19}`: eight characters of epoch followed by the
//! sequence number, both in a URL-safe base-64 alphabet. Clients treat ids as
//! opaque; the hub parses them back to decide whether a `Last-Event-ID` can be
//! replayed without a gap.
//!
//! The epoch names the *stream*, not the process: the in-memory backplane picks
//! a random epoch each time the hub starts (so ids from before a restart are
//! recognised as foreign), while a shared backplane such as Redis Streams would
//! keep one epoch for the shared stream so that ids stay valid on every node.
//! Sequences only need to be strictly increasing within an epoch, not dense.
//!
//! ```
//! use continuum_runtime::id::{Epoch, EventId, IdCheck};
//!
//! let epoch = Epoch::new(0xBEEF);
//! let id = EventId::new(epoch, 42);
//! let text = id.to_string();
//! assert!(text.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
//! assert_eq!(EventId::parse(&text), Some(id));
//! assert_eq!(epoch.check(&text), IdCheck::Ours(42));
//! assert_eq!(Epoch::new(7).check(&text), IdCheck::ForeignEpoch);
//! assert_eq!(epoch.check("not an id!"), IdCheck::Invalid);
//! ```

use std::fmt;

/// Digits in ASCII order, so equal-length encodings sort like the numbers.
const ALPHABET: &[u8; 64] = b"-0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz";
const EPOCH_CHARS: usize = 8;
const EPOCH_MASK: u64 = (1 << 48) - 1;
/// Longest id in bytes: 8 epoch characters and up to 11 sequence characters.
pub const MAX_ID_LEN: usize = EPOCH_CHARS + 11;

fn digit(b: u8) -> Option<u64> {
    Some(match b {
        b'-' => 0,
        b'0'..=b'9' => (b - b'0') as u64 + 1,
        b'A'..=b'Z' => (b - b'A') as u64 + 11,
        b'_' => 37,
        b'a'..=b'z' => (b - b'a') as u64 + 38,
        _ => return None,
    })
}

/// The identity of one event stream (48 bits). Ids from another epoch cannot be
/// replayed: the events they refer to are gone or were never in this stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Epoch(u64);

impl Epoch {
    /// An epoch from its numeric value; only the low 48 bits are kept.
    pub const fn new(value: u64) -> Self {
        Epoch(value & EPOCH_MASK)
    }

    /// A fresh random epoch, as the in-memory backplane picks at start.
    pub fn random() -> Self {
        Epoch::new(random_u64())
    }

    /// The numeric value (48 bits).
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Classify a client-supplied id (e.g. `Last-Event-ID`) against this epoch.
    pub fn check(self, id: &str) -> IdCheck {
        match EventId::parse(id) {
            Some(id) if id.epoch == self => IdCheck::Ours(id.seq),
            Some(_) => IdCheck::ForeignEpoch,
            None => IdCheck::Invalid,
        }
    }
}

impl fmt::Display for Epoch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; EPOCH_CHARS];
        for (i, b) in buf.iter_mut().enumerate() {
            let shift = 6 * (EPOCH_CHARS - 1 - i);
            *b = ALPHABET[((self.0 >> shift) & 63) as usize];
        }
        // The alphabet is ASCII, so this cannot fail.
        f.write_str(std::str::from_utf8(&buf).unwrap_or_default())
    }
}

/// What a client-supplied id means to this hub.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IdCheck {
    /// An id of this epoch, with its sequence number.
    Ours(u64),
    /// A well-formed id of another epoch (e.g. from before a restart).
    ForeignEpoch,
    /// Not an id this hub could have issued.
    Invalid,
}

/// The id of one published event: its stream's epoch and its sequence number.
///
/// Rendered with `Display` (`to_string()`), serialized as that string.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId {
    epoch: Epoch,
    seq: u64,
}

impl EventId {
    /// The id of event `seq` in `epoch`.
    pub const fn new(epoch: Epoch, seq: u64) -> Self {
        EventId { epoch, seq }
    }

    /// The stream's epoch.
    pub const fn epoch(self) -> Epoch {
        self.epoch
    }

    /// The sequence number within the epoch.
    pub const fn seq(self) -> u64 {
        self.seq
    }

    /// Parse an id's text; `None` unless it is in the canonical form this
    /// module writes (so every event has exactly one spelling).
    pub fn parse(text: &str) -> Option<EventId> {
        let bytes = text.as_bytes();
        if bytes.len() <= EPOCH_CHARS || bytes.len() > MAX_ID_LEN {
            return None;
        }
        let mut epoch = 0u64;
        for &b in &bytes[..EPOCH_CHARS] {
            epoch = (epoch << 6) | digit(b)?;
        }
        let seq_bytes = &bytes[EPOCH_CHARS..];
        if seq_bytes.len() > 1 && seq_bytes[0] == b'-' {
            return None; // leading zero: not canonical
        }
        let mut seq = 0u64;
        for &b in seq_bytes {
            seq = seq.checked_mul(64)?.checked_add(digit(b)?)?;
        }
        Some(EventId {
            epoch: Epoch(epoch),
            seq,
        })
    }

    /// Write the id's text into `out` (at most [`MAX_ID_LEN`] bytes).
    pub fn write_to(self, out: &mut Vec<u8>) {
        let mut buf = [0u8; MAX_ID_LEN];
        let n = self.encode(&mut buf);
        out.extend_from_slice(&buf[..n]);
    }

    fn encode(self, buf: &mut [u8; MAX_ID_LEN]) -> usize {
        for (i, b) in buf[..EPOCH_CHARS].iter_mut().enumerate() {
            let shift = 6 * (EPOCH_CHARS - 1 - i);
            *b = ALPHABET[((self.epoch.0 >> shift) & 63) as usize];
        }
        let mut digits = [0u8; 11];
        let mut n = 0;
        let mut seq = self.seq;
        loop {
            digits[n] = ALPHABET[(seq & 63) as usize];
            n += 1;
            seq >>= 6;
            if seq == 0 {
                break;
            }
        }
        for i in 0..n {
            buf[EPOCH_CHARS + i] = digits[n - 1 - i];
        }
        EPOCH_CHARS + n
    }
}

impl fmt::Display for EventId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut buf = [0u8; MAX_ID_LEN];
        let n = self.encode(&mut buf);
        f.write_str(std::str::from_utf8(&buf[..n]).unwrap_or_default())
    }
}

impl serde::Serialize for EventId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// 64 bits of process-local randomness (not cryptographic): seeded from the
/// std hasher's random keys, the clock and a counter.
pub(crate) fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    if let Ok(d) = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        h.write_u128(d.as_nanos());
    }
    h.finish()
}

/// A small fast PRNG step (splitmix64), for per-connection jitter and ids.
pub(crate) fn splitmix64(state: u64) -> u64 {
    let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Encode 64 bits as 11 URL-safe characters (connection ids).
pub(crate) fn encode_u64(mut v: u64) -> String {
    let mut s = String::with_capacity(11);
    for _ in 0..11 {
        s.push(ALPHABET[(v & 63) as usize] as char);
        v >>= 6;
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_grammar() {
        for epoch in [0, 1, EPOCH_MASK, 0x1234_5678_9abc] {
            for seq in [
                0,
                1,
                63,
                64,
                4095,
                4096,
                u32::MAX as u64,
                u64::MAX - 1,
                u64::MAX,
            ] {
                let id = EventId::new(Epoch::new(epoch), seq);
                let s = id.to_string();
                assert!(s.len() > EPOCH_CHARS && s.len() <= MAX_ID_LEN, "{s}");
                assert!(s
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
                assert_eq!(EventId::parse(&s), Some(id), "{s}");
                let mut v = Vec::new();
                id.write_to(&mut v);
                assert_eq!(v, s.as_bytes());
            }
        }
    }

    #[test]
    fn equal_length_ids_sort_like_sequences() {
        let e = Epoch::new(99);
        let a = EventId::new(e, 100).to_string();
        let b = EventId::new(e, 101).to_string();
        assert!(a < b);
    }

    #[test]
    fn rejects_garbage() {
        for bad in [
            "",
            "abc",
            "--------",
            "--------!",
            "--------a b",
            "-------- ",
            "--------zzzzzzzzzzzz",
            "---------1",
            "é-------1",
        ] {
            assert_eq!(EventId::parse(bad), None, "{bad:?}");
        }
        // Overflow: 11 digits of 'z' exceed u64.
        assert_eq!(EventId::parse("--------zzzzzzzzzzz"), None);
    }

    #[test]
    fn epochs_classify() {
        let e = Epoch::random();
        let id = EventId::new(e, 5).to_string();
        assert_eq!(e.check(&id), IdCheck::Ours(5));
        assert_eq!(Epoch::new(e.get() ^ 1).check(&id), IdCheck::ForeignEpoch);
        assert_eq!(e.check("x"), IdCheck::Invalid);
        assert_ne!(Epoch::random(), Epoch::random());
    }
}
