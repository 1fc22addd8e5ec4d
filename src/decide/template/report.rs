//! A template's conditions, from Meta's status and the write planner's hold, and its events,
//! from the previous status versus the new one (so a restart neither repeats nor loses one).

use jiff::Timestamp;

use super::super::conditions::{ConditionStatus, condition_reason as cr, set_condition};
use super::super::events::{EventSpec, reason};
use super::super::format_time;
use super::super::time::parse_time;
use super::write::Hold;
use crate::crd::{WhatsAppMessageTemplateStatus, condition};

/// Sets Ready from Meta's status: True only for APPROVED (sendable).
pub fn set_ready(
    status: &mut WhatsAppMessageTemplateStatus,
    generation: Option<i64>,
    now: Timestamp,
) {
    let quality = status
        .quality_score
        .clone()
        .unwrap_or_else(|| "UNKNOWN".into());
    let (state, why, message) = match status.status.as_deref() {
        Some("APPROVED") => (
            ConditionStatus::True,
            "Approved",
            format!("approved by Meta and sendable; quality {quality}"),
        ),
        Some("PENDING") => (
            ConditionStatus::False,
            "PendingReview",
            "Meta is reviewing the template; it cannot be sent until approved".to_owned(),
        ),
        Some("REJECTED") => (ConditionStatus::False, "Rejected", rejected_message(status)),
        Some("PAUSED") => (
            ConditionStatus::False,
            "Paused",
            format!(
                "Meta paused the template for low quality{}; messages with it fail until it \
                 is unpaused",
                status
                    .pause
                    .as_ref()
                    .and_then(|p| p.title.as_deref())
                    .map(|t| format!(" ({t})"))
                    .unwrap_or_default()
            ),
        ),
        Some("DISABLED") => (
            ConditionStatus::False,
            "Disabled",
            "Meta disabled the template after repeated pauses; it cannot be sent or edited"
                .to_owned(),
        ),
        Some(other) => (
            ConditionStatus::False,
            "NotApproved",
            format!("Meta's status is {other}; only APPROVED templates can be sent"),
        ),
        None => (
            ConditionStatus::False,
            "NotFound",
            "the WABA has no template of this name and language".to_owned(),
        ),
    };
    set_condition(
        &mut status.conditions,
        condition::READY,
        state,
        why,
        message,
        generation,
        now,
    );
}

fn rejected_message(status: &WhatsAppMessageTemplateStatus) -> String {
    match &status.rejection {
        Some(r) => format!(
            "Meta rejected the template: {}{}",
            r.reason,
            r.recommendation
                .as_deref()
                .map(|rec| format!(" ({rec})"))
                .unwrap_or_default()
        ),
        None => "Meta rejected the template".to_owned(),
    }
}

/// Sets Stalled and Reconciling from the planner's hold (`None`: ObserveOnly, no planning).
pub fn set_progress(
    status: &mut WhatsAppMessageTemplateStatus,
    hold: Option<&Hold>,
    writing: bool,
    generation: Option<i64>,
    now: Timestamp,
) {
    let (stalled, stall_reason, stall_message) = match hold {
        Some(Hold::Stalled { reason, message }) => (true, *reason, message.clone()),
        _ => (false, cr::NO_ACTION_NEEDED, String::new()),
    };
    set_condition(
        &mut status.conditions,
        condition::STALLED,
        ConditionStatus::from_bool(stalled),
        stall_reason,
        stall_message,
        generation,
        now,
    );
    let (busy, why, message) = match hold {
        _ if writing => (
            true,
            cr::IN_PROGRESS,
            "sending the template to Meta".to_owned(),
        ),
        Some(Hold::Awaiting { .. }) => (
            true,
            cr::IN_PROGRESS,
            "waiting for Meta's answer or a read that shows the last write".to_owned(),
        ),
        Some(Hold::InReview(state)) => (
            true,
            "InReview",
            format!(
                "the template is {state} at Meta; the spec's changes are sent once Meta's review ends"
            ),
        ),
        Some(Hold::Until { at, why }) => (
            true,
            "Waiting",
            format!("the next write waits until {}: {why}", format_time(*at)),
        ),
        _ if status.status.as_deref() == Some("PENDING") => (
            true,
            "InReview",
            "Meta is reviewing the template".to_owned(),
        ),
        _ => (false, cr::IDLE, String::new()),
    };
    set_condition(
        &mut status.conditions,
        condition::RECONCILING,
        ConditionStatus::from_bool(busy),
        why,
        message,
        generation,
        now,
    );
}

/// Sets Synced.
pub fn set_synced(
    status: &mut WhatsAppMessageTemplateStatus,
    synced: bool,
    why: &str,
    message: impl Into<String>,
    generation: Option<i64>,
    now: Timestamp,
) {
    set_condition(
        &mut status.conditions,
        condition::SYNCED,
        ConditionStatus::from_bool(synced),
        why,
        message,
        generation,
        now,
    );
}

/// Events for what changed between two statuses of a template.
pub fn template_events(
    previous: Option<&WhatsAppMessageTemplateStatus>,
    current: &WhatsAppMessageTemplateStatus,
) -> Vec<EventSpec> {
    let empty = WhatsAppMessageTemplateStatus::default();
    let prev = previous.unwrap_or(&empty);
    let mut out = Vec::new();
    out.extend(submitted(prev, current));
    out.extend(status_change(prev, current));
    out.extend(quality_change(prev, current));
    out.extend(category_events(prev, current));
    out
}

fn submitted(
    prev: &WhatsAppMessageTemplateStatus,
    current: &WhatsAppMessageTemplateStatus,
) -> Option<EventSpec> {
    let at = |s: &WhatsAppMessageTemplateStatus| {
        s.submission.as_ref().and_then(|x| x.submitted_at.clone())
    };
    let sub = current.submission.as_ref()?;
    if at(current) == at(prev) || sub.last_error.is_some() || sub.in_flight.is_some() {
        return None;
    }
    let what = if sub.created_at.is_some() && sub.created_at == sub.submitted_at {
        "created at Meta"
    } else {
        "changed at Meta"
    };
    Some(EventSpec::normal(
        reason::TEMPLATE_SUBMITTED,
        format!("template {what} and submitted for Meta's review"),
    ))
}

fn status_change(
    prev: &WhatsAppMessageTemplateStatus,
    current: &WhatsAppMessageTemplateStatus,
) -> Option<EventSpec> {
    let (old, new) = (prev.status.as_deref(), current.status.as_deref());
    if old == new {
        return None;
    }
    Some(match new? {
        "APPROVED" if old == Some("PAUSED") => EventSpec::normal(
            reason::TEMPLATE_UNPAUSED,
            "Meta unpaused the template; it can be sent again",
        ),
        "APPROVED" => EventSpec::normal(reason::TEMPLATE_APPROVED, "Meta approved the template"),
        "REJECTED" => EventSpec::warning(reason::TEMPLATE_REJECTED, rejected_message(current)),
        "PAUSED" => EventSpec::warning(
            reason::TEMPLATE_PAUSED,
            format!(
                "Meta paused the template for low quality{}",
                current
                    .pause
                    .as_ref()
                    .and_then(|p| p.description.as_deref().or(p.title.as_deref()))
                    .map(|d| format!(": {d}"))
                    .unwrap_or_default()
            ),
        ),
        "DISABLED" => EventSpec::warning(
            reason::TEMPLATE_DISABLED,
            "Meta disabled the template; it can no longer be sent",
        ),
        _ => return None,
    })
}

fn degraded(score: Option<&str>) -> bool {
    matches!(score, Some("YELLOW" | "RED"))
}

fn quality_change(
    prev: &WhatsAppMessageTemplateStatus,
    current: &WhatsAppMessageTemplateStatus,
) -> Option<EventSpec> {
    let (old, new) = (
        prev.quality_score.as_deref(),
        current.quality_score.as_deref(),
    );
    if old == new {
        return None;
    }
    if degraded(new) {
        return Some(EventSpec::warning(
            reason::TEMPLATE_QUALITY_DEGRADED,
            format!(
                "the template's quality dropped to {} (was {})",
                new.unwrap_or_default(),
                old.unwrap_or("UNKNOWN")
            ),
        ));
    }
    (degraded(old) && new == Some("GREEN")).then(|| {
        EventSpec::normal(
            reason::TEMPLATE_QUALITY_RECOVERED,
            format!(
                "the template's quality is GREEN again (was {})",
                old.unwrap_or_default()
            ),
        )
    })
}

fn category_events(
    prev: &WhatsAppMessageTemplateStatus,
    current: &WhatsAppMessageTemplateStatus,
) -> Vec<EventSpec> {
    let mut out = Vec::new();
    if let Some(change) = &current.category_change
        && prev.category_change.as_ref() != Some(change)
    {
        let when = change
            .at
            .as_ref()
            .and_then(parse_time)
            .map(|t| format!(" on {}", format_time(t)))
            .unwrap_or_default();
        out.push(EventSpec::warning(
            reason::TEMPLATE_CATEGORY_CHANGING,
            format!(
                "Meta will change the template's category from {} to {}{when}",
                current.category.as_deref().unwrap_or("UNKNOWN"),
                change.correct_category
            ),
        ));
    }
    if let (Some(old), Some(new)) = (&prev.category, &current.category)
        && old != new
    {
        out.push(EventSpec::warning(
            reason::TEMPLATE_CATEGORY_CHANGED,
            format!("Meta changed the template's category from {old} to {new}"),
        ));
    }
    out
}
