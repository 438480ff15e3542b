//! The load generator of the fan-out benchmark.
//!
//! ```text
//! loadgen fanout --target http://127.0.0.1:3001/api/events --subs 1000 --events 2000 \
//!                [--publishers 4] [--rate 0] [--batch 1] [--server-pid PID] \
//!                [--scenario S1 --server baseline --run 1] [--json results.jsonl]
//! loadgen idle   --target URL --subs 10000 --server-pid PID [--settle 2]
//! loadgen report results.jsonl
//! ```
//!
//! `fanout` opens N SSE subscribers (raw HTTP/1.1 over TCP, parsed in place), waits
//! until every one has received its first frame (both servers send a
//! `continuum.connected` event first), then publishes M `bench.tick` events through K
//! keep-alive hyper client connections, at max rate (`--rate 0`) or at a fixed total
//! rate in events/s. Each event carries its send time in `sentNs` (nanoseconds since
//! this process's start: publisher and subscribers share one clock). Subscribers
//! record publish→receive latency in HDR histograms and count what they got.
//!
//! The measurement window runs from the first publish to the last delivery; CPU
//! seconds of this process and of the server (`--server-pid`) are read from `/proc`
//! at its edges, so a reader sees whether the generator was the bottleneck.
//!
//! `idle` reads the server's RSS, opens N subscribers, waits until all are connected
//! and `--settle` seconds more, and reports the RSS growth per connection.
//!
//! Every run prints a human summary on stderr and one JSON object on stdout (and
//! appends it to `--json FILE`); `report` turns such a file into the table of
//! medians, spreads and continuum/baseline ratios.
//!
//! `LOADGEN_TRACE=FILE` (fanout) also writes one CSV line per event: its send time,
//! the POST's response time, and its deliveries' min/median/p99/max latency, to tell
//! a slow sweep from a few stalled events.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::Bytes;
use continuum_bench::procfs::{MachineCpu, Sample};
use continuum_bench::sse::{Frame, Kind, SseClient};
use hdrhistogram::Histogram;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Latency histograms are sharded so that subscribers on different worker threads
/// rarely meet on one lock; each subscriber locks its shard once per socket read.
const SHARDS: usize = 64;
/// Histogram range in microseconds: 1 µs to one hour, 3 significant figures.
const HIST_MAX_US: u64 = 3_600_000_000;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

/// Nanoseconds since this process started: the clock of every `sentNs`.
fn now_ns() -> u64 {
    ORIGIN.get_or_init(Instant::now).elapsed().as_nanos() as u64
}

#[derive(Debug, Clone)]
struct Opts {
    mode: String,
    addr: SocketAddr,
    host: String,
    path: String,
    /// Where publishers POST: the subscribers' server unless
    /// `--publish-target` names another node (cross-node scenarios).
    pub_addr: SocketAddr,
    pub_host: String,
    pub_path: String,
    subs: usize,
    events: u64,
    publishers: usize,
    rate: f64,
    batch: u64,
    server_pid: Option<String>,
    scenario: String,
    server: String,
    run: u64,
    json: Option<String>,
    connect_concurrency: usize,
    connect_timeout: Duration,
    drain_timeout: Duration,
    settle: Duration,
    threads: usize,
}

fn usage() -> ! {
    eprintln!(
        "usage: loadgen fanout|idle --target http://HOST:PORT/PATH [--subs N] [--events M] \
         [--publish-target URL] [--publishers K] [--rate EV_PER_S] [--batch B] [--server-pid PID] [--scenario S] \
         [--server NAME] [--run I] [--json FILE] [--connect-concurrency C] \
         [--connect-timeout SECS] [--drain-timeout SECS] [--settle SECS] [--threads T]\n\
         \x20      loadgen report FILE"
    );
    std::process::exit(2)
}

fn parse_opts(mode: String, args: &[String]) -> Result<Opts, Error> {
    let mut flags: BTreeMap<&str, &str> = BTreeMap::new();
    let mut it = args.iter();
    while let Some(flag) = it.next() {
        let Some(name) = flag.strip_prefix("--") else {
            return Err(format!("unexpected argument `{flag}`").into());
        };
        let value = it.next().ok_or_else(|| format!("`{flag}` needs a value"))?;
        flags.insert(name, value);
    }
    let get = |name: &str| flags.get(name).copied();
    let num = |name: &str, default: f64| -> Result<f64, Error> {
        match get(name) {
            Some(v) => v
                .parse::<f64>()
                .map_err(|e| format!("--{name} {v}: {e}").into()),
            None => Ok(default),
        }
    };
    let target = get("target").ok_or("--target is required")?;
    let (addr, host, path) = parse_target(target)?;
    let (pub_addr, pub_host, pub_path) = match get("publish-target") {
        Some(t) => parse_target(t)?,
        None => (addr, host.clone(), path.clone()),
    };
    let known = [
        "target",
        "publish-target",
        "subs",
        "events",
        "publishers",
        "rate",
        "batch",
        "server-pid",
        "scenario",
        "server",
        "run",
        "json",
        "connect-concurrency",
        "connect-timeout",
        "drain-timeout",
        "settle",
    ];
    if let Some(unknown) = flags.keys().find(|k| !known.contains(k)) {
        return Err(format!("unknown flag --{unknown}").into());
    }
    Ok(Opts {
        mode,
        addr,
        host,
        path,
        pub_addr,
        pub_host,
        pub_path,
        subs: num("subs", 100.0)? as usize,
        events: num("events", 1000.0)? as u64,
        publishers: (num("publishers", 4.0)? as usize).max(1),
        rate: num("rate", 0.0)?,
        batch: (num("batch", 1.0)? as u64).max(1),
        server_pid: get("server-pid").map(str::to_owned),
        scenario: get("scenario").unwrap_or("adhoc").to_owned(),
        server: get("server").unwrap_or("unknown").to_owned(),
        run: num("run", 1.0)? as u64,
        json: get("json").map(str::to_owned),
        connect_concurrency: (num("connect-concurrency", 256.0)? as usize).max(1),
        connect_timeout: Duration::from_secs_f64(num("connect-timeout", 60.0)?),
        drain_timeout: Duration::from_secs_f64(num("drain-timeout", 5.0)?),
        settle: Duration::from_secs_f64(num("settle", 2.0)?),
        threads: match get("threads") {
            Some(_) => (num("threads", 1.0)? as usize).max(1),
            None => std::thread::available_parallelism().map_or(2, |n| n.get()),
        },
    })
}

/// `http://HOST:PORT/PATH` → the address, the `host` header and the path.
fn parse_target(target: &str) -> Result<(SocketAddr, String, String), Error> {
    let rest = target
        .strip_prefix("http://")
        .ok_or("--target must start with http://")?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/api/events"),
    };
    let addr = std::net::ToSocketAddrs::to_socket_addrs(host)?
        .next()
        .ok_or("--target host does not resolve")?;
    Ok((addr, host.to_owned(), path.to_owned()))
}

/// What every subscriber shares.
struct Shared {
    hist: Vec<Mutex<Histogram<u64>>>,
    /// `bench.tick` events received, all subscribers.
    received: AtomicU64,
    /// Latest delivery time seen, ns since origin.
    last_delivery_ns: AtomicU64,
    connected: AtomicUsize,
    resets: AtomicU64,
    /// Streams that ended or failed while the run was on, with a sample reason.
    failures: AtomicU64,
    failure_sample: Mutex<Option<String>>,
    /// Per subscriber: ticks received.
    per_sub: Vec<AtomicU64>,
    connect_gate: Semaphore,
    all_connected: tokio::sync::Notify,
    /// `LOADGEN_TRACE`: every delivery as (send time, latency µs), and every
    /// POST as (send time, response time µs), for a per-event report.
    trace: Option<Trace>,
}

#[derive(Default)]
struct Trace {
    deliveries: Vec<Mutex<Vec<(u64, u64)>>>,
    posts: Mutex<Vec<(u64, u64)>>,
}

impl Shared {
    fn fail(&self, why: String) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        let mut sample = self
            .failure_sample
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        sample.get_or_insert(why);
    }
}

/// One line per event: send time (ms since the first POST), the POST's
/// response time, and the event's deliveries: count, min, median, p99, max
/// latency (µs).
fn write_trace(t: &Trace, start_ns: u64, path: &std::path::Path) -> Result<(), Error> {
    let mut per_event: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    for shard in &t.deliveries {
        for &(sent, us) in shard.lock().unwrap_or_else(|e| e.into_inner()).iter() {
            per_event.entry(sent).or_default().push(us);
        }
    }
    let posts: BTreeMap<u64, u64> = t
        .posts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .collect();
    let mut out = String::from("sent_ms,post_us,count,min_us,p50_us,p99_us,max_us\n");
    for (sent, mut v) in per_event {
        v.sort_unstable();
        let q = |f: f64| v[((v.len() - 1) as f64 * f) as usize];
        use std::fmt::Write as _;
        let _ = writeln!(
            out,
            "{:.3},{},{},{},{},{},{}",
            sent.saturating_sub(start_ns) as f64 / 1e6,
            posts.get(&sent).copied().unwrap_or(0),
            v.len(),
            v[0],
            q(0.5),
            q(0.99),
            v[v.len() - 1]
        );
    }
    std::fs::write(path, out)?;
    Ok(())
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, HIST_MAX_US, 3).unwrap_or_else(|_| Histogram::new(3).unwrap())
}

async fn subscriber(idx: usize, opts: Arc<Opts>, shared: Arc<Shared>, buf_size: usize) {
    if let Err(e) = subscriber_inner(idx, &opts, &shared, buf_size).await {
        shared.fail(e.to_string());
    }
}

async fn subscriber_inner(
    idx: usize,
    opts: &Opts,
    shared: &Shared,
    buf_size: usize,
) -> Result<(), Error> {
    let permit = shared.connect_gate.acquire().await?;
    let mut sock = TcpStream::connect(opts.addr).await?;
    sock.set_nodelay(true)?;
    let request = format!(
        "GET {} HTTP/1.1\r\nhost: {}\r\naccept: text/event-stream\r\ncache-control: no-cache\r\n\r\n",
        opts.path, opts.host
    );
    sock.write_all(request.as_bytes()).await?;
    let mut permit = Some(permit);
    let mut client = SseClient::new();
    let mut buf = vec![0u8; buf_size];
    let mut latencies: Vec<u64> = Vec::new();
    let mut first_frame = false;
    let mut resets = 0u64;
    let shard = &shared.hist[idx % SHARDS];
    loop {
        let n = sock.read(&mut buf).await?;
        if n == 0 {
            return Err("server closed the stream".into());
        }
        let now = now_ns();
        let mut frames = 0usize;
        client.feed(&buf[..n], |frame| {
            frames += 1;
            match frame {
                Frame::Event {
                    kind: Kind::Tick,
                    sent_ns,
                } => {
                    let sent = sent_ns.unwrap_or(now);
                    latencies.push(now.saturating_sub(sent) / 1000);
                    if let Some(t) = &shared.trace {
                        t.deliveries[idx % SHARDS]
                            .lock()
                            .unwrap_or_else(|e| e.into_inner())
                            .push((sent, now.saturating_sub(sent) / 1000));
                    }
                }
                Frame::Event {
                    kind: Kind::Reset, ..
                } => resets += 1,
                _ => {}
            }
        })?;
        if !first_frame && frames > 0 {
            first_frame = true;
            permit.take();
            let connected = shared.connected.fetch_add(1, Ordering::AcqRel) + 1;
            if connected == opts.subs {
                shared.all_connected.notify_one();
            }
        }
        if resets > 0 {
            shared.resets.fetch_add(resets, Ordering::Relaxed);
            resets = 0;
        }
        if !latencies.is_empty() {
            let got = latencies.len() as u64;
            {
                let mut h = shard.lock().unwrap_or_else(|e| e.into_inner());
                for &us in &latencies {
                    h.saturating_record(us.max(1));
                }
            }
            latencies.clear();
            shared.per_sub[idx].fetch_add(got, Ordering::Relaxed);
            shared.received.fetch_add(got, Ordering::Relaxed);
            shared.last_delivery_ns.fetch_max(now, Ordering::Relaxed);
        }
        if client.is_done() {
            return Err("server ended the stream".into());
        }
    }
}

#[derive(Default)]
struct PubStats {
    statuses: BTreeMap<u16, u64>,
    accepted: u64,
    sent: u64,
    errors: u64,
    error_sample: Option<String>,
}

async fn publisher(
    opts: Arc<Opts>,
    next_batch: Arc<AtomicU64>,
    start: tokio::time::Instant,
    shared: Arc<Shared>,
) -> PubStats {
    let mut stats = PubStats::default();
    if let Err(e) = publisher_inner(&opts, &next_batch, start, &mut stats, &shared).await {
        stats.errors += 1;
        stats.error_sample = Some(e.to_string());
    }
    stats
}

async fn publisher_inner(
    opts: &Opts,
    next_batch: &AtomicU64,
    start: tokio::time::Instant,
    stats: &mut PubStats,
    shared: &Shared,
) -> Result<(), Error> {
    let sock = TcpStream::connect(opts.pub_addr).await?;
    sock.set_nodelay(true)?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(sock)).await?;
    tokio::spawn(conn);
    let batches = opts.events.div_ceil(opts.batch);
    let mut body = String::with_capacity(96 * opts.batch as usize);
    loop {
        let b = next_batch.fetch_add(1, Ordering::Relaxed);
        if b >= batches {
            return Ok(());
        }
        let first_seq = b * opts.batch;
        let count = opts.batch.min(opts.events - first_seq);
        if opts.rate > 0.0 {
            let due = Duration::from_secs_f64(first_seq as f64 / opts.rate);
            tokio::time::sleep_until(start + due).await;
        }
        body.clear();
        let sent_ns = now_ns();
        if opts.batch > 1 {
            body.push('[');
        }
        for seq in first_seq..first_seq + count {
            if seq > first_seq {
                body.push(',');
            }
            use std::fmt::Write as _;
            let _ = write!(
                body,
                r#"{{"type":"bench.tick","data":{{"seq":{seq},"sentNs":{sent_ns}}}}}"#
            );
        }
        if opts.batch > 1 {
            body.push(']');
        }
        let req = http::Request::post(&opts.pub_path)
            .header(http::header::HOST, &opts.pub_host)
            .header(http::header::CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::copy_from_slice(body.as_bytes())))?;
        sender.ready().await?;
        let resp = sender.send_request(req).await?;
        let status = resp.status().as_u16();
        resp.into_body().collect().await?;
        if let Some(t) = &shared.trace {
            let rtt = now_ns().saturating_sub(sent_ns) / 1000;
            t.posts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .push((sent_ns, rtt));
        }
        *stats.statuses.entry(status).or_default() += 1;
        stats.sent += count;
        if status == 202 {
            stats.accepted += count;
        }
    }
}

fn read_server(pid: &Option<String>) -> Option<Sample> {
    pid.as_deref().and_then(|p| Sample::read(p).ok())
}

/// Open every subscriber and wait until all have their first frame.
async fn connect_all(
    opts: &Arc<Opts>,
    shared: &Arc<Shared>,
) -> Result<Vec<tokio::task::JoinHandle<()>>, Error> {
    let buf_size = (512 * 1024 * 1024 / opts.subs.max(1)).clamp(4096, 64 * 1024);
    let notified = shared.all_connected.notified();
    tokio::pin!(notified);
    notified.as_mut().enable();
    let tasks = (0..opts.subs)
        .map(|i| tokio::spawn(subscriber(i, opts.clone(), shared.clone(), buf_size)))
        .collect::<Vec<_>>();
    let deadline = tokio::time::Instant::now() + opts.connect_timeout;
    loop {
        if shared.connected.load(Ordering::Acquire) >= opts.subs {
            return Ok(tasks);
        }
        let failures = shared.failures.load(Ordering::Relaxed);
        if failures > 0 || tokio::time::Instant::now() >= deadline {
            for t in &tasks {
                t.abort();
            }
            let sample = shared
                .failure_sample
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clone();
            return Err(format!(
                "only {} of {} subscribers connected ({failures} failed; {})",
                shared.connected.load(Ordering::Acquire),
                opts.subs,
                sample.unwrap_or_else(|| "timed out".into())
            )
            .into());
        }
        let _ = tokio::time::timeout(Duration::from_millis(100), notified.as_mut()).await;
    }
}

fn new_shared(opts: &Opts) -> Arc<Shared> {
    Arc::new(Shared {
        hist: (0..SHARDS).map(|_| Mutex::new(new_histogram())).collect(),
        received: AtomicU64::new(0),
        last_delivery_ns: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
        resets: AtomicU64::new(0),
        failures: AtomicU64::new(0),
        failure_sample: Mutex::new(None),
        per_sub: (0..opts.subs).map(|_| AtomicU64::new(0)).collect(),
        connect_gate: Semaphore::new(opts.connect_concurrency),
        all_connected: tokio::sync::Notify::new(),
        trace: std::env::var_os("LOADGEN_TRACE").map(|_| Trace {
            deliveries: (0..SHARDS).map(|_| Mutex::new(Vec::new())).collect(),
            posts: Mutex::new(Vec::new()),
        }),
    })
}

fn base_record(opts: &Opts) -> serde_json::Map<String, Value> {
    let mut m = serde_json::Map::new();
    m.insert("scenario".into(), json!(opts.scenario));
    m.insert("server".into(), json!(opts.server));
    m.insert("run".into(), json!(opts.run));
    m.insert("mode".into(), json!(opts.mode));
    m.insert("subs".into(), json!(opts.subs));
    m
}

async fn run_idle(opts: Arc<Opts>) -> Result<Value, Error> {
    let shared = new_shared(&opts);
    let before = read_server(&opts.server_pid);
    let self_before = Sample::read("self")?;
    let t0 = Instant::now();
    let tasks = connect_all(&opts, &shared).await?;
    let connect_secs = t0.elapsed().as_secs_f64();
    tokio::time::sleep(opts.settle).await;
    let after = read_server(&opts.server_pid);
    let self_after = Sample::read("self")?;
    let failures = shared.failures.load(Ordering::Relaxed);
    for t in &tasks {
        t.abort();
    }
    let mut m = base_record(&opts);
    m.insert("connect_secs".into(), json!(round(connect_secs, 3)));
    m.insert(
        "connected".into(),
        json!(shared.connected.load(Ordering::Acquire)),
    );
    m.insert("stream_failures".into(), json!(failures));
    m.insert(
        "loadgen_cpu_secs".into(),
        json!(round(self_after.cpu_secs - self_before.cpu_secs, 2)),
    );
    if let (Some(b), Some(a)) = (before, after) {
        let delta = a.rss_bytes as f64 - b.rss_bytes as f64;
        m.insert("server_rss_before_kib".into(), json!(b.rss_bytes / 1024));
        m.insert("server_rss_after_kib".into(), json!(a.rss_bytes / 1024));
        m.insert(
            "server_cpu_secs".into(),
            json!(round(a.cpu_secs - b.cpu_secs, 2)),
        );
        m.insert(
            "rss_per_sub_kib".into(),
            json!(round(delta / 1024.0 / opts.subs.max(1) as f64, 2)),
        );
    }
    Ok(Value::Object(m))
}

async fn run_fanout(opts: Arc<Opts>) -> Result<Value, Error> {
    let shared = new_shared(&opts);
    let t0 = Instant::now();
    let tasks = connect_all(&opts, &shared).await?;
    let connect_secs = t0.elapsed().as_secs_f64();

    let server_before = read_server(&opts.server_pid);
    let self_before = Sample::read("self")?;
    let machine_before = MachineCpu::read()?;
    let start_ns = now_ns();
    let start = tokio::time::Instant::now();
    let next_batch = Arc::new(AtomicU64::new(0));
    let pubs = (0..opts.publishers)
        .map(|_| {
            tokio::spawn(publisher(
                opts.clone(),
                next_batch.clone(),
                start,
                shared.clone(),
            ))
        })
        .collect::<Vec<_>>();
    let mut pub_stats = PubStats::default();
    for p in pubs {
        let s = p.await?;
        for (code, n) in s.statuses {
            *pub_stats.statuses.entry(code).or_default() += n;
        }
        pub_stats.accepted += s.accepted;
        pub_stats.sent += s.sent;
        pub_stats.errors += s.errors;
        if pub_stats.error_sample.is_none() {
            pub_stats.error_sample = s.error_sample;
        }
    }
    let publish_end_ns = now_ns();

    // Drain: wait until every subscriber has every accepted event, or until nothing
    // more has arrived for `drain_timeout`.
    let expected = pub_stats.accepted * opts.subs as u64;
    let mut last_seen = shared.received.load(Ordering::Relaxed);
    let mut last_progress = Instant::now();
    let mut drained = false;
    loop {
        let got = shared.received.load(Ordering::Relaxed);
        if got >= expected {
            drained = true;
            break;
        }
        if got != last_seen {
            last_seen = got;
            last_progress = Instant::now();
        } else if last_progress.elapsed() >= opts.drain_timeout {
            break;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let server_after = read_server(&opts.server_pid);
    let self_after = Sample::read("self")?;
    let machine_after = MachineCpu::read()?;
    for t in &tasks {
        t.abort();
    }

    let received = shared.received.load(Ordering::Relaxed);
    let end_ns = shared
        .last_delivery_ns
        .load(Ordering::Relaxed)
        .max(start_ns + 1);
    let window = (end_ns - start_ns) as f64 / 1e9;
    let publish_secs = (publish_end_ns - start_ns).max(1) as f64 / 1e9;
    let complete_subs = shared
        .per_sub
        .iter()
        .filter(|c| c.load(Ordering::Relaxed) >= pub_stats.accepted)
        .count();
    let mut hist = new_histogram();
    for shard in &shared.hist {
        let h = shard.lock().unwrap_or_else(|e| e.into_inner());
        let _ = hist.add(&*h);
    }

    if let (Some(t), Some(path)) = (&shared.trace, std::env::var_os("LOADGEN_TRACE")) {
        write_trace(t, start_ns, std::path::Path::new(&path))?;
    }

    let mut m = base_record(&opts);
    m.insert("events".into(), json!(opts.events));
    m.insert("publishers".into(), json!(opts.publishers));
    m.insert("rate".into(), json!(opts.rate));
    m.insert("batch".into(), json!(opts.batch));
    m.insert("connect_secs".into(), json!(round(connect_secs, 3)));
    m.insert("window_secs".into(), json!(round(window, 4)));
    m.insert("deliveries".into(), json!(received));
    m.insert("expected".into(), json!(expected));
    m.insert("lost".into(), json!(expected.saturating_sub(received)));
    m.insert("drained".into(), json!(drained));
    m.insert("complete_subs".into(), json!(complete_subs));
    m.insert(
        "deliveries_per_sec".into(),
        json!((received as f64 / window).round()),
    );
    m.insert("publish_secs".into(), json!(round(publish_secs, 4)));
    m.insert("published".into(), json!(pub_stats.sent));
    m.insert("accepted".into(), json!(pub_stats.accepted));
    m.insert(
        "publish_per_sec".into(),
        json!((pub_stats.sent as f64 / publish_secs).round()),
    );
    m.insert(
        "accepted_per_sec".into(),
        json!((pub_stats.accepted as f64 / publish_secs).round()),
    );
    m.insert(
        "statuses".into(),
        json!(pub_stats
            .statuses
            .iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()),
    );
    m.insert("publish_errors".into(), json!(pub_stats.errors));
    if let Some(e) = pub_stats.error_sample {
        m.insert("publish_error_sample".into(), json!(e));
    }
    m.insert(
        "resets".into(),
        json!(shared.resets.load(Ordering::Relaxed)),
    );
    m.insert(
        "stream_failures".into(),
        json!(shared.failures.load(Ordering::Relaxed)),
    );
    if let Some(e) = shared
        .failure_sample
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .clone()
    {
        m.insert("stream_failure_sample".into(), json!(e));
    }
    if !hist.is_empty() {
        m.insert("p50_us".into(), json!(hist.value_at_quantile(0.5)));
        m.insert("p99_us".into(), json!(hist.value_at_quantile(0.99)));
        m.insert("p999_us".into(), json!(hist.value_at_quantile(0.999)));
        m.insert("max_us".into(), json!(hist.max()));
    }
    let self_cpu = self_after.cpu_secs - self_before.cpu_secs;
    m.insert("loadgen_cpu_secs".into(), json!(round(self_cpu, 2)));
    let mut others = machine_after.process_secs - machine_before.process_secs - self_cpu;
    if let (Some(b), Some(a)) = (server_before, server_after) {
        let cpu = a.cpu_secs - b.cpu_secs;
        others -= cpu;
        m.insert("server_cpu_secs".into(), json!(round(cpu, 2)));
        if received > 0 {
            m.insert(
                "server_cpu_ns_per_delivery".into(),
                json!((cpu * 1e9 / received as f64).round()),
            );
        }
        if pub_stats.accepted > 0 {
            m.insert(
                "server_cpu_ns_per_event".into(),
                json!((cpu * 1e9 / pub_stats.accepted as f64).round()),
            );
        }
        m.insert("server_rss_kib".into(), json!(a.rss_bytes / 1024));
        m.insert("server_peak_rss_kib".into(), json!(a.hwm_bytes / 1024));
    }
    // Other processes' CPU during the window: a noisy run shows here.
    m.insert("other_cpu_secs".into(), json!(round(others.max(0.0), 2)));
    m.insert(
        "softirq_cpu_secs".into(),
        json!(round(
            machine_after.softirq_secs - machine_before.softirq_secs,
            2
        )),
    );
    m.insert("loadgen_threads".into(), json!(opts.threads));
    Ok(Value::Object(m))
}

fn round(v: f64, places: i32) -> f64 {
    let f = 10f64.powi(places);
    (v * f).round() / f
}

fn human(v: &Value) -> String {
    let mut out = String::new();
    if let Some(m) = v.as_object() {
        for (k, v) in m {
            out.push_str(&format!("  {k:<28} {v}\n"));
        }
    }
    out
}

fn main() {
    ORIGIN.get_or_init(Instant::now);
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(mode) = args.first().cloned() else {
        usage()
    };
    if mode == "report" {
        let Some(path) = args.get(1) else { usage() };
        match continuum_bench::report::report_file(path) {
            Ok(table) => print!("{table}"),
            Err(e) => {
                eprintln!("loadgen report: {e}");
                std::process::exit(1);
            }
        }
        return;
    }
    if mode != "fanout" && mode != "idle" {
        usage()
    }
    let opts = match parse_opts(mode, &args[1..]) {
        Ok(o) => Arc::new(o),
        Err(e) => {
            eprintln!("loadgen: {e}");
            usage()
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("loadgen: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = rt.block_on(async {
        if opts.mode == "idle" {
            run_idle(opts.clone()).await
        } else {
            run_fanout(opts.clone()).await
        }
    });
    // Subscriber tasks were aborted; do not wait for their sockets to close.
    rt.shutdown_background();
    let record = match result {
        Ok(v) => v,
        Err(e) => {
            let mut m = base_record(&opts);
            m.insert("error".into(), json!(e.to_string()));
            Value::Object(m)
        }
    };
    eprintln!(
        "{} {} run {}:\n{}",
        opts.scenario,
        opts.server,
        opts.run,
        human(&record)
    );
    let line = record.to_string();
    println!("{line}");
    if let Some(path) = &opts.json {
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .and_then(|mut f| writeln!(f, "{line}"));
        if let Err(e) = written {
            eprintln!("loadgen: cannot append to {path}: {e}");
            std::process::exit(1);
        }
    }
    if record.get("error").is_some() {
        std::process::exit(1);
    }
}
