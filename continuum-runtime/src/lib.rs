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
pub mod contract;
pub mod decode;
pub mod event;
pub mod http;
pub mod hub;
pub mod id;
pub mod metrics;
mod payload;
pub mod registry;
mod ring;
pub mod schema;
pub mod serve;
pub mod sse;
pub mod trace;
pub mod validate;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

#[doc(hidden)]
#[path = "fuzz.rs"]
pub mod __fuzz;

pub use continuum_macros::{continuum_event, Payload};
pub use event::{DynEvent, Event, Payload};
pub use http::HubService;
pub use hub::{
    default_hub, emit, emit_to, set_default_hub, BuildError, ConfigError, Emit, EmitError, EventId,
    Hub, HubBuilder,
};
pub use registry::{Registry, RegistryError};
pub use schema::{json_schema, typescript};
pub use schema::{
    Constraint, EnumRepr, EventSchema, FieldSchema, RangeBounds, StringFormat, StructSchema,
    TaggedSchema, TypeSchema, VariantKind, VariantSchema,
};
pub use serve::{raise_open_files_limit, serve, serve_with_shutdown, Server};
/// OTLP export of the hub's spans (feature `otel`): [`otel::init`].
#[cfg(feature = "otel")]
pub use trace::otel;
pub use validate::{Issue, IssueCode, ValidationErrors};

/// Everything a user needs to declare and emit events: `use continuum_runtime::prelude::*;`.
pub mod prelude {
    pub use crate::{continuum_event, Event, Hub, Payload};
}
