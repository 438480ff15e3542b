//! The `#[continuum_event]` attribute and `#[derive(Payload)]`; use them
//! through `continuum-runtime`, which re-exports both.

use proc_macro::TokenStream;

/// Turn a struct into a Continuum event. See `continuum-runtime`.
#[proc_macro_attribute]
pub fn continuum_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    let _ = attr;
    item
}

/// Make a struct or unit-variant enum usable inside an event payload.
#[proc_macro_derive(Payload, attributes(event))]
pub fn derive_payload(item: TokenStream) -> TokenStream {
    let _ = item;
    TokenStream::new()
}
