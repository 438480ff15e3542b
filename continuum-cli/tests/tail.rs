//! `continuum tail` against real servers: the demo process a user runs
//! (`examples/ai_progress`, built if this test run did not build it) and,
//! for type filtering, a hub with two event types served in this process.
//! The built `continuum` binary runs as a child; its lines are read as they
//! come, each wait bounded by a deadline.
#![allow(missing_docs)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

const GUARD: Duration = Duration::from_secs(20);

/// The demo binary beside this test's (built with cargo when missing).
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
            .args(["build", "-p", "continuum", "--example", "ai_progress"])
            .status()
            .expect("cargo build --example ai_progress");
        assert!(status.success());
    }
    binary
}

/// A child process killed when dropped, with its stdout as lines.
struct Proc {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Proc {
    fn spawn(cmd: &mut Command) -> Proc {
        let mut child = cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    return;
                }
            }
        });
        Proc { child, lines }
    }

    /// The first line (from now) for which `f` is true; fails after [`GUARD`].
    fn line(&self, what: &str, f: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + GUARD;
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if f(&line) => return line,
                Ok(line) => seen.push(line),
                Err(_) => panic!("no line {what} within {GUARD:?}; saw {seen:#?}"),
            }
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The demo on `addr` (`127.0.0.1:0`: any port), and its base URL.
fn demo(addr: &str, simulate: bool) -> (Proc, String) {
    let demo = Proc::spawn(
        Command::new(demo_binary())
            .env("CONTINUUM_ADDR", addr)
            .env("CONTINUUM_DEMO_SIMULATE", if simulate { "1" } else { "0" })
            .env_remove("CONTINUUM_REDIS_URL")
            .env_remove("CONTINUUM_EVENT_INGEST_TOKEN")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env("RUST_LOG", "warn"),
    );
    let line = demo.line("with the demo's address", |l| {
        l.starts_with("Continuum demo: open ")
    });
    let base = line["Continuum demo: open ".len()..]
        .trim_end_matches('/')
        .to_owned();
    (demo, base)
}

fn tail(args: &[&str]) -> Proc {
    Proc::spawn(
        Command::new(env!("CARGO_BIN_EXE_continuum"))
            .arg("tail")
            .args(args),
    )
}

/// `POST` `body` to `url` (`http://host:port/path`) over a plain socket; the JSON answer.
fn post(url: &str, body: &str) -> Value {
    let rest = url.strip_prefix("http://").expect("http URL");
    let (host, path) = rest.split_at(rest.find('/').expect("a path"));
    let mut s = TcpStream::connect(host).expect("connect");
    s.set_read_timeout(Some(GUARD)).unwrap();
    write!(
        s,
        "POST {path} HTTP/1.1\r\nhost: {host}\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).expect("answer");
    assert!(answer.starts_with("HTTP/1.1 202"), "{answer}");
    let json = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    serde_json::from_str(json).expect("JSON answer")
}

fn progress(task: &str) -> String {
    format!(
        r#"{{"type":"ai.task.progress","data":{{"taskId":"{task}","stage":"generating","progress":42}}}}"#
    )
}

#[test]
fn tail_prints_the_demos_events_and_a_posted_one_with_its_id_and_type() {
    let (_demo, base) = demo("127.0.0.1:0", true);
    let events = format!("{base}/api/events");
    let tail = tail(&[&events, "--types", "ai.task.*"]);
    tail.line("saying it connected", |l| {
        l.starts_with("-- connected to ") && l.contains(&events)
    });
    // The demo's simulated tasks: time, id, type, compact data.
    let simulated = tail.line("with a simulated event", |l| {
        l.contains("  ai.task.progress  {")
    });
    let fields: Vec<&str> = simulated.splitn(4, "  ").collect();
    assert_eq!(fields.len(), 4, "{simulated}");
    assert!(
        fields[0].ends_with('Z') && fields[0].len() == 24,
        "an RFC 3339 UTC time: {simulated}"
    );
    let data: Value = serde_json::from_str(fields[3]).expect("compact JSON data");
    assert!(data["taskId"].is_string(), "{simulated}");

    let id = post(&events, &progress("from-tail"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let line = tail.line("with the posted event", |l| {
        l.contains("\"taskId\":\"from-tail\"")
    });
    assert!(
        line.contains(&format!("  {id}  ai.task.progress  ")),
        "{line}"
    );
}

#[test]
fn json_lines_parse_and_a_server_restart_shows_a_disconnect_a_reconnect_and_a_reset() {
    let (demo1, base) = demo("127.0.0.1:0", false);
    let events = format!("{base}/api/events");
    let tail = tail(&[&base, "--json"]);
    let json = |l: &str| {
        serde_json::from_str::<Value>(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))
    };
    let connected = json(&tail.line("connected", |l| l.contains("\"connected\"")));
    assert_eq!(
        connected["url"],
        events.as_str(),
        "a URL without a path gets /api/events"
    );
    assert_eq!(connected["reconnect"], false);

    let id = post(&events, &progress("as-json"))["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let event = json(&tail.line("with the event", |l| l.contains("as-json")));
    assert_eq!(event["kind"], "event");
    assert_eq!(event["id"], id.as_str());
    assert_eq!(event["type"], "ai.task.progress");
    assert_eq!(event["data"]["taskId"], "as-json");
    assert!(event["time"].as_str().unwrap().ends_with('Z'));

    // Restart the server on the same port: a new epoch (in-memory).
    drop(demo1);
    let disconnected = json(&tail.line("disconnected", |l| l.contains("\"disconnected\"")));
    assert!(disconnected["retryInMs"].as_u64().is_some());
    let port = base.rsplit(':').next().unwrap();
    let (_demo2, _) = demo(&format!("127.0.0.1:{port}"), false);
    let again = json(&tail.line("reconnected", |l| l.contains("\"connected\"")));
    assert_eq!(again["reconnect"], true);
    assert!(
        again["resumedAfter"].is_string(),
        "it resumed with Last-Event-ID: {again}"
    );
    assert_ne!(again["epoch"], connected["epoch"]);
    let reset = json(&tail.line("with a reset", |l| l.contains("\"reset\"")));
    assert_eq!(reset["reason"], "foreign_epoch");
}

#[test]
fn a_restart_is_visible_in_the_readable_form() {
    let (demo1, base) = demo("127.0.0.1:0", false);
    let tail = tail(&[&base]);
    tail.line("connected", |l| l.starts_with("-- connected to "));
    drop(demo1);
    tail.line("disconnected", |l| {
        l.starts_with("-- disconnected: ") && l.contains("reconnecting in")
    });
    let port = base.rsplit(':').next().unwrap();
    let (_demo2, _) = demo(&format!("127.0.0.1:{port}"), false);
    let again = tail.line("reconnected", |l| l.starts_with("-- reconnected (epoch "));
    assert!(again.contains(", resuming after "), "{again}");
    tail.line("reset", |l| {
        l == "-- reset (foreign_epoch): state may have changed --"
    });
}

mod filtered {
    use continuum_runtime::prelude::*;
    use continuum_runtime::Server;

    #[continuum_event("shop.order.placed")]
    pub struct OrderPlaced {
        pub order: u64,
    }

    #[continuum_event("media.upload.done")]
    pub struct UploadDone {
        pub file: String,
    }

    #[test]
    fn types_filter_what_is_printed_and_the_token_and_headers_are_sent() {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        let hub = Hub::builder()
            .register::<OrderPlaced>()
            .register::<UploadDone>()
            // Subscribers must send both: `-H` and `--token` reach the server.
            .authorize(|parts| {
                let h = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
                match (h("x-user"), h("x-continuum-event-key")) {
                    (Some("ada"), Some("t")) => Ok(continuum_runtime::hub::Grant::public()),
                    _ => Err(continuum_runtime::hub::Reject::unauthorized("who are you?")),
                }
            })
            .build_in(&runtime);
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let url = format!("http://{}/api/events", listener.local_addr().unwrap());
        runtime.spawn(Server::new(hub.clone()).run(listener, std::future::pending::<()>()));

        // Refused without the token the hook wants: exit 1, not a retry loop.
        let refused = std::process::Command::new(env!("CARGO_BIN_EXE_continuum"))
            .args(["tail", &url, "-H", "x-user: ada"])
            .output()
            .unwrap();
        assert_eq!(refused.status.code(), Some(1));
        assert!(String::from_utf8_lossy(&refused.stderr).contains("401"));

        let tail = super::tail(&[
            &url,
            "--types",
            "media.*",
            "-H",
            "x-user: ada",
            "--token",
            "t",
        ]);
        tail.line("connected", |l| l.starts_with("-- connected to "));
        runtime.block_on(async {
            hub.emit(OrderPlaced { order: 1 }).await.unwrap();
            hub.emit(UploadDone {
                file: "a.png".into(),
            })
            .await
            .unwrap();
        });
        // The stream is ordered: the first event printed after the order
        // was published is the upload, so the order was filtered out.
        let first = tail.line("with an event", |l| !l.starts_with("--"));
        assert!(
            first.contains("  media.upload.done  {\"file\":\"a.png\"}"),
            "{first}"
        );
    }

    trait BuildIn {
        fn build_in(self, rt: &tokio::runtime::Runtime) -> Hub;
    }

    impl BuildIn for continuum_runtime::HubBuilder {
        fn build_in(self, rt: &tokio::runtime::Runtime) -> Hub {
            let _in = rt.enter();
            self.build().unwrap()
        }
    }
}
