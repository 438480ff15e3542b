//! [`HubBuilder`]: every setting of a [`Hub`], its registry, its auth hook
//! and its backplane, then [`HubBuilder::build`]; and [`BuildError`]. Reading
//! the settings from environment variables is [`HubBuilder::from_env`]
//! (`env.rs`).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::{AuthHook, Grant, Hub, Reject};
use crate::backplane::Backplane;
use crate::config::net::IpRange;
use crate::config::Config;
use crate::event::Event;
use crate::registry::{Registry, RegistryError};

/// Builds a [`Hub`]; start with [`Hub::builder`] or [`HubBuilder::from_env`].
pub struct HubBuilder {
    pub(crate) config: Config,
    pub(crate) registry: Registry,
    pub(crate) registry_errors: Vec<RegistryError>,
    pub(crate) auth: Option<AuthHook>,
    pub(crate) backplane: Option<Arc<dyn Backplane>>,
    #[cfg(feature = "redis")]
    pub(crate) redis: Option<crate::backplane::RedisOptions>,
}

impl fmt::Debug for HubBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HubBuilder")
            .field("config", &self.config)
            .field("registry", &self.registry)
            .field("auth", &self.auth.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for HubBuilder {
    fn default() -> Self {
        HubBuilder::new()
    }
}

impl HubBuilder {
    /// A builder with every default; every `#[continuum_event]` type linked
    /// into the binary is registered.
    pub fn new() -> Self {
        let (registry, error) = crate::hub::initial_registry();
        HubBuilder {
            config: Config::default(),
            registry,
            registry_errors: error.into_iter().collect(),
            auth: None,
            backplane: None,
            #[cfg(feature = "redis")]
            redis: None,
        }
    }

    /// Events kept for `Last-Event-ID` replay (default 1024, at least 1).
    pub fn replay_capacity(mut self, events: usize) -> Self {
        self.config.replay_capacity = events.max(1);
        self
    }

    /// How many events a subscriber may fall behind before it is cut off with
    /// `continuum.reset` (default 1024, at least 1). Publishers never wait.
    pub fn queue_bound(mut self, events: usize) -> Self {
        self.config.queue_bound = events.max(1);
        self
    }

    /// How many live keys each keyed event type keeps at most (default
    /// [`DEFAULT_MAX_KEYS_PER_TYPE`](crate::config::DEFAULT_MAX_KEYS_PER_TYPE),
    /// 10,000; at least 1): past it the key updated least recently is
    /// evicted, counted in `continuum_keys_evicted_total` and logged once
    /// per burst. `CONTINUUM_MAX_KEYS_PER_TYPE` sets it. Over Redis, every
    /// node should use the same bound (the shared state is bounded by the
    /// publishing node's).
    ///
    /// ```
    /// let hub = continuum_runtime::Hub::builder().max_keys_per_type(50_000).build().unwrap();
    /// assert_eq!(hub.config().max_keys_per_type(), 50_000);
    /// ```
    pub fn max_keys_per_type(mut self, keys: usize) -> Self {
        self.config.max_keys_per_type = keys.max(1);
        self
    }

    /// Interval between heartbeat comments (default 25 s; at least 1 ms).
    pub fn heartbeat(mut self, every: Duration) -> Self {
        self.config.heartbeat = every.max(Duration::from_millis(1));
        self
    }

    /// Accept `token` in `x-continuum-event-key` on `POST` requests. Each
    /// call adds one token (every one is accepted, each compared in constant
    /// time), so a token can be rotated without downtime: add the new one,
    /// move publishers over, then drop the old one. An empty token is ignored.
    ///
    /// ```
    /// use continuum_runtime::Hub;
    /// let hub = Hub::builder().ingest_token("old").ingest_token("new").build().unwrap();
    /// assert_eq!(hub.config().ingest_tokens().collect::<Vec<_>>(), ["old", "new"]);
    /// ```
    pub fn ingest_token(mut self, token: impl Into<String>) -> Self {
        let t: String = token.into();
        if !t.is_empty() && !self.config.ingest_tokens.iter().any(|k| **k == *t) {
            self.config.ingest_tokens.push(t.into());
        }
        self
    }

    /// Replace the accepted ingest tokens with `tokens` (empty ones are
    /// ignored; none at all leaves ingest open). `CONTINUUM_EVENT_INGEST_TOKEN`
    /// sets this from a comma-separated list.
    pub fn ingest_tokens<I, S>(mut self, tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.ingest_tokens.clear();
        for t in tokens {
            self = self.ingest_token(t);
        }
        self
    }

    /// Most SSE subscribers this hub serves at once (default: no cap). A
    /// subscription past it is answered `503` `server_full` with
    /// `retry-after`, before any stream state is allocated.
    /// `CONTINUUM_MAX_SUBSCRIBERS` sets it.
    pub fn max_subscribers(mut self, subscribers: usize) -> Self {
        self.config.max_subscribers = Some(subscribers);
        self
    }

    /// Most SSE subscribers one client address holds at once (default: no
    /// cap; IPv6 addresses count per /64, what one host usually gets). Past
    /// it: `429` `too_many_subscribers` with `retry-after`. The address is
    /// the socket's peer (see [`trusted_proxies`](Self::trusted_proxies)
    /// behind a proxy); a request whose address is unknown (a tower service
    /// mounted without [`ClientAddr`](crate::http::ClientAddr)) counts only
    /// against [`max_subscribers`](Self::max_subscribers).
    /// `CONTINUUM_MAX_SUBSCRIBERS_PER_IP` sets it.
    pub fn max_subscribers_per_ip(mut self, subscribers: usize) -> Self {
        self.config.max_subscribers_per_ip = Some(subscribers);
        self
    }

    /// How long a `POST` body may take to arrive, from when the request head
    /// was read (default 15 s). A slower body is answered `408`
    /// `body_timeout` and the connection is closed: a client trickling bytes
    /// cannot hold a connection and a buffer for free.
    /// `CONTINUUM_BODY_READ_TIMEOUT_SECS` sets it.
    pub fn body_read_timeout(mut self, timeout: Duration) -> Self {
        self.config.body_read_timeout = timeout.max(Duration::from_millis(1));
        self
    }

    /// Proxies (addresses or CIDR ranges such as `10.0.0.0/8`) whose
    /// `x-forwarded-for` header is believed. When the socket's peer is one
    /// of them, the client address is the rightmost `x-forwarded-for` entry
    /// that is not a trusted proxy. By default no proxy is trusted and the
    /// header is ignored: anyone can write it.
    /// `CONTINUUM_TRUSTED_PROXIES` sets it.
    ///
    /// # Panics
    ///
    /// When an item is neither an IP address nor a CIDR range.
    ///
    /// ```
    /// use continuum_runtime::Hub;
    /// let hub = Hub::builder().trusted_proxies(["10.0.0.0/8", "::1"]).build().unwrap();
    /// assert!(hub.config().is_trusted_proxy("10.1.2.3".parse().unwrap()));
    /// assert!(!hub.config().is_trusted_proxy("192.0.2.1".parse().unwrap()));
    /// ```
    pub fn trusted_proxies<I, S>(mut self, proxies: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        self.config.trusted_proxies = proxies
            .into_iter()
            .map(|p| {
                let p = p.as_ref().trim();
                p.parse::<IpRange>()
                    .unwrap_or_else(|()| panic!("`{p}` is not an IP address or CIDR range"))
            })
            .collect();
        self
    }

    /// Origins allowed by CORS (`https://app.example.com`); replaces the list.
    pub fn allowed_origins<I, S>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.config.allowed_origins = origins
            .into_iter()
            .map(|o| o.into().trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        self
    }

    /// The path of both routes (default `/api/events`).
    pub fn path(mut self, path: impl Into<String>) -> Self {
        let mut p: String = path.into();
        if !p.starts_with('/') {
            p.insert(0, '/');
        }
        self.config.path = p;
        self
    }

    /// Largest accepted ingest body in bytes (default 1 MiB).
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config.body_limit = bytes;
        self
    }

    /// End each SSE stream cleanly after this long (clients reconnect and
    /// replay), so load rebalances across nodes. Checked on the heartbeat
    /// ticker, so a stream may live up to one heartbeat interval longer.
    pub fn max_connection_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.max_connection_lifetime = Some(lifetime);
        self
    }

    /// Base of the `retry:` hint (default 2 s): each connection is told
    /// base + a random share of base, so a restart spreads reconnections.
    pub fn retry_base(mut self, base: Duration) -> Self {
        self.config.retry_base = base;
        self
    }

    /// How long an `Idempotency-Key` is remembered (default 5 min).
    pub fn idempotency_window(mut self, window: Duration) -> Self {
        self.config.idempotency_window = window;
        self
    }

    /// How many idempotency keys are remembered at most (default 10 000).
    pub fn idempotency_capacity(mut self, keys: usize) -> Self {
        self.config.idempotency_capacity = keys;
        self
    }

    /// Register an event type for ingest (types declared with
    /// `#[continuum_event]` are registered automatically; this is for the rest).
    /// A second type with the same name makes [`build`](Self::build) fail.
    pub fn register<E: Event>(mut self) -> Self {
        if let Err(e) = self.registry.register::<E>() {
            self.registry_errors.push(e);
        }
        self
    }

    /// Use exactly the events of `registry` (every version of each),
    /// instead of the ones linked into the binary: for a program that
    /// declares events it does not serve, and for tests that run two
    /// builds' contracts in one process.
    ///
    /// ```
    /// use continuum_runtime::prelude::*;
    /// use continuum_runtime::Registry;
    ///
    /// #[continuum_event("docs.only.ping")]
    /// pub struct Ping;
    ///
    /// let mut registry = Registry::new();
    /// registry.register::<Ping>().unwrap();
    /// let hub = Hub::builder().with_registry(registry).build().unwrap();
    /// assert_eq!(hub.registry().len(), 1);
    /// ```
    pub fn with_registry(mut self, registry: Registry) -> Self {
        self.registry = registry;
        self.registry_errors.clear();
        self
    }

    /// Register every type of `registry` (duplicates are reported by `build`).
    pub fn registry(mut self, registry: &Registry) -> Self {
        let all = registry
            .iter()
            .flat_map(|newest| registry.versions(newest.type_name));
        for reg in all {
            if let Err(e) = self.registry.insert(*reg) {
                self.registry_errors.push(e);
            }
        }
        self
    }

    /// Decide, per subscription request, which channels the subscriber may
    /// see — or refuse it with `401`/`403`. Without a hook every subscriber
    /// gets [`Grant::public`].
    ///
    /// ```
    /// use continuum_runtime::{Hub, hub::{Grant, Reject}};
    ///
    /// let hub = Hub::builder()
    ///     .authorize(|parts| match parts.headers.get("x-user") {
    ///         Some(user) => Ok(Grant::public().with_channel(format!("user:{}", user.to_str().unwrap_or("")))),
    ///         None => Err(Reject::unauthorized("sign in first")),
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = hub;
    /// ```
    pub fn authorize<F>(mut self, hook: F) -> Self
    where
        F: Fn(&http::request::Parts) -> Result<Grant, Reject> + Send + Sync + 'static,
    {
        self.auth = Some(Arc::new(hook));
        self
    }

    /// Publish through `backplane` instead of the in-memory default.
    pub fn backplane(mut self, backplane: Arc<dyn Backplane>) -> Self {
        self.backplane = Some(backplane);
        self
    }

    /// Share events with every other node using the Redis at `url`, over a
    /// Redis stream (feature `redis`; see
    /// [`backplane::redis`](crate::backplane::redis)). `url` is
    /// `redis://host:port` for one server, several comma-separated
    /// `redis://` URLs for the seed nodes of a Redis Cluster (or use
    /// [`redis_cluster`](Self::redis_cluster)), or
    /// `redis+sentinel://host:26379[,host:26379…]/service` for the primary
    /// Sentinel names (see [`RedisOptions::new`](crate::backplane::RedisOptions::new)).
    /// Set by `CONTINUUM_REDIS_URL` in [`from_env`](Self::from_env).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() {
    /// let hub = continuum_runtime::Hub::builder()
    ///     .redis("redis+sentinel://10.0.0.5:26379,10.0.0.6:26379,10.0.0.7:26379/mymaster")
    ///     .build()
    ///     .unwrap();
    /// # let _ = hub; }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        let options = crate::backplane::RedisOptions::new(url);
        self.redis = Some(match self.redis.take() {
            Some(old) => options
                .stream(old.stream_key().to_owned())
                .retention(old.retention_entries())
                .wait_replicas(old.wait_replicas_count()),
            None => options,
        });
        self
    }

    /// Share events over the Redis Cluster with these seed nodes
    /// (`redis://host:port` each): [`redis`](Self::redis) with the URLs
    /// comma-separated. Every key of the stream lands in one hash slot; a
    /// stream name that would split them is refused by [`build`](Self::build).
    ///
    /// ```no_run
    /// # #[tokio::main] async fn main() {
    /// let hub = continuum_runtime::Hub::builder()
    ///     .redis_cluster(["redis://10.0.0.1:6379", "redis://10.0.0.2:6379", "redis://10.0.0.3:6379"])
    ///     .redis_stream("{myapp}:events")
    ///     .build()
    ///     .unwrap();
    /// # let _ = hub; }
    /// ```
    #[cfg(feature = "redis")]
    pub fn redis_cluster<I, S>(self, seeds: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let seeds: Vec<String> = seeds.into_iter().map(|s| s.as_ref().to_owned()).collect();
        self.redis(seeds.join(","))
    }

    /// Answer a publish (`202`, `emit`) only once `replicas` Redis replicas
    /// confirmed it (`WAIT`, 1 s timeout, then `503`); 0 (the default) does
    /// not wait. Narrows, does not close, what a failover can lose: see
    /// [Durability](crate::backplane::redis#durability-wait). Set by
    /// `CONTINUUM_REDIS_WAIT_REPLICAS`. Without [`redis`](Self::redis) it has no effect.
    #[cfg(feature = "redis")]
    pub fn redis_wait_replicas(mut self, replicas: usize) -> Self {
        self.redis = self.redis.take().map(|o| o.wait_replicas(replicas));
        self
    }

    /// The Redis stream key (default `continuum:events`); nodes that share a
    /// stream behave as one hub. Set by `CONTINUUM_REDIS_STREAM`.
    /// Without [`redis`](Self::redis) it has no effect.
    #[cfg(feature = "redis")]
    pub fn redis_stream(mut self, key: impl Into<String>) -> Self {
        self.redis = self.redis.take().map(|o| o.stream(key));
        self
    }

    /// About how many events the Redis stream keeps (default 100,000): how
    /// far back a `Last-Event-ID` replays on any node, and how long a node
    /// may be cut off from Redis without a reset.
    /// Without [`redis`](Self::redis) it has no effect.
    #[cfg(feature = "redis")]
    pub fn redis_retention(mut self, entries: usize) -> Self {
        self.redis = self.redis.take().map(|o| o.retention(entries));
        self
    }

    /// All the Redis settings at once, for the ones without a builder
    /// method of their own (timeouts).
    #[cfg(feature = "redis")]
    pub fn redis_options(mut self, options: crate::backplane::RedisOptions) -> Self {
        self.redis = Some(options);
        self
    }

    /// Build the hub.
    ///
    /// # Errors
    /// [`BuildError::DuplicateType`] when two Rust types declare the same
    /// event name; [`BuildError::Backplane`] when the Redis backplane is
    /// configured with a URL that does not parse or a stream name whose
    /// keys would not share one Redis Cluster slot (`app{}`: the message
    /// names the fix), or outside a Tokio runtime (it starts its tasks here).
    pub fn build(self) -> Result<Hub, BuildError> {
        if let Some(e) = self.registry_errors.into_iter().next() {
            return Err(BuildError::DuplicateType(e));
        }
        #[allow(unused_mut)]
        let mut backplane = self.backplane;
        #[cfg(feature = "redis")]
        if let (None, Some(options)) = (&backplane, self.redis) {
            if tokio::runtime::Handle::try_current().is_err() {
                return Err(BuildError::Backplane(
                    "the redis backplane starts tasks: build the hub inside a Tokio runtime".into(),
                ));
            }
            let redis = crate::backplane::RedisBackplane::new(options)
                .map_err(|e| BuildError::Backplane(e.to_string()))?;
            backplane = Some(Arc::new(redis));
        }
        Ok(Hub::from_parts(
            self.config,
            self.registry,
            self.auth,
            backplane,
        ))
    }
}

/// A hub could not be built.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum BuildError {
    /// Two Rust types declare the same event name; the message names both.
    DuplicateType(RegistryError),
    /// The configured backplane could not be set up (e.g. a Redis URL that
    /// does not parse).
    Backplane(String),
}

impl fmt::Display for BuildError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BuildError::DuplicateType(e) => e.fmt(f),
            BuildError::Backplane(e) => write!(f, "backplane: {e}"),
        }
    }
}

impl std::error::Error for BuildError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            BuildError::DuplicateType(e) => Some(e),
            BuildError::Backplane(_) => None,
        }
    }
}
