//! `impl Payload` for a struct, a unit event or a string-union enum, with
//! its static schema `__CONTINUUM_SHAPE` (enums with data: [`super::tagged`]).

use proc_macro2::TokenStream;
use quote::quote;

use super::constraints::{field_check, field_patterns, struct_schema};
use super::{lit, private, tagged};
use crate::model::{Model, Shape};

/// `impl Payload` plus the static `StructSchema`/`EnumSchema`/`TaggedSchema`
/// named `__CONTINUUM_SHAPE`.
pub(crate) fn payload(m: &Model) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
    let rust_name = lit(&ident.to_string());
    let docs = lit(&m.docs);
    let deny = m.deny_unknown_fields;
    match &m.shape {
        Shape::Named(fields) => {
            let patterns = field_patterns(&p, fields);
            let mut n = 0;
            let checks: Vec<_> = fields
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let fi = &f.ident;
                    let schema = quote!(&__CONTINUUM_SHAPE.fields[#i]);
                    field_check(&p, f, &quote!(&self.#fi), &mut n, Some(schema))
                })
                .collect();
            let mut n = 0;
            let schema = struct_schema(&p, &ident.to_string(), &m.docs, fields, deny, &mut n);
            let cx_name = if fields.is_empty() {
                quote!(_)
            } else {
                quote!(__cx)
            };
            quote! {
                #patterns
                static __CONTINUUM_SHAPE: #p::StructSchema = #schema;
                #[automatically_derived]
                impl #p::Payload for #ident {
                    fn check(&self, #cx_name: &mut #p::Checker) {
                        #(#checks)*
                    }
                    fn describe() -> #p::TypeSchema {
                        #p::TypeSchema::Struct(&__CONTINUUM_SHAPE)
                    }
                }
                #[automatically_derived]
                impl #p::Struct for #ident {}
            }
        }
        Shape::Tagged(t) => tagged::payload(m, t),
        Shape::Unit => quote! {
            #[automatically_derived]
            impl #p::Payload for #ident {
                fn check(&self, _: &mut #p::Checker) {}
                fn describe() -> #p::TypeSchema {
                    #p::TypeSchema::Null
                }
            }
        },
        Shape::Enum(variants) => {
            let (idents, wires): (Vec<_>, Vec<_>) = variants.iter().cloned().unzip();
            quote! {
            static __CONTINUUM_SHAPE: #p::EnumSchema = #p::EnumSchema {
                rust_name: #rust_name,
                docs: #docs,
                variants: &[#(#wires),*],
            };
            // A unit enum can key an event's state: by its wire name.
            #[automatically_derived]
            impl #p::EventKey for #ident {
                fn to_key(&self) -> #p::Cow<'_, ::core::primitive::str> {
                    #p::Cow::Borrowed(match *self { #(Self::#idents => #wires,)* })
                }
            }
            #[automatically_derived]
            impl #p::Payload for #ident {
                fn check(&self, _: &mut #p::Checker) {}
                fn describe() -> #p::TypeSchema {
                    #p::TypeSchema::Enum(&__CONTINUUM_SHAPE)
                }
            }
            }
        }
    }
}
