//! Decide for `WhatsAppBusinessAccount`: Meta's view of the WABA into status, conditions,
//! events and the next sync.

use std::time::Duration;

use jiff::Timestamp;

use super::backoff::{DEFAULT_THROTTLE_WAIT, FAILURE_BACKOFF};
use super::conditions::{
    ConditionStatus, condition_reason as cr, set_condition, status_of, true_reason,
};
use super::duration::sync_interval;
use super::events::{EventSpec, reason};
use super::health::{self, HealthChange};
use super::time::{add, format_time, parse_time, status_time, truncate, until};
use super::{AccountObservation, FailureClass, SyncFailure};
use crate::crd::{
    HealthSummary, OwnerBusiness, WhatsAppBusinessAccountSpec, WhatsAppBusinessAccountStatus,
    condition,
};
use crate::meta::model::{CanSendMessage, ReviewStatus, WabaSnapshot};

/// A token expiring within this window raises `CredentialsExpiringSoon`.
pub const CREDENTIALS_WARNING_WINDOW: Duration = Duration::from_secs(7 * 24 * 3600);

/// Consecutive failures after which `SyncFailing` is published (once per failure streak).
const FAILING_AFTER: u32 = 3;

/// What the account controller does next.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountDecision {
    pub status: WhatsAppBusinessAccountStatus,
    pub events: Vec<EventSpec>,
    /// When to reconcile again if nothing else triggers it.
    pub requeue_after: Duration,
    /// `false` while stalled on credentials: Meta is not called again until the credentials
    /// Secret changes (the runtime compares the Secret's resourceVersion).
    pub call_meta: bool,
}

/// Whether the account is stalled on its credentials (refused or missing). After a restart the
/// runtime has no remembered Secret version; it may then call Meta once more, which is harmless.
/// When an account stalled on refused credentials calls Meta again with the same token: an
/// hour after the refusal, plus up to ten minutes spread by `uid`.
pub fn credentials_reprobe_at(refused_at: Timestamp, uid: &str) -> Timestamp {
    let spread = uid
        .bytes()
        .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
        % 600;
    let wait = jiff::SignedDuration::from_secs(3600 + spread as i64);
    refused_at.checked_add(wait).unwrap_or(Timestamp::MAX)
}

pub fn credentials_stalled(status: &WhatsAppBusinessAccountStatus) -> bool {
    matches!(
        true_reason(&status.conditions, condition::STALLED),
        Some(cr::CREDENTIALS_INVALID | cr::MISSING_CREDENTIALS)
    )
}

/// Decides the account's new status from one sync's observation.
pub fn decide_account(
    spec: &WhatsAppBusinessAccountSpec,
    generation: Option<i64>,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    observation: &AccountObservation,
    requested_at: Option<&str>,
    now: Timestamp,
) -> AccountDecision {
    let interval = sync_interval(spec);
    let mut d = Draft {
        spec,
        generation,
        now,
        status: previous.cloned().unwrap_or_default(),
        events: Vec::new(),
    };
    d.status.observed_generation = generation;
    if let Some(token) = requested_at {
        d.status.sync.last_handled_reconcile_at = Some(token.to_string());
    }

    let (requeue_after, call_meta) = d.observe(previous, observation, interval);
    AccountDecision {
        status: d.status,
        events: d.events,
        requeue_after,
        call_meta,
    }
}

/// The status being built, with what every step needs.
struct Draft<'a> {
    spec: &'a WhatsAppBusinessAccountSpec,
    generation: Option<i64>,
    now: Timestamp,
    status: WhatsAppBusinessAccountStatus,
    events: Vec<EventSpec>,
}

impl Draft<'_> {
    /// Applies what the sync observed; when to reconcile again and whether to call Meta.
    fn observe(
        &mut self,
        previous: Option<&WhatsAppBusinessAccountStatus>,
        observation: &AccountObservation,
        interval: Duration,
    ) -> (Duration, bool) {
        let secret = &self.spec.credentials_secret_ref;
        match observation {
            AccountObservation::Synced {
                waba,
                webhook_subscribed,
                token_expires_at,
            } => {
                self.synced(previous, waba, *webhook_subscribed, *token_expires_at);
                (interval, true)
            }
            AccountObservation::MissingCredentials { message } => {
                let message = format!(
                    "{message}: put the Graph API access token in Secret {} under key {:?}; \
                     syncing resumes when the Secret changes",
                    secret.name, secret.key
                );
                self.stall_on_credentials(
                    cr::MISSING_CREDENTIALS,
                    reason::CREDENTIALS_MISSING,
                    message,
                );
                (interval, false)
            }
            AccountObservation::ClaimedElsewhere { owner } => {
                let message = format!(
                    "WABA {} is owned by WhatsAppBusinessAccount {owner}, the oldest account \
                     naming it; this one makes no call to Meta and receives no webhook. Delete \
                     it, or see \"Running it for many teams\" in the README to move the WABA",
                    self.spec.business_account_id
                );
                self.stall(
                    cr::WABA_CLAIMED_ELSEWHERE,
                    reason::WABA_CLAIMED_ELSEWHERE,
                    message,
                );
                (interval, false)
            }
            AccountObservation::Paused => {
                self.set(
                    condition::SYNCED,
                    ConditionStatus::False,
                    cr::PAUSED,
                    super::pause::paused_message(
                        "this account",
                        " (its channels keep their last status)",
                    ),
                );
                (interval, false)
            }
            AccountObservation::Failed(failure) => match failure.class {
                FailureClass::Auth => {
                    let message = format!(
                        "Meta refused the access token in Secret {} (key {:?}): {}. Replace the \
                         token; syncing resumes when the Secret changes",
                        secret.name, secret.key, failure.message
                    );
                    self.stall_on_credentials(
                        cr::CREDENTIALS_INVALID,
                        reason::CREDENTIALS_INVALID,
                        message,
                    );
                    (interval, false)
                }
                FailureClass::Throttled => (self.throttled(failure), true),
                FailureClass::InvalidRequest => (self.failed(failure, true), true),
                FailureClass::Transient | FailureClass::Other => {
                    (self.failed(failure, false), true)
                }
            },
        }
    }

    fn set(&mut self, type_: &str, status: ConditionStatus, reason: &str, message: String) {
        set_condition(
            &mut self.status.conditions,
            type_,
            status,
            reason,
            message,
            self.generation,
            self.now,
        );
    }

    fn waba_id(&self) -> &str {
        &self.spec.business_account_id
    }

    fn synced(
        &mut self,
        previous: Option<&WhatsAppBusinessAccountStatus>,
        waba: &WabaSnapshot,
        webhook_subscribed: Option<bool>,
        token_expires_at: Option<Timestamp>,
    ) {
        mirror(&mut self.status, waba, webhook_subscribed, token_expires_at);
        let sync = &mut self.status.sync;
        sync.last_sync_time = Some(status_time(self.now));
        sync.failed_sync_attempts = 0;
        sync.next_attempt_time = None;

        let id = self.waba_id().to_string();
        self.set(
            condition::SYNCED,
            ConditionStatus::True,
            cr::SYNC_SUCCEEDED,
            format!("WABA {id} was read from Meta"),
        );
        self.set(
            condition::STALLED,
            ConditionStatus::False,
            cr::NO_ACTION_NEEDED,
            "no human action is needed".into(),
        );
        self.set_ready_from_meta();

        if previous.is_some_and(credentials_stalled) {
            self.events.push(EventSpec::normal(
                reason::CREDENTIALS_RESTORED,
                format!("Meta accepted the access token again; WABA {id} is syncing"),
            ));
        }
        self.events.extend(meta_events(previous, &self.status));
        if let Some(expiry) = token_expires_at
            && let Some(event) = expiry_event(self.spec, previous, expiry, self.now)
        {
            self.events.push(event);
        }
    }

    /// Ready from the Meta fields in status (the last good snapshot).
    fn set_ready_from_meta(&mut self) {
        let id = self.waba_id().to_string();
        let health = self.status.health.clone();
        let overall = health::overall(health.as_ref());
        let review = self
            .status
            .account_review_status
            .as_deref()
            .map(ReviewStatus::parse);
        let disabled = self.status.ban_state.as_deref() == Some("DISABLE");
        let (status, reason, message) = match (&health, overall) {
            (Some(h), Some(CanSendMessage::Blocked)) => (
                ConditionStatus::False,
                cr::BLOCKED,
                format!(
                    "WABA {id} cannot send messages: {}",
                    health::explain(h, &CanSendMessage::Blocked)
                ),
            ),
            _ if disabled => (
                ConditionStatus::False,
                cr::DISABLED,
                format!("Meta disabled WABA {id}"),
            ),
            _ if review == Some(ReviewStatus::Rejected) => (
                ConditionStatus::False,
                cr::REVIEW_REJECTED,
                format!("Meta rejected the account review of WABA {id}"),
            ),
            (Some(h), Some(CanSendMessage::Limited)) => (
                ConditionStatus::True,
                cr::LIMITED,
                format!(
                    "WABA {id} can send messages with limitations: {}",
                    health::explain(h, &CanSendMessage::Limited)
                ),
            ),
            _ => (
                ConditionStatus::True,
                cr::AVAILABLE,
                format!("WABA {id} can send messages"),
            ),
        };
        self.set(condition::READY, status, reason, message);
    }

    /// Ready when the sync failed: a stall decides it; otherwise the last good snapshot does.
    fn refresh_ready(&mut self) {
        if status_of(&self.status.conditions, condition::STALLED) == Some(ConditionStatus::True) {
            return;
        }
        if self.status.sync.last_sync_time.is_some() {
            self.set_ready_from_meta();
        } else {
            let id = self.waba_id().to_string();
            self.set(
                condition::READY,
                ConditionStatus::Unknown,
                cr::AWAITING_SYNC,
                format!("WABA {id} has not been read from Meta yet; see the Synced condition"),
            );
        }
    }

    /// Stalled until the Secret changes; the event only when entering this stall.
    fn stall_on_credentials(&mut self, cond_reason: &str, event: &'static str, message: String) {
        self.status.sync.last_failure_time = Some(status_time(self.now));
        self.status.sync.next_attempt_time = None;
        self.stall(cond_reason, event, message);
    }

    /// Stalled, not Synced, not Ready; the event once, on entering this stall.
    fn stall(&mut self, cond_reason: &str, event: &'static str, message: String) {
        let entering =
            true_reason(&self.status.conditions, condition::STALLED) != Some(cond_reason);
        for type_ in [condition::STALLED, condition::SYNCED] {
            let status = ConditionStatus::from_bool(type_ == condition::STALLED);
            self.set(type_, status, cond_reason, message.clone());
        }
        self.set(
            condition::READY,
            ConditionStatus::False,
            cond_reason,
            message.clone(),
        );
        if entering {
            self.events.push(EventSpec::warning(event, message));
        }
    }

    fn throttled(&mut self, failure: &SyncFailure) -> Duration {
        let wait = failure.retry_after.unwrap_or(DEFAULT_THROTTLE_WAIT);
        // Rounded up: retrying a fraction of a second early would be throttled again.
        let wait = Duration::from_secs(wait.as_secs() + u64::from(wait.subsec_nanos() > 0));
        let next = add(truncate(self.now), wait);
        self.status.sync.last_failure_time = Some(status_time(self.now));
        self.status.sync.next_attempt_time = Some(status_time(next));
        let id = self.waba_id().to_string();
        self.set(
            condition::SYNCED,
            ConditionStatus::False,
            cr::THROTTLED,
            format!(
                "Meta's rate limit for WABA {id} was reached; the next read waits until it resets"
            ),
        );
        self.ensure_stalled_present();
        self.refresh_ready();
        until(self.now, next)
    }

    /// A failed read retried with backoff; `needs_human` for requests Meta rejects as such.
    fn failed(&mut self, failure: &SyncFailure, needs_human: bool) -> Duration {
        let failures = self.status.sync.failed_sync_attempts.saturating_add(1);
        let delay = FAILURE_BACKOFF.delay(failures, self.waba_id());
        let next = add(truncate(self.now), delay);
        let sync = &mut self.status.sync;
        sync.failed_sync_attempts = failures;
        sync.last_failure_time = Some(status_time(self.now));
        sync.next_attempt_time = Some(status_time(next));
        if needs_human {
            self.read_rejected(failure);
        } else {
            self.read_failed(failure, failures);
        }
        until(self.now, next)
    }

    /// Meta refused the read as such: stalled until a person fixes the spec or the token.
    fn read_rejected(&mut self, failure: &SyncFailure) {
        let id = self.waba_id().to_string();
        let message = format!(
            "Meta rejected reading WABA {id}: {}. Check spec.businessAccountId and that the \
             token's system user has access to this WABA",
            failure.message
        );
        let entering =
            true_reason(&self.status.conditions, condition::STALLED) != Some(cr::REQUEST_REJECTED);
        for (type_, state) in [
            (condition::STALLED, ConditionStatus::True),
            (condition::SYNCED, ConditionStatus::False),
            (condition::READY, ConditionStatus::False),
        ] {
            self.set(type_, state, cr::REQUEST_REJECTED, message.clone());
        }
        if entering {
            self.events
                .push(EventSpec::warning(reason::REQUEST_REJECTED, message));
        }
    }

    /// A read that failed and is retried with backoff; an event once it keeps failing.
    fn read_failed(&mut self, failure: &SyncFailure, failures: u32) {
        let id = self.waba_id().to_string();
        self.set(
            condition::SYNCED,
            ConditionStatus::False,
            cr::SYNC_FAILED,
            format!("reading WABA {id} from Meta failed: {}", failure.message),
        );
        self.ensure_stalled_present();
        self.refresh_ready();
        if failures == FAILING_AFTER {
            self.events.push(EventSpec::warning(
                reason::SYNC_FAILING,
                format!(
                    "Reading WABA {id} from Meta keeps failing: {}",
                    failure.message
                ),
            ));
        }
    }

    /// A failure that is not a stall keeps an existing stall (it is not resolved yet) but makes
    /// sure the condition exists.
    fn ensure_stalled_present(&mut self) {
        if status_of(&self.status.conditions, condition::STALLED).is_none() {
            self.set(
                condition::STALLED,
                ConditionStatus::False,
                cr::NO_ACTION_NEEDED,
                "no human action is needed".into(),
            );
        }
    }
}

/// Every Meta field of status from the snapshot; webhook-fed fields are left alone.
fn mirror(
    status: &mut WhatsAppBusinessAccountStatus,
    waba: &WabaSnapshot,
    webhook_subscribed: Option<bool>,
    token_expires_at: Option<Timestamp>,
) {
    status.name = waba.name.clone();
    status.account_review_status = waba
        .account_review_status
        .as_ref()
        .map(|r| r.as_str().to_string());
    status.business_verification_status = waba.business_verification_status.clone();
    status.ownership_type = waba.ownership_type.clone();
    status.owner_business = waba.owner_business_info.as_ref().map(|b| OwnerBusiness {
        id: b.id.clone(),
        name: b.name.clone(),
    });
    status.messaging_limit = waba
        .whatsapp_business_manager_messaging_limit
        .as_ref()
        .map(|l| l.canonical());
    status.health = waba.health_status.as_ref().map(health::summarize);
    status.phone_number_count = Some(u32::try_from(waba.phone_numbers.len()).unwrap_or(u32::MAX));
    status.webhook_subscribed = webhook_subscribed;
    status.credentials_expire_at = token_expires_at.map(status_time);
}

/// Health and review transitions between the previous and the new status.
fn meta_events(
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Vec<EventSpec> {
    let prev_health = previous.and_then(|p| p.health.as_ref());
    let entities: [(&str, [&'static str; 3]); 3] = [
        (
            "WABA",
            [
                reason::WABA_BLOCKED,
                reason::WABA_LIMITED,
                reason::WABA_AVAILABLE,
            ],
        ),
        (
            "BUSINESS",
            [
                reason::BUSINESS_BLOCKED,
                reason::BUSINESS_LIMITED,
                reason::BUSINESS_AVAILABLE,
            ],
        ),
        (
            "APP",
            [
                reason::APP_BLOCKED,
                reason::APP_LIMITED,
                reason::APP_AVAILABLE,
            ],
        ),
    ];
    let mut events: Vec<EventSpec> = entities
        .into_iter()
        .filter_map(|(entity_type, reasons)| {
            entity_event(prev_health, current, entity_type, reasons)
        })
        .collect();
    events.extend(review_event(previous, current));
    events
}

/// The event of a change of one entity's `can_send_message`.
fn entity_event(
    prev_health: Option<&HealthSummary>,
    current: &WhatsAppBusinessAccountStatus,
    entity_type: &str,
    [blocked, limited, available]: [&'static str; 3],
) -> Option<EventSpec> {
    let before = health::entity_state(prev_health, entity_type);
    let entity = health::entity(current.health.as_ref(), entity_type)?;
    let after = CanSendMessage::parse(&entity.can_send_message);
    match health::change(before.as_ref(), Some(&after))? {
        HealthChange::Blocked => Some(EventSpec::warning(blocked, health::describe_entity(entity))),
        HealthChange::Limited => Some(EventSpec::warning(limited, health::describe_entity(entity))),
        HealthChange::Available => {
            let was = before.map(|b| b.to_string()).unwrap_or_default();
            let who = match &entity.id {
                Some(id) => format!("{entity_type} {id}"),
                None => entity_type.to_string(),
            };
            Some(EventSpec::normal(
                available,
                format!("{who} can send messages again (was {was})"),
            ))
        }
    }
}

/// The event of a change of Meta's account review.
fn review_event(
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Option<EventSpec> {
    let before = previous
        .and_then(|p| p.account_review_status.as_deref())
        .map(ReviewStatus::parse);
    let after = current
        .account_review_status
        .as_deref()
        .map(ReviewStatus::parse);
    if before == after {
        return None;
    }
    match after {
        Some(ReviewStatus::Rejected) => Some(EventSpec::warning(
            reason::ACCOUNT_REVIEW_REJECTED,
            "Meta rejected the account review; the WABA cannot be used with the Cloud API",
        )),
        Some(ReviewStatus::Approved) if before.is_some() => {
            let was = before.map(|b| b.to_string()).unwrap_or_default();
            Some(EventSpec::normal(
                reason::ACCOUNT_REVIEW_APPROVED,
                format!("Meta approved the account review (was {was})"),
            ))
        }
        _ => None,
    }
}

/// `CredentialsExpiringSoon` once per expiry value: the previous status tells whether the same
/// expiry was already inside the window at the previous successful sync.
fn expiry_event(
    spec: &WhatsAppBusinessAccountSpec,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    expiry: Timestamp,
    now: Timestamp,
) -> Option<EventSpec> {
    let expiry = truncate(expiry);
    if expiry > add(now, CREDENTIALS_WARNING_WINDOW) {
        return None;
    }
    let already_warned = previous.is_some_and(|p| {
        p.credentials_expire_at.as_ref().and_then(parse_time) == Some(expiry)
            && p.sync
                .last_sync_time
                .as_ref()
                .and_then(parse_time)
                .is_some_and(|last| expiry <= add(last, CREDENTIALS_WARNING_WINDOW))
    });
    if already_warned {
        return None;
    }
    let secret = &spec.credentials_secret_ref.name;
    let when = format_time(expiry);
    let note = if expiry <= now {
        format!("The access token in Secret {secret} expired at {when}: replace it")
    } else {
        format!("The access token in Secret {secret} expires at {when}: replace it before then")
    };
    Some(EventSpec::warning(reason::CREDENTIALS_EXPIRING_SOON, note))
}

#[cfg(test)]
#[path = "account_tests.rs"]
mod tests;
