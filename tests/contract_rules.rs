//! The compatibility rules (issue 18), one old → new pair of real
//! `#[continuum_event]` declarations per rule: each contract is produced by
//! `Contract::of` over a registry holding only that pair's event, and the
//! whole report is asserted — which direction breaks, at which wire path,
//! and the words a person reads.
#![allow(missing_docs)]

#[macro_use]
mod contract_support;

use continuum_runtime::contract::{diff, Contract, Direction, Mode};
use continuum_runtime::Registry;
use contract_support::{contract, judge};

pair!(optional_added:
    old { #[continuum_event("t.e")] pub struct E { pub id: String } }
    new { #[continuum_event("t.e")] pub struct E { pub id: String, pub eta: Option<u32> } });

#[test]
fn optional_field_added_is_compatible() {
    judge::<optional_added::old::E, optional_added::new::E>(&[
        "compatible t.e data.eta: optional field added; old readers ignore it",
    ]);
}

pair!(required_added:
    old { #[continuum_event("t.e")] pub struct E { pub id: String } }
    new { #[continuum_event("t.e")] pub struct E { pub id: String, pub eta: u32 } });

#[test]
fn required_field_added_breaks_backward() {
    judge::<required_added::old::E, required_added::new::E>(&[
        "breaking backward t.e data.eta: required field added; old workers that do not send `eta` get 422 `required`",
    ]);
}

#[test]
fn optional_field_removed_breaks_backward() {
    judge::<optional_added::new::E, optional_added::old::E>(&[
        "breaking backward t.e data.eta: field removed; old workers that still send `eta` get 422 `unknown_field`",
    ]);
}

#[test]
fn required_field_removed_breaks_both() {
    judge::<required_added::new::E, required_added::old::E>(&[
        "breaking both t.e data.eta: field removed; every old worker sends `eta` and would get 422 `unknown_field`; old readers require `eta`, which new events lack",
    ]);
}

pair!(open_struct:
    old { #[continuum_event("t.e", deny_unknown_fields = false)] pub struct E { pub id: String, pub note: Option<String>, pub n: u8 } }
    new { #[continuum_event("t.e", deny_unknown_fields = false)] pub struct E { pub id: String, pub eta: Option<u32> } });

#[test]
fn open_struct_ignores_removed_fields_but_checks_added_ones() {
    judge::<open_struct::old::E, open_struct::new::E>(&[
        "breaking backward t.e data.eta: optional field added where undeclared fields were accepted; old workers may already send `eta` with any value; one of another type get 422 `type`",
        "breaking forward t.e data.n: field removed; old readers require `n`, which new events lack",
        "compatible t.e data.note: field removed; the new build ignores it; old readers allow it to be missing",
    ]);
}

pair!(closing:
    old { #[continuum_event("t.e", deny_unknown_fields = false)] pub struct E { pub id: String } }
    new { #[continuum_event("t.e")] pub struct E { pub id: String } });

#[test]
fn denying_unknown_fields_breaks_backward() {
    judge::<closing::old::E, closing::new::E>(&[
        "breaking backward t.e data: undeclared fields now refused (deny_unknown_fields); old workers sending fields beyond the declared ones get 422 `unknown_field`",
    ]);
    judge::<closing::new::E, closing::old::E>(&[
        "compatible t.e data: undeclared fields now accepted; the new build ignores them",
    ]);
}

pair!(renamed:
    old { #[continuum_event("t.e")] pub struct E { pub task_id: String } }
    new { #[continuum_event("t.e")] #[serde(rename_all = "snake_case")] pub struct E { pub task_id: String } });

#[test]
fn rename_all_is_a_removal_plus_an_addition() {
    judge::<renamed::old::E, renamed::new::E>(&[
        "breaking both t.e data.taskId: field removed; every old worker sends `taskId` and would get 422 `unknown_field`; old readers require `taskId`, which new events lack",
        "breaking backward t.e data.task_id: required field added; old workers that do not send `task_id` get 422 `required`",
    ]);
}

pair!(defaulted:
    old { #[continuum_event("t.e")] pub struct E { pub n: u32 } }
    new { #[continuum_event("t.e")] pub struct E { #[serde(default)] pub n: u32 } });

#[test]
fn required_to_optional_breaks_forward_and_back_again_backward() {
    judge::<defaulted::old::E, defaulted::new::E>(&[
        "breaking forward t.e data.n: field now optional; old readers require `n`, which new writers may omit",
    ]);
    judge::<defaulted::new::E, defaulted::old::E>(&[
        "breaking backward t.e data.n: field now required; old workers that omit `n` get 422 `required`",
    ]);
}

pair!(option:
    old { #[continuum_event("t.e")] pub struct E { pub n: u32 } }
    new { #[continuum_event("t.e")] pub struct E { pub n: Option<u32> } });

#[test]
fn option_takes_null() {
    judge::<option::old::E, option::new::E>(&[
        "breaking forward t.e data.n: field now optional; old readers require `n`, which new writers may omit",
        "breaking forward t.e data.n: now accepts null; old readers cannot read null here (their type is not an Option)",
    ]);
    judge::<option::new::E, option::old::E>(&[
        "breaking backward t.e data.n: field now required; old workers that omit `n` get 422 `required`",
        "breaking backward t.e data.n: no longer accepts null; old workers sending null get 422 `type`",
    ]);
}

pair!(widened:
    old { #[continuum_event("t.e")] pub struct E { pub n: u8 } }
    new { #[continuum_event("t.e")] pub struct E { pub n: u16 } });

#[test]
fn integer_widened_breaks_forward_narrowed_breaks_backward() {
    judge::<widened::old::E, widened::new::E>(&[
        "breaking forward t.e data.n: type changed from u8 to u16; old readers hold u8 (0..=255); new writers may send values outside it",
    ]);
    judge::<widened::new::E, widened::old::E>(&[
        "breaking backward t.e data.n: type changed from u16 to u8; old workers sending values outside 0..=255 get 422 `type`",
    ]);
}

pair!(ranged:
    old { #[continuum_event("t.e")] pub struct E { #[event(range(max = 100))] pub n: u8 } }
    new { #[continuum_event("t.e")] pub struct E { #[event(range(max = 200))] pub n: u8 } });

#[test]
fn range_widened_within_the_type_is_compatible_narrowed_breaks_backward() {
    judge::<ranged::old::E, ranged::new::E>(&[
        "compatible t.e data.n: accepted values changed from 0..=100 to 0..=200; widened within what old readers' u8 holds",
    ]);
    judge::<ranged::new::E, ranged::old::E>(&[
        "breaking backward t.e data.n: accepted values changed from 0..=200 to 0..=100; old workers sending values outside 0..=100 get 422 `range`",
    ]);
}

pair!(ranged_wider_type:
    old { #[continuum_event("t.e")] pub struct E { #[event(range(max = 100))] pub n: u8 } }
    new { #[continuum_event("t.e")] pub struct E { #[event(range(max = 100))] pub n: u64 } });

#[test]
fn a_wider_type_under_the_same_range_is_compatible() {
    judge::<ranged_wider_type::old::E, ranged_wider_type::new::E>(&[
        "compatible t.e data.n: type changed from u8 to u64; every value of either side fits the other's type",
    ]);
}

pair!(int_float:
    old { #[continuum_event("t.e")] pub struct E { pub n: u32 } }
    new { #[continuum_event("t.e")] pub struct E { pub n: f64 } });

#[test]
fn integer_to_float_breaks_forward_float_to_integer_backward() {
    judge::<int_float::old::E, int_float::new::E>(&[
        "breaking forward t.e data.n: type changed from an integer (u32) to a number (f64); old readers hold integers; new writers may send fractions such as 1.5",
    ]);
    judge::<int_float::new::E, int_float::old::E>(&[
        "breaking backward t.e data.n: type changed from a number (f64) to an integer (u32); old workers sending fractions such as 1.5 get 422 `type`",
    ]);
}

pair!(big_int_float:
    old { #[continuum_event("t.e")] pub struct E { pub n: i64 } }
    new { #[continuum_event("t.e")] pub struct E { pub n: f64 } });

#[test]
fn integers_past_2_53_read_rounded_as_floats() {
    judge::<big_int_float::old::E, big_int_float::new::E>(&[
        "breaking both t.e data.n: type changed from an integer (i64) to a number (f64); old workers' integers beyond 9007199254740992 read rounded; old readers hold integers; new writers may send fractions such as 1.5",
    ]);
}

pair!(floats:
    old { #[continuum_event("t.e")] pub struct E { pub x: f64 } }
    new { #[continuum_event("t.e")] pub struct E { pub x: f32 } });

#[test]
fn f64_to_f32_breaks_backward_and_f32_to_f64_forward() {
    judge::<floats::old::E, floats::new::E>(&[
        "breaking backward t.e data.x: type changed from f64 to f32; old workers sending values outside (-3.4028235677973366e38, 3.4028235677973366e38) get 422 `type`",
    ]);
    judge::<floats::new::E, floats::old::E>(&[
        "breaking forward t.e data.x: type changed from f32 to f64; old readers hold f32 ((-3.4028235677973366e38, 3.4028235677973366e38)); new writers may send values outside it",
    ]);
}

pair!(retyped:
    old { #[continuum_event("t.e")] pub struct E { pub n: String } }
    new { #[continuum_event("t.e")] pub struct E { pub n: u32 } });

#[test]
fn a_changed_type_breaks_both() {
    judge::<retyped::old::E, retyped::new::E>(&[
        "breaking both t.e data.n: type changed from a string to an integer (u32); old workers' values get 422 `type`; old readers cannot read an integer (u32)",
    ]);
}

pair!(strings:
    old { #[continuum_event("t.e")] pub struct E { #[event(length(max = 64))] pub s: String, pub p: String } }
    new { #[continuum_event("t.e")] pub struct E { #[event(length(max = 8))] pub s: String, #[event(pattern = "^[a-z]+$")] pub p: String } });

#[test]
fn length_narrowed_and_pattern_added_break_backward_only() {
    judge::<strings::old::E, strings::new::E>(&[
        "breaking backward t.e data.p: pattern added or changed to `^[a-z]+$`; old workers sending strings that do not match get 422 `pattern`",
        "breaking backward t.e data.s: length changed from ..=64 to ..=8; old workers sending a length outside ..=8 get 422 `length`",
    ]);
    judge::<strings::new::E, strings::old::E>(&[
        "compatible t.e data.p: pattern `^[a-z]+$` removed; the new build accepts more; readers do not re-check patterns",
        "compatible t.e data.s: length changed from ..=8 to ..=64; readers do not re-check lengths",
    ]);
}

fn even(n: &u32) -> Result<(), String> {
    if n.is_multiple_of(2) {
        Ok(())
    } else {
        Err(format!("{n} is odd"))
    }
}

pair!(custom:
    old { #[continuum_event("t.e")] pub struct E { pub n: u32 } }
    new { #[continuum_event("t.e")] pub struct E { #[event(custom = super::super::even)] pub n: u32 } });

#[test]
fn a_custom_check_added_breaks_backward() {
    judge::<custom::old::E, custom::new::E>(&[
        "breaking backward t.e data.n: custom check `super::super::even` added; old workers' values may fail it and get 422 `custom`",
    ]);
}

mod support_enums {
    use continuum_runtime::prelude::*;

    #[derive(Payload, Debug)]
    pub enum Stage2 {
        Queued,
        Done,
    }

    #[derive(Payload, Debug)]
    pub enum Stage3 {
        Queued,
        Running,
        Done,
    }
}

pair!(variants:
    old { #[continuum_event("t.e")] pub struct E { pub stage: crate::support_enums::Stage2 } }
    new { #[continuum_event("t.e")] pub struct E { pub stage: crate::support_enums::Stage3 } });

#[test]
fn a_variant_added_breaks_forward_removed_backward() {
    judge::<variants::old::E, variants::new::E>(&[
        "breaking forward t.e data.stage: variant `running` added; old readers cannot read `running`",
    ]);
    judge::<variants::new::E, variants::old::E>(&[
        "breaking backward t.e data.stage: variant `running` removed; old workers sending `running` get 422 `type`",
    ]);
}

#[test]
fn event_types_added_and_removed() {
    let empty = Contract::of(&Registry::new());
    let one = contract::<optional_added::old::E>();
    let added = diff(&empty, &one);
    assert_eq!(
        added.to_string(),
        "compatible t.e type: event type added; old readers skip event types they do not know\n"
    );
    assert!(!added.breaks(Mode::Full));
    let removed = diff(&one, &empty);
    assert_eq!(
        removed.to_string(),
        "breaking backward t.e type: event type removed; old workers posting `t.e` get 422 `unknown_type`, and `t.e` events the old build stored are no longer known\n"
    );
    assert_eq!(removed.changes()[0].direction(), Direction::Backward);
    assert!(!removed.breaks(Mode::Forward));
}
