//! Continuum: typed, validated real-time events pushed to browsers over
//! Server-Sent Events, on hyper.
//!
//! See the workspace `README.md` for the guide; this crate is the one users
//! depend on. It re-exports the `#[continuum_event]` attribute and
//! `#[derive(Payload)]`.

pub mod backplane;
#[cfg(feature = "client")]
pub mod client;
pub mod config;
pub mod constraints;
pub mod contract;
pub mod decode;
mod decode_enum;
mod decode_fields;
pub mod event;
pub mod http;
pub mod hub;
pub mod id;
pub mod json_schema;
pub mod metrics;
mod payload_formats;
mod payload_impls;
pub mod registry;
pub mod schema;
pub mod serve;
pub mod sse;
pub mod typescript;
pub mod validate;
mod wide_ints;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use config::{BuildError, ConfigError, HubBuilder};
pub use continuum_macros::{continuum_event, Payload};
pub use event::{DynEvent, Event, Payload};
pub use http::HubService;
pub use hub::{default_hub, emit, emit_to, set_default_hub, Emit, EmitError, EventId, Hub};
pub use registry::{Registry, RegistryError};
pub use schema::{
    Constraint, EnumRepr, EventSchema, FieldSchema, RangeBounds, StringFormat, StructSchema,
    TaggedSchema, TypeSchema, VariantKind, VariantSchema,
};
pub use serve::{raise_open_files_limit, serve, serve_with_shutdown, Server};
pub use validate::{Issue, IssueCode, ValidationErrors};

/// Everything a user needs to declare and emit events: `use continuum_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::{continuum_event, Event, Hub, Payload};
}
