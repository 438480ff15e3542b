//! Two demo processes (`examples/ai_progress`, the binary a user runs) over
//! one real `redis-server`, checked from outside over HTTP only: an event
//! POSTed to one reaches a subscriber of the other with the same id, ids
//! replay across them, an idempotency key holds across them, Redis killed
//! gives `503` without a hang while subscribers keep their heartbeats, and
//! Redis restarted empty gives a `stream_lost` reset, never a silent gap.

#[path = "../continuum-runtime/tests/redis_support/mod.rs"]
mod redis_support;

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use redis_support::Redis;
use serde_json::Value;

const GUARD: Duration = Duration::from_secs(20);

/// The demo binary `cargo test` built beside this test (building it if a
/// narrower `cargo test --test scale_out` did not).
fn demo_binary() -> PathBuf {
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>");
    let binary = profile_dir.join("examples").join("ai_progress");
    if !binary.is_file() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "--example", "ai_progress"])
            .status()
            .expect("cargo build --example ai_progress");
        assert!(status.success());
    }
    binary
}

/// One demo process; killed when dropped.
struct Node {
    child: Child,
    base: String,
}

impl Node {
    fn start(redis: &Redis) -> Node {
        let mut child = Command::new(demo_binary())
            .env("CONTINUUM_ADDR", "127.0.0.1:0")
            .env("CONTINUUM_REDIS_URL", redis.url())
            .env("CONTINUUM_DEMO_SIMULATE", "0")
            .env("CONTINUUM_HEARTBEAT_SECS", "1")
            .env_remove("CONTINUUM_EVENT_INGEST_TOKEN")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the demo");
        // The demo prints its address once it listens (port 0: any free one).
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = BufReader::new(stdout).lines();
        let base = lines
            .by_ref()
            .map_while(Result::ok)
            .find_map(|line| {
                let url = line.strip_prefix("Continuum demo: open ")?;
                Some(url.trim_end_matches('/').to_owned())
            })
            .expect("the demo prints its address");
        std::thread::spawn(move || lines.for_each(drop));
        Node { child, base }
    }

    fn events(&self) -> String {
        format!("{}/api/events", self.base)
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Posted {
    status: u16,
    headers: reqwest::header::HeaderMap,
    json: Value,
}

async fn post(url: &str, body: &str, headers: &[(&str, &str)]) -> Posted {
    let mut req = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_owned());
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let res = tokio::time::timeout(GUARD, req.send())
        .await
        .expect("answer in time")
        .expect("POST");
    let status = res.status().as_u16();
    let headers = res.headers().clone();
    let json = res.json().await.unwrap_or(Value::Null);
    Posted {
        status,
        headers,
        json,
    }
}

fn progress(task: &str, progress: u8) -> String {
    format!(
        r#"{{"type": "ai.task.progress", "data": {{"taskId": "{task}", "stage": "generating", "progress": {progress}}}}}"#
    )
}

/// Raw SSE frames (comments included) of one subscription.
struct Frames {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    buf: String,
}

impl Frames {
    async fn open(url: &str, last_event_id: Option<&str>) -> Frames {
        let mut req = reqwest::Client::new().get(url);
        if let Some(id) = last_event_id {
            req = req.header("last-event-id", id);
        }
        let res = tokio::time::timeout(GUARD, req.send())
            .await
            .expect("in time")
            .expect("GET");
        assert_eq!(res.status(), 200);
        Frames {
            body: Box::pin(res.bytes_stream()),
            buf: String::new(),
        }
    }

    /// The next frame: `(id, event, data)`, or `("", "", ":")` for a heartbeat.
    async fn next(&mut self) -> (String, String, String) {
        loop {
            if let Some(end) = self.buf.find("\n\n") {
                let frame: String = self.buf.drain(..end + 2).collect();
                let (mut id, mut event, mut data) = (String::new(), String::new(), String::new());
                for line in frame.lines() {
                    if line == ":" {
                        data = ":".into();
                    } else if let Some(v) = line.strip_prefix("id: ") {
                        id = v.into();
                    } else if let Some(v) = line.strip_prefix("event: ") {
                        event = v.into();
                    } else if let Some(v) = line.strip_prefix("data: ") {
                        data = v.into();
                    }
                }
                if !(id.is_empty() && event.is_empty() && data.is_empty()) {
                    return (id, event, data);
                }
                continue;
            }
            let chunk = tokio::time::timeout(GUARD, self.body.next())
                .await
                .expect("a frame in time")
                .expect("stream open")
                .expect("body");
            self.buf.push_str(&String::from_utf8_lossy(&chunk));
        }
    }

    /// The next frame that is not a heartbeat.
    async fn next_event(&mut self) -> (String, String, String) {
        loop {
            let f = self.next().await;
            if f.2 != ":" {
                return f;
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_demo_processes_over_one_redis_behave_as_one_hub() {
    let Some(mut redis) = Redis::start("two_demo_processes_over_one_redis") else {
        return;
    };
    let a = Node::start(&redis);
    let b = Node::start(&redis);

    // The page says which node served it.
    let page = reqwest::get(format!("{}/", b.base))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let b_addr = b.base.trim_start_matches("http://");
    assert!(
        page.contains(&format!("{b_addr} (shared over Redis)")),
        "node name on the page"
    );

    // An event POSTed to A reaches B's subscriber with A's id.
    let mut on_b = Frames::open(&b.events(), None).await;
    assert_eq!(on_b.next_event().await.1, "continuum.connected");
    let first = post(&a.events(), &progress("t1", 10), &[]).await;
    assert_eq!(first.status, 202, "{:?}", first.json);
    let first_id = first.json["id"].as_str().unwrap().to_owned();
    let (id, event, data) = on_b.next_event().await;
    assert_eq!(
        (id.as_str(), event.as_str()),
        (first_id.as_str(), "ai.task.progress")
    );
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap()["data"]["taskId"],
        "t1"
    );

    // Events POSTed to B replay on A after an id A issued.
    let mut later = Vec::new();
    for p in [20, 30] {
        later.push(
            post(&b.events(), &progress("t1", p), &[]).await.json["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let mut on_a = Frames::open(&a.events(), Some(&first_id)).await;
    assert_eq!(on_a.next_event().await.1, "continuum.connected");
    assert_eq!(on_a.next_event().await.0, later[0]);
    assert_eq!(on_a.next_event().await.0, later[1]);

    // An idempotency key retried on the other node publishes once.
    let key = [("idempotency-key", "demo-retry-1")];
    let once = post(&a.events(), &progress("t2", 50), &key).await;
    let again = post(&b.events(), &progress("t2", 50), &key).await;
    assert_eq!(again.status, 202);
    assert_eq!(again.json["id"], once.json["id"]);
    assert_eq!(again.headers["idempotent-replayed"], "true");
    for id in &later {
        assert_eq!(&on_b.next_event().await.0, id);
    }
    assert_eq!(on_b.next_event().await.0, once.json["id"].as_str().unwrap());

    // Redis killed: A answers 503 promptly; B's subscriber keeps its heartbeats.
    redis.kill();
    let mut refused = None;
    for _ in 0..40 {
        let t = Instant::now();
        let r = post(&a.events(), &progress("t3", 1), &[]).await;
        assert!(
            t.elapsed() < Duration::from_secs(3),
            "no hang: {:?}",
            t.elapsed()
        );
        if r.status == 503 {
            refused = Some(r);
            break;
        }
    }
    let refused = refused.expect("503 while redis is down");
    assert_eq!(refused.json["error"], "backplane_unavailable");
    assert!(refused.headers.contains_key("retry-after"));
    let mut beats = 0;
    while beats < 2 {
        let (_, event, data) = on_b.next().await;
        assert!(
            event.is_empty() && data == ":",
            "only heartbeats while redis is down: {event} {data}"
        );
        beats += 1;
    }

    // Redis back, empty: B's subscriber is told to reset, then events flow.
    redis.restart_empty();
    let deadline = Instant::now() + GUARD;
    let after = loop {
        let r = post(&a.events(), &progress("t4", 99), &[]).await;
        if r.status == 202 {
            break r;
        }
        assert_eq!(r.status, 503, "{:?}", r.json);
        assert!(Instant::now() < deadline, "redis back within {GUARD:?}");
        let wait: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
        tokio::time::sleep(Duration::from_millis(wait.min(1) * 200)).await;
    };
    let (_, event, data) = on_b.next_event().await;
    assert_eq!(event, "continuum.reset");
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap()["reason"],
        "stream_lost"
    );
    let (id, _, data) = on_b.next_event().await;
    assert_eq!(id, after.json["id"].as_str().unwrap());
    assert_eq!(
        serde_json::from_str::<Value>(&data).unwrap()["data"]["taskId"],
        "t4"
    );
}
