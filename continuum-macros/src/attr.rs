//! Parsing: the attribute's arguments, `#[event(…)]` field constraints, the
//! user's `#[serde(…)]` attributes (for wire names) and doc comments. Every
//! value keeps its span so errors point at the offending token.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::case::{RenameRule, RULE_NAMES};
use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;

pub(crate) const EVENT_OPTIONS: &[&str] = &["crate", "deny_unknown_fields"];
pub(crate) const CONSTRAINTS: &[&str] = &["range", "length", "pattern", "custom", "each"];
const RANGE_KEYS: &[&str] = &["min", "max", "exclusive_min", "exclusive_max"];
const LENGTH_KEYS: &[&str] = &["min", "max"];

/// `#[continuum_event("name", crate = path, deny_unknown_fields = false)]`.
pub(crate) struct EventArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) krate: Option<Path>,
    pub(crate) deny_unknown_fields: bool,
}

/// One `key`, `key(…)` or `key = …` item of an attribute's argument list.
struct Item {
    key: Ident,
    value: ItemValue,
}

enum ItemValue {
    Bare,
    Group(TokenStream),
    Eq(TokenStream),
}

impl ItemValue {
    fn describe(&self) -> &'static str {
        match self {
            ItemValue::Bare => "nothing",
            ItemValue::Group(_) => "a list",
            ItemValue::Eq(_) => "a value",
        }
    }
}

/// Split `a, b(…), c = …` into items. Only the list's own structure can fail
/// here; each item's value is interpreted (and its errors collected) later.
fn read_items(input: ParseStream<'_>) -> syn::Result<Vec<Item>> {
    let mut items = Vec::new();
    while !input.is_empty() {
        let key = match Ident::parse_any(input) {
            Ok(key) => key,
            Err(_) => {
                let tt: TokenTree = input.parse()?;
                return Err(syn::Error::new(
                    tt.span(),
                    "expected a name here, like `range(min = 0)`",
                ));
            }
        };
        let value = if input.peek(syn::token::Paren) {
            let content;
            syn::parenthesized!(content in input);
            ItemValue::Group(content.parse()?)
        } else if input.peek(Token![=]) {
            let eq: Token![=] = input.parse()?;
            let mut tokens = TokenStream::new();
            while !input.is_empty() && !input.peek(Token![,]) {
                tokens.extend([input.parse::<TokenTree>()?]);
            }
            if tokens.is_empty() {
                return Err(syn::Error::new(
                    eq.span,
                    format!("expected a value after `{key} =`"),
                ));
            }
            ItemValue::Eq(tokens)
        } else {
            ItemValue::Bare
        };
        items.push(Item { key, value });
        if !input.is_empty() {
            input.parse::<Token![,]>()?;
        }
    }
    Ok(items)
}

/// Parse the arguments of `#[continuum_event(…)]`.
pub(crate) fn parse_event_args(cx: &Ctxt, tokens: TokenStream) -> EventArgs {
    let mut args = EventArgs {
        name: None,
        krate: None,
        deny_unknown_fields: true,
    };
    let parser = |input: ParseStream<'_>| -> syn::Result<()> {
        if input.is_empty() {
            cx.error(
                Span::call_site(),
                "missing event name; write it as a string literal, e.g. `#[continuum_event(\"ai.task.progress\")]`",
            );
            return Ok(());
        }
        if input.peek(LitStr) {
            let name: LitStr = input.parse()?;
            crate::check::event_name(cx, &name);
            args.name = Some(name);
            if !input.is_empty() {
                input.parse::<Token![,]>()?;
            }
        } else {
            // Not a string: report it and, when it looks like an option, read on.
            let fork = input.fork();
            let is_option = Ident::parse_any(&fork).is_ok() && fork.peek(Token![=]);
            if is_option {
                cx.error(
                    input.span(),
                    "missing event name; it comes first, as a string literal, e.g. `#[continuum_event(\"ai.task.progress\", …)]`",
                );
            } else {
                let mut tokens = TokenStream::new();
                while !input.is_empty() && !input.peek(Token![,]) {
                    tokens.extend([input.parse::<TokenTree>()?]);
                }
                cx.error_tokens(
                    &tokens,
                    "the event name must be a string literal, e.g. `#[continuum_event(\"ai.task.progress\")]`",
                );
                if !input.is_empty() {
                    input.parse::<Token![,]>()?;
                }
            }
        }
        let (krate, deny) = options(cx, read_items(input)?, "continuum_event");
        args.krate = krate;
        args.deny_unknown_fields = deny;
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        cx.push(e);
    }
    args
}

/// `crate = path` and `deny_unknown_fields = bool`, shared by the attribute
/// and `#[event(…)]` on a `#[derive(Payload)]` type.
fn options(cx: &Ctxt, items: Vec<Item>, what: &str) -> (Option<Path>, bool) {
    let (mut krate, mut deny) = (None, true);
    let mut seen: Vec<String> = Vec::new();
    for item in items {
        let key = item.key.unraw().to_string();
        if seen.contains(&key) {
            cx.error(item.key.span(), format!("duplicate option `{key}`"));
            continue;
        }
        seen.push(key.clone());
        match (key.as_str(), item.value) {
            ("crate", ItemValue::Eq(tokens)) => {
                let parsed = syn::parse2::<LitStr>(tokens.clone())
                    .and_then(|s| s.parse::<Path>())
                    .or_else(|_| syn::parse2::<Path>(tokens.clone()));
                match parsed {
                    Ok(path) => krate = Some(path),
                    Err(_) => {
                        cx.error_tokens(&tokens, "expected a path, e.g. `crate = my_continuum`")
                    }
                }
            }
            ("deny_unknown_fields", ItemValue::Eq(tokens)) => {
                match syn::parse2::<syn::LitBool>(tokens.clone()) {
                    Ok(b) => deny = b.value,
                    Err(_) => cx.error_tokens(&tokens, "expected `true` or `false`"),
                }
            }
            ("crate" | "deny_unknown_fields", v) => cx.error(
                item.key.span(),
                format!(
                    "option `{key}` takes a value (`{key} = …`), not {}",
                    v.describe()
                ),
            ),
            _ => cx.error(
                item.key.span(),
                format!(
                    "unknown `{what}` option `{key}`{}",
                    did_you_mean(&key, EVENT_OPTIONS)
                ),
            ),
        }
    }
    (krate, deny)
}

/// `#[event(crate = …, deny_unknown_fields = …)]` on a `#[derive(Payload)]` type.
pub(crate) fn parse_payload_options(cx: &Ctxt, attrs: &[Attribute]) -> (Option<Path>, bool) {
    let (mut krate, mut deny) = (None, true);
    for attr in attrs.iter().filter(|a| a.path().is_ident("event")) {
        let syn::Meta::List(list) = &attr.meta else {
            cx.error_tokens(
                attr,
                "expected options in parentheses, e.g. `#[event(deny_unknown_fields = false)]`",
            );
            continue;
        };
        match read_items.parse2(list.tokens.clone()) {
            Ok(items) => {
                let (k, d) = options(cx, items, "Payload");
                krate = k.or(krate);
                deny &= d;
            }
            Err(e) => cx.push(e),
        }
    }
    (krate, deny)
}

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

/// What the user's `#[serde(…)]` on the container says about wire names.
#[derive(Default)]
pub(crate) struct SerdeContainer {
    pub(crate) rename_all: Option<RenameRule>,
    /// The user wrote `rename_all`: do not add the camelCase default.
    pub(crate) has_rename_all: bool,
    pub(crate) deny_unknown_fields: bool,
    pub(crate) default: bool,
    /// `tag = "…"`, with the literal (errors on a struct point at it).
    pub(crate) tag: Option<LitStr>,
    /// `content = "…"`.
    pub(crate) content: Option<LitStr>,
    /// `rename_all_fields = "…"` (an enum's struct variants' fields).
    pub(crate) rename_all_fields: Option<RenameRule>,
    /// A key that changes how serde reads the container beyond wire names
    /// and unknown fields (`default`, `from`, …): generated code then leaves
    /// reading to serde's derive.
    pub(crate) other_de: bool,
}

/// What the user's `#[serde(…)]` on a field or variant says.
#[derive(Default)]
pub(crate) struct SerdeField {
    pub(crate) rename: Option<String>,
    pub(crate) skip: bool,
    pub(crate) default: bool,
    /// The user decides how it is written (`with`, `serialize_with`,
    /// `skip_serializing`): generated code leaves it alone.
    pub(crate) own_serialize: bool,
    /// The user decides how it is read (`with`, `deserialize_with`).
    pub(crate) own_deserialize: bool,
    /// On a variant: `rename_all = "…"` for its fields.
    pub(crate) rename_all: Option<RenameRule>,
    pub(crate) has_rename_all: bool,
    /// A key that changes how serde reads the field beyond its wire name
    /// (`default`, `alias`, `with`, …): generated code then leaves reading
    /// the struct to serde's derive.
    pub(crate) other_de: bool,
}

/// Skip an attribute value we do not interpret (serde checks it itself).
fn skip_meta(meta: &syn::meta::ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        let value = meta.value()?;
        while !value.is_empty() && !value.peek(Token![,]) {
            value.parse::<TokenTree>()?;
        }
    } else if meta.input.peek(syn::token::Paren) {
        meta.parse_nested_meta(|m| skip_meta(&m))?;
    }
    Ok(())
}

/// `rename = "x"` or `rename(serialize = "x", deserialize = "x")`: one name or an error.
fn one_name(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
    what: &str,
) -> syn::Result<Option<(String, Span)>> {
    if meta.input.peek(Token![=]) {
        let lit: LitStr = meta.value()?.parse()?;
        return Ok(Some((lit.value(), lit.span())));
    }
    let mut names: Vec<(String, Span)> = Vec::new();
    meta.parse_nested_meta(|m| {
        let lit: LitStr = m.value()?.parse()?;
        names.push((lit.value(), lit.span()));
        Ok(())
    })?;
    if names.len() == 2 && names[0].0 != names[1].0 {
        cx.error(
            meta.path.span(),
            format!("`{what}` with different serialize and deserialize names is not supported: an event has one wire name per field"),
        );
    }
    Ok(names.into_iter().next())
}

/// Shapes serde can produce that an event schema cannot describe.
const UNSUPPORTED_CONTAINER: &[&str] = &[
    "transparent",
    "untagged",
    "from",
    "try_from",
    "into",
    "remote",
];

/// A `rename_all`-style rule: `None` when absent or unknown (the unknown
/// one is reported, with the nearest known rule).
fn rename_rule(
    cx: &Ctxt,
    meta: &syn::meta::ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<Option<RenameRule>> {
    let Some((name, span)) = one_name(cx, meta, key)? else {
        return Ok(None);
    };
    let rule = RenameRule::from_str(&name);
    if rule.is_none() {
        cx.error(
            span,
            format!(
                "unknown `{key}` rule `{name}`{}",
                did_you_mean(&name, RULE_NAMES)
            ),
        );
    }
    Ok(rule)
}

pub(crate) fn serde_container(cx: &Ctxt, attrs: &[Attribute]) -> SerdeContainer {
    let mut out = SerdeContainer::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        // Malformed serde attributes are serde's to report: ignore parse errors.
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            if !matches!(
                key.as_str(),
                "rename_all" | "deny_unknown_fields" | "rename" | "crate"
            ) {
                out.other_de = true;
            }
            match key.as_str() {
                "rename_all" => {
                    out.has_rename_all = true;
                    if let Some(rule) = rename_rule(cx, &meta, "rename_all")? {
                        out.rename_all = Some(rule);
                    }
                }
                "deny_unknown_fields" => out.deny_unknown_fields = true,
                "default" => {
                    out.default = true;
                    skip_meta(&meta)?;
                }
                "tag" => out.tag = Some(meta.value()?.parse()?),
                "content" => out.content = Some(meta.value()?.parse()?),
                "rename_all_fields" => {
                    if let Some(rule) = rename_rule(cx, &meta, "rename_all_fields")? {
                        out.rename_all_fields = Some(rule);
                    }
                }
                k if UNSUPPORTED_CONTAINER.contains(&k) => {
                    cx.error(
                        meta.path.span(),
                        format!("`#[serde({k})]` is not supported on Continuum payloads: the schema and validation paths could not follow it"),
                    );
                    skip_meta(&meta)?;
                }
                _ => skip_meta(&meta)?,
            }
            Ok(())
        });
    }
    out
}

pub(crate) fn serde_field(cx: &Ctxt, attrs: &[Attribute]) -> SerdeField {
    let mut out = SerdeField::default();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            let key = meta.path.get_ident().map(ToString::to_string).unwrap_or_default();
            if !matches!(
                key.as_str(),
                "rename" | "skip_serializing_if" | "skip_serializing" | "serialize_with"
            ) {
                out.other_de = true;
            }
            match key.as_str() {
                "rename" => out.rename = one_name(cx, &meta, "rename")?.map(|(n, _)| n),
                "rename_all" => {
                    out.has_rename_all = true;
                    if let Some(rule) = rename_rule(cx, &meta, "rename_all")? {
                        out.rename_all = Some(rule);
                    }
                }
                "skip" | "skip_deserializing" => out.skip = true,
                "with" => {
                    out.own_serialize = true;
                    out.own_deserialize = true;
                    skip_meta(&meta)?;
                }
                "serialize_with" | "skip_serializing" => {
                    out.own_serialize = true;
                    skip_meta(&meta)?;
                }
                "deserialize_with" => {
                    out.own_deserialize = true;
                    skip_meta(&meta)?;
                }
                "untagged" | "other" => cx.error(
                    meta.path.span(),
                    format!("`#[serde({key})]` on a variant is not supported on Continuum payloads: the schema could not tell which variant a value is; give every variant a name"),
                ),
                "default" => {
                    out.default = true;
                    skip_meta(&meta)?;
                }
                "flatten" => cx.error(
                    meta.path.span(),
                    "`#[serde(flatten)]` is not supported on Continuum payloads: declare the fields directly, or nest the struct under a field",
                ),
                _ => skip_meta(&meta)?,
            }
            Ok(())
        });
    }
    out
}

/// The `///` doc comment, each line's leading space removed, trimmed.
pub(crate) fn docs(attrs: &[Attribute]) -> String {
    let mut lines = Vec::new();
    for attr in attrs {
        if !attr.path().is_ident("doc") {
            continue;
        }
        if let syn::Meta::NameValue(nv) = &attr.meta {
            if let syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) = &nv.value
            {
                let line = s.value();
                lines.push(
                    line.strip_prefix(' ')
                        .unwrap_or(&line)
                        .trim_end()
                        .to_owned(),
                );
            }
        }
    }
    lines.join("\n").trim().to_owned()
}
