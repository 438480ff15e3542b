//! The client's address, for the per-address subscriber cap.
//!
//! The service reads the peer's socket address from the request's
//! extensions: [`ClientAddr`] (what the standalone server inserts), or a bare
//! [`SocketAddr`]. Behind trusted proxies
//! ([`HubBuilder::trusted_proxies`](crate::HubBuilder::trusted_proxies)) the
//! client is the rightmost `x-forwarded-for` entry that is not itself a
//! trusted proxy; by default the header is ignored, since anyone can send it.

use std::net::{IpAddr, SocketAddr};

use http::request::Parts;

use crate::config::net::canonical;
use crate::config::Config;

/// The peer address of the connection a request came in on, as a request
/// extension. [`serve`](crate::serve()) inserts it; when you mount
/// [`HubService`](super::HubService) in your own server, insert it yourself
/// so the per-address cap applies (without it, only the hub-wide cap does).
///
/// With axum, serve the app with `into_make_service_with_connect_info` and
/// copy axum's `ConnectInfo` into the request:
///
/// ```
/// use std::net::SocketAddr;
/// use axum::{extract::{ConnectInfo, Request}, middleware::map_request, Router};
/// use continuum_runtime::{http::ClientAddr, Hub};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let hub = Hub::builder().max_subscribers_per_ip(16).build()?;
/// let app: Router = Router::new()
///     .route_service("/api/events", hub.service())
///     .layer(map_request(|ConnectInfo(peer): ConnectInfo<SocketAddr>, mut req: Request| async move {
///         req.extensions_mut().insert(ClientAddr(peer));
///         req
///     }));
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ClientAddr(pub SocketAddr);

/// The header proxies append the address they received a request from to.
const X_FORWARDED_FOR: &str = "x-forwarded-for";

/// The client's IP address: the connection's peer, or — when that peer is a
/// trusted proxy — what the trusted proxies say in `x-forwarded-for`.
/// `None` when the request carries no peer address.
pub(crate) fn client_ip(parts: &Parts, config: &Config) -> Option<IpAddr> {
    let peer = parts
        .extensions
        .get::<ClientAddr>()
        .map(|c| c.0)
        .or_else(|| parts.extensions.get::<SocketAddr>().copied())?;
    let peer = canonical(peer.ip());
    Some(forwarded_client(peer, parts, config))
}

/// Walk `x-forwarded-for` from the right (the entry the nearest proxy
/// wrote) while the hop is a trusted proxy; the first untrusted hop is the
/// client. An entry that does not parse stops the walk at the last hop
/// known: everything left of the nearest trusted proxy's entry is the
/// client's to write.
fn forwarded_client(peer: IpAddr, parts: &Parts, config: &Config) -> IpAddr {
    let mut client = peer;
    if !config.is_trusted_proxy(client) {
        return client;
    }
    // Several headers are one list, in order.
    let values: Vec<&[u8]> = parts
        .headers
        .get_all(X_FORWARDED_FOR)
        .iter()
        .map(|v| v.as_bytes())
        .collect();
    for value in values.iter().rev() {
        for item in value.rsplit(|&b| b == b',') {
            let Some(ip) = parse_hop(item) else {
                return client;
            };
            client = canonical(ip);
            if !config.is_trusted_proxy(client) {
                return client;
            }
        }
    }
    client
}

/// One `x-forwarded-for` entry: an address, possibly with a port
/// (`192.0.2.1:4711`, `[2001:db8::1]:4711`).
fn parse_hop(item: &[u8]) -> Option<IpAddr> {
    let item = std::str::from_utf8(item).ok()?.trim();
    if let Ok(ip) = item.parse::<IpAddr>() {
        return Some(ip);
    }
    item.parse::<SocketAddr>().ok().map(|s| s.ip())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::HubBuilder;

    fn parts(peer: Option<&str>, xff: &[&str]) -> Parts {
        let mut req = http::Request::builder();
        for v in xff {
            req = req.header(X_FORWARDED_FOR, *v);
        }
        let (mut parts, ()) = req.body(()).unwrap().into_parts();
        if let Some(p) = peer {
            parts.extensions.insert(ClientAddr(p.parse().unwrap()));
        }
        parts
    }

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn x_forwarded_for_is_ignored_unless_the_peer_is_trusted() {
        let open = HubBuilder::new().config;
        let p = parts(Some("192.0.2.7:5000"), &["198.51.100.1"]);
        assert_eq!(client_ip(&p, &open), ip("192.0.2.7"));
        assert_eq!(client_ip(&parts(None, &["198.51.100.1"]), &open), None);

        let behind = HubBuilder::new()
            .trusted_proxies(["10.0.0.0/8", "192.0.2.7"])
            .config;
        // Not from the proxy: the header is the client's own words.
        let p = parts(Some("203.0.113.9:1"), &["198.51.100.1"]);
        assert_eq!(client_ip(&p, &behind), ip("203.0.113.9"));
        // From the proxy: the rightmost untrusted hop.
        let p = parts(
            Some("[::ffff:192.0.2.7]:5000"),
            &["1.1.1.1, 198.51.100.1", "10.1.1.1:80"],
        );
        assert_eq!(client_ip(&p, &behind), ip("198.51.100.1"));
        // Garbage left of the trusted hops stops the walk at the last known hop.
        let p = parts(Some("192.0.2.7:5000"), &["nonsense, 10.0.0.3"]);
        assert_eq!(client_ip(&p, &behind), ip("10.0.0.3"));
        // No header: the proxy itself.
        let p = parts(Some("192.0.2.7:5000"), &[]);
        assert_eq!(client_ip(&p, &behind), ip("192.0.2.7"));
        let p = parts(Some("192.0.2.7:5000"), &["[2001:db8::1]:443"]);
        assert_eq!(client_ip(&p, &behind), ip("2001:db8::1"));
    }
}
