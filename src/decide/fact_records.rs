//! Webhook facts that status keeps as Meta said them, one record per key: the account's alerts
//! (by alert type and entity), capabilities, violations (by type) and pricing tiers (by pricing
//! category and region); the channel's last quality update and its security events (by event).
//! A notice that says what its record already says changes nothing, so a redelivery is silent
//! even when it carries no delivery time, and the events derive from the previous records
//! versus the new ones.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::events::{EventSpec, reason};
use super::time::status_time;
use crate::crd::{
    AccountAlert, AccountCapabilities, AccountViolation, PricingTier, QualityUpdateNotice,
    SecurityNotice, WhatsAppBusinessAccountStatus, WhatsAppChannelStatus,
};
use crate::meta::VolumeTier;
use crate::meta::model::MessagingLimit;

/// Meta's status of an alert that holds.
pub const ALERT_ACTIVE: &str = "ACTIVE";

/// The security event of a PIN reset someone asked for in WhatsApp Manager.
pub const PIN_RESET_REQUEST: &str = "PIN_RESET_REQUEST";

/// Alerts kept at most: those no longer active go first, oldest first, so a stream of alerts
/// about ever new entities cannot grow status without bound.
const MAX_ALERTS: usize = 64;

/// The time to record: the notice's delivery time, else the time already recorded (a notice
/// without a time says nothing about when), else now.
fn stamp(delivered: Option<&Time>, kept: Option<&Time>, now: Timestamp) -> Time {
    delivered
        .or(kept)
        .cloned()
        .unwrap_or_else(|| status_time(now))
}

fn same_alert(a: &AccountAlert, b: &AccountAlert) -> bool {
    a.type_ == b.type_ && a.entity_type == b.entity_type && a.entity_id == b.entity_id
}

fn alert_order(a: &AccountAlert, b: &AccountAlert) -> std::cmp::Ordering {
    (&a.type_, &a.entity_type, &a.entity_id).cmp(&(&b.type_, &b.entity_type, &b.entity_id))
}

/// Records an alert (its `since` is set here): a new one is added, a known one replaced when
/// Meta says something else of it.
pub fn record_alert(
    alerts: &mut Vec<AccountAlert>,
    mut alert: AccountAlert,
    delivered: Option<&Time>,
    now: Timestamp,
) {
    let existing = alerts.iter_mut().find(|a| same_alert(a, &alert));
    if let Some(known) = &existing {
        let unchanged = known.status == alert.status
            && known.severity == alert.severity
            && known.description == alert.description;
        if unchanged {
            return;
        }
    }
    alert.since = Some(stamp(delivered, None, now));
    match existing {
        Some(known) => *known = alert,
        None => alerts.push(alert),
    }
    alerts.sort_by(alert_order);
    while alerts.len() > MAX_ALERTS {
        let oldest_inactive = alerts
            .iter()
            .enumerate()
            .filter(|(_, a)| a.status != ALERT_ACTIVE)
            .min_by(|(_, a), (_, b)| {
                a.since
                    .as_ref()
                    .map(|t| t.0)
                    .cmp(&b.since.as_ref().map(|t| t.0))
            })
            .map(|(i, _)| i);
        match oldest_inactive {
            Some(i) => {
                alerts.remove(i);
            }
            // Only active alerts left: all of them matter.
            None => break,
        }
    }
}

/// Records what a business_capability_update gives; what it leaves out stays as it was.
pub fn record_capability(
    capabilities: &mut Option<AccountCapabilities>,
    limit: Option<&MessagingLimit>,
    per_waba: Option<i64>,
    per_business: Option<i64>,
) {
    if limit.is_none() && per_waba.is_none() && per_business.is_none() {
        return;
    }
    let c = capabilities.get_or_insert_with(AccountCapabilities::default);
    if let Some(limit) = limit {
        c.messaging_limit = Some(limit.canonical());
    }
    if per_waba.is_some() {
        c.max_phone_numbers_per_waba = per_waba;
    }
    if per_business.is_some() {
        c.max_phone_numbers_per_business = per_business;
    }
}

/// Records a violation type the first time Meta reports it.
pub fn record_violation(
    violations: &mut Vec<AccountViolation>,
    type_: &str,
    delivered: Option<&Time>,
    now: Timestamp,
) {
    if violations.iter().any(|v| v.type_ == type_) {
        return;
    }
    violations.push(AccountViolation {
        type_: type_.to_string(),
        since: Some(stamp(delivered, None, now)),
    });
    violations.sort_by(|a, b| a.type_.cmp(&b.type_));
}

/// Records the tier of a pricing category in a region, replacing the one known before.
pub fn record_pricing_tier(
    tiers: &mut Vec<PricingTier>,
    info: &VolumeTier,
    delivered: Option<&Time>,
    now: Timestamp,
) {
    let same_market =
        |t: &PricingTier| t.pricing_category == info.pricing_category && t.region == info.region;
    let known = tiers.iter().position(same_market);
    if let Some(i) = known
        && tiers[i].tier == info.tier
        && tiers[i].effective_month == info.effective_month
    {
        return;
    }
    let reached = info
        .tier_update_time
        .and_then(|s| Timestamp::from_second(s).ok())
        .map(status_time);
    let tier = PricingTier {
        pricing_category: info.pricing_category.clone(),
        region: info.region.clone(),
        tier: info.tier.clone(),
        effective_month: info.effective_month.clone(),
        updated_at: Some(reached.unwrap_or_else(|| stamp(delivered, None, now))),
    };
    match known {
        Some(i) => tiers[i] = tier,
        None => tiers.push(tier),
    }
    tiers.sort_by(|a, b| (&a.pricing_category, &a.region).cmp(&(&b.pricing_category, &b.region)));
}

/// Records a phone_number_quality_update as the number's last one (its `at` is set here).
pub fn record_quality_update(
    last: &mut Option<QualityUpdateNotice>,
    mut update: QualityUpdateNotice,
    delivered: Option<&Time>,
    now: Timestamp,
) {
    let kept = last
        .as_ref()
        .filter(|l| {
            QualityUpdateNotice {
                at: None,
                ..(*l).clone()
            } == update
        })
        .and_then(|l| l.at.as_ref());
    update.at = Some(stamp(delivered, kept, now));
    *last = Some(update);
}

/// Records a security event as the last of its kind.
pub fn record_security(
    events: &mut Vec<SecurityNotice>,
    event: &str,
    delivered: Option<&Time>,
    now: Timestamp,
) {
    match events.iter_mut().find(|e| e.event == event) {
        Some(known) => known.at = Some(stamp(delivered, known.at.as_ref(), now)),
        None => {
            events.push(SecurityNotice {
                event: event.to_string(),
                at: Some(stamp(delivered, None, now)),
            });
            events.sort_by(|a, b| a.event.cmp(&b.event));
        }
    }
}

/// "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED on BUSINESS 506914307656634".
fn describe_alert(a: &AccountAlert) -> String {
    let entity = [a.entity_type.as_deref(), a.entity_id.as_deref()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
    if entity.is_empty() {
        a.type_.clone()
    } else {
        format!("{} on {entity}", a.type_)
    }
}

/// AccountAlert for each alert that became ACTIVE, AccountAlertResolved for each that was
/// ACTIVE and no longer is.
pub fn alert_events(previous: &[AccountAlert], current: &[AccountAlert]) -> Vec<EventSpec> {
    let was_active = |a: &AccountAlert| {
        previous
            .iter()
            .any(|p| same_alert(p, a) && p.status == ALERT_ACTIVE)
    };
    let mut events = Vec::new();
    for alert in current {
        let active = alert.status == ALERT_ACTIVE;
        if active && !was_active(alert) {
            let severity = alert.severity.as_deref().unwrap_or("no severity");
            let mut note = format!("Meta's alert {} ({severity})", describe_alert(alert));
            if let Some(description) = alert.description.as_deref().filter(|d| !d.is_empty()) {
                note.push_str(": ");
                note.push_str(description.trim());
            }
            events.push(EventSpec::warning(reason::ACCOUNT_ALERT, note));
        } else if !active && was_active(alert) {
            events.push(EventSpec::normal(
                reason::ACCOUNT_ALERT_RESOLVED,
                format!(
                    "Meta's alert {} is no longer active (status {})",
                    describe_alert(alert),
                    alert.status
                ),
            ));
        }
    }
    events
}

/// PortfolioLimitIncreased or PortfolioLimitDecreased when a capability update moves the
/// portfolio's limit. Before the first such update the limit Graph last showed is the one it
/// moved from, so the first update after installing the operator is news too.
pub fn capability_event(
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Option<EventSpec> {
    let limit = |s: &WhatsAppBusinessAccountStatus| {
        s.capabilities
            .as_ref()
            .and_then(|c| c.messaging_limit.clone())
    };
    let after = limit(current)?;
    let previous = previous?;
    let before = limit(previous).or_else(|| previous.messaging_limit.clone())?;
    let (was, now) = (
        MessagingLimit::parse(&before),
        MessagingLimit::parse(&after),
    );
    let note =
        format!("Meta reports the business portfolio's messaging limit {after} (was {before})");
    match now.compare(&was)? {
        std::cmp::Ordering::Greater => {
            Some(EventSpec::normal(reason::PORTFOLIO_LIMIT_INCREASED, note))
        }
        std::cmp::Ordering::Less => {
            Some(EventSpec::warning(reason::PORTFOLIO_LIMIT_DECREASED, note))
        }
        std::cmp::Ordering::Equal => None,
    }
}

/// AccountViolation for each violation type not reported before.
pub fn violation_events(
    waba_id: &str,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    current: &WhatsAppBusinessAccountStatus,
) -> Vec<EventSpec> {
    let before: &[AccountViolation] = previous.map(|p| p.violations.as_slice()).unwrap_or(&[]);
    current
        .violations
        .iter()
        .filter(|v| !before.iter().any(|b| b.type_ == v.type_))
        .map(|v| {
            EventSpec::warning(
                reason::ACCOUNT_VIOLATION,
                format!(
                    "Meta reports that WABA {waba_id} violated its policies or terms ({}); \
                     see Meta's policy enforcement in WhatsApp Manager",
                    v.type_
                ),
            )
        })
        .collect()
}

/// PinResetRequested when a PIN_RESET_REQUEST newer than the one known before is recorded.
pub fn pin_reset_event(
    previous: Option<&WhatsAppChannelStatus>,
    current: &WhatsAppChannelStatus,
) -> Option<EventSpec> {
    let reset = |s: &WhatsAppChannelStatus| {
        s.security_events
            .iter()
            .find(|e| e.event == PIN_RESET_REQUEST)
            .map(|e| e.at.clone())
    };
    let now = reset(current)?;
    if previous.and_then(reset) == Some(now) {
        return None;
    }
    Some(EventSpec::warning(
        reason::PIN_RESET_REQUESTED,
        "Meta reports a request to reset the number's two-step verification PIN in WhatsApp \
         Manager; once it is reset, put the new PIN in the Secret of \
         spec.registration.pinSecretRef or the next registration fails",
    ))
}
