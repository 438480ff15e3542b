//! Parsing the user's `#[serde(…)]` attributes, as far as they decide wire
//! names and how a payload is read: what serde would do is recorded, and
//! what an event cannot follow (`flatten`, `untagged`, …) is recorded as a
//! [`SerdeNote`] for `check` to report. Malformed serde attributes are
//! serde's to report, not ours.

use proc_macro2::{Span, TokenTree};
use syn::spanned::Spanned;
use syn::{Attribute, LitStr, Token};

use crate::case::{RenameRule, RULE_NAMES};
use crate::ctxt::Ctxt;
use crate::suggest::did_you_mean;

/// Something serde accepts that an event payload cannot follow, at the
/// key's span; `check` says why.
pub(crate) enum SerdeNote {
    /// A key events do not support (`flatten`, `untagged`, `transparent`, …).
    Unsupported(String, Span),
    /// `rename(serialize = "a", deserialize = "b")` with two different names.
    SplitNames(String, Span),
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
    /// What events cannot follow, in source order.
    pub(crate) notes: Vec<SerdeNote>,
    /// `rename = "…"`: the name serde gives the struct when writing it.
    pub(crate) rename: Option<String>,
    /// A key that changes how serde writes the container beyond wire names
    /// (`into`, `bound`, `rename` in list form, …): generated code then
    /// leaves writing to serde's derive.
    pub(crate) other_ser: bool,
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
    /// What events cannot follow, in source order.
    pub(crate) notes: Vec<SerdeNote>,
    /// A key that changes how serde writes the field beyond its wire name
    /// (`skip_serializing_if`, `serialize_with`, `getter`, …): generated
    /// code then leaves writing the struct to serde's derive.
    pub(crate) other_ser: bool,
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

/// `rename = "x"` or `rename(serialize = "x", deserialize = "x")`: the
/// (first) name; two different names are noted in `notes`.
fn one_name(
    notes: &mut Vec<SerdeNote>,
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
        notes.push(SerdeNote::SplitNames(what.to_owned(), meta.path.span()));
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
    notes: &mut Vec<SerdeNote>,
    meta: &syn::meta::ParseNestedMeta<'_>,
    key: &str,
) -> syn::Result<Option<RenameRule>> {
    let Some((name, span)) = one_name(notes, meta, key)? else {
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
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !matches!(
                key.as_str(),
                "rename_all" | "deny_unknown_fields" | "rename" | "crate"
            ) {
                out.other_de = true;
            }
            if !matches!(
                key.as_str(),
                "rename_all" | "deny_unknown_fields" | "rename" | "crate" | "default"
            ) {
                out.other_ser = true;
            }
            match key.as_str() {
                "rename" if meta.input.peek(Token![=]) && meta.input.peek2(LitStr) => {
                    let lit: LitStr = meta.value()?.parse()?;
                    out.rename = Some(lit.value());
                }
                "rename" => {
                    out.other_ser = true;
                    skip_meta(&meta)?;
                }
                "rename_all" => {
                    out.has_rename_all = true;
                    if let Some(rule) = rename_rule(cx, &mut out.notes, &meta, "rename_all")? {
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
                    if let Some(rule) = rename_rule(cx, &mut out.notes, &meta, "rename_all_fields")?
                    {
                        out.rename_all_fields = Some(rule);
                    }
                }
                k if UNSUPPORTED_CONTAINER.contains(&k) => {
                    out.notes
                        .push(SerdeNote::Unsupported(k.to_owned(), meta.path.span()));
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
            let key = meta
                .path
                .get_ident()
                .map(ToString::to_string)
                .unwrap_or_default();
            if !matches!(
                key.as_str(),
                "rename" | "skip_serializing_if" | "skip_serializing" | "serialize_with"
            ) {
                out.other_de = true;
            }
            if !matches!(
                key.as_str(),
                "rename" | "default" | "alias" | "deserialize_with"
            ) {
                out.other_ser = true;
            }
            match key.as_str() {
                "rename" => out.rename = one_name(&mut out.notes, &meta, "rename")?.map(|(n, _)| n),
                "rename_all" => {
                    out.has_rename_all = true;
                    if let Some(rule) = rename_rule(cx, &mut out.notes, &meta, "rename_all")? {
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
                "untagged" | "other" | "flatten" => {
                    out.notes
                        .push(SerdeNote::Unsupported(key.clone(), meta.path.span()));
                }
                "default" => {
                    out.default = true;
                    skip_meta(&meta)?;
                }
                _ => skip_meta(&meta)?,
            }
            Ok(())
        });
    }
    out
}
