//! The Redis keys of one stream, all in one hash slot.
//!
//! Redis Cluster refuses a script whose keys live in different slots
//! (`CROSSSLOT`), and the publish script touches the stream, its epoch, its
//! entry counter and an idempotency key at once. So every key of a stream is
//! derived from one *base* by appending `:<suffix>`, and in a cluster the base
//! carries a hash tag — `{continuum:events}` gives `{continuum:events}`,
//! `{continuum:events}:epoch`, `{continuum:events}:count`,
//! `{continuum:events}:idem:<key>` — so Redis hashes only the tag and all of
//! them land in one slot whatever the stream is called. New per-stream keys
//! (keyed state, …) must come from [`StreamKeys::derived`] too.
//!
//! - A name that already holds a valid tag (`{app}:events`) is used as is,
//!   everywhere: its tag is the first `{…}` and every derived key shares it.
//! - A name without `{` is used as is on one Redis or a Sentinel-watched one
//!   (the key names of earlier releases, so a running deployment finds its
//!   stream after an upgrade), and wrapped in a tag on a cluster.
//! - A name with a `{` that is not a valid tag (`app{}`, `app{events`) would
//!   hash each key whole, so its keys would split across slots: refused at
//!   start, on every topology, with the fix in the message.

use std::fmt;

/// Every Redis key one Continuum stream uses, derived from one base so that
/// they share a hash slot in Redis Cluster. See the [module docs](self).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StreamKeys {
    /// The stream itself (also the base every other key is derived from).
    pub(crate) stream: String,
    /// The stream's epoch (a decimal number).
    pub(crate) epoch: String,
    /// The entry counter of the current epoch.
    pub(crate) count: String,
    /// The set naming every keyed-state key of the stream (see `scripts.rs`),
    /// so a new epoch drops them all.
    pub(crate) state_index: String,
    idempotency_prefix: String,
}

/// The keys holding one keyed type's state (see `scripts.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct StateKeys {
    /// `<base>:state:<type>`: key → its latest event.
    pub(crate) hash: String,
    /// `<base>:state-order:<type>`: keys by update time.
    pub(crate) order: String,
}

/// A stream name whose keys would not share one hash slot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct KeyError {
    name: String,
}

impl fmt::Display for KeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let plain: String = self
            .name
            .chars()
            .filter(|c| *c != '{' && *c != '}')
            .collect();
        let plain = if plain.is_empty() { "events" } else { &plain };
        write!(
            f,
            "redis stream name `{}` has a `{{` but no valid hash tag (a non-empty `{{…}}`), so its keys would split across Redis Cluster slots; \
             name it with a tag such as `{{{plain}}}` (or `{{app}}:{plain}`), or without braces (`{plain}`) to let Continuum add the tag on a cluster",
            self.name
        )
    }
}

impl std::error::Error for KeyError {}

/// The hash tag Redis Cluster hashes for `key`: the text between the first
/// `{` and the first `}` after it, when that text is not empty.
pub(crate) fn hash_tag(key: &str) -> Option<&str> {
    let open = key.find('{')?;
    let close = key[open + 1..].find('}')?;
    let tag = &key[open + 1..open + 1 + close];
    (!tag.is_empty()).then_some(tag)
}

impl StreamKeys {
    /// The keys of the stream called `name`; `cluster` adds a hash tag to a
    /// name that has none.
    pub(crate) fn new(name: &str, cluster: bool) -> Result<Self, KeyError> {
        let base = match (name.contains('{'), hash_tag(name)) {
            (_, Some(_)) => name.to_owned(),
            (true, None) => {
                return Err(KeyError {
                    name: name.to_owned(),
                })
            }
            (false, None) if cluster => format!("{{{name}}}"),
            (false, None) => name.to_owned(),
        };
        Ok(StreamKeys {
            epoch: format!("{base}:epoch"),
            count: format!("{base}:count"),
            state_index: format!("{base}:state-index"),
            idempotency_prefix: format!("{base}:idem:"),
            stream: base,
        })
    }

    /// The key holding what an `Idempotency-Key` published.
    pub(crate) fn idempotency(&self, key: &str) -> String {
        format!("{}{key}", self.idempotency_prefix)
    }

    /// Another key of this stream (`<base>:<suffix>`), in the same slot:
    /// any new per-stream key is made here.
    pub(crate) fn derived(&self, suffix: &str) -> String {
        format!("{}:{suffix}", self.stream)
    }

    /// The keys of the keyed type `type_name`'s state (type names hold no
    /// `:`, so they never collide with another suffix).
    pub(crate) fn state(&self, type_name: &str) -> StateKeys {
        StateKeys {
            hash: self.derived(&format!("state:{type_name}")),
            order: self.derived(&format!("state-order:{type_name}")),
        }
    }

    /// Every fixed key.
    #[cfg(test)]
    pub(crate) fn all(&self) -> [&str; 3] {
        [&self.stream, &self.epoch, &self.count]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The slot-relevant part of a key, as Redis Cluster computes it.
    fn hashed(key: &str) -> &str {
        hash_tag(key).unwrap_or(key)
    }

    fn one_slot(keys: &StreamKeys) -> bool {
        let first = hashed(&keys.stream);
        let idem = keys.idempotency("order-{7}");
        let derived = keys.derived("state:task-1");
        let state = keys.state("ai.task.progress");
        let same = keys
            .all()
            .into_iter()
            .chain([idem.as_str(), derived.as_str(), &keys.state_index])
            .chain([state.hash.as_str(), state.order.as_str()])
            .all(|k| hashed(k) == first);
        same
    }

    #[test]
    fn single_node_key_names_are_unchanged() {
        let k = StreamKeys::new("continuum:events", false).unwrap();
        assert_eq!(
            k.all(),
            [
                "continuum:events",
                "continuum:events:epoch",
                "continuum:events:count"
            ]
        );
        assert_eq!(k.idempotency("a"), "continuum:events:idem:a");
        let state = k.state("ai.task.progress");
        assert_eq!(state.hash, "continuum:events:state:ai.task.progress");
        assert_eq!(state.order, "continuum:events:state-order:ai.task.progress");
        assert_eq!(k.state_index, "continuum:events:state-index");
    }

    #[test]
    fn a_cluster_tags_a_plain_name_and_every_key_shares_the_slot() {
        let k = StreamKeys::new("continuum:events", true).unwrap();
        assert_eq!(
            k.all(),
            [
                "{continuum:events}",
                "{continuum:events}:epoch",
                "{continuum:events}:count"
            ]
        );
        assert!(one_slot(&k));
        // A name with a `}` but no `{` is tagged whole, still one slot.
        assert!(one_slot(&StreamKeys::new("odd}name", true).unwrap()));
    }

    #[test]
    fn a_name_with_a_tag_is_used_as_is_everywhere() {
        for cluster in [false, true] {
            let k = StreamKeys::new("{app}:events", cluster).unwrap();
            assert_eq!(k.stream, "{app}:events");
            assert_eq!(k.epoch, "{app}:events:epoch");
            assert!(one_slot(&k));
        }
        assert!(one_slot(&StreamKeys::new("my{app}x{y}", true).unwrap()));
    }

    #[test]
    fn a_name_that_would_split_slots_is_refused_with_the_fix() {
        for name in ["app{}", "{}events", "app{events", "{"] {
            for cluster in [false, true] {
                let err = StreamKeys::new(name, cluster).unwrap_err().to_string();
                assert!(err.contains(name), "{err}");
                assert!(err.contains("split across Redis Cluster slots"), "{err}");
                assert!(err.contains("name it with a tag such as `{"), "{err}");
            }
        }
    }

    #[test]
    fn hash_tags_follow_redis() {
        assert_eq!(hash_tag("{user1000}.following"), Some("user1000"));
        assert_eq!(hash_tag("foo{}{bar}"), None);
        assert_eq!(hash_tag("foo{{bar}}zap"), Some("{bar"));
        assert_eq!(hash_tag("foo{bar}{zap}"), Some("bar"));
        assert_eq!(hash_tag("plain"), None);
    }
}
