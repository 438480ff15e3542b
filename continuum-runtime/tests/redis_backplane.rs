//! Several hubs ("nodes") over one real `redis-server` (feature `redis`):
//! one order and the same ids on every node, replay on any node, idempotency
//! and batches across nodes, channels, Redis killed and restarted empty, and
//! retention. Each test starts its own `redis-server` on a free port.
#![cfg(feature = "redis")]

mod http_support;
mod hub_support;
mod redis_support;

use std::collections::HashMap;
use std::time::{Duration, Instant};

use continuum_runtime::hub::{Grant, SseOptions};
use continuum_runtime::{Hub, HubBuilder};
use http_support::*;
use hub_support::{next_chunk, parse, Events};
use redis_support::Redis;
use serde_json::Value;

fn node(redis: &Redis) -> HubBuilder {
    Hub::builder().redis(redis.url())
}

async fn ready(hub: &Hub) {
    guarded("backplane ready", hub.backplane_ready()).await;
}

/// The next decoded event of an in-process subscription.
async fn next(es: &mut Events) -> eventsource_stream::Event {
    use futures_util::StreamExt;
    match guarded("next event", es.next()).await {
        Some(Ok(e)) => e,
        other => panic!("stream: {other:?}"),
    }
}

fn data(e: &eventsource_stream::Event) -> Value {
    serde_json::from_str::<Value>(&e.data).expect("JSON")["data"].clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_nodes_deliver_one_order_with_the_same_ids_under_concurrent_publishers() {
    let Some(redis) = Redis::start("three_nodes_…") else {
        return;
    };
    let mut hubs = Vec::new();
    for _ in 0..3 {
        let hub = node(&redis).build().unwrap();
        ready(&hub).await;
        hubs.push(hub);
    }
    assert!(
        hubs.iter().all(|h| h.epoch() == hubs[0].epoch()),
        "one epoch: the stream's"
    );
    let mut subs: Vec<Events> = hubs
        .iter()
        .map(|h| parse(h.subscribe_sse(SseOptions::new())))
        .collect();
    for s in &mut subs {
        assert_eq!(next(s).await.event, "continuum.connected");
    }
    // Three publishers, one per node, at once.
    let per_node = 40;
    let mut tasks = Vec::new();
    for (n, hub) in hubs.iter().enumerate() {
        let hub = hub.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..per_node {
                let text = format!("{n}:{i}");
                ids.push(hub.emit(Note { text }).await.expect("published"));
            }
            ids
        }));
    }
    let mut acked = HashMap::new();
    for (n, t) in tasks.into_iter().enumerate() {
        for (i, id) in t.await.unwrap().into_iter().enumerate() {
            acked.insert(id.to_string(), format!("{n}:{i}"));
        }
    }
    let mut seen = Vec::new();
    for s in &mut subs {
        let mut order = Vec::new();
        for _ in 0..3 * per_node {
            let e = next(s).await;
            assert_eq!(e.event, "app.note");
            order.push((e.id.clone(), data(&e)["text"].as_str().unwrap().to_owned()));
        }
        seen.push(order);
    }
    assert_eq!(
        seen[0], seen[1],
        "node A and B deliver the same order and ids"
    );
    assert_eq!(
        seen[0], seen[2],
        "node A and C deliver the same order and ids"
    );
    // Every acknowledged id is the one every node delivered, for that event.
    for (id, text) in &seen[0] {
        assert_eq!(acked.get(id), Some(text), "ack and delivery agree on {id}");
    }
    // Ids increase, and each publisher's events keep its order.
    let parsed: Vec<_> = seen[0]
        .iter()
        .map(|(id, _)| continuum_runtime::id::EventId::parse(id).unwrap())
        .collect();
    assert!(parsed.windows(2).all(|w| w[0] < w[1]));
    for n in 0..3 {
        let mine: Vec<usize> = seen[0]
            .iter()
            .filter_map(|(_, t)| t.strip_prefix(&format!("{n}:")).map(|i| i.parse().unwrap()))
            .collect();
        assert_eq!(mine, (0..per_node).collect::<Vec<_>>());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_from_one_node_replays_on_another_by_header_and_query() {
    let Some(redis) = Redis::start("replay_on_another_node") else {
        return;
    };
    let a = start(node(&redis)).await;
    let b = start(node(&redis)).await;
    ready(&a.hub).await;
    ready(&b.hub).await;
    let mut ids = Vec::new();
    for i in 1..=3 {
        let body = format!(r#"{{"type": "app.note", "data": {{"text": "n{i}"}}}}"#);
        let answer = post(&a.url, &body, &[]).await;
        assert_eq!(answer.status, 202, "{:?}", answer.json);
        ids.push(answer.json["id"].as_str().unwrap().to_owned());
    }
    let texts = |events: Vec<eventsource_stream::Event>| -> Vec<(String, String)> {
        events
            .iter()
            .map(|e| {
                (
                    e.id.clone(),
                    envelope(e)["data"]["text"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    let want = vec![
        (ids[1].clone(), "n2".to_owned()),
        (ids[2].clone(), "n3".to_owned()),
    ];
    let mut by_header = subscribe(&b.url, &[("last-event-id", &ids[0])]).await;
    assert_eq!(
        texts(vec![by_header.next().await, by_header.next().await]),
        want
    );
    let mut by_query = subscribe(&format!("{}?lastEventId={}", b.url, ids[0]), &[]).await;
    assert_eq!(
        texts(vec![by_query.next().await, by_query.next().await]),
        want
    );
    // Nothing was missed, so no reset: the next frame is the next event.
    post(
        &a.url,
        r#"{"type": "app.note", "data": {"text": "n4"}}"#,
        &[],
    )
    .await;
    assert_eq!(envelope(&by_header.next().await)["data"]["text"], "n4");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_node_replays_from_the_stream() {
    let Some(redis) = Redis::start("restarted_node_replays") else {
        return;
    };
    let a = node(&redis).build().unwrap();
    ready(&a).await;
    let mut ids = Vec::new();
    for i in 0..5 {
        ids.push(
            a.emit(Note {
                text: format!("n{i}"),
            })
            .await
            .unwrap(),
        );
    }
    // Node B starts after those events (as a replica restarting would).
    let b = node(&redis).build().unwrap();
    ready(&b).await;
    let mut es = parse(b.subscribe_sse(SseOptions::new().last_event_id(ids[1].to_string())));
    assert_eq!(next(&mut es).await.event, "continuum.connected");
    for (i, id) in ids.iter().enumerate().skip(2) {
        let e = next(&mut es).await;
        assert_eq!(
            (e.id.clone(), data(&e)["text"].clone()),
            (id.to_string(), Value::from(format!("n{i}")))
        );
    }
    let live = a
        .emit(Note {
            text: "live".into(),
        })
        .await
        .unwrap();
    let e = next(&mut es).await;
    assert_eq!(e.id, live.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idempotency_key_retried_on_another_node_publishes_once() {
    let Some(redis) = Redis::start("idempotency_across_nodes") else {
        return;
    };
    let a = start(node(&redis)).await;
    let b = start(node(&redis)).await;
    let c = start(node(&redis)).await;
    for s in [&a, &b, &c] {
        ready(&s.hub).await;
    }
    let mut watcher = subscribe(&c.url, &[]).await;
    let body = r#"[{"type": "app.note", "data": {"text": "once-1"}}, {"type": "app.note", "data": {"text": "once-2"}}]"#;
    let first = post(&a.url, body, &[("idempotency-key", "order-77")]).await;
    assert_eq!(first.status, 202, "{:?}", first.json);
    assert!(first.headers.get("idempotent-replayed").is_none());
    let retry = post(&b.url, body, &[("idempotency-key", "order-77")]).await;
    assert_eq!(retry.status, 202, "{:?}", retry.json);
    assert_eq!(
        retry.json["ids"], first.json["ids"],
        "the retry gets the first ids"
    );
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    post(
        &b.url,
        r#"{"type": "app.note", "data": {"text": "after"}}"#,
        &[],
    )
    .await;
    let got: Vec<String> = watcher
        .until(|e| envelope(e)["data"]["text"] == "after")
        .await
        .iter()
        .map(|e| envelope(e)["data"]["text"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        got,
        ["once-1", "once-2", "after"],
        "published once, on every node"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batches_stay_whole_and_in_order_on_every_node() {
    let Some(redis) = Redis::start("batches_in_order") else {
        return;
    };
    let a = start(node(&redis)).await;
    let b = start(node(&redis)).await;
    ready(&a.hub).await;
    ready(&b.hub).await;
    let mut on_a = subscribe(&a.url, &[]).await;
    let mut on_b = subscribe(&b.url, &[]).await;
    let batches = 8;
    let size = 10;
    let mut posts = Vec::new();
    for k in 0..batches {
        let url = if k % 2 == 0 {
            a.url.clone()
        } else {
            b.url.clone()
        };
        posts.push(tokio::spawn(async move {
            let envelopes: Vec<String> = (0..size)
                .map(|i| format!(r#"{{"type": "app.note", "data": {{"text": "{k}.{i}"}}}}"#))
                .collect();
            let answer = post(&url, &format!("[{}]", envelopes.join(",")), &[]).await;
            assert_eq!(answer.status, 202, "{:?}", answer.json);
        }));
    }
    for p in posts {
        p.await.unwrap();
    }
    for sub in [&mut on_a, &mut on_b] {
        let mut texts = Vec::new();
        for _ in 0..batches * size {
            texts.push(
                envelope(&sub.next().await)["data"]["text"]
                    .as_str()
                    .unwrap()
                    .to_owned(),
            );
        }
        // Each batch is contiguous and in order: no other event inside it.
        for chunk in texts.chunks(size) {
            let k = chunk[0].split('.').next().unwrap();
            let want: Vec<String> = (0..size).map(|i| format!("{k}.{i}")).collect();
            assert_eq!(chunk, want, "batch {k} whole and in order");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn channels_are_respected_on_every_node() {
    let Some(redis) = Redis::start("channels_on_every_node") else {
        return;
    };
    let a = node(&redis).build().unwrap();
    let b = node(&redis).build().unwrap();
    ready(&a).await;
    ready(&b).await;
    let mut granted =
        parse(b.subscribe_sse(SseOptions::new().grant(Grant::public().with_channel("user:1"))));
    let mut public = parse(b.subscribe_sse(SseOptions::new()));
    assert_eq!(next(&mut granted).await.event, "continuum.connected");
    assert_eq!(next(&mut public).await.event, "continuum.connected");
    a.emit_to(
        "user:1",
        Note {
            text: "private".into(),
        },
    )
    .await
    .unwrap();
    a.emit_to(
        "user:2",
        Note {
            text: "other".into(),
        },
    )
    .await
    .unwrap();
    a.emit(Note {
        text: "public".into(),
    })
    .await
    .unwrap();
    assert_eq!(data(&next(&mut granted).await)["text"], "private");
    assert_eq!(data(&next(&mut granted).await)["text"], "public");
    assert_eq!(
        data(&next(&mut public).await)["text"],
        "public",
        "no channel event reached it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_then_restarted_empty_gives_503_keeps_subscribers_then_resets() {
    let Some(mut redis) = Redis::start("redis_killed_and_restarted") else {
        return;
    };
    let a = start(node(&redis)).await;
    let b = node(&redis)
        .heartbeat(Duration::from_millis(200))
        .build()
        .unwrap();
    ready(&a.hub).await;
    ready(&b).await;
    let mut stream = b.subscribe_sse(SseOptions::new());
    let mut es_bytes = Vec::new();
    // Handshake, then one event.
    es_bytes.extend_from_slice(&next_chunk(&mut stream).await.unwrap());
    let before = post(
        &a.url,
        r#"{"type": "app.note", "data": {"text": "before"}}"#,
        &[],
    )
    .await;
    assert_eq!(before.status, 202);
    let old_epoch = b.epoch();
    let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    loop {
        es_bytes.extend_from_slice(&guarded("event", next_chunk(&mut stream)).await.unwrap());
        if text(&es_bytes).contains("before") {
            break;
        }
    }

    redis.kill();
    // Ingest answers 503 at once (never hangs), with retry-after.
    let mut refused = None;
    for _ in 0..50 {
        let t = Instant::now();
        let answer = post(
            &a.url,
            r#"{"type": "app.note", "data": {"text": "while down"}}"#,
            &[],
        )
        .await;
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "answered in {:?}",
            t.elapsed()
        );
        if answer.status == 503 {
            refused = Some(answer);
            break;
        }
        assert_eq!(answer.status, 202, "{:?}", answer.json);
    }
    let refused = refused.expect("a 503 once redis is gone");
    assert_eq!(error_code(&refused, 503), "backplane_unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    let err = a.hub.emit(Note { text: "x".into() }).await.unwrap_err();
    assert!(
        matches!(&err, continuum_runtime::EmitError::Backplane(e) if e.is_unavailable()),
        "{err}"
    );
    // The subscriber on B stays connected: heartbeats keep coming.
    let mut beats = 0;
    let mut tail = Vec::new();
    while beats < 2 {
        let chunk = guarded("heartbeat while redis is down", next_chunk(&mut stream))
            .await
            .expect("stream still open");
        beats += usize::from(&chunk[..] == b":\n\n");
        tail.extend_from_slice(&chunk);
    }
    assert!(!b.backplane_is_up());

    redis.restart_empty();
    ready(&a.hub).await;
    ready(&b).await;
    let after = post(
        &a.url,
        r#"{"type": "app.note", "data": {"text": "after"}}"#,
        &[],
    )
    .await;
    assert_eq!(after.status, 202, "{:?}", after.json);
    assert_ne!(b.epoch(), old_epoch, "a new stream, a new epoch");
    loop {
        tail.extend_from_slice(
            &guarded("reset then the new event", next_chunk(&mut stream))
                .await
                .unwrap(),
        );
        if text(&tail).contains("after") {
            break;
        }
    }
    let tail = text(&tail);
    let reset = tail
        .find("event: continuum.reset\ndata: {\"reason\":\"stream_lost\"}")
        .expect("a stream_lost reset");
    let after_at = tail.find("\"after\"").unwrap();
    assert!(
        reset < after_at,
        "the reset comes before events of the new epoch: {tail}"
    );
    assert!(
        !tail.contains("while down"),
        "nothing refused was published"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_id_older_than_the_retention_gets_evicted_on_any_node() {
    let Some(redis) = Redis::start("retention_eviction") else {
        return;
    };
    let a = node(&redis).redis_retention(10).build().unwrap();
    ready(&a).await;
    let first = a
        .emit(Note {
            text: "first".into(),
        })
        .await
        .unwrap();
    for k in 0..10 {
        a.emit_batch((0..100).map(|i| Note {
            text: format!("{k}.{i}"),
        }))
        .await
        .unwrap();
    }
    let recent = a
        .emit(Note {
            text: "recent".into(),
        })
        .await
        .unwrap();
    let last = a
        .emit(Note {
            text: "last".into(),
        })
        .await
        .unwrap();
    // A node that starts now holds what the stream kept.
    let b = node(&redis).replay_capacity(4096).build().unwrap();
    ready(&b).await;
    let mut old = parse(b.subscribe_sse(SseOptions::new().last_event_id(first.to_string())));
    assert_eq!(next(&mut old).await.event, "continuum.connected");
    let reset = next(&mut old).await;
    assert_eq!(reset.event, "continuum.reset");
    assert_eq!(
        serde_json::from_str::<Value>(&reset.data).unwrap()["reason"],
        "evicted"
    );
    let mut fresh = parse(b.subscribe_sse(SseOptions::new().last_event_id(recent.to_string())));
    assert_eq!(next(&mut fresh).await.event, "continuum.connected");
    assert_eq!(
        next(&mut fresh).await.id,
        last.to_string(),
        "a recent id replays"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_trimmed_before_a_node_read_them_reset_its_subscribers() {
    let Some(redis) = Redis::start("trimmed_unread") else {
        return;
    };
    let a = node(&redis).redis_retention(10).build().unwrap();
    let b = node(&redis).redis_retention(10).build().unwrap();
    ready(&a).await;
    ready(&b).await;
    let mut es = parse(b.subscribe_sse(SseOptions::new()));
    assert_eq!(next(&mut es).await.event, "continuum.connected");
    // One batch is one script: B cannot read between its XADDs, and by the
    // time it reads, the stream has trimmed all but the newest entries.
    let ids = a
        .emit_batch((0..2000).map(|i| Note {
            text: format!("{i}"),
        }))
        .await
        .unwrap();
    let first = next(&mut es).await;
    assert_eq!(
        first.event, "continuum.reset",
        "the gap is announced first: {first:?}"
    );
    assert_eq!(
        serde_json::from_str::<Value>(&first.data).unwrap()["reason"],
        "evicted"
    );
    // Then what the stream still held, ending with the batch's last event.
    let mut last = next(&mut es).await;
    let mut kept = 1;
    while last.id != ids[1999].to_string() {
        last = next(&mut es).await;
        kept += 1;
    }
    assert!(
        kept < 2000,
        "entries were trimmed before B read them ({kept} kept)"
    );
    // A reconnect with the reset's id replays nothing missing: it is current.
    let mut again = parse(b.subscribe_sse(SseOptions::new().last_event_id(first.id.clone())));
    assert_eq!(next(&mut again).await.event, "continuum.connected");
    assert_eq!(
        next(&mut again).await.event,
        "app.note",
        "replays the kept entries, no reset"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn emits_keep_call_order_whether_or_not_they_are_awaited() {
    let Some(redis) = Redis::start("emit_order") else {
        return;
    };
    let a = node(&redis).build().unwrap();
    let b = node(&redis).build().unwrap();
    ready(&a).await;
    ready(&b).await;
    let mut es = parse(b.subscribe_sse(SseOptions::new()));
    assert_eq!(next(&mut es).await.event, "continuum.connected");
    // Fire and forget: published all the same, in call order (several
    // pipelines are in flight at once here).
    for i in 0..500 {
        drop(a.emit(Note {
            text: i.to_string(),
        }));
    }
    let last = a
        .emit(Note {
            text: "last".into(),
        })
        .await
        .unwrap();
    for i in 0..500 {
        assert_eq!(data(&next(&mut es).await)["text"], i.to_string());
    }
    let e = next(&mut es).await;
    assert_eq!(
        (e.id.clone(), data(&e)["text"].clone()),
        (last.to_string(), Value::from("last"))
    );
}
