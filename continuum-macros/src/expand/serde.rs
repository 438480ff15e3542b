//! The serde side of generation: the derives and defaults (camelCase,
//! unknown fields rejected) put on an event, the `serialize_with` /
//! `deserialize_with` that route a field through `Payload`, an event's own
//! `Deserialize` (through its field reader), and a payload type's serde
//! impls through a `remote` shadow of it.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{LitStr, Path};

use super::constraints::payload_fn;
use super::{path_string, private};
use crate::model::{Field, Model, Shape, VariantKind};
use crate::ty::payload_span;

/// The path serde's `crate = "…"` needs, as a string.
fn serde_path(krate: &Path) -> String {
    format!("{}::__private::serde", path_string(krate))
}

/// Whether an event still gets one of serde's derives (else its serde
/// attributes are ours to remove: no derive would accept them).
pub(crate) fn derives_serde(m: &Model) -> bool {
    !(own_serialize(m) && own_deserialize(m))
}

/// `#[derive(Serialize, Deserialize)]` (those not implemented by us) and our
/// serde defaults, for the item itself.
pub(crate) fn serde_attrs(m: &Model, remote: Option<&syn::Ident>) -> TokenStream {
    let p = private(&m.krate);
    let krate_str = serde_path(&m.krate);
    let remote = remote.map(|r| {
        let r = r.to_string();
        quote!(#[serde(remote = #r)])
    });
    let fields_or_variants = !matches!(m.shape, Shape::Unit);
    let rename = (m.add_rename_all && fields_or_variants)
        .then(|| quote!(#[serde(rename_all = "camelCase")]));
    let deny = (m.add_deny && matches!(m.shape, Shape::Named(_) | Shape::Tagged(_)))
        .then(|| quote!(#[serde(deny_unknown_fields)]));
    let (ser, de) = match remote {
        Some(_) => (true, true),
        None => (!own_serialize(m), !own_deserialize(m)),
    };
    if !(ser || de) {
        return TokenStream::new();
    }
    let derives = [
        ser.then(|| quote!(#p::serde::Serialize)),
        de.then(|| quote!(#p::serde::Deserialize)),
    ]
    .into_iter()
    .flatten();
    quote! {
        #[derive(#(#derives),*)]
        #[serde(crate = #krate_str)]
        #remote
        #rename
        #deny
    }
}

/// `#[serde(serialize_with/deserialize_with = "<T as Payload>::…")]` for a
/// field read and written through `Payload` (see `check::is_standard`), and
/// `#[serde(default)]` for such an `Option`. The paths carry the span of
/// [`payload_fn`], so a type that is not a `Payload` is one error there.
pub(crate) fn via_attrs(krate: &Path, f: &Field) -> TokenStream {
    let span = payload_span(&f.ty);
    let ty = quote::ToTokens::to_token_stream(&f.ty).to_string();
    let payload = format!("<{ty} as {}::__private::Payload>", path_string(krate));
    let mut out = TokenStream::new();
    if f.via_serialize {
        let path = LitStr::new(&format!("{payload}::__serialize"), span);
        out.extend(quote!(#[serde(serialize_with = #path)]));
    }
    if f.via_deserialize {
        let path = LitStr::new(&format!("{payload}::__deserialize"), span);
        out.extend(quote!(#[serde(deserialize_with = #path)]));
    }
    if f.add_default {
        out.extend(quote!(#[serde(default)]));
    }
    out
}

/// Add [`via_attrs`] to the fields of the user's struct (`#[continuum_event]`
/// emits the struct itself, with serde's derives).
pub(crate) fn annotate_fields(m: &Model, input: &mut syn::DeriveInput) {
    let (Shape::Named(fields), syn::Data::Struct(s)) = (&m.shape, &mut input.data) else {
        return;
    };
    for f in s.fields.iter_mut() {
        if let Some(model) = fields.iter().find(|m| m.ident.as_ref() == f.ident.as_ref()) {
            let attrs = via_attrs(&m.krate, model);
            f.attrs.extend(
                syn::parse::Parser::parse2(syn::Attribute::parse_outer, attrs).unwrap_or_default(),
            );
        }
    }
}

/// Whether an event gets [`deserialize_impl`] rather than serde's derive:
/// read by wire names alone, and no `u128`/`i128` written in a field's type
/// (a `serde_json::Value` holds integers past 64 bits only as floats, so
/// those keep serde's exact derive).
fn own_deserialize(m: &Model) -> bool {
    let Shape::Named(fields) = &m.shape else {
        return false;
    };
    m.plain_decode
        && fields.iter().all(|f| {
            let ty = quote::ToTokens::to_token_stream(&f.ty).to_string();
            !ty.contains("u128") && !ty.contains("i128")
        })
}

/// `Deserialize` for an event whose fields serde reads by wire name alone
/// (`Model::plain_decode`), in place of serde's derive: the value is read as
/// a `serde_json::Value` from any self-describing format and decoded by the
/// event's own field reader (`Event::__decode`), so it accepts and refuses
/// exactly what decoding does, with serde's messages. serde's derived
/// `Deserialize` (a visitor, a field enum, `visit_seq` and `visit_map` per
/// event) was half of what a crate of events spent compiling
/// (bench/compile-cost), for an impl decoding never uses.
pub(crate) fn deserialize_impl(m: &Model) -> TokenStream {
    if !own_deserialize(m) {
        return TokenStream::new();
    }
    let p = private(&m.krate);
    let ident = &m.ident;
    quote! {
        #[automatically_derived]
        impl<'de> #p::serde::Deserialize<'de> for #ident {
            fn deserialize<__D: #p::serde::Deserializer<'de>>(__deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                #p::deserialize_event::<'de, Self, __D>(__deserializer)
            }
        }
    }
}

/// Serialize/Deserialize for a `#[derive(Payload)]` type, through a private
/// copy of it derived with `#[serde(remote = "…")]` (a derive cannot add
/// attributes to its own item, and a payload's wire names must default to
/// camelCase like an event's).
pub(crate) fn remote_serde(m: &Model, input: &syn::DeriveInput) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let serde_attrs = serde_attrs(m, Some(ident));
    let keep = |attrs: &[syn::Attribute]| -> Vec<syn::Attribute> {
        attrs
            .iter()
            .filter(|a| a.path().is_ident("serde"))
            .cloned()
            .collect()
    };
    let container = keep(&input.attrs);
    // Our additions to a field: read and written through `Payload`.
    let via = |fields: &[Field], f: &syn::Field| -> TokenStream {
        fields
            .iter()
            .find(|field| field.ident.is_none() || field.ident.as_ref() == f.ident.as_ref())
            .map(|field| via_attrs(&m.krate, field))
            .unwrap_or_default()
    };
    let body = match &input.data {
        syn::Data::Struct(s) => {
            let model: &[Field] = match &m.shape {
                Shape::Named(fields) => fields,
                _ => &[],
            };
            let fields = s.fields.iter().map(|f| {
                let (attrs, fi, ty) = (keep(&f.attrs), &f.ident, &f.ty);
                let ours = via(model, f);
                quote!(#(#attrs)* #ours #fi: #ty)
            });
            quote!(struct __ContinuumShadow { #(#fields),* })
        }
        syn::Data::Enum(e) => {
            let variants = e.variants.iter().map(|v| {
                let (attrs, vi) = (keep(&v.attrs), &v.ident);
                let model = match &m.shape {
                    Shape::Tagged(t) => t.variants.iter().find(|mv| mv.ident == *vi),
                    _ => None,
                };
                let (fields, rename): (&[Field], _) = match model {
                    Some(mv) => (
                        match &mv.kind {
                            VariantKind::Newtype(f) => std::slice::from_ref(f),
                            VariantKind::Struct(fields) => fields,
                            VariantKind::Unit => &[],
                        },
                        mv.add_rename_all
                            .then(|| quote!(#[serde(rename_all = "camelCase")])),
                    ),
                    None => (&[], None),
                };
                let body = match &v.fields {
                    syn::Fields::Named(named) => {
                        let fs = named.named.iter().map(|f| {
                            let (attrs, fi, ty) = (keep(&f.attrs), &f.ident, &f.ty);
                            let ours = via(fields, f);
                            quote!(#(#attrs)* #ours #fi: #ty)
                        });
                        quote!({ #(#fs),* })
                    }
                    syn::Fields::Unnamed(unnamed) => {
                        let fs = unnamed.unnamed.iter().map(|f| {
                            let (attrs, ty) = (keep(&f.attrs), &f.ty);
                            let ours = via(fields, f);
                            quote!(#(#attrs)* #ours #ty)
                        });
                        quote!(( #(#fs),* ))
                    }
                    syn::Fields::Unit => TokenStream::new(),
                };
                quote!(#(#attrs)* #rename #vi #body)
            });
            quote!(enum __ContinuumShadow { #(#variants),* })
        }
        syn::Data::Union(_) => return TokenStream::new(),
    };
    quote! {
        #serde_attrs
        #(#container)*
        #[allow(dead_code)]
        #body
        #[automatically_derived]
        impl #p::serde::Serialize for #ident {
            fn serialize<__S: #p::serde::Serializer>(&self, __serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                __ContinuumShadow::serialize(self, __serializer)
            }
        }
        #[automatically_derived]
        impl<'de> #p::serde::Deserialize<'de> for #ident {
            fn deserialize<__D: #p::serde::Deserializer<'de>>(__deserializer: __D) -> ::core::result::Result<Self, __D::Error> {
                __ContinuumShadow::deserialize(__deserializer)
            }
        }
    }
}

/// Whether an event gets [`serialize_impl`] rather than serde's derive:
/// every field in the model and serde writes each by its wire name alone
/// (`Model::plain_encode`).
pub(crate) fn own_serialize(m: &Model) -> bool {
    m.plain_encode
}

/// `Serialize` for an event serde would write field by field under its wire
/// names, in place of serde's derive: what serde's derive generates, but a
/// field routed through `Payload::__serialize` is written through one
/// helper per event (`__ContinuumVia`, a match on the field's index)
/// instead of the helper type serde's `serialize_with` generates per
/// field. That per-field helper cost about a third of a crate of events'
/// debug build (bench/compile-cost); known.rs used to avoid it by
/// remembering which types had derived `Payload`, which made the output
/// depend on other expansions. The paths to `__serialize` carry the span
/// of [`payload_fn`], so a type that is not a `Payload` is still one error.
pub(crate) fn serialize_impl(m: &Model) -> TokenStream {
    let Shape::Named(fields) = &m.shape else {
        return TokenStream::new();
    };
    if !own_serialize(m) {
        return TokenStream::new();
    }
    let p = private(&m.krate);
    let ident = &m.ident;
    let name = &m.serde_name;
    let len = fields.len();
    let mut routed = Vec::new();
    let writes = fields.iter().map(|f| {
        let (fi, wire) = (&f.ident, &f.wire);
        let value = if f.via_serialize {
            let i = routed.len();
            let write = payload_fn(&p, &f.ty, "__serialize");
            routed.push(quote!(#write(&self.0.#fi, __serializer)));
            quote!(&__ContinuumVia(self, #i))
        } else {
            quote!(&self.#fi)
        };
        quote! {
            #p::serde::ser::SerializeStruct::serialize_field(&mut __state, #wire, #value)?;
        }
    });
    let writes: Vec<_> = writes.collect();
    let via = routed.split_last().map(|(last, rest)| {
        let arms = rest.iter().enumerate().map(|(i, w)| quote!(#i => #w,));
        quote! {
            struct __ContinuumVia<'__a>(&'__a #ident, usize);
            #[automatically_derived]
            impl #p::serde::Serialize for __ContinuumVia<'_> {
                fn serialize<__S: #p::serde::Serializer>(&self, __serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                    match self.1 {
                        #(#arms)*
                        _ => #last,
                    }
                }
            }
        }
    });
    quote! {
        #via
        #[automatically_derived]
        impl #p::serde::Serialize for #ident {
            fn serialize<__S: #p::serde::Serializer>(&self, __serializer: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                let mut __state = #p::serde::Serializer::serialize_struct(__serializer, #name, #len)?;
                #(#writes)*
                #p::serde::ser::SerializeStruct::end(__state)
            }
        }
    }
}
