//! The hub's SSE subscriptions: handshake, replay, resets, filters, channels,
//! lag cut-off, heartbeats and framing, decoded by an independent SSE parser.

mod hub_support;

use std::time::Duration;

use continuum_runtime::hub::{Grant, SseOptions, TypeFilter};
use continuum_runtime::{EventId, Hub};
use hub_support::*;

fn hub_with(replay: usize, bound: usize) -> Hub {
    Hub::builder()
        .replay_capacity(replay)
        .queue_bound(bound)
        .build()
        .unwrap()
}

#[tokio::test(start_paused = true)]
async fn handshake_then_live_events() {
    let hub = hub_with(16, 16);
    let before = hub.emit(note(0)).await.unwrap();
    let mut es = parse(hub.subscribe_sse(SseOptions::new()));
    let hello = next_event(&mut es).await;
    assert_eq!(hello.event, "continuum.connected");
    let body = json(&hello);
    assert!(body["connectionId"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(body["epoch"], hub.epoch().to_string());
    // A fresh client is handed the newest id, so a reconnect replays what it missed.
    assert_eq!(hello.id, before.to_string());
    let retry = hello.retry.expect("retry hint");
    assert!(
        retry >= Duration::from_secs(2) && retry < Duration::from_secs(4),
        "{retry:?}"
    );

    // Events published before subscribing are not sent without Last-Event-ID.
    let id = hub.emit(note(1)).await.unwrap();
    let e = next_event(&mut es).await;
    assert_eq!(note_n(&e), 1);
    assert_eq!(e.id, id.to_string());
    assert_eq!(
        json(&e),
        serde_json::json!({"type": "test.note", "data": {"text": "note 1", "n": 1}})
    );
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn replay_after_last_event_id_misses_and_repeats_nothing() {
    let hub = hub_with(100, 100);
    let mut ids: Vec<EventId> = Vec::new();
    for n in 1..=50 {
        ids.push(hub.emit(note(n)).await.unwrap());
    }
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(ids[19].to_string())));
    let hello = next_event(&mut es).await;
    assert_eq!(hello.event, "continuum.connected");
    assert_eq!(hello.id, ids[19].to_string());
    // Publish more while the replay is still unread: they must follow it exactly once.
    for n in 51..=80 {
        hub.emit(note(n)).await.unwrap();
    }
    for want in 21..=80 {
        assert_eq!(note_n(&next_event(&mut es).await), want);
    }
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
    assert_eq!(hub.metrics().resets, 0);
}

#[tokio::test(start_paused = true)]
async fn replay_from_newest_id_is_empty_and_seq_zero_replays_everything() {
    let hub = hub_with(8, 8);
    let first = hub.last_event_id(); // before any event: sequence 0 of this epoch
    let mut ids: Vec<EventId> = Vec::new();
    for n in 1..=3 {
        ids.push(hub.emit(note(n)).await.unwrap());
    }
    let last = ids[2];
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(last.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);

    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(first.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    for want in 1..=3 {
        assert_eq!(note_n(&next_event(&mut es).await), want);
    }
}

async fn expect_reset(hub: &Hub, last_event_id: &str, reason: &str) {
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(last_event_id)));
    let hello = next_event(&mut es).await;
    assert_eq!(hello.event, "continuum.connected");
    // The client is moved to the newest id so its next reconnect is gap-free.
    assert_eq!(hello.id, hub.last_event_id().to_string());
    let reset = next_event(&mut es).await;
    assert_eq!(reset.event, "continuum.reset", "{last_event_id:?}");
    assert_eq!(json(&reset), serde_json::json!({"reason": reason}));
    // Then live events flow.
    hub.emit(note(99)).await.unwrap();
    assert_eq!(note_n(&next_event(&mut es).await), 99);
}

#[tokio::test(start_paused = true)]
async fn reset_when_a_gap_cannot_be_ruled_out() {
    let hub = hub_with(10, 10);
    let mut ids: Vec<EventId> = Vec::new();
    for n in 1..=30 {
        ids.push(hub.emit(note(n)).await.unwrap());
    }
    // The buffer holds 21..=30. The newest evicted id is still fine:
    // everything after it is held.
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(ids[19].to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert_eq!(note_n(&next_event(&mut es).await), 21);
    // Evicted: after 5, the events 6..=20 are gone.
    expect_reset(&hub, &ids[4].to_string(), "evicted").await;

    let other = hub_with(10, 10);
    let foreign = other.emit(note(1)).await.unwrap();
    expect_reset(&hub, &foreign.to_string(), "foreign_epoch").await;
    expect_reset(&hub, "not an id", "unknown_id").await;
    // From this epoch but never issued (newer than anything published).
    let future = EventId::new(hub.epoch(), 10_000);
    expect_reset(&hub, &future.to_string(), "unknown_id").await;
    assert_eq!(hub.metrics().resets, 4);
}

#[tokio::test(start_paused = true)]
async fn type_filters_exact_and_prefix() {
    let hub = hub_with(16, 16);
    let filter = TypeFilter::parse("test.note,media.*").unwrap();
    let mut es = parse(hub.subscribe_sse(SseOptions::new().types(filter)));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    hub.emit(Upload { file: "a".into() }).await.unwrap();
    hub.emit(Raw {
        raw: serde_json::value::RawValue::from_string("1".into()).unwrap(),
    })
    .await
    .unwrap();
    hub.emit(UploadDone { file: "a".into() }).await.unwrap();
    hub.emit(note(1)).await.unwrap();
    assert_eq!(next_event(&mut es).await.event, "media.upload");
    assert_eq!(next_event(&mut es).await.event, "media.upload.done");
    assert_eq!(note_n(&next_event(&mut es).await), 1);
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
}

#[tokio::test(start_paused = true)]
async fn channel_events_reach_only_granted_subscribers() {
    let hub = hub_with(16, 16);
    let mut alice = parse(
        hub.subscribe_sse(SseOptions::new().grant(Grant::public().with_channel("user:alice"))),
    );
    let mut bob = parse(hub.subscribe_sse(SseOptions::new().grant(Grant::channels(["user:bob"]))));
    let mut anon = parse(hub.subscribe_sse(SseOptions::new()));
    let mut ops = parse(hub.subscribe_sse(SseOptions::new().grant(Grant::all_channels())));
    for es in [&mut alice, &mut bob, &mut anon, &mut ops] {
        assert_eq!(next_event(es).await.event, "continuum.connected");
    }
    hub.emit_to("user:alice", note(1)).await.unwrap();
    hub.emit_to("user:bob", note(2)).await.unwrap();
    hub.emit(note(3)).await.unwrap();
    assert_eq!(note_n(&next_event(&mut alice).await), 1);
    assert_eq!(note_n(&next_event(&mut alice).await), 3);
    assert_eq!(note_n(&next_event(&mut bob).await), 2);
    assert_eq!(note_n(&next_event(&mut bob).await), 3);
    assert_eq!(note_n(&next_event(&mut anon).await), 3);
    for want in 1..=3 {
        assert_eq!(note_n(&next_event(&mut ops).await), want);
    }
    for es in [&mut alice, &mut bob, &mut anon, &mut ops] {
        assert!(is_silent(es, Duration::from_secs(1)).await);
    }
    // Replay honours the grant too.
    let mut late = parse(hub.subscribe_sse(SseOptions::new().last_event_id(hub.epoch_start_id())));
    assert_eq!(next_event(&mut late).await.event, "continuum.connected");
    assert_eq!(note_n(&next_event(&mut late).await), 3);
}

trait EpochStart {
    fn epoch_start_id(&self) -> String;
}
impl EpochStart for Hub {
    fn epoch_start_id(&self) -> String {
        EventId::new(self.epoch(), 0).to_string()
    }
}

#[tokio::test(start_paused = true)]
async fn a_subscriber_that_falls_behind_is_cut_off_alone() {
    let hub = hub_with(8, 8);
    let mut slow = hub.subscribe_sse(SseOptions::new());
    let mut fast = parse(hub.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut fast).await.event, "continuum.connected");
    // The publisher never waits: 50 events with `slow` never polled.
    for n in 1..=50 {
        hub.emit(note(n)).await.unwrap();
        assert_eq!(note_n(&next_event(&mut fast).await), n as u64);
    }
    let mut all = Vec::new();
    while let Some(chunk) = chunk_within(&mut slow, Duration::from_secs(1))
        .await
        .expect("slow stream must end, not hang")
    {
        all.extend_from_slice(&chunk);
    }
    let text = String::from_utf8(all).unwrap();
    assert!(text.contains("event: continuum.connected"), "{text}");
    assert!(
        text.contains("event: continuum.reset\ndata: {\"reason\":\"lagged\"}"),
        "{text}"
    );
    assert!(!text.contains("event: test.note"), "{text}");
    // The reset carries the newest id, so the reconnect resumes from there.
    assert!(
        text.contains(&format!(
            "id: {}\nevent: continuum.reset",
            hub.last_event_id()
        )),
        "{text}"
    );
    let m = hub.metrics();
    assert_eq!(m.subscribers_cut_off, 1);
    assert_eq!(m.frames_delivered, 50);
    drop(slow);
    // The fast subscriber keeps going.
    hub.emit(note(51)).await.unwrap();
    assert_eq!(note_n(&next_event(&mut fast).await), 51);
    assert_eq!(hub.metrics().subscribers_now, 1);
}

#[tokio::test(start_paused = true)]
async fn replay_does_not_count_towards_the_lag_bound() {
    let hub = hub_with(100, 4);
    let start = hub.last_event_id();
    for n in 1..=50 {
        hub.emit(note(n)).await.unwrap();
    }
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id(start.to_string())));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    for want in 1..=50 {
        assert_eq!(note_n(&next_event(&mut es).await), want);
    }
    assert_eq!(hub.metrics().subscribers_cut_off, 0);
}

#[tokio::test(start_paused = true)]
async fn heartbeats_come_from_one_shared_ticker() {
    let hub = Hub::builder()
        .heartbeat(Duration::from_secs(25))
        .build()
        .unwrap();
    let tasks_before = tokio::runtime::Handle::current()
        .metrics()
        .num_alive_tasks();
    let mut subs: Vec<_> = (0..20)
        .map(|_| hub.subscribe_sse(SseOptions::new()))
        .collect();
    assert_eq!(
        tokio::runtime::Handle::current()
            .metrics()
            .num_alive_tasks(),
        tasks_before + 1
    );
    for s in &mut subs {
        let hello = next_chunk(s).await.unwrap();
        assert!(hello.starts_with(b"retry: "));
    }
    // Nothing before the interval…
    let t0 = tokio::time::Instant::now();
    for s in &mut subs[..1] {
        assert!(chunk_within(s, Duration::from_secs(24)).await.is_none());
    }
    // …then exactly one comment each per tick.
    for tick in 1..=3u32 {
        for s in &mut subs {
            let c = chunk_within(s, Duration::from_secs(26))
                .await
                .expect("heartbeat")
                .unwrap();
            assert_eq!(&c[..], b":\n\n");
        }
        assert_eq!(t0.elapsed().as_secs(), 25 * u64::from(tick));
    }
}

#[tokio::test(start_paused = true)]
async fn connection_lifetime_cap_ends_the_stream_cleanly() {
    let hub = Hub::builder()
        .heartbeat(Duration::from_secs(10))
        .max_connection_lifetime(Duration::from_secs(35))
        .build()
        .unwrap();
    let mut s = hub.subscribe_sse(SseOptions::new());
    let t0 = tokio::time::Instant::now();
    let mut heartbeats = 0;
    while let Some(c) = chunk_within(&mut s, Duration::from_secs(60))
        .await
        .expect("stream must end")
    {
        if &c[..] == b":\n\n" {
            heartbeats += 1;
        }
    }
    assert_eq!(heartbeats, 3);
    assert_eq!(t0.elapsed(), Duration::from_secs(40));
}

#[tokio::test(start_paused = true)]
async fn retry_hints_are_jittered_per_connection() {
    let hub = Hub::builder()
        .retry_base(Duration::from_millis(1000))
        .build()
        .unwrap();
    let mut seen = std::collections::HashSet::new();
    for _ in 0..20 {
        let s = hub.subscribe_sse(SseOptions::new());
        assert!((1000..2000).contains(&s.retry_ms()), "{}", s.retry_ms());
        let mut es = parse(s);
        let hello = next_event(&mut es).await;
        let retry = hello.retry.unwrap().as_millis() as u64;
        assert!((1000..2000).contains(&retry));
        seen.insert(retry);
    }
    assert!(seen.len() > 10, "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn unicode_multiline_and_cr_payloads_survive_framing() {
    let hub = hub_with(16, 16);
    let mut es = parse(hub.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    let texts = [
        "héllo wörld 🎉 日本語",
        "line one\nline two",
        "cr\ronly",
        "crlf\r\nend\n",
        "nul\0byte",
        "data: fake\n\nid: forged",
    ];
    for t in texts {
        hub.emit(Note {
            text: t.into(),
            n: 1,
        })
        .await
        .unwrap();
    }
    for t in texts {
        let e = next_event(&mut es).await;
        assert_eq!(json(&e)["data"]["text"], t);
    }
    // Raw JSON with real line breaks becomes several `data:` lines, which
    // the parser joins back into the same JSON.
    let raw = "{\n  \"a\": [1,\r\n 2],\r  \"b\": \"x\"\n}";
    hub.emit(Raw {
        raw: serde_json::value::RawValue::from_string(raw.into()).unwrap(),
    })
    .await
    .unwrap();
    let e = next_event(&mut es).await;
    assert_eq!(e.event, "test.raw");
    assert_eq!(
        json(&e)["data"]["raw"],
        serde_json::json!({"a": [1, 2], "b": "x"})
    );
    assert!(
        e.data.contains('\n'),
        "the raw line breaks were kept as separate data lines"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_publishers_every_subscriber_sees_one_order() {
    let hub = hub_with(4096, 4096);
    let subs: Vec<_> = (0..16)
        .map(|_| parse(hub.subscribe_sse(SseOptions::new())))
        .collect();
    let readers: Vec<_> = subs
        .into_iter()
        .map(|mut es| {
            tokio::spawn(async move {
                assert_eq!(next_event(&mut es).await.event, "continuum.connected");
                let mut got = Vec::new();
                for _ in 0..2000 {
                    let e = next_event(&mut es).await;
                    got.push((e.id.clone(), note_n(&e)));
                }
                got
            })
        })
        .collect();
    let publishers: Vec<_> = (0..4u32)
        .map(|p| {
            let hub = hub.clone();
            tokio::spawn(async move {
                for i in 0..500u32 {
                    hub.emit(Note {
                        text: format!("{p}/{i}"),
                        n: i % 100,
                    })
                    .await
                    .unwrap();
                    if i % 50 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
            })
        })
        .collect();
    for p in publishers {
        p.await.unwrap();
    }
    let mut first: Option<Vec<(String, u64)>> = None;
    for r in readers {
        let got = r.await.unwrap();
        let ids: std::collections::HashSet<_> = got.iter().map(|(id, _)| id.clone()).collect();
        assert_eq!(ids.len(), 2000, "no duplicates");
        match &first {
            None => first = Some(got),
            Some(f) => assert_eq!(f, &got, "every subscriber sees the same order"),
        }
    }
    // Ids increase in publication order.
    let seqs: Vec<u64> = first
        .unwrap()
        .iter()
        .map(|(id, _)| EventId::parse(id).unwrap().seq())
        .collect();
    assert!(seqs.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(hub.metrics().frames_delivered, 16 * 2000);
}
