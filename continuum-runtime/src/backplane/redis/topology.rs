//! How the backplane reaches Redis: one server, a primary watched by
//! Sentinel, or a Redis Cluster, chosen by the form of the URL.
//!
//! | URL | topology |
//! |---|---|
//! | `redis://host:6379[/db]` | one server (or a managed endpoint that follows failovers itself) |
//! | `redis://a:7000,redis://b:7001,…` | a Redis Cluster: the URLs are seed nodes, the slot map is fetched from them |
//! | `redis+sentinel://[user:password@]s1:26379,s2:26379/service[/db]` | the primary the sentinels name for `service` |
//!
//! The rest of the backplane sees one [`Connection`] type whatever the
//! topology. What each topology changes:
//!
//! - **Cluster.** redis-rs's cluster connection routes each command by the
//!   slot of its keys (all of a stream's keys share one, see `keys.rs`),
//!   follows `MOVED`/`ASK` and refreshes its slot map. The *publisher's*
//!   connection never retries: a write retried after a dropped connection
//!   may run twice (Redis cannot say whether the first attempt ran), so a
//!   publish that meets a topology change fails as unavailable (`503`,
//!   `retry-after`), the connection is replaced with a fresh slot map, and
//!   the client's retry (with its `Idempotency-Key`) is what makes it safe.
//!   The reader's connection retries: reads and its scripts are safe to
//!   repeat.
//! - **Sentinel.** Every (re)connection asks the sentinels for the current
//!   primary (redis-rs's `Sentinel::async_master_for`, which skips a primary
//!   a sentinel sees as down and checks the answer with `ROLE`): a failover
//!   is followed on the next reconnect, which a lost connection, a
//!   `READONLY` reply to a publish, or the reader's idle `ROLE` check causes.
//!   Asking the sentinels ourselves (`SENTINEL get-master-addr-by-name`)
//!   would have to repeat exactly those checks.

use std::time::Duration;

use redis::aio::{ConnectionLike, MultiplexedConnection};
use redis::cluster::{ClusterClient, ClusterClientBuilder};
use redis::cluster_async::ClusterConnection;
use redis::io::tcp::TcpSettings;
use redis::sentinel::{Sentinel, SentinelNodeConnectionInfo};
use redis::{
    Cmd, ErrorKind, Pipeline, RedisConnectionInfo, RedisError, RedisFuture, RedisResult, Value,
};

/// The default port of a sentinel.
const SENTINEL_PORT: u16 = 26379;

/// What `CONTINUUM_REDIS_URL` (or [`RedisOptions::new`](super::RedisOptions::new)) names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Endpoint {
    Single(String),
    Cluster(Vec<String>),
    Sentinel(SentinelSpec),
}

/// A `redis+sentinel://` URL, taken apart.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SentinelSpec {
    /// `redis://[auth@]host:port` of each sentinel.
    pub(crate) sentinels: Vec<String>,
    pub(crate) service: String,
    pub(crate) db: i64,
    pub(crate) username: Option<String>,
    pub(crate) password: Option<String>,
}

impl Endpoint {
    /// Take a URL of any of the three forms apart; the error says what was
    /// expected.
    pub(crate) fn parse(url: &str) -> Result<Endpoint, String> {
        let url = url.trim();
        if let Some(rest) = url.strip_prefix("redis+sentinel://") {
            return parse_sentinel(rest).map(Endpoint::Sentinel);
        }
        let urls: Vec<&str> = url
            .split(',')
            .map(str::trim)
            .filter(|u| !u.is_empty())
            .collect();
        for u in &urls {
            let ok = ["redis://", "rediss://", "redis+unix://", "unix://"]
                .iter()
                .any(|scheme| u.starts_with(scheme));
            if !ok || redis::IntoConnectionInfo::into_connection_info(*u).is_err() {
                return Err(format!(
                    "`{u}` is not a Redis URL; expected `redis://host:6379`, several comma-separated `redis://` URLs for the seed nodes of a Redis Cluster, \
                     or `redis+sentinel://host:26379[,host:26379…]/service` for a Sentinel-watched primary"
                ));
            }
        }
        match urls.as_slice() {
            [] => Err("empty; expected a Redis URL such as `redis://127.0.0.1:6379`".to_owned()),
            [one] => Ok(Endpoint::Single((*one).to_owned())),
            many => Ok(Endpoint::Cluster(
                many.iter().map(|u| (*u).to_owned()).collect(),
            )),
        }
    }
}

fn parse_sentinel(rest: &str) -> Result<SentinelSpec, String> {
    let expected = "expected `redis+sentinel://[user:password@]host:26379[,host:26379…]/service[/db][?sentinel_password=…]`";
    let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (auth, hosts) = match authority.rsplit_once('@') {
        Some((auth, hosts)) => (Some(auth), hosts),
        None => (None, authority),
    };
    let (username, password) = match auth {
        None => (None, None),
        Some(a) => match a.split_once(':') {
            Some((u, p)) => (nonempty(u), nonempty(p)),
            None => (nonempty(a), None),
        },
    };
    let mut path = path.split('/').filter(|s| !s.is_empty());
    let service = path
        .next()
        .map(percent_decode)
        .ok_or_else(|| format!("no service name after the sentinels; {expected}"))?;
    let db = match path.next() {
        None => 0,
        Some(d) => d
            .parse()
            .map_err(|_| format!("`{d}` is not a database number; {expected}"))?,
    };
    let (mut s_user, mut s_pass) = (None, None);
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        match pair.split_once('=') {
            Some(("sentinel_username", v)) => s_user = nonempty(v),
            Some(("sentinel_password", v)) => s_pass = nonempty(v),
            _ => return Err(format!("unknown parameter `{pair}`; {expected}")),
        }
    }
    let sentinel_auth = match (&s_user, &s_pass) {
        (None, None) => String::new(),
        (u, p) => format!(
            "{}:{}@",
            u.as_deref().unwrap_or(""),
            p.as_deref().unwrap_or("")
        ),
    };
    let mut sentinels = Vec::new();
    for host in hosts.split(',').map(str::trim).filter(|h| !h.is_empty()) {
        let has_port = match host.rfind(']') {
            Some(close) => host[close..].contains(':'),
            None => host.contains(':'),
        };
        let address = if has_port {
            host.to_owned()
        } else {
            format!("{host}:{SENTINEL_PORT}")
        };
        let url = format!("redis://{sentinel_auth}{address}");
        if redis::IntoConnectionInfo::into_connection_info(url.as_str()).is_err() {
            return Err(format!("`{host}` is not a sentinel address; {expected}"));
        }
        sentinels.push(url);
    }
    if sentinels.is_empty() {
        return Err(format!("no sentinel address; {expected}"));
    }
    Ok(SentinelSpec {
        sentinels,
        service,
        db,
        username: username.map(percent_decode),
        password: password.map(percent_decode),
    })
}

fn nonempty(s: &str) -> Option<&str> {
    (!s.is_empty()).then_some(s)
}

/// `%XX` escapes of a URL part (a password may hold `@` or `/`).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// How long each connection waits.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Timeouts {
    pub(crate) connect: Duration,
    /// A publish's reply (including a `WAIT`).
    pub(crate) publisher: Duration,
    /// The reader's replies (an `XREAD BLOCK` waits up to its block time).
    pub(crate) reader: Duration,
}

/// The clients for one [`Endpoint`].
pub(crate) enum Topology {
    Single(redis::Client),
    Sentinel {
        sentinel: tokio::sync::Mutex<Sentinel>,
        service: String,
        node: SentinelNodeConnectionInfo,
    },
    /// Boxed: a cluster client is large, and a topology is made once.
    Cluster {
        reader: Box<ClusterClient>,
        publisher: Box<ClusterClient>,
    },
}

fn nodelay() -> TcpSettings {
    // See RedisBackplane::new: several publishes are in flight on one
    // connection, and Nagle would serialise them.
    TcpSettings::default().set_nodelay(true)
}

impl Topology {
    pub(crate) fn open(endpoint: &Endpoint, timeouts: Timeouts) -> RedisResult<Topology> {
        Ok(match endpoint {
            Endpoint::Single(url) => {
                let info = redis::IntoConnectionInfo::into_connection_info(url.as_str())?;
                let tcp = info.tcp_settings().clone().set_nodelay(true);
                Topology::Single(redis::Client::open(info.set_tcp_settings(tcp))?)
            }
            Endpoint::Cluster(urls) => {
                let builder = |response: Duration| {
                    ClusterClientBuilder::new(urls.iter().map(String::as_str))
                        .connection_timeout(timeouts.connect)
                        .response_timeout(response)
                        .tcp_settings(nodelay())
                };
                Topology::Cluster {
                    reader: Box::new(builder(timeouts.reader).build()?),
                    // No retries: see the module docs.
                    publisher: Box::new(builder(timeouts.publisher).retries(0).build()?),
                }
            }
            Endpoint::Sentinel(spec) => {
                let mut info = RedisConnectionInfo::default().set_db(spec.db);
                if let Some(u) = &spec.username {
                    info = info.set_username(u);
                }
                if let Some(p) = &spec.password {
                    info = info.set_password(p);
                }
                Topology::Sentinel {
                    sentinel: tokio::sync::Mutex::new(Sentinel::build(spec.sentinels.clone())?),
                    service: spec.service.clone(),
                    node: SentinelNodeConnectionInfo::default()
                        .set_redis_connection_info(info)
                        .set_tcp_settings(nodelay()),
                }
            }
        })
    }

    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Topology::Cluster { .. })
    }

    pub(crate) fn is_sentinel(&self) -> bool {
        matches!(self, Topology::Sentinel { .. })
    }

    /// A new connection for publishes or for the reader. Through Sentinel,
    /// the primary is looked up again each time.
    pub(crate) async fn connect(&self, for_reader: bool, t: Timeouts) -> RedisResult<Connection> {
        let response = if for_reader { t.reader } else { t.publisher };
        let config = redis::AsyncConnectionConfig::new()
            .set_connection_timeout(Some(t.connect))
            .set_response_timeout(Some(response));
        match self {
            Topology::Single(client) => client
                .get_multiplexed_async_connection_with_config(&config)
                .await
                .map(Connection::Single),
            Topology::Cluster { reader, publisher } => {
                let client = if for_reader { reader } else { publisher };
                client.get_async_connection().await.map(Connection::Cluster)
            }
            Topology::Sentinel {
                sentinel,
                service,
                node,
            } => {
                let lookup = async {
                    let mut sentinel = sentinel.lock().await;
                    sentinel.async_master_for(service, Some(node)).await
                };
                let client = tokio::time::timeout(t.connect + t.publisher, lookup)
                    .await
                    .map_err(|_| {
                        RedisError::from((
                            ErrorKind::Io,
                            "the sentinels did not name a primary in time",
                        ))
                    })??;
                client
                    .get_multiplexed_async_connection_with_config(&config)
                    .await
                    .map(Connection::Single)
            }
        }
    }
}

/// A connection to whichever topology: every command the backplane sends
/// works on both.
#[derive(Clone)]
pub(crate) enum Connection {
    Single(MultiplexedConnection),
    Cluster(ClusterConnection),
}

impl ConnectionLike for Connection {
    fn req_packed_command<'a>(&'a mut self, cmd: &'a Cmd) -> RedisFuture<'a, Value> {
        match self {
            Connection::Single(c) => c.req_packed_command(cmd),
            Connection::Cluster(c) => c.req_packed_command(cmd),
        }
    }

    fn req_packed_commands<'a>(
        &'a mut self,
        cmd: &'a Pipeline,
        offset: usize,
        count: usize,
    ) -> RedisFuture<'a, Vec<Value>> {
        match self {
            Connection::Single(c) => c.req_packed_commands(cmd, offset, count),
            Connection::Cluster(c) => c.req_packed_commands(cmd, offset, count),
        }
    }

    fn get_db(&self) -> i64 {
        match self {
            Connection::Single(c) => c.get_db(),
            Connection::Cluster(c) => c.get_db(),
        }
    }
}

/// Whether the server behind `conn` is a primary (`ROLE`): a primary
/// demoted by a failover keeps serving reads, so the reader asks.
pub(crate) async fn is_primary(conn: &mut Connection) -> RedisResult<bool> {
    let role: Value = redis::cmd("ROLE").query_async(conn).await?;
    Ok(match role {
        Value::Array(parts) => {
            matches!(
                parts.first(),
                Some(Value::BulkString(b)) if b == b"master"
            ) || matches!(parts.first(), Some(Value::SimpleString(s)) if s == "master")
        }
        _ => false,
    })
}

/// A reply code saying the write went nowhere because the topology changed
/// under the connection: a failover (`READONLY`, `MASTERDOWN`), a slot
/// that moved (`MOVED`, `ASK`, `TRYAGAIN`), a cluster without quorum
/// (`CLUSTERDOWN`), or a server still loading its data.
pub(crate) fn is_topology_change(code: &str) -> bool {
    matches!(
        code,
        "READONLY" | "MASTERDOWN" | "MOVED" | "ASK" | "TRYAGAIN" | "CLUSTERDOWN" | "LOADING"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_url_forms() {
        assert_eq!(
            Endpoint::parse(" redis://127.0.0.1:6379 ").unwrap(),
            Endpoint::Single("redis://127.0.0.1:6379".into())
        );
        assert_eq!(
            Endpoint::parse("redis://a:7000, redis://b:7001,").unwrap(),
            Endpoint::Cluster(vec!["redis://a:7000".into(), "redis://b:7001".into()])
        );
        let Endpoint::Sentinel(s) = Endpoint::parse(
            "redis+sentinel://u:p%40ss@s1,s2:5000,[::1]:26380/mymaster/2?sentinel_password=sp",
        )
        .unwrap() else {
            panic!("sentinel")
        };
        assert_eq!(
            s.sentinels,
            [
                "redis://:sp@s1:26379",
                "redis://:sp@s2:5000",
                "redis://:sp@[::1]:26380"
            ]
        );
        assert_eq!(s.service, "mymaster");
        assert_eq!(s.db, 2);
        assert_eq!(
            (s.username.as_deref(), s.password.as_deref()),
            (Some("u"), Some("p@ss"))
        );
    }

    #[test]
    fn bad_urls_say_what_was_expected() {
        for (url, says) in [
            ("localhost:6379", "redis://host:6379"),
            ("redis://a:7000,b:7001", "several comma-separated"),
            ("redis+sentinel://s1:26379", "no service name"),
            ("redis+sentinel:///mymaster", "no sentinel address"),
            ("redis+sentinel://s1/m/x", "not a database number"),
            ("redis+sentinel://s1/m?password=x", "unknown parameter"),
        ] {
            let err = Endpoint::parse(url).unwrap_err();
            assert!(err.contains(says), "{url}: {err}");
        }
    }
}
