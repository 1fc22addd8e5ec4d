//! `meta-sim`: an in-process simulator of the parts of Meta's Graph API the operator uses.
//!
//! It speaks Meta's wire format (paths under `/vNN.0/`, `fields=` expansion, cursor paging, the
//! error envelope, `X-Business-Use-Case-Usage`) and adds an admin API under `/_sim/` for tests.
//! See the crate's README.md.

mod admin_reviews;
mod admin_routes;
mod admin_templates;
mod background;
mod budget;
mod clock;
mod display_name;
mod faults;
mod fields;
mod graph_auth;
mod graph_error;
mod graph_nodes;
mod graph_routes;
mod graph_templates;
mod outbox;
mod recorder;
mod rules;
mod server;
pub mod state;
mod template_checks;
mod template_events;
mod template_rules;
mod timed_reviews;
mod views;
mod webhook;

pub use server::{SimError, SimHandle, start};
pub use state::{SimSecret, State, StateError};
pub use webhook::signature_header;
