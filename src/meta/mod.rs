//! Meta's vocabulary, shared by the Graph client (`crate::graph`, the transport), the webhook
//! receiver (`crate::webhook`) and the pure core (`crate::decide`), so that none of them
//! depends on another for it: the typed snapshot of a WABA and its numbers with Meta's enums
//! (unknown values kept), the business profile, the parsed webhook notice, and Meta's errors with their one
//! classification.

pub mod error;
pub mod model;
pub mod notice;
pub mod profile;
pub mod template;
pub mod versions;

pub use error::{ErrorClass, GraphError, Refusal};
pub use notice::{Fact, Notice, Restriction, TemplateRef, VolumeTier};
