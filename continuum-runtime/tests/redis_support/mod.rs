//! Real Redis topologies per test, on free loopback ports with persistence
//! off, each process ready when it says so on stdout and killed (SIGKILL)
//! on drop: one `redis-server` ([`Redis`]), a 3-primary Redis Cluster
//! ([`Cluster`]), and a primary, a replica and three sentinels
//! ([`Sentinels`]).
//!
//! Without a program the tests print a loud SKIPPED line and pass, except
//! under `CI=true`, where a missing `redis-server`, `redis-cli` or
//! `redis-sentinel` fails them.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long `redis-server` may take to say it is ready.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// `redis-server` on PATH, or `None` after printing why the caller skips.
/// Panics under `CI=true`: there a missing program is a failure.
pub fn redis_server_binary(test: &str) -> Option<PathBuf> {
    program(test, "redis-server", "redis-server")
}

/// `name` on PATH (from Debian's `package`), or `None` after printing why
/// the caller skips. Panics under `CI=true`.
pub fn program(test: &str, name: &str, package: &str) -> Option<PathBuf> {
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(name))
            .find(|p| p.is_file())
    });
    if found.is_none() {
        let msg = format!(
            "SKIPPED {test}: `{name}` not found on PATH; install it with `apt-get install {package}`"
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

/// A process this test started, killed (SIGKILL) on drop.
pub struct Process {
    pub port: u16,
    child: Option<Child>,
}

impl Process {
    /// Start `binary args…` and wait until its stdout shows `ready`.
    pub fn spawn(binary: &Path, args: &[String], ready: &'static str, port: u16) -> Process {
        let mut child = Command::new(binary)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains(ready) {
                    let _ = tx.send(());
                }
            }
        });
        rx.recv_timeout(READY_WITHIN)
            .unwrap_or_else(|_| panic!("{} ready in time ({ready:?})", binary.display()));
        Process {
            port,
            child: Some(child),
        }
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Send a signal (`STOP`, `CONT`) to this process, by its id.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id();
        let status = Command::new("kill")
            .args([format!("-{signal}"), pid.to_string()])
            .status()
            .expect("kill(1)");
        assert!(status.success(), "kill -{signal} {pid}");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A directory for config files, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(what: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "continuum-{what}-{}-{}",
            std::process::id(),
            free_port()
        ));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `redis-cli -p <port> args…`, its stdout (fails the test on error).
pub fn cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .output()
        .expect("run redis-cli");
    assert!(
        out.status.success(),
        "redis-cli -p {port} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Poll `check` every 50 ms until it holds; fails the test after `within`.
pub fn poll(what: &str, within: Duration, mut check: impl FnMut() -> bool) {
    let deadline = Instant::now() + within;
    while !check() {
        assert!(Instant::now() < deadline, "{what}: not within {within:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn server_args(port: u16, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--port",
        &port.to_string(),
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
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(extra.iter().map(|s| s.to_string()));
    args
}

/// A Redis Cluster of three primaries (no replicas), slots spread by
/// `redis-cli --cluster create`.
pub struct Cluster {
    pub nodes: Vec<Process>,
    _dir: TempDir,
}

impl Cluster {
    /// Start one; `None` (after the SKIPPED line) without the programs.
    pub fn start(test: &str) -> Option<Cluster> {
        let server = redis_server_binary(test)?;
        program(test, "redis-cli", "redis-tools")?;
        let dir = TempDir::new("cluster");
        let mut nodes = Vec::new();
        for _ in 0..3 {
            let (port, bus) = (free_port(), free_port());
            let conf = dir.0.join(format!("nodes-{port}.conf"));
            let args = server_args(
                port,
                &[
                    "--cluster-enabled",
                    "yes",
                    "--cluster-config-file",
                    conf.to_str().expect("utf-8 path"),
                    "--cluster-port",
                    &bus.to_string(),
                    "--cluster-node-timeout",
                    "2000",
                    "--dir",
                    dir.0.to_str().expect("utf-8 path"),
                ],
            );
            nodes.push(Process::spawn(
                &server,
                &args,
                "Ready to accept connections",
                port,
            ));
        }
        let addrs: Vec<String> = nodes
            .iter()
            .map(|n| format!("127.0.0.1:{}", n.port))
            .collect();
        let mut create = vec!["--cluster", "create"];
        create.extend(addrs.iter().map(String::as_str));
        create.extend(["--cluster-replicas", "0", "--cluster-yes"]);
        cli(nodes[0].port, &create);
        let cluster = Cluster { nodes, _dir: dir };
        for n in &cluster.nodes {
            poll("cluster_state:ok", Duration::from_secs(20), || {
                cli(n.port, &["CLUSTER", "INFO"]).contains("cluster_state:ok")
            });
        }
        Some(cluster)
    }

    /// The seed URLs, one per node.
    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .iter()
            .map(|n| format!("redis://127.0.0.1:{}", n.port))
            .collect()
    }

    /// The hash slot of `key`.
    pub fn slot(&self, key: &str) -> u16 {
        cli(self.nodes[0].port, &["CLUSTER", "KEYSLOT", key])
            .trim()
            .parse()
            .expect("a slot")
    }

    /// The node serving `slot` now.
    pub fn owner(&self, slot: u16) -> usize {
        (0..self.nodes.len())
            .find(|&i| {
                let port = self.nodes[i].port;
                let nodes = cli(port, &["CLUSTER", "NODES"]);
                nodes.lines().any(|l| {
                    l.contains("myself")
                        && l.split(' ').skip(8).any(|range| {
                            let (lo, hi) = range.split_once('-').unwrap_or((range, range));
                            match (lo.parse::<u16>(), hi.parse::<u16>()) {
                                (Ok(lo), Ok(hi)) => lo <= slot && slot <= hi,
                                _ => false,
                            }
                        })
                })
            })
            .expect("a node owns the slot")
    }

    /// Move `slot` with its keys from node `from` to node `to`, as a
    /// resharding does: clients of `from` get `MOVED` afterwards.
    pub fn move_slot(&self, slot: u16, from: usize, to: usize) {
        let id = |i: usize| {
            cli(self.nodes[i].port, &["CLUSTER", "MYID"])
                .trim()
                .to_owned()
        };
        let (from_id, to_id) = (id(from), id(to));
        let (src, dst) = (self.nodes[from].port, self.nodes[to].port);
        let slot_s = slot.to_string();
        cli(dst, &["CLUSTER", "SETSLOT", &slot_s, "IMPORTING", &from_id]);
        cli(src, &["CLUSTER", "SETSLOT", &slot_s, "MIGRATING", &to_id]);
        loop {
            let keys = cli(src, &["CLUSTER", "GETKEYSINSLOT", &slot_s, "1000"]);
            let keys: Vec<&str> = keys.lines().filter(|k| !k.is_empty()).collect();
            if keys.is_empty() {
                break;
            }
            let dst_s = dst.to_string();
            let mut args = vec!["MIGRATE", "127.0.0.1", &dst_s, "", "0", "5000", "KEYS"];
            args.extend(keys);
            let out = cli(src, &args);
            assert!(out.contains("OK"), "MIGRATE: {out}");
        }
        for n in &self.nodes {
            cli(n.port, &["CLUSTER", "SETSLOT", &slot_s, "NODE", &to_id]);
        }
    }
}

/// A primary, one replica and three sentinels watching them as `mymaster`
/// (quorum 2), with short timeouts so a failover takes seconds.
pub struct Sentinels {
    pub primary: Process,
    pub replica: Process,
    pub sentinels: Vec<Process>,
    _dir: TempDir,
}

/// The name the sentinels know the primary by.
pub const SERVICE: &str = "mymaster";

impl Sentinels {
    /// Start them; `None` (after the SKIPPED line) without the programs.
    pub fn start(test: &str) -> Option<Sentinels> {
        let server = redis_server_binary(test)?;
        program(test, "redis-cli", "redis-tools")?;
        let sentinel = program(test, "redis-sentinel", "redis-sentinel")?;
        let dir = TempDir::new("sentinel");
        let (p, r) = (free_port(), free_port());
        let ready = "Ready to accept connections";
        let primary = Process::spawn(&server, &server_args(p, &[]), ready, p);
        let replica_args = server_args(r, &["--replicaof", "127.0.0.1", &p.to_string()]);
        let replica = Process::spawn(&server, &replica_args, ready, r);
        poll("replica in sync", Duration::from_secs(10), || {
            cli(r, &["INFO", "replication"]).contains("master_link_status:up")
        });
        let mut sentinels = Vec::new();
        for _ in 0..3 {
            let port = free_port();
            let conf = dir.0.join(format!("sentinel-{port}.conf"));
            std::fs::write(
                &conf,
                format!(
                    "port {port}\nbind 127.0.0.1\ndaemonize no\ndir {dir}\n\
                     sentinel monitor {SERVICE} 127.0.0.1 {p} 2\n\
                     sentinel down-after-milliseconds {SERVICE} 1000\n\
                     sentinel failover-timeout {SERVICE} 3000\n\
                     sentinel parallel-syncs {SERVICE} 1\n",
                    dir = dir.0.display()
                ),
            )
            .expect("sentinel config");
            let args = vec![conf.to_str().expect("utf-8 path").to_owned()];
            sentinels.push(Process::spawn(&sentinel, &args, "+monitor master", port));
        }
        // A failover needs the sentinels to know each other (for the vote)
        // and the replica (to promote).
        for s in &sentinels {
            poll(
                "sentinels see each other and the replica",
                Duration::from_secs(20),
                || {
                    let info = cli(s.port, &["SENTINEL", "MASTER", SERVICE]);
                    let field = |name: &str| {
                        let mut lines = info.lines();
                        while let Some(l) = lines.next() {
                            if l == name {
                                return lines.next().unwrap_or("").to_owned();
                            }
                        }
                        String::new()
                    };
                    field("num-other-sentinels") == "2" && field("num-slaves") == "1"
                },
            );
        }
        Some(Sentinels {
            primary,
            replica,
            sentinels,
            _dir: dir,
        })
    }

    /// Replication lags: the primary drops its replica, which cannot come
    /// back (it now fails to authenticate), so whatever the primary
    /// acknowledges from now on the replica never gets. (Stopping the
    /// replica would not do: the kernel keeps receiving for it.)
    pub fn cut_replication(&self) {
        cli(
            self.replica.port,
            &["CONFIG", "SET", "masterauth", "cut-off"],
        );
        cli(self.primary.port, &["CLIENT", "KILL", "TYPE", "replica"]);
        poll("replica cut off", Duration::from_secs(5), || {
            cli(self.replica.port, &["INFO", "replication"]).contains("master_link_status:down")
        });
    }

    /// Undo [`cut_replication`](Self::cut_replication)'s setting.
    pub fn restore_replication(&self) {
        cli(self.replica.port, &["CONFIG", "SET", "masterauth", ""]);
    }

    /// `redis+sentinel://127.0.0.1:<s1>,…/mymaster`
    pub fn url(&self) -> String {
        let hosts: Vec<String> = self
            .sentinels
            .iter()
            .map(|s| format!("127.0.0.1:{}", s.port))
            .collect();
        format!("redis+sentinel://{}/{SERVICE}", hosts.join(","))
    }

    /// The port every sentinel names as the primary now.
    pub fn primary_port(&self) -> Option<u16> {
        let ports: Vec<Option<u16>> = self
            .sentinels
            .iter()
            .map(|s| {
                cli(s.port, &["SENTINEL", "GET-MASTER-ADDR-BY-NAME", SERVICE])
                    .lines()
                    .nth(1)
                    .and_then(|p| p.trim().parse().ok())
            })
            .collect();
        ports
            .iter()
            .all(|p| *p == ports[0])
            .then(|| ports[0])
            .flatten()
    }
}
