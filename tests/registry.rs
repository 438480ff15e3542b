//! The registry finds every event linked into the binary, and refuses two
//! Rust types that declare the same event name.

use continuum_runtime::prelude::*;
use continuum_runtime::registry;
use continuum_runtime::{Registry, RegistryError};

/// One event.
#[continuum_event("test.registry.first")]
pub struct First {
    /// A value.
    #[event(range(max = 5))]
    pub value: u8,
}

/// Another event, declared in a module.
pub mod nested {
    use continuum_runtime::prelude::*;

    /// An event without data.
    #[continuum_event("test.registry.second")]
    pub struct Second;

    /// Same name as `super::First`, in another module.
    #[continuum_event("test.registry.first")]
    pub struct Impostor {
        /// A value.
        pub value: u8,
    }
}

#[test]
fn inventory_sees_every_event_in_the_binary() {
    let names: Vec<&str> = registry::linked().map(|r| r.type_name).collect();
    assert!(names.contains(&"test.registry.first"));
    assert!(names.contains(&"test.registry.second"));
    assert_eq!(
        names
            .iter()
            .filter(|n| **n == "test.registry.first")
            .count(),
        2
    );
}

#[test]
fn duplicate_names_are_an_error_naming_both_types() {
    let err = Registry::from_inventory().unwrap_err();
    #[allow(irrefutable_let_patterns)]
    let RegistryError::DuplicateType {
        type_name,
        first,
        second,
    } = err.clone()
    else {
        panic!("expected a duplicate, got {err}");
    };
    assert_eq!(type_name, "test.registry.first");
    let mut both = [first, second];
    both.sort_unstable();
    assert_eq!(both, ["registry::First", "registry::nested::Impostor"]);
    let msg = err.to_string();
    assert!(
        msg.contains("registry::First") && msg.contains("registry::nested::Impostor"),
        "{msg}"
    );
}

#[test]
fn explicit_registration() {
    let mut registry = Registry::new();
    registry.register::<First>().unwrap();
    registry.register::<First>().unwrap(); // the same type twice is fine
    registry.register::<nested::Second>().unwrap();
    assert_eq!(registry.len(), 2);
    let err = registry.register::<nested::Impostor>().unwrap_err();
    assert_eq!(
        err,
        RegistryError::DuplicateType {
            type_name: "test.registry.first",
            first: "registry::First",
            second: "registry::nested::Impostor"
        }
    );
}

#[test]
fn lookup_decodes_and_validates() {
    let mut registry = Registry::new();
    registry.register::<First>().unwrap();
    let reg = registry.get("test.registry.first").unwrap();
    assert_eq!(reg.rust_name, "registry::First");
    assert_eq!((reg.schema)().name, "test.registry.first");
    let event = (reg.decode)(r#"{"value": 3}"#).unwrap();
    assert_eq!(event.type_name(), "test.registry.first");
    let mut out = Vec::new();
    event.write_data(&mut out).unwrap();
    assert_eq!(out, br#"{"value":3}"#);
    let typed = event.into_any().downcast::<First>().unwrap();
    assert_eq!(typed.value, 3);
    let issues = (reg.decode)(r#"{"value": 6}"#).err().unwrap();
    assert_eq!(issues.issues()[0].path, "value");
    assert!(registry.get("test.registry.missing").is_none());
}
