//! The soak of issue 12: a Continuum server under churn for a bounded time,
//! watched for growth. `bench/soak.sh` runs it; `.ci/run` runs 60 seconds.
//!
//!   soak [--secs N] [--subscribers N] [--rate EVENTS_PER_SEC] [--csv PATH]
//!
//! One process, two runtimes: the server (`continuum_runtime::Server` with
//! the demo's limits switched on: a per-address cap, a body read timeout, a
//! token, expiring grants) on its own runtime, so its live task count is
//! exact; the load on another. The load, all over real TCP:
//!
//! - churning subscribers: each connects, subscribes (some with a type
//!   filter, some with a `Last-Event-ID`, some with a grant that expires in
//!   1 s), reads for 50–800 ms and leaves; more of them than the per-address
//!   cap allows, so `429`s are part of the mix;
//! - steady publishing: `POST`s at `--rate` events per second on kept-alive
//!   connections, half single envelopes and half arrays of three;
//! - bad requests mixed in: malformed heads, heads that never end, invalid
//!   JSON, events that fail validation, wrong tokens, bodies that stall past
//!   the body read timeout.
//!
//! Every second it samples the process's RSS and open file descriptors (both
//! ends of every loopback connection are in this process, so they count
//! twice) and the server runtime's live tasks, and prints them every 5 s.
//! It fails (exit 1) when, after the first fifth of the run (warm-up), the
//! median of the last quarter exceeds the median of the first quarter by
//! more than a margin (RSS: 15 % + 8 MiB; fds and tasks: 15 % + 32), or when,
//! once the load stops, subscribers, fds and tasks do not come back to
//! where they were before it started.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use continuum_runtime::hub::Grant;
use continuum_runtime::prelude::*;
use continuum_runtime::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// What the load posts and the subscribers receive.
#[continuum_event("soak.task.progress")]
#[derive(Debug, Clone)]
pub struct Progress {
    /// The task.
    #[event(length(min = 1, max = 64))]
    pub task_id: String,
    /// Percent done.
    #[event(range(min = 0, max = 100))]
    pub progress: u8,
}

const TOKEN: &str = "soak-token";
const PER_IP: usize = 48;

struct Args {
    secs: u64,
    subscribers: usize,
    rate: u64,
    csv: Option<String>,
}

fn args() -> Args {
    let mut a = Args {
        secs: 60,
        subscribers: 64,
        rate: 200,
        csv: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().unwrap_or_default();
        match flag.as_str() {
            "--secs" => a.secs = value.parse().expect("--secs N"),
            "--subscribers" => a.subscribers = value.parse().expect("--subscribers N"),
            "--rate" => a.rate = value.parse().expect("--rate N"),
            "--csv" => a.csv = Some(value),
            other => panic!("unknown flag {other}"),
        }
    }
    a
}

#[derive(Default)]
struct Counts {
    subscribed: AtomicU64,
    limited: AtomicU64,
    expired: AtomicU64,
    accepted: AtomicU64,
    bad_answered: AtomicU64,
    unexpected: AtomicU64,
}

#[derive(Clone, Copy, Debug)]
struct Sample {
    t: f64,
    rss_kib: u64,
    fds: u64,
    tasks: u64,
    subscribers: u64,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn fds() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

fn main() {
    let args = args();
    // The server's runtime: its task count is the server's alone.
    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("server runtime");
    let load_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("load runtime");

    let (hub, addr, stop) = server_rt.block_on(async {
        let hub = Hub::builder()
            .ingest_token(TOKEN)
            .max_subscribers_per_ip(PER_IP)
            .max_subscribers(10_000)
            .body_read_timeout(Duration::from_millis(500))
            .heartbeat(Duration::from_secs(1))
            .authorize(|parts| {
                let grant = Grant::public().with_channel("soak");
                Ok(if parts.headers.contains_key("x-expire") {
                    grant.with_expiry(Duration::from_secs(1))
                } else {
                    grant
                })
            })
            .build()
            .expect("hub");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        tokio::spawn(
            Server::new(hub.clone())
                .header_read_timeout(Duration::from_millis(500))
                .run(listener, async move {
                    let _ = stopped.await;
                }),
        );
        (hub, addr, stop)
    });
    let tasks = || server_rt.metrics().num_alive_tasks() as u64;

    // Let the server settle (ticker started by a first subscriber) for the baseline.
    load_rt.block_on(async {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(b"GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n")
            .await
            .unwrap();
        let mut buf = [0u8; 512];
        let _ = c.read(&mut buf).await;
    });
    std::thread::sleep(Duration::from_millis(300));
    let sample = |start: Instant| Sample {
        t: start.elapsed().as_secs_f64(),
        rss_kib: rss_kib(),
        fds: fds(),
        tasks: tasks(),
        subscribers: hub.metrics().subscribers_now,
    };
    let before = sample(Instant::now());

    let counts = Arc::new(Counts::default());
    let running = Arc::new(AtomicBool::new(true));
    let mut workers = Vec::new();
    for i in 0..args.subscribers {
        workers.push(load_rt.spawn(churn(addr, i as u64, counts.clone(), running.clone())));
    }
    let publishers = 4u64;
    for i in 0..publishers {
        let every = Duration::from_secs_f64(publishers as f64 / args.rate.max(1) as f64);
        workers.push(load_rt.spawn(publish(addr, i, every, counts.clone(), running.clone())));
    }
    for i in 0..4 {
        workers.push(load_rt.spawn(bad(addr, i, counts.clone(), running.clone())));
    }

    let start = Instant::now();
    let mut samples = Vec::new();
    println!("  time   rss MiB    fds  tasks  subs  subscribed  429s  expired  accepted  bad");
    while start.elapsed() < Duration::from_secs(args.secs) {
        std::thread::sleep(Duration::from_secs(1));
        let s = sample(start);
        if samples.len() % 5 == 4 {
            println!(
                "{:>5.0}s {:>9.1} {:>6} {:>6} {:>5} {:>11} {:>5} {:>8} {:>9} {:>4}",
                s.t,
                s.rss_kib as f64 / 1024.0,
                s.fds,
                s.tasks,
                s.subscribers,
                counts.subscribed.load(Ordering::Relaxed),
                counts.limited.load(Ordering::Relaxed),
                counts.expired.load(Ordering::Relaxed),
                counts.accepted.load(Ordering::Relaxed),
                counts.bad_answered.load(Ordering::Relaxed),
            );
        }
        samples.push(s);
    }
    running.store(false, Ordering::SeqCst);
    load_rt.block_on(async {
        for w in workers {
            let _ = w.await;
        }
    });
    // Give the server a moment to notice the last clients leave.
    let settle = Instant::now();
    let mut after = sample(start);
    while settle.elapsed() < Duration::from_secs(5) {
        after = sample(start);
        if after.subscribers <= before.subscribers
            && after.tasks <= before.tasks + 2
            && after.fds <= before.fds + 4
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }

    if let Some(path) = &args.csv {
        let mut out = String::from("t,rss_kib,fds,tasks,subscribers\n");
        for s in &samples {
            out.push_str(&format!(
                "{:.1},{},{},{},{}\n",
                s.t, s.rss_kib, s.fds, s.tasks, s.subscribers
            ));
        }
        std::fs::write(path, out).expect("write the CSV");
    }

    let mut failures = Vec::new();
    let warm = samples.len() / 5;
    let measured = &samples[warm..];
    let quarter = (measured.len() / 4).max(1);
    let median = |xs: &[Sample], f: fn(&Sample) -> u64| {
        let mut v: Vec<u64> = xs.iter().map(f).collect();
        v.sort_unstable();
        v[v.len() / 2]
    };
    let (first, last) = (&measured[..quarter], &measured[measured.len() - quarter..]);
    for (name, f, abs) in [
        (
            "RSS KiB",
            (|s: &Sample| s.rss_kib) as fn(&Sample) -> u64,
            8 * 1024,
        ),
        ("fds", |s: &Sample| s.fds, 32),
        ("tasks", |s: &Sample| s.tasks, 32),
    ] {
        let (a, b) = (median(first, f), median(last, f));
        let limit = a + a * 15 / 100 + abs;
        println!("{name:>8}: first quarter median {a}, last quarter median {b} (limit {limit})");
        if b > limit {
            failures.push(format!("{name} grew from {a} to {b} (limit {limit})"));
        }
    }
    println!(
        "  before: {} subscribers, {} fds, {} tasks; after the load: {} subscribers, {} fds, {} tasks",
        before.subscribers, before.fds, before.tasks, after.subscribers, after.fds, after.tasks
    );
    if after.subscribers > before.subscribers {
        failures.push(format!(
            "{} subscribers left after the load",
            after.subscribers
        ));
    }
    if after.tasks > before.tasks + 2 {
        failures.push(format!(
            "tasks {} → {} after the load",
            before.tasks, after.tasks
        ));
    }
    if after.fds > before.fds + 4 {
        failures.push(format!("fds {} → {} after the load", before.fds, after.fds));
    }
    let c = &counts;
    println!(
        "  load: {} subscriptions ({} refused 429, {} expired), {} events accepted, {} bad requests answered, {} unexpected answers",
        c.subscribed.load(Ordering::Relaxed),
        c.limited.load(Ordering::Relaxed),
        c.expired.load(Ordering::Relaxed),
        c.accepted.load(Ordering::Relaxed),
        c.bad_answered.load(Ordering::Relaxed),
        c.unexpected.load(Ordering::Relaxed),
    );
    for (what, n) in [
        ("subscriptions", c.subscribed.load(Ordering::Relaxed)),
        ("429s", c.limited.load(Ordering::Relaxed)),
        ("expiries", c.expired.load(Ordering::Relaxed)),
        ("accepted events", c.accepted.load(Ordering::Relaxed)),
        (
            "bad requests answered",
            c.bad_answered.load(Ordering::Relaxed),
        ),
    ] {
        if n == 0 {
            failures.push(format!("no {what}: the load did not run as intended"));
        }
    }
    if c.unexpected.load(Ordering::Relaxed) > 0 {
        failures.push("unexpected answers (see above)".into());
    }
    let _ = stop.send(());
    drop(server_rt);
    if failures.is_empty() {
        println!("soak: PASS ({} s, flat)", args.secs);
    } else {
        for f in &failures {
            eprintln!("soak: FAIL: {f}");
        }
        std::process::exit(1);
    }
}

/// A cheap deterministic sequence per worker.
fn next(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// Read a response head; the status, or 0 when the server closed first.
async fn status(c: &mut TcpStream, buf: &mut Vec<u8>) -> (u16, usize) {
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let status = std::str::from_utf8(&buf[9..12])
                .ok()
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
            let len = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            buf.drain(..end + 4);
            return (status, len);
        }
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(5), c.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return (0, 0),
        }
    }
}

async fn churn(addr: SocketAddr, seed: u64, counts: Arc<Counts>, running: Arc<AtomicBool>) {
    let mut rng = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    while running.load(Ordering::Relaxed) {
        let Ok(mut c) = TcpStream::connect(addr).await else {
            continue;
        };
        let r = next(&mut rng);
        let mut extra = String::new();
        if r % 3 == 0 {
            extra.push_str("x-expire: 1\r\n");
        }
        if r % 5 == 0 {
            extra.push_str("Last-Event-ID: AAAAAAAAAAAB\r\n");
        }
        let path = if r % 2 == 0 {
            "/api/events?types=soak.*"
        } else {
            "/api/events"
        };
        let req = format!("GET {path} HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
        if c.write_all(req.as_bytes()).await.is_err() {
            continue;
        }
        let mut buf = Vec::new();
        match status(&mut c, &mut buf).await {
            (200, _) => {
                counts.subscribed.fetch_add(1, Ordering::Relaxed);
                // Expiring grants stay past their second; the rest churn fast.
                let stay = if r % 3 == 0 {
                    Duration::from_millis(1200 + next(&mut rng) % 400)
                } else {
                    Duration::from_millis(50 + next(&mut rng) % 750)
                };
                let until = tokio::time::Instant::now() + stay;
                let expiring = r % 3 == 0;
                let mut chunk = [0u8; 8192];
                loop {
                    match tokio::time::timeout_at(until, c.read(&mut chunk)).await {
                        Ok(Ok(n)) if n > 0 => {
                            if expiring && buf.len() < 64 * 1024 {
                                buf.extend_from_slice(&chunk[..n]);
                            }
                        }
                        _ => break,
                    }
                }
                if expiring && String::from_utf8_lossy(&buf).contains("\"reason\":\"expired\"") {
                    counts.expired.fetch_add(1, Ordering::Relaxed);
                }
            }
            (429, _) => {
                counts.limited.fetch_add(1, Ordering::Relaxed);
                // What a polite client does with `retry-after` (shortened).
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            (0, _) => {}
            (s, _) => {
                eprintln!("soak: subscription answered {s}");
                counts.unexpected.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

async fn publish(
    addr: SocketAddr,
    seed: u64,
    every: Duration,
    counts: Arc<Counts>,
    running: Arc<AtomicBool>,
) {
    let mut tick = tokio::time::interval(every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut n = seed * 1_000_000;
    'reconnect: while running.load(Ordering::Relaxed) {
        let Ok(mut c) = TcpStream::connect(addr).await else {
            continue;
        };
        let mut buf = Vec::new();
        while running.load(Ordering::Relaxed) {
            tick.tick().await;
            n += 1;
            let one = format!(
                r#"{{"type":"soak.task.progress","data":{{"taskId":"t-{n}","progress":{}}}}}"#,
                n % 101
            );
            let body = if n % 2 == 0 {
                one
            } else {
                format!("[{one},{one},{one}]")
            };
            let req = format!(
                "POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nx-continuum-event-key: {TOKEN}\r\ncontent-length: {}\r\n\r\n{body}",
                body.len()
            );
            if c.write_all(req.as_bytes()).await.is_err() {
                continue 'reconnect;
            }
            let (s, len) = status(&mut c, &mut buf).await;
            if !read_body(&mut c, &mut buf, len).await {
                continue 'reconnect;
            }
            match s {
                202 => {
                    counts.accepted.fetch_add(1, Ordering::Relaxed);
                }
                0 => continue 'reconnect,
                s => {
                    eprintln!("soak: publish answered {s}");
                    counts.unexpected.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }
}

async fn read_body(c: &mut TcpStream, buf: &mut Vec<u8>, len: usize) -> bool {
    while buf.len() < len {
        let mut chunk = [0u8; 4096];
        match tokio::time::timeout(Duration::from_secs(5), c.read(&mut chunk)).await {
            Ok(Ok(n)) if n > 0 => buf.extend_from_slice(&chunk[..n]),
            _ => return false,
        }
    }
    buf.drain(..len);
    true
}

/// Bad requests, one per connection, each with the status it must get.
async fn bad(addr: SocketAddr, seed: u64, counts: Arc<Counts>, running: Arc<AtomicBool>) {
    let valid = r#"{"type":"soak.task.progress","data":{"taskId":"x","progress":1}}"#;
    let post = |token: &str, body: &str, len: Option<usize>| {
        let len = len.unwrap_or(body.len());
        format!(
            "POST /api/events HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nx-continuum-event-key: {token}\r\ncontent-length: {len}\r\n\r\n{body}"
        )
    };
    let cases: Vec<(String, u16)> = vec![
        ("GET /api/events HTTP/1.1\r\nHost x\r\n\r\n".into(), 400),
        ("\x16\x03\x01\x00\x05\x01\x00\x00\r\n\r\n".into(), 400),
        // Never ends: answered at the header timeout (500 ms here).
        ("GET /api/events HTTP/1.1\r\nHost: x\r\n".into(), 400),
        (post(TOKEN, "{not json", None), 400),
        (
            post(
                TOKEN,
                r#"{"type":"soak.task.progress","data":{"taskId":"","progress":101}}"#,
                None,
            ),
            422,
        ),
        (post("wrong", valid, None), 401),
        // Stalls mid-body: answered at the body read timeout (500 ms here).
        (post(TOKEN, &valid[..10], Some(valid.len())), 408),
    ];
    let mut rng = (seed + 1).wrapping_mul(0x2545_f491_4f6c_dd1d) | 1;
    while running.load(Ordering::Relaxed) {
        let (bytes, want) = &cases[(next(&mut rng) % cases.len() as u64) as usize];
        let Ok(mut c) = TcpStream::connect(addr).await else {
            continue;
        };
        if c.write_all(bytes.as_bytes()).await.is_err() {
            continue;
        }
        let mut buf = Vec::new();
        let (got, _) = status(&mut c, &mut buf).await;
        if got == *want {
            counts.bad_answered.fetch_add(1, Ordering::Relaxed);
        } else {
            eprintln!(
                "soak: {:?} answered {got}, expected {want}",
                bytes.escape_debug().to_string()
            );
            counts.unexpected.fetch_add(1, Ordering::Relaxed);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
