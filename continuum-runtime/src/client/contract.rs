//! What a subscription says about the contract it was built from (the wave-3
//! protocol): `contract=<fingerprint>` and `versions=<type>@<v>,…` listing
//! only the types read at version 2 or later. A server with the same
//! fingerprint checks nothing; otherwise, for a subscribed type whose version
//! differs, it sends `continuum.reset` (`contract`) instead of events this
//! client cannot read ([`ResetReason::Contract`](super::ResetReason::Contract)).
//!
//! By default the contract is that of every event linked into the binary
//! ([`Registry::from_inventory`]), computed once per process;
//! [`Client::contract`](super::Client::contract) sets another.

use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

use crate::contract::Contract;
use crate::registry::Registry;
use crate::schema::EventSchema;

/// A contract as a subscription sends it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Sent {
    pub(crate) fingerprint: String,
    /// Every event type and the newest version the registry declares.
    pub(crate) versions: BTreeMap<String, u64>,
}

impl Sent {
    pub(crate) fn of(registry: &Registry) -> Sent {
        let contract = Contract::of(registry);
        let versions = contract
            .events()
            .filter_map(|(name, versions)| Some((name.to_owned(), versions.last()?.version)))
            .collect();
        Sent {
            fingerprint: contract.fingerprint(),
            versions,
        }
    }

    /// The contract of every event linked into this binary; `None` when the
    /// linked events do not form a registry (two types with one name).
    pub(crate) fn linked() -> Option<Arc<Sent>> {
        static LINKED: OnceLock<Option<Arc<Sent>>> = OnceLock::new();
        LINKED
            .get_or_init(|| {
                Registry::from_inventory()
                    .ok()
                    .map(|r| Arc::new(Sent::of(&r)))
            })
            .clone()
    }

    /// `contract=…`, and `versions=…` for the `read` types at version 2 or later.
    pub(crate) fn query<'a>(&self, read: impl IntoIterator<Item = (&'a str, u64)>) -> String {
        let mut query = format!("contract={}", encode(&self.fingerprint));
        let mut listed: Vec<(&str, u64)> = read.into_iter().filter(|(_, v)| *v >= 2).collect();
        listed.sort_unstable();
        listed.dedup();
        if !listed.is_empty() {
            let list: Vec<String> = listed
                .iter()
                .map(|(t, v)| format!("{}@{v}", encode(t)))
                .collect();
            query.push_str("&versions=");
            query.push_str(&list.join(","));
        }
        query
    }
}

/// The version of the event this schema declares: the version a
/// subscription of it reads (sent as `versions=` when it is 2 or more).
pub(crate) fn version_of(schema: &EventSchema) -> u64 {
    u64::from(schema.version)
}

/// Everything but the type grammar's characters percent-encoded.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'.' | b'*' | b'-' | b'_') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_versions_from_2_are_listed_sorted_once() {
        let sent = Sent {
            fingerprint: "0123456789abcdef".into(),
            versions: BTreeMap::new(),
        };
        assert_eq!(
            sent.query([("b.x", 1), ("a.y", 1)]),
            "contract=0123456789abcdef"
        );
        assert_eq!(
            sent.query([("b.x", 3), ("a.y", 2), ("c.z", 1), ("a.y", 2)]),
            "contract=0123456789abcdef&versions=a.y@2,b.x@3"
        );
    }

    #[test]
    fn the_fingerprint_is_the_contracts() {
        let registry = Registry::new();
        let sent = Sent::of(&registry);
        assert_eq!(sent.fingerprint, Contract::of(&registry).fingerprint());
        assert!(sent.versions.is_empty());
    }
}
