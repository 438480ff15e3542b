//! A real `redis-server` per test: started on a free port with persistence
//! off, ready when it says so on stdout, killed (SIGKILL) on drop.
//!
//! Without the binary the tests print a loud SKIPPED line and pass, except
//! under `CI=true`, where a missing `redis-server` fails them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// How long `redis-server` may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// `redis-server` on PATH, or `None` after printing why the caller skips.
/// Panics under `CI=true`: there a missing program is a failure.
pub fn redis_server_binary(test: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join("redis-server"))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!(
            "SKIPPED {test}: `redis-server` not found on PATH; install it with `apt-get install redis-server`"
        );
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!("{msg} (CI=true: a missing program is a failure)");
        }
        eprintln!("\n!!!!!!!! {msg} !!!!!!!!\n");
    }
    found
}

/// A running `redis-server`.
pub struct Redis {
    binary: PathBuf,
    pub port: u16,
    child: Option<Child>,
}

impl Redis {
    /// Start one on a free port; `None` (after the SKIPPED line) without the binary.
    pub fn start(test: &str) -> Option<Redis> {
        let binary = redis_server_binary(test)?;
        let port = free_port();
        let mut redis = Redis {
            binary,
            port,
            child: None,
        };
        redis.spawn();
        Some(redis)
    }

    /// `redis://127.0.0.1:<port>`
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn spawn(&mut self) {
        let mut child = Command::new(&self.binary)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--loglevel",
                "notice",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        let stdout = child.stdout.take().expect("stdout");
        let (ready, is_ready) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Ready to accept connections") {
                    let _ = ready.send(());
                }
            }
        });
        is_ready
            .recv_timeout(READY_WITHIN)
            .expect("redis-server ready in time");
        self.child = Some(child);
    }

    /// SIGKILL: Redis dies without a word to its clients.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Start again on the same port, empty (persistence is off).
    pub fn restart_empty(&mut self) {
        self.kill();
        self.spawn();
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
