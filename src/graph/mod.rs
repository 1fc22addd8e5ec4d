//! Meta Graph API: the data the operator reads and the client that reads it.
//!
//! [`GraphClient`] holds the HTTP client, the per-WABA hourly budget and the last usage Meta
//! reported; [`GraphClient::session`] binds a WABA id and its token, and every call of that WABA
//! goes through the [`WabaSession`]. Behaviour callers rely on:
//!
//! - Only GETs are retried, on [`ErrorClass::Transient`], with capped, jittered exponential
//!   backoff ([`RetryPolicy`]). POSTs and DELETEs (register, deregister, request_code,
//!   verify_code...) are sent exactly once.
//! - When the WABA's budget is spent, or Meta said when access comes back, the call is not sent
//!   and fails as [`ErrorClass::Throttled`] with `retry_after` set and no `code`.
//! - [`GraphError::status_message`] is the text for `.status`: stable across repeats, without
//!   trace id or retry times. `Display` adds the retry time; neither shows secrets.
//! - The observer sees one `request_finished` per logical call (pages and retries included),
//!   and `usage_updated` for every usage header read.

mod client;
mod config;
mod error;
mod limiter;
mod session;
mod usage;

pub use crate::meta::model::{
    BusinessInfo, GranularScope, HealthEntity, HealthEntityType, HealthError, HealthStatus,
    PhoneNumber, SubscribedApp, SubscribedAppData, TokenDebugError, TokenInfo, WabaSnapshot,
};
pub use crate::meta::profile::{BusinessProfileData, PROFILE_FIELDS, Vertical};
pub use crate::meta::{ErrorClass, GraphError};
pub use client::GraphClient;
pub use config::{
    DEFAULT_BASE_URL, DEFAULT_HOURLY_BUDGET, DEFAULT_VERSION, GraphConfig, GraphObserver,
    RetryPolicy,
};
pub use session::{NUMBER_FIELDS, WABA_FIELDS, WabaSession};
pub use usage::{AppUsage, BucUsage, Usage};
