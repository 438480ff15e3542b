//! Generation, from a checked [`Model`](crate::model::Model) only: it emits and never judges. By
//! what it emits: [`payload`] (`impl Payload` and the static schema, enums
//! with data in [`tagged`]), [`constraints`] (their schema, checks and
//! compile-time assertions), [`event`] (`impl Event`, registration, emit
//! helpers), [`serde`] (serde's derives, attributes and impls), and
//! [`fallback`] (stubs beside the errors of a declaration that has some).
//!
//! The generated code names only `#krate::__private::…` and `::core::…`,
//! keeps helper items in `const _: () = { … };`, and marks trait impls
//! `#[automatically_derived]`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{DeriveInput, LitStr, Path};

use crate::ast::{derive_paths, is_event_attr, our_derive};
use crate::model::{Checked, Failed};

mod constraints;
mod event;
mod fallback;
mod payload;
mod serde;
mod tagged;

/// `#[continuum_event]`: the user's struct (without the attributes only we
/// understand) with serde's derives, and our impls; or, on error, the struct,
/// stubs and the errors.
pub(crate) fn event(input: &DeriveInput, checked: Checked) -> TokenStream {
    let mut item = input.clone();
    strip_ours(&mut item);
    match checked {
        Ok(m) => {
            if serde::derives_serde(&m) {
                serde::annotate_fields(&m, &mut item);
            } else {
                strip_attrs(&mut item, "serde");
            }
            let serde = serde::serde_attrs(&m, None);
            let mut items = payload::payload(&m);
            items.extend(event::event(&m));
            items.extend(serde::serialize_impl(&m));
            items.extend(serde::deserialize_impl(&m));
            let items = in_const(items);
            quote!(#serde #item #items)
        }
        Err(Failed {
            error,
            stub: Some(stub),
        }) => {
            // Without serde's derive, its attributes would be unknown.
            strip_attrs(&mut item, "serde");
            let mut stubs = fallback::serde_stubs(&stub);
            stubs.extend(fallback::stubs(&stub, true));
            let stubs = in_const(stubs);
            let err = error.to_compile_error();
            quote!(#item #stubs #err)
        }
        Err(Failed { error, stub: None }) => {
            let err = error.to_compile_error();
            quote!(#item #err)
        }
    }
}

/// `#[derive(Payload)]`: our impls and serde's, or stubs and the errors.
pub(crate) fn payload(input: &DeriveInput, checked: Checked) -> TokenStream {
    match checked {
        Ok(m) => {
            let mut items = serde::remote_serde(&m, input);
            items.extend(payload::payload(&m));
            in_const(items)
        }
        Err(Failed {
            error,
            stub: Some(stub),
        }) => {
            let mut items = fallback::serde_stubs(&stub);
            items.extend(fallback::stubs(&stub, false));
            let items = in_const(items);
            let err = error.to_compile_error();
            quote!(#items #err)
        }
        Err(Failed { error, stub: None }) => error.to_compile_error(),
    }
}

/// `#[continuum_event]` on something that is not a struct, enum or union:
/// the error, and the item unchanged.
pub(crate) fn unparsed(error: &syn::Error, item: TokenStream) -> TokenStream {
    let err = error.to_compile_error();
    quote!(#err #item)
}

/// Drop what the compiler must not see again: a repeated
/// `#[continuum_event]` (it would expand, and report everything, again),
/// derives of what we implement (their impls would conflict with ours: one
/// more error), and `#[event(…)]` on fields (only meaningful to us).
fn strip_ours(item: &mut DeriveInput) {
    item.attrs.retain(|a| !is_event_attr(a));
    for a in &mut item.attrs {
        if let Some(paths) = derive_paths(a) {
            let kept = paths.into_iter().filter(|p| our_derive(p).is_none());
            *a = syn::parse_quote!(#[derive(#(#kept),*)]);
        }
    }
    if let syn::Data::Struct(s) = &mut item.data {
        for f in s.fields.iter_mut() {
            f.attrs.retain(|a| !a.path().is_ident("event"));
        }
    }
}

/// Remove every `#[name(…)]` from the struct and its fields.
fn strip_attrs(item: &mut DeriveInput, name: &str) {
    item.attrs.retain(|a| !a.path().is_ident(name));
    if let syn::Data::Struct(s) = &mut item.data {
        for f in s.fields.iter_mut() {
            f.attrs.retain(|a| !a.path().is_ident(name));
        }
    }
}

/// `#krate::__private`.
pub(crate) fn private(krate: &Path) -> TokenStream {
    quote!(#krate::__private)
}

/// A path as text (`::continuum_runtime`), for serde attributes and `custom` names.
fn path_string(path: &Path) -> String {
    let mut s = if path.leading_colon.is_some() {
        "::".to_owned()
    } else {
        String::new()
    };
    let segs: Vec<String> = path
        .segments
        .iter()
        .map(|seg| seg.ident.to_string())
        .collect();
    s.push_str(&segs.join("::"));
    s
}

/// A string literal without a span of its own.
pub(crate) fn lit(s: &str) -> LitStr {
    LitStr::new(s, proc_macro2::Span::call_site())
}

/// Wrap helper items so their names never collide with the user's.
pub(crate) fn in_const(items: TokenStream) -> TokenStream {
    quote! {
        const _: () = {
            #items
        };
    }
}
