//! Helpers shared by the tests that drive programs outside Rust (browsers, Node).
//! Each test binary uses some of them.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder};
use serde_json::{json, Value};
use tokio::net::TcpListener;

/// `program` on `PATH`, else the first of `candidates` that exists.
pub fn find(program: &str, candidates: &[&str]) -> Option<PathBuf> {
    let from_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    });
    from_path.or_else(|| candidates.iter().map(PathBuf::from).find(|p| p.is_file()))
}

/// Whether this is CI (`CI=true` or `CI=1`): a missing program fails instead of skipping.
/// Debian's chromium and chromedriver, or `None` after a loud SKIPPED line
/// naming `test` (outside CI); under `CI=true` a missing browser fails.
pub fn browser(test: &str) -> Option<(PathBuf, PathBuf)> {
    let chromium = find(
        "chromium",
        &["/usr/bin/chromium", "/usr/bin/chromium-browser"],
    );
    let chromedriver = find("chromedriver", &["/usr/bin/chromedriver"]);
    let (Some(chromium), Some(chromedriver)) = (chromium, chromedriver) else {
        assert!(!ci(), "CI=true but chromium/chromedriver are missing: install them with `apt-get install chromium chromium-driver`");
        eprintln!("\n!!!!!!!! SKIPPED {test}: chromium and/or chromedriver not found.");
        eprintln!(
            "!!!!!!!! Install them with `apt-get install chromium chromium-driver` to run it.\n"
        );
        return None;
    };
    Some((chromium, chromedriver))
}

pub fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

pub const WAIT: Duration = Duration::from_secs(20);

/// Kills chromedriver (and with it the browser) when the test ends, pass or fail.
pub struct Driver(Child);
impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub async fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    l.local_addr().unwrap().port()
}

pub async fn start_driver(chromedriver: &Path) -> (Driver, u16) {
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

pub async fn open_browser(chromium: &Path, driver_port: u16, profile: &Path) -> Client {
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
pub async fn wait_for(browser: &Client, what: &str, script: &str, expected: Value) {
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
