//! The demo page in a real browser: Debian's headless Chromium, driven through
//! chromedriver (WebDriver, via `fantoccini`), against the very server
//! `cargo run --example ai_progress` starts.
//!
//! The test POSTs events with a real HTTP client and reads the page's DOM;
//! then it stops the server, starts a new one (a new epoch) on the same port,
//! and checks that the page reconnects on its own, is told to reset, and shows
//! events published after the restart. A screenshot is written to
//! `target/browser-artifacts/demo.png`.
//!
//! Needs `chromium` and `chromedriver` (`apt-get install chromium chromium-driver`).
//! Outside CI a missing browser skips the test with a loud message; under
//! `CI=true` it fails.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use continuum::demo::{DemoOptions, DemoServer};
use continuum_runtime::Hub;
use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::net::TcpListener;

const WAIT: Duration = Duration::from_secs(20);

fn find(program: &str, candidates: &[&str]) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| candidates.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Kills chromedriver (and with it the browser) when the test ends, pass or fail.
struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

async fn start_driver(chromedriver: &Path) -> (Driver, u16) {
    let port = free_port().await;
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let driver = Driver(child);
    // chromedriver prints nothing we can wait on reliably; wait until it accepts.
    let deadline = Instant::now() + WAIT;
    while tokio::net::TcpStream::connect(("127.0.0.1", port))
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "chromedriver did not listen on {port}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (driver, port)
}

async fn open_browser(chromium: &Path, driver_port: u16, profile: &Path) -> Client {
    let mut caps = serde_json::Map::new();
    caps.insert(
        "goog:chromeOptions".into(),
        json!({
            "binary": chromium,
            "args": [
                "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1100,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        }),
    );
    ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
        .capabilities(caps)
        .connect(&format!("http://127.0.0.1:{driver_port}"))
        .await
        .expect("open a chromium session through chromedriver")
}

/// Run `script` in the page until it returns `expected`, or fail with what it last returned.
async fn wait_for(browser: &Client, what: &str, script: &str, expected: Value) {
    let deadline = Instant::now() + WAIT;
    let mut last = Value::Null;
    while Instant::now() < deadline {
        last = browser
            .execute(script, vec![])
            .await
            .expect("run script in page");
        if last == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("timed out waiting for {what}: expected {expected}, last saw {last}");
}

async fn post(addr: SocketAddr, body: Value) -> reqwest::StatusCode {
    reqwest::Client::new()
        .post(format!("http://{addr}/api/events"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .expect("POST an event")
        .status()
}

fn progress(task: &str, stage: &str, progress: u8) -> Value {
    json!({"type": "ai.task.progress", "data": {"taskId": task, "stage": stage, "progress": progress}})
}

fn task_state(task: &str) -> String {
    format!(
        "const row = document.querySelector('.task[data-task-id=\"{task}\"]');
         return row ? [row.dataset.stage, row.querySelector('progress').value, row.querySelector('.stage').textContent, row.dataset.done] : null;"
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_page_shows_live_events_and_survives_a_restart() {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    let chromium = find(
        "chromium",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let chromedriver = find("chromedriver", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(!ci, "CI=true but chromium/chromedriver are missing: install them with `apt-get install chromium chromium-driver`");
        eprintln!(
            "\n!!!!!!!! SKIPPED the real-browser test: chromium and/or chromedriver not found."
        );
        eprintln!(
            "!!!!!!!! Install them with `apt-get install chromium chromium-driver` to run it.\n"
        );
        return;
    };

    let options = DemoOptions {
        simulate: false,
        ..DemoOptions::default()
    };
    // `Hub::builder()`, not `HubBuilder::from_env()`: the test must not pick up
    // a token or origins from the environment it runs in.
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = DemoServer::start(listener, Hub::builder(), options.clone())
        .await
        .unwrap();

    let profile = std::env::temp_dir().join(format!("continuum-chromium-{}", std::process::id()));
    let (_driver, driver_port) = start_driver(&chromedriver).await;
    let browser = open_browser(&chromium, driver_port, &profile).await;
    browser
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the demo page");

    let status = "return document.getElementById('status').dataset.state;";
    wait_for(&browser, "the page to connect", status, json!("connected")).await;

    // Events from outside move the bar, set the stage, and complete the task.
    assert_eq!(
        post(addr, progress("browser-1", "generating", 42)).await,
        202
    );
    wait_for(
        &browser,
        "42 %",
        &task_state("browser-1"),
        json!(["generating", 42, "generating", "false"]),
    )
    .await;
    assert_eq!(post(addr, progress("browser-1", "done", 100)).await, 202);
    wait_for(
        &browser,
        "completion",
        &task_state("browser-1"),
        json!(["done", 100, "done", "true"]),
    )
    .await;

    // An invalid event is refused and never reaches the page.
    assert_eq!(
        post(addr, progress("browser-bad", "generating", 101)).await,
        422
    );

    // Restart on the same port: a new hub, so a new epoch.
    server.stop().await;
    wait_for(
        &browser,
        "the page to notice the restart",
        status,
        json!("reconnecting"),
    )
    .await;
    let listener = TcpListener::bind(addr).await.expect("rebind the same port");
    let server = DemoServer::start(listener, Hub::builder(), options)
        .await
        .unwrap();
    // The browser reconnects by itself with its old Last-Event-ID; the new server
    // cannot vouch for it (foreign epoch), so it must say reset.
    wait_for(&browser, "reconnect after reset", status, json!("reset")).await;
    assert_eq!(post(addr, progress("browser-2", "prompting", 7)).await, 202);
    wait_for(
        &browser,
        "an event after the restart",
        &task_state("browser-2"),
        json!(["prompting", 7, "prompting", "false"]),
    )
    .await;
    let bad_row = "return document.querySelector('.task[data-task-id=\"browser-bad\"]') === null;";
    assert_eq!(browser.execute(bad_row, vec![]).await.unwrap(), json!(true));

    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("demo.png"), &png).unwrap();
    eprintln!("screenshot: {}", dir.join("demo.png").display());

    browser.close().await.expect("close the browser");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}
