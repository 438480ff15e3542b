//! `Last-Event-ID` (header or `lastEventId` query): id parsing is canonical
//! (an id parses only in the one spelling it is written in), and any value a
//! client sends opens a well-formed stream: the handshake, then at most a
//! `continuum.reset` with a known reason — never an injected field.
#![no_main]

use std::pin::Pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use continuum_fuzz::parse_stream;
use continuum_runtime::hub::SseOptions;
use continuum_runtime::{EventId, Hub};
use libfuzzer_sys::fuzz_target;

fn hub() -> &'static Hub {
    static HUB: OnceLock<Hub> = OnceLock::new();
    HUB.get_or_init(|| {
        let hub = Hub::builder().replay_capacity(4).build().expect("hub");
        // A few events, some evicted, so every branch (replay, evicted,
        // unknown, foreign epoch) is reachable.
        for n in 0..6u8 {
            let e = continuum_fuzz::TaskProgress {
                task_id: format!("t{n}"),
                stage: continuum_fuzz::Stage::Queued,
                progress: n,
            };
            hub.emit(e)
                .now()
                .expect("in-memory: at once")
                .expect("emit");
        }
        hub
    })
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Some(id) = EventId::parse(&text) {
        assert_eq!(id.to_string(), text, "an id has one spelling");
    }
    let hub = hub();
    let mut stream = hub.subscribe_sse(SseOptions::new().last_event_id(text.as_ref()));
    let mut cx = Context::from_waker(Waker::noop());
    let mut bytes = Vec::new();
    while let Poll::Ready(Some(chunk)) =
        futures_core::Stream::poll_next(Pin::new(&mut stream), &mut cx)
    {
        bytes.extend_from_slice(&chunk);
    }
    let (frames, rest) = parse_stream(&bytes);
    assert!(rest.is_empty());
    assert!(!frames.is_empty());
    assert_eq!(frames[0].event.as_deref(), Some("continuum.connected"));
    let resume = frames[0].id.as_deref().expect("resume id");
    assert!(EventId::parse(resume).is_some(), "{resume}");
    for f in &frames[1..] {
        match f.event.as_deref() {
            Some("continuum.reset") => {
                let v: serde_json::Value =
                    serde_json::from_str(f.data.as_deref().unwrap()).unwrap();
                let reason = v["reason"].as_str().unwrap();
                assert!(
                    ["evicted", "foreign_epoch", "unknown_id"].contains(&reason),
                    "{reason}"
                );
            }
            Some("fuzz.task.progress") => {
                assert!(EventId::parse(f.id.as_deref().unwrap()).is_some());
            }
            other => panic!("unexpected frame {other:?}"),
        }
    }
});
