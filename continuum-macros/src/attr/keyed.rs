//! Keyed state's options on `#[continuum_event(…)]`: `key = field` (the
//! field naming the thing an event is about) and `ttl = "1h"` (forget a key
//! nobody updated for that long). Parsed here into what was written, with
//! spans; whether the field exists and fits, and whether the duration reads,
//! is `check::keyed`'s.

use proc_macro2::TokenStream;
use syn::ext::IdentExt;
use syn::{Ident, LitStr};

use super::{Item, ItemValue};
use crate::ctxt::Ctxt;

/// `key = field`, as written.
pub(crate) struct KeyArg {
    /// The field's Rust name (spanned at the value).
    pub(crate) field: Ident,
}

/// `ttl = "…"`, as written.
pub(crate) struct TtlArg {
    pub(crate) lit: LitStr,
}

/// Split the attribute's items into keyed state's and the others.
pub(crate) fn take(items: Vec<Item>) -> (Vec<Item>, Vec<Item>) {
    items
        .into_iter()
        .partition(|i| matches!(i.key.unraw().to_string().as_str(), "key" | "ttl"))
}

/// Read `key` and `ttl` (each at most once).
pub(crate) fn parse(cx: &Ctxt, items: Vec<Item>) -> (Option<KeyArg>, Option<TtlArg>) {
    let (mut key, mut ttl) = (None, None);
    for item in items {
        let name = item.key.unraw().to_string();
        let seen = match name.as_str() {
            "key" => key.is_some(),
            _ => ttl.is_some(),
        };
        if seen {
            cx.error(item.key.span(), format!("duplicate option `{name}`"));
            continue;
        }
        let ItemValue::Eq(tokens) = item.value else {
            let example = if name == "key" {
                "key = task_id"
            } else {
                "ttl = \"1h\""
            };
            cx.error(
                item.key.span(),
                format!(
                    "option `{name}` takes a value (`{example}`), not {}",
                    item.value.describe()
                ),
            );
            continue;
        };
        if name == "key" {
            key = key_field(cx, tokens);
        } else {
            ttl = ttl_lit(cx, tokens);
        }
    }
    (key, ttl)
}

fn key_field(cx: &Ctxt, tokens: TokenStream) -> Option<KeyArg> {
    // `key = "task_id"` reads as well: serde's options are strings.
    let ident = syn::parse2::<Ident>(tokens.clone()).ok().or_else(|| {
        syn::parse2::<LitStr>(tokens.clone())
            .ok()
            .and_then(|s| s.parse::<Ident>().ok())
    });
    match ident {
        Some(field) => Some(KeyArg { field }),
        None => {
            cx.error_tokens(
                &tokens,
                "`key` names one field of the struct, e.g. `key = task_id`",
            );
            None
        }
    }
}

fn ttl_lit(cx: &Ctxt, tokens: TokenStream) -> Option<TtlArg> {
    match syn::parse2::<LitStr>(tokens.clone()) {
        Ok(lit) => Some(TtlArg { lit }),
        Err(_) => {
            cx.error_tokens(
                &tokens,
                "`ttl` is a duration string: a whole number and a unit `s`, `m`, `h` or `d`, e.g. `ttl = \"1h\"`",
            );
            None
        }
    }
}
