//! Parsing `#[event(…)]` field constraints (`range`, `length`, `pattern`,
//! `custom`, `each`) into [`Constraint`]s that keep the span of every
//! keyword and bound. Only the grammar is enforced here; whether a
//! constraint fits its field is `check`'s question.

use proc_macro2::{Span, TokenStream};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Ident, LitStr, Path, Token};

use super::{read_items, Item, ItemValue};
use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;

pub(crate) const CONSTRAINTS: &[&str] = &["range", "length", "pattern", "custom", "each"];
const RANGE_KEYS: &[&str] = &["min", "max", "exclusive_min", "exclusive_max"];
const LENGTH_KEYS: &[&str] = &["min", "max"];

/// A number in a `range` bound.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum Num {
    Int(i128),
    Float(f64),
}

impl Num {
    #[allow(clippy::cast_precision_loss)]
    pub(crate) fn as_f64(self) -> f64 {
        match self {
            Num::Int(v) => v as f64,
            Num::Float(v) => v,
        }
    }
}

impl std::fmt::Display for Num {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Num::Int(v) => write!(f, "{v}"),
            Num::Float(v) => write!(f, "{v}"),
        }
    }
}

#[derive(Clone, Copy)]
pub(crate) struct Bound<T> {
    pub(crate) value: T,
    pub(crate) span: Span,
}

pub(crate) enum ConstraintKind {
    Range {
        min: Option<Bound<Num>>,
        max: Option<Bound<Num>>,
        exclusive_min: bool,
        exclusive_max: bool,
    },
    Length {
        min: Option<Bound<u64>>,
        max: Option<Bound<u64>>,
    },
    Pattern(LitStr),
    Custom(Path),
    Each(Vec<Constraint>),
}

pub(crate) struct Constraint {
    /// The constraint's keyword, where errors about it point.
    pub(crate) kw: Ident,
    pub(crate) kind: ConstraintKind,
}

impl Constraint {
    pub(crate) fn name(&self) -> &'static str {
        match self.kind {
            ConstraintKind::Range { .. } => "range",
            ConstraintKind::Length { .. } => "length",
            ConstraintKind::Pattern(_) => "pattern",
            ConstraintKind::Custom(_) => "custom",
            ConstraintKind::Each(_) => "each",
        }
    }
}

/// Every constraint in the field's `#[event(…)]` attributes.
pub(crate) fn parse_field_constraints(cx: &Ctxt, attrs: &[Attribute]) -> Vec<Constraint> {
    let mut out = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        let tokens = match &attr.meta {
            syn::Meta::List(list) => list.tokens.clone(),
            other => {
                cx.error_tokens(other, "expected constraints in parentheses, e.g. `#[event(range(min = 0, max = 100))]`");
                continue;
            }
        };
        match read_items.parse2(tokens) {
            Ok(items) => out.extend(items.into_iter().filter_map(|item| constraint(cx, item))),
            Err(e) => cx.push(e),
        }
    }
    out
}

fn constraint(cx: &Ctxt, item: Item) -> Option<Constraint> {
    let name = item.key.unraw().to_string();
    let kw = item.key;
    let kind = match (name.as_str(), item.value) {
        ("range", ItemValue::Group(tokens)) => {
            let (mut min, mut max, mut exclusive_min, mut exclusive_max) =
                (None, None, false, false);
            let mut reported = false;
            for (key, value) in keyed_values(cx, tokens, "range", RANGE_KEYS) {
                let Some(n) = number(cx, value) else {
                    reported = true;
                    continue;
                };
                let k = key.to_string();
                let (slot, exclusive, other) = match k.as_str() {
                    "min" => (&mut min, false, "exclusive_min"),
                    "exclusive_min" => (&mut min, true, "min"),
                    "max" => (&mut max, false, "exclusive_max"),
                    _ => (&mut max, true, "max"),
                };
                if slot.is_some() {
                    cx.error(key.span(), format!("`{k}` conflicts with `{other}`: a bound is either inclusive or exclusive"));
                    continue;
                }
                *slot = Some(n);
                match k.as_str() {
                    "exclusive_min" => exclusive_min = exclusive,
                    "exclusive_max" => exclusive_max = exclusive,
                    _ => {}
                }
            }
            if reported && min.is_none() && max.is_none() {
                // Its one bound was wrong and said so: not "needs a bound" too.
                return None;
            }
            ConstraintKind::Range {
                min,
                max,
                exclusive_min,
                exclusive_max,
            }
        }
        ("length", ItemValue::Group(tokens)) => {
            let (mut min, mut max) = (None, None);
            let mut reported = false;
            for (key, value) in keyed_values(cx, tokens, "length", LENGTH_KEYS) {
                let Some(n) = count(cx, value) else {
                    reported = true;
                    continue;
                };
                if key == "min" {
                    min = Some(n);
                } else {
                    max = Some(n);
                }
            }
            if reported && min.is_none() && max.is_none() {
                return None;
            }
            ConstraintKind::Length { min, max }
        }
        ("pattern", ItemValue::Eq(tokens)) => match syn::parse2::<LitStr>(tokens.clone()) {
            Ok(lit) => ConstraintKind::Pattern(lit),
            Err(_) => {
                cx.error_tokens(
                    &tokens,
                    "expected the regex as a string literal, e.g. `pattern = \"^[a-z]+$\"`",
                );
                return None;
            }
        },
        ("custom", ItemValue::Eq(tokens)) => {
            let parsed = syn::parse2::<LitStr>(tokens.clone())
                .and_then(|s| s.parse::<Path>())
                .or_else(|_| syn::parse2::<Path>(tokens.clone()));
            match parsed {
                Ok(path) => ConstraintKind::Custom(path),
                Err(_) => {
                    cx.error_tokens(
                        &tokens,
                        "expected the path of a function, e.g. `custom = checks::not_blank`",
                    );
                    return None;
                }
            }
        }
        ("each", ItemValue::Group(tokens)) => match read_items.parse2(tokens) {
            Ok(items) => ConstraintKind::Each(
                items
                    .into_iter()
                    .filter_map(|i| constraint(cx, i))
                    .collect(),
            ),
            Err(e) => {
                cx.push(e);
                return None;
            }
        },
        ("range" | "length" | "each", v) => {
            cx.error(
                kw.span(),
                format!(
                    "`{name}` takes a list, e.g. `{name}(…)`, not {}",
                    v.describe()
                ),
            );
            return None;
        }
        ("pattern" | "custom", v) => {
            cx.error(
                kw.span(),
                format!(
                    "`{name}` takes a value, e.g. `{name} = …`, not {}",
                    v.describe()
                ),
            );
            return None;
        }
        _ => {
            cx.error(
                kw.span(),
                format!(
                    "unknown constraint `{name}`{}",
                    did_you_mean(&name, CONSTRAINTS)
                ),
            );
            return None;
        }
    };
    Some(Constraint { kw, kind })
}

/// The `key = value` pairs of `range(…)`/`length(…)`, unknown or repeated keys reported.
fn keyed_values(
    cx: &Ctxt,
    tokens: TokenStream,
    what: &str,
    keys: &[&str],
) -> Vec<(Ident, TokenStream)> {
    let items = match read_items.parse2(tokens) {
        Ok(items) => items,
        Err(e) => {
            cx.push(e);
            return Vec::new();
        }
    };
    let mut out: Vec<(Ident, TokenStream)> = Vec::new();
    for item in items {
        let key = item.key.to_string();
        if !keys.contains(&key.as_str()) {
            cx.error(
                item.key.span(),
                format!("unknown `{what}` bound `{key}`{}", did_you_mean(&key, keys)),
            );
            continue;
        }
        if out.iter().any(|(k, _)| *k == key) {
            cx.error(item.key.span(), format!("duplicate `{key}` in `{what}`"));
            continue;
        }
        match item.value {
            ItemValue::Eq(tokens) => out.push((item.key, tokens)),
            _ => cx.error(item.key.span(), format!("expected `{key} = <number>`")),
        }
    }
    out
}

/// `-?<int or float literal>`.
fn number(cx: &Ctxt, tokens: TokenStream) -> Option<Bound<Num>> {
    let parsed = (|input: ParseStream<'_>| {
        let neg: Option<Token![-]> = input.parse()?;
        let lit: syn::Lit = input.parse()?;
        Ok((neg.is_some(), lit))
    })
    .parse2(tokens.clone());
    let span = tokens
        .clone()
        .into_iter()
        .last()
        .map_or_else(Span::call_site, |t| t.span());
    let value = match parsed {
        Ok((neg, syn::Lit::Int(i))) => match i.base10_parse::<i128>() {
            Ok(v) => Num::Int(if neg { -v } else { v }),
            Err(_) => {
                cx.error(i.span(), "number out of range");
                return None;
            }
        },
        Ok((neg, syn::Lit::Float(f))) => match f.base10_parse::<f64>() {
            Ok(v) if v.is_finite() => Num::Float(if neg { -v } else { v }),
            _ => {
                cx.error(f.span(), "bound must be a finite number");
                return None;
            }
        },
        _ => {
            cx.error_tokens(&tokens, "expected a number literal, e.g. `0`, `-1`, `0.5`");
            return None;
        }
    };
    Some(Bound { value, span })
}

/// A non-negative integer literal (a `length` bound).
fn count(cx: &Ctxt, tokens: TokenStream) -> Option<Bound<u64>> {
    match syn::parse2::<syn::LitInt>(tokens.clone())
        .and_then(|i| i.base10_parse::<u64>().map(|v| (v, i.span())))
    {
        Ok((value, span)) => Some(Bound { value, span }),
        Err(_) => {
            cx.error_tokens(
                &tokens,
                "`length` bounds are counts: expected a non-negative integer, e.g. `1`",
            );
            None
        }
    }
}
