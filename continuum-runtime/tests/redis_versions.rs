//! A rolling deploy over one real `redis-server`: an old build (event
//! `ai.task.progress` version 1 only) and a new build (versions 1 and 2,
//! with an upcast) share one stream. Old workers' POSTs to the new node are
//! published as version 2; the old node's events reach the new node's
//! subscribers upcast; the new node's events reach the old node's
//! subscribers as `continuum.reset` (`contract`), never in the version-2
//! shape; a new node replays stored version-1 entries as version 2; and an
//! old client on the new node gets the `contract` reset.
#![cfg(feature = "redis")]

mod http_support;
mod redis_support;
mod versions_support;

use continuum_runtime::{Hub, HubBuilder, Registry};
use http_support::*;
use redis_support::Redis;
use serde_json::{json, Value};
use versions_support::*;

fn node(redis: &Redis, build: Registry) -> HubBuilder {
    Hub::builder().with_registry(build).redis(redis.url())
}

async fn ready(server: &TestServer) {
    guarded("backplane ready", server.hub.backplane_ready()).await;
}

/// `(event, data)` of an SSE event; `data` is the envelope's for events, the
/// whole body for control events.
fn seen(e: &eventsource_stream::Event) -> (String, Value) {
    let body = envelope(e);
    if e.event.starts_with("continuum.") {
        (e.event.clone(), body)
    } else {
        assert_eq!(
            body["type"],
            e.event.as_str(),
            "the envelope's type is the event's"
        );
        (e.event.clone(), body["data"].clone())
    }
}

async fn accepted(url: &str, body: &str) -> String {
    let a = post(url, body, &[]).await;
    assert_eq!(a.status.as_u16(), 202, "{:?}", a.json);
    a.json["id"].as_str().expect("id").to_owned()
}

fn contract_reset() -> (String, Value) {
    (
        "continuum.reset".to_owned(),
        json!({"reason": "contract", "types": ["ai.task.progress"]}),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_builds_share_one_stream_through_a_rolling_deploy() {
    let Some(redis) = Redis::start("rolling_deploy") else {
        return;
    };
    let old = start(node(&redis, old_build())).await;
    let new = start(node(&redis, new_build())).await;
    ready(&old).await;
    ready(&new).await;
    assert_ne!(
        fingerprint(&old_build()),
        fingerprint(&new_build()),
        "two builds, two contracts"
    );
    let mut on_old = subscribe(&old.url, &[]).await;
    let mut on_new = subscribe(&new.url, &[]).await;

    // The old node publishes version 1 (an old worker, posting to it).
    let first = accepted(&old.url, &v1_body("from-old", 30)).await;
    // The new node's subscribers get it upcast to version 2.
    let e = on_new.next().await;
    assert_eq!(e.id, first, "the same event, the same id");
    assert_eq!(
        seen(&e),
        (
            "ai.task.progress".into(),
            json!({"taskId": "from-old", "fraction": 0.3})
        )
    );
    // The old node's subscribers get it as published.
    assert_eq!(
        seen(&on_old.next().await),
        (
            "ai.task.progress".into(),
            json!({"taskId": "from-old", "percent": 30})
        )
    );

    // An old worker's POST (version-1 shape, no version) to the new node:
    // accepted, published as version 2.
    let second = accepted(&new.url, &v1_body("old-worker", 40)).await;
    let e = on_new.next().await;
    assert_eq!(e.id, second);
    assert_eq!(
        seen(&e),
        (
            "ai.task.progress".into(),
            json!({"taskId": "old-worker", "fraction": 0.4})
        )
    );
    // The old node cannot read version 2: its subscriber gets the reset in
    // its place (with the event's id, to resume after it), never the shape.
    let e = on_old.next().await;
    assert_eq!(seen(&e), contract_reset());
    assert_eq!(e.id, second, "the reset moves the client past the event");

    // After the reset, the old node sends that subscriber no more of the
    // type, of either version: the next thing it gets is the marker.
    accepted(
        &new.url,
        r#"{"type":"ai.task.progress","version":2,"data":{"taskId":"new","fraction":0.5}}"#,
    )
    .await;
    accepted(&old.url, &v1_body("from-old-again", 60)).await;
    accepted(&old.url, &marker_body(1)).await;
    assert_eq!(
        seen(&on_old.next().await),
        ("app.marker".into(), json!({"n": 1}))
    );
    // The new node's subscriber got all three, each as version 2.
    let got: Vec<(String, Value)> = on_new
        .until(|e| e.event == "app.marker")
        .await
        .iter()
        .map(seen)
        .collect();
    assert_eq!(
        got,
        [
            (
                "ai.task.progress".into(),
                json!({"taskId": "new", "fraction": 0.5})
            ),
            (
                "ai.task.progress".into(),
                json!({"taskId": "from-old-again", "fraction": 0.6})
            ),
            ("app.marker".into(), json!({"n": 1})),
        ]
    );

    // A new node started now fills its replay buffer from the stream: a
    // client resuming after `first` replays the old node's version-1 entry
    // as version 2, and the rest as they were.
    let late = start(node(&redis, new_build())).await;
    ready(&late).await;
    let mut resumed = subscribe(&late.url, &[("last-event-id", &first)]).await;
    let replayed: Vec<(String, Value)> = resumed
        .until(|e| e.event == "app.marker")
        .await
        .iter()
        .map(seen)
        .collect();
    assert_eq!(
        replayed,
        [
            (
                "ai.task.progress".into(),
                json!({"taskId": "old-worker", "fraction": 0.4})
            ),
            (
                "ai.task.progress".into(),
                json!({"taskId": "new", "fraction": 0.5})
            ),
            (
                "ai.task.progress".into(),
                json!({"taskId": "from-old-again", "fraction": 0.6})
            ),
            ("app.marker".into(), json!({"n": 1})),
        ]
    );
    // And from before everything: the very first entry, upcast too.
    let mut from_start = subscribe(
        &format!("{}?types=ai.task.progress", late.url),
        &[("last-event-id", &first_id_before(&first))],
    )
    .await;
    assert_eq!(
        seen(&from_start.next().await),
        (
            "ai.task.progress".into(),
            json!({"taskId": "from-old", "fraction": 0.3})
        )
    );

    // An old client (its bundle built from the old contract) on the new
    // node: the `contract` reset for the type right after the handshake,
    // then none of its events.
    let old_fingerprint = fingerprint(&old_build());
    let mut old_client = subscribe(&format!("{}?contract={old_fingerprint}", new.url), &[]).await;
    assert_eq!(seen(&old_client.next().await), contract_reset());
    accepted(&new.url, &v1_body("after", 70)).await;
    accepted(&new.url, &marker_body(2)).await;
    assert_eq!(
        seen(&old_client.next().await),
        ("app.marker".into(), json!({"n": 2}))
    );
    // The same old contract naming version 2 as the one it reads (a client
    // updated for this event alone) gets the events.
    let mut reads_v2 = subscribe(
        &format!(
            "{}?contract={old_fingerprint}&versions=ai.task.progress@2",
            new.url
        ),
        &[],
    )
    .await;
    accepted(&new.url, &v1_body("for-v2-readers", 80)).await;
    assert_eq!(
        seen(&reads_v2.next().await),
        (
            "ai.task.progress".into(),
            json!({"taskId": "for-v2-readers", "fraction": 0.8})
        )
    );
}

/// The id just before `id` (same epoch, sequence minus one): a client
/// holding it has seen everything before `id`.
fn first_id_before(id: &str) -> String {
    let id = continuum_runtime::id::EventId::parse(id).expect("an id");
    continuum_runtime::id::EventId::new(id.epoch(), id.seq() - 1).to_string()
}
