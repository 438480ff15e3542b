//! Issue 12's bar, over real TCP against the demo server (`DemoServer`, what
//! `cargo run --example ai_progress` runs): subscriber caps answer `429` /
//! `503` with `retry-after` while others are served, a slow body gets `408`
//! within the configured time, a broken head gets `400`, an expired grant
//! ends with a `continuum.reset` `expired` and a reconnect is authorized
//! afresh, and a second ingest token is accepted while a removed one is not.
//!
//! A raw socket client is used on purpose: these are about what goes over
//! the wire (statuses, headers, closes, timing), which a high-level client
//! would smooth over.

use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum::demo::{AiTaskProgress, DemoOptions, DemoServer, Stage};
use continuum_runtime::hub::{Grant, Reject};
use continuum_runtime::{Hub, HubBuilder};
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

/// Every wait in these tests is bounded by this: a hang is a failure.
const GUARD: Duration = Duration::from_secs(10);

const EVENT: &str =
    r#"{"type":"ai.task.progress","data":{"taskId":"t-1","stage":"generating","progress":42}}"#;

async fn demo(builder: HubBuilder) -> (DemoServer, SocketAddr) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let options = DemoOptions {
        simulate: false,
        ..DemoOptions::default()
    };
    (
        DemoServer::start(listener, builder, options).await.unwrap(),
        addr,
    )
}

async fn guarded<T>(what: &str, f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("timed out: {what}"))
}

/// A raw HTTP/1.1 client connection, bound to `from` (any 127.x.y.z address
/// is local on Linux: a second client address without a second machine).
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

struct Head {
    status: u16,
    headers: Vec<(String, String)>,
}

impl Head {
    fn get(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl Conn {
    async fn open(addr: SocketAddr, from: &str) -> Conn {
        let from: IpAddr = from.parse().unwrap();
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind(SocketAddr::new(from, 0)).unwrap();
        let stream = guarded("connect", socket.connect(addr)).await.unwrap();
        Conn {
            stream,
            buf: Vec::new(),
        }
    }

    async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// Read more; `false` at EOF (or a reset: the server closed).
    async fn fill(&mut self) -> bool {
        let mut chunk = [0u8; 4096];
        match guarded("read", self.stream.read(&mut chunk)).await {
            Ok(0) | Err(_) => false,
            Ok(n) => {
                self.buf.extend_from_slice(&chunk[..n]);
                true
            }
        }
    }

    async fn head(&mut self) -> Head {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let text = String::from_utf8(self.buf[..end].to_vec()).unwrap();
                self.buf.drain(..end + 4);
                let mut lines = text.split("\r\n");
                let status = lines.next().unwrap()[9..12].parse().unwrap();
                let headers = lines
                    .map(|l| {
                        let (n, v) = l.split_once(':').unwrap();
                        (n.trim().to_owned(), v.trim().to_owned())
                    })
                    .collect();
                return Head { status, headers };
            }
            assert!(
                self.fill().await,
                "closed before a response head: {:?}",
                String::from_utf8_lossy(&self.buf)
            );
        }
    }

    /// A `content-length` body, as JSON.
    async fn json(&mut self, head: &Head) -> Value {
        let len: usize = head.get("content-length").unwrap().parse().unwrap();
        while self.buf.len() < len {
            assert!(self.fill().await, "closed mid-body");
        }
        let body: Vec<u8> = self.buf.drain(..len).collect();
        serde_json::from_slice(&body).unwrap()
    }

    /// Read until the bytes received contain `needle`; `false` if the server
    /// closed first.
    async fn until(&mut self, needle: &str) -> bool {
        loop {
            if String::from_utf8_lossy(&self.buf).contains(needle) {
                return true;
            }
            if !self.fill().await {
                return false;
            }
        }
    }

    /// Whether the server closes the connection (EOF or reset) before anything more.
    async fn closed(&mut self) -> bool {
        let before = self.buf.len();
        !self.fill().await && self.buf.len() == before
    }

    async fn subscribe(addr: SocketAddr, from: &str, extra: &str) -> (Conn, Head) {
        let mut c = Conn::open(addr, from).await;
        c.send(format!("GET /api/events HTTP/1.1\r\nHost: x\r\n{extra}\r\n").as_bytes())
            .await;
        let head = c.head().await;
        (c, head)
    }
}

fn post(token: Option<&str>, body: &str) -> Vec<u8> {
    let key = token.map_or(String::new(), |t| format!("x-continuum-event-key: {t}\r\n"));
    format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n{key}content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn progress(task: &str) -> AiTaskProgress {
    AiTaskProgress {
        task_id: task.into(),
        stage: Stage::Generating,
        progress: 50,
    }
}

#[tokio::test]
async fn the_per_address_cap_answers_429_and_the_server_keeps_serving_others() {
    // Set the way operators set it: through the environment variable.
    let builder = HubBuilder::from_lookup(|k| {
        (k == "CONTINUUM_MAX_SUBSCRIBERS_PER_IP").then(|| "2".to_owned())
    })
    .unwrap();
    let (server, addr) = demo(builder).await;

    let (mut first, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 200);
    let (_second, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 200);

    let (mut third, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 429);
    let retry: u64 = head
        .get("retry-after")
        .expect("retry-after")
        .parse()
        .unwrap();
    assert!(retry >= 1);
    assert_eq!(head.get("content-type"), Some("application/json"));
    let body = third.json(&head).await;
    assert_eq!(body["error"], "too_many_subscribers");
    assert!(body["message"].as_str().unwrap().contains('2'), "{body}");
    assert_eq!(body["limit"], 2);

    // Another address is served, and the subscribers already in still receive.
    let (mut other, head) = Conn::subscribe(addr, "127.0.0.2", "").await;
    assert_eq!(head.status, 200);
    progress("after-429").emit(server.hub()).await.unwrap();
    assert!(other.until("after-429").await);
    assert!(first.until("after-429").await);
    assert_eq!(server.hub().metrics().subscribers_limited, 1);

    // A subscriber leaving gives its place back.
    drop(first);
    let admitted = guarded("a freed place to be reused", async {
        loop {
            let (_c, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
            if head.status == 200 {
                return;
            }
            assert_eq!(head.status, 429);
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    admitted.await;
    server.stop().await;
}

#[tokio::test]
async fn a_full_server_answers_503_with_retry_after() {
    let (server, addr) = demo(Hub::builder().max_subscribers(1)).await;
    let (_only, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 200);
    let (mut late, head) = Conn::subscribe(addr, "127.0.0.3", "").await;
    assert_eq!(head.status, 503);
    assert!(head.get("retry-after").is_some());
    let body = late.json(&head).await;
    assert_eq!(body["error"], "server_full");
    // Ingest is not a subscription: still served.
    let mut c = Conn::open(addr, "127.0.0.3").await;
    c.send(&post(None, EVENT)).await;
    assert_eq!(c.head().await.status, 202);
    server.stop().await;
}

#[tokio::test]
async fn a_slow_body_gets_408_within_the_configured_time_and_a_close() {
    let timeout = Duration::from_millis(400);
    let (server, addr) = demo(Hub::builder().body_read_timeout(timeout)).await;
    let full = post(None, EVENT);
    let cut = full.len() - EVENT.len() / 2;

    // Length-delimited: the standalone server's own reader.
    // Chunked: hyper's, through the service. Both doors answer the same.
    let chunked = format!(
        "POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{}\r\n",
        EVENT.len() / 2,
        &EVENT[..EVENT.len() / 2]
    );
    for (door, bytes) in [
        ("own reader", full[..cut].to_vec()),
        ("hyper", chunked.into_bytes()),
    ] {
        let mut c = Conn::open(addr, "127.0.0.1").await;
        let start = Instant::now();
        c.send(&bytes).await;
        let head = c.head().await;
        let took = start.elapsed();
        assert_eq!(head.status, 408, "{door}");
        assert!(took >= timeout, "{door}: answered after {took:?}");
        assert!(took < timeout * 5, "{door}: answered after {took:?}");
        assert_eq!(head.get("connection"), Some("close"), "{door}");
        let body = c.json(&head).await;
        assert_eq!(body["error"], "body_timeout", "{door}");
        assert!(c.closed().await, "{door}: the connection stays open");
    }
    // A body that arrives in time is served as ever.
    let mut c = Conn::open(addr, "127.0.0.1").await;
    c.send(&full).await;
    assert_eq!(c.head().await.status, 202);
    assert_eq!(
        server
            .hub()
            .metrics()
            .ingest_rejects(continuum_runtime::metrics::IngestReject::BodyTimeout),
        2
    );
    server.stop().await;
}

#[tokio::test]
async fn a_broken_head_gets_400_and_a_close() {
    let (server, addr) = demo(Hub::builder()).await;
    for (case, bytes, code) in [
        (
            "header without a colon",
            "GET /api/events HTTP/1.1\r\nHost x\r\n\r\n",
            "malformed_request",
        ),
        ("not HTTP", "HELLO THERE\r\n\r\n", "malformed_request"),
        (
            "control byte in the method",
            "G\x01T /api/events HTTP/1.1\r\n\r\n",
            "malformed_request",
        ),
        (
            "space in the path",
            "GET /api/ev ents HTTP/1.1\r\nHost: x\r\n\r\n",
            "malformed_request",
        ),
    ] {
        let mut c = Conn::open(addr, "127.0.0.1").await;
        c.send(bytes.as_bytes()).await;
        let head = c.head().await;
        assert_eq!(head.status, 400, "{case}");
        let body = c.json(&head).await;
        assert_eq!(body["error"], code, "{case}");
        assert!(body["message"].is_string(), "{case}");
        assert!(c.closed().await, "{case}: not closed");
    }
    // A head that never ends (no blank line) and a closed write side: 400 at once.
    let mut c = Conn::open(addr, "127.0.0.1").await;
    c.send(b"GET /api/events HTTP/1.1\r\nHost: x\r\n").await;
    c.stream.shutdown().await.unwrap();
    let start = Instant::now();
    let head = c.head().await;
    assert_eq!(head.status, 400);
    assert!(start.elapsed() < Duration::from_secs(2));
    assert_eq!(c.json(&head).await["error"], "incomplete_request");
    // Still serving.
    let (_sub, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 200);
    server.stop().await;
}

#[tokio::test]
async fn an_expired_grant_ends_with_a_reset_and_a_reconnect_is_authorized_afresh() {
    let authorized = Arc::new(AtomicUsize::new(0));
    let revoked = Arc::new(AtomicBool::new(false));
    let (a, r) = (authorized.clone(), revoked.clone());
    let ttl = Duration::from_millis(500);
    let builder = Hub::builder().authorize(move |_parts| {
        if r.load(Ordering::SeqCst) {
            return Err(Reject::unauthorized("session revoked"));
        }
        a.fetch_add(1, Ordering::SeqCst);
        Ok(Grant::public().with_channel("user:1").with_expiry(ttl))
    });
    let (server, addr) = demo(builder).await;

    let start = Instant::now();
    let (mut sub, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 200);
    assert!(sub.until("continuum.connected").await);
    let id = server
        .hub()
        .emit_to("user:1", progress("before-expiry"))
        .await
        .unwrap();
    assert!(sub.until("before-expiry").await);

    assert!(sub.until("event: continuum.reset").await);
    assert!(sub.until(r#"{"reason":"expired"}"#).await);
    let took = start.elapsed();
    assert!(took >= ttl && took < ttl * 6, "expired after {took:?}");
    // The response ends (its last chunk; the connection stays open for the
    // next request, as HTTP/1.1 keep-alive has it).
    assert!(sub.until("0\r\n\r\n").await);

    // What the browser does next: reconnect with its last id. The hook runs
    // again, and the replay continues where the client left off.
    server
        .hub()
        .emit_to("user:1", progress("while-away"))
        .await
        .unwrap();
    let (mut again, head) =
        Conn::subscribe(addr, "127.0.0.1", &format!("Last-Event-ID: {id}\r\n")).await;
    assert_eq!(head.status, 200);
    assert_eq!(authorized.load(Ordering::SeqCst), 2);
    assert!(again.until("while-away").await);

    // A session revoked meanwhile: the next reconnect is refused, so the
    // user stops receiving within one grant lifetime.
    revoked.store(true, Ordering::SeqCst);
    assert!(again.until(r#"{"reason":"expired"}"#).await);
    let (mut refused, head) = Conn::subscribe(addr, "127.0.0.1", "").await;
    assert_eq!(head.status, 401);
    assert_eq!(refused.json(&head).await["error"], "unauthorized");
    server.stop().await;
}

#[tokio::test]
async fn a_second_token_is_accepted_and_a_removed_one_refused() {
    async fn status(addr: SocketAddr, token: Option<&str>) -> u16 {
        let mut c = Conn::open(addr, "127.0.0.1").await;
        c.send(&post(token, EVENT)).await;
        c.head().await.status
    }
    // During the rotation both are accepted (set as operators do).
    let both = HubBuilder::from_lookup(|k| {
        (k == "CONTINUUM_EVENT_INGEST_TOKEN").then(|| "new-token, old-token".to_owned())
    })
    .unwrap();
    let (server, addr) = demo(both).await;
    assert_eq!(status(addr, Some("new-token")).await, 202);
    assert_eq!(status(addr, Some("old-token")).await, 202);
    assert_eq!(status(addr, Some("other")).await, 401);
    assert_eq!(status(addr, None).await, 401);
    server.stop().await;

    // After it: the old one is refused.
    let (server, addr) = demo(Hub::builder().ingest_token("new-token")).await;
    assert_eq!(status(addr, Some("new-token")).await, 202);
    assert_eq!(status(addr, Some("old-token")).await, 401);
    server.stop().await;
}
