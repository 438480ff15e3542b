//! Keyed state on one node, over real TCP where the wire is the point:
//! snapshot on subscribe (order, the `continuum.snapshot` control event, no
//! gap and no duplicate at the seam under concurrent publishing), channels
//! and the auth hook in snapshots, the state endpoint, `ttl` (paused time),
//! `forget`, the bound on live keys, conflation of a slow subscriber, and a
//! snapshot after a reset.

mod http_support;
mod hub_support;
mod keyed_support;

use std::collections::HashSet;
use std::time::Duration;

use continuum_runtime::hub::{Grant, Reject, SseOptions, TypeFilter};
use continuum_runtime::prelude::*;
use continuum_runtime::HubBuilder;
use eventsource_stream::Event as SseEvent;
use futures_util::StreamExt;
use http_support::{client, guarded, start, subscribe};
use keyed_support::{key_of, state_of, state_of_json, task, TaskLog, TaskProgress, WorkerLoad};
use serde_json::Value;

fn hub() -> HubBuilder {
    Hub::builder()
}

async fn get_state(url: &str, headers: &[(&str, &str)]) -> Value {
    let mut req = client().get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = guarded("state", req.send()).await.expect("state answers");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/json");
    serde_json::from_str(&res.text().await.expect("body")).expect("state is JSON")
}

fn is_snapshot_end(e: &SseEvent) -> bool {
    e.event == "continuum.snapshot"
}

#[tokio::test]
async fn a_late_subscriber_gets_the_latest_event_per_key_in_id_order_then_live_events() {
    let server = start(hub()).await;
    let h = &server.hub;
    h.emit(task("a", 10)).await.unwrap();
    let b = h.emit(task("b", 50)).await.unwrap();
    h.emit(TaskLog {
        line: "unkeyed".into(),
    })
    .await
    .unwrap();
    let a = h.emit(task("a", 20)).await.unwrap();
    let w = h.emit(WorkerLoad { worker: 7, load: 3 }).await.unwrap();

    let url = format!("{}?snapshot=true&types=jobs.task.*", server.url);
    let mut sub = subscribe(&url, &[]).await;
    let snap = sub.until(is_snapshot_end).await;
    let ids: Vec<&str> = snap.iter().map(|e| e.id.as_str()).collect();
    let (a, b) = (a.to_string(), b.to_string());
    // b's latest is older than a's: id order. Worker load is not in `types`.
    assert_eq!(ids[..2], [b.as_str(), a.as_str()]);
    assert_eq!(key_of(&snap[0]), "b");
    assert_eq!(http_support::envelope(&snap[1])["data"]["percent"], 20);
    let end = &snap[2];
    assert_eq!(end.id, a, "continuum.snapshot has no id of its own");
    let body: Value = serde_json::from_str(&end.data).unwrap();
    assert_eq!(
        body,
        serde_json::json!({"count": 2, "types": ["jobs.task.progress"]})
    );

    let live = h.emit(task("c", 1)).await.unwrap();
    let next = sub.next().await;
    assert_eq!(
        (next.id, next.event.as_str()),
        (live.to_string(), "jobs.task.progress")
    );

    // The state endpoint answers the same snapshot (now with c).
    let doc = get_state(&format!("{}/state?types=jobs.*", server.url), &[]).await;
    let state = state_of_json(&doc);
    assert_eq!(state.len(), 4);
    assert_eq!(state[&("jobs.task.progress".into(), "a".into())].0, a);
    assert_eq!(
        state[&("jobs.worker.load".into(), "7".into())].0,
        w.to_string()
    );
    assert_eq!(doc["lastEventId"], live.to_string());
    assert_eq!(
        doc["types"],
        serde_json::json!(["jobs.task.progress", "jobs.worker.load"])
    );
    let ids: Vec<&str> = doc["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["id"].as_str().unwrap())
        .collect();
    let mut sorted = ids.clone();
    sorted.sort_by_key(|id| {
        continuum_runtime::hub::EventId::parse(id)
            .map(|i| i.seq())
            .unwrap()
    });
    assert_eq!(ids, sorted, "state events in id order");
}

#[tokio::test]
async fn without_snapshot_or_with_a_replayable_id_no_snapshot_is_sent() {
    let server = start(hub()).await;
    let first = server.hub.emit(task("a", 1)).await.unwrap();
    server.hub.emit(task("a", 2)).await.unwrap();
    // A plain subscription: live only.
    let mut plain = subscribe(&server.url, &[]).await;
    // A reconnect whose id is still in the buffer: plain replay.
    let url = format!("{}?snapshot=true", server.url);
    let mut replay = subscribe(&url, &[("last-event-id", &first.to_string())]).await;
    let e = replay.next().await;
    assert_eq!(
        (
            e.event.as_str(),
            http_support::envelope(&e)["data"]["percent"].as_u64()
        ),
        ("jobs.task.progress", Some(2))
    );
    let live = server.hub.emit(task("b", 3)).await.unwrap().to_string();
    assert_eq!(
        replay.next().await.id,
        live,
        "no continuum.snapshot after a replay"
    );
    assert_eq!(plain.next().await.id, live);
}

#[tokio::test]
async fn a_reset_is_followed_by_the_snapshot_when_asked() {
    let server = start(hub()).await;
    let a = server.hub.emit(task("a", 5)).await.unwrap();
    let url = format!("{}?snapshot=true&types=jobs.task.progress", server.url);
    let mut sub = subscribe(&url, &[("last-event-id", "00000000000-1")]).await;
    let seen = sub.until(is_snapshot_end).await;
    let names: Vec<&str> = seen.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(
        names,
        [
            "continuum.reset",
            "jobs.task.progress",
            "continuum.snapshot"
        ]
    );
    assert_eq!(seen[1].id, a.to_string());
}

#[tokio::test]
async fn snapshots_apply_channels_and_the_auth_hook_like_live_events() {
    let builder =
        hub().authorize(
            |parts| match parts.headers.get("x-user").and_then(|v| v.to_str().ok()) {
                Some("1") => Ok(Grant::public().with_channel("user:1")),
                Some(_) => Err(Reject::forbidden("unknown user")),
                None => Ok(Grant::public()),
            },
        );
    let server = start(builder).await;
    let h = &server.hub;
    h.emit_to("user:1", task("mine", 1)).await.unwrap();
    h.emit_to("user:2", task("theirs", 2)).await.unwrap();
    h.emit(task("public", 3)).await.unwrap();

    let url = format!("{}?snapshot=true", server.url);
    let keys = |events: &[SseEvent]| -> Vec<String> {
        events
            .iter()
            .filter(|e| !is_snapshot_end(e))
            .map(key_of)
            .collect()
    };
    let mut user1 = subscribe(&url, &[("x-user", "1")]).await;
    assert_eq!(
        keys(&user1.until(is_snapshot_end).await),
        ["mine", "public"]
    );
    let mut anon = subscribe(&url, &[]).await;
    assert_eq!(keys(&anon.until(is_snapshot_end).await), ["public"]);

    let state_url = format!("{}/state", server.url);
    let doc = get_state(&state_url, &[("x-user", "1")]).await;
    assert_eq!(state_of_json(&doc).len(), 2);
    assert_eq!(state_of_json(&get_state(&state_url, &[]).await).len(), 1);
    let refused = client()
        .get(&state_url)
        .header("x-user", "9")
        .send()
        .await
        .unwrap();
    assert_eq!(
        refused.status(),
        403,
        "the hook refuses the state route as it does the stream"
    );
}

/// Many publishers while subscribers with `snapshot=true` connect: each
/// subscriber's snapshot ∪ live view ends equal to the hub's final state,
/// and no id arrives twice.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshot_and_live_events_meet_with_no_gap_and_no_duplicate_under_concurrent_publishing() {
    let server = start(hub().replay_capacity(100_000).queue_bound(100_000)).await;
    const PUBLISHERS: usize = 8;
    const EACH: u32 = 300;
    const SUBSCRIBERS: usize = 12;
    let mut publishers = Vec::new();
    for p in 0..PUBLISHERS {
        let h = server.hub.clone();
        publishers.push(tokio::spawn(async move {
            for i in 0..EACH {
                let key = format!("k{}", (i as usize * 7 + p) % 40);
                h.emit(task(&key, i)).await.unwrap();
                if i % 16 == 0 {
                    tokio::task::yield_now().await;
                }
            }
        }));
    }
    let url = format!("{}?snapshot=true&types=jobs.task.progress", server.url);
    let mut subs = Vec::new();
    for _ in 0..SUBSCRIBERS {
        subs.push(subscribe(&url, &[]).await);
        tokio::task::yield_now().await;
    }
    for p in publishers {
        p.await.unwrap();
    }
    let last = server.hub.last_event_id().to_string();
    let expected = state_of_json(
        &serde_json::from_slice(
            &server
                .hub
                .snapshot(&TypeFilter::all(), &Grant::public())
                .to_json(),
        )
        .unwrap(),
    );
    assert_eq!(expected.len(), 40);
    for (n, mut sub) in subs.into_iter().enumerate() {
        let mut seen = Vec::new();
        let (mut got_last, mut got_end) = (false, false);
        while !(got_last && got_end) {
            let e = sub.next().await;
            got_last |= e.id == last && e.event != "continuum.snapshot";
            got_end |= is_snapshot_end(&e);
            seen.push(e);
        }
        let ids: Vec<&str> = seen
            .iter()
            .filter(|e| !is_snapshot_end(e))
            .map(|e| e.id.as_str())
            .collect();
        let unique: HashSet<&str> = ids.iter().copied().collect();
        assert_eq!(
            unique.len(),
            ids.len(),
            "subscriber {n}: an id arrived twice"
        );
        assert_eq!(
            state_of(&seen),
            expected,
            "subscriber {n}: snapshot ∪ live is the hub's state"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_key_nobody_updates_within_its_ttl_is_forgotten() {
    let h = hub().build().unwrap();
    h.emit(task("old", 1)).await.unwrap();
    h.emit(WorkerLoad { worker: 1, load: 1 }).await.unwrap(); // no ttl
    tokio::time::advance(Duration::from_secs(40 * 60)).await;
    h.emit(task("new", 2)).await.unwrap();
    tokio::time::advance(Duration::from_secs(21 * 60)).await;
    // 61 minutes for `old`, 21 for `new`: `old` is gone (ttl = "1h").
    let keys = |h: &Hub| -> Vec<String> {
        h.snapshot(&TypeFilter::all(), &Grant::public())
            .events
            .iter()
            .map(|e| String::from_utf8_lossy(&e.data).into_owned())
            .collect()
    };
    assert_eq!(
        keys(&h),
        [
            r#"{"worker":1,"load":1}"#,
            r#"{"taskId":"new","percent":2}"#
        ]
    );
    // The ticker drops it from memory too (the gauge counts live keys).
    let _stream = h.subscribe_sse(SseOptions::new());
    tokio::task::yield_now().await; // the ticker starts
    assert_eq!(
        h.metrics().keys,
        3,
        "filtered lazily, still held until the sweep"
    );
    tokio::time::advance(Duration::from_secs(26)).await;
    for _ in 0..4 {
        tokio::task::yield_now().await;
    }
    assert_eq!(h.metrics().keys, 2);
    tokio::time::advance(Duration::from_secs(40 * 60)).await;
    assert_eq!(keys(&h), [r#"{"worker":1,"load":1}"#]);
}

#[tokio::test]
async fn forget_drops_a_key_now() {
    let h = hub().build().unwrap();
    h.emit(task("a", 1)).await.unwrap();
    h.emit(task("b", 2)).await.unwrap();
    h.emit(WorkerLoad { worker: 3, load: 0 }).await.unwrap();
    h.forget::<TaskProgress>("a").await.unwrap();
    h.forget::<WorkerLoad>(&3u32).await.unwrap();
    h.forget::<TaskProgress>("never-seen").await.unwrap();
    let stream = h.subscribe_sse(SseOptions::new().snapshot(true));
    let mut es = hub_support::parse(stream);
    hub_support::next_event(&mut es).await; // connected
    let first = hub_support::next_event(&mut es).await;
    assert_eq!(key_of(&first), "b");
    assert_eq!(
        hub_support::next_event(&mut es).await.event,
        "continuum.snapshot"
    );
}

#[tokio::test]
async fn live_keys_are_bounded_per_type_evicting_the_oldest_update_first() {
    let h = hub().max_keys_per_type(3).build().unwrap();
    for k in ["k1", "k2", "k3"] {
        h.emit(task(k, 0)).await.unwrap();
    }
    h.emit(task("k1", 1)).await.unwrap(); // k1 is now the newest update
    h.emit(task("k4", 0)).await.unwrap(); // evicts k2
    h.emit(task("k5", 0)).await.unwrap(); // evicts k3
    h.emit(WorkerLoad { worker: 1, load: 0 }).await.unwrap(); // another type, its own bound
    let keys: Vec<String> = h
        .snapshot(
            &TypeFilter::parse("jobs.task.progress").unwrap(),
            &Grant::public(),
        )
        .events
        .iter()
        .map(|e| {
            serde_json::from_slice::<Value>(&e.data).unwrap()["taskId"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(keys, ["k1", "k4", "k5"]);
    let m = h.metrics();
    assert_eq!((m.keys, m.keys_evicted), (4, 2));
    assert!(m
        .to_prometheus()
        .contains("\ncontinuum_keys_evicted_total 2\n"));
}

/// Read everything a stream holds now (it was not polled meanwhile).
async fn drain(es: &mut hub_support::Events) -> Vec<SseEvent> {
    let mut out = Vec::new();
    while let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(200), es.next()).await {
        out.push(e.expect("well-formed"));
    }
    out
}

#[tokio::test(start_paused = true)]
async fn a_slow_subscriber_behind_on_keyed_events_only_gets_the_latest_per_key_not_a_reset() {
    let h = hub().replay_capacity(32).queue_bound(32).build().unwrap();
    let mut es = hub_support::parse(h.subscribe_sse(SseOptions::new()));
    hub_support::next_event(&mut es).await; // connected
                                            // It stops reading while 1,000 keyed events go by (31 times its bound).
    for i in 0..1000u32 {
        h.emit(task(&format!("k{}", i % 10), i)).await.unwrap();
    }
    // It resumes: no reset, the latest of each key, in id order.
    let got = drain(&mut es).await;
    assert!(
        got.iter().all(|e| !e.event.starts_with("continuum.")),
        "{got:?}"
    );
    assert_eq!(got.len(), 10, "one event per key: {got:?}");
    let expected = state_of_json(
        &serde_json::from_slice(&h.snapshot(&TypeFilter::all(), &Grant::public()).to_json())
            .unwrap(),
    );
    assert_eq!(state_of(&got), expected);
    assert_eq!(h.metrics().subscribers_conflated, 1);
    // And it goes on live.
    let live = h.emit(task("k0", 5000)).await.unwrap();
    assert_eq!(hub_support::next_event(&mut es).await.id, live.to_string());

    // Behind on an unkeyed event too: the reset, as before.
    for i in 0..100u32 {
        h.emit(task("k1", i)).await.unwrap();
        if i == 50 {
            h.emit(TaskLog {
                line: "missed".into(),
            })
            .await
            .unwrap();
        }
    }
    let got = drain(&mut es).await;
    let last = got.last().expect("something");
    assert_eq!(last.event, "continuum.reset");
    assert!(last.data.contains("lagged"));
}

#[tokio::test(start_paused = true)]
async fn an_unkeyed_event_the_subscriber_does_not_see_does_not_prevent_conflation() {
    // Everything is still in the ring (replay 1,000), past the lag bound (16).
    let h = hub().replay_capacity(1000).queue_bound(16).build().unwrap();
    let opts = SseOptions::new().types(TypeFilter::parse("jobs.task.progress").unwrap());
    let mut es = hub_support::parse(h.subscribe_sse(opts));
    hub_support::next_event(&mut es).await;
    for i in 0..10u32 {
        h.emit(task("a", i)).await.unwrap();
    }
    // Another type's log lines, which this subscriber does not ask for.
    for i in 0..10u32 {
        h.emit(task("b", i)).await.unwrap();
        h.emit(TaskLog {
            line: format!("{i}"),
        })
        .await
        .unwrap();
    }
    let got = drain(&mut es).await;
    let percents: Vec<(String, u64)> = got
        .iter()
        .map(|e| {
            (
                key_of(e),
                http_support::envelope(e)["data"]["percent"]
                    .as_u64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(percents, [("a".to_owned(), 9), ("b".to_owned(), 9)]);
}
