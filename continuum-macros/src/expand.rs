//! Generation. The generated code names only `#krate::__private::…` and
//! `::core::…`, keeps helper items in `const _: () = { … };`, and marks trait
//! impls `#[automatically_derived]`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::{LitStr, Path, Type};

use crate::attr::{Bound, Constraint, ConstraintKind, Num};
use crate::check::ty_span;
use crate::model::{Model, Shape};

/// `#krate::__private`.
fn private(krate: &Path) -> TokenStream {
    quote!(#krate::__private)
}

/// The path serde's `crate = "…"` needs, as a string.
fn serde_path(krate: &Path) -> String {
    let mut s = String::new();
    if krate.leading_colon.is_some() {
        s.push_str("::");
    }
    let segs: Vec<String> = krate
        .segments
        .iter()
        .map(|seg| seg.ident.to_string())
        .collect();
    s.push_str(&segs.join("::"));
    s.push_str("::__private::serde");
    s
}

/// `#[derive(Serialize, Deserialize)]` and our serde defaults, for the item itself.
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
    let deny = (m.add_deny && matches!(m.shape, Shape::Named(_)))
        .then(|| quote!(#[serde(deny_unknown_fields)]));
    quote! {
        #[derive(#p::serde::Serialize, #p::serde::Deserialize)]
        #[serde(crate = #krate_str)]
        #remote
        #rename
        #deny
    }
}

fn num(p: &TokenStream, n: Num) -> TokenStream {
    match n {
        Num::Int(v) if v < 0 => {
            let lit = Literal::u128_unsuffixed(v.unsigned_abs());
            quote!(#p::Number::Int(-#lit))
        }
        Num::Int(v) => {
            let lit = Literal::i128_unsuffixed(v);
            quote!(#p::Number::Int(#lit))
        }
        Num::Float(v) if v < 0.0 => {
            let lit = Literal::f64_unsuffixed(-v);
            quote!(#p::Number::Float(-#lit))
        }
        Num::Float(v) => {
            let lit = Literal::f64_unsuffixed(v);
            quote!(#p::Number::Float(#lit))
        }
    }
}

fn opt<T>(v: Option<T>, f: impl FnOnce(T) -> TokenStream) -> TokenStream {
    match v {
        Some(v) => {
            let inner = f(v);
            quote!(::core::option::Option::Some(#inner))
        }
        None => quote!(::core::option::Option::None),
    }
}

fn opt_num(p: &TokenStream, b: Option<Bound<Num>>) -> TokenStream {
    opt(b, |b| num(p, b.value))
}

fn opt_count(b: Option<Bound<u64>>) -> TokenStream {
    opt(b, |b| {
        let lit = Literal::u64_suffixed(b.value);
        quote!(#lit)
    })
}

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

/// The name of the `n`th `pattern` static of a payload (in the order
/// [`pattern_statics`] declares them).
fn pattern_static(n: usize) -> syn::Ident {
    quote::format_ident!("__CONTINUUM_PATTERN_{}", n)
}

/// One `static` per `pattern = "…"` of the payload's fields (`each` included),
/// numbered in declaration order. The schema and `check` both name it, so a
/// regex is compiled once, on first use, for `validate()` and decoding alike.
fn pattern_statics(p: &TokenStream, constraints: &[Constraint], n: &mut usize) -> TokenStream {
    let mut out = TokenStream::new();
    for c in constraints {
        match &c.kind {
            ConstraintKind::Pattern(lit) => {
                let name = pattern_static(*n);
                *n += 1;
                out.extend(quote!(static #name: #p::Pattern = #p::Pattern::new(#lit);));
            }
            ConstraintKind::Each(inner) => out.extend(pattern_statics(p, inner, n)),
            _ => {}
        }
    }
    out
}

/// The schema description of one constraint; `n` counts `pattern`s as
/// [`pattern_statics`] does.
fn constraint_schema(p: &TokenStream, c: &Constraint, n: &mut usize) -> TokenStream {
    match &c.kind {
        ConstraintKind::Range {
            min,
            max,
            exclusive_min,
            exclusive_max,
        } => {
            let (min, max) = (opt_num(p, *min), opt_num(p, *max));
            quote!(#p::Constraint::Range { min: #min, max: #max, exclusive_min: #exclusive_min, exclusive_max: #exclusive_max })
        }
        ConstraintKind::Length { min, max } => {
            let (min, max) = (opt_count(*min), opt_count(*max));
            quote!(#p::Constraint::Length { min: #min, max: #max })
        }
        ConstraintKind::Pattern(_) => {
            let name = pattern_static(*n);
            *n += 1;
            quote!(#p::Constraint::Pattern(&#name))
        }
        ConstraintKind::Custom(path) => {
            let s = path_string(path);
            quote!(#p::Constraint::Custom(#s))
        }
        ConstraintKind::Each(inner) => {
            let inner: Vec<_> = inner.iter().map(|c| constraint_schema(p, c, n)).collect();
            quote!(#p::Constraint::Each(&[#(#inner),*]))
        }
    }
}

/// A trait method called on a field (spanned at its type, so a wrong type
/// reads "`range` applies to numbers, not `String`" there) or, inside
/// `each`, on an element (spanned at the constraint).
fn method(p: &TokenStream, ty: Option<&Type>, c: &Constraint, tr: &str, f: &str) -> TokenStream {
    let tr = syn::Ident::new(tr, c.kw.span());
    let f = syn::Ident::new(f, c.kw.span());
    match ty {
        Some(ty) => quote_spanned!(ty_span(ty)=> <#ty as #p::#tr>::#f),
        None => quote_spanned!(c.kw.span()=> #p::#tr::#f),
    }
}

/// The run-time check of one constraint on `target` (an expression of type
/// `&T`); `n` counts `pattern`s as [`pattern_statics`] does.
fn constraint_check(
    p: &TokenStream,
    c: &Constraint,
    target: &TokenStream,
    ty: Option<&Type>,
    n: &mut usize,
) -> TokenStream {
    match &c.kind {
        ConstraintKind::Range {
            min,
            max,
            exclusive_min,
            exclusive_max,
        } => {
            let m = method(p, ty, c, "RangeCheck", "check_range");
            let (min, max) = (opt_num(p, *min), opt_num(p, *max));
            quote! {
                #m(#target, __cx, &#p::RangeBounds { min: #min, max: #max, exclusive_min: #exclusive_min, exclusive_max: #exclusive_max });
            }
        }
        ConstraintKind::Length { min, max } => {
            let m = method(p, ty, c, "LengthCheck", "check_length");
            let (min, max) = (opt_count(*min), opt_count(*max));
            quote!(#m(#target, __cx, #min, #max);)
        }
        ConstraintKind::Pattern(_) => {
            let m = method(p, ty, c, "PatternCheck", "check_pattern");
            let name = pattern_static(*n);
            *n += 1;
            quote!(#m(#target, __cx, &#name);)
        }
        ConstraintKind::Custom(path) => {
            let call = quote_spanned!(syn::spanned::Spanned::span(path)=> #path(#target));
            quote!(#p::custom(__cx, #call);)
        }
        ConstraintKind::Each(inner) => {
            let m = method(p, ty, c, "EachCheck", "check_each");
            let v = quote!(__v);
            let inner: Vec<_> = inner
                .iter()
                .map(|c| constraint_check(p, c, &v, None, n))
                .collect();
            quote!(#m(#target, __cx, |__v, __cx| { #(#inner)* });)
        }
    }
}

fn lit(s: &str) -> LitStr {
    LitStr::new(s, proc_macro2::Span::call_site())
}

/// `impl Payload` plus the static `StructSchema`/`EnumSchema` named `__CONTINUUM_SHAPE`.
pub(crate) fn payload(m: &Model) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let rust_name = lit(&ident.to_string());
    let docs = lit(&m.docs);
    let deny = m.deny_unknown_fields;
    match &m.shape {
        Shape::Named(fields) => {
            let mut n = 0;
            let patterns: TokenStream = fields
                .iter()
                .map(|f| pattern_statics(&p, &f.constraints, &mut n))
                .collect();
            let mut n = 0;
            let checks: Vec<_> = fields
                .iter()
                .map(|f| {
                    let (fi, ty, wire) = (&f.ident, &f.ty, lit(&f.wire));
                    let payload_check = quote_spanned!(ty_span(ty)=> <#ty as #p::Payload>::check);
                    let target = quote!(&self.#fi);
                    let constraints: Vec<_> = f
                        .constraints
                        .iter()
                        .map(|c| constraint_check(&p, c, &target, Some(ty), &mut n))
                        .collect();
                    quote! {
                        __cx.enter_field(#wire);
                        #payload_check(#target, __cx);
                        #(#constraints)*
                        __cx.leave();
                    }
                })
                .collect();
            let mut n = 0;
            let schemas: Vec<_> = fields.iter().map(|f| {
                let (ty, wire, fdocs, required) = (&f.ty, lit(&f.wire), lit(&f.docs), f.required);
                let describe = quote_spanned!(ty_span(ty)=> <#ty as #p::Payload>::describe);
                let constraints: Vec<_> = f
                    .constraints
                    .iter()
                    .map(|c| constraint_schema(&p, c, &mut n))
                    .collect();
                quote! {
                    #p::FieldSchema { name: #wire, docs: #fdocs, ty: #describe, required: #required, constraints: &[#(#constraints),*] }
                }
            }).collect();
            let cx_name = if fields.is_empty() {
                quote!(_)
            } else {
                quote!(__cx)
            };
            quote! {
                #patterns
                static __CONTINUUM_SHAPE: #p::StructSchema = #p::StructSchema {
                    rust_name: #rust_name,
                    docs: #docs,
                    fields: &[#(#schemas),*],
                    deny_unknown_fields: #deny,
                };
                #[automatically_derived]
                impl #p::Payload for #ident {
                    fn check(&self, #cx_name: &mut #p::Checker) {
                        #(#checks)*
                    }
                    fn describe() -> #p::TypeSchema {
                        #p::TypeSchema::Struct(&__CONTINUUM_SHAPE)
                    }
                }
            }
        }
        Shape::Unit => quote! {
            #[automatically_derived]
            impl #p::Payload for #ident {
                fn check(&self, _: &mut #p::Checker) {}
                fn describe() -> #p::TypeSchema {
                    #p::TypeSchema::Null
                }
            }
        },
        Shape::Enum(variants) => quote! {
            static __CONTINUUM_SHAPE: #p::EnumSchema = #p::EnumSchema {
                rust_name: #rust_name,
                docs: #docs,
                variants: &[#(#variants),*],
            };
            #[automatically_derived]
            impl #p::Payload for #ident {
                fn check(&self, _: &mut #p::Checker) {}
                fn describe() -> #p::TypeSchema {
                    #p::TypeSchema::Enum(&__CONTINUUM_SHAPE)
                }
            }
        },
    }
}

/// `impl Event`, the inventory entry and the typed emit helpers.
pub(crate) fn event(m: &Model, name: &LitStr) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let docs = lit(&m.docs);
    let payload = match m.shape {
        Shape::Named(_) => quote!(::core::option::Option::Some(&__CONTINUUM_SHAPE)),
        _ => quote!(::core::option::Option::None),
    };
    quote! {
        static __CONTINUUM_EVENT: #p::EventSchema = #p::EventSchema { name: #name, payload: #payload, docs: #docs };
        #[automatically_derived]
        impl #p::Event for #ident {
            const TYPE: &'static ::core::primitive::str = #name;
            fn schema() -> &'static #p::EventSchema {
                &__CONTINUUM_EVENT
            }
        }
        #p::inventory::submit! {
            #p::Submitted(#p::registration::<#ident>)
        }
    }
    .into_iter()
    .chain(emit_helpers(&p, ident))
    .collect()
}

/// `event.emit(&hub)` and `event.emit_to(channel, &hub)`, calling exactly
/// `Hub::emit`/`Hub::emit_to`, so this code does not change with the hub.
fn emit_helpers(p: &TokenStream, ident: &syn::Ident) -> TokenStream {
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
    let body = match &input.data {
        syn::Data::Struct(s) => {
            let fields = s.fields.iter().map(|f| {
                let (attrs, fi, ty) = (keep(&f.attrs), &f.ident, &f.ty);
                quote!(#(#attrs)* #fi: #ty)
            });
            quote!(struct __ContinuumShadow { #(#fields),* })
        }
        syn::Data::Enum(e) => {
            let variants = e.variants.iter().map(|v| {
                let (attrs, vi) = (keep(&v.attrs), &v.ident);
                quote!(#(#attrs)* #vi)
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

/// Wrap helper items so their names never collide with the user's.
pub(crate) fn in_const(items: TokenStream) -> TokenStream {
    quote! {
        const _: () = {
            #items
        };
    }
}

/// Stub impls emitted beside `compile_error!`, so one mistake in a
/// declaration does not cascade into errors wherever the type is used.
pub(crate) fn stubs(m: &Model, event: bool) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let mut out = quote! {
        #[automatically_derived]
        impl #p::Payload for #ident {
            fn check(&self, _: &mut #p::Checker) {}
            fn describe() -> #p::TypeSchema {
                #p::TypeSchema::Null
            }
        }
    };
    if event {
        out.extend(quote! {
            static __CONTINUUM_EVENT: #p::EventSchema = #p::EventSchema { name: "", payload: ::core::option::Option::None, docs: "" };
            #[automatically_derived]
            impl #p::Event for #ident {
                const TYPE: &'static ::core::primitive::str = "";
                fn schema() -> &'static #p::EventSchema {
                    &__CONTINUUM_EVENT
                }
            }
        });
        out.extend(emit_helpers(&p, ident));
    }
    out
}
