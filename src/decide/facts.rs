//! Webhook facts: what Meta's webhooks say that a Graph read may not show yet.
//!
//! Facts are applied to a copy of the previous status (and to the number a sync observed) before
//! the regular decide step runs, so every event still derives from the previous status versus the
//! new one: a redelivery of the same payload finds its fact already recorded and changes nothing,
//! and a restart repeats nothing.

use std::collections::BTreeMap;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::conditions::{ConditionStatus, set_condition, status_of, true_reason};
use super::events::{EventSpec, reason};
use super::fact_records;
use super::time::{format_time, parse_time, status_time};
use crate::crd::{
    AccountAlert, AccountRestriction, Phase, QualityUpdateNotice, WhatsAppBusinessAccountStatus,
    WhatsAppChannelStatus, condition, find_condition,
};
use crate::meta::model::{
    CanSendMessage, MessagingLimit, NameStatus, NumberStatus, PhoneNumber, WabaSnapshot,
};
use crate::meta::{Fact, Notice};

/// The longest a quality flag lasts in Meta's legacy model (quality recovers within 7 days, or
/// the limit drops): a flag known only from a webhook, that Graph keeps contradicting, is taken
/// as lifted after this.
const FLAG_LONGEST: jiff::SignedDuration = jiff::SignedDuration::from_hours(7 * 24);

/// How long Graph must show a WABA able to send after a DISABLE webhook before the ban, known
/// only from that webhook, is taken as lifted (a REINSTATE that never arrived).
const BAN_CONTRADICTED: jiff::SignedDuration = jiff::SignedDuration::from_hours(24);

/// The notices to apply, oldest delivery first, without those older than the newest already
/// applied to their facet (a late or replayed delivery); `times` moves to the newest. Notices
/// without a time are applied in the order they came.
pub(crate) fn admitted<'a>(
    notices: &'a [Notice],
    times: &mut BTreeMap<String, Time>,
) -> Vec<&'a Notice> {
    let mut ordered: Vec<&Notice> = notices.iter().collect();
    ordered.sort_by_key(|n| n.at.unwrap_or(i64::MIN));
    ordered.into_iter().filter(|n| admit(n, times)).collect()
}

fn admit(notice: &Notice, times: &mut BTreeMap<String, Time>) -> bool {
    let at = notice.at.and_then(|s| Timestamp::from_second(s).ok());
    let (Some(facet), Some(at)) = (notice.fact.facet(), at) else {
        return true;
    };
    match times.get(&facet).and_then(parse_time) {
        Some(newest) if at < newest => false,
        _ => {
            times.insert(facet, status_time(at));
            true
        }
    }
}

/// When Meta sent the notice, as status records times.
fn delivered(notice: &Notice) -> Option<Time> {
    notice
        .at
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(status_time)
}

/// Condition types written from webhook facts (channels only).
pub mod fact_condition {
    /// True while Meta flagged the number's quality (legacy FLAGGED webhook).
    pub const QUALITY_FLAGGED: &str = "QualityFlagged";
    /// True while the WABA is restricted or disabled by Meta (account_update webhooks).
    pub const ACCOUNT_RESTRICTED: &str = "AccountRestricted";
    /// True after Meta reported a PIN change the operator did not make (security webhook).
    pub const PIN_STALE: &str = "PinStale";
}

/// Reasons of the fact conditions.
pub mod fact_reason {
    pub const FLAGGED_BY_WEBHOOK: &str = "FlaggedByWebhook";
    /// Graph itself reported FLAGGED while the flag was set.
    pub const FLAGGED_CONFIRMED: &str = "FlaggedConfirmed";
    pub const UNFLAGGED: &str = "Unflagged";
    /// A webhook-only flag outlived the longest flag period while Graph showed CONNECTED.
    pub const FLAG_EXPIRED: &str = "FlagExpired";
    pub const RESTRICTED: &str = "Restricted";
    pub const DISABLED: &str = "Disabled";
    pub const NOT_RESTRICTED: &str = "NotRestricted";
    pub const PIN_CHANGED_AT_META: &str = "PinChangedAtMeta";
    pub const PIN_REAPPLIED: &str = "PinReapplied";
}

/// Rejection reason recorded when Meta rejects a name without giving one.
const UNKNOWN_REJECTION: &str = "UNKNOWN";

fn restriction_of(r: &crate::meta::Restriction) -> AccountRestriction {
    AccountRestriction {
        type_: r.restriction_type.clone(),
        expiration: r
            .expiration
            .and_then(|s| Timestamp::from_second(s).ok())
            .map(status_time),
    }
}

fn expired(r: &AccountRestriction, now: Timestamp) -> bool {
    r.expiration
        .as_ref()
        .and_then(parse_time)
        .is_some_and(|t| t <= now)
}

/// Records the account facts (restrictions, ban state, violations, pricing tiers, alerts,
/// capabilities) in `status` and drops restrictions that have expired. Called on every account
/// reconcile, with or without facts.
pub fn apply_account_facts(
    status: &mut WhatsAppBusinessAccountStatus,
    notices: &[Notice],
    now: Timestamp,
) {
    for notice in admitted(notices, &mut status.webhook.fact_times) {
        let at = delivered(notice);
        match &notice.fact {
            Fact::AccountUpdate { .. } => account_update(status, &notice.fact, at.as_ref(), now),
            Fact::AccountAlert {
                alert_type,
                severity,
                status: alert_status,
                entity_type,
                entity_id,
                description,
                ..
            } => {
                let alert = AccountAlert {
                    type_: alert_type.clone(),
                    entity_type: entity_type.clone(),
                    entity_id: entity_id.clone(),
                    severity: Some(severity.clone()).filter(|s| !s.is_empty()),
                    status: alert_status.clone(),
                    description: description.clone(),
                    since: None,
                };
                fact_records::record_alert(&mut status.alerts, alert, at.as_ref(), now);
            }
            Fact::Capability {
                limit,
                max_phone_numbers_per_waba,
                max_phone_numbers_per_business,
                ..
            } => fact_records::record_capability(
                &mut status.capabilities,
                limit.as_ref(),
                *max_phone_numbers_per_waba,
                *max_phone_numbers_per_business,
            ),
            _ => {}
        }
    }
    status.restrictions.retain(|r| !expired(r, now));
}

/// One `account_update`: restrictions, ban state, a violation or a pricing tier.
fn account_update(
    status: &mut WhatsAppBusinessAccountStatus,
    fact: &Fact,
    at: Option<&Time>,
    now: Timestamp,
) {
    let Fact::AccountUpdate {
        event,
        restrictions,
        ban_state,
        violation_type,
        volume_tier,
        ..
    } = fact
    else {
        return;
    };
    match event.as_str() {
        "ACCOUNT_RESTRICTION" => {
            let mut list: Vec<AccountRestriction> =
                restrictions.iter().flatten().map(restriction_of).collect();
            list.sort_by(|a, b| a.type_.cmp(&b.type_));
            list.dedup_by(|a, b| a.type_ == b.type_);
            status.restrictions = list;
        }
        "DISABLED_UPDATE" => {
            if let Some(state) = ban_state
                && status.ban_state.as_ref() != Some(state)
            {
                status.ban_state = Some(state.clone());
                status.ban_state_since = Some(status_time(now));
            }
        }
        "ACCOUNT_VIOLATION" => {
            if let Some(type_) = violation_type {
                fact_records::record_violation(&mut status.violations, type_, at, now);
            }
        }
        "VOLUME_BASED_PRICING_TIER_UPDATE" => {
            if let Some(info) = volume_tier {
                fact_records::record_pricing_tier(&mut status.pricing_tiers, info, at, now);
            }
        }
        _ => {}
    }
}

/// Drops a DISABLE known only from a webhook once Graph has shown the WABA able to send for
/// `BAN_CONTRADICTED` since that webhook: a lost REINSTATE must not hold the account disabled
/// forever. Called with the WABA as this sync read it.
pub fn settle_ban(status: &mut WhatsAppBusinessAccountStatus, waba: &WabaSnapshot, now: Timestamp) {
    let can_send = waba
        .health_status
        .as_ref()
        .is_some_and(|h| h.can_send_message == CanSendMessage::Available);
    let since = status.ban_state_since.as_ref().and_then(parse_time);
    let long_enough = since.is_none_or(|t| now.duration_since(t) >= BAN_CONTRADICTED);
    if status.ban_state.as_deref() == Some("DISABLE") && can_send && long_enough {
        status.ban_state = Some(CONTRADICTED_BY_GRAPH.to_string());
        status.ban_state_since = Some(status_time(now));
    }
}

/// The ban state recorded when Graph contradicted a DISABLE for long enough.
pub const CONTRADICTED_BY_GRAPH: &str = "REINSTATE";

fn describe_restrictions(list: &[&AccountRestriction]) -> String {
    list.iter()
        .map(|r| match &r.expiration {
            Some(until) => format!("{} until {}", r.type_, format_time(until.0)),
            None => r.type_.clone(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_disabling(state: Option<&str>) -> bool {
    matches!(state, Some("DISABLE" | "SCHEDULE_FOR_DISABLE"))
}

/// AccountRestricted, AccountDisabled, AccountReinstated, AccountViolation, AccountAlert,
/// AccountAlertResolved and PortfolioLimitIncreased/Decreased from the previous status versus
/// the new one.
pub fn account_fact_events(
    waba_id: &str,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Vec<EventSpec> {
    let mut events: Vec<EventSpec> = restriction_event(waba_id, previous, current)
        .into_iter()
        .chain(ban_event(waba_id, previous, current))
        .collect();
    events.extend(fact_records::violation_events(waba_id, previous, current));
    let before: &[AccountAlert] = previous.map(|p| p.alerts.as_slice()).unwrap_or(&[]);
    events.extend(fact_records::alert_events(before, &current.alerts));
    events.extend(fact_records::capability_event(previous, current));
    events
}

/// AccountRestricted when restrictions of a type not there before appear.
fn restriction_event(
    waba_id: &str,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Option<EventSpec> {
    let before: &[AccountRestriction] = previous.map(|p| p.restrictions.as_slice()).unwrap_or(&[]);
    let new: Vec<&AccountRestriction> = current
        .restrictions
        .iter()
        .filter(|r| !before.iter().any(|b| b.type_ == r.type_))
        .collect();
    (!new.is_empty()).then(|| {
        EventSpec::warning(
            reason::ACCOUNT_RESTRICTED,
            format!(
                "Meta restricted WABA {waba_id}: {}",
                describe_restrictions(&new)
            ),
        )
    })
}

/// AccountDisabled or AccountReinstated when the ban state changes.
fn ban_event(
    waba_id: &str,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Option<EventSpec> {
    let was = previous.and_then(|p| p.ban_state.as_deref());
    let now = current.ban_state.as_deref();
    if was == now {
        return None;
    }
    match now {
        Some("DISABLE") => Some(EventSpec::warning(
            reason::ACCOUNT_DISABLED,
            format!("Meta disabled WABA {waba_id}: none of its numbers can send messages"),
        )),
        Some("SCHEDULE_FOR_DISABLE") => Some(EventSpec::warning(
            reason::ACCOUNT_DISABLED,
            format!("Meta scheduled WABA {waba_id} to be disabled"),
        )),
        Some("REINSTATE") if is_disabling(was) => Some(EventSpec::normal(
            reason::ACCOUNT_REINSTATED,
            format!("Meta reinstated WABA {waba_id}"),
        )),
        _ => None,
    }
}

/// Records the number facts in `previous` (a copy of the channel's previous status that the
/// decide step then starts from).
pub fn apply_number_facts(
    previous: &mut WhatsAppChannelStatus,
    notices: &[Notice],
    generation: Option<i64>,
    now: Timestamp,
) {
    for notice in admitted(notices, &mut previous.webhook.fact_times) {
        let at = delivered(notice);
        match &notice.fact {
            Fact::QualityUpdate {
                event,
                current_limit,
                old_limit,
                portfolio_limit,
                ..
            } => {
                quality_fact(previous, event, generation, now);
                let canonical = |l: &Option<MessagingLimit>| l.as_ref().map(|l| l.canonical());
                let update = QualityUpdateNotice {
                    event: event.clone(),
                    at: None,
                    portfolio_limit: canonical(portfolio_limit),
                    current_limit: canonical(current_limit),
                    old_limit: canonical(old_limit),
                };
                fact_records::record_quality_update(
                    &mut previous.last_quality_update,
                    update,
                    at.as_ref(),
                    now,
                );
            }
            Fact::NameUpdate {
                decision,
                rejection_reason,
                ..
            } => name_fact(previous, decision, rejection_reason.as_deref()),
            Fact::Security { event, .. } => {
                fact_records::record_security(
                    &mut previous.security_events,
                    event,
                    at.as_ref(),
                    now,
                );
                if event == "PIN_CHANGED" {
                    pin_changed(previous, generation, now);
                }
            }
            _ => {}
        }
    }
}

fn name_fact(status: &mut WhatsAppChannelStatus, decision: &str, rejection_reason: Option<&str>) {
    match decision {
        "REJECTED" => {
            status.name_rejection_reason =
                Some(rejection_reason.unwrap_or(UNKNOWN_REJECTION).to_string());
        }
        "APPROVED" => status.name_rejection_reason = None,
        _ => {}
    }
    // A change the operator requested hears Meta's decision before Graph shows it.
    if let Some(change) = status.display_name.as_mut()
        && change.requested.is_some()
        && matches!(decision, "APPROVED" | "REJECTED")
    {
        change.decision = Some(decision.to_string());
    }
}

fn quality_fact(
    status: &mut WhatsAppChannelStatus,
    event: &str,
    generation: Option<i64>,
    now: Timestamp,
) {
    let flagged = status_of(&status.conditions, fact_condition::QUALITY_FLAGGED);
    match event {
        "FLAGGED" if flagged != Some(ConditionStatus::True) => set_condition(
            &mut status.conditions,
            fact_condition::QUALITY_FLAGGED,
            ConditionStatus::True,
            fact_reason::FLAGGED_BY_WEBHOOK,
            "Meta flagged the number's quality (phone_number_quality_update \
                 FLAGGED); it is unflagged when quality improves",
            generation,
            now,
        ),
        // In Meta's legacy model a flag ends with UNFLAGGED, or with a tier change after the flag
        // period.
        "UNFLAGGED" | "UPGRADE" | "DOWNGRADE" if flagged.is_some() => set_condition(
            &mut status.conditions,
            fact_condition::QUALITY_FLAGGED,
            ConditionStatus::False,
            fact_reason::UNFLAGGED,
            format!("Meta reported {event} for the number"),
            generation,
            now,
        ),
        _ => {}
    }
}

fn pin_changed(status: &mut WhatsAppChannelStatus, generation: Option<i64>, now: Timestamp) {
    if status_of(&status.conditions, fact_condition::PIN_STALE) == Some(ConditionStatus::True) {
        return;
    }
    set_condition(
        &mut status.conditions,
        fact_condition::PIN_STALE,
        ConditionStatus::True,
        fact_reason::PIN_CHANGED_AT_META,
        "Meta reports that the number's two-step verification PIN was changed; \
             the PIN in spec.registration.pinSecretRef is probably stale: put the \
             new PIN there",
        generation,
        now,
    );
}

/// What Meta's webhooks said and a lagging Graph read does not show yet, applied to the number
/// the sync observed: a recorded flag holds a CONNECTED number at FLAGGED, and a recorded name
/// rejection holds a name still PENDING_REVIEW at DECLINED.
pub fn overlay_number(
    previous: &mut WhatsAppChannelStatus,
    number: &mut PhoneNumber,
    generation: Option<i64>,
    now: Timestamp,
) {
    if let Some(why) = true_reason(&previous.conditions, fact_condition::QUALITY_FLAGGED) {
        match &number.status {
            Some(NumberStatus::Connected) if why == fact_reason::FLAGGED_CONFIRMED => {
                // Graph showed the flag and has now lifted it itself.
                set_condition(
                    &mut previous.conditions,
                    fact_condition::QUALITY_FLAGGED,
                    ConditionStatus::False,
                    fact_reason::UNFLAGGED,
                    "Meta reports the number CONNECTED again",
                    generation,
                    now,
                );
            }
            Some(NumberStatus::Connected) if flag_outlived(previous, now) => set_condition(
                &mut previous.conditions,
                fact_condition::QUALITY_FLAGGED,
                ConditionStatus::False,
                fact_reason::FLAG_EXPIRED,
                "Meta's FLAGGED webhook is 7 days old and Graph reports the number CONNECTED: \
                 a flag lasts at most 7 days, so it is taken as lifted",
                generation,
                now,
            ),
            Some(NumberStatus::Connected) => number.status = Some(NumberStatus::Flagged),
            Some(NumberStatus::Flagged) => set_condition(
                &mut previous.conditions,
                fact_condition::QUALITY_FLAGGED,
                ConditionStatus::True,
                fact_reason::FLAGGED_CONFIRMED,
                "Meta flagged the number's quality; it is unflagged when quality improves",
                generation,
                now,
            ),
            _ => {}
        }
    }

    if previous.name_rejection_reason.is_some() {
        let pending = |s: &Option<NameStatus>| matches!(s, Some(NameStatus::PendingReview));
        if pending(&number.new_name_status) {
            number.new_name_status = Some(NameStatus::Declined);
        } else if pending(&number.name_status) {
            number.name_status = Some(NameStatus::Declined);
        }
    }
}

/// Whether the webhook's flag began longer than `FLAG_LONGEST` ago.
fn flag_outlived(status: &WhatsAppChannelStatus, now: Timestamp) -> bool {
    find_condition(&status.conditions, fact_condition::QUALITY_FLAGGED)
        .is_some_and(|c| now.duration_since(c.last_transition_time.0) >= FLAG_LONGEST)
}

/// PinChanged when the PIN condition starts saying the Secret is stale; PinResetRequested for
/// each new PIN reset request.
pub fn number_fact_events(
    previous: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
) -> Vec<EventSpec> {
    let stale = |s: &WhatsAppChannelStatus| {
        status_of(&s.conditions, fact_condition::PIN_STALE) == Some(ConditionStatus::True)
    };
    let mut events = Vec::new();
    if stale(current) && !previous.is_some_and(stale) {
        events.push(EventSpec::warning(
            reason::PIN_CHANGED,
            "Meta reports that the two-step verification PIN was changed outside the operator; \
             update the PIN Secret or the next registration fails",
        ));
    }
    events.extend(fact_records::pin_reset_event(previous, current));
    events
}

/// Clears the stale-PIN condition once the operator applied a PIN again.
pub fn settle_pin(
    previous: Option<&WhatsAppChannelStatus>,
    current: &mut WhatsAppChannelStatus,
    generation: Option<i64>,
    now: Timestamp,
) {
    let applied =
        |s: &WhatsAppChannelStatus| s.registration.as_ref().and_then(|r| r.applied_pin.clone());
    let reapplied = applied(current).is_some() && previous.map(applied) != Some(applied(current));
    if reapplied
        && status_of(&current.conditions, fact_condition::PIN_STALE) == Some(ConditionStatus::True)
    {
        set_condition(
            &mut current.conditions,
            fact_condition::PIN_STALE,
            ConditionStatus::False,
            fact_reason::PIN_REAPPLIED,
            "the PIN from the PIN Secret was applied at Meta",
            generation,
            now,
        );
    }
}

/// Where a WABA stands with Meta, as its account's status records it from webhooks and reads.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AccountStanding {
    pub ban_state: Option<String>,
    pub restrictions: Vec<AccountRestriction>,
    /// What a person must do in Business Manager (payment method, business verification).
    pub guidance: super::guidance::GuidanceStanding,
}

impl AccountStanding {
    pub fn of(status: &WhatsAppBusinessAccountStatus) -> Self {
        Self {
            ban_state: status.ban_state.clone(),
            restrictions: status.restrictions.clone(),
            guidance: super::guidance::GuidanceStanding::of(status),
        }
    }
}

/// Tells a channel that its WABA is restricted or disabled: condition AccountRestricted, Ready
/// False while disabled, and the account events on the channel too, since alerts are per
/// channel. Returns the events of the transition.
pub fn apply_account_standing(
    account: &str,
    previous: Option<&WhatsAppChannelStatus>,
    status: &mut WhatsAppChannelStatus,
    standing: &AccountStanding,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<EventSpec> {
    let (state, why, message) = standing_condition(account, standing, now);
    let existing = find_condition(&status.conditions, fact_condition::ACCOUNT_RESTRICTED);
    // Channels of WABAs Meta never restricted carry no such condition at all.
    if existing.is_none() && state == ConditionStatus::False {
        return Vec::new();
    }
    let before = previous
        .and_then(|p| true_reason(&p.conditions, fact_condition::ACCOUNT_RESTRICTED))
        .map(str::to_string);
    set_condition(
        &mut status.conditions,
        fact_condition::ACCOUNT_RESTRICTED,
        state,
        why,
        message.clone(),
        generation,
        now,
    );
    if state == ConditionStatus::True && why == fact_reason::DISABLED {
        set_condition(
            &mut status.conditions,
            condition::READY,
            ConditionStatus::False,
            super::condition_reason::DISABLED,
            message.clone(),
            generation,
            now,
        );
        status.phase = Phase::Blocked;
    } else if state == ConditionStatus::True && status.phase == Phase::Connected {
        status.phase = Phase::Degraded;
    }
    let after = (state == ConditionStatus::True).then_some(why);
    standing_events(account, before.as_deref(), after, message)
        .into_iter()
        .collect()
}

/// The AccountRestricted condition the standing implies: status, reason and message.
fn standing_condition(
    account: &str,
    standing: &AccountStanding,
    now: Timestamp,
) -> (ConditionStatus, &'static str, String) {
    let active: Vec<&AccountRestriction> = standing
        .restrictions
        .iter()
        .filter(|r| !expired(r, now))
        .collect();
    let ban = standing.ban_state.as_deref();
    if ban == Some("DISABLE") {
        return (
            ConditionStatus::True,
            fact_reason::DISABLED,
            format!("Meta disabled the WABA of WhatsAppBusinessAccount {account}"),
        );
    }
    if ban != Some("SCHEDULE_FOR_DISABLE") && active.is_empty() {
        return (
            ConditionStatus::False,
            fact_reason::NOT_RESTRICTED,
            "the WABA has no restriction from Meta".to_string(),
        );
    }
    let mut parts = Vec::new();
    if ban == Some("SCHEDULE_FOR_DISABLE") {
        parts.push("the WABA is scheduled to be disabled".to_string());
    }
    if !active.is_empty() {
        parts.push(describe_restrictions(&active));
    }
    (
        ConditionStatus::True,
        fact_reason::RESTRICTED,
        format!(
            "Meta restricted the WABA of WhatsAppBusinessAccount {account}: {}",
            parts.join("; ")
        ),
    )
}

/// The event of a change of the account's standing (`before` and `after` are the condition's
/// reasons while it is true).
fn standing_events(
    account: &str,
    before: Option<&str>,
    after: Option<&str>,
    message: String,
) -> Option<EventSpec> {
    if before == after {
        return None;
    }
    match after {
        Some(fact_reason::DISABLED) => Some(EventSpec::warning(reason::ACCOUNT_DISABLED, message)),
        Some(_) => Some(EventSpec::warning(reason::ACCOUNT_RESTRICTED, message)),
        None if before == Some(fact_reason::DISABLED) => Some(EventSpec::normal(
            reason::ACCOUNT_REINSTATED,
            format!("Meta reinstated the WABA of WhatsAppBusinessAccount {account}"),
        )),
        None => None,
    }
}

#[cfg(test)]
#[path = "facts_tests.rs"]
mod tests;
