//! Parsing, and only parsing: the attribute's arguments, `#[event(…)]`
//! options and field constraints ([`constraint`]), the user's `#[serde(…)]`
//! attributes ([`serde`], for wire names) and doc comments, into typed
//! structs. Every value keeps its span so the check stage can point at the
//! offending token.
//!
//! What cannot be read at all (an unknown key, a value of the wrong form) is
//! a parse error, recorded beside the value it belongs to
//! ([`Parsed::errors`]); whether what was read makes sense (an event name's
//! grammar, a constraint on a type it cannot apply to, a serde option events
//! do not support) is decided by `check`, which reports both in source order.

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::ext::IdentExt;
use syn::parse::{ParseStream, Parser};
use syn::{Attribute, Ident, LitStr, Path, Token};

use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;

mod constraint;
mod keyed;
mod serde;

pub(crate) use constraint::{parse_field_constraints, Bound, Constraint, ConstraintKind, Num};
pub(crate) use keyed::{KeyArg, TtlArg};
pub(crate) use serde::{serde_container, serde_field, SerdeContainer, SerdeField, SerdeNote};

/// A parsed unit (an attribute list, a field's attributes) and the errors
/// met reading it, in source order: the check stage reports them before
/// its own findings about the unit, so every error of a build comes out in
/// the order of the source.
pub(crate) struct Parsed<T> {
    pub(crate) value: T,
    pub(crate) errors: Option<syn::Error>,
}

impl<T> Parsed<T> {
    /// Run `parse` with its own error collector.
    pub(crate) fn collect(parse: impl FnOnce(&Ctxt) -> T) -> Self {
        let cx = Ctxt::new();
        let value = parse(&cx);
        Parsed {
            value,
            errors: cx.check().err(),
        }
    }
}

/// The options of `#[event(…)]` on a `#[derive(Payload)]` type.
pub(crate) const PAYLOAD_OPTIONS: &[&str] = &["crate", "deny_unknown_fields"];
/// The options of `#[continuum_event("…", …)]`: the payload's, and keyed state's.
pub(crate) const EVENT_OPTIONS: &[&str] = &[
    "crate",
    "deny_unknown_fields",
    "key",
    "ttl",
    "version",
    "upcast_from",
];
/// The options of `#[continuum_event]` that name its version (read by
/// `version_options`, not `options`).
const VERSION_OPTIONS: &[&str] = &["version", "upcast_from"];

/// `#[continuum_event("name", crate = path, deny_unknown_fields = false,
/// key = field, ttl = "1h", version = 2, upcast_from = Previous)]`.
pub(crate) struct EventArgs {
    pub(crate) name: Option<LitStr>,
    pub(crate) krate: Option<Path>,
    pub(crate) deny_unknown_fields: bool,
    /// `key = field`: the field naming what the event is about.
    pub(crate) key: Option<KeyArg>,
    /// `ttl = "1h"`: forget a key nobody updated for this long.
    pub(crate) ttl: Option<TtlArg>,
    /// `version = N`, as written.
    pub(crate) version: Option<syn::LitInt>,
    /// `upcast_from = Path`, and the key's span.
    pub(crate) upcast_from: Option<(Ident, Path)>,
}

/// One `key`, `key(…)` or `key = …` item of an attribute's argument list.
pub(crate) struct Item {
    pub(crate) key: Ident,
    pub(crate) value: ItemValue,
}

pub(crate) enum ItemValue {
    Bare,
    Group(TokenStream),
    Eq(TokenStream),
}

impl ItemValue {
    pub(crate) fn describe(&self) -> &'static str {
        match self {
            ItemValue::Bare => "nothing",
            ItemValue::Group(_) => "a list",
            ItemValue::Eq(_) => "a value",
        }
    }
}

/// Split `a, b(…), c = …` into items. Only the list's own structure can fail
/// here; each item's value is interpreted (and its errors collected) later.
pub(crate) fn read_items(input: ParseStream<'_>) -> syn::Result<Vec<Item>> {
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
pub(crate) fn parse_event_args(tokens: TokenStream) -> Parsed<EventArgs> {
    Parsed::collect(|cx| event_args(cx, tokens))
}

fn event_args(cx: &Ctxt, tokens: TokenStream) -> EventArgs {
    let mut args = EventArgs {
        name: None,
        krate: None,
        deny_unknown_fields: true,
        key: None,
        ttl: None,
        version: None,
        upcast_from: None,
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
        let items = read_items(input)?;
        let (keyed, items) = keyed::take(items);
        let (versions, items): (Vec<Item>, Vec<Item>) = items
            .into_iter()
            .partition(|i| VERSION_OPTIONS.contains(&i.key.unraw().to_string().as_str()));
        version_options(cx, versions, &mut args);
        let (krate, deny) = options(cx, items, "continuum_event", EVENT_OPTIONS);
        (args.key, args.ttl) = keyed::parse(cx, keyed);
        args.krate = krate;
        args.deny_unknown_fields = deny;
        Ok(())
    };
    if let Err(e) = parser.parse2(tokens) {
        cx.push(e);
    }
    args
}

/// `version = N` and `upcast_from = Path` (what they mean is `check`'s).
fn version_options(cx: &Ctxt, items: Vec<Item>, args: &mut EventArgs) {
    for item in items {
        let key = item.key.unraw().to_string();
        let tokens = match item.value {
            ItemValue::Eq(tokens) => tokens,
            v => {
                cx.error(
                    item.key.span(),
                    format!(
                        "option `{key}` takes a value (`{key} = …`), not {}",
                        v.describe()
                    ),
                );
                continue;
            }
        };
        let taken = match key.as_str() {
            "version" => args.version.is_some(),
            _ => args.upcast_from.is_some(),
        };
        if taken {
            cx.error(item.key.span(), format!("duplicate option `{key}`"));
            continue;
        }
        if key == "version" {
            match syn::parse2::<syn::LitInt>(tokens.clone()) {
                Ok(n) => args.version = Some(n),
                Err(_) => cx.error_tokens(&tokens, "expected a version number, e.g. `version = 2`"),
            }
        } else {
            match syn::parse2::<Path>(tokens.clone()) {
                Ok(path) => args.upcast_from = Some((item.key, path)),
                Err(_) => cx.error_tokens(
                    &tokens,
                    "expected the previous version's struct, e.g. `upcast_from = ProgressV1`",
                ),
            }
        }
    }
}

/// `crate = path` and `deny_unknown_fields = bool`, shared by the attribute
/// and `#[event(…)]` on a `#[derive(Payload)]` type.
fn options(cx: &Ctxt, items: Vec<Item>, what: &str, known: &[&str]) -> (Option<Path>, bool) {
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
                    did_you_mean(&key, known)
                ),
            ),
        }
    }
    (krate, deny)
}

/// `#[event(crate = …, deny_unknown_fields = …)]` on a `#[derive(Payload)]`
/// type: the crate path (if given) and whether unknown fields are denied.
pub(crate) fn parse_payload_options(attrs: &[Attribute]) -> Parsed<(Option<Path>, bool)> {
    Parsed::collect(|cx| payload_options(cx, attrs))
}

fn payload_options(cx: &Ctxt, attrs: &[Attribute]) -> (Option<Path>, bool) {
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
                let (k, d) = options(cx, items, "Payload", PAYLOAD_OPTIONS);
                krate = k.or(krate);
                deny &= d;
            }
            Err(e) => cx.push(e),
        }
    }
    (krate, deny)
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
