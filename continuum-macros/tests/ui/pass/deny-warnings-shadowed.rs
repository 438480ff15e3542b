//! Expansions are warning-free and never rely on std names in scope.
#![deny(warnings, unused_qualifications, missing_docs, unused_results)]
#![no_implicit_prelude]

/// Shadows.
pub mod shadows {
    /// Shadows `Result`.
    pub struct Result;
    /// Shadows `Ok`.
    pub struct Ok;
    /// Shadows `Err`.
    pub struct Err;
    /// Shadows `Some`.
    pub struct Some;
    /// Shadows `None`.
    pub struct None;
    /// Shadows `Option`.
    pub struct Option;
    /// Shadows `Vec`.
    pub struct Vec;
    /// Shadows `String`.
    pub struct String;
    /// Shadows `Box`.
    pub struct Box;
    /// Shadows `Default`.
    pub struct Default;
}

#[allow(unused_imports)]
use shadows::*;

/// A payload nested in the event.
#[derive(::continuum_runtime::Payload)]
pub struct Inner {
    /// A number.
    #[event(range(min = 1))]
    pub count: u32,
}

/// A unit-variant enum.
#[derive(::continuum_runtime::Payload)]
pub enum Kind {
    /// One.
    One,
    /// Two.
    Two,
}

/// An enum with data, internally tagged.
#[derive(::continuum_runtime::Payload)]
#[serde(tag = "kind")]
pub enum Step {
    /// Nothing.
    Idle,
    /// Fields.
    Failed {
        /// Why.
        #[event(length(min = 1), pattern = "^[a-z]+$")]
        reason: ::std::string::String,
        /// Nested, through `Payload`.
        inner: ::std::option::Option<Inner>,
    },
    /// Skipped by serde.
    #[serde(skip)]
    Hidden,
}

/// An enum with data, adjacently tagged.
#[derive(::continuum_runtime::Payload)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    /// A value.
    Value(#[event(range(max = 9))] u8),
    /// Nested.
    Nested(Inner),
}

/// An event with every kind of constraint.
#[::continuum_runtime::continuum_event("test.shadowed")]
pub struct Shadowed {
    /// Text.
    #[event(length(min = 1, max = 5), pattern = "^[a-z]+$")]
    pub text: ::std::string::String,
    /// Numbers.
    #[event(each(range(min = 0, max = 9)), length(max = 3))]
    pub numbers: ::std::vec::Vec<u8>,
    /// Maybe.
    #[event(range(exclusive_min = 0.5))]
    pub maybe: ::std::option::Option<f64>,
    /// Checked by a function.
    #[event(custom = not_blank)]
    pub note: ::std::string::String,
    /// Nested.
    pub inner: Inner,
    /// Enum.
    pub kind: Kind,
    /// Enum with data.
    pub step: Step,
    /// Adjacently tagged.
    pub adjacent: ::std::vec::Vec<Adjacent>,
    /// A set, read through `Payload`.
    #[event(each(length(max = 3)))]
    pub tags: ::std::collections::BTreeSet<::std::string::String>,
}

/// A unit event.
#[::continuum_runtime::continuum_event("test.shadowed-unit")]
pub struct ShadowedUnit;

fn not_blank(s: &::std::primitive::str) -> ::std::result::Result<(), &'static ::std::primitive::str> {
    if s.trim().is_empty() {
        ::std::result::Result::Err("must not be blank")
    } else {
        ::std::result::Result::Ok(())
    }
}

fn main() {}
