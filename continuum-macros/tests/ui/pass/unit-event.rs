use continuum_runtime::prelude::*;
use continuum_runtime::Registry;

/// The user asked to cancel every task.
#[continuum_event("ai.tasks.cancelled")]
pub struct TasksCancelled;

fn main() {
    assert!(TasksCancelled.validate().is_ok());
    assert!(TasksCancelled::schema().payload.is_none());
    assert_eq!(serde_json::to_string(&TasksCancelled).unwrap(), "null");
    let registry = Registry::from_inventory().unwrap();
    let reg = registry.get("ai.tasks.cancelled").unwrap();
    assert!((reg.decode)("null").is_ok());
    assert!((reg.decode)("{}").is_ok());
    assert!((reg.decode)("1").is_err());
}
