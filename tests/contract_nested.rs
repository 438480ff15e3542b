//! The compatibility rules inside values (issue 18): nested structs, enums
//! with data (tags, representations, variant fields), maps, sets, fixed
//! arrays, string formats, any-JSON values, recursive types, and changes
//! that are only cosmetic. Each pair is two real declarations; the whole
//! report is asserted.
#![allow(missing_docs)]

#[macro_use]
mod contract_support;

use contract_support::{judge, report};

mod types {
    pub mod a {
        use continuum_runtime::prelude::*;

        #[derive(Payload, Debug)]
        pub struct File {
            pub name: String,
            pub size: u32,
        }

        #[derive(Payload, Debug)]
        #[serde(tag = "kind")]
        pub enum Stage {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        pub enum Ext {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        pub struct Node {
            pub label: String,
            pub children: Vec<Node>,
        }
    }

    pub mod b {
        use continuum_runtime::prelude::*;

        /// Docs that were not there before.
        #[derive(Payload, Debug)]
        pub struct File {
            pub name: String,
        }

        #[derive(Payload, Debug)]
        #[serde(tag = "kind")]
        pub enum Stage {
            Queued,
            Failed { reason: String, code: u16 },
        }

        #[derive(Payload, Debug)]
        #[serde(tag = "type")]
        pub enum Retagged {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        #[serde(tag = "kind")]
        pub enum Internal {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        pub struct Node {
            pub label: String,
            pub children: Vec<Node>,
            pub weight: u8,
        }
    }

    pub mod renamed {
        use continuum_runtime::prelude::*;

        /// The same wire shape as `a::File` under another Rust name.
        #[derive(Payload, Debug)]
        pub struct Attachment {
            /// Now documented.
            pub size: u32,
            pub name: String,
        }
    }
}

pair!(nested_field:
    old { #[continuum_event("t.e")] pub struct E { pub files: Vec<crate::types::a::File> } }
    new { #[continuum_event("t.e")] pub struct E { pub files: Vec<crate::types::b::File> } });

#[test]
fn a_nested_struct_field_is_judged_at_its_wire_path() {
    judge::<nested_field::old::E, nested_field::new::E>(&[
        "breaking both t.e data.files[].size: field removed; every old worker sends `size` and would get 422 `unknown_field`; old readers require `size`, which new events lack",
    ]);
}

pair!(cosmetic:
old { #[continuum_event("t.e")] pub struct E { pub id: String, pub file: crate::types::a::File } }
new {
    /// Now documented.
    #[continuum_event("t.e")]
    pub struct E {
        /// The file, under a new Rust name and field order.
        pub file: crate::types::renamed::Attachment,
        /// Its id.
        pub id: String,
    }
});

#[test]
fn docs_field_order_and_def_names_are_cosmetic() {
    let report = report::<cosmetic::old::E, cosmetic::new::E>();
    assert!(report.is_empty(), "{report}");
    assert_ne!(
        contract_support::contract::<cosmetic::old::E>().to_json(),
        contract_support::contract::<cosmetic::new::E>().to_json(),
        "the texts differ (docs, $defs names), the contracts do not"
    );
}

pair!(variant_field:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::a::Stage } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::b::Stage } });

#[test]
fn a_variant_field_is_judged_inside_its_variant() {
    judge::<variant_field::old::E, variant_field::new::E>(&[
        "breaking backward t.e data.stage[kind=failed].code: required field added; old workers that do not send `code` get 422 `required`",
    ]);
}

pair!(retagged:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::a::Stage } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::b::Retagged } });

pair!(externally:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::a::Ext } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::types::b::Internal } });

#[test]
fn a_changed_tag_or_representation_breaks_both() {
    judge::<retagged::old::E, retagged::new::E>(&[
        "breaking both t.e data.stage: enum representation changed from tagged by `kind` to tagged by `type`; old workers' values are in the old shape and get 422 `type`; old readers cannot read the new shape",
    ]);
    judge::<externally::old::E, externally::new::E>(&[
        "breaking both t.e data.stage: enum representation changed from externally tagged to tagged by `kind`; old workers' values are in the old shape and get 422 `type`; old readers cannot read the new shape",
    ]);
}

pair!(recursive:
    old { #[continuum_event("t.e")] pub struct E { pub root: crate::types::a::Node } }
    new { #[continuum_event("t.e")] pub struct E { pub root: crate::types::b::Node } });

#[test]
fn a_recursive_type_is_walked_once() {
    judge::<recursive::old::E, recursive::new::E>(&[
        "breaking backward t.e data.root.weight: required field added; old workers that do not send `weight` get 422 `required`",
    ]);
}

pair!(map_values:
    old { #[continuum_event("t.e")] pub struct E { pub by_owner: std::collections::HashMap<String, u8> } }
    new { #[continuum_event("t.e")] pub struct E { pub by_owner: std::collections::HashMap<String, u16> } });

#[test]
fn map_values_are_judged_at_star() {
    judge::<map_values::old::E, map_values::new::E>(&[
        "breaking forward t.e data.byOwner.*: type changed from u8 to u16; old readers hold u8 (0..=255); new writers may send values outside it",
    ]);
}

pair!(sets:
    old { #[continuum_event("t.e")] pub struct E { pub tags: Vec<String> } }
    new { #[continuum_event("t.e")] pub struct E { pub tags: std::collections::BTreeSet<String> } });

#[test]
fn a_list_becoming_a_set_breaks_backward_and_back_forward() {
    judge::<sets::old::E, sets::new::E>(&[
        "breaking backward t.e data.tags: items must now be unique (a set); old workers sending duplicates get 422 `type`",
    ]);
    judge::<sets::new::E, sets::old::E>(&[
        "breaking forward t.e data.tags: items no longer unique (was a set); old readers' sets refuse duplicates, which new writers may send",
    ]);
}

pair!(fixed:
    old { #[continuum_event("t.e")] pub struct E { pub rgb: [u8; 3] } }
    new { #[continuum_event("t.e")] pub struct E { pub rgb: [u8; 4] } });

pair!(unfixed:
    old { #[continuum_event("t.e")] pub struct E { pub rgb: [u8; 3] } }
    new { #[continuum_event("t.e")] pub struct E { pub rgb: Vec<u8> } });

#[test]
fn a_fixed_array_is_a_type_for_readers() {
    judge::<fixed::old::E, fixed::new::E>(&[
        "breaking both t.e data.rgb: length changed from 3..=3 to 4..=4; old workers sending a length outside 4..=4 get 422 `type`; old readers hold a fixed-size array `[_; 3]`",
    ]);
    judge::<unfixed::old::E, unfixed::new::E>(&[
        "breaking forward t.e data.rgb: length changed from 3..=3 to any; old readers hold a fixed-size array `[_; 3]`",
    ]);
}

pair!(formats:
    old { #[continuum_event("t.e")] pub struct E { pub id: String } }
    new { #[continuum_event("t.e")] pub struct E { pub id: uuid::Uuid } });

#[test]
fn a_string_format_narrows_backward_and_widens_forward() {
    judge::<formats::old::E, formats::new::E>(&[
        "breaking backward t.e data.id: string format changed from any string to uuid; old workers sending a string that is not uuid get 422 `type`",
    ]);
    judge::<formats::new::E, formats::old::E>(&[
        "breaking forward t.e data.id: string format changed from uuid to any string; old readers parse uuid; new writers may send other strings",
    ]);
}

pair!(any_json:
    old { #[continuum_event("t.e")] pub struct E { pub meta: serde_json::Value } }
    new { #[continuum_event("t.e")] pub struct E { pub meta: String } });

#[test]
fn any_json_narrowed_breaks_backward_widened_forward() {
    judge::<any_json::old::E, any_json::new::E>(&[
        "breaking backward t.e data.meta: type narrowed from any JSON value to a string; old workers sending other values get 422 `type`",
    ]);
    judge::<any_json::new::E, any_json::old::E>(&[
        "breaking forward t.e data.meta: type widened from a string to any JSON value; old readers hold a string; new writers may send any value",
    ]);
}

mod more_types {
    pub mod a {
        use continuum_runtime::prelude::*;

        #[derive(Payload, Debug)]
        #[serde(tag = "t", content = "c")]
        pub enum Adjacent {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        pub enum Ext {
            Queued,
            Failed { reason: String },
        }

        #[derive(Payload, Debug)]
        pub enum Stage {
            Queued,
            InProgress,
        }
    }

    pub mod b {
        use continuum_runtime::prelude::*;

        #[derive(Payload, Debug)]
        #[serde(tag = "t", content = "c")]
        pub enum Adjacent {
            Queued,
            Failed { reason: Option<String> },
        }

        #[derive(Payload, Debug)]
        pub enum Ext {
            Queued,
            Failed { reason: String, retries: u8 },
        }

        #[derive(Payload, Debug)]
        #[serde(rename_all = "snake_case")]
        pub enum Stage {
            Queued,
            InProgress,
        }
    }
}

pair!(adjacent:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::a::Adjacent } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::b::Adjacent } });

pair!(external_fields:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::a::Ext } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::b::Ext } });

#[test]
fn variant_fields_under_each_representation() {
    judge::<adjacent::old::E, adjacent::new::E>(&[
        "breaking forward t.e data.stage[t=failed].c.reason: field now optional; old readers require `reason`, which new writers may omit",
        "breaking forward t.e data.stage[t=failed].c.reason: now accepts null; old readers cannot read null here (their type is not an Option)",
    ]);
    judge::<external_fields::old::E, external_fields::new::E>(&[
        "breaking backward t.e data.stage.failed.retries: required field added; old workers that do not send `retries` get 422 `required`",
    ]);
}

pair!(variant_rename_all:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::a::Stage } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::more_types::b::Stage } });

#[test]
fn rename_all_on_an_enum_renames_variants_both_ways() {
    judge::<variant_rename_all::old::E, variant_rename_all::new::E>(&[
        "breaking backward t.e data.stage: variant `inProgress` removed; old workers sending `inProgress` get 422 `type`",
        "breaking forward t.e data.stage: variant `in_progress` added; old readers cannot read `in_progress`",
    ]);
}

pair!(unit_event:
    old { #[continuum_event("t.e")] pub struct E; }
    new { #[continuum_event("t.e")] pub struct E { pub note: Option<String> } });

#[test]
fn a_unit_event_gaining_data() {
    judge::<unit_event::old::E, unit_event::new::E>(&[
        "breaking backward t.e data: no longer accepts null; old workers sending null get 422 `type`",
        "compatible t.e data.note: optional field added; old readers ignore it",
    ]);
}
