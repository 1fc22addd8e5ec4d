//! Decide for `WhatsAppChannel`: the number as its account's latest sync saw it, into status,
//! conditions, phase and events.

use std::time::Duration;

use jiff::Timestamp;

use super::ChannelObservation;
use super::conditions::{
    ConditionStatus, camel_case, condition_reason as cr, set_condition, true_reason,
};
use super::events::{EventSpec, reason};
use super::health::{self, HealthChange};
use super::quality;
use super::time::status_time;
use crate::crd::{
    Management, PAUSED_ANNOTATION, Phase, WhatsAppBusinessAccount, WhatsAppChannelSpec,
    WhatsAppChannelStatus, condition, find_condition,
};
use crate::meta::model::{
    CanSendMessage, MessagingLimit, NameStatus, NumberStatus, PhoneNumber, PlatformType,
    QualityRating, WabaSnapshot,
};

/// Requeue while the account has no snapshot; the account's own sync normally triggers sooner.
const ACCOUNT_NOT_SYNCED_REQUEUE: Duration = Duration::from_secs(60);

/// What the channel controller does next.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelDecision {
    pub status: WhatsAppChannelStatus,
    pub events: Vec<EventSpec>,
    /// When to reconcile again if nothing else triggers it.
    pub requeue_after: Duration,
}

/// What the channel can learn from its account, for the runtime that holds the account object
/// (`None` when it does not exist) and the WABA snapshot of the account's latest successful sync.
///
/// `None` means "nothing to decide yet": the account has never synced, or its status says its
/// last sync worked but the snapshot is not in memory (after an operator restart). Deciding then
/// would write a status only to replace it moments later (or flip Synced to False and back on
/// every restart); the account's next sync brings the snapshot and triggers the channel.
pub fn observe_channel(
    spec: &WhatsAppChannelSpec,
    account: Option<&WhatsAppBusinessAccount>,
    snapshot: Option<&WabaSnapshot>,
) -> Option<ChannelObservation> {
    let e164 = match spec.phone_number.parsed() {
        Ok(e164) => e164,
        Err(err) => {
            return Some(ChannelObservation::InvalidSpec {
                message: err.to_string(),
            });
        }
    };
    let Some(account) = account else {
        return Some(ChannelObservation::AccountMissing {
            name: spec.account_ref.name.clone(),
        });
    };
    let conditions = account
        .status
        .as_ref()
        .map(|s| s.conditions.as_slice())
        .unwrap_or_default();
    if let Some(stall) = true_reason(conditions, condition::STALLED) {
        return Some(ChannelObservation::AccountNotSynced {
            reason: format!("the account is stalled ({stall}); see its Stalled condition"),
        });
    }
    match find_condition(conditions, condition::SYNCED) {
        Some(synced) if synced.status == "True" => {
            let snapshot = snapshot?;
            Some(match snapshot.number_by_digits(e164.digits()) {
                Some(number) => ChannelObservation::Number {
                    number: number.clone(),
                },
                None => match snapshot.unreadable(e164.digits()) {
                    Some(reason) => ChannelObservation::AccountNotSynced { reason },
                    None => ChannelObservation::NotInWaba,
                },
            })
        }
        Some(synced) if synced.reason == cr::PAUSED => Some(ChannelObservation::AccountNotSynced {
            reason: format!("the account is paused (annotation {PAUSED_ANNOTATION})"),
        }),
        Some(synced) => Some(ChannelObservation::AccountNotSynced {
            reason: format!(
                "the account's last sync failed ({}); see its Synced condition",
                synced.reason
            ),
        }),
        // A new account: its first sync comes next and triggers this channel. Saying "not
        // synced yet" in the meantime would cost every channel an extra status write at start.
        None => None,
    }
}

/// Decides the channel's new status from what the account's latest sync says about the number.
pub fn decide_channel(
    spec: &WhatsAppChannelSpec,
    generation: Option<i64>,
    previous: Option<&WhatsAppChannelStatus>,
    observation: &ChannelObservation,
    account_sync_interval: Duration,
    requested_at: Option<&str>,
    now: Timestamp,
) -> ChannelDecision {
    let e164 = spec.phone_number.parsed();
    // A spec the runtime let through but that does not parse is still a spec problem.
    let fallback;
    let observation = match &e164 {
        Err(err) if !matches!(observation, ChannelObservation::InvalidSpec { .. }) => {
            fallback = ChannelObservation::InvalidSpec {
                message: err.to_string(),
            };
            &fallback
        }
        _ => observation,
    };

    let mut d = Draft {
        spec,
        generation,
        now,
        number: spec.phone_number.display(),
        status: previous.cloned().unwrap_or_default(),
        events: Vec::new(),
    };
    d.status.observed_generation = generation;
    d.status.e164 = e164.as_ref().ok().map(ToString::to_string);
    if let Some(token) = requested_at {
        d.status.sync.last_handled_reconcile_at = Some(token.to_string());
    }

    let requeue_after = d.observe(previous, observation, account_sync_interval);
    ChannelDecision {
        status: d.status,
        events: d.events,
        requeue_after,
    }
}

struct Draft<'a> {
    spec: &'a WhatsAppChannelSpec,
    generation: Option<i64>,
    now: Timestamp,
    /// The number for messages: E.164 when it parses, the spec verbatim otherwise.
    number: String,
    status: WhatsAppChannelStatus,
    events: Vec<EventSpec>,
}

impl Draft<'_> {
    /// Applies what the account's read says of the number; when to look again.
    fn observe(
        &mut self,
        previous: Option<&WhatsAppChannelStatus>,
        observation: &ChannelObservation,
        account_sync_interval: Duration,
    ) -> Duration {
        match observation {
            ChannelObservation::Number { number } => self.found(previous, number),
            ChannelObservation::NotInWaba => self.not_in_waba(previous),
            ChannelObservation::AccountMissing { name } => {
                let message = format!(
                    "WhatsAppBusinessAccount {name} not found in this namespace: create it \
                     (spec.accountRef cannot be changed)"
                );
                self.set_last_known_meta_state(true);
                self.stall(cr::ACCOUNT_NOT_FOUND, reason::ACCOUNT_NOT_FOUND, message);
            }
            ChannelObservation::AccountNotSynced { reason: why } => {
                let account = &self.spec.account_ref.name;
                let message = format!(
                    "WhatsAppBusinessAccount {account} has no current data from Meta: {why}"
                );
                self.set(
                    condition::SYNCED,
                    ConditionStatus::False,
                    cr::ACCOUNT_NOT_SYNCED,
                    message,
                );
                self.not_stalled();
                self.set_last_known_meta_state(false);
                return account_sync_interval.min(ACCOUNT_NOT_SYNCED_REQUEUE);
            }
            ChannelObservation::ClaimedElsewhere { owner } => {
                let message = format!(
                    "number {} is owned by WhatsAppChannel {owner}, the oldest channel naming \
                     it in this WABA; this one makes no call to Meta and takes over when that \
                     one is deleted. Delete this channel if it is a duplicate",
                    self.number
                );
                self.set_last_known_meta_state(true);
                self.stall(
                    cr::NUMBER_CLAIMED_ELSEWHERE,
                    reason::NUMBER_CLAIMED_ELSEWHERE,
                    message,
                );
            }
            ChannelObservation::Paused => {
                self.set(
                    condition::SYNCED,
                    ConditionStatus::False,
                    cr::PAUSED,
                    super::pause::paused_message("this channel", " and holds its status"),
                );
                self.set_last_known_meta_state(true);
            }
            ChannelObservation::InvalidSpec { message } => {
                self.set_last_known_meta_state(true);
                self.stall(
                    cr::INVALID_SPEC,
                    reason::INVALID_SPEC,
                    format!("the spec cannot be used: {message}"),
                );
            }
        }
        account_sync_interval
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

    fn account(&self) -> &str {
        &self.spec.account_ref.name
    }

    fn synced_now(&mut self) {
        let sync = &mut self.status.sync;
        sync.last_sync_time = Some(status_time(self.now));
        sync.failed_sync_attempts = 0;
        sync.next_attempt_time = None;
        let account = self.account().to_string();
        self.set(
            condition::SYNCED,
            ConditionStatus::True,
            cr::SYNC_SUCCEEDED,
            format!("read from the latest sync of WhatsAppBusinessAccount {account}"),
        );
    }

    fn not_stalled(&mut self) {
        self.set(
            condition::STALLED,
            ConditionStatus::False,
            cr::NO_ACTION_NEEDED,
            "no human action is needed".into(),
        );
    }

    fn found(&mut self, previous: Option<&WhatsAppChannelStatus>, number: &PhoneNumber) {
        mirror(&mut self.status, number);
        self.synced_now();
        self.not_stalled();
        self.set_last_known_meta_state(false);
        self.events.extend(number_events(previous, &self.status));
    }

    fn not_in_waba(&mut self, previous: Option<&WhatsAppChannelStatus>) {
        let was_present = previous.is_some_and(|p| p.phone_number_id.is_some());
        clear_mirror(&mut self.status);
        self.synced_now();
        if was_present {
            let account = self.account().to_string();
            self.events.push(EventSpec::warning(
                reason::NUMBER_NOT_FOUND,
                format!(
                    "Number {} is no longer in the WABA of WhatsAppBusinessAccount {account}",
                    self.number
                ),
            ));
        }
        let observe_only = self.spec.management == Management::ObserveOnly;
        self.set_last_known_meta_state(observe_only);
        match self.spec.management {
            Management::Managed => self.not_stalled(),
            Management::ObserveOnly => {
                let message = self.not_in_waba_message();
                let before = self.events.len();
                self.stall(cr::NOT_IN_WABA, reason::NUMBER_NOT_IN_WABA, message);
                // One warning is enough when the number just disappeared.
                if was_present {
                    self.events.truncate(before);
                }
                self.status.phase = Phase::NotFound;
            }
        }
    }

    fn not_in_waba_message(&self) -> String {
        format!(
            "number {} is not in the WABA of WhatsAppBusinessAccount {}: add it in WhatsApp \
             Manager, or recreate this WhatsAppChannel with the right spec.phoneNumber",
            self.number,
            self.account()
        )
    }

    /// Stalled=True, Synced (unless the read worked) and Ready False, phase Stalled; the event
    /// only when entering this stall.
    fn stall(&mut self, cond_reason: &str, event: &'static str, message: String) {
        let entering =
            true_reason(&self.status.conditions, condition::STALLED) != Some(cond_reason);
        self.set(
            condition::STALLED,
            ConditionStatus::True,
            cond_reason,
            message.clone(),
        );
        if cond_reason != cr::NOT_IN_WABA {
            self.set(
                condition::SYNCED,
                ConditionStatus::False,
                cond_reason,
                message.clone(),
            );
        }
        self.set(
            condition::READY,
            ConditionStatus::False,
            cond_reason,
            message.clone(),
        );
        self.status.phase = Phase::Stalled;
        if entering {
            self.events.push(EventSpec::warning(event, message));
        }
    }

    /// Ready, Registered and phase from the last known Meta state: the mirrored number, the
    /// number's absence from the WABA, or nothing read yet. Before a stall only Registered is
    /// set: the stall decides Ready, and setting it twice could flip its transition time.
    fn set_last_known_meta_state(&mut self, stalling: bool) {
        let types: &[&str] = if stalling {
            &[condition::REGISTERED]
        } else {
            &[condition::READY, condition::REGISTERED]
        };
        if self.status.phone_number_id.is_some() {
            if !stalling {
                let (status, reason, message) = ready_from_mirror(&self.status, &self.number);
                self.set(condition::READY, status, &reason, message);
            }
            let (status, reason, message) = registered_from_mirror(&self.status);
            self.set(condition::REGISTERED, status, &reason, message);
            self.status.phase = phase_from_mirror(&self.status);
        } else if self.status.sync.last_sync_time.is_some() {
            let message = match self.spec.management {
                Management::Managed => format!(
                    "number {} is not in the WABA of WhatsAppBusinessAccount {} yet",
                    self.number,
                    self.account()
                ),
                Management::ObserveOnly => self.not_in_waba_message(),
            };
            for &type_ in types {
                self.set(
                    type_,
                    ConditionStatus::False,
                    cr::NOT_IN_WABA,
                    message.clone(),
                );
            }
            self.status.phase = match self.spec.management {
                Management::Managed => Phase::Adding,
                Management::ObserveOnly => Phase::NotFound,
            };
        } else {
            let account = self.account().to_string();
            let message = format!(
                "the number has not been seen in a sync of WhatsAppBusinessAccount {account} yet"
            );
            for &type_ in types {
                self.set(
                    type_,
                    ConditionStatus::Unknown,
                    cr::AWAITING_SYNC,
                    message.clone(),
                );
            }
            self.status.phase = Phase::Pending;
        }
    }
}

/// Every Meta field of status from the number; webhook-fed and registration fields are kept.
fn mirror(status: &mut WhatsAppChannelStatus, n: &PhoneNumber) {
    status.phone_number_id = Some(n.id.clone());
    status.display_phone_number = n.display_phone_number.clone();
    status.verified_name = n.verified_name.clone();
    status.status = n.status.as_ref().map(|s| s.as_str().to_string());
    status.quality_rating = n
        .quality_rating
        .as_ref()
        .or(n.quality_score.as_ref().map(|q| &q.score))
        .map(|q| q.as_str().to_string());
    status.quality_insights = n.quality_score.as_ref().and_then(quality::insights);
    status.messaging_limit = n
        .whatsapp_business_manager_messaging_limit
        .as_ref()
        .or(n.messaging_limit_tier.as_ref())
        .map(MessagingLimit::canonical);
    status.messaging_limit_tier = n
        .messaging_limit_tier
        .as_ref()
        .map(MessagingLimit::canonical);
    status.name_status = n.name_status.as_ref().map(|s| s.as_str().to_string());
    status.new_name_status = n.new_name_status.as_ref().map(|s| s.as_str().to_string());
    status.code_verification_status = n
        .code_verification_status
        .as_ref()
        .map(|s| s.as_str().to_string());
    status.platform_type = n.platform_type.as_ref().map(|p| p.as_str().to_string());
    status.throughput = n.throughput.as_ref().map(|t| t.level.clone());
    status.account_mode = n.account_mode.as_ref().map(|m| m.as_str().to_string());
    status.is_on_biz_app = n.is_on_biz_app;
    status.is_pin_enabled = n.is_pin_enabled;
    status.last_onboarded_time = n.last_onboarded_time.clone();
    status.health = n.health_status.as_ref().map(health::summarize);
    // The rejection reason comes from a webhook; it is stale once no name is declined.
    let declined = |s: &Option<String>| s.as_deref() == Some(NameStatus::Declined.as_str());
    if !declined(&status.name_status) && !declined(&status.new_name_status) {
        status.name_rejection_reason = None;
    }
}

fn clear_mirror(status: &mut WhatsAppChannelStatus) {
    *status = WhatsAppChannelStatus {
        observed_generation: status.observed_generation,
        conditions: std::mem::take(&mut status.conditions),
        phase: status.phase,
        e164: status.e164.take(),
        registration: status.registration.take(),
        sync: std::mem::take(&mut status.sync),
        ..Default::default()
    };
}

fn number_status(s: &WhatsAppChannelStatus) -> Option<NumberStatus> {
    s.status.as_deref().map(NumberStatus::parse)
}

fn quality(s: &WhatsAppChannelStatus) -> Option<QualityRating> {
    s.quality_rating.as_deref().map(QualityRating::parse)
}

fn on_cloud_api(s: &WhatsAppChannelStatus) -> bool {
    s.platform_type.as_deref().map(PlatformType::parse) == Some(PlatformType::CloudApi)
}

/// Registered: on the Cloud API in a status that is not "not (yet/any longer) registered".
pub fn is_registered(s: &WhatsAppChannelStatus) -> bool {
    on_cloud_api(s)
        && matches!(
            number_status(s),
            Some(st) if !matches!(
                st,
                NumberStatus::Pending
                    | NumberStatus::Disconnected
                    | NumberStatus::Unverified
                    | NumberStatus::Deleted
            )
        )
}

fn ready_from_mirror(s: &WhatsAppChannelStatus, number: &str) -> (ConditionStatus, String, String) {
    let (status, reason, message) = ready_from_state(s, number);
    (status, reason, with_quality_insights(message, s))
}

/// The message with Meta's reasons for a rating below GREEN, when it gives any.
fn with_quality_insights(message: String, s: &WhatsAppChannelStatus) -> String {
    let low = matches!(quality(s), Some(QualityRating::Yellow | QualityRating::Red));
    match quality::explain(s.quality_insights.as_ref()).filter(|_| low) {
        Some(why) => format!(
            "{message}; quality is {} because {why} ({})",
            s.quality_rating.as_deref().unwrap_or_default(),
            quality::ADVICE
        ),
        None => message,
    }
}

fn ready_from_state(s: &WhatsAppChannelStatus, number: &str) -> (ConditionStatus, String, String) {
    let health = s.health.as_ref();
    match (health, health::overall(health), number_status(s)) {
        (Some(h), Some(CanSendMessage::Blocked), _) => (
            ConditionStatus::False,
            cr::BLOCKED.into(),
            format!(
                "number {number} cannot send messages: {}",
                health::explain(h, &CanSendMessage::Blocked)
            ),
        ),
        (_, _, None) => (
            ConditionStatus::False,
            cr::STATUS_UNKNOWN.into(),
            format!("Meta did not report the status of number {number}"),
        ),
        (_, _, Some(NumberStatus::Connected)) => match (health, health::overall(health)) {
            (Some(h), Some(CanSendMessage::Limited)) => (
                ConditionStatus::True,
                cr::LIMITED.into(),
                format!(
                    "number {number} is CONNECTED and can send with limitations: {}",
                    health::explain(h, &CanSendMessage::Limited)
                ),
            ),
            _ => (
                ConditionStatus::True,
                cr::AVAILABLE.into(),
                format!("number {number} is CONNECTED and can send messages"),
            ),
        },
        (_, _, Some(other)) => (
            ConditionStatus::False,
            camel_case(other.as_str(), "NotConnected"),
            format!("Meta reports number {number} as {other}, not CONNECTED"),
        ),
    }
}

fn registered_from_mirror(s: &WhatsAppChannelStatus) -> (ConditionStatus, String, String) {
    if !on_cloud_api(s) {
        let message = match &s.platform_type {
            Some(p) => format!("the number's platform type is {p}, not CLOUD_API"),
            None => "Meta did not report the number's platform type".into(),
        };
        return (ConditionStatus::False, cr::NOT_ON_CLOUD_API.into(), message);
    }
    match number_status(s) {
        None => (
            ConditionStatus::False,
            cr::STATUS_UNKNOWN.into(),
            "Meta did not report the number's status".into(),
        ),
        Some(st) if !is_registered(s) => (
            ConditionStatus::False,
            camel_case(st.as_str(), "NotRegistered"),
            format!("the number is on the Cloud API with status {st}"),
        ),
        Some(st) => (
            ConditionStatus::True,
            cr::REGISTERED.into(),
            format!("the number is registered on the Cloud API with status {st}"),
        ),
    }
}

/// The printer-column summary of the mirrored number.
fn phase_from_mirror(s: &WhatsAppChannelStatus) -> Phase {
    let health = health::overall(s.health.as_ref());
    let status = number_status(s);
    if health == Some(CanSendMessage::Blocked)
        || matches!(
            status,
            Some(
                NumberStatus::Restricted
                    | NumberStatus::Banned
                    | NumberStatus::Disconnected
                    | NumberStatus::Deleted
                    | NumberStatus::Migrated
            )
        )
    {
        return Phase::Blocked;
    }
    match status {
        None | Some(NumberStatus::Pending | NumberStatus::Unverified | NumberStatus::Unknown) => {
            Phase::Pending
        }
        Some(NumberStatus::Connected)
            if health != Some(CanSendMessage::Limited)
                && !matches!(quality(s), Some(QualityRating::Yellow | QualityRating::Red)) =>
        {
            Phase::Connected
        }
        // Connected with limitations, FLAGGED, RATE_LIMITED, or a status Meta added later.
        Some(_) => Phase::Degraded,
    }
}

/// Transitions of the number between the previous and the new status. On the first
/// observation only states that need attention are reported, never recoveries.
fn number_events(
    previous: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
) -> Vec<EventSpec> {
    let mut events = Vec::new();
    // The number as last seen at Meta; `None` when it was never seen (or was absent).
    let known = previous.filter(|p| p.phone_number_id.is_some());

    status_events(previous, known, current, &mut events);
    quality_event(known, current, &mut events);
    limit_event(known, current, &mut events);
    name_events(known, current, &mut events);
    health_event(known, current, &mut events);
    events
}

fn status_events(
    previous: Option<&WhatsAppChannelStatus>,
    known: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
) {
    let before = known.and_then(number_status);
    let Some(after) = number_status(current) else {
        return;
    };
    let changed = before.as_ref() != Some(&after);
    let was = before
        .as_ref()
        .filter(|_| changed)
        .map(|b| format!(" (was {b})"))
        .unwrap_or_default();
    if let Some((event, text)) = status_warning(&after).filter(|_| changed) {
        events.push(EventSpec::warning(event, format!("{text}{was}")));
    }
    if changed && before == Some(NumberStatus::Flagged) {
        events.push(EventSpec::normal(
            reason::NUMBER_UNFLAGGED,
            format!("The number is no longer flagged (status {after})"),
        ));
    }
    // Registered: seen before (even as absent from the WABA) in a not-registered state, and now
    // CONNECTED on the Cloud API. Adopting an already connected number is not an event.
    let seen_before = previous.is_some_and(|p| p.sync.last_sync_time.is_some());
    let was_registered = known.is_some_and(is_registered);
    let connected_now = after == NumberStatus::Connected && on_cloud_api(current);
    if connected_now && seen_before && !was_registered {
        events.push(EventSpec::normal(
            reason::REGISTERED,
            format!("The number is registered and CONNECTED on the Cloud API{was}"),
        ));
    } else if changed && after == NumberStatus::Connected && recovers(before.as_ref()) {
        events.push(EventSpec::normal(
            reason::NUMBER_RECOVERED,
            format!("The number is CONNECTED again{was}"),
        ));
    }
}

/// The warning a number entering `status` raises, with its text.
fn status_warning(status: &NumberStatus) -> Option<(&'static str, &'static str)> {
    match status {
        NumberStatus::Flagged => Some((reason::NUMBER_FLAGGED, "Meta flagged the number")),
        NumberStatus::Restricted => Some((
            reason::NUMBER_RESTRICTED,
            "Meta restricted the number: it cannot start conversations",
        )),
        NumberStatus::Banned => Some((reason::NUMBER_BANNED, "Meta banned the number")),
        NumberStatus::Disconnected => Some((
            reason::NUMBER_DISCONNECTED,
            "The number is disconnected from the Cloud API",
        )),
        NumberStatus::Deleted => Some((reason::NUMBER_DELETED, "The number was deleted at Meta")),
        _ => None,
    }
}

/// Whether CONNECTED after `before` is a recovery worth an event.
fn recovers(before: Option<&NumberStatus>) -> bool {
    matches!(
        before,
        Some(
            NumberStatus::Restricted
                | NumberStatus::Banned
                | NumberStatus::RateLimited
                | NumberStatus::Migrated
                | NumberStatus::Disconnected
                | NumberStatus::Deleted
                | NumberStatus::Other(_)
        )
    )
}

fn quality_event(
    known: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
) {
    let before = known.and_then(quality);
    let Some(after) = quality(current) else {
        return;
    };
    let (Some(after_rank), before_rank) =
        (after.rank(), before.as_ref().and_then(QualityRating::rank))
    else {
        return;
    };
    let why = quality::explain(current.quality_insights.as_ref())
        .map(|w| format!(": {w}"))
        .unwrap_or_default();
    match (before, before_rank) {
        (Some(before), Some(before_rank)) if after_rank < before_rank => {
            events.push(EventSpec::warning(
                reason::QUALITY_DEGRADED,
                format!("Quality rating dropped from {before} to {after}{why}"),
            ));
        }
        (Some(before), Some(before_rank)) if after_rank > before_rank => {
            events.push(EventSpec::normal(
                reason::QUALITY_RECOVERED,
                format!("Quality rating recovered from {before} to {after}"),
            ));
        }
        // Not rated before (or never seen): only a rating that needs attention is news.
        (_, None) if after != QualityRating::Green => {
            events.push(EventSpec::warning(
                reason::QUALITY_DEGRADED,
                format!("Quality rating is {after}{why}"),
            ));
        }
        _ => {}
    }
}

fn limit_event(
    known: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
) {
    let (Some(before), Some(after)) = (
        known.and_then(|p| p.messaging_limit.as_deref()),
        current.messaging_limit.as_deref(),
    ) else {
        return;
    };
    match MessagingLimit::parse(after).compare(&MessagingLimit::parse(before)) {
        Some(std::cmp::Ordering::Greater) => events.push(EventSpec::normal(
            reason::MESSAGING_LIMIT_INCREASED,
            format!("Messaging limit increased from {before} to {after}"),
        )),
        Some(std::cmp::Ordering::Less) => events.push(EventSpec::warning(
            reason::MESSAGING_LIMIT_DECREASED,
            format!("Messaging limit decreased from {before} to {after}"),
        )),
        _ => {}
    }
}

/// Reads `name_status` or `new_name_status`.
type NameField = fn(&WhatsAppChannelStatus) -> Option<&String>;

fn name_events(
    known: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
) {
    let name = current.verified_name.as_deref().unwrap_or("(none)");
    let rejection = current
        .name_rejection_reason
        .as_deref()
        .map(|r| format!(" ({r})"))
        .unwrap_or_default();
    let fields: [(NameField, String, String); 2] = [
        (
            |s| s.name_status.as_ref(),
            format!("Display name \"{name}\" was approved"),
            format!("Display name \"{name}\" was declined by Meta{rejection}"),
        ),
        (
            |s| s.new_name_status.as_ref(),
            "The requested display name change was approved".into(),
            format!("The requested display name change was declined by Meta{rejection}"),
        ),
    ];
    for (field, approved, declined) in fields {
        let before = known.and_then(field).map(|s| NameStatus::parse(s));
        let after = field(current).map(|s| NameStatus::parse(s));
        if before == after {
            continue;
        }
        match after {
            Some(NameStatus::Approved) if known.is_some() => {
                events.push(EventSpec::normal(reason::NAME_APPROVED, approved));
            }
            Some(NameStatus::Declined) => {
                events.push(EventSpec::warning(reason::NAME_REJECTED, declined));
            }
            _ => {}
        }
    }
}

fn health_event(
    known: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
) {
    let before = health::overall(known.and_then(|p| p.health.as_ref()));
    let Some(h) = current.health.as_ref() else {
        return;
    };
    let after = health::overall(Some(h));
    match health::change(before.as_ref(), after.as_ref()) {
        Some(HealthChange::Blocked) => events.push(EventSpec::warning(
            reason::MESSAGING_BLOCKED,
            format!(
                "Messaging is BLOCKED: {}",
                health::explain(h, &CanSendMessage::Blocked)
            ),
        )),
        Some(HealthChange::Limited) => events.push(EventSpec::warning(
            reason::MESSAGING_LIMITED,
            format!(
                "Messaging is LIMITED: {}",
                health::explain(h, &CanSendMessage::Limited)
            ),
        )),
        Some(HealthChange::Available) => {
            let was = before.map(|b| b.to_string()).unwrap_or_default();
            events.push(EventSpec::normal(
                reason::MESSAGING_AVAILABLE,
                format!("Messaging is available again (was {was})"),
            ));
        }
        None => {}
    }
}

#[cfg(test)]
#[path = "channel_tests.rs"]
mod tests;
