//! [`EventKey`]: the types that can identify what a keyed event is about
//! (`#[continuum_event("…", key = field)]`), and how each becomes the
//! key's text: strings as they are, integers in decimal, a `uuid::Uuid`
//! hyphenated and lowercase, a `#[derive(Payload)]` unit enum by its wire
//! name (the derive implements it).

use std::borrow::Cow;
use std::sync::Arc;

/// A type that can key an event's state: a string, an integer, a
/// `uuid::Uuid` (feature `uuid`) or a `#[derive(Payload)]` enum of unit
/// variants. The key's text is what the state is kept by, what
/// [`Hub::forget`](crate::Hub::forget) takes, and what a browser's state
/// map is keyed by, so it is the value as the wire writes it.
///
/// ```
/// use continuum_runtime::event::EventKey;
/// use continuum_runtime::prelude::*;
///
/// #[derive(Payload, Clone, Copy)]
/// pub enum Region { EuWest, UsEast }
///
/// assert_eq!(42u64.to_key(), "42");
/// assert_eq!((-7i32).to_key(), "-7");
/// assert_eq!("gen-1".to_key(), "gen-1");
/// assert_eq!(Region::EuWest.to_key(), "euWest");
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be an event key",
    label = "the `key` field's type",
    note = "a key is a `String`, an integer, a `uuid::Uuid` or a `#[derive(Payload)]` enum of unit variants: key by a field of one of those types"
)]
pub trait EventKey {
    /// The key's text.
    fn to_key(&self) -> Cow<'_, str>;
}

impl EventKey for str {
    fn to_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl EventKey for String {
    fn to_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl EventKey for Box<str> {
    fn to_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl EventKey for Arc<str> {
    fn to_key(&self) -> Cow<'_, str> {
        Cow::Borrowed(self)
    }
}

impl<T: EventKey + ?Sized> EventKey for &T {
    fn to_key(&self) -> Cow<'_, str> {
        (**self).to_key()
    }
}

macro_rules! integer_keys {
    ($($t:ty)*) => {$(
        impl EventKey for $t {
            fn to_key(&self) -> Cow<'_, str> {
                Cow::Owned(self.to_string())
            }
        }
    )*};
}

integer_keys!(u8 u16 u32 u64 u128 usize i8 i16 i32 i64 i128 isize);

#[cfg(feature = "uuid")]
impl EventKey for uuid::Uuid {
    fn to_key(&self) -> Cow<'_, str> {
        Cow::Owned(self.hyphenated().to_string())
    }
}
