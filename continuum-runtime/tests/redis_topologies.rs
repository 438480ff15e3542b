//! Two hubs ("nodes"), each with its own backplane and served over real TCP,
//! on production Redis topologies started by the tests (feature `redis`): a
//! 3-primary Redis Cluster and a Sentinel-watched primary with a replica.
//! Cross-node delivery with the same id, replay by `Last-Event-ID` on the
//! other node, idempotency across nodes; on the cluster every key of the
//! stream in one slot and a resharding (`MOVED`) followed; through Sentinel
//! the primary killed mid-publish (`SIGKILL`): the failover is followed and
//! what it lost is a `continuum.reset`, never a silent gap; `WAIT`.
#![cfg(feature = "redis")]

mod http_support;
mod redis_support;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum_runtime::id::EventId;
use continuum_runtime::{BuildError, Hub, HubBuilder};
use eventsource_stream::Event as SseEvent;
use http_support::*;
use redis_support::{Cluster, Sentinels};

async fn ready(hub: &Hub) {
    guarded("backplane ready", hub.backplane_ready()).await;
}

fn note(text: &str) -> String {
    format!(r#"{{"type": "app.note", "data": {{"text": "{text}"}}}}"#)
}

fn text(e: &SseEvent) -> String {
    envelope(e)["data"]["text"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// POST until it is accepted (a topology change answers `503` for a
/// moment); the accepted answer's id. Fails the test after `within`.
async fn post_until_accepted(url: &str, body: &str, within: Duration) -> (String, usize) {
    let deadline = Instant::now() + within;
    let mut refused = 0;
    loop {
        let answer = post(url, body, &[]).await;
        if answer.status == 202 {
            return (answer.json["id"].as_str().unwrap().to_owned(), refused);
        }
        assert_eq!(
            error_code(&answer, 503),
            "backplane_unavailable",
            "{:?}",
            answer.json
        );
        refused += 1;
        assert!(
            Instant::now() < deadline,
            "not accepted within {within:?}: {:?}",
            answer.json
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Two nodes on one stream: a POST on A reaches a subscriber on B with the
/// same id, B replays it by `Last-Event-ID`, and an `Idempotency-Key`
/// retried on B publishes once.
async fn two_nodes_act_as_one(node: impl Fn() -> HubBuilder) -> (TestServer, TestServer) {
    let a = start(node()).await;
    let b = start(node()).await;
    ready(&a.hub).await;
    ready(&b.hub).await;
    assert_eq!(a.hub.epoch(), b.hub.epoch(), "one epoch: the stream's");
    let mut on_b = subscribe(&b.url, &[]).await;
    let mut ids = Vec::new();
    for i in 1..=3 {
        let answer = post(&a.url, &note(&format!("n{i}")), &[]).await;
        assert_eq!(answer.status, 202, "{:?}", answer.json);
        ids.push(answer.json["id"].as_str().unwrap().to_owned());
    }
    for (i, id) in ids.iter().enumerate() {
        let e = on_b.next().await;
        assert_eq!(
            (e.id.as_str(), text(&e)),
            (id.as_str(), format!("n{}", i + 1)),
            "delivered on B with A's id"
        );
    }
    let mut replay = subscribe(&b.url, &[("last-event-id", &ids[0])]).await;
    for id in &ids[1..] {
        assert_eq!(&replay.next().await.id, id, "replayed on B after ids[0]");
    }

    let batch = format!("[{}, {}]", note("once-1"), note("once-2"));
    let first = post(&a.url, &batch, &[("idempotency-key", "order-7")]).await;
    assert_eq!(first.status, 202, "{:?}", first.json);
    let retry = post(&b.url, &batch, &[("idempotency-key", "order-7")]).await;
    assert_eq!(retry.status, 202, "{:?}", retry.json);
    assert_eq!(
        retry.json["ids"], first.json["ids"],
        "the retry gets the first ids"
    );
    assert_eq!(retry.headers["idempotent-replayed"], "true");
    post(&b.url, &note("after-once"), &[]).await;
    let got: Vec<String> = on_b
        .until(|e| text(e) == "after-once")
        .await
        .iter()
        .map(text)
        .collect();
    assert_eq!(got, ["once-1", "once-2", "after-once"], "published once");
    (a, b)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_two_nodes_act_as_one_with_every_key_in_one_slot() {
    let Some(cluster) = Cluster::start("cluster_two_nodes_act_as_one") else {
        return;
    };
    let urls = cluster.urls();
    let (_a, _b) = two_nodes_act_as_one(|| Hub::builder().redis_cluster(&urls)).await;
    // The stream, its epoch, counter and idempotency key: one slot, one node.
    let mut keys = Vec::new();
    for n in &cluster.nodes {
        let found = redis_support::cli(n.port, &["KEYS", "*"]);
        keys.extend(
            found
                .lines()
                .filter(|k| !k.is_empty())
                .map(|k| (k.to_owned(), n.port)),
        );
    }
    let names: HashSet<&str> = keys.iter().map(|(k, _)| k.as_str()).collect();
    for want in [
        "{continuum:events}",
        "{continuum:events}:epoch",
        "{continuum:events}:count",
        "{continuum:events}:idem:order-7",
    ] {
        assert!(names.contains(want), "{want} in {names:?}");
    }
    let slot = cluster.slot("{continuum:events}");
    for (k, port) in &keys {
        assert_eq!(cluster.slot(k), slot, "{k} in the stream's slot");
        assert_eq!(*port, keys[0].1, "{k} on the stream's node");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_follows_the_stream_when_its_slot_moves_to_another_node() {
    let Some(cluster) = Cluster::start("cluster_follows_a_moved_slot") else {
        return;
    };
    let urls = cluster.urls();
    let node = || {
        Hub::builder()
            .redis_cluster(&urls)
            .redis_stream("{app}:events")
    };
    let a = start(node()).await;
    let b = start(node()).await;
    ready(&a.hub).await;
    ready(&b.hub).await;
    let mut on_b = subscribe(&b.url, &[]).await;
    let (before, _) = post_until_accepted(&a.url, &note("before"), Duration::from_secs(5)).await;
    assert_eq!(on_b.next().await.id, before);

    let slot = cluster.slot("{app}:events");
    let from = cluster.owner(slot);
    let to = (from + 1) % cluster.nodes.len();
    cluster.move_slot(slot, from, to);
    assert_eq!(cluster.owner(slot), to);

    // Both nodes' connections still point at the old owner: MOVED.
    let (moved, _) = post_until_accepted(&a.url, &note("moved"), Duration::from_secs(10)).await;
    let (moved_b, _) = post_until_accepted(&b.url, &note("moved-b"), Duration::from_secs(10)).await;
    let e = on_b.next().await;
    assert_eq!(
        (e.id.as_str(), text(&e).as_str()),
        (moved.as_str(), "moved")
    );
    let e = on_b.next().await;
    assert_eq!(
        (e.id.as_str(), text(&e).as_str()),
        (moved_b.as_str(), "moved-b")
    );
    assert_eq!(
        EventId::parse(&moved).unwrap().epoch(),
        EventId::parse(&before).unwrap().epoch(),
        "the stream moved whole: same epoch, no reset"
    );
    // Replay on A from before the move, served from the new owner's stream.
    let mut replay = subscribe(&a.url, &[("last-event-id", &before)]).await;
    assert_eq!(replay.next().await.id, moved);
    assert_eq!(replay.next().await.id, moved_b);
    assert_eq!(
        redis_support::cli(cluster.nodes[to].port, &["EXISTS", "{app}:events"]).trim(),
        "1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stream_name_that_would_split_slots_is_refused_with_the_fix() {
    // No server is needed: the name is checked before anything connects.
    for builder in [
        Hub::builder().redis_cluster(["redis://127.0.0.1:1", "redis://127.0.0.1:2"]),
        Hub::builder().redis("redis://127.0.0.1:1"),
        Hub::builder().redis("redis+sentinel://127.0.0.1:1/mymaster"),
    ] {
        let err = builder.redis_stream("app{}").build().unwrap_err();
        let BuildError::Backplane(message) = &err else {
            panic!("{err:?}")
        };
        assert!(message.contains("`app{}`"), "{message}");
        assert!(
            message.contains("split across Redis Cluster slots"),
            "{message}"
        );
        assert!(message.contains("such as `{app}`"), "{message}");
    }
    let err = HubBuilder::from_lookup(|k| match k {
        "CONTINUUM_REDIS_URL" => Some("redis://127.0.0.1:1,redis://127.0.0.1:2".into()),
        "CONTINUUM_REDIS_STREAM" => Some("events{".into()),
        _ => None,
    })
    .unwrap_err();
    assert_eq!(err.variable(), "CONTINUUM_REDIS_STREAM");
    assert!(err.to_string().contains("such as `{events}`"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_two_nodes_act_as_one() {
    let Some(sentinels) = Sentinels::start("sentinel_two_nodes_act_as_one") else {
        return;
    };
    let url = sentinels.url();
    two_nodes_act_as_one(|| Hub::builder().redis(&url)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_replicas_answers_202_once_replicas_confirm_and_503_when_they_do_not() {
    let Some(sentinels) = Sentinels::start("wait_replicas") else {
        return;
    };
    let url = sentinels.url();
    let one = start(Hub::builder().redis(&url).redis_wait_replicas(1)).await;
    let two = start(Hub::builder().redis(&url).redis_wait_replicas(2)).await;
    ready(&one.hub).await;
    ready(&two.hub).await;
    let mut watch = subscribe(&one.url, &[]).await;
    let confirmed = post(&one.url, &note("confirmed"), &[]).await;
    assert_eq!(confirmed.status, 202, "{:?}", confirmed.json);
    // The replica has it before the answer: WAIT confirmed it.
    assert_eq!(
        redis_support::cli(sentinels.replica.port, &["XLEN", "continuum:events"]).trim(),
        "1"
    );
    // Only one replica exists: two never confirm.
    let t = Instant::now();
    let refused = post(&two.url, &note("unconfirmed"), &[("idempotency-key", "k1")]).await;
    assert_eq!(error_code(&refused, 503), "backplane_unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    let message = refused.json["message"].as_str().unwrap();
    assert!(message.contains("not confirmed"), "{message}");
    assert!(message.contains("only 1 of 2 redis replicas"), "{message}");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "waited for the replicas"
    );
    // A replica that stops answering: the publish is not confirmed.
    sentinels.replica.signal("STOP");
    let stalled = post(&one.url, &note("stalled"), &[]).await;
    sentinels.replica.signal("CONT");
    assert_eq!(error_code(&stalled, 503), "backplane_unavailable");
    // Unconfirmed is not unpublished (WAIT cannot undo a write): both are
    // delivered, and say so.
    let got: Vec<String> = watch
        .until(|e| text(e) == "stalled")
        .await
        .iter()
        .map(text)
        .collect();
    assert_eq!(got, ["confirmed", "unconfirmed", "stalled"]);
}

/// What a subscriber saw, checked against what was acknowledged: ids only
/// go forward within an epoch, no id names two events, and every
/// acknowledged event is delivered unless a reset follows the last event
/// delivered from its epoch.
fn check_no_silent_gap(events: &[SseEvent], acked: &HashMap<String, String>) {
    let mut texts: HashMap<&str, String> = HashMap::new();
    let mut last: Option<EventId> = None;
    for e in events {
        let id = EventId::parse(&e.id).expect("an id");
        if let Some(prev) = last.filter(|p| p.epoch() == id.epoch()) {
            assert!(
                id.seq() >= prev.seq(),
                "ids go back within an epoch: {prev} then {id}"
            );
        }
        last = Some(id);
        if e.event == "app.note" {
            let old = texts.insert(&e.id, text(e));
            assert!(old.is_none(), "{} delivered twice", e.id);
        }
    }
    for (id, what) in acked {
        if let Some(got) = texts.get(id.as_str()) {
            assert_eq!(got, what, "{id} is the event acknowledged with it");
            continue;
        }
        let epoch = EventId::parse(id).unwrap().epoch();
        let last_of_epoch = events.iter().rposition(|e| {
            e.event == "app.note" && EventId::parse(&e.id).unwrap().epoch() == epoch
        });
        let reset_after = events
            .iter()
            .enumerate()
            .any(|(i, e)| e.event == "continuum.reset" && last_of_epoch.is_none_or(|l| i > l));
        assert!(
            reset_after,
            "{what} ({id}) acknowledged, never delivered, and no reset says so"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sentinel_failover_mid_publish_is_followed_and_what_it_lost_is_a_reset() {
    let Some(mut sentinels) = Sentinels::start("sentinel_failover") else {
        return;
    };
    let url = sentinels.url();
    let a = start(Hub::builder().redis(&url)).await;
    let b = start(Hub::builder().redis(&url)).await;
    ready(&a.hub).await;
    ready(&b.hub).await;
    let mut on_a = subscribe(&a.url, &[]).await;
    let mut on_b = subscribe(&b.url, &[]).await;
    let mut acked = HashMap::new();
    let mut seen_on_b = Vec::new();
    let (before, _) = post_until_accepted(&a.url, &note("before"), Duration::from_secs(5)).await;
    acked.insert(before.clone(), "before".to_owned());
    seen_on_b.push(on_b.next().await);
    assert_eq!(seen_on_b[0].id, before);

    // Replication breaks: what the primary acknowledges now, and both nodes
    // deliver, the replica never gets.
    sentinels.cut_replication();
    let mut lost = Vec::new();
    for i in 0..3 {
        let answer = post(&a.url, &note(&format!("lost-{i}")), &[]).await;
        assert_eq!(answer.status, 202, "{:?}", answer.json);
        let id = answer.json["id"].as_str().unwrap().to_owned();
        acked.insert(id.clone(), format!("lost-{i}"));
        lost.push(id);
    }
    for id in &lost {
        seen_on_b.push(on_b.next().await);
        assert_eq!(
            &seen_on_b.last().unwrap().id,
            id,
            "delivered before the failover"
        );
    }

    // Publishers on both nodes keep going while the primary is killed.
    let running = Arc::new(AtomicBool::new(true));
    let answered = Arc::new(AtomicUsize::new(0));
    let publishers: Vec<_> = [a.url.clone(), b.url.clone()]
        .into_iter()
        .enumerate()
        .map(|(n, url)| {
            let (running, answered) = (running.clone(), answered.clone());
            tokio::spawn(async move {
                let mut acked = Vec::new();
                let mut i = 0;
                while running.load(Ordering::Acquire) {
                    let what = format!("mid-{n}-{i}");
                    let answer = post(&url, &note(&what), &[]).await;
                    if answer.status == 202 {
                        acked.push((answer.json["id"].as_str().unwrap().to_owned(), what));
                    }
                    answered.fetch_add(1, Ordering::AcqRel);
                    i += 1;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
                acked
            })
        })
        .collect();
    // Mid-publish: both publishers are under way.
    while answered.load(Ordering::Acquire) < 4 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let replica_port = sentinels.replica.port;
    let failover = Instant::now();
    sentinels.primary.kill();
    sentinels.restore_replication();

    // Followed: publishing works again once the sentinels promoted the replica.
    let (first_after, refused) =
        post_until_accepted(&b.url, &note("first-after"), Duration::from_secs(40)).await;
    acked.insert(first_after.clone(), "first-after".to_owned());
    eprintln!(
        "failover followed in {:?} ({refused} publishes refused meanwhile)",
        failover.elapsed()
    );
    assert_eq!(
        sentinels.primary_port(),
        Some(replica_port),
        "the replica was promoted"
    );
    running.store(false, Ordering::Release);
    for p in publishers {
        acked.extend(p.await.unwrap());
    }
    let (last, _) = post_until_accepted(&a.url, &note("last"), Duration::from_secs(10)).await;
    acked.insert(last.clone(), "last".to_owned());
    assert_ne!(
        EventId::parse(&last).unwrap().epoch(),
        EventId::parse(&lost[0]).unwrap().epoch(),
        "what the failover lost ended the epoch: ids of the new primary never meet the old ones"
    );

    for (node, sub, mut events) in [("A", &mut on_a, Vec::new()), ("B", &mut on_b, seen_on_b)] {
        events.extend(sub.until(|e| e.id == last).await);
        let reset = events
            .iter()
            .position(|e| e.event == "continuum.reset")
            .unwrap_or_else(|| panic!("node {node}: no reset after the loss"));
        assert_eq!(
            envelope(&events[reset])["reason"],
            "stream_lost",
            "node {node}"
        );
        check_no_silent_gap(&events, &acked);
    }
    // A browser holding a lost id learns it missed something, on either node.
    for url in [&a.url, &b.url] {
        let mut late = subscribe(url, &[("last-event-id", &lost[2])]).await;
        let e = late.next().await;
        assert_eq!(e.event, "continuum.reset", "{e:?}");
    }
}
