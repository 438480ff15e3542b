//! Checking: everything that can be wrong with a declaration and can be
//! known at compile time — the event name's grammar, a constraint on a type it
//! cannot apply to (where the type is visible in the syntax), empty bounds,
//! regexes that do not parse, duplicate constraints.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{GenericArgument, LitStr, PathArguments, Type};

use crate::attr::{Constraint, ConstraintKind};
use crate::ctxt::Ctxt;

/// Names the runtime uses for its own messages.
const RESERVED_PREFIX: &str = "continuum.";

/// Check `name` against the grammar `segment ("." segment)+`, each segment
/// `[a-z][a-z0-9_-]*`, and the reserved prefix. One error, the most useful.
pub(crate) fn event_name(cx: &Ctxt, lit: &LitStr) {
    let name = lit.value();
    let span = lit.span();
    let example = "e.g. `ai.task.progress`";
    if name.is_empty() {
        return cx.error(
            span,
            format!("event name is empty; write lowercase dot-separated segments, {example}"),
        );
    }
    if name.chars().any(char::is_whitespace) {
        let fixed: String = name
            .split_whitespace()
            .collect::<Vec<_>>()
            .join("_")
            .to_lowercase();
        return cx.error(span, format!("event name `{name}` contains whitespace; use `_`, `-` or `.` instead, e.g. `{fixed}`"));
    }
    if name.chars().any(char::is_uppercase) {
        return cx.error(
            span,
            format!(
                "event name `{name}` must be lowercase dot-separated segments, e.g. `{}`",
                name.to_lowercase()
            ),
        );
    }
    if name.starts_with('.') || name.ends_with('.') {
        let trimmed = name.trim_matches('.');
        let end = if name.starts_with('.') {
            "start"
        } else {
            "end"
        };
        return cx.error(
            span,
            format!("event name `{name}` must not {end} with a dot; write `{trimmed}`"),
        );
    }
    if name.contains("..") {
        return cx.error(
            span,
            format!(
                "event name `{name}` has an empty segment (`..`); write `{}`",
                name.split('.')
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(".")
            ),
        );
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')))
    {
        return cx.error(
            span,
            format!("character `{bad}` is not allowed in event name `{name}`; segments use `a-z`, `0-9`, `_` and `-`, separated by `.`"),
        );
    }
    if let Some(seg) = name
        .split('.')
        .find(|s| !s.starts_with(|c: char| c.is_ascii_lowercase()))
    {
        return cx.error(span, format!("segment `{seg}` of event name `{name}` must start with a lowercase letter, {example}"));
    }
    if !name.contains('.') {
        return cx.error(
            span,
            format!("event name `{name}` needs at least two dot-separated segments, a namespace and a name, e.g. `app.{name}`"),
        );
    }
    if name.starts_with(RESERVED_PREFIX) {
        cx.error(
            span,
            format!("event names starting with `{RESERVED_PREFIX}` are reserved for the runtime's own messages (`continuum.connected`, `continuum.reset`); choose another namespace"),
        );
    }
}

/// What a field's type is, as far as the syntax shows.
#[derive(Clone, Copy)]
enum Class<'a> {
    Str,
    Int,
    Float,
    Bool,
    Seq(Option<&'a Type>),
    Map(Option<&'a Type>),
    Other,
}

fn generic_args(seg: &syn::PathSegment) -> Vec<&Type> {
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

fn classify(ty: &Type) -> Class<'_> {
    match ty {
        Type::Path(p) if p.qself.is_none() => {
            let Some(seg) = p.path.segments.last() else {
                return Class::Other;
            };
            let args = generic_args(seg);
            match seg.ident.to_string().as_str() {
                "String" => Class::Str,
                "i8" | "i16" | "i32" | "i64" | "i128" | "isize" | "u8" | "u16" | "u32" | "u64"
                | "u128" | "usize" => Class::Int,
                "f32" | "f64" => Class::Float,
                "bool" => Class::Bool,
                "Vec" | "VecDeque" | "HashSet" | "BTreeSet" => Class::Seq(args.first().copied()),
                "HashMap" | "BTreeMap" => Class::Map(args.get(1).copied()),
                "Cow"
                    if args
                        .first()
                        .is_some_and(|t| matches!(t, Type::Path(p) if p.path.is_ident("str"))) =>
                {
                    Class::Str
                }
                // Constraints see through these to the value inside.
                "Option" | "Box" | "Arc" => args.first().map_or(Class::Other, |t| classify(t)),
                _ => Class::Other,
            }
        }
        Type::Paren(p) => classify(&p.elem),
        Type::Group(g) => classify(&g.elem),
        Type::Reference(r) if matches!(&*r.elem, Type::Path(p) if p.path.is_ident("str")) => {
            Class::Str
        }
        Type::Array(a) => Class::Seq(Some(&a.elem)),
        Type::Slice(s) => Class::Seq(Some(&s.elem)),
        _ => Class::Other,
    }
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

/// Check `constraints` on a value of type `ty` (`None` inside `each` on a
/// type whose elements the syntax does not show).
pub(crate) fn constraints(cx: &Ctxt, ty: Option<&Type>, constraints: &[Constraint]) {
    let class = ty.map_or(Class::Other, classify);
    let shown = ty.map(type_name).unwrap_or_default();
    for (i, c) in constraints.iter().enumerate() {
        if let Some(first) = constraints[..i].iter().find(|p| p.name() == c.name()) {
            let how = match first.kind {
                ConstraintKind::Range { .. } | ConstraintKind::Length { .. } => {
                    format!("merge the bounds into one `{}(…)`", c.name())
                }
                ConstraintKind::Each(_) => "merge them into one `each(…)`".to_owned(),
                ConstraintKind::Pattern(_) => "combine the regexes into one".to_owned(),
                ConstraintKind::Custom(_) => "call both checks from one function".to_owned(),
            };
            cx.error(
                c.kw.span(),
                format!("duplicate `{}` constraint; {how}", c.name()),
            );
            continue;
        }
        let span = c.kw.span();
        match &c.kind {
            ConstraintKind::Range {
                min,
                max,
                exclusive_min,
                exclusive_max,
            } => {
                match class {
                    Class::Str | Class::Seq(_) | Class::Map(_) => cx.error(
                        span,
                        format!("`range` applies to numbers, not `{shown}`; use `length(min = …, max = …)` to bound its size"),
                    ),
                    Class::Bool => cx.error(span, "`range` applies to numbers, not `bool`"),
                    _ => {}
                }
                match (min, max) {
                    (None, None) => cx.error(
                        span,
                        "`range` needs a bound: `min`, `max`, `exclusive_min` or `exclusive_max`",
                    ),
                    (Some(lo), Some(hi)) => {
                        let (l, h) = (lo.value.as_f64(), hi.value.as_f64());
                        if l > h || (l == h && (*exclusive_min || *exclusive_max)) {
                            cx.error(
                                hi.span,
                                format!("`range` is empty: no number is both {} {} and {} {}; swap the bounds?", if *exclusive_min { ">" } else { ">=" }, lo.value, if *exclusive_max { "<" } else { "<=" }, hi.value),
                            );
                        }
                    }
                    _ => {}
                }
            }
            ConstraintKind::Length { min, max } => {
                match class {
                    Class::Int | Class::Float => cx.error(
                        span,
                        format!("`length` applies to strings, sequences and maps, not `{shown}`; use `range(min = …, max = …)` for numbers"),
                    ),
                    Class::Bool => cx.error(span, "`length` applies to strings, sequences and maps, not `bool`"),
                    _ => {}
                }
                match (min, max) {
                    (None, None) => cx.error(span, "`length` needs a bound: `min` or `max`"),
                    (Some(lo), Some(hi)) if lo.value > hi.value => cx.error(
                        hi.span,
                        format!(
                            "`length` is empty: min {} is greater than max {}; swap the bounds?",
                            lo.value, hi.value
                        ),
                    ),
                    _ => {}
                }
            }
            ConstraintKind::Pattern(lit) => {
                match class {
                    Class::Seq(_) | Class::Map(_) => cx.error(
                        span,
                        format!("`pattern` applies to strings, not `{shown}`; use `each(pattern = …)` to check its strings"),
                    ),
                    Class::Int | Class::Float | Class::Bool => cx.error(span, format!("`pattern` applies to strings, not `{shown}`")),
                    _ => {}
                }
                if let Err(e) = regex_syntax::Parser::new().parse(&lit.value()) {
                    let why = match &e {
                        regex_syntax::Error::Parse(e) => e.kind().to_string(),
                        regex_syntax::Error::Translate(e) => e.kind().to_string(),
                        other => other.to_string(),
                    };
                    cx.error(lit.span(), format!("invalid regex in `pattern`: {why}"));
                }
            }
            ConstraintKind::Custom(_) => {}
            ConstraintKind::Each(inner) => match class {
                Class::Seq(item) | Class::Map(item) => self::constraints(cx, item, inner),
                Class::Str | Class::Int | Class::Float | Class::Bool => {
                    cx.error(span, format!("`each` applies to sequences and maps, not `{shown}`; write the constraints without `each`"));
                }
                Class::Other => self::constraints(cx, None, inner),
            },
        }
    }
}

/// Whether the type is one of the standard types whose `Serialize` and
/// `Deserialize` are known to agree with `Payload` (`String`, numbers,
/// `Vec<String>`, …, and types that derived `Payload` earlier in this
/// compilation: see [`crate::known`]), by name, as serde reads types. Generated serde code
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
                (name, []) if crate::known::is_derived(name) => true,
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
