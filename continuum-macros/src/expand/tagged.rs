//! `impl Payload` for an enum with data (serde's external, internal or
//! adjacent tagging): `check` matches the active variant and checks its
//! fields at their wire paths; `describe` returns a static `TaggedSchema`.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};

use super::constraints::{
    field_check, field_constraints, field_patterns, payload_fn, struct_schema,
};
use super::{lit, private};
use crate::model::{Field, Model, Repr, Tagged, VariantKind};
use crate::ty::payload_span;

fn fields_of(kind: &VariantKind) -> &[Field] {
    match kind {
        VariantKind::Unit => &[],
        VariantKind::Newtype(f) => std::slice::from_ref(f),
        VariantKind::Struct(fields) => fields,
    }
}

pub(crate) fn payload(m: &Model, t: &Tagged) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let patterns = field_patterns(&p, t.variants.iter().flat_map(|v| fields_of(&v.kind)));

    let mut n = 0;
    let arms: Vec<TokenStream> = t
        .variants
        .iter()
        .map(|v| {
            let vi = &v.ident;
            let (pattern, checks) = match &v.kind {
                VariantKind::Unit => (quote!(Self::#vi { .. }), TokenStream::new()),
                VariantKind::Newtype(f) => (
                    quote!(Self::#vi(__f0)),
                    field_check(&p, f, &quote!(__f0), &mut n, None),
                ),
                VariantKind::Struct(fields) => {
                    let names: Vec<_> = (0..fields.len())
                        .map(|i| format_ident!("__f{}", i))
                        .collect();
                    let binds = fields.iter().zip(&names).map(|(f, b)| {
                        let fi = &f.ident;
                        quote!(#fi: #b)
                    });
                    let checks: Vec<_> = fields
                        .iter()
                        .zip(&names)
                        .map(|(f, b)| field_check(&p, f, &quote!(#b), &mut n, None))
                        .collect();
                    (quote!(Self::#vi { #(#binds,)* .. }), quote!(#(#checks)*))
                }
            };
            // Where the variant's content sits on the wire, for issue paths.
            let under = match (&t.repr, &v.kind) {
                (_, VariantKind::Unit) | (Repr::Internal(_), _) => None,
                (Repr::External, _) => Some(lit(&v.wire)),
                (Repr::Adjacent(_, content), _) => Some(lit(content)),
            };
            let body = match under {
                Some(under) => quote! {
                    __cx.enter_field(#under);
                    #checks
                    __cx.leave();
                },
                None => checks,
            };
            quote!(#pattern => { #body })
        })
        .collect();

    let mut n = 0;
    let variants: Vec<TokenStream> = t
        .variants
        .iter()
        .map(|v| {
            let (wire, docs) = (lit(&v.wire), lit(&v.docs));
            let kind = match &v.kind {
                VariantKind::Unit => quote!(#p::VariantKind::Unit),
                VariantKind::Newtype(f) => {
                    let describe = payload_fn(&p, &f.ty, "describe");
                    let constraints = field_constraints(&p, f, &mut n);
                    quote!(#p::VariantKind::Newtype { ty: #describe, constraints: #constraints })
                }
                VariantKind::Struct(fields) => {
                    let name = format!("{ident}::{}", v.ident);
                    let s =
                        struct_schema(&p, &name, &v.docs, fields, m.deny_unknown_fields, &mut n);
                    quote!(#p::VariantKind::Struct(&#s))
                }
            };
            quote!(#p::VariantSchema { name: #wire, docs: #docs, kind: #kind })
        })
        .collect();
    let repr = match &t.repr {
        Repr::External => quote!(#p::EnumRepr::External),
        Repr::Internal(tag) => quote!(#p::EnumRepr::Internal { tag: #tag }),
        Repr::Adjacent(tag, content) => {
            quote!(#p::EnumRepr::Adjacent { tag: #tag, content: #content })
        }
    };
    // Internally tagged, a newtype variant's value takes the tag beside its
    // own fields: serde can do that for a struct only.
    let mergeable: Vec<TokenStream> = match &t.repr {
        Repr::Internal(_) => t
            .variants
            .iter()
            .filter_map(|v| match &v.kind {
                VariantKind::Newtype(f) => {
                    let span = payload_span(&f.ty);
                    let ty = &f.ty;
                    Some(quote_spanned!(span=> #p::assert_struct::<#ty>();))
                }
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mergeable = (!mergeable.is_empty()).then(|| {
        quote! {
            const _: fn() = || {
                #(#mergeable)*
            };
        }
    });
    let (rust_name, docs, deny) = (lit(&ident.to_string()), lit(&m.docs), m.deny_unknown_fields);
    quote! {
        #patterns
        #mergeable
        static __CONTINUUM_SHAPE: #p::TaggedSchema = #p::TaggedSchema {
            rust_name: #rust_name,
            docs: #docs,
            repr: #repr,
            variants: &[#(#variants),*],
            deny_unknown_fields: #deny,
        };
        #[automatically_derived]
        impl #p::Payload for #ident {
            #[allow(unused_variables)]
            fn check(&self, __cx: &mut #p::Checker) {
                #[allow(unreachable_patterns)]
                match self {
                    #(#arms)*
                    // Variants serde skips.
                    _ => {}
                }
            }
            fn describe() -> #p::TypeSchema {
                #p::TypeSchema::Tagged(&__CONTINUUM_SHAPE)
            }
        }
    }
}
