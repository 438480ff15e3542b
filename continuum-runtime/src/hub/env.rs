//! Configuration from environment variables: [`HubBuilder::from_env`] and
//! [`ConfigError`].

use std::fmt;
use std::time::Duration;

use super::HubBuilder;
use crate::config::net::{is_valid_origin, IpRange};

impl HubBuilder {
    /// A builder configured from the environment.
    ///
    /// Unset or empty means "use the default":
    ///
    /// | variable | meaning | default |
    /// |---|---|---|
    /// | `CONTINUUM_EVENT_INGEST_TOKEN` | token `POST` requests must send in `x-continuum-event-key`; several, comma-separated, are all accepted (rotation) | none: ingest is open (one warning at start) |
    /// | `CONTINUUM_MAX_SUBSCRIBERS` | most SSE subscribers at once on this hub; past it `503 server_full` | none |
    /// | `CONTINUUM_MAX_SUBSCRIBERS_PER_IP` | most SSE subscribers at once per client address (IPv6: per /64); past it `429 too_many_subscribers` | none |
    /// | `CONTINUUM_BODY_READ_TIMEOUT_SECS` | seconds a `POST` body may take to arrive; past it `408` and the connection is closed | `15` |
    /// | `CONTINUUM_TRUSTED_PROXIES` | comma-separated proxy addresses or CIDR ranges whose `x-forwarded-for` is believed | none: the socket's peer is the client |
    /// | `CONTINUUM_MAX_KEYS_PER_TYPE` | most live keys each keyed event type keeps (the latest event per key); past it the least recently updated key is evicted | `10000` |
    /// | `CONTINUUM_HEARTBEAT_SECS` | seconds between heartbeat comments, a whole number ≥ 1 | `25` |
    /// | `CONTINUUM_ALLOWED_ORIGINS` | comma-separated origins allowed by CORS, e.g. `https://a.example,http://localhost:5173` | none: no CORS headers |
    /// | `CONTINUUM_REDIS_URL` | share events with other nodes over Redis Streams (feature `redis`): `redis://127.0.0.1:6379` (one server); `redis://10.0.0.1:6379,redis://10.0.0.2:6379,…` (the seed nodes of a Redis Cluster); `redis+sentinel://10.0.0.5:26379,10.0.0.6:26379/mymaster` (the primary the sentinels name for `mymaster`, followed across failovers) | none: in-memory, one process |
    /// | `CONTINUUM_REDIS_STREAM` | the Redis stream key nodes share; every key of the stream shares its hash slot (on a cluster a name without braces becomes `{name}`; `{app}:events` is kept; braces that are not a valid tag are refused) | `continuum:events` |
    /// | `CONTINUUM_REDIS_WAIT_REPLICAS` | a publish (`202`, `emit`) waits until this many Redis replicas confirmed it (`WAIT n 1000`; fewer within 1 s: `503`); narrows, does not close, what a failover can lose | `0`: no wait |
    ///
    /// `CONTINUUM_ADDR` (the listen address) is read by the standalone server, not here.
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
        if let Some(v) = get("CONTINUUM_MAX_KEYS_PER_TYPE") {
            match v.parse::<usize>() {
                Ok(n) if n >= 1 => b = b.max_keys_per_type(n),
                _ => {
                    return Err(ConfigError::new(
                        "CONTINUUM_MAX_KEYS_PER_TYPE",
                        v,
                        "expected a whole number of keys, at least 1 (e.g. `10000`)",
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
}

/// `CONTINUUM_REDIS_URL`, `CONTINUUM_REDIS_STREAM` and
/// `CONTINUUM_REDIS_WAIT_REPLICAS`.
fn redis_from_env(
    b: HubBuilder,
    get: &impl Fn(&str) -> Option<String>,
) -> Result<HubBuilder, ConfigError> {
    let Some(url) = get("CONTINUUM_REDIS_URL") else {
        if let Some(v) = get("CONTINUUM_REDIS_WAIT_REPLICAS") {
            return Err(ConfigError::new(
                "CONTINUUM_REDIS_WAIT_REPLICAS",
                v,
                "has no effect without a Redis backplane; expected CONTINUUM_REDIS_URL to be set too",
            ));
        }
        return Ok(b);
    };
    #[cfg(feature = "redis")]
    {
        use crate::backplane::redis::{keys::StreamKeys, topology::Endpoint};
        let endpoint = match Endpoint::parse(&url) {
            Ok(e) => e,
            Err(why) => return Err(ConfigError::new("CONTINUUM_REDIS_URL", url, why)),
        };
        let mut b = b.redis(url);
        if let Some(stream) = get("CONTINUUM_REDIS_STREAM") {
            if let Err(e) = StreamKeys::new(&stream, matches!(endpoint, Endpoint::Cluster(_))) {
                return Err(ConfigError::new(
                    "CONTINUUM_REDIS_STREAM",
                    stream,
                    e.to_string(),
                ));
            }
            b = b.redis_stream(stream);
        }
        if let Some(v) = get("CONTINUUM_REDIS_WAIT_REPLICAS") {
            match v.parse::<usize>() {
                Ok(n) => b = b.redis_wait_replicas(n),
                Err(_) => {
                    return Err(ConfigError::new(
                        "CONTINUUM_REDIS_WAIT_REPLICAS",
                        v,
                        "expected a whole number of replicas (e.g. `1`); 0 or unset does not wait",
                    ))
                }
            }
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
    use crate::config::{Config, DEFAULT_HEARTBEAT};

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
            ("CONTINUUM_MAX_KEYS_PER_TYPE", "500"),
            (
                "CONTINUUM_ALLOWED_ORIGINS",
                "https://a.example, http://localhost:5173/",
            ),
        ]))
        .unwrap();
        assert_eq!(b.config.ingest_token(), Some("tok"));
        assert_eq!(b.config.heartbeat, Duration::from_secs(7));
        assert_eq!(b.config.max_keys_per_type, 500);
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

    #[cfg(feature = "redis")]
    #[test]
    fn redis_topologies_from_the_environment() {
        let b = HubBuilder::from_lookup(env(&[
            (
                "CONTINUUM_REDIS_URL",
                "redis://10.0.0.1:7000, redis://10.0.0.2:7000",
            ),
            ("CONTINUUM_REDIS_WAIT_REPLICAS", "1"),
        ]))
        .unwrap();
        let o = b.redis.unwrap();
        assert_eq!(o.url(), "redis://10.0.0.1:7000, redis://10.0.0.2:7000");
        assert_eq!(o.wait_replicas_count(), 1);
        let b = HubBuilder::from_lookup(env(&[(
            "CONTINUUM_REDIS_URL",
            "redis+sentinel://10.0.0.5:26379,10.0.0.6/mymaster",
        )]))
        .unwrap();
        assert_eq!(b.redis.unwrap().wait_replicas_count(), 0);
        for (pairs, variable, says) in [
            (
                &[("CONTINUUM_REDIS_URL", "10.0.0.1:6379")][..],
                "CONTINUUM_REDIS_URL",
                "expected `redis://host:6379`",
            ),
            (
                &[("CONTINUUM_REDIS_URL", "redis+sentinel://10.0.0.5:26379")],
                "CONTINUUM_REDIS_URL",
                "no service name",
            ),
            (
                &[
                    ("CONTINUUM_REDIS_URL", "redis://a:7000,redis://b:7000"),
                    ("CONTINUUM_REDIS_STREAM", "app{}"),
                ],
                "CONTINUUM_REDIS_STREAM",
                "name it with a tag such as `{app}`",
            ),
            (
                &[
                    ("CONTINUUM_REDIS_URL", "redis://a:7000"),
                    ("CONTINUUM_REDIS_WAIT_REPLICAS", "all"),
                ],
                "CONTINUUM_REDIS_WAIT_REPLICAS",
                "whole number of replicas",
            ),
            (
                &[("CONTINUUM_REDIS_WAIT_REPLICAS", "1")],
                "CONTINUUM_REDIS_WAIT_REPLICAS",
                "CONTINUUM_REDIS_URL to be set too",
            ),
        ] {
            let pairs: Vec<(String, String)> = pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
            let err = HubBuilder::from_lookup(|k| {
                pairs.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone())
            })
            .unwrap_err();
            assert_eq!(err.variable(), variable);
            assert!(err.to_string().contains(says), "{err}");
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
}
