//! [`RedisOptions`]: how to reach Redis (one server, a Cluster's seeds, or
//! Sentinel), which stream to use, how long to keep it, and how long to
//! wait; the builder's and `CONTINUUM_REDIS_*`'s settings in one place.

use std::time::Duration;

use super::topology::Timeouts;
use super::{DEFAULT_RETENTION, DEFAULT_STREAM};

/// How to reach Redis and which stream to use. See [`RedisBackplane::new`](super::RedisBackplane::new).
#[derive(Clone, Debug)]
pub struct RedisOptions {
    pub(super) url: String,
    pub(super) stream: String,
    pub(super) retention: usize,
    pub(super) response_timeout: Duration,
    pub(super) block: Duration,
    pub(super) wait_replicas: usize,
    pub(super) wait_timeout: Duration,
}

impl RedisOptions {
    /// Options for the Redis at `url`, with the default stream and
    /// retention. `url` is one of (see [Topologies](super#topologies)):
    /// - `redis://[user:password@]host:port[/db]`: one server;
    /// - several of those, comma-separated: the seed nodes of a Redis Cluster;
    /// - `redis+sentinel://[user:password@]host:port[,host:port…]/service[/db]`:
    ///   the primary Sentinel names for `service` (port 26379 by default;
    ///   the credentials are the primary's; `?sentinel_password=…` and
    ///   `?sentinel_username=…` authenticate with the sentinels).
    ///
    /// ```
    /// use continuum_runtime::backplane::RedisOptions;
    /// let one = RedisOptions::new("redis://127.0.0.1:6379");
    /// let sentinel = RedisOptions::new("redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster");
    /// # let _ = (one, sentinel);
    /// ```
    pub fn new(url: impl Into<String>) -> Self {
        RedisOptions {
            url: url.into(),
            stream: DEFAULT_STREAM.to_owned(),
            retention: DEFAULT_RETENTION,
            response_timeout: Duration::from_secs(2),
            block: Duration::from_secs(2),
            wait_replicas: 0,
            wait_timeout: Duration::from_secs(1),
        }
    }

    /// Options for the Redis Cluster with these seed nodes
    /// (`redis://host:port` each; any reachable one is enough to find the
    /// others). The same as [`new`](Self::new) with the URLs comma-separated.
    ///
    /// ```
    /// use continuum_runtime::backplane::RedisOptions;
    /// let options = RedisOptions::cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379"]);
    /// assert_eq!(options.url(), "redis://10.0.0.1:6379,redis://10.0.0.2:6379");
    /// ```
    pub fn cluster<I, S>(seeds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let seeds: Vec<String> = seeds.into_iter().map(|s| s.as_ref().to_owned()).collect();
        RedisOptions::new(seeds.join(","))
    }

    /// Resolve publishes only once `replicas` replicas confirmed them
    /// (`WAIT`; 0, the default, does not wait). See
    /// [Durability](super#durability-wait) for what it does and does not
    /// promise.
    pub fn wait_replicas(mut self, replicas: usize) -> Self {
        self.wait_replicas = replicas;
        self
    }

    /// How long a publish waits for its replicas with
    /// [`wait_replicas`](Self::wait_replicas) before it fails (default 1 s).
    pub fn wait_timeout(mut self, timeout: Duration) -> Self {
        self.wait_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// The stream key (default [`DEFAULT_STREAM`]); its epoch and
    /// idempotency keys are named after it.
    pub fn stream(mut self, key: impl Into<String>) -> Self {
        self.stream = key.into();
        self
    }

    /// About how many entries the stream keeps (default
    /// [`DEFAULT_RETENTION`]): `Last-Event-ID`s older than that get
    /// `continuum.reset` (`evicted`), and a node restarting within it replays.
    pub fn retention(mut self, entries: usize) -> Self {
        self.retention = entries.max(1);
        self
    }

    /// How long a publish waits for Redis's reply before it fails (default 2 s).
    pub fn response_timeout(mut self, timeout: Duration) -> Self {
        self.response_timeout = timeout;
        self
    }

    /// How long an idle reader's `XREAD` blocks before it checks the stream
    /// is still there (default 2 s).
    pub fn block(mut self, block: Duration) -> Self {
        self.block = block;
        self
    }

    /// The Redis URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The stream key.
    pub fn stream_key(&self) -> &str {
        &self.stream
    }

    /// The retention, in entries.
    pub fn retention_entries(&self) -> usize {
        self.retention
    }

    /// The replicas a publish waits for (0: none).
    pub fn wait_replicas_count(&self) -> usize {
        self.wait_replicas
    }

    pub(super) fn timeouts(&self) -> Timeouts {
        let wait = if self.wait_replicas > 0 {
            self.wait_timeout
        } else {
            Duration::ZERO
        };
        Timeouts {
            connect: self.response_timeout,
            publisher: self.response_timeout + wait,
            reader: self.block + self.response_timeout,
        }
    }
}
