//! Expiring grants (on Tokio's paused clock) and the subscriber caps as the
//! service applies them to the client address it is given: through
//! `ClientAddr` (what `serve` inserts), axum's `ConnectInfo` copied over, or
//! `x-forwarded-for` from a trusted proxy.

mod hub_support;

use std::net::SocketAddr;
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use continuum_runtime::http::ClientAddr;
use continuum_runtime::hub::{Grant, SseOptions};
use continuum_runtime::Hub;
use http_body_util::{BodyExt, Full};
use hub_support::*;

/// The next event within `within` of (paused) time.
async fn next_within(es: &mut Events, within: Duration) -> eventsource_stream::Event {
    tokio::time::timeout(within, futures_util::StreamExt::next(es))
        .await
        .expect("an event in time")
        .expect("the stream goes on")
        .expect("a well-formed event")
}

fn expired(e: &eventsource_stream::Event) -> bool {
    e.event == "continuum.reset" && json(e)["reason"] == "expired"
}

#[tokio::test(start_paused = true)]
async fn an_expiring_grant_ends_the_stream_on_time_with_a_reset() {
    let hub = Hub::builder()
        .heartbeat(Duration::from_secs(25))
        .build()
        .unwrap();
    let start = tokio::time::Instant::now();
    let grant = Grant::public()
        .with_channel("user:1")
        .with_expiry(Duration::from_secs(90));
    let mut es = parse(hub.subscribe_sse(SseOptions::new().grant(grant)));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    hub.emit_to("user:1", note(1)).await.unwrap();
    let last = next_event(&mut es).await;
    assert_eq!(note_n(&last), 1);

    let mut got = Vec::new();
    while let Some(e) = tokio::time::timeout(
        Duration::from_secs(600),
        futures_util::StreamExt::next(&mut es),
    )
    .await
    .expect("the stream ends")
    {
        got.push(e.unwrap());
    }
    assert_eq!(got.len(), 1, "{got:?}");
    assert!(expired(&got[0]), "{:?}", got[0]);
    // The `reset` carries no id: the client's last id stays its last event's.
    assert_eq!(got[0].id, last.id);
    // On time, not at the next heartbeat (100 s).
    assert_eq!(start.elapsed(), Duration::from_secs(90));
    assert_eq!(hub.metrics().resets, 1);
}

#[tokio::test(start_paused = true)]
async fn frames_not_yet_written_at_expiry_are_dropped() {
    let hub = Hub::builder().build().unwrap();
    let grant = Grant::channels(["user:1"]).with_expiry(Duration::from_secs(5));
    let mut s = hub.subscribe_sse(SseOptions::new().grant(grant));
    let first = next_chunk(&mut s).await.unwrap();
    assert!(std::str::from_utf8(&first)
        .unwrap()
        .contains("continuum.connected"));
    hub.emit_to("user:1", note(7)).await.unwrap();
    // The subscriber did not read in time: the event is not its to see now.
    tokio::time::advance(Duration::from_secs(6)).await;
    let chunk = next_chunk(&mut s).await.unwrap();
    let text = std::str::from_utf8(&chunk).unwrap();
    assert_eq!(
        text,
        "event: continuum.reset\ndata: {\"reason\":\"expired\"}\n\n"
    );
    assert_eq!(next_chunk(&mut s).await, None);
}

#[tokio::test(start_paused = true)]
async fn a_grant_already_expired_ends_at_once_and_a_wall_clock_expiry_works() {
    let hub = Hub::builder().build().unwrap();
    let past = SystemTime::now() - Duration::from_secs(1);
    let mut es =
        parse(hub.subscribe_sse(SseOptions::new().grant(Grant::public().with_expiry(past))));
    // The handshake is dropped with everything else pending: only the reset.
    assert!(expired(&next_event(&mut es).await));

    let start = tokio::time::Instant::now();
    let soon = SystemTime::now() + Duration::from_secs(30);
    let grant = Grant::public()
        .with_expiry(soon)
        .with_expiry(Duration::from_secs(3600));
    let mut es = parse(hub.subscribe_sse(SseOptions::new().grant(grant)));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert!(expired(
        &next_within(&mut es, Duration::from_secs(120)).await
    ));
    // The earliest expiry wins; a wall-clock time is converted once.
    let took = start.elapsed();
    assert!(
        took >= Duration::from_secs(29) && took <= Duration::from_secs(31),
        "{took:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn the_lifetime_cap_and_an_expiry_whichever_comes_first() {
    let hub = Hub::builder()
        .heartbeat(Duration::from_secs(25))
        .max_connection_lifetime(Duration::from_secs(30))
        .build()
        .unwrap();
    // The lifetime cap first: the stream ends quietly, at a heartbeat tick.
    let start = tokio::time::Instant::now();
    let grant = Grant::public().with_expiry(Duration::from_secs(90));
    let mut es = parse(hub.subscribe_sse(SseOptions::new().grant(grant)));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    let end = tokio::time::timeout(
        Duration::from_secs(600),
        futures_util::StreamExt::next(&mut es),
    )
    .await
    .unwrap();
    assert!(end.is_none(), "{end:?}");
    assert_eq!(start.elapsed(), Duration::from_secs(50));

    // The expiry first: the `expired` reset, on time.
    let start = tokio::time::Instant::now();
    let grant = Grant::public().with_expiry(Duration::from_secs(10));
    let mut es = parse(hub.subscribe_sse(SseOptions::new().grant(grant)));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert!(expired(
        &next_within(&mut es, Duration::from_secs(60)).await
    ));
    assert_eq!(start.elapsed(), Duration::from_secs(10));
}

/// A `GET` through the tower service, as a router would make it.
async fn get(
    hub: &Hub,
    peer: Option<&str>,
    xff: Option<&str>,
) -> (
    u16,
    Option<http::Response<continuum_runtime::http::ResponseBody>>,
) {
    let mut req = http::Request::get("/api/events");
    if let Some(x) = xff {
        req = req.header("x-forwarded-for", x);
    }
    let mut req = req.body(Full::new(Bytes::new())).unwrap();
    if let Some(p) = peer {
        req.extensions_mut()
            .insert(ClientAddr(p.parse::<SocketAddr>().unwrap()));
    }
    let mut service = hub.service();
    let res = tower_service::Service::call(&mut service, req)
        .await
        .unwrap();
    let status = res.status().as_u16();
    if status == 200 {
        return (status, Some(res));
    }
    let retry = res.headers().get("retry-after").cloned();
    let body = res.into_body().collect().await.unwrap().to_bytes();
    let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert!(retry.is_some(), "{v}");
    assert!(v["error"].is_string() && v["message"].is_string(), "{v}");
    (status, None)
}

#[tokio::test]
async fn the_tower_service_caps_by_the_address_it_is_given() {
    let hub = Hub::builder()
        .max_subscribers_per_ip(1)
        .max_subscribers(3)
        .build()
        .unwrap();
    let (s, _a) = get(&hub, Some("192.0.2.1:1000"), None).await;
    assert_eq!(s, 200);
    assert_eq!(get(&hub, Some("192.0.2.1:1001"), None).await.0, 429);
    // Without a trusted proxy, x-forwarded-for changes nothing.
    assert_eq!(
        get(&hub, Some("192.0.2.1:1002"), Some("198.51.100.9"))
            .await
            .0,
        429
    );
    // No address known: only the hub-wide cap applies.
    let (s, _b) = get(&hub, None, None).await;
    assert_eq!(s, 200);
    let (s, _c) = get(&hub, None, None).await;
    assert_eq!(s, 200);
    assert_eq!(get(&hub, None, None).await.0, 503);
    drop(_a);
    assert_eq!(hub.metrics().subscribers_limited, 3);
}

#[tokio::test]
async fn behind_a_trusted_proxy_the_forwarded_client_is_capped() {
    let hub = Hub::builder()
        .max_subscribers_per_ip(1)
        .trusted_proxies(["10.0.0.0/8"])
        .build()
        .unwrap();
    let proxy = Some("10.0.0.2:4000");
    let (s, _a) = get(&hub, proxy, Some("198.51.100.1")).await;
    assert_eq!(s, 200);
    // Another client behind the same proxy is another address.
    let (s, _b) = get(&hub, proxy, Some("198.51.100.2, 10.0.0.7")).await;
    assert_eq!(s, 200);
    assert_eq!(get(&hub, proxy, Some("198.51.100.1")).await.0, 429);
    // A client forging the header to slip past its cap is still itself.
    let (s, _c) = get(&hub, Some("203.0.113.5:1"), Some("198.51.100.3")).await;
    assert_eq!(s, 200);
    assert_eq!(
        get(&hub, Some("203.0.113.5:2"), Some("198.51.100.4"))
            .await
            .0,
        429
    );
}

/// The README's axum recipe: `ConnectInfo` copied into `ClientAddr`.
#[tokio::test]
async fn axum_with_connect_info_caps_per_address() {
    use axum::extract::{ConnectInfo, Request};
    use axum::middleware::map_request;

    let hub = Hub::builder().max_subscribers_per_ip(1).build().unwrap();
    let app: axum::Router = axum::Router::new()
        .route_service("/api/events", hub.service())
        .layer(map_request(
            |ConnectInfo(peer): ConnectInfo<SocketAddr>, mut req: Request| async move {
                req.extensions_mut().insert(ClientAddr(peer));
                req
            },
        ));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap()
    });
    let client = reqwest::Client::new();
    let url = format!("http://{addr}/api/events");
    let first = client.get(&url).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let second = client.get(&url).send().await.unwrap();
    assert_eq!(second.status(), 429);
    assert!(second.headers().contains_key("retry-after"));
    let body: serde_json::Value = serde_json::from_slice(&second.bytes().await.unwrap()).unwrap();
    assert_eq!(body["error"], "too_many_subscribers");
    drop(first);
    server.abort();
}
