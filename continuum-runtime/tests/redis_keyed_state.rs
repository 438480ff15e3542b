//! Keyed state over one real `redis-server` (feature `redis`): every node
//! serves the same snapshot (publishes and forgets from any node), a node
//! that starts later (or restarts) loads the state at its stream position
//! even for keys older than the stream's retention, and a lost stream drops
//! the state with it. Each test starts its own `redis-server`.
#![cfg(feature = "redis")]

mod http_support;
mod hub_support;
mod keyed_support;
mod redis_support;

use std::collections::BTreeMap;
use std::time::Duration;

use continuum_runtime::backplane::RedisOptions;
use continuum_runtime::hub::{Grant, SseOptions, TypeFilter};
use continuum_runtime::{Hub, HubBuilder};
use http_support::guarded;
use hub_support::{parse, Events};
use keyed_support::{state_of, state_of_json, task, TaskLog, TaskProgress, WorkerLoad};
use redis_support::Redis;
use serde_json::Value;

fn node(redis: &Redis) -> HubBuilder {
    // A short idle block: a lost stream is noticed quickly.
    Hub::builder().redis_options(RedisOptions::new(redis.url()).block(Duration::from_millis(100)))
}

async fn ready(hub: &Hub) {
    guarded("backplane ready", hub.backplane_ready()).await;
}

async fn next(es: &mut Events) -> eventsource_stream::Event {
    use futures_util::StreamExt;
    match guarded("next event", es.next()).await {
        Some(Ok(e)) => e,
        other => panic!("stream: {other:?}"),
    }
}

/// Read `es` until the event with id `last` (the signal that the node's
/// reader delivered everything up to it).
async fn until_id(es: &mut Events, last: &str) -> Vec<eventsource_stream::Event> {
    let mut seen = Vec::new();
    loop {
        let e = next(es).await;
        let done = e.id == last && !e.event.starts_with("continuum.");
        seen.push(e);
        if done {
            return seen;
        }
    }
}

fn snapshot_json(hub: &Hub, grant: &Grant) -> Value {
    serde_json::from_slice(&hub.snapshot(&TypeFilter::all(), grant).to_json()).unwrap()
}

fn state(hub: &Hub) -> BTreeMap<(String, String), (String, Value)> {
    state_of_json(&snapshot_json(hub, &Grant::all_channels()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_serve_identical_snapshots_of_publishes_and_forgets_from_any_node() {
    let Some(redis) = Redis::start("three_nodes_identical_snapshots") else {
        return;
    };
    let mut hubs = Vec::new();
    let mut subs = Vec::new();
    for _ in 0..3 {
        let hub = node(&redis).build().unwrap();
        ready(&hub).await;
        let mut es = parse(hub.subscribe_sse(SseOptions::new().grant(Grant::all_channels())));
        assert_eq!(next(&mut es).await.event, "continuum.connected");
        subs.push(es);
        hubs.push(hub);
    }
    let mut tasks = Vec::new();
    for (n, hub) in hubs.iter().enumerate() {
        let hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            for i in 0..60u32 {
                let key = format!("t{}", (i as usize + n) % 12);
                if i % 10 == 3 {
                    hub.emit_to("user:1", task(&key, i)).await.unwrap();
                } else {
                    hub.emit(task(&key, i)).await.unwrap();
                }
                if i % 20 == 0 {
                    hub.emit(TaskLog {
                        line: format!("{n}:{i}"),
                    })
                    .await
                    .unwrap();
                    hub.emit(WorkerLoad {
                        worker: n as u32,
                        load: i,
                    })
                    .await
                    .unwrap();
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    // A forget from one node, then one more event from another: in order on every node.
    hubs[1].forget::<TaskProgress>("t0").await.unwrap();
    hubs[2].forget::<WorkerLoad>(&1u32).await.unwrap();
    hubs[2].emit_to("user:1", task("t5", 2000)).await.unwrap();
    let last = hubs[0].emit(task("t1", 1000)).await.unwrap().to_string();
    let mut views = Vec::new();
    for es in &mut subs {
        views.push(until_id(es, &last).await);
    }
    let expected = {
        let mut s = state_of(&views[0]);
        s.remove(&("jobs.task.progress".into(), "t0".into()));
        s.remove(&("jobs.worker.load".into(), "1".into()));
        s
    };
    assert_eq!(expected.len(), 11 + 2);
    let docs: Vec<Value> = hubs
        .iter()
        .map(|h| snapshot_json(h, &Grant::all_channels()))
        .collect();
    assert_eq!(
        state_of_json(&docs[0]),
        expected,
        "node A's snapshot is the stream's state"
    );
    assert_eq!(docs[0], docs[1], "node B's snapshot is node A's");
    assert_eq!(docs[0], docs[2], "node C's snapshot is node A's");
    // Channels apply on every node.
    let public: Vec<Value> = hubs
        .iter()
        .map(|h| snapshot_json(h, &Grant::public()))
        .collect();
    assert!(public[0]["events"].as_array().unwrap().len() < expected.len());
    assert_eq!(public[0], public[2]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_starts_later_or_restarts_loads_the_state_at_its_stream_position() {
    let Some(redis) = Redis::start("late_node_loads_state") else {
        return;
    };
    // The stream keeps ~50 entries and nodes replay 8: most keys' latest
    // events are older than both, so the state must come from Redis.
    let builder = || {
        node(&redis)
            .redis_retention(50)
            .replay_capacity(8)
            .queue_bound(8)
    };
    let a = builder().build().unwrap();
    ready(&a).await;
    for i in 0..400u32 {
        a.emit(task(&format!("k{}", i % 40), i)).await.unwrap();
        if i % 50 == 0 {
            a.emit(WorkerLoad { worker: i, load: i }).await.unwrap();
        }
    }
    let mut es = parse(a.subscribe_sse(SseOptions::new()));
    assert_eq!(next(&mut es).await.event, "continuum.connected");
    let last = a.emit(task("k0", 9999)).await.unwrap().to_string();
    until_id(&mut es, &last).await;
    let expected = state(&a);
    assert_eq!(expected.len(), 40 + 8);

    let b = builder().build().unwrap();
    ready(&b).await;
    assert_eq!(
        state(&b),
        expected,
        "a node joining later serves the same state"
    );
    // A subscriber with a snapshot on the new node: the same, then live.
    let mut sub = parse(b.subscribe_sse(SseOptions::new().snapshot(true)));
    assert_eq!(next(&mut sub).await.event, "continuum.connected");
    let mut snap = Vec::new();
    loop {
        let e = next(&mut sub).await;
        if e.event == "continuum.snapshot" {
            break;
        }
        snap.push(e);
    }
    assert_eq!(state_of(&snap), expected);
    let live = a.emit(task("k1", 10_000)).await.unwrap().to_string();
    let e = next(&mut sub).await;
    assert_eq!(e.id, live, "live events follow the snapshot with no gap");

    // Node A restarts (a new hub on the same stream).
    let after = state(&b);
    drop(a);
    let a2 = builder().build().unwrap();
    ready(&a2).await;
    // Its state is loaded before it is ready: the stream's, B's.
    assert_eq!(state(&a2), after);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_stream_drops_the_state_with_it() {
    let Some(redis) = Redis::start("lost_stream_drops_state") else {
        return;
    };
    let a = node(&redis).build().unwrap();
    ready(&a).await;
    let mut es = parse(a.subscribe_sse(SseOptions::new()));
    assert_eq!(next(&mut es).await.event, "continuum.connected");
    for i in 0..5u32 {
        a.emit(task(&format!("k{i}"), i)).await.unwrap();
    }
    let last = a
        .emit(WorkerLoad { worker: 1, load: 1 })
        .await
        .unwrap()
        .to_string();
    until_id(&mut es, &last).await;
    assert_eq!(state(&a).len(), 6);

    // The stream goes (its state hashes stay behind in Redis).
    let out = std::process::Command::new("redis-cli")
        .args(["-p", &redis.port.to_string(), "DEL", "continuum:events"])
        .output()
        .expect("redis-cli");
    assert!(out.status.success());
    let reset = loop {
        let e = next(&mut es).await;
        if e.event == "continuum.reset" {
            break e;
        }
    };
    assert!(reset.data.contains("stream_lost"), "{reset:?}");
    assert!(state(&a).is_empty(), "no snapshot from another epoch");

    // Nor on a node that starts now, and new events start a new state.
    let b = node(&redis).build().unwrap();
    ready(&b).await;
    assert!(state(&b).is_empty());
    let fresh = b.emit(task("new", 1)).await.unwrap().to_string();
    until_id(&mut es, &fresh).await;
    let keys: Vec<String> = state(&a).into_keys().map(|(_, k)| k).collect();
    assert_eq!(keys, ["new"]);
    let c = node(&redis).build().unwrap();
    ready(&c).await;
    assert_eq!(state(&c), state(&a));
}
