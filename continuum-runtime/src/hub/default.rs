//! The process-wide default hub, for code that cannot be handed one, and
//! the free functions [`emit`] and [`emit_to`] that publish on it.

use std::sync::{PoisonError, RwLock};

use super::{Emit, EventId, Hub, HubBuilder};
use crate::config::Config;
use crate::event::Event;
use crate::registry::Registry;

static DEFAULT_HUB: RwLock<Option<Hub>> = RwLock::new(None);

/// The process-wide hub, for code that cannot be handed one (as the
/// original's process-level bus). Built with [`Hub::builder`] defaults on
/// first use unless [`set_default_hub`] installed one; serve that same hub
/// (`serve(addr, default_hub())`) so its events reach browsers.
///
/// ```
/// let hub = continuum_runtime::default_hub();
/// assert_eq!(hub.epoch(), continuum_runtime::default_hub().epoch());
/// ```
pub fn default_hub() -> Hub {
    if let Some(h) = &*DEFAULT_HUB.read().unwrap_or_else(PoisonError::into_inner) {
        return h.clone();
    }
    let mut slot = DEFAULT_HUB.write().unwrap_or_else(PoisonError::into_inner);
    slot.get_or_insert_with(|| {
        HubBuilder::new()
            .build()
            .unwrap_or_else(|_| Hub::from_parts(Config::default(), Registry::new(), None, None))
    })
    .clone()
}

/// Install `hub` as the process-wide default, replacing any previous one
/// (which keeps running for whoever holds it). Do it at start, before
/// anything emits through [`emit`]; returns the previous default.
pub fn set_default_hub(hub: Hub) -> Option<Hub> {
    DEFAULT_HUB
        .write()
        .unwrap_or_else(PoisonError::into_inner)
        .replace(hub)
}

/// [`Hub::emit`] on the [`default_hub`].
///
/// # Errors
/// As [`Hub::emit`].
pub fn emit<E: Event>(event: E) -> Emit<EventId> {
    default_hub().emit(event)
}

/// [`Hub::emit_to`] on the [`default_hub`].
///
/// # Errors
/// As [`Hub::emit`].
pub fn emit_to<E: Event>(channel: &str, event: E) -> Emit<EventId> {
    default_hub().emit_to(channel, event)
}
