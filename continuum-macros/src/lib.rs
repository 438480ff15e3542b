//! The `#[continuum_event]` attribute and `#[derive(Payload)]`; use them
//! through `continuum-runtime`, which re-exports both and documents them.
//!
//! This file holds only the entry points. Each runs the stages in order,
//! serde_derive's way: [`attr`] and [`ast`] parse (keeping spans, judging
//! nothing), [`check`] reports every mistake at once (collected in a
//! [`ctxt::Ctxt`]) and builds the [`model`] of a declaration without any,
//! and [`expand`] emits from that model alone — or, on error, the item with
//! stub impls beside the errors, so one mistake gives one error. The output
//! depends on the input tokens alone: no stage keeps state between
//! expansions.

use proc_macro::TokenStream;
use proc_macro2::TokenStream as TokenStream2;
use syn::DeriveInput;

mod ast;
mod attr;
mod case;
mod check;
mod ctxt;
mod expand;
mod model;
mod suggest;
mod ty;

/// Turn a struct into a Continuum event: serde impls, `Payload`, `Event`,
/// a registry entry and typed emit helpers.
///
/// The full reference, with examples, is the `continuum_runtime::event`
/// module.
#[proc_macro_attribute]
pub fn continuum_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    let item = TokenStream2::from(item);
    let Ok(input) = syn::parse2::<DeriveInput>(item.clone()) else {
        let error = syn::Error::new(
            proc_macro2::Span::call_site(),
            "`#[continuum_event]` goes on a struct with named fields, or on a unit struct for an event without data",
        );
        return expand::unparsed(&error, item).into();
    };
    let args = attr::parse_event_args(attr.into());
    let checked = check::event(args, ast::Input::parse(&input));
    expand::event(&input, checked).into()
}

/// Make a struct with named fields or an enum (unit variants: a string
/// union; with data: serde's external, internal or adjacent tagging) usable
/// inside an event payload: `Payload` plus serde impls with the events'
/// defaults (camelCase, unknown fields rejected).
///
/// The full reference, with examples, is the `continuum_runtime::event`
/// module.
#[proc_macro_derive(Payload, attributes(event, serde))]
pub fn derive_payload(item: TokenStream) -> TokenStream {
    let input = match syn::parse::<DeriveInput>(item) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error().into(),
    };
    let checked = check::payload(ast::Input::parse(&input));
    expand::payload(&input, checked).into()
}
