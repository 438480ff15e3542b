//! The standalone server's own HTTP/1.1 path for subscriptions, over raw TCP:
//! chunked framing, the hand-over to hyper of whatever follows a response,
//! subscribers that stop reading, and shutdown of a connection that never
//! sent a request.

mod http_support;

use std::convert::Infallible;
use std::time::{Duration, Instant};

use continuum_runtime::{Hub, Server};
use eventsource_stream::Eventsource;
use futures_util::StreamExt;
use http_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// Read from `s` until `done` holds for what was read.
async fn read_until(s: &mut TcpStream, done: impl Fn(&str) -> bool) -> String {
    let mut raw = Vec::new();
    guarded("response", async {
        while !done(&String::from_utf8_lossy(&raw)) {
            let mut buf = [0u8; 4096];
            let n = s.read(&mut buf).await.unwrap();
            assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&raw));
            raw.extend_from_slice(&buf[..n]);
        }
    })
    .await;
    String::from_utf8(raw).unwrap()
}

/// The body of a chunked response, checking every chunk's size line.
fn dechunk(body: &[u8]) -> (Vec<u8>, bool) {
    let (mut out, mut rest) = (Vec::new(), body);
    loop {
        let Some(eol) = rest.windows(2).position(|w| w == b"\r\n") else {
            return (out, false);
        };
        let size = usize::from_str_radix(std::str::from_utf8(&rest[..eol]).unwrap(), 16)
            .expect("hex chunk size");
        if size == 0 {
            return (out, true);
        }
        let data = &rest[eol + 2..];
        if data.len() < size + 2 {
            return (out, false);
        }
        assert_eq!(&data[size..size + 2], b"\r\n", "chunk ends with CRLF");
        out.extend_from_slice(&data[..size]);
        rest = &data[size + 2..];
    }
}

#[tokio::test]
async fn subscription_is_chunked_sse_with_the_service_headers() {
    let server = start(Hub::builder().allowed_origins(["https://app.example"])).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(
        b"GET /api/events?types=app.note HTTP/1.1\r\nhost: x\r\norigin: https://app.example\r\n\r\n",
    )
    .await
    .unwrap();
    let head = read_until(&mut s, |t| t.contains("continuum.connected")).await;
    let lower = head.to_ascii_lowercase();
    assert!(head.starts_with("HTTP/1.1 200 OK\r\n"), "{head}");
    for want in [
        "content-type: text/event-stream",
        "cache-control: no-cache, no-transform",
        "transfer-encoding: chunked",
        "access-control-allow-origin: https://app.example",
        "\r\ndate: ",
    ] {
        assert!(lower.contains(want), "{want} in {head}");
    }
    server.hub.emit(Ping).await.unwrap();
    let id = server
        .hub
        .emit(Note {
            text: "two\nlines".into(),
        })
        .await
        .unwrap()
        .to_string();
    let rest = read_until(&mut s, |t| t.contains(&id) && t.ends_with("\n\n\r\n")).await;
    let all = head + &rest;
    let (_, body) = all.split_once("\r\n\r\n").unwrap();
    let (body, ended) = dechunk(body.as_bytes());
    assert!(!ended);
    let events: Vec<_> = futures_util::stream::iter([Ok::<_, Infallible>(body)])
        .eventsource()
        .map(|e| e.unwrap())
        .collect()
        .await;
    let names: Vec<_> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        ["continuum.connected", "app.note"],
        "the filter applies"
    );
    assert_eq!(events[1].id, id);
    assert_eq!(
        envelope(&events[1]),
        json!({"type": "app.note", "data": {"text": "two\nlines"}})
    );
}

#[tokio::test]
async fn pipelined_requests_are_answered_in_order_then_hyper_takes_over() {
    let server = start(Hub::builder()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"type":"app.ping"}"#;
    let req = format!(
        "GET /nope HTTP/1.1\r\nhost: x\r\n\r\nPOST /api/events HTTP/1.1\r\nhost: x\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}\
         DELETE /api/events HTTP/1.1\r\nhost: x\r\n\r\n",
        body.len()
    );
    // Three requests in one write: the last one is not answered here.
    s.write_all(req.as_bytes()).await.unwrap();
    let text = read_until(&mut s, |t| t.contains("HTTP/1.1 405") && t.ends_with('}')).await;
    assert!(text.starts_with("HTTP/1.1 404 Not Found\r\n"), "{text}");
    let accepted = text.find("HTTP/1.1 202 Accepted\r\n").expect("202");
    assert!(text.find("HTTP/1.1 405").unwrap() > accepted, "{text}");
    assert_eq!(server.hub.metrics().events_published, 1);
}

#[tokio::test]
async fn a_kept_alive_publisher_posts_again_after_idling_with_a_split_body() {
    let server = start(Hub::builder()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    let body = r#"{"type":"app.ping"}"#;
    for _ in 0..2 {
        let head = format!(
            "POST /api/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
             content-length: {}\r\n\r\n",
            body.len()
        );
        s.write_all(head.as_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(body.as_bytes()).await.unwrap();
        let text = read_until(&mut s, |t| t.ends_with("\"}")).await;
        assert!(text.starts_with("HTTP/1.1 202 Accepted\r\n"), "{text}");
        assert!(text.contains("content-length: "), "{text}");
    }
    let bad = r#"{"type":"app.nope"}"#;
    let req = format!(
        "POST /api/events HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n\
         content-length: {}\r\nconnection: close\r\n\r\n{bad}",
        bad.len()
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut rest = String::new();
    guarded("closed after the answer", s.read_to_string(&mut rest))
        .await
        .unwrap();
    assert!(rest.starts_with("HTTP/1.1 422"), "{rest}");
    assert!(rest.contains("unknown_type"), "{rest}");
    assert_eq!(server.hub.metrics().events_published, 2);
}

/// A subscriber with a tiny receive buffer that sends an HTTP/1.1 request and
/// then reads nothing.
async fn stalled_subscriber(addr: std::net::SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    stream
}

/// 16 MiB of notes, far more than a stalled socket's buffers hold.
async fn publish_16_mib(hub: &Hub) -> Vec<String> {
    let text = "x".repeat(8192);
    let mut ids = Vec::with_capacity(2048);
    for i in 0..2048 {
        let note = Note {
            text: format!("{i} {text}"),
        };
        ids.push(hub.emit(note).await.unwrap().to_string());
    }
    ids
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_gets_a_gapless_prefix_then_a_reset() {
    let server = start(Hub::builder().queue_bound(64).replay_capacity(64)).await;
    let mut stalled = stalled_subscriber(server.addr).await;
    guarded("subscribed", async {
        while server.hub.metrics().subscribers_now != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    let ids = publish_16_mib(&server.hub).await;
    let mut raw = Vec::new();
    guarded("stalled stream ends", async {
        loop {
            let mut buf = [0u8; 65536];
            let n = stalled.read(&mut buf).await.unwrap();
            raw.extend_from_slice(&buf[..n]);
            if n == 0 || raw.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
        }
    })
    .await;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
    assert!(raw.starts_with(b"HTTP/1.1 200 OK\r\n"));
    let (body, ended) = dechunk(&raw[split + 4..]);
    assert!(ended, "the response is complete");
    let delivered = ids_before_lag_reset(body).await;
    assert!(delivered.len() < ids.len(), "it was cut off");
    assert_eq!(delivered, ids[..delivered.len()], "what it got has no gap");
    assert_eq!(server.hub.metrics().subscribers_cut_off, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_disconnected_by_the_write_stall_timeout() {
    let server = start_with(Hub::builder().queue_bound(64).replay_capacity(64), |hub| {
        Server::new(hub).write_stall_timeout(Duration::from_millis(200))
    })
    .await;
    let mut stalled = stalled_subscriber(server.addr).await;
    guarded("subscribed", async {
        while server.hub.metrics().subscribers_now != 1 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    publish_16_mib(&server.hub).await;
    guarded("stalled subscriber dropped", async {
        while server.hub.metrics().subscribers_now != 0 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let mut sink = Vec::new();
    let _ = guarded("stalled socket closed", stalled.read_to_end(&mut sink)).await;
}

#[tokio::test]
async fn a_subscriber_that_leaves_is_noticed() {
    let server = start(Hub::builder()).await;
    let mut s = TcpStream::connect(server.addr).await.unwrap();
    s.write_all(b"GET /api/events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut s, |t| t.contains("continuum.connected")).await;
    assert_eq!(server.hub.metrics().subscribers_now, 1);
    drop(s);
    // Nothing is published: only the closed socket can end the stream.
    guarded("subscriber gone", async {
        while server.hub.metrics().subscribers_now != 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
}

#[tokio::test]
async fn shutdown_does_not_wait_for_a_connection_that_sent_nothing() {
    let mut server = start(Hub::builder()).await;
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    let mut sub = TcpStream::connect(server.addr).await.unwrap();
    sub.write_all(b"GET /api/events HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    read_until(&mut sub, |t| t.contains("continuum.connected")).await;
    let started = Instant::now();
    server.stop().await.unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    // The subscription ended with the last chunk, then the socket closed.
    let rest = read_until(&mut sub, |t| t.ends_with("0\r\n\r\n")).await;
    assert!(
        rest == "0\r\n\r\n" || rest.ends_with("\r\n0\r\n\r\n"),
        "{rest:?}"
    );
    let mut buf = [0u8; 16];
    assert_eq!(
        silent.read(&mut buf).await.unwrap(),
        0,
        "closed without a response"
    );
}
