//! What this node's build knows of event versions, for events that reach
//! its ring from other builds over a shared backplane: its contract
//! fingerprint (written into every entry it publishes), the newest version
//! of each event type, and how an event of another version becomes one this
//! node may send.
//!
//! An older version is upcast once, here, before fan-out and replay (every
//! subscriber then writes the same bytes); a version newer than this build
//! knows is never sent: it becomes a `continuum.reset` (`contract`) for the
//! subscribers of its type. A node whose build has one version of every
//! type pays one map lookup (in an empty map) per entry.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use bytes::Bytes;

use super::Outgoing;
use crate::registry::Registry;

/// This build's versions and contract fingerprint.
pub(crate) struct Versions {
    registry: Registry,
    /// The newest version of each type that has a version above 1.
    newest: HashMap<&'static str, u32>,
    /// `Contract::of(&registry).fingerprint()`, made on first use.
    fingerprint: OnceLock<Arc<str>>,
}

/// An event of some version, made fit for this node's subscribers.
pub(crate) enum Adapted {
    /// The version this build publishes (or a type it does not know): as is.
    Same(Outgoing),
    /// An older version, upcast to the newest and encoded again.
    Upcast(Outgoing),
    /// A version this build cannot read (newer than it knows, or one that
    /// did not decode): its subscribers get a `contract` reset instead.
    Unreadable(Outgoing),
}

impl Versions {
    pub(crate) fn new(registry: Registry) -> Self {
        let newest = registry
            .iter()
            .filter(|r| r.version > 1)
            .map(|r| (r.type_name, r.version))
            .collect();
        Versions {
            registry,
            newest,
            fingerprint: OnceLock::new(),
        }
    }

    /// The newest version of `type_name` this build knows (1 for a type
    /// with one version, or one it does not know).
    pub(crate) fn newest(&self, type_name: &str) -> u32 {
        if self.newest.is_empty() {
            return 1;
        }
        self.newest.get(type_name).copied().unwrap_or(1)
    }

    /// The build's contract fingerprint (16 hex digits), computed once.
    pub(crate) fn fingerprint(&self) -> &Arc<str> {
        self.fingerprint.get_or_init(|| {
            crate::contract::Contract::of(&self.registry)
                .fingerprint()
                .into()
        })
    }

    pub(crate) fn registry(&self) -> &Registry {
        &self.registry
    }

    /// `event`, written at `version`, as this node may send it.
    pub(crate) fn adapt(&self, event: Outgoing, version: u32) -> Adapted {
        let newest = self.newest(&event.type_name);
        if version == newest || self.registry.get(&event.type_name).is_none() {
            return Adapted::Same(event);
        }
        if version > newest {
            return Adapted::Unreadable(event);
        }
        let decoded = std::str::from_utf8(&event.data)
            .ok()
            .map(|text| self.registry.decode(&event.type_name, Some(version), text));
        let upcast = match decoded {
            Some(Ok(upcast)) => upcast,
            Some(Err(e)) => {
                tracing::warn!(event = %event.type_name, version, error = %e, "continuum: an event of an older version did not upcast; its subscribers get continuum.reset (contract)");
                return Adapted::Unreadable(event);
            }
            None => return Adapted::Unreadable(event),
        };
        let mut data = Vec::with_capacity(event.data.len() + 16);
        if upcast.write_data(&mut data).is_err() {
            return Adapted::Unreadable(event);
        }
        // The newest version's key (its key field may be another one).
        let key = upcast.dyn_key().map(|k| Arc::from(&*k));
        Adapted::Upcast(Outgoing {
            data: Bytes::from(data),
            value: Some(upcast.into_any()),
            key,
            ..event
        })
    }
}
