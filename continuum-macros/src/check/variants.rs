//! The model of a `#[derive(Payload)]` enum: a string union when every
//! variant is a unit and there is no tag, else a tagged enum in one of
//! serde's representations, each variant checked like a struct.

use syn::ext::IdentExt;
use syn::Fields;

use super::{field, named_fields, parse_errors, serde_notes};
use crate::ast;
use crate::attr::SerdeContainer;
use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::model::{Repr, Shape, Tagged, Variant, VariantKind};

/// The enum's shape, or `None` when a variant cannot be described.
pub(super) fn build(
    cx: &Ctxt,
    enum_variants: Vec<ast::Variant<'_>>,
    serde: &SerdeContainer,
    rule: Option<RenameRule>,
) -> Option<Shape> {
    let repr = match (&serde.tag, &serde.content) {
        (None, _) => Repr::External,
        (Some(tag), None) => Repr::Internal(tag.value()),
        (Some(tag), Some(content)) => {
            if tag.value() == content.value() {
                cx.error(
                    content.span(),
                    format!("`tag` and `content` are both `{}`; give the content another name, e.g. `content = \"data\"`", tag.value()),
                );
                return None;
            }
            Repr::Adjacent(tag.value(), content.value())
        }
    };
    let mut ok = true;
    let mut variants = Vec::new();
    for v in enum_variants {
        parse_errors(cx, &v.serde);
        serde_notes(cx, &v.serde.value.notes, false);
        let sf = &v.serde.value;
        for a in &v.event_attrs {
            cx.error_tokens(
                a,
                "`#[event(…)]` constraints go on a variant's fields, not on the variant",
            );
        }
        if sf.skip {
            continue;
        }
        let syn_v = v.syn;
        let raw = syn_v.ident.unraw().to_string();
        let wire = sf
            .rename
            .clone()
            .unwrap_or_else(|| rule.map_or_else(|| raw.clone(), |r| r.apply_to_variant(&raw)));
        // A struct variant's fields: its own `rename_all`, else the enum's
        // `rename_all_fields`, else camelCase like every payload.
        let fields_rule = if sf.has_rename_all {
            sf.rename_all
        } else {
            serde.rename_all_fields.or(Some(RenameRule::Camel))
        };
        let (has_rename_all, docs) = (sf.has_rename_all, v.docs);
        let kind = match &syn_v.fields {
            Fields::Unit => VariantKind::Unit,
            Fields::Named(_) => VariantKind::Struct(named_fields(cx, v.fields, fields_rule, false)),
            Fields::Unnamed(unnamed) if unnamed.unnamed.len() == 1 => {
                // Internally tagged, serde merges the tag into the value,
                // so it must be a struct: checked by a trait bound
                // (expand/tagged.rs).
                let one = v.fields.into_iter().next()?;
                match field(cx, one, None, String::new(), false) {
                    Some(field) => VariantKind::Newtype(Box::new(field)),
                    None => VariantKind::Unit,
                }
            }
            Fields::Unnamed(unnamed) => {
                cx.error_tokens(
                    unnamed,
                    format!("variant `{raw}` has {} unnamed fields: a payload names every value; use a struct variant `{raw} {{ name: Type, … }}`", unnamed.unnamed.len()),
                );
                ok = false;
                continue;
            }
        };
        variants.push(Variant {
            ident: syn_v.ident.clone(),
            wire,
            docs,
            add_rename_all: matches!(syn_v.fields, Fields::Named(_))
                && !has_rename_all
                && serde.rename_all_fields.is_none(),
            kind,
        });
    }
    if !ok {
        return None;
    }
    let unit_only = variants.iter().all(|v| matches!(v.kind, VariantKind::Unit));
    Some(if unit_only && matches!(repr, Repr::External) {
        Shape::Enum(variants.into_iter().map(|v| (v.ident, v.wire)).collect())
    } else {
        Shape::Tagged(Tagged { repr, variants })
    })
}
