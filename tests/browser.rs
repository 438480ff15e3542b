//! The demo page in a real browser: Debian's headless Chromium, driven through
//! chromedriver (WebDriver, via `fantoccini`), against the very server
//! `cargo run --example ai_progress` starts.
//!
//! The test POSTs events with a real HTTP client and reads the page's DOM: a
//! task running before the page opens is on it at once (the keyed state's
//! snapshot, through `useContinuumState`); then it stops the server, starts a
//! new one (a new epoch) on the same port, and checks that the page
//! reconnects on its own, is told to reset, rebuilds its task list from the
//! new server's state (the old server's tasks are gone, the new one's are
//! there), and shows events published after the restart. A screenshot is written to
//! `target/browser-artifacts/demo.png`.
//!
//! Needs `chromium` and `chromedriver` (`apt-get install chromium chromium-driver`).
//! Outside CI a missing browser skips the test with a loud message; under
//! `CI=true` it fails.

mod support;

use std::net::SocketAddr;
use std::path::PathBuf;

use continuum::demo::{DemoOptions, DemoServer};
use continuum_runtime::Hub;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use support::{browser, open_browser, start_driver, wait_for};

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
    let Some((chromium, chromedriver)) = browser("the real-browser test") else {
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

    // Running before the page opens.
    assert_eq!(
        post(addr, progress("browser-0", "prompting", 33)).await,
        202
    );

    let profile = std::env::temp_dir().join(format!("continuum-chromium-{}", std::process::id()));
    let (_driver, driver_port) = start_driver(&chromedriver).await;
    let browser = open_browser(&chromium, driver_port, &profile).await;
    browser
        .goto(&format!("http://{addr}/"))
        .await
        .expect("open the demo page");

    let status = "return document.getElementById('status').dataset.state;";
    wait_for(&browser, "the page to connect", status, json!("connected")).await;
    wait_for(
        &browser,
        "the task that was running before the page opened",
        &task_state("browser-0"),
        json!(["prompting", 33, "prompting", "false"]),
    )
    .await;

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
    // Known to the new server when the page reconnects, or just after: the
    // page shows it either way (in the snapshot after the reset, or live).
    server
        .hub()
        .emit(continuum::demo::AiTaskProgress {
            task_id: "browser-restarted".into(),
            stage: continuum::demo::Stage::Generating,
            progress: 50,
        })
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
    wait_for(
        &browser,
        "the task the new server knew, from its snapshot",
        &task_state("browser-restarted"),
        json!(["generating", 50, "generating", "false"]),
    )
    .await;
    let bad_row = "return document.querySelector('.task[data-task-id=\"browser-bad\"]') === null;";
    assert_eq!(browser.execute(bad_row, vec![]).await.unwrap(), json!(true));
    // The old server's tasks are gone: the list is the new server's state.
    let old_row = "return document.querySelector('.task[data-task-id=\"browser-1\"]') === null;";
    assert_eq!(browser.execute(old_row, vec![]).await.unwrap(), json!(true));

    let png = browser.screenshot().await.expect("screenshot");
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser-artifacts");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("demo.png"), &png).unwrap();
    eprintln!("screenshot: {}", dir.join("demo.png").display());

    browser.close().await.expect("close the browser");
    server.stop().await;
    let _ = std::fs::remove_dir_all(&profile);
}
