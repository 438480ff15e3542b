//! The typed Rust client as a tolerant reader (issue 18) and a keyed-state
//! client (issue 19), over real sockets: an older build's subscriber reads a
//! newer server's events (fields it lacks ignored, widened constraints not
//! re-checked) from the real server; and against a small SSE server in this
//! file that speaks the wave-3 protocol frame by frame, it ignores control
//! events it does not know, takes an unknown reset reason as a reset, skips
//! and counts events it does not read, sends its contract (`contract=`),
//! surfaces a `contract` reset, and builds keyed state from `snapshot=true`
//! (a snapshot whole, live and conflated events by key, a reset then a new
//! snapshot, resuming with `Last-Event-ID`).

mod http_support;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use continuum_runtime::client::{Client, Item, ResetReason, StateUpdate};
use continuum_runtime::contract::Contract;
use continuum_runtime::decode::decode_event;
use continuum_runtime::id::{Epoch, EventId};
use continuum_runtime::prelude::*;
use continuum_runtime::Registry;
use http_support::*;
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Who owns a job (the newer declaration).
#[derive(Payload, Debug, Clone, PartialEq)]
pub struct Owner {
    /// Their name.
    pub name: String,
    /// Added by the newer build.
    pub team: Option<String>,
}

/// A job's progress, as the NEWER build (the server) declares it: `eta` and
/// `owner.team` are new, and `percent` lost its upper bound.
#[continuum_event("app.job.progress")]
#[derive(Debug, Clone, PartialEq)]
pub struct JobProgress {
    /// The job.
    pub job_id: String,
    /// Percent done; past 100 when the job overran its estimate.
    pub percent: u16,
    /// Seconds left.
    pub eta: Option<u32>,
    /// Who owns it.
    pub owner: Owner,
}

mod older {
    use continuum_runtime::prelude::*;

    /// The owner as the OLDER build declares it.
    #[derive(Payload, Debug, Clone, PartialEq)]
    pub struct Owner {
        pub name: String,
    }

    /// `app.job.progress` as the OLDER build (the subscriber) declares it:
    /// no `eta`, no `owner.team`, `percent` at most 100. Never registered
    /// (it would clash with the server's), as in a separate service.
    #[derive(Payload, Debug, Clone, PartialEq)]
    pub struct JobProgress {
        pub job_id: String,
        #[event(range(max = 100))]
        pub percent: u16,
        pub owner: Owner,
    }

    impl Event for JobProgress {
        const TYPE: &'static str = "app.job.progress";
        fn schema() -> &'static continuum_runtime::EventSchema {
            <super::JobProgress as Event>::schema()
        }
    }
}

fn client(url: &str) -> Client {
    Client::new(url).backoff(Duration::from_millis(10), Duration::from_millis(50))
}

#[tokio::test]
async fn an_older_subscriber_reads_a_newer_servers_event_ignoring_what_it_lacks() {
    let server = start(Hub::builder()).await;
    let start = server.hub.emit(Ping).await.unwrap();
    let mut sub = client(&server.url)
        .subscribe::<older::JobProgress>()
        .last_event_id(start.to_string());
    let newer = JobProgress {
        job_id: "j-1".into(),
        percent: 150,
        eta: Some(30),
        owner: Owner {
            name: "ada".into(),
            team: Some("infra".into()),
        },
    };
    // What ingest's decoder (the old client's) says about this payload:
    let wire = serde_json::to_string(&newer).unwrap();
    let strict = decode_event::<older::JobProgress>(&wire).unwrap_err();
    let codes: Vec<&str> = strict.issues().iter().map(|i| i.code.as_str()).collect();
    assert!(codes.contains(&"unknown_field"), "{codes:?}");

    let id = server.hub.emit(newer).await.unwrap();
    let got = guarded("the newer event", sub.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        got,
        Item::Event {
            id,
            event: older::JobProgress {
                job_id: "j-1".into(),
                percent: 150,
                owner: older::Owner { name: "ada".into() },
            }
        }
    );

    // The untyped form reads the same way.
    let mut raw = client(&server.url)
        .subscribe_types(["app.job.*"])
        .last_event_id(start.to_string());
    let Item::Event { event, .. } = guarded("raw", raw.next()).await.unwrap().unwrap() else {
        panic!("expected an event");
    };
    assert_eq!(event.read::<older::JobProgress>().unwrap().percent, 150);
    assert!(event.decode::<older::JobProgress>().is_err());
}

/// A scripted SSE server: for connection `n`, the frames to send and
/// whether to end the stream after them. Records each request's head.
async fn sse_server(script: fn(usize) -> (Vec<String>, bool)) -> (String, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/api/events", listener.local_addr().unwrap());
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    tokio::spawn(async move {
        loop {
            let (mut socket, _) = listener.accept().await.unwrap();
            let seen = seen.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    let n = socket.read(&mut buf).await.unwrap();
                    if n == 0 {
                        return;
                    }
                    head.extend_from_slice(&buf[..n]);
                }
                let n = {
                    let mut heads = seen.lock().unwrap();
                    heads.push(String::from_utf8_lossy(&head).to_ascii_lowercase());
                    heads.len() - 1
                };
                let (frames, close) = script(n);
                let mut out = String::from(
                    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\nretry: 20\n\n",
                );
                out.extend(frames);
                socket.write_all(out.as_bytes()).await.unwrap();
                if close {
                    let _ = socket.shutdown().await;
                } else {
                    std::future::pending::<()>().await;
                }
            });
        }
    });
    (url, heads)
}

fn id(seq: u64) -> String {
    EventId::new(Epoch::new(7), seq).to_string()
}

fn connected() -> String {
    "event: continuum.connected\ndata: {\"connectionId\":\"c\",\"epoch\":\"e\",\"region\":\"new\"}\n\n"
        .into()
}

fn control(name: &str, body: serde_json::Value) -> String {
    format!("event: {name}\ndata: {body}\n\n")
}

fn job(seq: u64, job: &str, percent: u16) -> String {
    let data =
        json!({"jobId": job, "percent": percent, "eta": 1, "owner": {"name": "ada", "team": "t"}});
    format!(
        "id: {}\nevent: app.job.progress\ndata: {}\n\n",
        id(seq),
        json!({"type": "app.job.progress", "data": data, "version": 2})
    )
}

#[tokio::test]
async fn unknown_control_events_and_reasons_are_tolerated_and_other_types_are_skipped_and_counted()
{
    let (url, heads) = sse_server(|_| {
        let other = format!(
            "id: {}\nevent: app.job.cancelled\ndata: {}\n\n",
            id(2),
            json!({"type": "app.job.cancelled", "data": {"jobId": "j"}})
        );
        let frames = vec![
            connected(),
            control("continuum.future", json!({"whatever": true})),
            job(1, "a", 10),
            other,
            control("continuum.reset", json!({"reason": "cosmic_ray", "x": 1})),
            job(3, "a", 20),
        ];
        (frames, false)
    })
    .await;
    let mut sub = client(&url).subscribe::<older::JobProgress>();
    let mut items = Vec::new();
    for _ in 0..3 {
        items.push(guarded("an item", sub.next()).await.unwrap().unwrap());
    }
    let percents: Vec<String> = items
        .iter()
        .map(|i| match i {
            Item::Event { event, .. } => event.percent.to_string(),
            Item::Reset(r) => format!("reset {r}"),
        })
        .collect();
    assert_eq!(percents, ["10", "reset cosmic_ray", "20"]);
    assert_eq!(
        items[1],
        Item::Reset(ResetReason::Other("cosmic_ray".into()))
    );
    assert_eq!(sub.skipped(), 1, "the event of another type");

    // It sent the contract of every event linked into this binary.
    let linked = Contract::of(&Registry::from_inventory().unwrap()).fingerprint();
    let head = heads.lock().unwrap()[0].clone();
    assert!(
        head.starts_with(&format!(
            "get /api/events?types=app.job.progress&contract={linked} "
        )),
        "{head}"
    );
}

#[tokio::test]
async fn a_contract_reset_is_its_own_reason_and_the_given_contract_is_sent() {
    let (url, heads) = sse_server(|_| {
        let reset = json!({"reason": "contract", "types": ["app.job.progress"]});
        (vec![connected(), control("continuum.reset", reset)], false)
    })
    .await;
    let mut registry = Registry::new();
    registry.register::<UploadDone>().unwrap();
    let mut sub = client(&url)
        .contract(&registry)
        .subscribe::<older::JobProgress>();
    let item = guarded("the reset", sub.next()).await.unwrap().unwrap();
    assert_eq!(item, Item::Reset(ResetReason::Contract));
    let fingerprint = Contract::of(&registry).fingerprint();
    assert!(heads.lock().unwrap()[0].contains(&format!("&contract={fingerprint} ")));
}

#[tokio::test]
async fn state_is_built_from_the_snapshot_kept_by_key_and_rebuilt_whole_after_a_reset() {
    let (url, heads) = sse_server(|n| match n {
        0 => (
            vec![
                connected(),
                job(1, "a", 10),
                job(2, "b", 20),
                control(
                    "continuum.snapshot",
                    json!({"count": 2, "types": ["app.job.progress"]}),
                ),
                job(3, "a", 30),
                // Conflated for a slow subscriber: the latest per key.
                job(6, "b", 60),
                job(7, "c", 70),
            ],
            true, // then the server goes away
        ),
        _ => (
            vec![
                connected(),
                control("continuum.reset", json!({"reason": "foreign_epoch"})),
                job(11, "c", 90),
                job(12, "d", 5),
                control(
                    "continuum.snapshot",
                    json!({"count": 2, "types": ["app.job.progress"]}),
                ),
                job(13, "d", 6),
            ],
            false,
        ),
    })
    .await;
    let mut tasks = client(&url)
        .subscribe_state::<older::JobProgress>()
        .key_field("jobId");
    assert!(!tasks.is_ready());
    let mut seen = Vec::new();
    for _ in 0..7 {
        let update = guarded("an update", tasks.next()).await.unwrap().unwrap();
        let state: Vec<String> = tasks
            .state()
            .iter()
            .map(|(k, v)| format!("{k}={}", v.percent))
            .collect();
        let what = match update {
            StateUpdate::Snapshot { keys } => format!("snapshot {keys}"),
            StateUpdate::Changed { key, id } => format!("{key} #{}", id.seq()),
            StateUpdate::Reset(reason) => format!("reset {reason}"),
        };
        seen.push(format!("{what}: {}", state.join(" ")));
    }
    assert_eq!(
        seen,
        [
            "snapshot 2: a=10 b=20",
            "a #3: a=30 b=20",
            "b #6: a=30 b=60",
            "c #7: a=30 b=60 c=70",
            "reset foreign_epoch: a=30 b=60 c=70", // kept until the new snapshot
            "snapshot 2: c=90 d=5",
            "d #13: c=90 d=6",
        ]
    );
    assert!(tasks.is_ready());
    let heads = heads.lock().unwrap();
    assert!(heads[0].contains("&snapshot=true "), "{}", heads[0]);
    assert!(heads[1].contains("&snapshot=true "), "{}", heads[1]);
    assert!(
        heads[1].contains(&format!("last-event-id: {}", id(7).to_ascii_lowercase())),
        "{}",
        heads[1]
    );
}

#[tokio::test]
async fn a_snapshot_cut_short_then_replayed_is_not_waited_for_forever() {
    let (url, heads) = sse_server(|n| match n {
        0 => (vec![connected(), job(1, "a", 10)], true), // cut before its end
        // The last id is still in the buffer: a plain replay, no snapshot.
        _ => (vec![connected(), job(2, "b", 20), job(3, "a", 30)], false),
    })
    .await;
    let mut tasks = client(&url)
        .subscribe_state::<older::JobProgress>()
        .key_field("jobId");
    let mut seen = Vec::new();
    for _ in 0..3 {
        seen.push(guarded("an update", tasks.next()).await.unwrap().unwrap());
    }
    assert_eq!(seen[0], StateUpdate::Snapshot { keys: 1 });
    assert!(matches!(&seen[1], StateUpdate::Changed { key, .. } if key == "b"));
    assert!(matches!(&seen[2], StateUpdate::Changed { key, .. } if key == "a"));
    let state: Vec<(&str, u16)> = tasks
        .state()
        .iter()
        .map(|(k, v)| (k.as_str(), v.percent))
        .collect();
    assert_eq!(state, [("a", 30), ("b", 20)]);
    assert!(heads.lock().unwrap()[1]
        .contains(&format!("last-event-id: {}", id(1).to_ascii_lowercase())));
}

#[tokio::test]
async fn state_of_an_event_without_a_key_is_one_error_then_the_end() {
    let mut tasks = client("http://127.0.0.1:9/api/events").subscribe_state::<Note>();
    let err = guarded("the error", tasks.next())
        .await
        .unwrap()
        .unwrap_err();
    assert!(err.is_builder(), "{err:?}");
    assert!(err.to_string().contains("has no key"), "{err}");
    assert!(tasks.next().await.is_none());
}

/// A keyed event (the real server keeps its latest per job).
#[continuum_event("app.job.state", key = job_id)]
#[derive(Debug, Clone, PartialEq)]
pub struct JobState {
    /// The job.
    pub job_id: String,
    /// Percent done.
    pub percent: u8,
}

#[tokio::test]
async fn subscribe_state_against_the_real_server_starts_from_its_snapshot() {
    let server = start(Hub::builder()).await;
    let job = |id: &str, percent| JobState {
        job_id: id.into(),
        percent,
    };
    server.hub.emit(job("a", 10)).await.unwrap();
    server.hub.emit(job("b", 20)).await.unwrap();
    server.hub.emit(job("a", 30)).await.unwrap();
    // Keyed by the declaration's `key = job_id`: no `key_field` needed.
    let mut jobs = client(&server.url).subscribe_state::<JobState>();
    let first = guarded("the snapshot", jobs.next()).await.unwrap().unwrap();
    assert_eq!(first, StateUpdate::Snapshot { keys: 2 });
    let state: Vec<(&str, u8)> = jobs
        .state()
        .iter()
        .map(|(k, v)| (k.as_str(), v.percent))
        .collect();
    assert_eq!(state, [("a", 30), ("b", 20)]);
    let id = server.hub.emit(job("b", 40)).await.unwrap();
    assert_eq!(
        guarded("a change", jobs.next()).await.unwrap().unwrap(),
        StateUpdate::Changed {
            key: "b".into(),
            id
        }
    );
    assert_eq!(jobs.state()["b"].percent, 40);
}
