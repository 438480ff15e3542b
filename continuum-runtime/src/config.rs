//! Building a [`Hub`]: the builder, the environment variables, and the
//! settings the HTTP layer reads back through [`Hub::config`].
//!
//! ```
//! use std::time::Duration;
//! use continuum_runtime::Hub;
//!
//! let hub = Hub::builder()
//!     .replay_capacity(4096)
//!     .heartbeat(Duration::from_secs(15))
//!     .allowed_origins(["https://app.example.com"])
//!     .ingest_token("s3cret")
//!     .build()
//!     .unwrap();
//! assert_eq!(hub.config().path(), "/api/events");
//! assert!(hub.config().is_origin_allowed("https://app.example.com"));
//! ```
//!
//! # Environment variables
//!
//! [`HubBuilder::from_env`] reads these (unset or empty means "use the default"):
//!
//! | variable | meaning | default |
//! |---|---|---|
//! | `CONTINUUM_EVENT_INGEST_TOKEN` | token `POST` requests must send in `x-continuum-event-key`; several, comma-separated, are all accepted (rotation) | none: ingest is open (one warning at start) |
//! | `CONTINUUM_MAX_SUBSCRIBERS` | most SSE subscribers at once on this hub; past it `503 server_full` | none |
//! | `CONTINUUM_MAX_SUBSCRIBERS_PER_IP` | most SSE subscribers at once per client address (IPv6: per /64); past it `429 too_many_subscribers` | none |
//! | `CONTINUUM_BODY_READ_TIMEOUT_SECS` | seconds a `POST` body may take to arrive; past it `408` and the connection is closed | `15` |
//! | `CONTINUUM_TRUSTED_PROXIES` | comma-separated proxy addresses or CIDR ranges whose `x-forwarded-for` is believed | none: the socket's peer is the client |
//! | `CONTINUUM_HEARTBEAT_SECS` | seconds between heartbeat comments, a whole number ≥ 1 | `25` |
//! | `CONTINUUM_ALLOWED_ORIGINS` | comma-separated origins allowed by CORS, e.g. `https://a.example,http://localhost:5173` | none: no CORS headers |
//! | `CONTINUUM_REDIS_URL` | share events with other nodes over Redis Streams (feature `redis`), e.g. `redis://127.0.0.1:6379` | none: in-memory, one process |
//! | `CONTINUUM_REDIS_STREAM` | the Redis stream key nodes share | `continuum:events` |
//!
//! `CONTINUUM_ADDR` (the listen address) is read by the standalone server, not here.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::backplane::Backplane;
use crate::event::Event;
use crate::hub::{AuthHook, Grant, Hub, Reject};
use crate::registry::{Registry, RegistryError};

/// Default replay buffer length (events).
pub const DEFAULT_REPLAY_CAPACITY: usize = 1024;
/// Default bound on how far (in events) a subscriber may fall behind before it is cut off.
pub const DEFAULT_QUEUE_BOUND: usize = 1024;
/// Default heartbeat interval.
pub const DEFAULT_HEARTBEAT: Duration = Duration::from_secs(25);
/// Default path of both routes.
pub const DEFAULT_PATH: &str = "/api/events";
/// Default ingest body limit: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;
/// Default base of the `retry:` hint; each connection gets base + up to base of jitter.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_millis(2000);
/// Default window during which a repeated `Idempotency-Key` publishes nothing.
pub const DEFAULT_IDEMPOTENCY_WINDOW: Duration = Duration::from_secs(300);
/// Default number of idempotency keys remembered.
pub const DEFAULT_IDEMPOTENCY_CAPACITY: usize = 10_000;
/// Default time a `POST` body may take to arrive before the request is
/// answered `408` and the connection closed.
pub const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(15);

/// The hub's settings, read by the HTTP layer through [`Hub::config`].
#[derive(Clone, Debug)]
pub struct Config {
    pub(crate) replay_capacity: usize,
    pub(crate) queue_bound: usize,
    pub(crate) heartbeat: Duration,
    pub(crate) ingest_tokens: Vec<Arc<str>>,
    pub(crate) allowed_origins: Vec<String>,
    pub(crate) path: String,
    pub(crate) body_limit: usize,
    pub(crate) max_connection_lifetime: Option<Duration>,
    pub(crate) retry_base: Duration,
    pub(crate) idempotency_window: Duration,
    pub(crate) idempotency_capacity: usize,
    pub(crate) max_subscribers: Option<usize>,
    pub(crate) max_subscribers_per_ip: Option<usize>,
    pub(crate) body_read_timeout: Duration,
    pub(crate) trusted_proxies: Vec<IpRange>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            replay_capacity: DEFAULT_REPLAY_CAPACITY,
            queue_bound: DEFAULT_QUEUE_BOUND,
            heartbeat: DEFAULT_HEARTBEAT,
            ingest_tokens: Vec::new(),
            allowed_origins: Vec::new(),
            path: DEFAULT_PATH.to_owned(),
            body_limit: DEFAULT_BODY_LIMIT,
            max_connection_lifetime: None,
            retry_base: DEFAULT_RETRY_BASE,
            idempotency_window: DEFAULT_IDEMPOTENCY_WINDOW,
            idempotency_capacity: DEFAULT_IDEMPOTENCY_CAPACITY,
            max_subscribers: None,
            max_subscribers_per_ip: None,
            body_read_timeout: DEFAULT_BODY_READ_TIMEOUT,
            trusted_proxies: Vec::new(),
        }
    }
}

impl Config {
    /// Events kept for `Last-Event-ID` replay.
    pub fn replay_capacity(&self) -> usize {
        self.replay_capacity
    }
    /// How many events a subscriber may fall behind before it is cut off.
    pub fn queue_bound(&self) -> usize {
        self.queue_bound
    }
    /// Interval between heartbeat comments.
    pub fn heartbeat(&self) -> Duration {
        self.heartbeat
    }
    /// The first ingest token, if any (see [`ingest_tokens`](Self::ingest_tokens)).
    pub fn ingest_token(&self) -> Option<&str> {
        self.ingest_tokens.first().map(|t| &**t)
    }
    /// Every accepted ingest token (several while one is being rotated out).
    /// Compare each in constant time (`subtle`).
    pub fn ingest_tokens(&self) -> impl ExactSizeIterator<Item = &str> {
        self.ingest_tokens.iter().map(|t| &**t)
    }
    /// Most SSE subscribers at once on this hub, if capped.
    pub fn max_subscribers(&self) -> Option<usize> {
        self.max_subscribers
    }
    /// Most SSE subscribers at once per client address, if capped.
    pub fn max_subscribers_per_ip(&self) -> Option<usize> {
        self.max_subscribers_per_ip
    }
    /// How long a `POST` body may take to arrive.
    pub fn body_read_timeout(&self) -> Duration {
        self.body_read_timeout
    }
    /// Whether `ip` is a trusted proxy, whose `x-forwarded-for` is believed.
    pub fn is_trusted_proxy(&self, ip: IpAddr) -> bool {
        self.trusted_proxies.iter().any(|r| r.contains(ip))
    }
    /// Origins allowed by CORS, normalised (no trailing `/`).
    pub fn allowed_origins(&self) -> &[String] {
        &self.allowed_origins
    }
    /// Whether `origin` (an `Origin` header value) is allowed. A configured `*`
    /// allows every origin; the HTTP layer still echoes the origin itself,
    /// never `*`, because responses carry credentials.
    pub fn is_origin_allowed(&self, origin: &str) -> bool {
        let origin = origin.trim_end_matches('/');
        self.allowed_origins
            .iter()
            .any(|o| o == "*" || o.eq_ignore_ascii_case(origin))
    }
    /// The path of both routes, e.g. `/api/events`.
    pub fn path(&self) -> &str {
        &self.path
    }
    /// Largest accepted ingest body, in bytes.
    pub fn body_limit(&self) -> usize {
        self.body_limit
    }
    /// Longest an SSE stream stays open before it ends cleanly (the client
    /// reconnects and replays), if capped.
    pub fn max_connection_lifetime(&self) -> Option<Duration> {
        self.max_connection_lifetime
    }
    /// Base of the `retry:` hint.
    pub fn retry_base(&self) -> Duration {
        self.retry_base
    }
    /// How long an `Idempotency-Key` is remembered.
    pub fn idempotency_window(&self) -> Duration {
        self.idempotency_window
    }
    /// How many idempotency keys are remembered at most.
    pub fn idempotency_capacity(&self) -> usize {
        self.idempotency_capacity
    }
}

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

    /// A builder configured from the environment (see the [module docs](self)).
    ///
    /// # Errors
    /// A variable that is set but cannot be used, naming the variable, its value and what was expected.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Like [`from_env`](Self::from_env), reading variables through `lookup`
    /// (for tests and for configuration systems other than the environment).
    ///
    /// ```
    /// use continuum_runtime::HubBuilder;
    /// let err = HubBuilder::from_lookup(|k| (k == "CONTINUUM_HEARTBEAT_SECS").then(|| "soon".to_string()))
    ///     .unwrap_err();
    /// assert_eq!(err.variable(), "CONTINUUM_HEARTBEAT_SECS");
    /// ```
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let mut b = HubBuilder::new();
        let get = |name: &str| {
            lookup(name)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        if let Some(tokens) = get("CONTINUUM_EVENT_INGEST_TOKEN") {
            b = b.ingest_tokens(tokens.split(',').map(str::trim));
        }
        for (name, per_ip) in [
            ("CONTINUUM_MAX_SUBSCRIBERS", false),
            ("CONTINUUM_MAX_SUBSCRIBERS_PER_IP", true),
        ] {
            let Some(v) = get(name) else { continue };
            match v.parse::<usize>() {
                Ok(n) if n >= 1 && per_ip => b = b.max_subscribers_per_ip(n),
                Ok(n) if n >= 1 => b = b.max_subscribers(n),
                _ => {
                    return Err(ConfigError::new(
                        name,
                        v,
                        "expected a whole number of subscribers, at least 1 (e.g. `10000`); unset means no cap",
                    ))
                }
            }
        }
        if let Some(v) = get("CONTINUUM_BODY_READ_TIMEOUT_SECS") {
            match v.parse::<u64>() {
                Ok(secs) if secs >= 1 => b = b.body_read_timeout(Duration::from_secs(secs)),
                _ => {
                    return Err(ConfigError::new(
                        "CONTINUUM_BODY_READ_TIMEOUT_SECS",
                        v,
                        "expected a whole number of seconds, at least 1 (e.g. `15`)",
                    ))
                }
            }
        }
        if let Some(v) = get("CONTINUUM_TRUSTED_PROXIES") {
            let mut ranges = Vec::new();
            for item in v.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                match item.parse::<IpRange>() {
                    Ok(r) => ranges.push(r),
                    Err(()) => {
                        return Err(ConfigError::new(
                            "CONTINUUM_TRUSTED_PROXIES",
                            v.clone(),
                            format!("`{item}` is not an IP address or CIDR range; expected e.g. `10.0.0.0/8,127.0.0.1,::1`"),
                        ))
                    }
                }
            }
            b.config.trusted_proxies = ranges;
        }
        if let Some(v) = get("CONTINUUM_HEARTBEAT_SECS") {
            match v.parse::<u64>() {
                Ok(secs) if secs >= 1 => b = b.heartbeat(Duration::from_secs(secs)),
                _ => {
                    return Err(ConfigError::new(
                        "CONTINUUM_HEARTBEAT_SECS",
                        v,
                        "expected a whole number of seconds, at least 1 (e.g. `25`)",
                    ))
                }
            }
        }
        if let Some(v) = get("CONTINUUM_ALLOWED_ORIGINS") {
            let mut origins = Vec::new();
            for o in v.split(',').map(str::trim).filter(|o| !o.is_empty()) {
                if !is_valid_origin(o) {
                    return Err(ConfigError::new(
                        "CONTINUUM_ALLOWED_ORIGINS",
                        v.clone(),
                        format!("`{o}` is not an origin; expected `scheme://host[:port]` such as `https://app.example.com`, comma-separated"),
                    ));
                }
                origins.push(o.to_owned());
            }
            b = b.allowed_origins(origins);
        }
        b = redis_from_env(b, &get)?;
        Ok(b)
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

    /// Register every type of `registry` (duplicates are reported by `build`).
    pub fn registry(mut self, registry: &Registry) -> Self {
        for reg in registry.iter() {
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

    /// Share events with every other node using the Redis at `url`
    /// (`redis://host:port`), over a Redis stream (feature `redis`; see
    /// [`backplane::redis`](crate::backplane::redis)). Set by
    /// `CONTINUUM_REDIS_URL` in [`from_env`](Self::from_env).
    #[cfg(feature = "redis")]
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        let options = crate::backplane::RedisOptions::new(url);
        self.redis = Some(match self.redis.take() {
            Some(old) => options
                .stream(old.stream_key().to_owned())
                .retention(old.retention_entries()),
            None => options,
        });
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
    /// configured with a URL that does not parse, or outside a Tokio runtime
    /// (it starts its tasks here).
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

/// `CONTINUUM_REDIS_URL` and `CONTINUUM_REDIS_STREAM`.
fn redis_from_env(
    b: HubBuilder,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<HubBuilder, ConfigError> {
    let Some(url) = get("CONTINUUM_REDIS_URL") else {
        return Ok(b);
    };
    #[cfg(feature = "redis")]
    {
        if !(url.starts_with("redis://")
            || url.starts_with("rediss://")
            || url.starts_with("redis+unix://")
            || url.starts_with("unix://"))
        {
            return Err(ConfigError::new(
                "CONTINUUM_REDIS_URL",
                url,
                "expected a Redis URL such as `redis://127.0.0.1:6379`",
            ));
        }
        let mut b = b.redis(url);
        if let Some(stream) = get("CONTINUUM_REDIS_STREAM") {
            b = b.redis_stream(stream);
        }
        Ok(b)
    }
    #[cfg(not(feature = "redis"))]
    {
        let _ = b;
        Err(ConfigError::new(
            "CONTINUUM_REDIS_URL",
            url,
            "this build of continuum-runtime has no Redis backplane: enable its `redis` cargo feature",
        ))
    }
}

/// An IP address or a CIDR range (`10.0.0.0/8`, `fd00::/8`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct IpRange {
    addr: IpAddr,
    prefix: u8,
}

impl IpRange {
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(a), IpAddr::V4(b)) => prefix_eq(
                u128::from(a.to_bits()) << 96,
                u128::from(b.to_bits()) << 96,
                self.prefix,
            ),
            (IpAddr::V6(a), IpAddr::V6(b)) => prefix_eq(a.to_bits(), b.to_bits(), self.prefix),
            _ => false,
        }
    }
}

fn prefix_eq(a: u128, b: u128, prefix: u8) -> bool {
    prefix == 0 || (a ^ b) >> (128 - u32::from(prefix)) == 0
}

/// An IPv4-mapped IPv6 address (`::ffff:10.0.0.1`, what a dual-stack socket
/// reports) as the IPv4 address it is.
pub(crate) fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

impl std::str::FromStr for IpRange {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let (addr, prefix) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr = canonical(addr.trim().parse::<IpAddr>().map_err(|_| ())?);
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => match p.trim().parse::<u8>() {
                Ok(p) if p <= max => p,
                _ => return Err(()),
            },
        };
        Ok(IpRange { addr, prefix })
    }
}

fn is_valid_origin(o: &str) -> bool {
    if o == "*" {
        return true;
    }
    let rest = match o
        .strip_prefix("https://")
        .or_else(|| o.strip_prefix("http://"))
    {
        Some(r) => r.trim_end_matches('/'),
        None => return false,
    };
    !rest.is_empty()
        && rest
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'[' | b']'))
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

/// An environment variable is set to a value that cannot be used.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    variable: &'static str,
    value: String,
    expected: String,
}

impl ConfigError {
    fn new(variable: &'static str, value: String, expected: impl Into<String>) -> Self {
        ConfigError {
            variable,
            value,
            expected: expected.into(),
        }
    }
    /// The variable's name, e.g. `CONTINUUM_HEARTBEAT_SECS`.
    pub fn variable(&self) -> &'static str {
        self.variable
    }
    /// The value that was refused.
    pub fn value(&self) -> &str {
        &self.value
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}={:?}: {}", self.variable, self.value, self.expected)
    }
}

impl std::error::Error for ConfigError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn reads_every_variable() {
        let b = HubBuilder::from_lookup(env(&[
            ("CONTINUUM_EVENT_INGEST_TOKEN", "tok"),
            ("CONTINUUM_HEARTBEAT_SECS", " 7 "),
            (
                "CONTINUUM_ALLOWED_ORIGINS",
                "https://a.example, http://localhost:5173/",
            ),
        ]))
        .unwrap();
        assert_eq!(b.config.ingest_token(), Some("tok"));
        assert_eq!(b.config.heartbeat, Duration::from_secs(7));
        assert_eq!(
            b.config.allowed_origins,
            ["https://a.example", "http://localhost:5173"]
        );
    }

    #[test]
    fn unset_and_empty_mean_default() {
        let b = HubBuilder::from_lookup(env(&[
            ("CONTINUUM_HEARTBEAT_SECS", ""),
            ("CONTINUUM_EVENT_INGEST_TOKEN", ""),
        ]))
        .unwrap();
        assert_eq!(b.config.heartbeat, DEFAULT_HEARTBEAT);
        assert_eq!(b.config.ingest_token(), None);
    }

    #[test]
    fn bad_values_are_named() {
        for (k, v) in [
            ("CONTINUUM_HEARTBEAT_SECS", "0"),
            ("CONTINUUM_HEARTBEAT_SECS", "-3"),
            ("CONTINUUM_HEARTBEAT_SECS", "2.5"),
            ("CONTINUUM_ALLOWED_ORIGINS", "app.example.com"),
            ("CONTINUUM_ALLOWED_ORIGINS", "https://ok.example,ftp://x"),
            ("CONTINUUM_MAX_SUBSCRIBERS", "0"),
            ("CONTINUUM_MAX_SUBSCRIBERS", "lots"),
            ("CONTINUUM_MAX_SUBSCRIBERS_PER_IP", "-1"),
            ("CONTINUUM_BODY_READ_TIMEOUT_SECS", "0"),
            ("CONTINUUM_TRUSTED_PROXIES", "10.0.0.0/33"),
            ("CONTINUUM_TRUSTED_PROXIES", "proxy.internal"),
        ] {
            let err = HubBuilder::from_lookup(|n| (n == k).then(|| v.to_string())).unwrap_err();
            assert_eq!(err.variable(), k);
            assert!(err.to_string().starts_with(k), "{err}");
            assert!(err.to_string().contains("expected"), "{err}");
        }
    }

    #[test]
    fn limits_tokens_and_proxies_from_the_environment() {
        let b = HubBuilder::from_lookup(env(&[
            ("CONTINUUM_EVENT_INGEST_TOKEN", " new , old,,"),
            ("CONTINUUM_MAX_SUBSCRIBERS", "10000"),
            ("CONTINUUM_MAX_SUBSCRIBERS_PER_IP", "8"),
            ("CONTINUUM_BODY_READ_TIMEOUT_SECS", "5"),
            ("CONTINUUM_TRUSTED_PROXIES", "10.0.0.0/8, ::1,fd00::/8"),
        ]))
        .unwrap();
        let c = &b.config;
        assert_eq!(c.ingest_tokens().collect::<Vec<_>>(), ["new", "old"]);
        assert_eq!(c.max_subscribers(), Some(10_000));
        assert_eq!(c.max_subscribers_per_ip(), Some(8));
        assert_eq!(c.body_read_timeout(), Duration::from_secs(5));
        for (ip, trusted) in [
            ("10.200.0.1", true),
            ("::ffff:10.0.0.9", true),
            ("11.0.0.1", false),
            ("::1", true),
            ("::2", false),
            ("fd12::1", true),
            ("fe80::1", false),
        ] {
            assert_eq!(c.is_trusted_proxy(ip.parse().unwrap()), trusted, "{ip}");
        }
        let d = Config::default();
        assert_eq!(
            (d.max_subscribers(), d.max_subscribers_per_ip()),
            (None, None)
        );
        assert!(!d.is_trusted_proxy("127.0.0.1".parse().unwrap()));
        assert!(d.body_read_timeout() <= Duration::from_secs(30));
    }

    #[test]
    fn origin_matching() {
        let c = Config {
            allowed_origins: vec!["https://a.example".into()],
            ..Config::default()
        };
        assert!(c.is_origin_allowed("https://a.example"));
        assert!(c.is_origin_allowed("https://A.example/"));
        assert!(!c.is_origin_allowed("https://b.example"));
        assert!(!Config::default().is_origin_allowed("https://a.example"));
    }
}
