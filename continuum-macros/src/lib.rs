//! The `#[continuum_event]` attribute and `#[derive(Payload)]`; use them
//! through `continuum-runtime`, which re-exports both and documents them.
//!
//! One file per stage: [`attr`] parses (keeping spans), [`check`] and
//! [`model`] check and build the model generation reads ([`variants`] for
//! enums), [`expand`] generates ([`tagged`] for enums with data). Errors are collected in a [`ctxt::Ctxt`] so every mistake is
//! reported in one build, and on error the item is still emitted with stub
//! impls so one mistake gives one error.

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::quote;
use syn::punctuated::Punctuated;
use syn::{DeriveInput, LitStr, Token};

mod attr;
mod case;
mod check;
mod ctxt;
mod expand;
mod known;
mod model;
mod suggest;
mod tagged;
mod variants;

use ctxt::Ctxt;
use model::Kind;

/// Turn a struct into a Continuum event: serde impls, `Payload`, `Event`,
/// a registry entry and typed emit helpers.
///
/// The full reference, with examples, is the `continuum_runtime::event`
/// module.
#[proc_macro_attribute]
pub fn continuum_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    expand_event(attr.into(), item.into()).into()
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
    expand_payload(item.into()).into()
}

fn last_segment_is(path: &syn::Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

fn expand_event(attr: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let cx = Ctxt::new();
    let args = attr::parse_event_args(&cx, attr);
    let mut input: DeriveInput = match syn::parse2(item.clone()) {
        Ok(input) => input,
        Err(_) => {
            let err = syn::Error::new(
                Span::call_site(),
                "`#[continuum_event]` goes on a struct with named fields, or on a unit struct for an event without data",
            )
            .to_compile_error();
            return quote!(#err #item);
        }
    };
    // A second `#[continuum_event]`: report it and drop it, so it does not
    // expand (and report everything) again.
    input.attrs.retain(|a| {
        if last_segment_is(a.path(), "continuum_event") {
            cx.error_tokens(a, "`#[continuum_event]` is applied twice; an event has exactly one name, so remove one");
            return false;
        }
        true
    });
    // A derive of what we implement: report it, and drop it from the output
    // so the conflicting impls do not add a second error.
    for a in input
        .attrs
        .iter_mut()
        .filter(|a| a.path().is_ident("derive"))
    {
        let Ok(paths) = a.parse_args_with(Punctuated::<syn::Path, Token![,]>::parse_terminated)
        else {
            continue;
        };
        let mut kept = Punctuated::<syn::Path, Token![,]>::new();
        for path in paths {
            let ours = ["Serialize", "Deserialize", "Payload"]
                .into_iter()
                .find(|n| last_segment_is(&path, n));
            match ours {
                Some(name) => cx.error_tokens(
                    &path,
                    format!("`#[continuum_event]` already implements `{name}`; remove it from this `derive`"),
                ),
                None => kept.push(path),
            }
        }
        *a = syn::parse_quote!(#[derive(#kept)]);
    }
    let krate = args.krate.clone().unwrap_or_else(model::default_krate);
    let model = model::build(&cx, &input, Kind::Event, krate, args.deny_unknown_fields);
    strip_event_attrs(&mut input);
    if let Some(m) = &model {
        expand::annotate_fields(m, &mut input);
    }
    let name = args
        .name
        .unwrap_or_else(|| LitStr::new("", Span::call_site()));
    match (cx.finish(), model) {
        (None, Some(m)) => {
            let serde = expand::serde_attrs(&m, None);
            let mut items = expand::payload(&m);
            items.extend(expand::event(&m, &name));
            items.extend(expand::deserialize_impl(&m));
            let items = expand::in_const(items);
            quote!(#serde #input #items)
        }
        (Some(err), Some(m)) => {
            // Without serde's derive, its attributes would be unknown.
            strip_attrs(&mut input, "serde");
            let mut stubs = expand::serde_stubs(&m);
            stubs.extend(expand::stubs(&m, true));
            let stubs = expand::in_const(stubs);
            let err = err.to_compile_error();
            quote!(#input #stubs #err)
        }
        (Some(err), None) => {
            let err = err.to_compile_error();
            quote!(#input #err)
        }
        (None, None) => quote!(#input),
    }
}

/// `#[event(…)]` is only meaningful to us; the compiler would reject it.
fn strip_event_attrs(input: &mut DeriveInput) {
    if let syn::Data::Struct(s) = &mut input.data {
        for f in s.fields.iter_mut() {
            f.attrs.retain(|a| !a.path().is_ident("event"));
        }
    }
}

/// Remove every `#[name(…)]` from the struct and its fields.
fn strip_attrs(input: &mut DeriveInput, name: &str) {
    input.attrs.retain(|a| !a.path().is_ident(name));
    if let syn::Data::Struct(s) = &mut input.data {
        for f in s.fields.iter_mut() {
            f.attrs.retain(|a| !a.path().is_ident(name));
        }
    }
}

fn expand_payload(item: TokenStream2) -> TokenStream2 {
    let cx = Ctxt::new();
    let input: DeriveInput = match syn::parse2(item) {
        Ok(input) => input,
        Err(e) => return e.to_compile_error(),
    };
    let (krate, deny) = attr::parse_payload_options(&cx, &input.attrs);
    let krate = krate.unwrap_or_else(model::default_krate);
    let model = model::build(&cx, &input, Kind::Payload, krate, deny);
    if model.is_some() {
        // With or without errors, the type gets a `Payload` impl (real or stub).
        known::record(&input.ident.to_string());
    }
    match (cx.finish(), model) {
        (None, Some(m)) => {
            let mut items = expand::remote_serde(&m, &input);
            items.extend(expand::payload(&m));
            expand::in_const(items)
        }
        (Some(err), Some(m)) => {
            let mut items = expand::serde_stubs(&m);
            items.extend(expand::stubs(&m, false));
            let items = expand::in_const(items);
            let err = err.to_compile_error();
            quote!(#items #err)
        }
        (Some(err), None) => err.to_compile_error(),
        (None, None) => TokenStream2::new(),
    }
}
