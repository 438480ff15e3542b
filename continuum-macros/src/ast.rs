//! The item being expanded, parsed: the container's, every field's and every
//! variant's attributes read into typed structs (see [`crate::attr`]), beside
//! the syntax they came from. Nothing here judges the input; `check` does,
//! and turns an [`Input`] into the model generation reads.

use syn::punctuated::Punctuated;
use syn::{Attribute, Data as SynData, DeriveInput, Path, Token};

use crate::attr::{self, Constraint, Parsed, SerdeContainer, SerdeField};

pub(crate) struct Input<'a> {
    pub(crate) item: &'a DeriveInput,
    pub(crate) serde: Parsed<SerdeContainer>,
    /// `#[event(crate = …, deny_unknown_fields = …)]` (a `#[derive(Payload)]`
    /// type's options).
    pub(crate) options: Parsed<(Option<Path>, bool)>,
    pub(crate) docs: String,
    /// `#[continuum_event]` written again on the item.
    pub(crate) repeated: Vec<&'a Attribute>,
    /// Derives of a trait `#[continuum_event]` implements itself, with the
    /// trait's name.
    pub(crate) our_derives: Vec<(Path, &'static str)>,
    pub(crate) data: Data<'a>,
}

pub(crate) enum Data<'a> {
    /// A struct: its fields (of any style) with their attributes.
    Struct(&'a syn::Fields, Vec<Field<'a>>),
    Enum(&'a syn::DataEnum, Vec<Variant<'a>>),
    Union(&'a syn::DataUnion),
}

pub(crate) struct Field<'a> {
    pub(crate) syn: &'a syn::Field,
    pub(crate) serde: Parsed<SerdeField>,
    pub(crate) constraints: Parsed<Vec<Constraint>>,
    pub(crate) docs: String,
}

pub(crate) struct Variant<'a> {
    pub(crate) syn: &'a syn::Variant,
    pub(crate) serde: Parsed<SerdeField>,
    /// `#[event(…)]` on the variant itself.
    pub(crate) event_attrs: Vec<&'a Attribute>,
    pub(crate) fields: Vec<Field<'a>>,
    pub(crate) docs: String,
}

impl<'a> Input<'a> {
    pub(crate) fn parse(item: &'a DeriveInput) -> Self {
        let data = match &item.data {
            SynData::Struct(s) => Data::Struct(&s.fields, fields(&s.fields)),
            SynData::Enum(e) => Data::Enum(e, e.variants.iter().map(variant).collect()),
            SynData::Union(u) => Data::Union(u),
        };
        Input {
            item,
            serde: Parsed::collect(|cx| attr::serde_container(cx, &item.attrs)),
            options: attr::parse_payload_options(&item.attrs),
            docs: attr::docs(&item.attrs),
            repeated: item.attrs.iter().filter(|a| is_event_attr(a)).collect(),
            our_derives: our_derives(&item.attrs),
            data,
        }
    }
}

fn fields(fields: &syn::Fields) -> Vec<Field<'_>> {
    fields
        .iter()
        .map(|f| Field {
            syn: f,
            serde: Parsed::collect(|cx| attr::serde_field(cx, &f.attrs)),
            constraints: Parsed::collect(|cx| attr::parse_field_constraints(cx, &f.attrs)),
            docs: attr::docs(&f.attrs),
        })
        .collect()
}

fn variant(v: &syn::Variant) -> Variant<'_> {
    Variant {
        syn: v,
        serde: Parsed::collect(|cx| attr::serde_field(cx, &v.attrs)),
        event_attrs: v
            .attrs
            .iter()
            .filter(|a| a.path().is_ident("event"))
            .collect(),
        fields: fields(&v.fields),
        docs: attr::docs(&v.attrs),
    }
}

fn last_segment_is(path: &Path, name: &str) -> bool {
    path.segments.last().is_some_and(|s| s.ident == name)
}

/// `#[continuum_event]`, however it is spelled.
pub(crate) fn is_event_attr(a: &Attribute) -> bool {
    last_segment_is(a.path(), "continuum_event")
}

/// The paths of a `#[derive(…)]`, or `None` for another attribute (or one
/// that does not parse: the compiler reports it).
pub(crate) fn derive_paths(a: &Attribute) -> Option<Punctuated<Path, Token![,]>> {
    if !a.path().is_ident("derive") {
        return None;
    }
    a.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
        .ok()
}

/// The trait a derive path names when `#[continuum_event]` implements it too.
pub(crate) fn our_derive(path: &Path) -> Option<&'static str> {
    ["Serialize", "Deserialize", "Payload"]
        .into_iter()
        .find(|n| last_segment_is(path, n))
}

fn our_derives(attrs: &[Attribute]) -> Vec<(Path, &'static str)> {
    attrs
        .iter()
        .filter_map(derive_paths)
        .flatten()
        .filter_map(|p| our_derive(&p).map(|name| (p, name)))
        .collect()
}
