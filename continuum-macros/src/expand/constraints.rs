//! What the constraints of a field become: the schema's description of each
//! (`Constraint::Range(RangeBounds { … })`, …), the `pattern` statics, the
//! run-time check of a field (one `Payload::__check_field` call from the
//! schema's table where it can, a generated call per constraint where a
//! `custom` function needs the Rust value), and the compile-time assertions
//! that each constraint applies to its field's type.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::Type;

use super::{lit, path_string};
use crate::attr::{Bound, Constraint, ConstraintKind, Num};
use crate::model::Field;
use crate::ty::{payload_span, ty_span};

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

/// `RangeBounds { … }` of a `range` constraint: what the schema describes
/// and what a generated check passes, written once.
fn range_bounds(
    p: &TokenStream,
    min: Option<Bound<Num>>,
    max: Option<Bound<Num>>,
    exclusive_min: bool,
    exclusive_max: bool,
) -> TokenStream {
    let (min, max) = (opt_num(p, min), opt_num(p, max));
    quote!(#p::RangeBounds { min: #min, max: #max, exclusive_min: #exclusive_min, exclusive_max: #exclusive_max })
}

fn opt_count(b: Option<Bound<u64>>) -> TokenStream {
    opt(b, |b| {
        let lit = Literal::u64_suffixed(b.value);
        quote!(#lit)
    })
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
            let bounds = range_bounds(p, *min, *max, *exclusive_min, *exclusive_max);
            quote!(#p::Constraint::Range(#bounds))
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
            let bounds = range_bounds(p, *min, *max, *exclusive_min, *exclusive_max);
            quote!(#m(#target, __cx, &#bounds);)
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

/// `<T as Payload>::check` or `::describe`, spanned where a missing
/// `Payload` is reported: the same span as the serde paths of [`via_attrs`],
/// so the one mistake reads as one error.
pub(crate) fn payload_fn(p: &TokenStream, ty: &Type, f: &str) -> TokenStream {
    let span = payload_span(ty);
    let f = syn::Ident::new(f, span);
    // Every token at one span, as serde leaves the paths it parses.
    let ty = respan(quote::ToTokens::to_token_stream(ty), span);
    quote_spanned!(span=> <#ty as #p::Payload>::#f)
}

fn respan(tokens: TokenStream, span: proc_macro2::Span) -> TokenStream {
    tokens
        .into_iter()
        .map(|mut t| {
            if let proc_macro2::TokenTree::Group(g) = &t {
                let mut group = proc_macro2::Group::new(g.delimiter(), respan(g.stream(), span));
                group.set_span(span);
                t = proc_macro2::TokenTree::Group(group);
            } else {
                t.set_span(span);
            }
            t
        })
        .collect()
}

/// Whether `c` is or holds a `custom = path` constraint, which takes the
/// Rust value and so cannot run from the schema's tables.
fn has_custom(c: &Constraint) -> bool {
    match &c.kind {
        ConstraintKind::Custom(_) => true,
        ConstraintKind::Each(inner) => inner.iter().any(has_custom),
        _ => false,
    }
}

/// How many `pattern`s `c` declares (each one a static, see [`pattern_statics`]).
fn pattern_count(c: &Constraint) -> usize {
    match &c.kind {
        ConstraintKind::Pattern(_) => 1,
        ConstraintKind::Each(inner) => inner.iter().map(pattern_count).sum(),
        _ => 0,
    }
}

/// A compile-time assertion that constraint `c` applies to `subject` (the
/// field's type, or `<… as EachCheck>::Item` inside `each`): the constraint
/// trait's method named, not called, so no code is generated for it. The
/// error for a wrong type reads as the trait's `on_unimplemented` message,
/// at the field's type (or, inside `each`, at the constraint).
fn constraint_assert(
    p: &TokenStream,
    c: &Constraint,
    subject: &TokenStream,
    ty: Option<&Type>,
) -> TokenStream {
    let span = ty.map_or(c.kw.span(), ty_span);
    let named = |tr: &str, f: &str| {
        let tr = syn::Ident::new(tr, c.kw.span());
        let f = syn::Ident::new(f, c.kw.span());
        quote_spanned!(span=> let _ = <#subject as #p::#tr>::#f;)
    };
    match &c.kind {
        ConstraintKind::Range { .. } => named("RangeCheck", "check_range"),
        ConstraintKind::Length { .. } => named("LengthCheck", "check_length"),
        ConstraintKind::Pattern(_) => named("PatternCheck", "check_pattern"),
        ConstraintKind::Custom(_) => TokenStream::new(),
        ConstraintKind::Each(inner) => {
            // `check_each` is generic over its closure: name the item type.
            let tr = syn::Ident::new("EachCheck", c.kw.span());
            let item = quote_spanned!(span=> <#subject as #p::#tr>::Item);
            let mut out = quote_spanned!(span=> let _ = ::core::marker::PhantomData::<#item>;);
            for c in inner {
                out.extend(constraint_assert(p, c, &item, None));
            }
            out
        }
    }
}

/// The run-time check of one field, `target` an expression of type `&T`:
/// its own `Payload::check`, then its constraints, at its wire name (a
/// newtype variant's value has none of its own).
///
/// With `schema` (an expression of type `&FieldSchema` for this field) and
/// no `custom` constraint, the check is one call, `Payload::__check_field`,
/// which applies the constraints from the schema's table; the generated
/// code only asserts, at compile time, that each constraint applies to the
/// field's type. Per constraint that is no code at all where a generated
/// call per constraint was a body to type-check and compile for every
/// event (bench/compile-cost).
pub(crate) fn field_check(
    p: &TokenStream,
    f: &Field,
    target: &TokenStream,
    n: &mut usize,
    schema: Option<TokenStream>,
) -> TokenStream {
    let ty = &f.ty;
    if let (Some(schema), Some(_), false) = (
        schema,
        f.ident.as_ref(),
        f.constraints.iter().any(has_custom),
    ) {
        *n += f.constraints.iter().map(pattern_count).sum::<usize>();
        let ty_tokens = quote::ToTokens::to_token_stream(ty);
        let asserts = f
            .constraints
            .iter()
            .map(|c| constraint_assert(p, c, &ty_tokens, Some(ty)));
        let check = payload_fn(p, ty, "__check_field");
        return quote! {
            #(#asserts)*
            #check(#target, #schema, __cx);
        };
    }
    let payload_check = payload_fn(p, ty, "check");
    let constraints: Vec<_> = f
        .constraints
        .iter()
        .map(|c| constraint_check(p, c, target, Some(ty), n))
        .collect();
    let body = quote! {
        #payload_check(#target, __cx);
        #(#constraints)*
    };
    if f.ident.is_none() {
        return body;
    }
    let wire = lit(&f.wire);
    quote! {
        __cx.enter_field(#wire);
        #body
        __cx.leave();
    }
}

/// The constraints of one field, as the schema describes them.
pub(crate) fn field_constraints(p: &TokenStream, f: &Field, n: &mut usize) -> TokenStream {
    let constraints: Vec<_> = f
        .constraints
        .iter()
        .map(|c| constraint_schema(p, c, n))
        .collect();
    quote!(&[#(#constraints),*])
}

/// `StructSchema { … }` for named `fields`.
pub(crate) fn struct_schema(
    p: &TokenStream,
    rust_name: &str,
    docs: &str,
    fields: &[Field],
    deny: bool,
    n: &mut usize,
) -> TokenStream {
    let (rust_name, docs) = (lit(rust_name), lit(docs));
    let schemas: Vec<_> = fields
        .iter()
        .map(|f| {
            let (wire, fdocs, required) = (lit(&f.wire), lit(&f.docs), f.required);
            let describe = payload_fn(p, &f.ty, "describe");
            let constraints = field_constraints(p, f, n);
            quote! {
                #p::FieldSchema { name: #wire, docs: #fdocs, ty: #describe, required: #required, constraints: #constraints }
            }
        })
        .collect();
    quote! {
        #p::StructSchema {
            rust_name: #rust_name,
            docs: #docs,
            fields: &[#(#schemas),*],
            deny_unknown_fields: #deny,
        }
    }
}

/// One `static` per `pattern` in `fields`, numbered in declaration order.
pub(crate) fn field_patterns<'a>(
    p: &TokenStream,
    fields: impl IntoIterator<Item = &'a Field>,
) -> TokenStream {
    let mut n = 0;
    fields
        .into_iter()
        .map(|f| pattern_statics(p, &f.constraints, &mut n))
        .collect()
}
