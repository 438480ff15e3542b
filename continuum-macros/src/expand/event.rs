//! What only an event gets: `impl Event` with its static `EventSchema`, the
//! inventory entry that registers it, `Event::__decode` (reading fields one
//! by one where serde reads them by wire name alone) and the typed
//! `emit`/`emit_to` helpers.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::constraints::payload_fn;
use super::{lit, private};
use crate::model::{Model, Shape};

/// `impl Event`, the inventory entry and the typed emit helpers.
pub(crate) fn event(m: &Model) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let docs = lit(&m.docs);
    let name = m.event.clone().unwrap_or_else(|| lit(""));
    let payload = match m.shape {
        Shape::Named(_) => quote!(::core::option::Option::Some(&__CONTINUUM_SHAPE)),
        _ => quote!(::core::option::Option::None),
    };
    let decode = decode_fn(m);
    let (key, ttl, key_fn) = keyed(m, &p);
    let version = m.version;
    let (upcast, chain) = versions(m, &p, &name);
    quote! {
        static __CONTINUUM_EVENT: #p::EventSchema = #p::EventSchema {
            name: #name,
            version: #version,
            payload: #payload,
            docs: #docs,
            key: #key,
            ttl: #ttl,
        };
        #[automatically_derived]
        impl #p::Event for #ident {
            const TYPE: &'static ::core::primitive::str = #name;
            const VERSION: ::core::primitive::u32 = #version;
            fn schema() -> &'static #p::EventSchema {
                &__CONTINUUM_EVENT
            }
            #decode
            #key_fn
            #upcast
        }
        #chain
        #p::inventory::submit! {
            #p::Submitted(#p::registration::<#ident>)
        }
    }
    .into_iter()
    .chain(emit_helpers(&p, ident))
    .collect()
}

/// The schema's `key` and `ttl`, and `Event::key` for a keyed event. The
/// key's type is asserted to be an `EventKey` at the field's type, so a
/// type that cannot key an event is one error there, in `EventKey`'s words.
fn keyed(m: &Model, p: &TokenStream) -> (TokenStream, TokenStream, TokenStream) {
    let none = quote!(::core::option::Option::None);
    let Some(k) = &m.keyed else {
        return (none.clone(), none, TokenStream::new());
    };
    let wire = lit(&k.wire);
    let ttl = match k.ttl_secs {
        Some(secs) => {
            quote!(::core::option::Option::Some(::core::time::Duration::from_secs(#secs)))
        }
        None => none,
    };
    let (field, ty) = (&k.ident, &k.ty);
    let span = crate::ty::ty_span(ty);
    let key_fn = quote::quote_spanned! {span=>
        fn key(&self) -> ::core::option::Option<#p::Cow<'_, ::core::primitive::str>> {
            ::core::option::Option::Some(<#ty as #p::EventKey>::to_key(&self.#field))
        }
    };
    (quote!(::core::option::Option::Some(#wire)), ttl, key_fn)
}

/// For version N ≥ 2 with `upcast_from = Prev`: the `Event` methods that
/// upcast from `Prev` and register it, and the compile-time checks of the
/// chain, spanned at `Prev` so the error points at the declaration: `Prev`
/// is version N − 1 of the same event (no hole, no skipped version), and no
/// other version names `Prev` (`NextVersion` implemented once).
fn versions(m: &Model, p: &TokenStream, name: &syn::LitStr) -> (TokenStream, TokenStream) {
    let Some(prev) = &m.upcast_from else {
        return (TokenStream::new(), TokenStream::new());
    };
    let span = prev.span();
    let (version, before) = (m.version, m.version - 1);
    let ident = &m.ident;
    let wrong_version = lit(&format!(
        "`upcast_from` must name version {before} of `{}`: `{ident}` is version {version}, \
         and every version names the one just before it",
        name.value()
    ));
    let wrong_name = lit(&format!(
        "`upcast_from` must name a version of the same event, `{}`",
        name.value()
    ));
    let methods = quote_spanned! {span=>
        fn __upcast(previous: #p::AnyValue) -> ::core::option::Option<#p::AnyEvent> {
            #p::upcast::<#prev, Self>(previous)
        }
        fn __previous<V: #p::VisitVersion>(visitor: &mut V) {
            visitor.visit::<#prev>();
        }
    };
    let chain = quote_spanned! {span=>
        const _: () = {
            if <#prev as #p::Event>::VERSION != #before {
                ::core::panic!(#wrong_version);
            }
            if !#p::same_str(<#prev as #p::Event>::TYPE, #name) {
                ::core::panic!(#wrong_name);
            }
        };
        #[automatically_derived]
        impl #p::NextVersion for #prev {}
    };
    (methods, chain)
}

/// `Event::__decode` reading the fields one by one through
/// `__private::Fields`, for a struct serde reads by wire names alone
/// (`Model::plain_decode`); else nothing, and serde's `from_str` decodes.
/// Per event this is one small function, where `from_str` instantiates
/// serde_json's deserializer with the event's visitors (most of an event's
/// debug build time, bench/compile-cost).
fn decode_fn(m: &Model) -> TokenStream {
    let Shape::Named(fields) = &m.shape else {
        return TokenStream::new();
    };
    if !m.plain_decode {
        return TokenStream::new();
    }
    let p = private(&m.krate);
    let vars: Vec<_> = (0..fields.len())
        .map(|i| quote::format_ident!("__v{}", i))
        .collect();
    let takes = fields.iter().zip(&vars).enumerate().map(|(i, (f, v))| {
        let take = payload_fn(&p, &f.ty, "__field");
        let (via, default) = (f.via_deserialize, f.add_default);
        quote! {
            let ::core::option::Option::Some(#v) = #take(&mut __f, #i, #via, #default) else {
                return ::core::result::Result::Err(__f.error());
            };
        }
    });
    let idents = fields.iter().map(|f| &f.ident);
    let f = if fields.is_empty() {
        quote!(__f)
    } else {
        quote!(mut __f)
    };
    quote! {
        fn __decode(__json: &::core::primitive::str) -> ::core::result::Result<Self, #p::serde_json::Error> {
            let #f = #p::Fields::parse(__json, &__CONTINUUM_SHAPE)?;
            #(#takes)*
            ::core::result::Result::Ok(Self { #(#idents: #vars),* })
        }
    }
}

/// `event.emit(&hub)` and `event.emit_to(channel, &hub)`, calling exactly
/// `Hub::emit`/`Hub::emit_to`, so this code does not change with the hub.
pub(crate) fn emit_helpers(p: &TokenStream, ident: &syn::Ident) -> TokenStream {
    quote! {
        impl #ident {
            /// Validate this event, then publish it to the subscribers of `hub`;
            /// await the result for its id.
            ///
            /// Generated by `#[continuum_event]`; see `Hub::emit`.
            // `inline`: code for `Hub::emit::<Self>` is generated only where
            // the helper is used, not for every declared event (compile cost).
            #[inline]
            #[allow(dead_code)]
            pub fn emit(self, hub: &#p::Hub) -> #p::Emit<#p::EventId> {
                #p::Hub::emit(hub, self)
            }
            /// Validate this event, then publish it to the subscribers of `hub`
            /// granted `channel`.
            ///
            /// Generated by `#[continuum_event]`; see `Hub::emit_to`.
            // `inline`: code for `Hub::emit::<Self>` is generated only where
            // the helper is used, not for every declared event (compile cost).
            #[inline]
            #[allow(dead_code)]
            pub fn emit_to(self, channel: &::core::primitive::str, hub: &#p::Hub) -> #p::Emit<#p::EventId> {
                #p::Hub::emit_to(hub, channel, self)
            }
        }
    }
}
