//! Keyed state's options against the struct: `key = field` names a field
//! that is on the wire and always present (its type is asserted to be a key
//! type by generated code, at the field's type: only the compiler knows
//! whether a path names an enum), and `ttl = "…"` reads as a positive
//! duration.

use syn::ext::IdentExt;
use syn::DeriveInput;

use crate::attr::{KeyArg, TtlArg};
use crate::ctxt::Ctxt;
use crate::model::{Keyed, Model, Shape};
use crate::suggest::did_you_mean;
use crate::ty;

/// Check `key` and `ttl` against the checked `model` of `item`, and record
/// them in it.
pub(crate) fn check(
    cx: &Ctxt,
    item: &DeriveInput,
    key: Option<KeyArg>,
    ttl: Option<TtlArg>,
    model: Option<&mut Model>,
) {
    let ttl_secs = ttl.as_ref().and_then(|t| ttl_secs(cx, t));
    let Some(key) = key else {
        if let Some(t) = &ttl {
            cx.error(
                t.lit.span(),
                "`ttl` is how long a key lives, and this event has none: add `key = field` naming the field that identifies what the event is about, or remove `ttl`",
            );
        }
        return;
    };
    let name = key.field.unraw().to_string();
    let fields = match model.as_ref().map(|m| &m.shape) {
        Some(Shape::Named(fields)) => fields,
        Some(_) => {
            cx.error(
                key.field.span(),
                "a unit event has no field to key by; remove `key`, or add the field",
            );
            return;
        }
        // The item's shape is wrong: reported already.
        None => return,
    };
    let found = fields
        .iter()
        .find(|f| f.ident.as_ref().is_some_and(|i| i.unraw() == name));
    let Some(field) = found else {
        let all: Vec<String> = match &item.data {
            syn::Data::Struct(s) => s
                .fields
                .iter()
                .filter_map(|f| f.ident.as_ref().map(|i| i.unraw().to_string()))
                .collect(),
            _ => Vec::new(),
        };
        if all.contains(&name) {
            cx.error(
                key.field.span(),
                format!("key field `{name}` is skipped by serde, so events would reach the wire without their key; key by a field that is serialized"),
            );
        } else {
            let candidates: Vec<&str> = all.iter().map(String::as_str).collect();
            cx.error(
                key.field.span(),
                format!(
                    "`{}` has no field `{name}` to key by{}",
                    item.ident,
                    did_you_mean(&name, &candidates)
                ),
            );
        }
        return;
    };
    if let Some(inner) = ty::option_inner(&field.ty) {
        cx.error(
            key.field.span(),
            format!(
                "key field `{name}` is optional (`{}`), but every event needs its key; make the field `{}`",
                ty::type_name(&field.ty),
                ty::type_name(inner)
            ),
        );
        return;
    }
    let keyed = Keyed {
        ident: key.field.clone(),
        ty: field.ty.clone(),
        wire: field.wire.clone(),
        ttl_secs,
    };
    if let Some(m) = model {
        m.keyed = Some(keyed);
    }
}

/// `"90s"`, `"15m"`, `"1h"`, `"7d"` in seconds; errors at the literal.
fn ttl_secs(cx: &Ctxt, ttl: &TtlArg) -> Option<u64> {
    let text = ttl.lit.value();
    let digits = text.bytes().take_while(u8::is_ascii_digit).count();
    let (number, unit) = text.split_at(digits);
    let fix = "write a whole number and a unit `s`, `m`, `h` or `d`, e.g. `ttl = \"1h\"`";
    let scale = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ if number.is_empty() => {
            cx.error(
                ttl.lit.span(),
                format!("`ttl = \"{text}\"` is not a duration; {fix}"),
            );
            return None;
        }
        _ => {
            cx.error(
                ttl.lit.span(),
                format!("`ttl = \"{text}\"` has an unknown unit `{unit}`; {fix}"),
            );
            return None;
        }
    };
    let Some(secs) = number
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(scale))
    else {
        cx.error(
            ttl.lit.span(),
            format!("`ttl = \"{text}\"` is not a duration; {fix}"),
        );
        return None;
    };
    if secs == 0 {
        cx.error(
            ttl.lit.span(),
            "`ttl` must be longer than zero; to keep keys until they are forgotten or evicted, remove it",
        );
        return None;
    }
    Some(secs)
}
