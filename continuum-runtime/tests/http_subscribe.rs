//! `GET /api/events` over real TCP, decoded by an independent SSE parser:
//! handshake, framing, replay, resets, filters, channels, CORS, heartbeats.

mod http_support;

use std::time::Duration;

use continuum_runtime::hub::{Grant, Reject};
use continuum_runtime::{Hub, Server};
use futures_util::StreamExt;
use http_support::*;
use serde_json::json;

#[tokio::test]
async fn handshake_headers_and_retry() {
    let server = start(Hub::builder().retry_base(Duration::from_millis(1000))).await;
    let a = subscribe(&server.url, &[]).await;
    assert_eq!(a.headers["content-type"], "text/event-stream");
    assert_eq!(a.headers["cache-control"], "no-cache, no-transform");
    assert_eq!(a.headers["x-accel-buffering"], "no");
    assert!(a.headers.get("content-length").is_none());
    let hello = envelope(&a.connected);
    let connection = hello["connectionId"]
        .as_str()
        .expect("connectionId")
        .to_owned();
    assert_eq!(hello["epoch"], server.hub.epoch().to_string());
    let retry = a.connected.retry.expect("retry hint on connect");
    assert!(
        retry >= Duration::from_millis(1000) && retry < Duration::from_millis(2000),
        "{retry:?}"
    );
    // Another connection: another id (and, almost surely, other jitter).
    let b = subscribe(&server.url, &[]).await;
    assert_ne!(envelope(&b.connected)["connectionId"], connection.as_str());
}

#[tokio::test]
async fn framing_survives_newlines_cr_and_unicode() {
    let server = start(Hub::builder()).await;
    let mut sub = subscribe(&server.url, &[]).await;
    let texts = [
        "line one\nline two\n",
        "crlf\r\nthen a lone cr\rend",
        "\r",
        "unicode ✓ — 日本語 🎉 \u{2028}\u{2029}",
        "",
        "data: forged\n\nid: forged\nevent: continuum.reset\n\n",
        "nul \u{0} inside",
    ];
    // Half published in process, half through ingest: both come out identical.
    for (i, text) in texts.iter().enumerate() {
        if i % 2 == 0 {
            server
                .hub
                .emit(Note {
                    text: (*text).to_owned(),
                })
                .await
                .unwrap();
        } else {
            let body = json!({"type": "app.note", "data": {"text": text}}).to_string();
            assert_eq!(post(&server.url, &body, &[]).await.status, 202);
        }
    }
    for text in texts {
        let e = sub.next().await;
        assert_eq!(e.event, "app.note");
        assert_eq!(
            envelope(&e),
            json!({"type": "app.note", "data": {"text": text}})
        );
    }
}

#[tokio::test]
async fn replay_after_last_event_id_header_or_query() {
    let server = start(Hub::builder()).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(server.hub.emit(progress("t", i)).await.unwrap().to_string());
    }

    let by_header = subscribe(&server.url, &[("last-event-id", &ids[1])]).await;
    let by_query = subscribe(&format!("{}?lastEventId={}", server.url, ids[1]), &[]).await;
    // The header wins over the query (a browser's reconnect sends the newest
    // id in the header while the URL keeps the one the page started with).
    let both = subscribe(
        &format!("{}?lastEventId={}", server.url, ids[0]),
        &[("last-event-id", &ids[3])],
    )
    .await;
    let live = server
        .hub
        .emit(progress("t", 99))
        .await
        .unwrap()
        .to_string();

    for (mut sub, from) in [(by_header, 2), (by_query, 2), (both, 4)] {
        let got = sub.until(|e| e.id == live).await;
        let mut want: Vec<String> = ids[from..].to_vec();
        want.push(live.clone());
        // Nothing missed, nothing twice.
        assert_eq!(got.iter().map(|e| e.id.clone()).collect::<Vec<_>>(), want);
        assert!(got.iter().all(|e| e.event == "ai.task.progress"));
    }
}

#[tokio::test]
async fn reset_on_evicted_id_and_on_foreign_epoch() {
    let server = start(Hub::builder().replay_capacity(4).queue_bound(4)).await;
    let first = server.hub.emit(progress("t", 0)).await.unwrap().to_string();
    for i in 1..10 {
        server.hub.emit(progress("t", i)).await.unwrap();
    }
    let mut sub = subscribe(&server.url, &[("last-event-id", &first)]).await;
    let reset = sub.next().await;
    assert_eq!(reset.event, "continuum.reset");
    assert_eq!(envelope(&reset), json!({"reason": "evicted"}));

    let other = Hub::builder().build().unwrap();
    let foreign = other.emit(progress("t", 0)).await.unwrap().to_string();
    let mut sub = subscribe(&server.url, &[("last-event-id", &foreign)]).await;
    let reset = sub.next().await;
    assert_eq!(reset.event, "continuum.reset");
    assert_eq!(envelope(&reset), json!({"reason": "foreign_epoch"}));
    // After a reset the stream goes on live.
    let live = server
        .hub
        .emit(progress("t", 50))
        .await
        .unwrap()
        .to_string();
    assert_eq!(sub.next().await.id, live);
}

#[tokio::test]
async fn type_filters_exact_and_prefix() {
    let server = start(Hub::builder()).await;
    let mut media = subscribe(&format!("{}?types=media.*", server.url), &[]).await;
    let mut both = subscribe(
        &format!("{}?types=ai.task.progress,media.*", server.url),
        &[],
    )
    .await;
    let mut pings = subscribe(&format!("{}?types=app.ping", server.url), &[]).await;
    server.hub.emit(progress("t", 1)).await.unwrap();
    server.hub.emit(Note { text: "n".into() }).await.unwrap();
    server
        .hub
        .emit(UploadDone { file: "f".into() })
        .await
        .unwrap();
    server.hub.emit(Ping).await.unwrap();
    assert_eq!(media.next().await.event, "media.upload.done");
    assert_eq!(both.next().await.event, "ai.task.progress");
    assert_eq!(both.next().await.event, "media.upload.done");
    assert_eq!(pings.next().await.event, "app.ping");
    // Nothing else was queued for the filtered streams before the next media event.
    server
        .hub
        .emit(UploadDone { file: "g".into() })
        .await
        .unwrap();
    assert_eq!(envelope(&media.next().await)["data"]["file"], "g");

    let a = answer(client().get(format!("{}?types=a*b", server.url))).await;
    assert_eq!(error_code(&a, 400), "invalid_types");
}

fn channel_hub() -> continuum_runtime::HubBuilder {
    Hub::builder().authorize(|parts| {
        let user = parts
            .headers
            .get("x-user")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .or_else(|| {
                let cookies = parts.headers.get("cookie")?.to_str().ok()?;
                cookies
                    .split(';')
                    .find_map(|c| c.trim().strip_prefix("session=").map(str::to_owned))
            });
        match user.as_deref() {
            None => Err(Reject::unauthorized("sign in first")),
            Some("banned") => Err(Reject::forbidden("not allowed")),
            Some(user) => Ok(Grant::public().with_channel(format!("user:{user}"))),
        }
    })
}

#[tokio::test]
async fn channels_reach_only_granted_subscribers() {
    let server = start(channel_hub()).await;
    let mut one = subscribe(&server.url, &[("x-user", "1")]).await;
    let mut two = subscribe(&server.url, &[("cookie", "theme=dark; session=2")]).await;

    server
        .hub
        .emit_to(
            "user:1",
            Note {
                text: "for 1".into(),
            },
        )
        .await
        .unwrap();
    let body =
        json!({"type": "app.note", "data": {"text": "for 2"}, "channel": "user:2"}).to_string();
    assert_eq!(post(&server.url, &body, &[]).await.status, 202);
    server
        .hub
        .emit_to(
            "user:3",
            Note {
                text: "for 3".into(),
            },
        )
        .await
        .unwrap();
    let public = server
        .hub
        .emit(Note {
            text: "everyone".into(),
        })
        .await
        .unwrap()
        .to_string();

    let texts = |events: Vec<eventsource_stream::Event>| -> Vec<String> {
        events
            .iter()
            .map(|e| envelope(e)["data"]["text"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        texts(one.until(|e| e.id == public).await),
        ["for 1", "everyone"]
    );
    assert_eq!(
        texts(two.until(|e| e.id == public).await),
        ["for 2", "everyone"]
    );
}

#[tokio::test]
async fn rejected_subscribers_get_401_or_403_with_json() {
    let server = start(channel_hub()).await;
    let a = answer(client().get(&server.url)).await;
    assert_eq!(error_code(&a, 401), "unauthorized");
    assert_eq!(a.json["message"], "sign in first");
    let a = answer(client().get(&server.url).header("x-user", "banned")).await;
    assert_eq!(error_code(&a, 403), "forbidden");
    assert_eq!(server.hub.metrics().subscribers_rejected, 2);
}

#[tokio::test]
async fn cors_for_allowed_origins_only() {
    let server =
        start(Hub::builder().allowed_origins(["https://app.example.com", "http://localhost:5173"]))
            .await;
    // A credentialed EventSource from an allowed origin.
    let ok = subscribe(&server.url, &[("origin", "https://app.example.com")]).await;
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(ok.headers["access-control-allow-credentials"], "true");
    assert!(ok
        .headers
        .get_all("vary")
        .iter()
        .any(|v| v.to_str().unwrap().contains("origin")));
    // Another origin: no CORS headers at all (the browser blocks it).
    let no = subscribe(&server.url, &[("origin", "https://evil.example.com")]).await;
    assert!(no.headers.get("access-control-allow-origin").is_none());
    assert!(no.headers.get("access-control-allow-credentials").is_none());

    // Preflight for a POST with the token and an idempotency key.
    let pre = answer(
        client()
            .request(reqwest::Method::OPTIONS, &server.url)
            .header("origin", "http://localhost:5173")
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "content-type, x-continuum-event-key, idempotency-key",
            ),
    )
    .await;
    assert_eq!(pre.status, 204);
    assert_eq!(
        pre.headers["access-control-allow-origin"],
        "http://localhost:5173"
    );
    assert_eq!(pre.headers["access-control-allow-credentials"], "true");
    let methods = pre.headers["access-control-allow-methods"]
        .to_str()
        .unwrap();
    assert!(
        methods.contains("GET") && methods.contains("POST"),
        "{methods}"
    );
    let allowed = pre.headers["access-control-allow-headers"]
        .to_str()
        .unwrap();
    for h in [
        "content-type",
        "last-event-id",
        "x-continuum-event-key",
        "idempotency-key",
    ] {
        assert!(allowed.contains(h), "{h} not in {allowed}");
    }
    let pre = answer(
        client()
            .request(reqwest::Method::OPTIONS, &server.url)
            .header("origin", "https://evil.example.com")
            .header("access-control-request-method", "POST"),
    )
    .await;
    assert!(pre.headers.get("access-control-allow-origin").is_none());

    // The actual POST and error answers carry the headers too.
    let a = post(
        &server.url,
        r#"{"type":"app.ping"}"#,
        &[("origin", "https://app.example.com")],
    )
    .await;
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    let a = answer(
        client()
            .put(&server.url)
            .header("origin", "https://app.example.com"),
    )
    .await;
    assert_eq!(
        a.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_ne!(a.headers["access-control-allow-origin"], "*");
}

#[tokio::test]
async fn star_origin_never_comes_with_credentials() {
    let server = start(Hub::builder().allowed_origins(["*"])).await;
    let sub = subscribe(&server.url, &[("origin", "https://anywhere.example")]).await;
    assert_eq!(sub.headers["access-control-allow-origin"], "*");
    assert!(sub
        .headers
        .get("access-control-allow-credentials")
        .is_none());
}

#[tokio::test]
async fn heartbeat_comments_reach_the_wire() {
    let server = start(Hub::builder().heartbeat(Duration::from_millis(50))).await;
    let res = client().get(&server.url).send().await.unwrap();
    let mut raw = res.bytes_stream();
    let mut seen = Vec::new();
    // Wait for the comment frame itself (the parser would hide it).
    guarded("heartbeat", async {
        while let Some(chunk) = raw.next().await {
            seen.extend_from_slice(&chunk.unwrap());
            if seen.windows(3).any(|w| w == b":\n\n") {
                return;
            }
        }
        panic!("stream ended");
    })
    .await;
}

#[tokio::test]
async fn metrics_route_is_opt_in() {
    let server = start_with(Hub::builder(), |hub| {
        Server::new(hub.service().with_metrics_route())
    })
    .await;
    server.hub.emit(Ping).await.unwrap();
    let res = client()
        .get(format!("{}/metrics", server.url))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(res.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/plain"));
    let text = res.text().await.unwrap();
    assert!(
        text.contains("continuum_events_published_total 1"),
        "{text}"
    );

    let plain = start(Hub::builder()).await;
    let a = answer(client().get(format!("{}/metrics", plain.url))).await;
    assert_eq!(error_code(&a, 404), "not_found");
}
