//! Meta Graph API: the data the operator reads and the client that reads it.

// `GraphError` is a fixed public contract with plain fields (144 bytes); boxing it would change
// what every controller matches on, and errors are rare next to the network round trip.
#![allow(clippy::result_large_err)]

mod client;
mod config;
mod error;
mod limiter;
pub mod model;
mod profile;
mod session;
mod usage;

pub use client::GraphClient;
pub use config::{
    DEFAULT_BASE_URL, DEFAULT_HOURLY_BUDGET, DEFAULT_VERSION, GraphConfig, GraphObserver,
    RetryPolicy,
};
pub use error::{ErrorClass, GraphError};
pub use model::{
    BusinessInfo, GranularScope, HealthEntity, HealthEntityType, HealthError, HealthStatus,
    PhoneNumber, SubscribedApp, SubscribedAppData, TokenDebugError, TokenInfo, WabaSnapshot,
};
pub use profile::{BusinessProfileData, PROFILE_FIELDS, Vertical};
pub use session::{NUMBER_FIELDS, WABA_FIELDS, WabaSession};
pub use usage::{AppUsage, BucUsage, Usage};
