//! The server and embedding over real TCP: graceful shutdown and replay after
//! restart, HTTP/2, the service inside axum, and subscribers that stop
//! reading.

mod http_support;

use std::net::SocketAddr;
use std::time::Duration;

use continuum_runtime::{Hub, Server};
use http_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

#[tokio::test]
async fn graceful_shutdown_ends_streams_cleanly_and_clients_replay_after_restart() {
    let mut server = start(Hub::builder()).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut h1_sub = subscribe(&server.url, &[]).await;
    let mut h2_sub = subscribe_with(&h2, &server.url, &[]).await;
    let seen = server.hub.emit(progress("t", 1)).await.unwrap().to_string();
    assert_eq!(h1_sub.next().await.id, seen);
    assert_eq!(h2_sub.next().await.id, seen);

    server.stop().await.expect("server returns Ok");
    // Both streams end cleanly (no transport error), so EventSource reconnects.
    for sub in [&mut h1_sub, &mut h2_sub] {
        let (rest, end) = sub.end().await;
        assert!(rest.is_empty(), "{rest:?}");
        assert_eq!(end, Ok(()));
    }

    // Published while no server was up; a reconnect with the last id replays it.
    let missed = server.hub.emit(progress("t", 2)).await.unwrap().to_string();
    let again = serve_hub(server.hub.clone(), Server::new).await;
    let mut sub = subscribe(&again.url, &[("last-event-id", &seen)]).await;
    assert_eq!(sub.next().await.id, missed);
}

#[tokio::test]
async fn http2_subscribe_and_ingest() {
    let server = start(Hub::builder()).await;
    let h2 = reqwest::Client::builder()
        .http2_prior_knowledge()
        .build()
        .unwrap();
    let mut sub = subscribe_with(&h2, &server.url, &[]).await;
    assert_eq!(sub.version, reqwest::Version::HTTP_2);
    assert_eq!(sub.headers["content-type"], "text/event-stream");
    let a = answer(
        h2.post(&server.url)
            .header("content-type", "application/json")
            .body(r#"{"type":"media.upload.done","data":{"file":"x.png"}}"#),
    )
    .await;
    assert_eq!(a.status, 202);
    let e = sub.next().await;
    assert_eq!(e.id, a.json["id"]);
    assert_eq!(envelope(&e)["data"]["file"], "x.png");
}

#[tokio::test]
async fn service_mounts_inside_an_axum_router() {
    let hub = Hub::builder().build().unwrap();
    let app = axum::Router::new()
        .route("/health", axum::routing::get(|| async { "ok" }))
        .route_service("/api/events", hub.service())
        .nest_service("/nested/events", hub.service().any_path());
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    let health = client()
        .get(format!("http://{addr}/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(health.text().await.unwrap(), "ok");
    let url = format!("http://{addr}/api/events");
    let mut routed = subscribe(&url, &[]).await;
    let mut nested = subscribe(&format!("http://{addr}/nested/events"), &[]).await;
    let a = post(&url, r#"{"type":"app.ping"}"#, &[]).await;
    assert_eq!(a.status, 202);
    assert_eq!(routed.next().await.id, a.json["id"]);
    assert_eq!(nested.next().await.id, a.json["id"]);
    let a = answer(client().delete(&url)).await;
    assert_eq!(error_code(&a, 405), "method_not_allowed");
    server.abort();
}

/// A subscriber with a tiny receive buffer that sends its request and then
/// reads nothing. HTTP/1.0, so the body is not chunked and can be parsed raw.
async fn stalled_subscriber(addr: SocketAddr) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let mut stream = socket.connect(addr).await.unwrap();
    stream
        .write_all(b"GET /api/events HTTP/1.0\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    stream
}

/// Publish `batches` arrays of 32 notes of 8 KiB through `POST`, each time
/// waiting until `good` has received the batch's last event.
async fn publish_big_batches(url: &str, good: &mut Sub, batches: usize) -> Vec<String> {
    let text = "x".repeat(8192);
    let mut all = Vec::new();
    for b in 0..batches {
        let batch: Vec<_> = (0..32)
            .map(|i| json!({"type": "app.note", "data": {"text": format!("{b}/{i} {text}")}}))
            .collect();
        let a = post(url, &serde_json::Value::from(batch).to_string(), &[]).await;
        assert_eq!(
            a.status, 202,
            "the publisher is never refused or slowed into failing"
        );
        let ids: Vec<String> = serde_json::from_value(a.json["ids"].clone()).unwrap();
        let last = ids.last().unwrap().clone();
        let got = good.until(|e| e.id == last).await;
        assert_eq!(
            got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(),
            ids,
            "the good subscriber misses nothing"
        );
        all.extend(ids);
    }
    all
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stalled_subscriber_is_cut_off_with_a_reset_while_others_are_unaffected() {
    let server = start(Hub::builder().queue_bound(64).replay_capacity(64)).await;
    let mut stalled = stalled_subscriber(server.addr).await;
    let mut good = subscribe(&server.url, &[]).await;
    // 16 MiB: far more than the stalled socket's buffers can hold.
    let ids = publish_big_batches(&server.url, &mut good, 64).await;

    // The stalled client finally reads: what it gets is a prefix of the
    // events, then `continuum.reset` (lagged), then the end of the stream.
    let mut raw = Vec::new();
    guarded("stalled stream ends", stalled.read_to_end(&mut raw))
        .await
        .unwrap();
    let text = String::from_utf8(raw).unwrap();
    let (head, body) = text.split_once("\r\n\r\n").unwrap();
    assert!(
        head.starts_with("HTTP/1.0 200") || head.starts_with("HTTP/1.1 200"),
        "{head}"
    );
    let delivered = ids_before_lag_reset(body.to_owned()).await;
    assert!(
        delivered.len() < ids.len(),
        "it was cut off, not served everything"
    );
    assert_eq!(delivered, ids[..delivered.len()], "what it got has no gap");
    assert!(server.hub.metrics().subscribers_cut_off >= 1);

    // The good subscriber is still live.
    let next = server.hub.emit(Ping).await.unwrap().to_string();
    assert_eq!(good.next().await.id, next);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn subscriber_that_never_reads_is_disconnected_by_the_write_stall_timeout() {
    let server = start_with(Hub::builder().queue_bound(64).replay_capacity(64), |hub| {
        Server::new(hub).write_stall_timeout(Duration::from_millis(200))
    })
    .await;
    let mut stalled = stalled_subscriber(server.addr).await;
    let mut good = subscribe(&server.url, &[]).await;
    assert_eq!(server.hub.metrics().subscribers_now, 2);
    publish_big_batches(&server.url, &mut good, 64).await;
    // No signal exists for "the server dropped a socket nobody reads", so
    // watch the subscriber count (bounded by the guard).
    guarded("stalled subscriber dropped", async {
        while server.hub.metrics().subscribers_now != 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    // Its socket was closed by the server: reading drains and ends.
    let mut sink = Vec::new();
    let _ = guarded("stalled socket closed", stalled.read_to_end(&mut sink)).await;
    let next = server.hub.emit(Ping).await.unwrap().to_string();
    assert_eq!(good.next().await.id, next);
}
