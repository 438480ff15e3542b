//! Shared helpers for the over-TCP HTTP tests: declared events, a server on
//! an ephemeral port, a real client (reqwest) and an independent SSE parser
//! (eventsource-stream).
#![allow(dead_code)]

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use continuum_runtime::prelude::*;
use continuum_runtime::{HubBuilder, Server};
use eventsource_stream::{Event as SseEvent, Eventsource};
use futures_util::{Stream, StreamExt};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// How long any single wait may take before the test fails (a failure
/// guard, not a delay: every wait ends as soon as its signal arrives).
pub const GUARD: Duration = Duration::from_secs(10);

/// Stage of a task.
#[derive(Payload, Debug, Clone, Copy, PartialEq)]
pub enum Stage {
    /// Waiting.
    Queued,
    /// Building the prompt.
    Prompting,
    /// Finished.
    Done,
}

/// Progress of one AI generation task.
#[continuum_event("ai.task.progress")]
#[derive(Debug, Clone, PartialEq)]
pub struct AiTaskProgress {
    /// The task.
    #[event(length(min = 1, max = 128))]
    pub task_id: String,
    /// Where it is.
    pub stage: Stage,
    /// Percent.
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
}

/// An upload finished.
#[continuum_event("media.upload.done")]
#[derive(Debug, Clone, PartialEq)]
pub struct UploadDone {
    /// The file.
    pub file: String,
}

/// A note with free text (framing tests).
#[continuum_event("app.note")]
#[derive(Debug, Clone, PartialEq)]
pub struct Note {
    /// Anything, newlines and all.
    pub text: String,
}

/// A unit event.
#[continuum_event("app.ping")]
pub struct Ping;

pub fn progress(task: &str, progress: u8) -> AiTaskProgress {
    AiTaskProgress {
        task_id: task.into(),
        stage: Stage::Prompting,
        progress,
    }
}

/// A server on 127.0.0.1:<ephemeral>, stopped by [`TestServer::stop`].
pub struct TestServer {
    pub hub: Hub,
    pub addr: SocketAddr,
    /// `http://127.0.0.1:port/api/events`
    pub url: String,
    stop: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<io::Result<()>>>,
}

pub async fn start(builder: HubBuilder) -> TestServer {
    start_with(builder, Server::new).await
}

pub async fn start_with(builder: HubBuilder, server: impl FnOnce(Hub) -> Server) -> TestServer {
    serve_hub(builder.build().expect("hub builds"), server).await
}

/// Serve an existing hub (e.g. again, after a shutdown).
pub async fn serve_hub(hub: Hub, server: impl FnOnce(Hub) -> Server) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (stop, stopped) = oneshot::channel::<()>();
    let url = format!("http://{addr}{}", hub.config().path());
    let task = tokio::spawn(server(hub.clone()).run(listener, async move {
        let _ = stopped.await;
    }));
    TestServer {
        hub,
        addr,
        url,
        stop: Some(stop),
        task: Some(task),
    }
}

impl TestServer {
    /// Signal shutdown and wait for the server to return.
    pub async fn stop(&mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let task = self.task.take().expect("server still running");
        tokio::time::timeout(GUARD, task)
            .await
            .expect("server stops in time")
            .expect("server task")
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder().build().expect("client")
}

/// A parsed JSON answer.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub json: Value,
}

/// POST `body` as `application/json` with extra headers.
pub async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> Answer {
    let mut req = client()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    answer(req).await
}

pub async fn answer(req: reqwest::RequestBuilder) -> Answer {
    let res = tokio::time::timeout(GUARD, req.send())
        .await
        .expect("answer in time")
        .expect("request");
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.bytes().await.expect("body");
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {:?}", String::from_utf8_lossy(&bytes)))
    };
    Answer {
        status,
        headers,
        json,
    }
}

/// The `error` code of an error answer, after checking the status and shape.
pub fn error_code(a: &Answer, status: u16) -> String {
    assert_eq!(a.status.as_u16(), status, "{:?}", a.json);
    assert_eq!(a.headers["content-type"], "application/json");
    assert!(a.json["message"].is_string(), "{:?}", a.json);
    a.json["error"].as_str().expect("error code").to_owned()
}

/// `(path, code)` of every issue in a `422`.
pub fn issues(a: &Answer) -> Vec<(String, String)> {
    a.json["issues"]
        .as_array()
        .expect("issues")
        .iter()
        .map(|i| {
            assert!(i["message"].is_string());
            (
                i["path"].as_str().unwrap().to_owned(),
                i["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

type EventItems = Pin<Box<dyn Stream<Item = Result<SseEvent, String>> + Send>>;

/// An open subscription, decoded by `eventsource-stream`.
pub struct Sub {
    pub status: StatusCode,
    pub version: reqwest::Version,
    pub headers: HeaderMap,
    events: EventItems,
    /// The `continuum.connected` handshake.
    pub connected: SseEvent,
}

/// Subscribe over HTTP/1.1 with extra headers; asserts 200 and reads the handshake.
pub async fn subscribe(url: &str, headers: &[(&str, &str)]) -> Sub {
    subscribe_with(&client(), url, headers).await
}

pub async fn subscribe_with(client: &reqwest::Client, url: &str, headers: &[(&str, &str)]) -> Sub {
    let mut req = client.get(url);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = tokio::time::timeout(GUARD, req.send())
        .await
        .expect("subscribe in time")
        .expect("subscribe");
    let status = res.status();
    let version = res.version();
    assert_eq!(status, StatusCode::OK, "subscribe refused");
    let headers = res.headers().clone();
    let events: EventItems = Box::pin(
        res.bytes_stream()
            .eventsource()
            .map(|r| r.map_err(|e| e.to_string())),
    );
    let mut sub = Sub {
        status,
        version,
        headers,
        events,
        connected: SseEvent::default(),
    };
    let first = sub.next().await;
    assert_eq!(
        first.event, "continuum.connected",
        "first frame is the handshake: {first:?}"
    );
    sub.connected = first;
    sub
}

impl Sub {
    /// The next event (any type); fails the test on error, end, or after [`GUARD`].
    pub async fn next(&mut self) -> SseEvent {
        match tokio::time::timeout(GUARD, self.events.next()).await {
            Ok(Some(Ok(e))) => e,
            Ok(Some(Err(e))) => panic!("stream error: {e}"),
            Ok(None) => panic!("stream ended"),
            Err(_) => panic!("no event within {GUARD:?}"),
        }
    }

    /// Events up to and including the first for which `last` holds.
    pub async fn until(&mut self, last: impl Fn(&SseEvent) -> bool) -> Vec<SseEvent> {
        let mut out = Vec::new();
        loop {
            let e = self.next().await;
            let done = last(&e);
            out.push(e);
            if done {
                return out;
            }
        }
    }

    /// Wait for the stream to end; `Ok(())` for a clean end, `Err` for a
    /// transport error. Events before the end are returned.
    pub async fn end(&mut self) -> (Vec<SseEvent>, Result<(), String>) {
        let mut seen = Vec::new();
        loop {
            match tokio::time::timeout(GUARD, self.events.next())
                .await
                .expect("stream ends in time")
            {
                Some(Ok(e)) => seen.push(e),
                Some(Err(e)) => return (seen, Err(e)),
                None => return (seen, Ok(())),
            }
        }
    }
}

/// The envelope carried as an event's data.
pub fn envelope(e: &SseEvent) -> Value {
    serde_json::from_str(&e.data)
        .unwrap_or_else(|err| panic!("data is not JSON ({err}): {:?}", e.data))
}

/// Run `f` with a [`GUARD`] timeout.
pub async fn guarded<T>(what: &str, f: impl Future<Output = T>) -> T {
    tokio::time::timeout(GUARD, f)
        .await
        .unwrap_or_else(|_| panic!("{what}: no result within {GUARD:?}"))
}

/// Decode the whole stream a stalled subscriber finally read, check it is the
/// handshake, some events and a `lagged` reset last, and return the ids of
/// the events delivered in between.
pub async fn ids_before_lag_reset(body: impl AsRef<[u8]>) -> Vec<String> {
    let body = body.as_ref().to_vec();
    let events: Vec<SseEvent> =
        futures_util::stream::iter([Ok::<_, std::convert::Infallible>(body)])
            .eventsource()
            .map(|e| e.expect("a well-formed SSE stream"))
            .collect()
            .await;
    let (last, before) = events.split_last().expect("at least the reset");
    assert_eq!(last.event, "continuum.reset");
    assert_eq!(envelope(last), serde_json::json!({"reason": "lagged"}));
    assert_eq!(before[0].event, "continuum.connected");
    before[1..].iter().map(|e| e.id.clone()).collect()
}
