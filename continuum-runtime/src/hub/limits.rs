//! Subscriber caps: how many SSE subscribers the hub serves at once, in all
//! and per client address. Decided before any stream state is allocated.

use std::collections::HashMap;
use std::fmt;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use super::Inner;
use crate::config::net::canonical;

/// The hub's live counts of admitted subscribers.
#[derive(Debug, Default)]
pub(crate) struct Limits {
    admitted: AtomicUsize,
    /// Subscribers per address key; only kept when a per-address cap is set.
    per_ip: Mutex<HashMap<IpAddr, u32>>,
}

/// Why a subscription was refused by a cap.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Refused {
    /// The client address already holds the most subscribers one address may.
    PerAddress(usize),
    /// The hub already serves the most subscribers it may.
    Full(usize),
}

impl fmt::Display for Refused {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Refused::PerAddress(n) => write!(
                f,
                "this client address already holds {n} event streams, the most one address may; close one first"
            ),
            Refused::Full(n) => write!(
                f,
                "the server already serves {n} event streams, the most it may; retry later or elsewhere"
            ),
        }
    }
}

/// One admitted subscriber's place under the caps, given back on drop.
pub(crate) struct Admission {
    inner: Arc<Inner>,
    key: Option<IpAddr>,
}

impl fmt::Debug for Admission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Admission").field("key", &self.key).finish()
    }
}

/// What one address counts as: IPv4 addresses themselves, IPv6 per /64 (a
/// host usually holds a whole /64, so counting single addresses would let
/// it rotate past any cap).
fn address_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & !((1u128 << 64) - 1))),
        v4 => v4,
    }
}

impl Limits {
    #[cfg(test)]
    pub(crate) fn admitted(&self) -> usize {
        self.admitted.load(Ordering::Relaxed)
    }
}

/// Take a place for a subscriber from `ip` (when known), or say which cap
/// refuses it.
pub(crate) fn admit(inner: &Arc<Inner>, ip: Option<IpAddr>) -> Result<Admission, Refused> {
    let config = &inner.config;
    let limits = &inner.limits;
    let max = config.max_subscribers.unwrap_or(usize::MAX);
    let admitted = limits
        .admitted
        .fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| {
            (n < max).then_some(n + 1)
        });
    if admitted.is_err() {
        return Err(Refused::Full(max));
    }
    // From here on, dropping `admission` gives the places it holds back.
    let mut admission = Admission {
        inner: inner.clone(),
        key: None,
    };
    if let (Some(cap), Some(ip)) = (config.max_subscribers_per_ip, ip) {
        let key = address_key(ip);
        let mut map = limits.per_ip.lock().unwrap_or_else(PoisonError::into_inner);
        let held = map.entry(key).or_insert(0);
        if *held as usize >= cap {
            if *held == 0 {
                map.remove(&key);
            }
            return Err(Refused::PerAddress(cap));
        }
        *held += 1;
        admission.key = Some(key);
    }
    Ok(admission)
}

impl Drop for Admission {
    fn drop(&mut self) {
        self.inner.limits.admitted.fetch_sub(1, Ordering::AcqRel);
        let Some(key) = self.key else { return };
        let mut map = self
            .inner
            .limits
            .per_ip
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(held) = map.get_mut(&key) {
            *held = held.saturating_sub(1);
            if *held == 0 {
                map.remove(&key);
            }
        }
    }
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::Hub;

    fn ip(s: &str) -> Option<IpAddr> {
        Some(s.parse().unwrap())
    }

    #[test]
    fn caps_count_and_give_back() {
        let hub = Hub::builder()
            .max_subscribers(3)
            .max_subscribers_per_ip(2)
            .build()
            .unwrap();
        let inner = &hub.inner;
        let a1 = admit(inner, ip("192.0.2.1")).unwrap();
        let _a2 = admit(inner, ip("::ffff:192.0.2.1")).unwrap();
        assert_eq!(
            admit(inner, ip("192.0.2.1")).unwrap_err(),
            Refused::PerAddress(2)
        );
        let _v6 = admit(inner, ip("2001:db8::1")).unwrap();
        // Same /64: same address; but the hub is full first.
        assert_eq!(
            admit(inner, ip("2001:db8::2")).unwrap_err(),
            Refused::Full(3)
        );
        assert_eq!(admit(inner, None).unwrap_err(), Refused::Full(3));
        drop(a1);
        assert_eq!(inner.limits.admitted(), 2);
        let again = admit(inner, ip("192.0.2.1")).unwrap();
        drop(again);
        // Refusals gave back every place they took.
        let map = inner.limits.per_ip.lock().unwrap();
        assert_eq!(map.get(&"192.0.2.1".parse().unwrap()), Some(&1));
        assert_eq!(map.get(&"2001:db8::".parse().unwrap()), Some(&1));
        assert_eq!(map.len(), 2);
    }

    #[test]
    fn ipv6_counts_per_64() {
        let hub = Hub::builder().max_subscribers_per_ip(1).build().unwrap();
        let _a = admit(&hub.inner, ip("2001:db8:0:1::1")).unwrap();
        assert!(admit(&hub.inner, ip("2001:db8:0:1:ffff::9")).is_err());
        assert!(admit(&hub.inner, ip("2001:db8:0:2::1")).is_ok());
    }
}
