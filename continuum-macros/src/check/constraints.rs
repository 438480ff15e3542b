//! Constraints against the field they are on: a constraint on a type it
//! cannot apply to (where the syntax shows the type: `range` on a `String`),
//! empty bounds, regexes that do not parse, the same constraint twice. What
//! the syntax cannot show is left to trait bounds in the generated code.

use syn::Type;

use crate::attr::{Constraint, ConstraintKind};
use crate::ctxt::Ctxt;
use crate::ty::{generic_args, type_name};

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

/// Check `constraints` on a value of type `ty` (`None` inside `each` on a
/// type whose elements the syntax does not show).
pub(crate) fn check(cx: &Ctxt, ty: Option<&Type>, constraints: &[Constraint]) {
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
                Class::Seq(item) | Class::Map(item) => check(cx, item, inner),
                Class::Str | Class::Int | Class::Float | Class::Bool => {
                    cx.error(span, format!("`each` applies to sequences and maps, not `{shown}`; write the constraints without `each`"));
                }
                Class::Other => check(cx, None, inner),
            },
        }
    }
}
