//! The load generator of the keyed-state scenarios (issue 19), against
//! `continuum_server`'s keyed event `bench.state` (`key = key`).
//!
//! ```text
//! keyedgen snapshot --target http://127.0.0.1:3002/api/events --keys 10000 --subs 1000 \
//!                   [--rate 200] [--server-pid PID] [--json FILE]          # K1
//! keyedgen conflate --target URL --keys 1000 --events 100000 --subs 100 \
//!                   [--slow 50] [--server-pid PID] [--json FILE]            # K2
//! ```
//!
//! **K1 (`snapshot`)**: fills the hub with `--keys` live keys, then, while a
//! publisher updates random keys at `--rate` events/s, opens `--subs`
//! subscribers with `?snapshot=true&types=bench.state` (256 connecting at a
//! time) and measures, per subscriber, the time from its request to the
//! first live event after `continuum.snapshot`; the server's CPU over the
//! connect phase and its RSS (now and peak).
//!
//! **K2 (`conflate`)**: opens `--subs` subscribers, `--slow` of which read
//! 16 KiB every 20 ms, then publishes `--events` updates over `--keys` keys at
//! max rate (4 connections, each owning a quarter of the keys, batches of
//! 100), sampling the server's RSS every 250 ms. Then it checks that every
//! subscriber ends with the latest value of every key and counts resets.
//!
//! Subscribers are hyper HTTP/1.1 client connections; frames are read with a
//! small line parser (only `event:` and `data:` matter here).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use continuum_bench::procfs::Sample;
use http_body_util::{BodyExt, Empty, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpStream;

type Error = Box<dyn std::error::Error + Send + Sync>;

struct Opts {
    mode: String,
    addr: String,
    path: String,
    keys: u64,
    subs: usize,
    events: u64,
    slow: usize,
    rate: f64,
    server_pid: Option<String>,
    json: Option<String>,
}

fn opts() -> Result<Opts, Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mode = args
        .first()
        .cloned()
        .ok_or("usage: keyedgen snapshot|conflate --target URL …")?;
    let mut flags = HashMap::new();
    for pair in args[1..].chunks(2) {
        let name = pair[0].strip_prefix("--").ok_or("flags are --name value")?;
        flags.insert(
            name.to_owned(),
            pair.get(1).cloned().ok_or("flag without value")?,
        );
    }
    let num = |n: &str, d: f64| flags.get(n).map_or(Ok(d), |v| v.parse::<f64>());
    let target = flags.get("target").ok_or("--target is required")?;
    let rest = target
        .strip_prefix("http://")
        .ok_or("--target starts with http://")?;
    let (addr, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    Ok(Opts {
        mode,
        addr: addr.to_owned(),
        path: if path.is_empty() {
            "/api/events".into()
        } else {
            path.to_owned()
        },
        keys: num("keys", 10_000.0)? as u64,
        subs: num("subs", 1000.0)? as usize,
        events: num("events", 100_000.0)? as u64,
        slow: num("slow", 0.0)? as usize,
        rate: num("rate", 200.0)?,
        server_pid: flags.get("server-pid").cloned(),
        json: flags.get("json").cloned(),
    })
}

fn now_ns(origin: Instant) -> u64 {
    origin.elapsed().as_nanos() as u64
}

async fn connect(
    addr: &str,
) -> Result<hyper::client::conn::http1::SendRequest<Full<Bytes>>, Error> {
    let sock = TcpStream::connect(addr).await?;
    sock.set_nodelay(true)?;
    let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(sock)).await?;
    tokio::spawn(conn);
    Ok(sender)
}

/// POST `events` (`(key, seq, sent_ns)`) as one array.
async fn post(
    sender: &mut hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    o: &Opts,
    events: &[(u64, u64, u64)],
) -> Result<(), Error> {
    let body: Vec<Value> = events
        .iter()
        .map(|(k, seq, sent)| json!({"type": "bench.state", "data": {"key": format!("k{k}"), "seq": seq, "sentNs": sent}}))
        .collect();
    let req = http::Request::post(&o.path)
        .header(http::header::HOST, &o.addr)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(serde_json::to_vec(&body)?)))?;
    sender.ready().await?;
    let res = sender.send_request(req).await?;
    let status = res.status();
    res.into_body().collect().await?;
    if status != 202 {
        return Err(format!("publish answered {status}").into());
    }
    Ok(())
}

/// One SSE frame: its `event:` and `data:`.
struct SseFrame {
    event: String,
    data: String,
}

/// A subscription: `GET` on its own connection, frames parsed as they come.
struct Sub {
    body: hyper::body::Incoming,
    buf: Vec<u8>,
}

impl Sub {
    async fn open(o: &Opts, query: &str) -> Result<Sub, Error> {
        let sock = TcpStream::connect(&o.addr).await?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake::<_, Empty<Bytes>>(TokioIo::new(sock)).await?;
        tokio::spawn(conn);
        let req = http::Request::get(format!("{}?{query}", o.path))
            .header(http::header::HOST, &o.addr)
            .body(Empty::new())?;
        let res = sender.send_request(req).await?;
        if res.status() != 200 {
            return Err(format!("subscribe answered {}", res.status()).into());
        }
        Ok(Sub {
            body: res.into_body(),
            buf: Vec::new(),
        })
    }

    /// Read one more chunk and hand over the complete frames in it.
    async fn read(&mut self, mut on: impl FnMut(SseFrame)) -> Result<usize, Error> {
        let Some(frame) = self.body.frame().await else {
            return Err("stream ended".into());
        };
        let Ok(data) = frame?.into_data() else {
            return Ok(0);
        };
        self.buf.extend_from_slice(&data);
        let mut start = 0;
        while let Some(end) = memchr::memmem::find(&self.buf[start..], b"\n\n") {
            let text = String::from_utf8_lossy(&self.buf[start..start + end]);
            let mut f = SseFrame {
                event: String::new(),
                data: String::new(),
            };
            for line in text.lines() {
                if let Some(v) = line.strip_prefix("event: ") {
                    f.event = v.to_owned();
                } else if let Some(v) = line.strip_prefix("data: ") {
                    f.data = v.to_owned();
                }
            }
            if !f.event.is_empty() {
                on(f);
            }
            start += end + 2;
        }
        self.buf.drain(..start);
        Ok(data.len())
    }
}

fn sample(pid: &Option<String>) -> Option<Sample> {
    pid.as_deref().and_then(|p| Sample::read(p).ok())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

async fn snapshot(o: Arc<Opts>) -> Result<Value, Error> {
    let origin = Instant::now();
    let mut sender = connect(&o.addr).await?;
    let keys: Vec<u64> = (0..o.keys).collect();
    for chunk in keys.chunks(100) {
        let batch: Vec<_> = chunk.iter().map(|&k| (k, 0, now_ns(origin))).collect();
        post(&mut sender, &o, &batch).await?;
    }
    let before = sample(&o.server_pid);
    let stop = Arc::new(AtomicU64::new(0));
    let flow = {
        let (o, stop) = (o.clone(), stop.clone());
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            let mut i = 0u64;
            while stop.load(Ordering::Relaxed) == 0 {
                tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / o.rate)).await;
                let k = (i * 7919) % o.keys;
                post(&mut sender, &o, &[(k, i + 1, now_ns(origin))]).await?;
                i += 1;
            }
            Ok::<u64, Error>(i)
        })
    };
    let gate = Arc::new(tokio::sync::Semaphore::new(256));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.subs {
        let (o, gate) = (o.clone(), gate.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire().await?;
            let t0 = Instant::now();
            let mut sub = Sub::open(&o, "snapshot=true&types=bench.state").await?;
            let (mut snapshot, mut count, mut live) = (false, 0u64, false);
            while !live {
                sub.read(|f| match f.event.as_str() {
                    "continuum.snapshot" => snapshot = true,
                    "bench.state" if snapshot => live = true,
                    "bench.state" => count += 1,
                    _ => {}
                })
                .await?;
            }
            Ok::<(f64, u64), Error>((t0.elapsed().as_secs_f64() * 1e3, count))
        }));
    }
    let (mut ttfl, mut counts) = (Vec::new(), Vec::new());
    for t in tasks {
        let (ms, count) = t.await??;
        ttfl.push(ms);
        counts.push(count);
    }
    let wall = started.elapsed().as_secs_f64();
    let after = sample(&o.server_pid);
    stop.store(1, Ordering::Relaxed);
    let published = flow.await??;
    let full = counts.iter().filter(|&&c| c == o.keys).count();
    Ok(json!({
        "scenario": "K1", "keys": o.keys, "subs": o.subs, "rate": o.rate,
        "subscribers_with_every_key": full,
        "ttfl_ms_p50": pct(&mut ttfl, 0.5), "ttfl_ms_p99": pct(&mut ttfl, 0.99), "ttfl_ms_max": pct(&mut ttfl, 1.0),
        "connect_phase_s": wall, "live_events_published": published,
        "server_cpu_s": after.as_ref().zip(before.as_ref()).map(|(a, b)| a.cpu_secs - b.cpu_secs),
        "server_rss_before_mib": before.map(|s| s.rss_bytes as f64 / 1048576.0),
        "server_rss_after_mib": after.as_ref().map(|s| s.rss_bytes as f64 / 1048576.0),
        "server_rss_peak_mib": after.map(|s| s.hwm_bytes as f64 / 1048576.0),
    }))
}

async fn conflate(o: Arc<Opts>) -> Result<Value, Error> {
    let origin = Instant::now();
    // Every key once, so the state is full before subscribers connect.
    let mut sender = connect(&o.addr).await?;
    let keys: Vec<u64> = (0..o.keys).collect();
    for chunk in keys.chunks(100) {
        let batch: Vec<_> = chunk.iter().map(|&k| (k, 0, now_ns(origin))).collect();
        post(&mut sender, &o, &batch).await?;
    }
    let resets = Arc::new(AtomicU64::new(0));
    let received = Arc::new(AtomicU64::new(0));
    // The final seq of every key: the last round of the publish below.
    let last_seq = o.events.div_ceil(o.keys).max(1);
    let mut subs = Vec::new();
    for n in 0..o.subs {
        let mut sub = Sub::open(&o, "snapshot=true&types=bench.state").await?;
        let (o, resets, received) = (o.clone(), resets.clone(), received.clone());
        let slow = n < o.slow;
        subs.push(tokio::spawn(async move {
            let mut latest: HashMap<String, u64> = HashMap::new();
            let mut done = 0u64;
            while done < o.keys {
                sub.read(|f| {
                    if f.event == "continuum.reset" {
                        resets.fetch_add(1, Ordering::Relaxed);
                    }
                    if f.event != "bench.state" {
                        return;
                    }
                    received.fetch_add(1, Ordering::Relaxed);
                    let v: Value = serde_json::from_str(&f.data).unwrap_or_default();
                    let key = v["data"]["key"].as_str().unwrap_or_default().to_owned();
                    let seq = v["data"]["seq"].as_u64().unwrap_or(0);
                    let old = latest.insert(key, seq).unwrap_or(0);
                    if seq == last_seq && old != last_seq {
                        done += 1;
                    }
                })
                .await?;
                if slow {
                    tokio::time::sleep(Duration::from_millis(20)).await;
                }
            }
            Ok::<bool, Error>(true)
        }));
    }
    let before = sample(&o.server_pid);
    let rss = Arc::new(std::sync::Mutex::new(Vec::new()));
    let watcher = {
        let (pid, rss) = (o.server_pid.clone(), rss.clone());
        tokio::spawn(async move {
            loop {
                if let Some(s) = sample(&pid) {
                    rss.lock().unwrap().push(s.rss_bytes as f64 / 1048576.0);
                }
                tokio::time::sleep(Duration::from_millis(250)).await;
            }
        })
    };
    let started = Instant::now();
    // Rounds: every key's seq r in round r, so the last round holds every key's final value.
    let mut pubs = Vec::new();
    for p in 0..4u64 {
        let o = o.clone();
        pubs.push(tokio::spawn(async move {
            let mut sender = connect(&o.addr).await?;
            let mine: Vec<u64> = (0..o.keys).filter(|k| k % 4 == p).collect();
            for round in 1..=last_seq {
                for chunk in mine.chunks(100) {
                    let batch: Vec<_> = chunk.iter().map(|&k| (k, round, now_ns(origin))).collect();
                    post(&mut sender, &o, &batch).await?;
                }
            }
            Ok::<(), Error>(())
        }));
    }
    for p in pubs {
        p.await??;
    }
    let publish_s = started.elapsed().as_secs_f64();
    let mut complete = 0;
    for s in subs {
        if tokio::time::timeout(Duration::from_secs(120), s)
            .await
            .is_ok_and(|r| r.is_ok_and(|r| r.is_ok()))
        {
            complete += 1;
        }
    }
    let wall = started.elapsed().as_secs_f64();
    watcher.abort();
    let after = sample(&o.server_pid);
    let rss = rss.lock().unwrap().clone();
    let published = last_seq * o.keys;
    Ok(json!({
        "scenario": "K2", "keys": o.keys, "subs": o.subs, "slow": o.slow, "events": published,
        "subscribers_with_every_latest_value": complete, "resets": resets.load(Ordering::Relaxed),
        "delivered_per_subscriber": received.load(Ordering::Relaxed) as f64 / o.subs as f64,
        "publish_s": publish_s, "until_all_current_s": wall,
        "server_cpu_s": after.as_ref().zip(before.as_ref()).map(|(a, b)| a.cpu_secs - b.cpu_secs),
        "server_rss_start_mib": before.map(|s| s.rss_bytes as f64 / 1048576.0),
        "server_rss_max_mib": rss.iter().copied().fold(0.0, f64::max),
        "server_rss_end_mib": after.map(|s| s.rss_bytes as f64 / 1048576.0),
    }))
}

fn main() -> Result<(), Error> {
    let o = Arc::new(opts()?);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let result = rt.block_on(async {
        match o.mode.as_str() {
            "snapshot" => snapshot(o.clone()).await,
            "conflate" => conflate(o.clone()).await,
            m => Err(format!("unknown mode {m}").into()),
        }
    })?;
    eprintln!("{}", serde_json::to_string_pretty(&result)?);
    println!("{result}");
    if let Some(path) = &o.json {
        use std::io::Write as _;
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)?;
        writeln!(f, "{result}")?;
    }
    Ok(())
}
