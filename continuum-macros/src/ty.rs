//! What a field's type is, as far as its syntax shows: `Option<T>`'s `T`,
//! whether serde and `Payload` are known to agree on it, where to report
//! that it is not a `Payload`. Shared by `check` (which decides how each
//! field travels) and `expand` (which spans errors); it looks only at the
//! tokens of the type, never at what other expansions have seen.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

/// The type arguments of a path segment (`Vec<T>` → `[T]`).
pub(crate) fn generic_args(seg: &syn::PathSegment) -> Vec<&Type> {
    match &seg.arguments {
        PathArguments::AngleBracketed(a) => a
            .args
            .iter()
            .filter_map(|a| match a {
                GenericArgument::Type(t) => Some(t),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// `Option<T>` → `T` (as serde does: by the last path segment's name).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    if let Type::Path(p) = ty {
        let seg = p.path.segments.last()?;
        if seg.ident == "Option" {
            return generic_args(seg).first().copied();
        }
    }
    None
}

/// `Vec<String>` rather than `Vec < String >`.
pub(crate) fn type_name(ty: &Type) -> String {
    let s = ty.to_token_stream().to_string();
    s.replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" ,", ",")
        .replace(" :: ", "::")
        .replace(":: ", "::")
        .replace("& ", "&")
}

/// Whether the type is one of the standard types whose `Serialize` and
/// `Deserialize` are known to agree with `Payload` (`String`, numbers,
/// `Vec<String>`, …), by name, as serde reads types. Generated serde code
/// reads and writes every other field through `Payload`'s own methods, so
/// a field type that is not a `Payload` gives one error, about `Payload`,
/// and not one per serde trait besides.
pub(crate) fn is_standard(ty: &Type) -> bool {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let segs: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if segs == ["serde_json", "Value"] {
                return true;
            }
            let Some(seg) = p.path.segments.last() else {
                return false;
            };
            let args = generic_args(seg);
            match (seg.ident.to_string().as_str(), args.as_slice()) {
                (
                    "String" | "bool" | "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8"
                    | "u16" | "u32" | "u64" | "u128" | "usize" | "f32" | "f64",
                    [],
                ) => true,
                ("Vec" | "VecDeque" | "Option" | "Box", [inner]) => is_standard(inner),
                ("HashMap" | "BTreeMap", [key, value]) => {
                    matches!(key, Type::Path(k) if k.path.is_ident("String")) && is_standard(value)
                }
                _ => false,
            }
        }
        Type::Paren(p) => is_standard(&p.elem),
        Type::Group(g) => is_standard(&g.elem),
        _ => false,
    }
}

/// Whether `Self` appears in the type.
pub(crate) fn mentions_self(ty: &Type) -> bool {
    fn walk(tokens: proc_macro2::TokenStream) -> bool {
        tokens.into_iter().any(|t| match t {
            proc_macro2::TokenTree::Ident(i) => i == "Self",
            proc_macro2::TokenTree::Group(g) => walk(g.stream()),
            _ => false,
        })
    }
    walk(ty.to_token_stream())
}

/// Whether the type is `Option<…>` (serde then treats a missing field as `None`).
pub(crate) fn is_option(ty: &Type) -> bool {
    option_inner(ty).is_some()
}

/// The span of a type, for trait-bound errors.
pub(crate) fn ty_span(ty: &Type) -> Span {
    syn::spanned::Spanned::span(ty)
}
/// Where a field whose type is not a `Payload` is reported: the innermost
/// type that is not a standard container (`Opaque` in `Vec<Opaque>`).
pub(crate) fn payload_span(ty: &Type) -> Span {
    if let Type::Path(p) = ty {
        if let Some(seg) = p.path.segments.last() {
            let args = generic_args(seg);
            let inner = match (seg.ident.to_string().as_str(), args.as_slice()) {
                (
                    "Vec" | "VecDeque" | "Option" | "Box" | "Arc" | "HashSet" | "BTreeSet",
                    [inner, ..],
                ) => Some(*inner),
                ("HashMap" | "BTreeMap", [_, value, ..]) => Some(*value),
                _ => None,
            };
            return match inner {
                Some(inner) if !is_standard(inner) => payload_span(inner),
                _ => seg.ident.span(),
            };
        }
    }
    match ty {
        Type::Array(a) if !is_standard(&a.elem) => payload_span(&a.elem),
        Type::Paren(p) => payload_span(&p.elem),
        Type::Group(g) => payload_span(&g.elem),
        _ => ty_span(ty),
    }
}
