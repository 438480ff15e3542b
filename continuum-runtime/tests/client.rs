//! The typed Rust client (feature `client`) against the real server over
//! TCP: publish and batches, typed refusals, retries that publish once,
//! typed subscriptions that reconnect and replay, and resets as items.

mod http_support;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use continuum_runtime::backplane::{
    Backplane, BackplaneError, IdempotencyKey, InMemory, LocalLog, Outgoing, Publishing,
};
use continuum_runtime::client::{Client, ClientError, Envelope, Item, ResetReason, Subscription};
use continuum_runtime::hub::Reject;
use continuum_runtime::id::EventId;
use continuum_runtime::trace::TraceContext;
use continuum_runtime::{Hub, HubBuilder, IssueCode, Server};
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use http_support::*;
use hyper::body::Incoming;
use hyper_util::client::legacy::Client as LegacyClient;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A client that retries quickly, so a test never waits long for backoff.
fn client(url: &str) -> Client {
    Client::new(url).backoff(Duration::from_millis(10), Duration::from_millis(50))
}

/// A server whose clients reconnect within 100 ms.
fn hub() -> HubBuilder {
    Hub::builder().retry_base(Duration::from_millis(50))
}

/// The next item, failing the test after [`GUARD`] or at the end.
async fn next<T: Send + 'static>(sub: &mut Subscription<T>) -> Result<Item<T>, ClientError> {
    guarded("the next item", sub.next())
        .await
        .expect("the subscription goes on")
}

async fn next_event<T: Send + std::fmt::Debug + 'static>(
    sub: &mut Subscription<T>,
) -> (EventId, T) {
    match next(sub).await {
        Ok(Item::Event { id, event }) => (id, event),
        other => panic!("expected an event, got {other:?}"),
    }
}

/// Serve `hub` on `addr` (e.g. the address a stopped server had).
async fn serve_on(
    hub: Hub,
    addr: SocketAddr,
) -> (
    oneshot::Sender<()>,
    tokio::task::JoinHandle<std::io::Result<()>>,
) {
    let listener = TcpListener::bind(addr)
        .await
        .expect("bind the same port again");
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(Server::new(hub).run(listener, async move {
        let _ = stopped.await;
    }));
    (stop, task)
}

#[tokio::test]
async fn publish_answers_the_id_and_a_typed_subscriber_receives_the_event() {
    let server = start(hub()).await;
    let client = client(&server.url);
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client
        .subscribe::<AiTaskProgress>()
        .last_event_id(start.to_string());

    let id = client.publish(&progress("gen-1", 10)).await.unwrap();
    assert_eq!(id.epoch(), start.epoch());
    assert_eq!(id.seq(), start.seq() + 1);
    assert_eq!(next_event(&mut sub).await, (id, progress("gen-1", 10)));

    // Other types are filtered by the server; the next one is ours again.
    server
        .hub
        .emit(UploadDone {
            file: "a.png".into(),
        })
        .await
        .unwrap();
    let id2 = client.publish(&progress("gen-1", 20)).await.unwrap();
    assert_eq!(next_event(&mut sub).await, (id2, progress("gen-1", 20)));
}

#[tokio::test]
async fn batches_are_published_in_order_and_envelopes_mix_types_and_channels() {
    let server = start(hub()).await;
    let client = client(&server.url);
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client
        .subscribe_types(["ai.task.*", "media.*"])
        .last_event_id(start.to_string());

    let ids = client
        .publish_batch(&[progress("a", 1), progress("b", 2)])
        .await
        .unwrap();
    assert_eq!(ids.len(), 2);
    assert_eq!(ids[1].seq(), ids[0].seq() + 1);
    let mixed = client
        .publish_batch([
            Envelope::new(&UploadDone { file: "x".into() }),
            Envelope::new(&progress("c", 3)).channel("user:42"), // nobody here is granted it
            Envelope::untyped(
                "ai.task.progress",
                json!({"taskId": "d", "stage": "done", "progress": 100}),
            ),
        ])
        .await
        .unwrap();
    assert_eq!(mixed.len(), 3);

    let mut got = Vec::new();
    for _ in 0..4 {
        let (id, raw) = next_event(&mut sub).await;
        got.push((
            id,
            raw.type_name.clone(),
            raw.data["taskId"].as_str().map(str::to_owned),
        ));
        if raw.type_name == "ai.task.progress" {
            let typed: AiTaskProgress = raw.decode().unwrap();
            assert!(typed.progress <= 100);
        }
    }
    let progress_type = "ai.task.progress".to_owned();
    assert_eq!(
        got,
        [
            (ids[0], progress_type.clone(), Some("a".into())),
            (ids[1], progress_type.clone(), Some("b".into())),
            (mixed[0], "media.upload.done".into(), None),
            (mixed[2], progress_type, Some("d".into())),
        ]
    );
}

#[tokio::test]
async fn invalid_events_are_typed_errors_from_the_client_or_the_server() {
    let server = start(hub()).await;
    let client = client(&server.url);

    // Checked before sending, with the paths ingest would report.
    let err = client.publish(&progress("", 101)).await.unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    assert_eq!(err.status(), None, "nothing was sent");
    let issues: Vec<_> = err
        .issues()
        .iter()
        .map(|i| (i.path.as_str(), i.code))
        .collect();
    assert_eq!(
        issues,
        [
            ("data.taskId", IssueCode::Length),
            ("data.progress", IssueCode::Range)
        ]
    );
    let err = client
        .publish_batch(&[progress("ok", 1), progress("bad", 200)])
        .await
        .unwrap_err();
    assert_eq!(err.issues()[0].path, "[1].data.progress");

    // An untyped payload is checked by the server: a 422 with every issue.
    let bad = Envelope::untyped(
        "ai.task.progress",
        json!({"taskId": "", "stage": "thinking", "progress": 250, "eta": 3}),
    );
    let err = client.publish(bad).await.unwrap_err();
    assert!(err.is_invalid(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::UNPROCESSABLE_ENTITY));
    assert_eq!(err.code(), Some("invalid_event"));
    let mut issues: Vec<_> = err
        .issues()
        .iter()
        .map(|i| (i.path.as_str(), i.code))
        .collect();
    issues.sort_by_key(|i| i.0);
    assert_eq!(
        issues,
        [
            ("data.eta", IssueCode::UnknownField),
            ("data.progress", IssueCode::Range),
            ("data.stage", IssueCode::Type),
            ("data.taskId", IssueCode::Length),
        ]
    );
    assert!(err.issues().iter().all(|i| !i.message.is_empty()));

    // Other refusals are their own kind, with the server's code.
    let err = client
        .publish(Envelope::untyped("no.such.type", json!({})))
        .await
        .unwrap_err();
    assert!(err.is_rejected(), "{err:?}");
    assert_eq!(err.code(), Some("unknown_type"));
    assert_eq!(err.issues()[0].path, "type");
    assert_eq!(server.hub.metrics().events_published, 0);
}

#[tokio::test]
async fn a_wrong_token_is_unauthorized_and_the_right_one_publishes() {
    let server = start(hub().ingest_token("s3cret")).await;
    for client in [client(&server.url), client(&server.url).token("wrong")] {
        let err = client.publish(&progress("t", 1)).await.unwrap_err();
        assert!(err.is_unauthorized(), "{err:?}");
        assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
        assert_eq!(err.code(), Some("unauthorized"));
    }
    let id = client(&server.url)
        .token("s3cret")
        .publish(&progress("t", 1))
        .await
        .unwrap();
    assert_eq!(id.seq(), 1);
    assert!(format!("{:?}", client(&server.url).token("s3cret")).contains("Sensitive"));
}

#[tokio::test]
async fn misconfiguration_and_unreachable_servers_are_their_own_kinds() {
    let err = Client::new("https://example.com/api/events")
        .publish(&progress("t", 1))
        .await
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    let err = Client::new("http://127.0.0.1:1/api/events")
        .token("bad\ntoken")
        .publish(&progress("t", 1))
        .await
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    let mut sub = Client::new("not a url").subscribe::<Note>();
    assert!(next(&mut sub).await.unwrap_err().is_builder());
    assert!(sub.next().await.is_none(), "a refusal ends the stream");

    // Nothing listens: connection refused on every attempt.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let err = client(&format!("http://{addr}/api/events"))
        .retries(2)
        .publish(&progress("t", 1))
        .await
        .unwrap_err();
    assert!(err.is_connect(), "{err:?}");
    assert!(err.to_string().contains("could not reach"), "{err}");
}

/// A backplane that is unavailable for its first `failures` publishes and
/// records the idempotency key of every attempt.
struct Flaky {
    inner: InMemory,
    failures: AtomicU32,
    keys: Mutex<Vec<Option<String>>>,
}

impl Backplane for Flaky {
    fn attach(&self, log: LocalLog) {
        self.inner.attach(log);
    }

    fn publish(
        &self,
        log: &LocalLog,
        batch: Vec<Outgoing>,
        key: Option<IdempotencyKey>,
    ) -> Publishing {
        self.keys
            .lock()
            .unwrap()
            .push(key.as_ref().map(|k| k.key.to_string()));
        if self
            .failures
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
            .is_ok()
        {
            return Publishing::ready(Err(BackplaneError::unavailable(
                "redis is down (test)",
                None,
            )));
        }
        self.inner.publish(log, batch, key)
    }
}

#[tokio::test]
async fn a_503_is_retried_with_the_same_key_until_published() {
    let flaky = Arc::new(Flaky {
        inner: InMemory::new(),
        failures: AtomicU32::new(2),
        keys: Mutex::new(Vec::new()),
    });
    let server = start(hub().backplane(flaky.clone())).await;
    // The server says `retry-after: 2`; this client caps waits at 50 ms.
    let id = client(&server.url)
        .publish(&progress("t", 1))
        .await
        .unwrap();
    let keys = flaky.keys.lock().unwrap().clone();
    assert_eq!(keys.len(), 3, "two 503s, then published");
    assert!(
        keys[0].is_some() && keys.iter().all(|k| *k == keys[0]),
        "{keys:?}"
    );
    assert_eq!(id.seq(), 1);
    assert_eq!(server.hub.metrics().events_published, 1);

    // Out of retries: the 503 is the error, with the server's retry-after.
    flaky.failures.store(10, Ordering::SeqCst);
    let err = client(&server.url)
        .retries(1)
        .publish(&progress("t", 2))
        .await
        .unwrap_err();
    assert!(err.is_unavailable(), "{err:?}");
    assert_eq!(err.code(), Some("backplane_unavailable"));
    assert_eq!(err.retry_after(), Some(Duration::from_secs(2)));
}

/// What the lossy proxy saw of one `POST`.
#[derive(Debug, Clone)]
struct Seen {
    key: String,
    upstream_body: Bytes,
    replayed: bool,
    /// The `traceparent` and `tracestate` headers the attempt carried.
    trace: (Option<String>, Option<String>),
}

/// A proxy in front of the real server that forwards every `POST`, but
/// loses the first answer (drops the connection after the server
/// published) and turns the second into `503` with `retry-after: 1`.
async fn lossy_proxy(upstream: String) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/events", listener.local_addr().unwrap());
    let seen = Arc::new(Mutex::new(Vec::new()));
    let forward: LegacyClient<_, Full<Bytes>> =
        LegacyClient::builder(TokioExecutor::new()).build_http();
    let state = seen.clone();
    tokio::spawn(async move {
        loop {
            let Ok((io, _)) = listener.accept().await else {
                return;
            };
            let (seen, forward, upstream) = (state.clone(), forward.clone(), upstream.clone());
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (seen, forward, upstream) = (seen.clone(), forward.clone(), upstream.clone());
                async move {
                    let (parts, body) = req.into_parts();
                    let header = |name: &str| {
                        let v = parts.headers.get(name)?;
                        Some(v.to_str().unwrap().to_owned())
                    };
                    let body = body.collect().await.unwrap().to_bytes();
                    let mut out = Request::post(&upstream).body(Full::new(body)).unwrap();
                    *out.headers_mut() = parts.headers.clone();
                    let res = forward.request(out).await.unwrap();
                    let (rparts, rbody) = res.into_parts();
                    let rbody = rbody.collect().await.unwrap().to_bytes();
                    let n = {
                        let mut seen = seen.lock().unwrap();
                        seen.push(Seen {
                            key: parts.headers["idempotency-key"]
                                .to_str()
                                .unwrap()
                                .to_owned(),
                            upstream_body: rbody.clone(),
                            replayed: rparts.headers.get("idempotent-replayed").is_some(),
                            trace: (header("traceparent"), header("tracestate")),
                        });
                        seen.len()
                    };
                    match n {
                        // hyper closes the connection without an answer.
                        1 => Err(std::io::Error::other("answer lost")),
                        2 => Ok(Response::builder()
                            .status(503)
                            .header("retry-after", "1")
                            .body(Full::new(Bytes::from_static(b"upstream busy")))
                            .unwrap()),
                        _ => Ok(Response::from_parts(rparts, Full::new(rbody))),
                    }
                }
            });
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(io), service),
            );
        }
    });
    (url, seen)
}

#[tokio::test]
async fn a_lost_answer_and_a_503_are_retried_with_the_same_key_and_trace_and_publish_once() {
    let server = start(hub()).await;
    let (proxy, seen) = lossy_proxy(server.url.clone()).await;
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client(&server.url)
        .subscribe_types(Vec::<String>::new())
        .last_event_id(start.to_string());

    let began = Instant::now();
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let created = TraceContext::parse(traceparent, Some("vendor=1")).unwrap();
    let id = Client::new(&proxy)
        .backoff(Duration::from_millis(10), Duration::from_secs(5))
        .publish(&progress("once", 1))
        .trace_context(created)
        .await
        .unwrap();
    assert!(
        began.elapsed() >= Duration::from_secs(1),
        "retry-after: 1 was honoured"
    );

    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen.len(), 3, "{seen:?}");
    assert!(
        seen.iter().all(|s| s.key == seen[0].key),
        "one key for every attempt: {seen:?}"
    );
    assert_eq!(
        seen[0].upstream_body,
        format!(r#"{{"id":"{id}"}}"#),
        "the lost answer had this id"
    );
    assert!(!seen[0].replayed && seen[1].replayed && seen[2].replayed);
    let trace = (Some(traceparent.to_owned()), Some("vendor=1".to_owned()));
    assert!(
        seen.iter().all(|s| s.trace == trace),
        "the trace context went with every attempt: {seen:?}"
    );

    // Subscribers got it once: the next event is the marker.
    let marker = server.hub.emit(Ping).await.unwrap();
    let (first, event) = next_event(&mut sub).await;
    assert_eq!((first, event.type_name.as_str()), (id, "ai.task.progress"));
    assert_eq!(next_event(&mut sub).await.0, marker);
    assert_eq!(server.hub.metrics().events_published, 3);
}

#[tokio::test]
async fn an_idempotency_key_set_by_the_caller_publishes_once_across_calls() {
    let server = start(hub()).await;
    let client = client(&server.url);
    let a = client
        .publish(&progress("k", 1))
        .idempotency_key("job-7-done")
        .await
        .unwrap();
    let b = client
        .publish(&progress("k", 1))
        .idempotency_key("job-7-done")
        .await
        .unwrap();
    assert_eq!(a, b);
    let c = client.publish(&progress("k", 1)).await.unwrap();
    assert_ne!(a, c, "a generated key is new per call");
    assert_eq!(server.hub.metrics().events_published, 2);
}

#[tokio::test]
async fn after_a_restart_the_subscription_reconnects_and_replays_what_it_missed() {
    let mut server = start(hub()).await;
    let client = client(&server.url);
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client
        .subscribe::<AiTaskProgress>()
        .last_event_id(start.to_string());
    let before = client.publish(&progress("r", 1)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.0, before);

    server.stop().await.unwrap();
    // Published while no server listens: only the hub has it.
    let missed = server.hub.emit(progress("r", 2)).await.unwrap();
    let (stop, task) = serve_on(server.hub.clone(), server.addr).await;
    assert_eq!(
        next_event(&mut sub).await,
        (missed, progress("r", 2)),
        "replayed"
    );
    let after = client.publish(&progress("r", 3)).await.unwrap();
    assert_eq!(
        next_event(&mut sub).await.0,
        after,
        "then live, nothing twice"
    );
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn a_server_with_a_new_epoch_is_a_reset_item_then_live_events() {
    let mut server = start(hub()).await;
    let client = client(&server.url);
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client
        .subscribe::<AiTaskProgress>()
        .last_event_id(start.to_string());
    client.publish(&progress("e", 1)).await.unwrap();
    next_event(&mut sub).await;

    server.stop().await.unwrap();
    let fresh = hub().build().unwrap(); // a new process: a new epoch
    let (stop, task) = serve_on(fresh.clone(), server.addr).await;
    assert_eq!(
        next(&mut sub).await.unwrap(),
        Item::Reset(ResetReason::ForeignEpoch)
    );
    let id = client.publish(&progress("e", 2)).await.unwrap();
    assert_eq!(next_event(&mut sub).await, (id, progress("e", 2)));
    let _ = stop.send(());
    task.await.unwrap().unwrap();
}

#[tokio::test]
async fn an_id_evicted_from_the_replay_buffer_is_a_reset_item() {
    let server = start(hub().replay_capacity(2).queue_bound(2)).await;
    let old = server.hub.emit(progress("v", 1)).await.unwrap();
    for p in 2..=5 {
        server.hub.emit(progress("v", p)).await.unwrap();
    }
    let mut sub = client(&server.url)
        .subscribe::<AiTaskProgress>()
        .last_event_id(old.to_string());
    assert_eq!(
        next(&mut sub).await.unwrap(),
        Item::Reset(ResetReason::Evicted)
    );
    let live = server.hub.emit(progress("v", 6)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.0, live);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_subscriber_that_falls_behind_gets_a_lagged_reset_item_and_no_gap() {
    let server = start(hub().queue_bound(64).replay_capacity(64)).await;
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client(&server.url)
        .subscribe::<Note>()
        .last_event_id(start.to_string());
    let first = server
        .hub
        .emit(Note {
            text: "first".into(),
        })
        .await
        .unwrap();
    assert_eq!(next_event(&mut sub).await.0, first, "connected");

    // 16 MiB while nobody polls the subscription: far more than the
    // socket buffers hold, so the server cuts it off.
    let text = "x".repeat(8192);
    let mut last = first;
    for i in 0..2048 {
        last = server
            .hub
            .emit(Note {
                text: format!("{i} {text}"),
            })
            .await
            .unwrap();
    }

    let mut expected_seq = first.seq() + 1;
    loop {
        match next(&mut sub).await {
            Ok(Item::Event { id, .. }) => {
                assert_eq!(id.seq(), expected_seq, "no gap before the reset");
                expected_seq += 1;
            }
            Ok(Item::Reset(reason)) => {
                assert_eq!(reason, ResetReason::Lagged);
                break;
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(
        expected_seq <= last.seq(),
        "it was cut off, not served everything"
    );
    // It reconnects by itself: what follows is a reset (its id left the
    // buffer) or a replay, then live events.
    let live = server
        .hub
        .emit(Note {
            text: "live".into(),
        })
        .await
        .unwrap();
    loop {
        match next(&mut sub).await.unwrap() {
            Item::Event { id, event } if id == live => {
                assert_eq!(event.text, "live");
                break;
            }
            Item::Event { id, .. } => assert!(id.seq() >= expected_seq, "replayed, in order"),
            Item::Reset(reason) => assert_eq!(reason, ResetReason::Evicted),
        }
    }
}

#[tokio::test]
async fn a_refused_subscription_is_an_error_item_then_the_end() {
    let server = start(hub().authorize(|_| Err(Reject::unauthorized("sign in first")))).await;
    let mut sub = client(&server.url).subscribe::<AiTaskProgress>();
    let err = next(&mut sub).await.unwrap_err();
    assert!(err.is_unauthorized(), "{err:?}");
    assert_eq!(err.status(), Some(StatusCode::UNAUTHORIZED));
    assert!(sub.next().await.is_none());

    // A malformed type filter is the server's `400 invalid_types`.
    let open = start(hub()).await;
    let mut sub = client(&open.url).subscribe_types(["Not A Type"]);
    let err = next(&mut sub).await.unwrap_err();
    assert!(err.is_rejected(), "{err:?}");
    assert_eq!(err.code(), Some("invalid_types"));
}

#[tokio::test]
async fn an_event_that_does_not_decode_is_an_error_item_and_the_stream_goes_on() {
    // The server's `app.note` text is any string; this client reads it as a
    // two-variant enum: a value outside its type cannot be read.
    let server = start(hub()).await;
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client(&server.url)
        .subscribe::<MoodNote>()
        .last_event_id(start.to_string());
    let bad = server
        .hub
        .emit(Note {
            text: "furious".into(),
        })
        .await
        .unwrap();
    let good = server
        .hub
        .emit(Note {
            text: "calm".into(),
        })
        .await
        .unwrap();
    let err = next(&mut sub).await.unwrap_err();
    assert!(err.is_decode(), "{err:?}");
    assert_eq!(err.issues()[0].path, "text");
    assert!(err.to_string().contains(&bad.to_string()), "{err}");
    assert_eq!(
        next_event(&mut sub).await,
        (good, MoodNote { text: Mood::Calm })
    );
}

mod strict {
    use continuum_runtime::prelude::*;

    /// What this client knows a note can say.
    #[derive(Payload, Debug, Clone, PartialEq)]
    pub enum Mood {
        Calm,
        Busy,
    }

    /// `app.note` as a client declares it that reads only known moods (a
    /// separate registry entry would clash with the server's, so it is
    /// never registered: the client decodes without the registry).
    #[derive(Payload, Debug, Clone, PartialEq)]
    pub struct MoodNote {
        pub text: Mood,
    }

    impl Event for MoodNote {
        const TYPE: &'static str = "app.note";
        fn schema() -> &'static continuum_runtime::EventSchema {
            <super::Note as Event>::schema()
        }
    }
}
use strict::{Mood, MoodNote};

#[tokio::test]
async fn http2_prior_knowledge_publishes_and_subscribes() {
    let server = start(hub()).await;
    let client = client(&server.url).http2_prior_knowledge();
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client
        .subscribe::<AiTaskProgress>()
        .last_event_id(start.to_string());
    let id = client.publish(&progress("h2", 1)).await.unwrap();
    assert_eq!(next_event(&mut sub).await.0, id);
}
