//! Error recovery (thiserror's `fallback.rs`): for a declaration with
//! errors, stub impls of everything the macro would implement, emitted
//! beside the `compile_error!`s, so one mistake gives one error and not one
//! more wherever the type is used.

use proc_macro2::TokenStream;
use quote::quote;

use super::event::emit_helpers;
use super::private;
use crate::model::Stub;

/// Serialize/Deserialize stubs for a declaration with errors: serde's
/// derive is not run on it, so a mistake serde would also see (a bad
/// `rename_all`) is reported once, by us, and nothing cascades.
pub(crate) fn serde_stubs(s: &Stub) -> TokenStream {
    let p = private(&s.krate);
    let ident = &s.ident;
    quote! {
        #[automatically_derived]
        impl #p::serde::Serialize for #ident {
            fn serialize<__S: #p::serde::Serializer>(&self, _: __S) -> ::core::result::Result<__S::Ok, __S::Error> {
                ::core::result::Result::Err(<__S::Error as #p::serde::ser::Error>::custom("this type's declaration has errors"))
            }
        }
        #[automatically_derived]
        impl<'de> #p::serde::Deserialize<'de> for #ident {
            fn deserialize<__D: #p::serde::Deserializer<'de>>(_: __D) -> ::core::result::Result<Self, __D::Error> {
                ::core::result::Result::Err(<__D::Error as #p::serde::de::Error>::custom("this type's declaration has errors"))
            }
        }
    }
}

/// Stub impls emitted beside `compile_error!`, so one mistake in a
/// declaration does not cascade into errors wherever the type is used.
pub(crate) fn stubs(s: &Stub, event: bool) -> TokenStream {
    let p = private(&s.krate);
    let ident = &s.ident;
    let mut out = quote! {
        #[automatically_derived]
        impl #p::Payload for #ident {
            fn check(&self, _: &mut #p::Checker) {}
            fn describe() -> #p::TypeSchema {
                #p::TypeSchema::Null
            }
        }
    };
    if s.named {
        out.extend(quote! {
            #[automatically_derived]
            impl #p::Struct for #ident {}
        });
    }
    if event {
        out.extend(quote! {
            static __CONTINUUM_EVENT: #p::EventSchema = #p::EventSchema {
                name: "",
                version: 1,
                payload: ::core::option::Option::None,
                docs: "",
                key: ::core::option::Option::None,
                ttl: ::core::option::Option::None,
            };
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
