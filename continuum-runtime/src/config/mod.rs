//! The settings of a [`Hub`](crate::Hub), read back by the HTTP layer
//! through [`Hub::config`](crate::Hub::config), and their defaults. The
//! builder that fills them is [`HubBuilder`](crate::HubBuilder); the
//! environment variables it reads are listed on
//! [`HubBuilder::from_env`](crate::HubBuilder::from_env).
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

pub(crate) mod net;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use self::net::IpRange;

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

/// Default bound on the live keys of each keyed event type (the latest
/// event per key a hub keeps; past it the least recently updated key is
/// evicted). Re-exported from the ring, where the state lives.
pub const DEFAULT_MAX_KEYS_PER_TYPE: usize = crate::ring::state::DEFAULT_MAX_KEYS_PER_TYPE;

/// The hub's settings, read by the HTTP layer through [`Hub::config`](crate::Hub::config).
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
    pub(crate) max_keys_per_type: usize,
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
            max_keys_per_type: DEFAULT_MAX_KEYS_PER_TYPE,
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
    /// How many live keys each keyed event type keeps at most.
    pub fn max_keys_per_type(&self) -> usize {
        self.max_keys_per_type
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
