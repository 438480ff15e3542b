//! Publishing: typed emit and validation, batches, ingest-side publishing,
//! idempotency, typed in-process subscription, the default hub, metrics.

mod hub_support;

use std::sync::Arc;
use std::time::Duration;

use continuum_runtime::hub::{DynPublish, Lagged, SseOptions};
use continuum_runtime::metrics::IngestReject;
use continuum_runtime::{BuildError, EmitError, Hub};
use futures_util::StreamExt;
use hub_support::*;

#[tokio::test(start_paused = true)]
async fn invalid_events_are_refused_and_never_delivered() {
    let hub = Hub::builder().build().unwrap();
    let mut es = parse(hub.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    let err = hub.emit(note(101)).await.unwrap_err();
    let EmitError::Invalid(issues) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(issues.issues()[0].path, "n");
    assert!(err.is_invalid());
    let err = hub.emit_to("user:1", note(500)).await.unwrap_err();
    assert!(err.is_invalid());
    // A batch with one bad event publishes nothing; every issue is reported with its index.
    let err = hub
        .emit_batch([note(1), note(200), note(2), note(300)])
        .await
        .unwrap_err();
    let EmitError::Invalid(issues) = err else {
        panic!()
    };
    let paths: Vec<_> = issues.issues().iter().map(|i| i.path.as_str()).collect();
    assert_eq!(paths, ["[1].n", "[3].n"]);
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
    assert_eq!(hub.metrics().events_published, 0);

    let ids = hub.emit_batch([note(1), note(2)]).await.unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(note_n(&next_event(&mut es).await), 1);
    assert_eq!(note_n(&next_event(&mut es).await), 2);
    assert_eq!(hub.metrics().events_published, 2);
}

#[tokio::test(start_paused = true)]
async fn publish_dyn_publishes_in_order_on_channels() {
    let hub = Hub::builder()
        .register::<Note>()
        .register::<Upload>()
        .build()
        .unwrap();
    let mut es = parse(
        hub.subscribe_sse(SseOptions::new().grant(continuum_runtime::hub::Grant::channels(["c"]))),
    );
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    let batch: Vec<DynPublish> = vec![
        (Arc::new(note(1)), None),
        (Arc::new(Upload { file: "f".into() }), Some("c".into())),
        (Arc::new(note(2)), Some("other".into())),
        (Arc::new(note(3)), None),
    ];
    let ids = hub.publish_dyn(batch, None).await.unwrap().ids;
    assert_eq!(ids.len(), 4);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));
    let e = next_event(&mut es).await;
    assert_eq!((note_n(&e), e.id.clone()), (1, ids[0].to_string()));
    let e = next_event(&mut es).await;
    assert_eq!(
        json(&e),
        serde_json::json!({"type": "media.upload", "data": {"file": "f"}})
    );
    assert_eq!(note_n(&next_event(&mut es).await), 3);
    assert_eq!(hub.metrics().events_published, 4);
    assert!(hub.registry().get("test.note").is_some());
}

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Reserved {}
impl continuum_runtime::Payload for Reserved {
    fn check(&self, _: &mut continuum_runtime::validate::Checker) {}
    fn describe() -> continuum_runtime::TypeSchema {
        continuum_runtime::TypeSchema::Any
    }
}
impl continuum_runtime::Event for Reserved {
    const TYPE: &'static str = "continuum.reset";
    fn schema() -> &'static continuum_runtime::EventSchema {
        static S: continuum_runtime::EventSchema = continuum_runtime::EventSchema {
            name: "continuum.reset",
            version: 1,
            payload: None,
            docs: "",
            key: None,
            ttl: None,
        };
        &S
    }
}

#[tokio::test]
async fn reserved_types_cannot_be_published() {
    let hub = Hub::builder().build().unwrap();
    let err = hub
        .publish_dyn(
            vec![(Arc::new(note(1)), None), (Arc::new(Reserved {}), None)],
            None,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(err, EmitError::ReservedType(ref t) if t == "continuum.reset"),
        "{err:?}"
    );
    assert!(matches!(
        hub.emit(Reserved {}).await,
        Err(EmitError::ReservedType(_))
    ));
    assert_eq!(hub.metrics().events_published, 0);
}

#[tokio::test(start_paused = true)]
async fn idempotency_key_publishes_once_within_the_window() {
    let hub = Hub::builder()
        .idempotency_window(Duration::from_secs(60))
        .build()
        .unwrap();
    let mut es = parse(hub.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    let first = hub
        .publish_dyn(vec![(Arc::new(note(1)), None)], Some("k1"))
        .await
        .unwrap();
    assert!(!first.replayed);
    let again = hub
        .publish_dyn(vec![(Arc::new(note(1)), None)], Some("k1"))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.ids, first.ids);
    let other = hub
        .publish_dyn(vec![(Arc::new(note(2)), None)], Some("k2"))
        .await
        .unwrap();
    assert!(!other.replayed);
    assert_eq!(note_n(&next_event(&mut es).await), 1);
    assert_eq!(note_n(&next_event(&mut es).await), 2);
    assert!(is_silent(&mut es, Duration::from_secs(1)).await);
    // After the window the key is forgotten.
    tokio::time::advance(Duration::from_secs(61)).await;
    let later = hub
        .publish_dyn(vec![(Arc::new(note(3)), None)], Some("k1"))
        .await
        .unwrap();
    assert!(!later.replayed);
    assert_eq!(note_n(&next_event(&mut es).await), 3);
    assert_eq!(hub.metrics().events_published, 3);
}

#[tokio::test(start_paused = true)]
async fn typed_subscription_gets_its_type_in_order_and_reports_lag() {
    let hub = Hub::builder()
        .queue_bound(8)
        .replay_capacity(8)
        .build()
        .unwrap();
    let mut notes = hub.subscribe::<Note>();
    let mut uploads = hub.subscribe::<Upload>();
    hub.emit(note(1)).await.unwrap();
    hub.emit(Upload { file: "a".into() }).await.unwrap();
    hub.emit_to("private", note(2)).await.unwrap();
    assert_eq!(*notes.next().await.unwrap().unwrap(), note(1));
    assert_eq!(*notes.next().await.unwrap().unwrap(), note(2));
    assert_eq!(uploads.next().await.unwrap().unwrap().file, "a");
    assert!(tokio::time::timeout(Duration::from_secs(1), notes.next())
        .await
        .is_err());

    // The same Arc reaches every typed subscriber: no copy per subscriber.
    let mut a = hub.subscribe::<Note>();
    let mut b = hub.subscribe::<Note>();
    hub.emit(note(3)).await.unwrap();
    let (x, y) = (
        a.next().await.unwrap().unwrap(),
        b.next().await.unwrap().unwrap(),
    );
    assert!(Arc::ptr_eq(&x, &y));

    // Falling behind is explicit, then the subscription continues.
    for n in 10..30 {
        hub.emit(note(n)).await.unwrap();
    }
    let lag = a.next().await.unwrap().unwrap_err();
    assert_eq!(lag, Lagged { skipped: 20 });
    hub.emit(note(30)).await.unwrap();
    assert_eq!(a.next().await.unwrap().unwrap().n, 30);
}

#[test]
fn duplicate_event_names_fail_the_build_naming_both_types() {
    let err = Hub::builder()
        .register::<Note>()
        .register::<NoteImpostor>()
        .build()
        .unwrap_err();
    let BuildError::DuplicateType(_) = &err else {
        panic!()
    };
    let msg = err.to_string();
    assert!(
        msg.contains("test.note") && msg.contains("Note") && msg.contains("NoteImpostor"),
        "{msg}"
    );
    // Registering the same type twice is fine.
    assert!(Hub::builder()
        .register::<Note>()
        .register::<Note>()
        .build()
        .is_ok());
}

#[tokio::test]
async fn default_hub_is_process_wide_and_replaceable() {
    let hub = Hub::builder().build().unwrap();
    continuum_runtime::set_default_hub(hub.clone());
    assert_eq!(continuum_runtime::default_hub().epoch(), hub.epoch());
    let mut notes = hub.subscribe::<Note>();
    let id = continuum_runtime::emit(note(5)).await.unwrap();
    continuum_runtime::emit_to("c", note(6)).await.unwrap();
    assert_eq!(notes.next().await.unwrap().unwrap().n, 5);
    assert_eq!(notes.next().await.unwrap().unwrap().n, 6);
    assert_eq!(hub.last_event_id().seq(), id.seq() + 1);
    assert!(continuum_runtime::emit(note(500))
        .await
        .unwrap_err()
        .is_invalid());
}

#[tokio::test(start_paused = true)]
async fn metrics_count_and_render_as_prometheus() {
    let hub = Hub::builder().build().unwrap();
    let s1 = hub.subscribe_sse(SseOptions::new());
    let mut es = parse(hub.subscribe_sse(SseOptions::new().last_event_id("garbage")));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    assert_eq!(next_event(&mut es).await.event, "continuum.reset");
    hub.emit(note(1)).await.unwrap();
    next_event(&mut es).await;
    hub.record_ingest_reject(IngestReject::MalformedJson);
    hub.record_ingest_reject(IngestReject::MalformedJson);
    hub.record_ingest_reject(IngestReject::Unauthorized);
    let m = hub.metrics();
    assert_eq!(
        (
            m.subscribers_now,
            m.connections_total,
            m.events_published,
            m.resets
        ),
        (2, 2, 1, 1)
    );
    assert_eq!(m.frames_delivered, 1);
    assert_eq!(m.ingest_rejects(IngestReject::MalformedJson), 2);
    assert_eq!(m.ingest_rejects(IngestReject::PayloadTooLarge), 0);
    drop(s1);
    drop(es);
    let m = hub.metrics();
    assert_eq!(m.subscribers_now, 0);
    let text = m.to_prometheus();
    for line in [
        "continuum_subscribers 0",
        "continuum_connections_total 2",
        "continuum_events_published_total 1",
        "continuum_frames_delivered_total 1",
        "continuum_resets_total 1",
        "continuum_ingest_rejects_total{reason=\"malformed_json\"} 2",
        "continuum_ingest_rejects_total{reason=\"unauthorized\"} 1",
        "# TYPE continuum_subscribers gauge",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing {line:?} in\n{text}"
        );
    }
}

#[test]
fn authorization_hook_grants_or_rejects() {
    use continuum_runtime::hub::{Grant, Reject};
    let hub = Hub::builder()
        .authorize(
            |parts| match parts.headers.get("cookie").and_then(|c| c.to_str().ok()) {
                Some("session=alice") => Ok(Grant::public().with_channel("user:alice")),
                Some("session=boom") => panic!("hook bug"),
                Some(_) => Err(Reject::forbidden("unknown session")),
                None => Err(Reject::unauthorized("sign in")),
            },
        )
        .build()
        .unwrap();
    let parts = |cookie: Option<&str>| {
        let mut b = http::Request::builder().uri("/api/events");
        if let Some(c) = cookie {
            b = b.header("cookie", c);
        }
        b.body(()).unwrap().into_parts().0
    };
    let g = hub.authorize(&parts(Some("session=alice"))).unwrap();
    assert!(g.allows(Some("user:alice")) && !g.allows(Some("user:bob")));
    assert_eq!(hub.authorize(&parts(None)).unwrap_err().status(), 401);
    assert_eq!(
        hub.authorize(&parts(Some("session=x")))
            .unwrap_err()
            .status(),
        403
    );
    assert_eq!(
        hub.authorize(&parts(Some("session=boom")))
            .unwrap_err()
            .status(),
        500
    );
    assert_eq!(hub.metrics().subscribers_rejected, 3);
    assert_eq!(
        Hub::builder()
            .build()
            .unwrap()
            .authorize(&parts(None))
            .unwrap(),
        Grant::public()
    );
}

/// Declared with the real attribute: found by the builder without `register`.
#[continuum_runtime::continuum_event("test.macro.progress")]
pub struct MacroProgress {
    /// Percent done.
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
}

#[tokio::test(start_paused = true)]
async fn macro_events_are_registered_and_emitted() {
    let hub = Hub::builder().build().unwrap();
    let reg = hub
        .registry()
        .get("test.macro.progress")
        .expect("registered from the inventory");
    let mut es = parse(hub.subscribe_sse(SseOptions::new()));
    assert_eq!(next_event(&mut es).await.event, "continuum.connected");
    // Ingest path: decode with the registry, publish_dyn.
    let decoded = (reg.decode)(r#"{"progress": 40}"#).unwrap();
    hub.publish_dyn(vec![(decoded, None)], None).await.unwrap();
    assert!((reg.decode)(r#"{"progress": 400}"#).is_err());
    // Typed path.
    assert!(hub
        .emit(MacroProgress { progress: 101 })
        .await
        .unwrap_err()
        .is_invalid());
    hub.emit(MacroProgress { progress: 41 }).await.unwrap();
    for want in [40, 41] {
        let e = next_event(&mut es).await;
        assert_eq!(
            json(&e),
            serde_json::json!({"type": "test.macro.progress", "data": {"progress": want}})
        );
    }
}
