//! The pure "decide" step of the controllers: observe -> **decide** -> act -> apply. The entries
//! are [`plan_account`] and [`plan_channel`], one input struct each.
//!
//! Every function here maps (spec, previous status, observation, now) to (new status, events,
//! requeue) without any I/O, so each rule of the product brief is proven by unit tests. Events
//! are derived from the previous status versus the new one: a restart that decides again on the
//! same observation produces the same status and no events, and a missed poll never loses one.

mod account;
mod account_sync;
mod backoff;
mod budget;
mod channel;
mod channel_sync;
mod conditions;
mod duration;
mod events;
mod fact_records;
pub mod facts;
mod guidance;
mod health;
mod pause;
mod profile;
mod quality;
mod registration;
pub mod template;
mod time;

#[cfg(test)]
mod fixtures;

use std::time::Duration;

use crate::meta::model::{PhoneNumber, WabaSnapshot};

pub use account::{
    AccountDecision, CREDENTIALS_WARNING_WINDOW, credentials_reprobe_at, credentials_stalled,
    decide_account,
};
pub use account_sync::{AccountInput, AccountPlan, plan_account};
pub use backoff::{
    Backoff, DEFAULT_THROTTLE_WAIT, FAILURE_BACKOFF, keep_sync_time_when_unchanged, needs_sync,
    retry_wait,
};
pub use budget::{
    MAX_REGISTRATION_ATTEMPTS, REGISTRATION_WINDOW, attempts_in_window, attempts_remaining,
    merge_history, next_attempt_allowed, record_attempt, record_meta_refusal,
};
pub use channel::{ChannelDecision, decide_channel, is_registered, observe_channel};
pub use channel_sync::{ChannelInput, ChannelPlan, RegistrationState, plan_channel};
pub use conditions::{ConditionStatus, condition_reason, set_condition};
pub use duration::{DEFAULT_SYNC_INTERVAL, MIN_SYNC_INTERVAL, sync_interval};
pub use events::{EventSpec, EventType, reason};
pub use guidance::{GuidanceStanding, guidance_condition, guidance_reason};
pub use profile::profile_drift;
pub use registration::{
    RegistrationInput, RegistrationPlan, SecretState, Step, code_secret_created,
    drop_announced_registration, keep_transition_times, plan_registration, record_intent,
    record_outcome, registration_reason, snapshot_fresh_from,
};
pub(crate) use time::add as add_time;
pub use time::{format_time, parse_time, status_time};

/// How a failed Meta call is handled; the Graph client classifies errors into these.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FailureClass {
    /// Token expired, revoked or lacking permission: stop and ask a human.
    Auth,
    /// Meta's rate limits: wait as long as Meta says.
    Throttled,
    /// Meta or the network hiccuped: retry with exponential backoff.
    Transient,
    /// Meta refused the request as such (e.g. unknown WABA ID): retry slowly, ask a human.
    InvalidRequest,
    /// Anything else: retry with exponential backoff.
    Other,
}

/// A failed sync, as the observe step reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncFailure {
    pub class: FailureClass,
    /// Human-readable cause, already free of volatile data (trace ids, timestamps, counters),
    /// because it lands in a condition message.
    pub message: String,
    /// How long Meta asked to wait (rate-limit headers), for throttling.
    pub retry_after: Option<Duration>,
}

/// What one sync of an account observed.
// Built once per sync and passed by reference; boxing the snapshot would only complicate the
// runtime's code.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum AccountObservation {
    /// Meta was read successfully.
    Synced {
        waba: WabaSnapshot,
        /// Whether the app is subscribed to the WABA's webhooks, when that was checked.
        webhook_subscribed: Option<bool>,
        /// Expiry of the access token from `debug_token`; `None` for tokens that never expire.
        token_expires_at: Option<jiff::Timestamp>,
    },
    /// The credentials Secret or its key is missing; Meta was not called.
    MissingCredentials { message: String },
    /// Meta was called and the call failed.
    Failed(SyncFailure),
    /// An older account (`namespace/name`) names the same WABA id; Meta was not called.
    ClaimedElsewhere { owner: String },
    /// The account carries the paused annotation; Meta was not called.
    Paused,
}

/// What a channel learns from its account's latest sync (channels never call Graph for reads).
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum ChannelObservation {
    /// Found in the WABA snapshot by E.164 digits.
    Number { number: PhoneNumber },
    /// The WABA was read and does not contain the number.
    NotInWaba,
    /// The referenced WhatsAppBusinessAccount does not exist.
    AccountMissing { name: String },
    /// The account exists but has no good snapshot (stalled, failing, not yet synced).
    AccountNotSynced { reason: String },
    /// The spec cannot be acted on, e.g. the phone number does not parse.
    InvalidSpec { message: String },
    /// An older channel (`namespace/name`) of the WABA's owner names the same number.
    ClaimedElsewhere { owner: String },
    /// The channel carries the paused annotation: no call to Meta, status held as it was.
    Paused,
}
