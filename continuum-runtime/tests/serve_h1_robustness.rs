//! Robustness of the standalone server's own HTTP/1.1 request reader
//! (`serve/h1.rs`, which hands whatever it does not answer to hyper with the
//! bytes replayed), over real TCP against a real `Server::run`.
//!
//! A corpus of valid requests (a subscription, single and batch ingest, a
//! pipelined mix) is sent as is, then mutated: truncated at every byte,
//! bytes replaced, flipped, inserted and deleted (seeded xorshift; the seed
//! is printed, `CONTINUUM_FUZZ_SEED` replays one and
//! `CONTINUUM_FUZZ_MUTATIONS` hunts longer), plus
//! hand-written hostile inputs (header and framing abuse, smuggling shapes,
//! slow and partial heads). For every connection the server must answer with
//! well-formed responses whose statuses the contract allows, or close; never
//! hang; never stream SSE for anything but a valid `GET`; never answer more
//! requests than were sent. An independent request framer ([`walk`], written
//! from RFC 9112 with the leniencies of httparse and hyper) says which
//! requests each connection carried. Afterwards the server must still serve a
//! new subscriber, and a subscriber opened at the start must have seen only
//! events that a well-framed `POST` carried.

mod http_support;

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum_runtime::{Hub, Server};
use http_support::*;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio::task::JoinSet;

/// The battery's seed unless `CONTINUUM_FUZZ_SEED` (decimal or `0x` hex) says otherwise.
const DEFAULT_SEED: u64 = 0x00c0_471b_0b5e_ed01;
/// The server's header-read timeout in these tests: short, so that slow and
/// partial heads are closed quickly, yet far above what a whole head takes
/// to arrive over loopback.
const HEADER_TIMEOUT: Duration = Duration::from_millis(1000);
/// A connection the server must close by itself (slow or partial head) is
/// closed within this long.
const CLOSE_BOUND: Duration = Duration::from_millis(4000);
/// Connections in flight at once.
const IN_FLIGHT: usize = 48;
/// Random mutations of each valid template and each framing case, unless
/// `CONTINUUM_FUZZ_MUTATIONS` says otherwise (a longer hunt: 2,500 runs
/// about 33,000 connections in 9 s).
const MUTATIONS: usize = 400;
/// In an expected list: any `4xx` (hyper's automatic answer to a head it
/// cannot parse; which one is hyper's choice).
const REFUSED: u16 = 0;
/// Statuses the HTTP contract and hyper's automatic error answers allow.
const ALLOWED: [u16; 17] = [
    100, 200, 202, 204, 400, 401, 403, 404, 405, 408, 411, 413, 414, 415, 422, 431, 501,
];

/// xorshift64: small, deterministic, good enough to pick bytes and positions.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }
}

/// A non-zero number from the environment (decimal or `0x` hex), or `default`.
fn env_number(name: &str, default: u64) -> u64 {
    let Ok(text) = std::env::var(name) else {
        return default;
    };
    let text = text.trim();
    let parsed = match text.strip_prefix("0x") {
        Some(hex) => u64::from_str_radix(hex, 16),
        None => text.parse(),
    };
    match parsed {
        Ok(0) | Err(_) => panic!("{name} must be a non-zero u64, got {text:?}"),
        Ok(n) => n,
    }
}

// ---------------------------------------------------------------------------
// The corpus

fn progress_body(id: &str, progress: u8) -> String {
    json!({
        "type": "ai.task.progress",
        "data": {"taskId": id, "stage": "prompting", "progress": progress},
    })
    .to_string()
}

fn batch_body(id: &str) -> String {
    json!([
        {
            "type": "ai.task.progress",
            "data": {"taskId": format!("{id}-a"), "stage": "queued", "progress": 0},
        },
        {"type": "media.upload.done", "data": {"file": format!("{id}.png")}}
    ])
    .to_string()
}

const SUBSCRIBE: &str = "GET /api/events?types=ai.task.progress,media.* HTTP/1.1\r\n\
     Host: 127.0.0.1\r\nAccept: text/event-stream\r\nCache-Control: no-cache\r\n\
     Origin: https://app.example\r\nUser-Agent: continuum-fuzz/1\r\n\r\n";

fn post_req(body: &str, extra: &str) -> String {
    format!(
        "POST /api/events HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         {extra}Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
}

/// A 404, a single and a batch ingest, then a subscription, in one write.
fn pipelined(id: &str) -> String {
    format!(
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n{}{}{SUBSCRIBE}",
        post_req(&progress_body(&format!("{id}-p"), 42), ""),
        post_req(&batch_body(id), &format!("Idempotency-Key: k-{id}\r\n")),
    )
}

/// A valid request (or several), with what the server answers and publishes.
struct Template {
    name: &'static str,
    bytes: Vec<u8>,
    statuses: Vec<u16>,
    published: Vec<Value>,
}

/// The valid corpus; `id` makes its task ids and idempotency key unique.
fn templates(id: &str) -> Vec<Template> {
    let single = progress_body(&format!("{id}-s"), 7);
    let batch = batch_body(&format!("{id}-b"));
    let piped_single = progress_body(&format!("{id}-p"), 42);
    let mut piped_events = envelopes(piped_single.as_bytes());
    piped_events.extend(envelopes(batch_body(id).as_bytes()));
    vec![
        Template {
            name: "subscribe",
            bytes: SUBSCRIBE.into(),
            statuses: vec![200],
            published: vec![],
        },
        Template {
            name: "post",
            bytes: post_req(&single, "").into_bytes(),
            statuses: vec![202],
            published: envelopes(single.as_bytes()),
        },
        Template {
            name: "post-batch",
            bytes: post_req(&batch, "X-Request-Id: r-1\r\n").into_bytes(),
            statuses: vec![202],
            published: envelopes(batch.as_bytes()),
        },
        Template {
            name: "pipelined",
            bytes: pipelined(id).into_bytes(),
            statuses: vec![404, 202, 202, 200],
            published: piped_events,
        },
    ]
}

/// The envelopes a JSON body carries (one, or each of an array); none when
/// it is not JSON.
fn envelopes(body: &[u8]) -> Vec<Value> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Array(items)) => items,
        Ok(one) => vec![one],
        Err(_) => Vec::new(),
    }
}

/// How a case's bytes are sent.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Delivery {
    /// One write, then the write side is shut: the server must answer what
    /// it got and close.
    Whole,
    /// Many writes of 1–5 bytes, then the write side is shut.
    Tiny,
    /// One write, and the write side stays open: the server must close by
    /// itself (`connection: close`, an error, or the header timeout).
    Open,
    /// One byte every 100 ms, much slower than the header timeout allows.
    Drip,
}

struct Case {
    name: String,
    bytes: Vec<u8>,
    send: Delivery,
    /// Exact statuses, interim ones left out, when they are known.
    expect: Option<Vec<u16>>,
}

impl Case {
    fn new(name: impl Into<String>, bytes: impl Into<Vec<u8>>, send: Delivery) -> Case {
        Case {
            name: name.into(),
            bytes: bytes.into(),
            send,
            expect: None,
        }
    }

    fn expect(mut self, statuses: &[u16]) -> Case {
        self.expect = Some(statuses.to_vec());
        self
    }
}

/// A case sent in one write with the write side left open, answered with
/// exactly `statuses`.
fn open(name: impl Into<String>, bytes: impl Into<Vec<u8>>, statuses: &[u16]) -> Case {
    Case::new(name, bytes, Delivery::Open).expect(statuses)
}

/// Random mutations of `bytes`: a byte replaced (often by a delimiter or a
/// control byte), a bit flipped, a byte inserted or deleted, a slice
/// repeated, a line ending changed.
fn mutate(rng: &mut Rng, bytes: &[u8]) -> (String, Vec<u8>) {
    const SPECIAL: &[u8] = b"\0\r\n\t :;,\x7f\x80\xff\"{}-+0/?#%";
    let mut out = bytes.to_vec();
    if out.is_empty() {
        return ("none".into(), out);
    }
    let at = rng.below(out.len());
    let what = match rng.below(7) {
        0 => {
            out[at] = rng.byte();
            "replace"
        }
        1 => {
            out[at] = SPECIAL[rng.below(SPECIAL.len())];
            "special"
        }
        2 => {
            out[at] ^= 1 << rng.below(8);
            "bitflip"
        }
        3 => {
            out.insert(at, SPECIAL[rng.below(SPECIAL.len())]);
            "insert"
        }
        4 => {
            out.remove(at);
            "delete"
        }
        5 => {
            let len = 1 + rng.below(24).min(out.len() - at - 1);
            let slice = out[at..at + len].to_vec();
            let times = 1 + rng.below(3);
            for _ in 0..times {
                out.splice(at..at, slice.iter().copied());
            }
            "repeat"
        }
        _ => {
            // Every CRLF from here on becomes a bare LF (or a bare CR).
            let to: &[u8] = if rng.below(2) == 0 { b"\n" } else { b"\r" };
            let mut changed = out[..at].to_vec();
            let mut rest = &out[at..];
            while let Some(p) = rest.windows(2).position(|w| w == b"\r\n") {
                changed.extend_from_slice(&rest[..p]);
                changed.extend_from_slice(to);
                rest = &rest[p + 2..];
            }
            changed.extend_from_slice(rest);
            out = changed;
            if to == b"\n" {
                "bare-lf"
            } else {
                "bare-cr"
            }
        }
    };
    (format!("{what}@{at}"), out)
}

/// Hand-written hostile inputs. `expect` is given where the outcome does
/// not depend on timing; those cases leave the write side open (a shut write
/// side lets hyper drop a request before answering it).
fn hostile() -> Vec<Case> {
    let small = &progress_body("p", 1);
    let ev = progress_body("hostile", 1);
    let n = ev.len();
    let head = |extra: &str| {
        format!("POST /api/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{extra}")
    };
    let mut cases = Vec::new();
    // Header abuse.
    cases.push(open(
        "no-colon",
        "GET /api/events HTTP/1.1\r\nHost x\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(open(
        "space-before-colon",
        "GET /api/events HTTP/1.1\r\nHost : x\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(open(
        "obs-fold",
        "GET /api/events HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(open(
        "nul-in-value",
        "GET /api/events HTTP/1.1\r\nHost: x\0y\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(open(
        "nul-in-name",
        "GET /api/events HTTP/1.1\r\nHo\0st: x\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(open(
        "nul-in-path",
        "GET /api/ev\0ents HTTP/1.1\r\nHost: x\r\n\r\n",
        &[REFUSED],
    ));
    // No end of head: after hyper-util's protocol detection splits
    // the replayed bytes, hyper waits for one (as it does for any
    // head that arrives in pieces), then the header timeout closes.
    cases.push(Case::new(
        "bare-cr",
        "GET /api/events HTTP/1.1\rHost: x\r\r",
        Delivery::Open,
    ));
    cases.push(open(
        "non-utf8-path",
        b"GET /api/events\xff\xfe HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".to_vec(),
        &[REFUSED],
    ));
    cases.push(open(
        "non-utf8-value",
        b"GET /nope HTTP/1.1\r\nHost: x\r\nX-Bin: \xff\xfe\x80\r\nConnection: close\r\n\r\n"
            .to_vec(),
        &[404],
    ));
    cases.push(open(
        "bare-lf-subscribe",
        SUBSCRIBE.replace("\r\n", "\n"),
        &[200],
    ));
    cases.push(open(
        "bare-lf-post",
        post_req(small, "Connection: close\r\n").replace("\r\n", "\n"),
        &[202],
    ));
    cases.push(open(
        "60-headers",
        format!(
            "GET /nope HTTP/1.1\r\n{}Connection: close\r\n\r\n",
            "X-Dup: 1\r\n".repeat(60)
        ),
        &[404],
    ));
    cases.push(open(
        "200-headers",
        format!(
            "GET /api/events HTTP/1.1\r\n{}\r\n",
            "X-Dup: 1\r\n".repeat(200)
        ),
        &[REFUSED],
    ));
    cases.push(open(
        "9k-header",
        format!(
            "GET /nope HTTP/1.1\r\nX-Big: {}\r\nConnection: close\r\n\r\n",
            "a".repeat(9 * 1024)
        ),
        &[404],
    ));
    // Answered before it is all read: the close may reset the socket.
    cases.push(Case::new(
        "500k-header",
        format!(
            "GET /api/events HTTP/1.1\r\nX-Big: {}\r\n\r\n",
            "a".repeat(500 * 1024)
        ),
        Delivery::Whole,
    ));
    cases.push(open(
        "70k-uri",
        format!("GET /api/events?{} HTTP/1.1\r\n\r\n", "a".repeat(70 * 1024)),
        &[REFUSED],
    ));
    cases.push(open(
        "duplicate-host-and-origin",
        "GET /api/events HTTP/1.1\r\nHost: a\r\nHost: b\r\nOrigin: https://app.example\r\n\
             Origin: https://evil.example\r\n\r\n",
        &[200],
    ));
    // Request line abuse.
    cases.push(open(
        "lowercase-method",
        "get /api/events HTTP/1.1\r\nConnection: close\r\n\r\n",
        &[405],
    ));
    cases.push(open(
        "double-space",
        "GET  /api/events HTTP/1.1\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(
        Case::new("no-version", "GET /api/events\r\n\r\n", Delivery::Open).expect(&[REFUSED]),
    );
    cases.push(open(
        "http-1.2",
        "GET /api/events HTTP/1.2\r\n\r\n",
        &[REFUSED],
    ));
    cases.push(Case::new(
        "http-0.9",
        "GET /api/events\r\n",
        Delivery::Whole,
    ));
    cases.push(open(
        "http-1.0-get",
        "GET /api/events HTTP/1.0\r\n\r\n",
        &[200],
    ));
    cases.push(open(
        "http-1.0-post",
        post_req(small, "").replace("HTTP/1.1", "HTTP/1.0"),
        &[202],
    ));
    cases.push(open(
        "absolute-form",
        "GET http://127.0.0.1/api/events HTTP/1.1\r\nHost: x\r\n\r\n",
        &[200],
    ));
    cases.push(open(
        "asterisk-form",
        "GET * HTTP/1.1\r\nConnection: close\r\n\r\n",
        &[404],
    ));
    cases.push(open(
        "options",
        "OPTIONS /api/events HTTP/1.1\r\nOrigin: https://app.example\r\n\
             Access-Control-Request-Method: POST\r\nConnection: close\r\n\r\n",
        &[204],
    ));
    cases.push(Case::new(
        "upgrade-h2c",
        "GET /api/events HTTP/1.1\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
             HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
        Delivery::Whole,
    ));
    cases.push(open(
        "leading-blank-lines",
        format!("\r\n\n{SUBSCRIBE}"),
        &[200],
    ));
    cases.push(Case::new("empty-lines-only", "\r\n\r\n\r\n", Delivery::Whole).expect(&[]));
    cases.push(Case::new("connect-and-close", "", Delivery::Whole).expect(&[]));
    // Content-Length abuse.
    cases.push(open(
        "cl-huge",
        format!(
            "{}Content-Length: 99999999999999999999\r\n\r\n{ev}",
            head("")
        ),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-u64-max",
        format!(
            "{}Content-Length: 18446744073709551615\r\n\r\n{ev}",
            head("")
        ),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-over-limit",
        format!("{}Content-Length: 9007199254740993\r\n\r\n{ev}", head("")),
        &[413],
    ));
    cases.push(Case::new(
        "cl-over-fast-path",
        format!("{}Content-Length: 100000\r\n\r\n{ev}", head("")),
        Delivery::Whole,
    ));
    cases.push(open(
        "cl-negative",
        format!("{}Content-Length: -1\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-plus",
        format!("{}Content-Length: +{n}\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-hex",
        format!("{}Content-Length: 0x{n:x}\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-empty",
        format!("{}Content-Length:\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-list",
        format!("{}Content-Length: {n}, {n}\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-inner-space",
        format!("{}Content-Length: 1 {n}\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-duplicate-same",
        format!(
            "{}Content-Length: {n}\r\nContent-Length: {n}\r\nConnection: close\r\n\r\n{ev}",
            head("")
        ),
        &[202],
    ));
    cases.push(open(
        "cl-duplicate-different",
        format!(
            "{}Content-Length: {n}\r\nContent-Length: {}\r\n\r\n{ev}",
            head(""),
            n - 1
        ),
        &[REFUSED],
    ));
    cases.push(open(
        "cl-leading-zeros",
        format!(
            "{}Content-Length: 000{n}\r\nConnection: close\r\n\r\n{ev}",
            head("")
        ),
        &[202],
    ));
    cases.push(open(
        "cl-padded",
        format!(
            "{}Content-Length: \t {n} \t\r\nConnection: close\r\n\r\n{ev}",
            head("")
        ),
        &[202],
    ));
    cases.push(open(
        "cl-short-then-garbage",
        format!("{}Content-Length: {}\r\n\r\n{ev}", head(""), n - 3),
        &[400, 400],
    ));
    cases.push(Case::new(
        "cl-long-swallows-next",
        format!(
            "{}Content-Length: {}\r\n\r\n{ev}GET /api/events HTTP/1.1\r\n\r\n",
            head(""),
            n + 5
        ),
        Delivery::Whole,
    ));
    cases.push(Case::new(
        "get-with-body",
        format!("GET /api/events HTTP/1.1\r\nContent-Length: {n}\r\n\r\n{ev}"),
        Delivery::Whole,
    ));
    cases.push(open(
        "post-no-length",
        format!("{}\r\n{ev}", head("")),
        &[400, 400],
    ));
    // Transfer-Encoding abuse.
    cases.push(open(
        "te-and-cl",
        format!(
            "{}Transfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n\
                 {n:x}\r\n{ev}\r\n0\r\n\r\n",
            head("")
        ),
        &[202],
    ));
    cases.push(open(
        "cl-and-te",
        format!(
            "{}Content-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n\
                 {n:x}\r\n{ev}\r\n0\r\n\r\n",
            head("")
        ),
        &[202],
    ));
    cases.push(open(
        "te-chunked",
        format!(
            "{}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
                 5\r\n{}\r\n{:x}\r\n{}\r\n0\r\n\r\n",
            head(""),
            &ev[..5],
            n - 5,
            &ev[5..]
        ),
        &[202],
    ));
    cases.push(open(
        "te-gzip",
        format!("{}Transfer-Encoding: gzip\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "te-chunked-not-last",
        format!("{}Transfer-Encoding: chunked, gzip\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "te-obfuscated",
        format!("{}Transfer-Encoding: xchunked\r\n\r\n{ev}", head("")),
        &[REFUSED],
    ));
    cases.push(open(
        "te-http-1.0",
        format!("{}Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", head(""))
            .replace("HTTP/1.1", "HTTP/1.0"),
        &[REFUSED],
    ));
    cases.push(open(
        "te-on-get",
        "GET /api/events HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        &[200],
    ));
    for (name, size) in [
        ("chunk-size-bad", "zz"),
        ("chunk-size-negative", "-1"),
        ("chunk-size-huge", "fffffffffffffffffff"),
        ("chunk-size-too-long", "10"),
    ] {
        cases.push(Case::new(
            name,
            format!(
                "{}Transfer-Encoding: chunked\r\n\r\n{size}\r\n{ev}\r\n0\r\n\r\n",
                head("")
            ),
            Delivery::Whole,
        ));
    }
    cases.push(Case::new(
        "chunk-missing-crlf",
        format!(
            "{}Transfer-Encoding: chunked\r\n\r\n{n:x}\r\n{ev}0\r\n\r\n",
            head("")
        ),
        Delivery::Whole,
    ));
    cases.push(open(
        "chunk-ext-and-trailer",
        format!(
            "{}Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n\
             {n:x};name=value\r\n{ev}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            head("")
        ),
        &[202],
    ));
    // Smuggling shapes: what follows a request answered here must be framed
    // as hyper frames it.
    cases.push(open(
        "smuggle-cl-then-te-request",
        format!(
            "{}Content-Length: {}\r\n\r\n{small}POST /api/events HTTP/1.1\r\n\
                 Transfer-Encoding: chunked\r\nContent-Type: application/json\r\n\
                 Connection: close\r\n\r\n{:x}\r\n{ev}\r\n0\r\n\r\n",
            head(""),
            small.len(),
            n
        ),
        &[202, 202],
    ));
    cases.push(open(
        "smuggle-get-then-expect",
        format!(
            "GET /nope HTTP/1.1\r\n\r\n{}Content-Length: {n}\r\nExpect: 100-continue\r\n\
                 Connection: close\r\n\r\n{ev}",
            head("")
        ),
        &[404, 202],
    ));
    cases.push(open(
        "pipelined-post-close-then-more",
        format!(
            "{}{}",
            post_req(small, "Connection: close\r\n"),
            post_req(&progress_body("after-close", 9), "")
        ),
        &[202],
    ));
    cases.push(open(
        "pipelined-posts-then-bad",
        format!(
            "{}{}GARBAGE\r\n\r\n",
            post_req(small, ""),
            post_req(small, "")
        ),
        &[202, 202, 400],
    ));
    // Many tiny writes of the valid templates.
    for t in templates("tiny") {
        cases.push(Case::new(
            format!("tiny-{}", t.name),
            t.bytes,
            Delivery::Tiny,
        ));
    }
    // Slow and partial heads: the header timeout must end them, a started
    // head with a `400` (issue 12: a client with a broken head learns why),
    // a silent connection and a partial HTTP/2 preface with a close.
    cases.push(Case::new("silent", "", Delivery::Open).expect(&[]));
    cases.push(open(
        "partial-head",
        "GET /api/events HTTP/1.1\r\nHost: x\r\n",
        &[400],
    ));
    cases.push(open(
        "partial-head-after-answer",
        "GET /nope HTTP/1.1\r\nHost: x\r\n\r\nGET /api/ev",
        &[404, 400],
    ));
    cases.push(
        Case::new(
            "partial-body",
            format!("{}Content-Length: {}\r\n\r\n{}", head(""), n, &ev[..n / 2]),
            Delivery::Whole,
        )
        .expect(&[]),
    );
    cases.push(open(
        "partial-head-over-8k",
        format!(
            "GET /api/events HTTP/1.1\r\nX-Big: {}",
            "b".repeat(9 * 1024)
        ),
        &[],
    ));
    for cut in [3, 8, 12, 16, 18, 22] {
        cases.push(open(
            format!("partial-h2-preface-{cut}"),
            &b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"[..cut],
            &[],
        ));
    }
    cases.push(
        Case::new(
            "drip",
            format!(
                "GET /api/events HTTP/1.1\r\nHost: x\r\nX-Slow: {}\r\n\r\n",
                "s".repeat(24)
            ),
            Delivery::Drip,
        )
        .expect(&[400]),
    );
    cases
}

// ---------------------------------------------------------------------------
// An independent request framer: how an HTTP/1.1 server built on httparse
// and hyper delimits the requests in a byte stream.

/// A request whose head [`walk`] found well formed.
#[derive(Debug)]
struct Walked {
    method: Vec<u8>,
    target: Vec<u8>,
    /// The body, when it is whole and well framed (a server may answer a
    /// `GET` before reading its body, never a `POST`).
    body: Option<Vec<u8>>,
}

impl Walked {
    fn is(&self, method: &[u8]) -> bool {
        self.method == method && events_path(&self.target)
    }
}

/// Whether a request target names `/api/events` (origin or absolute form).
fn events_path(target: &[u8]) -> bool {
    let mut t = target;
    for scheme in [&b"http://"[..], b"https://"] {
        if t.len() > scheme.len() && t[..scheme.len()].eq_ignore_ascii_case(scheme) {
            let rest = &t[scheme.len()..];
            t = &rest[rest.iter().position(|&b| b == b'/').unwrap_or(rest.len())..];
        }
    }
    let end = t
        .iter()
        .position(|&b| b == b'?' || b == b'#')
        .unwrap_or(t.len());
    &t[..end] == b"/api/events"
}

fn tchar(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The requests at the start of `bytes` with a well-formed head, up to the
/// first whose head is malformed or incomplete, or whose body is (it is the
/// last), or after which the connection closes.
fn walk(mut bytes: &[u8]) -> Vec<Walked> {
    let mut out = Vec::new();
    while let Some((req, used, keep_alive)) = walk_one(bytes) {
        let whole = req.body.is_some();
        out.push(req);
        bytes = &bytes[used..];
        if !keep_alive || !whole {
            break;
        }
    }
    out
}

/// One line: its bytes and the length with its end (CRLF or a bare LF).
fn line(bytes: &[u8]) -> Option<(&[u8], usize)> {
    let lf = bytes.iter().position(|&b| b == b'\n')?;
    let text = bytes[..lf].strip_suffix(b"\r").unwrap_or(&bytes[..lf]);
    Some((text, lf + 1))
}

fn walk_one(all: &[u8]) -> Option<(Walked, usize, bool)> {
    let mut at = 0;
    // Empty lines before a request are skipped.
    while let Some((text, len)) = line(&all[at..]) {
        if !text.is_empty() {
            break;
        }
        at += len;
    }
    let (request_line, len) = line(&all[at..])?;
    at += len;
    let mut parts = request_line.split(|&b| b == b' ');
    let method = parts.next()?;
    let target = parts.next()?;
    let version = parts.next()?;
    if parts.next().is_some()
        || method.is_empty()
        || !method.iter().all(|&b| tchar(b))
        || target.is_empty()
        || !target.iter().all(|&b| b > b' ' && b != 0x7f)
        || std::str::from_utf8(target).is_err()
    {
        return None;
    }
    let http11 = match version {
        b"HTTP/1.1" => true,
        b"HTTP/1.0" => false,
        _ => return None,
    };
    let mut keep_alive = http11;
    let (mut te, mut chunked, mut cl): (bool, bool, Option<u64>) = (false, false, None);
    let mut count = 0;
    loop {
        let (text, len) = line(&all[at..])?;
        at += len;
        if text.is_empty() {
            break;
        }
        count += 1;
        let colon = text.iter().position(|&b| b == b':')?;
        let (name, value) = (&text[..colon], &text[colon + 1..]);
        if name.is_empty()
            || !name.iter().all(|&b| tchar(b))
            || !value
                .iter()
                .all(|&b| b == b'\t' || (b >= b' ' && b != 0x7f))
            || count > 100
        {
            return None;
        }
        let value = value.trim_ascii();
        let value_str = std::str::from_utf8(value).ok().filter(|v| v.is_ascii());
        match name.to_ascii_lowercase().as_slice() {
            b"transfer-encoding" => {
                if !http11 {
                    return None;
                }
                te = true;
                cl = None;
                chunked = value_str.is_some_and(|v| {
                    v.rsplit(',')
                        .next()
                        .is_some_and(|last| last.trim().eq_ignore_ascii_case("chunked"))
                });
            }
            b"content-length" if !te => {
                if value.is_empty() || !value.iter().all(u8::is_ascii_digit) {
                    return None;
                }
                let n: u64 = value_str?.parse().ok()?;
                if cl.is_some_and(|prev| prev != n) {
                    return None;
                }
                cl = Some(n);
            }
            b"connection" => {
                let tokens = value_str.map(|v| v.split(',').map(str::trim).collect::<Vec<_>>());
                if tokens
                    .as_ref()
                    .is_some_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case("close")))
                {
                    keep_alive = false;
                } else if tokens
                    .is_some_and(|t| t.iter().any(|t| t.eq_ignore_ascii_case("keep-alive")))
                {
                    keep_alive = true;
                }
            }
            _ => {}
        }
    }
    if te && !chunked {
        return None;
    }
    let body = if chunked {
        dechunk_request(&all[at..]).map(|(body, used)| {
            at += used;
            body
        })
    } else {
        let n = usize::try_from(cl.unwrap_or(0)).unwrap_or(usize::MAX);
        let body = at
            .checked_add(n)
            .and_then(|end| all.get(at..end))
            .map(<[u8]>::to_vec);
        at += body.as_ref().map_or(0, Vec::len);
        body
    };
    let walked = Walked {
        method: method.to_vec(),
        target: target.to_vec(),
        body,
    };
    Some((walked, at, keep_alive))
}

/// A chunked request body: its data and the bytes it took.
fn dechunk_request(all: &[u8]) -> Option<(Vec<u8>, usize)> {
    let (mut body, mut at) = (Vec::new(), 0);
    loop {
        let (text, len) = line(&all[at..])?;
        at += len;
        let size = text.split(|&b| b == b';').next()?.trim_ascii();
        if size.is_empty() || size.len() > 16 || !size.iter().all(u8::is_ascii_hexdigit) {
            return None;
        }
        let size = usize::from_str_radix(std::str::from_utf8(size).ok()?, 16).ok()?;
        if size == 0 {
            // Trailers, up to an empty line.
            loop {
                let (text, len) = line(&all[at..])?;
                at += len;
                if text.is_empty() {
                    return Some((body, at));
                }
            }
        }
        body.extend_from_slice(all.get(at..at + size)?);
        at += size;
        let (rest, len) = line(&all[at..])?;
        if !rest.is_empty() {
            return None;
        }
        at += len;
    }
}

// ---------------------------------------------------------------------------
// What the server sent back

#[derive(Debug)]
struct Response {
    status: u16,
    sse: bool,
}

#[derive(Debug, PartialEq)]
enum Tail {
    /// Every response is whole.
    Complete,
    /// The last response is cut short.
    Partial,
    /// The last response is an event stream (its body is not read).
    Sse,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Parse what the server sent as HTTP/1.x responses, checking each head's
/// syntax and each body's framing.
fn parse_responses(raw: &[u8]) -> Result<(Vec<Response>, Tail), String> {
    let mut out = Vec::new();
    let mut rest = raw;
    loop {
        if rest.is_empty() {
            return Ok((out, Tail::Complete));
        }
        let Some(end) = find(rest, b"\r\n\r\n") else {
            if !b"HTTP/1.".starts_with(&rest[..rest.len().min(7)]) && !rest.starts_with(b"HTTP/1.")
            {
                return Err("bytes that are not a response".into());
            }
            return Ok((out, Tail::Partial));
        };
        let head = std::str::from_utf8(&rest[..end]).map_err(|_| "a non-UTF-8 head")?;
        rest = &rest[end + 4..];
        let mut lines = head.split("\r\n");
        let status_line = lines.next().unwrap_or_default();
        let (version, tail) = status_line.split_at(status_line.len().min(9));
        if version != "HTTP/1.1 " && version != "HTTP/1.0 " {
            return Err(format!("bad status line {status_line:?}"));
        }
        let code = tail
            .get(..3)
            .filter(|c| c.bytes().all(|b| b.is_ascii_digit()));
        let reason = tail.get(3..).and_then(|r| r.strip_prefix(' '));
        let (Some(code), Some(reason)) = (code, reason) else {
            return Err(format!("bad status line {status_line:?}"));
        };
        if reason.is_empty() || reason.bytes().any(|b| b.is_ascii_control()) {
            return Err(format!("bad reason phrase in {status_line:?}"));
        }
        let status: u16 = code.parse().map_err(|_| "bad status code")?;
        let (mut length, mut chunked, mut event_stream) = (None, false, false);
        for line in lines {
            let Some((name, value)) = line.split_once(": ") else {
                return Err(format!("bad header line {line:?}"));
            };
            if name.is_empty()
                || !name.bytes().all(tchar)
                || value.bytes().any(|b| b.is_ascii_control() && b != b'\t')
            {
                return Err(format!("bad header line {line:?}"));
            }
            match name.to_ascii_lowercase().as_str() {
                "content-length" => {
                    if length.is_some() || chunked {
                        return Err("two framings".into());
                    }
                    length = Some(value.parse::<usize>().map_err(|_| "bad content-length")?);
                }
                "transfer-encoding" => {
                    if length.is_some() || value != "chunked" {
                        return Err(format!("bad framing: transfer-encoding {value:?}"));
                    }
                    chunked = true;
                }
                "content-type" => event_stream = value.starts_with("text/event-stream"),
                _ => {}
            }
        }
        let sse = status == 200 && event_stream;
        out.push(Response { status, sse });
        if sse {
            return Ok((out, Tail::Sse));
        }
        if (100..200).contains(&status) || status == 204 || status == 304 {
            continue;
        }
        if chunked {
            let mut at = 0;
            loop {
                let Some(eol) = find(&rest[at..], b"\r\n") else {
                    return Ok((out, Tail::Partial));
                };
                let size = std::str::from_utf8(&rest[at..at + eol])
                    .ok()
                    .and_then(|s| usize::from_str_radix(s, 16).ok())
                    .ok_or("bad chunk size")?;
                at += eol + 2;
                if rest.len() < at + size + 2 {
                    return Ok((out, Tail::Partial));
                }
                if &rest[at + size..at + size + 2] != b"\r\n" {
                    return Err("chunk without CRLF".into());
                }
                at += size + 2;
                if size == 0 {
                    break;
                }
            }
            rest = &rest[at..];
        } else if let Some(n) = length {
            if rest.len() < n {
                return Ok((out, Tail::Partial));
            }
            rest = &rest[n..];
        } else {
            // Delimited by the end of the connection.
            return Ok((out, Tail::Complete));
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum End {
    Eof,
    Reset,
    /// An event stream began; the client stopped reading there.
    Sse,
    /// Neither an answer nor a close within the guard time.
    Hang,
}

struct Seen {
    raw: Vec<u8>,
    end: End,
    elapsed: Duration,
}

/// Send one case on a fresh connection and read what comes back.
async fn run_case(addr: std::net::SocketAddr, bytes: Vec<u8>, send: Delivery, seed: u64) -> Seen {
    let started = Instant::now();
    let stream = TcpStream::connect(addr).await.expect("connect");
    stream.set_nodelay(true).expect("nodelay");
    let (mut rd, mut wr) = stream.into_split();
    let writer = tokio::spawn(async move {
        match send {
            Delivery::Whole | Delivery::Open => {
                let _ = wr.write_all(&bytes).await;
            }
            Delivery::Tiny => {
                let mut rng = Rng(seed ^ bytes.len() as u64);
                let mut at = 0;
                while at < bytes.len() {
                    let n = (1 + rng.below(5)).min(bytes.len() - at);
                    if wr.write_all(&bytes[at..at + n]).await.is_err() {
                        break;
                    }
                    at += n;
                    tokio::task::yield_now().await;
                    if rng.below(8) == 0 {
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
            Delivery::Drip => {
                for b in &bytes {
                    if wr.write_all(std::slice::from_ref(b)).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        if matches!(send, Delivery::Whole | Delivery::Tiny) {
            let _ = wr.shutdown().await;
        }
        // Keep the write side open until the reader is done.
        std::future::pending::<()>().await;
        drop(wr);
    });
    let mut raw = Vec::new();
    let deadline = tokio::time::Instant::now() + GUARD;
    let end = loop {
        let mut buf = [0u8; 16 * 1024];
        match tokio::time::timeout_at(deadline, rd.read(&mut buf)).await {
            Err(_) => break End::Hang,
            Ok(Ok(0)) => break End::Eof,
            Ok(Err(_)) => break End::Reset,
            Ok(Ok(n)) => {
                raw.extend_from_slice(&buf[..n]);
                if matches!(parse_responses(&raw), Ok((_, Tail::Sse))) {
                    break End::Sse;
                }
            }
        }
    };
    writer.abort();
    Seen {
        raw,
        end,
        elapsed: started.elapsed(),
    }
}

/// Check one connection; `Err` says what is wrong.
fn check(case: &Case, seen: &Seen) -> Result<(), String> {
    if seen.end == End::Hang {
        return Err(format!("no answer and no close within {GUARD:?}"));
    }
    let (responses, tail) = parse_responses(&seen.raw)?;
    match (tail, seen.end) {
        (Tail::Partial, End::Eof) => return Err("a response cut short by the close".into()),
        (Tail::Sse, _) | (Tail::Complete, _) | (Tail::Partial, _) => {}
    }
    let walked = walk(&case.bytes);
    let finals: Vec<&Response> = responses.iter().filter(|r| r.status >= 200).collect();
    if finals.len() > walked.len() + 1 {
        return Err(format!(
            "{} responses for {} well-framed requests",
            finals.len(),
            walked.len()
        ));
    }
    for (i, r) in finals.iter().enumerate() {
        if !ALLOWED.contains(&r.status) {
            return Err(format!(
                "status {} is not one the contract allows",
                r.status
            ));
        }
        if r.status == 200 && !r.sse {
            return Err("a 200 that is not an event stream".into());
        }
        let req = walked.get(i);
        if r.sse && !req.is_some_and(|q| q.is(b"GET")) {
            return Err(format!(
                "an event stream for request {i} ({req:?}), not a valid GET"
            ));
        }
        if r.status == 202 && !req.is_some_and(|q| q.is(b"POST") && q.body.is_some()) {
            return Err(format!("a 202 for request {i} ({req:?}), not a valid POST"));
        }
    }
    if let Some(expect) = &case.expect {
        let got: Vec<u16> = finals.iter().map(|r| r.status).collect();
        let matches = got.len() == expect.len()
            && got
                .iter()
                .zip(expect)
                .all(|(&g, &e)| g == e || (e == REFUSED && (400..500).contains(&g)));
        if !matches {
            return Err(format!(
                "statuses {got:?}, expected {expect:?} (0: any 4xx)"
            ));
        }
    }
    // With its write side open, the client never says it is done: the
    // server must close by itself (after `connection: close`, an error, or
    // the header timeout), unless it is streaming.
    if matches!(case.send, Delivery::Open | Delivery::Drip)
        && seen.end != End::Sse
        && seen.elapsed > CLOSE_BOUND
    {
        return Err(format!(
            "closed after {:?}, expected within {CLOSE_BOUND:?}",
            seen.elapsed
        ));
    }
    Ok(())
}

/// Bytes for a failure message: printable ASCII as is, the rest escaped, cut
/// at 600 bytes.
fn show(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(600)];
    let mut s = cut.escape_ascii().to_string();
    if bytes.len() > cut.len() {
        s.push_str(&format!("… ({} bytes)", bytes.len()));
    }
    s
}

/// What a battery saw: the failures, and how often each outcome came back
/// (first status of a connection, or how it ended without one).
struct Report {
    failures: Vec<String>,
    outcomes: std::collections::BTreeMap<String, usize>,
}

/// Run `cases` with [`IN_FLIGHT`] connections at a time.
async fn battery(addr: std::net::SocketAddr, cases: Vec<Case>, seed: u64) -> Report {
    let limit = Arc::new(Semaphore::new(IN_FLIGHT));
    let mut set = JoinSet::new();
    for case in cases {
        let permit = limit.clone().acquire_owned().await.expect("semaphore");
        set.spawn(async move {
            let seen = run_case(addr, case.bytes.clone(), case.send, seed).await;
            drop(permit);
            let outcome = match parse_responses(&seen.raw) {
                Ok((responses, _)) if !responses.is_empty() => {
                    let sse = if responses[0].sse { " sse" } else { "" };
                    format!("{}{sse}", responses[0].status)
                }
                _ => format!("{:?}", seen.end).to_lowercase(),
            };
            let failure = check(&case, &seen).err().map(|why| {
                format!(
                    "case {} ({:?}): {why}\n  sent: {}\n  got ({:?} after {:?}): {}",
                    case.name,
                    case.send,
                    show(&case.bytes),
                    seen.end,
                    seen.elapsed,
                    show(&seen.raw)
                )
            });
            (outcome, failure)
        });
    }
    let mut report = Report {
        failures: Vec::new(),
        outcomes: Default::default(),
    };
    while let Some(done) = set.join_next().await {
        let (outcome, failure) = done.expect("case task");
        *report.outcomes.entry(outcome).or_default() += 1;
        report.failures.extend(failure);
    }
    report
}

/// Counts panics anywhere in this process (a panicking connection task is
/// otherwise only a closed socket).
fn count_panics() -> Arc<AtomicUsize> {
    let count = Arc::new(AtomicUsize::new(0));
    let seen = count.clone();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        seen.fetch_add(1, Ordering::SeqCst);
        previous(info);
    }));
    count
}

fn robustness_server() -> impl FnOnce(Hub) -> Server {
    |hub| Server::new(hub).header_read_timeout(HEADER_TIMEOUT)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_request_reader_survives_mutated_and_hostile_requests() {
    let seed = env_number("CONTINUUM_FUZZ_SEED", DEFAULT_SEED);
    let mutations = env_number("CONTINUUM_FUZZ_MUTATIONS", MUTATIONS as u64) as usize;
    println!("serve_h1_robustness seed: {seed:#x} (set CONTINUUM_FUZZ_SEED to replay)");
    let panics = count_panics();
    let started = Instant::now();
    let server = start_with(
        Hub::builder().allowed_origins(["https://app.example"]),
        robustness_server(),
    )
    .await;
    let mut first = subscribe(&server.url, &[]).await;

    // 1. The valid corpus, one connection at a time so that what it
    // publishes has an order; each template answered exactly.
    let mut expected: Vec<Value> = Vec::new();
    let mut failures = Vec::new();
    for send in [Delivery::Whole, Delivery::Tiny] {
        for t in templates(&format!("valid-{send:?}")) {
            let case = Case::new(format!("valid-{}", t.name), t.bytes, send).expect(&t.statuses);
            let seen = run_case(server.addr, case.bytes.clone(), send, seed).await;
            if let Err(why) = check(&case, &seen) {
                failures.push(format!(
                    "case {} ({send:?}): {why}\n  got: {}",
                    case.name,
                    show(&seen.raw)
                ));
            }
            expected.extend(t.published);
        }
    }
    assert!(
        failures.is_empty(),
        "seed {seed:#x}:\n{}",
        failures.join("\n")
    );

    // 2. Mutations and hostile inputs, many connections at once.
    let mut rng = Rng(seed);
    let mut cases = hostile();
    for t in templates("cut") {
        // The pipelined template is long; every third cut of it.
        let step = if t.name == "pipelined" { 3 } else { 1 };
        for cut in (0..t.bytes.len()).step_by(step) {
            cases.push(Case::new(
                format!("{}-cut@{cut}", t.name),
                t.bytes[..cut].to_vec(),
                Delivery::Whole,
            ));
        }
    }
    let mut seeds: Vec<(String, Vec<u8>)> = templates("mut")
        .into_iter()
        .map(|t| (t.name.to_owned(), t.bytes))
        .collect();
    // The framing cases too: their bodies go through hyper.
    seeds.extend(
        hostile()
            .into_iter()
            .filter(|c| c.name.starts_with("te-") || c.name.starts_with("smuggle-"))
            .map(|c| (c.name, c.bytes)),
    );
    for (name, bytes) in &seeds {
        for i in 0..mutations {
            // One to three mutations on top of each other.
            let (mut what, mut mutated) = (Vec::new(), bytes.clone());
            for _ in 0..1 + rng.below(3) {
                let (w, m) = mutate(&mut rng, &mutated);
                what.push(w);
                mutated = m;
            }
            // Mostly whole writes; some split into tiny ones.
            let send = if i % 10 == 0 {
                Delivery::Tiny
            } else {
                Delivery::Whole
            };
            cases.push(Case::new(
                format!("{name}-{}", what.join("+")),
                mutated,
                send,
            ));
        }
    }
    // What a well-framed POST among them could legitimately publish.
    // (Keyed by their JSON text: `serde_json` sorts object keys.)
    let mut allowed: HashMap<String, usize> = HashMap::new();
    for body in cases
        .iter()
        .flat_map(|c| walk(&c.bytes))
        .filter(|r| r.is(b"POST"))
        .filter_map(|r| r.body)
    {
        for env in envelopes(&body) {
            *allowed.entry(env.to_string()).or_default() += 1;
        }
    }
    let count = cases.len();
    let battery_started = Instant::now();
    let Report { failures, outcomes } = battery(server.addr, cases, seed).await;
    println!(
        "{count} connections in {:?}; first answers: {outcomes:?}",
        battery_started.elapsed()
    );
    assert!(
        failures.is_empty(),
        "seed {seed:#x}: {} of {count} connections failed:\n{}",
        failures.len(),
        failures
            .iter()
            .take(25)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );

    // 3. The server still serves: a new subscriber, a normal POST.
    let mut second = subscribe(&server.url, &[]).await;
    let last = progress_body("the-last-one", 100);
    let answer = post(&server.url, &last, &[]).await;
    assert_eq!(answer.status, 202, "{:?}", answer.json);
    let last: Value = serde_json::from_str(&last).unwrap();
    assert_eq!(envelope(&second.next().await), last);

    // The first subscriber saw the valid corpus in order, then only what
    // well-framed POSTs carried, then the last event.
    let events = first.until(|e| envelope(e) == last).await;
    let (valid, rest) = events.split_at(expected.len().min(events.len()));
    let valid: Vec<Value> = valid.iter().map(envelope).collect();
    assert_eq!(valid, expected, "the valid corpus, in order");
    for e in &rest[..rest.len() - 1] {
        let env = envelope(e).to_string();
        match allowed.get_mut(&env) {
            Some(n) if *n > 0 => *n -= 1,
            _ => panic!("seed {seed:#x}: {env} was published, but no well-framed POST sent it"),
        }
    }
    assert_eq!(
        server.hub.metrics().events_published,
        events.len() as u64,
        "everything published reached the first subscriber"
    );
    assert_eq!(panics.load(Ordering::SeqCst), 0, "a task panicked");
    println!("serve_h1_robustness: {:?} in all", started.elapsed());
}

/// Regression: 12 to 23 bytes of the HTTP/2 preface (`PRI * HTTP/2` is
/// where httparse refuses it) were handed to hyper-util's protocol
/// detection, which waits for all 24 with no timeout: the connection was
/// never closed. Every start of the preface is now under the header timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_partial_http2_preface_is_closed_by_the_header_timeout() {
    let timeout = Duration::from_millis(300);
    let server = start_with(Hub::builder(), move |hub| {
        Server::new(hub).header_read_timeout(timeout)
    })
    .await;
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let mut set = JoinSet::new();
    for cut in 1..preface.len() {
        let addr = server.addr;
        set.spawn(async move {
            let seen = run_case(addr, preface[..cut].to_vec(), Delivery::Open, 1).await;
            (cut, seen)
        });
    }
    while let Some(done) = set.join_next().await {
        let (cut, seen) = done.expect("case task");
        assert!(
            matches!(seen.end, End::Eof | End::Reset),
            "{cut} bytes of the preface: {:?} after {:?}",
            seen.end,
            seen.elapsed
        );
        assert!(seen.raw.is_empty(), "{cut} bytes: {}", show(&seen.raw));
        assert!(
            seen.elapsed < timeout * 10,
            "{cut} bytes: closed after {:?}",
            seen.elapsed
        );
    }
}

/// HTTP/2 has no header-read timeout: a client that sends the whole preface
/// and then nothing is closed by the keep-alive ping going unanswered.
#[tokio::test]
async fn a_silent_http2_client_is_closed_by_the_keep_alive_ping() {
    let interval = Duration::from_millis(300);
    let server = start_with(Hub::builder(), move |hub| {
        Server::new(hub).http2_keep_alive(Some(interval))
    })
    .await;
    let preface = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    let seen = run_case(server.addr, preface.to_vec(), Delivery::Open, 1).await;
    assert!(
        matches!(seen.end, End::Eof | End::Reset),
        "{:?} after {:?}",
        seen.end,
        seen.elapsed
    );
    assert!(
        seen.elapsed < interval * 10,
        "closed after {:?}",
        seen.elapsed
    );
}
