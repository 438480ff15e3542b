//! Generation. The generated code names only `#krate::__private::…` and
//! `::core::…`, keeps helper items in `const _: () = { … };`, and marks trait
//! impls `#[automatically_derived]`.

use proc_macro2::{Literal, TokenStream};
use quote::{quote, quote_spanned};
use syn::{LitStr, Path, Type};

use crate::attr::{Bound, Constraint, ConstraintKind, Num};
use crate::check::ty_span;
use crate::model::{Field, Model, Shape, VariantKind};

/// `#krate::__private`.
pub(crate) fn private(krate: &Path) -> TokenStream {
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
    let deny = (m.add_deny && matches!(m.shape, Shape::Named(_) | Shape::Tagged(_)))
        .then(|| quote!(#[serde(deny_unknown_fields)]));
    let derives = if remote.is_none() && own_deserialize(m) {
        quote!(#p::serde::Serialize)
    } else {
        quote!(#p::serde::Serialize, #p::serde::Deserialize)
    };
    quote! {
        #[derive(#derives)]
        #[serde(crate = #krate_str)]
        #remote
        #rename
        #deny
    }
}

/// Where a field whose type is not a `Payload` is reported: the innermost
/// type that is not a standard container (`Opaque` in `Vec<Opaque>`).
pub(crate) fn payload_span(ty: &Type) -> proc_macro2::Span {
    if let Type::Path(p) = ty {
        if let Some(seg) = p.path.segments.last() {
            let args: Vec<&Type> = match &seg.arguments {
                syn::PathArguments::AngleBracketed(a) => a
                    .args
                    .iter()
                    .filter_map(|a| match a {
                        syn::GenericArgument::Type(t) => Some(t),
                        _ => None,
                    })
                    .collect(),
                _ => Vec::new(),
            };
            let inner = match (seg.ident.to_string().as_str(), args.as_slice()) {
                (
                    "Vec" | "VecDeque" | "Option" | "Box" | "Arc" | "HashSet" | "BTreeSet",
                    [inner, ..],
                ) => Some(*inner),
                ("HashMap" | "BTreeMap", [_, value, ..]) => Some(*value),
                _ => None,
            };
            return match inner {
                Some(inner) if !crate::check::is_standard(inner) => payload_span(inner),
                _ => seg.ident.span(),
            };
        }
    }
    match ty {
        Type::Array(a) if !crate::check::is_standard(&a.elem) => payload_span(&a.elem),
        Type::Paren(p) => payload_span(&p.elem),
        Type::Group(g) => payload_span(&g.elem),
        _ => ty_span(ty),
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
            quote!(#p::Constraint::Range(#p::RangeBounds { min: #min, max: #max, exclusive_min: #exclusive_min, exclusive_max: #exclusive_max }))
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

pub(crate) fn lit(s: &str) -> LitStr {
    LitStr::new(s, proc_macro2::Span::call_site())
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
        Shape::Tagged(t) => crate::tagged::payload(m, t),
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
    let decode = decode_fn(m);
    quote! {
        static __CONTINUUM_EVENT: #p::EventSchema = #p::EventSchema { name: #name, payload: #payload, docs: #docs };
        #[automatically_derived]
        impl #p::Event for #ident {
            const TYPE: &'static ::core::primitive::str = #name;
            fn schema() -> &'static #p::EventSchema {
                &__CONTINUUM_EVENT
            }
            #decode
        }
        #p::inventory::submit! {
            #p::Submitted(#p::registration::<#ident>)
        }
    }
    .into_iter()
    .chain(emit_helpers(&p, ident))
    .collect()
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

/// Wrap helper items so their names never collide with the user's.
pub(crate) fn in_const(items: TokenStream) -> TokenStream {
    quote! {
        const _: () = {
            #items
        };
    }
}

/// Serialize/Deserialize stubs for a declaration with errors: serde's
/// derive is not run on it, so a mistake serde would also see (a bad
/// `rename_all`) is reported once, by us, and nothing cascades.
pub(crate) fn serde_stubs(m: &Model) -> TokenStream {
    let p = private(&m.krate);
    let ident = &m.ident;
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
    if matches!(m.shape, Shape::Named(_)) {
        out.extend(quote! {
            #[automatically_derived]
            impl #p::Struct for #ident {}
        });
    }
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
