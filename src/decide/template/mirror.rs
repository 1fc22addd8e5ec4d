//! Meta's view of a template in status: the account's read and the webhook notices, each
//! part (status, quality, category) taken from whichever is newer.

use jiff::{SignedDuration, Timestamp};

use super::super::facts::admitted;
use super::super::time::{parse_time, status_time};
use crate::crd::{
    CategoryChange, TemplatePause, TemplateRejection, WhatsAppMessageTemplateSpec,
    WhatsAppMessageTemplateStatus,
};
use crate::meta::template::MessageTemplate;
use crate::meta::{Fact, Notice, TemplateRef};

const STATUS_FACET: &str = "template/status";
const QUALITY_FACET: &str = "template/quality";
const CATEGORY_FACET: &str = "template/category";

/// Whether `t`, a time status keeps to the second, may be later than `read_at`: a read that
/// began within the same second is not known to be newer.
pub fn not_before(t: Timestamp, read_at: Timestamp) -> bool {
    t + SignedDuration::from_secs(1) > read_at
}

/// Whether a notice about `facet` was applied after the read started: the read is older news.
/// Both times are the operator's clock (Meta's delivery times only order notices among
/// themselves).
fn notice_newer(status: &WhatsAppMessageTemplateStatus, facet: &str, read_at: Timestamp) -> bool {
    status
        .notices_applied_at
        .get(facet)
        .and_then(parse_time)
        .is_some_and(|t| not_before(t, read_at))
}

/// Whether the read started before the operator's last write, so cannot show it.
pub fn read_predates_write(status: &WhatsAppMessageTemplateStatus, read_at: Timestamp) -> bool {
    status
        .submission
        .as_ref()
        .and_then(|s| s.submitted_at.as_ref())
        .and_then(parse_time)
        .is_some_and(|t| not_before(t, read_at))
}

/// Copies Meta's record into status. A template the read did not find clears Meta's fields,
/// unless the read predates the operator's own create.
pub fn mirror_read(
    status: &mut WhatsAppMessageTemplateStatus,
    found: Option<&MessageTemplate>,
    read_at: Timestamp,
) {
    let stale = read_predates_write(status, read_at);
    let Some(t) = found else {
        if !stale {
            status.template_id = None;
            status.status = None;
            status.quality_score = None;
            status.rejection = None;
            status.pause = None;
        }
        return;
    };
    status.template_id = Some(t.id.clone());
    if stale {
        return;
    }
    if !notice_newer(status, STATUS_FACET, read_at) {
        set_status(status, t.status.clone());
        if t.status.as_deref() == Some("REJECTED")
            && let Some(reason) = t.rejection_reason()
        {
            let recommendation = status
                .rejection
                .as_ref()
                .filter(|r| r.reason == reason)
                .and_then(|r| r.recommendation.clone());
            status.rejection = Some(TemplateRejection {
                reason: reason.to_owned(),
                recommendation,
            });
        }
    }
    if !notice_newer(status, QUALITY_FACET, read_at) {
        status.quality_score = t.quality_score.clone();
    }
    if !notice_newer(status, CATEGORY_FACET, read_at) {
        if t.category.is_some() && t.category != status.category {
            if status.category.is_some() {
                status.previous_category = status.category.clone();
            }
            status.category = t.category.clone();
        }
        if t.previous_category.is_some() {
            status.previous_category = t.previous_category.clone();
        }
        if status
            .category_change
            .as_ref()
            .is_some_and(|c| Some(&c.correct_category) == status.category.as_ref())
        {
            status.category_change = None;
        }
    }
}

/// Sets Meta's status, dropping what only belongs to the one it leaves.
fn set_status(status: &mut WhatsAppMessageTemplateStatus, new: Option<String>) {
    let new_is = |s: &str| new.as_deref() == Some(s);
    if !new_is("REJECTED") {
        status.rejection = None;
    }
    if !new_is("PAUSED") {
        status.pause = None;
    }
    if !new_is("DISABLED") {
        status.disabled_at = None;
    }
    status.status = new;
}

/// Whether a notice names this template: by Meta's id once known, else by name and language.
fn names_this(
    r: &TemplateRef,
    spec: &WhatsAppMessageTemplateSpec,
    status: &WhatsAppMessageTemplateStatus,
) -> bool {
    match (&r.id, &status.template_id) {
        (Some(id), Some(known)) => id == known,
        _ => {
            r.name.as_deref() == Some(spec.name.as_str())
                && r.language.as_deref().is_none_or(|l| l == spec.language)
        }
    }
}

/// Applies the webhook notices about this template, oldest first, each only when newer than
/// what its part of status already holds.
pub fn apply_facts(
    status: &mut WhatsAppMessageTemplateStatus,
    spec: &WhatsAppMessageTemplateSpec,
    notices: &[Notice],
    now: Timestamp,
) {
    let mut times = std::mem::take(&mut status.webhook.fact_times);
    let ours: Vec<Notice> = notices
        .iter()
        .filter(|n| {
            n.fact
                .template()
                .is_some_and(|r| names_this(r, spec, status))
        })
        .cloned()
        .collect();
    for notice in admitted(&ours, &mut times) {
        let at = notice
            .at
            .and_then(|s| Timestamp::from_second(s).ok())
            .map(status_time);
        apply_fact(status, &notice.fact, at);
        if let Some(facet) = notice.fact.facet() {
            status.notices_applied_at.insert(facet, status_time(now));
        }
    }
    status.webhook.fact_times = times;
}

fn apply_fact(
    status: &mut WhatsAppMessageTemplateStatus,
    fact: &Fact,
    at: Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
) {
    match fact {
        Fact::TemplateStatus {
            template,
            event,
            category,
            reason,
            recommendation,
            info_title,
            info_description,
            disable_date,
            ..
        } => {
            if status.template_id.is_none() {
                status.template_id = template.id.clone();
            }
            if status.category.is_none() {
                status.category = category.clone();
            }
            let Some(new) = status_after(event) else {
                return;
            };
            set_status(status, Some(new.to_owned()));
            match new {
                "REJECTED" => {
                    status.rejection = Some(TemplateRejection {
                        reason: reason.clone().unwrap_or_else(|| "UNKNOWN".into()),
                        recommendation: recommendation.clone(),
                    })
                }
                "PAUSED" => {
                    status.pause = Some(TemplatePause {
                        title: info_title.clone(),
                        description: info_description.clone(),
                        at: at.clone(),
                    })
                }
                "DISABLED" => {
                    status.disabled_at = disable_date
                        .and_then(|s| Timestamp::from_second(s).ok())
                        .map(status_time)
                        .or(at)
                }
                _ => {}
            }
        }
        Fact::TemplateQuality { score, .. } => status.quality_score = Some(score.clone()),
        Fact::TemplateCategory {
            new_category,
            previous_category,
            correct_category,
            update_at,
            ..
        } => match (previous_category, correct_category) {
            (Some(previous), _) => {
                status.previous_category = Some(previous.clone());
                status.category = Some(new_category.clone());
                status.category_change = None;
            }
            (None, Some(correct)) => {
                status.category_change = Some(CategoryChange {
                    correct_category: correct.clone(),
                    at: update_at
                        .and_then(|s| Timestamp::from_second(s).ok())
                        .map(status_time),
                })
            }
            (None, None) => {}
        },
        _ => {}
    }
}

/// The template status an event leaves: most events are the status itself; REINSTATED and
/// UNARCHIVED return a template to service; FLAGGED (quality) changes no status.
fn status_after(event: &str) -> Option<&str> {
    match event {
        "REINSTATED" | "UNARCHIVED" | "UNPAUSED" => Some("APPROVED"),
        "FLAGGED" => None,
        other => Some(other),
    }
}
