//! Which write a Managed template needs, if any, and what its intent and Meta's answer leave
//! in status. At most one write per reconcile; each is recorded before it is sent, so a
//! restart never creates a template twice.

use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

use super::super::backoff::{DEFAULT_THROTTLE_WAIT, FAILURE_BACKOFF};
use super::super::time::{parse_time, status_time};
use super::content::{content_hash, content_of, same_components};
use super::mirror::{not_before, read_predates_write};
use crate::crd::{
    TemplateSubmission, TemplateWriteInFlight, WhatsAppMessageTemplateSpec,
    WhatsAppMessageTemplateStatus,
};
use crate::meta::template::{MessageTemplate, TemplateContent};
use crate::meta::{ErrorClass, GraphError, Refusal};

/// How long an unanswered write holds off another: longer than one Graph write may take.
pub const WRITE_IN_FLIGHT: Duration = Duration::from_secs(30);
/// Meta allows one edit of an approved template per 24 hours...
pub const EDIT_SPACING: SignedDuration = SignedDuration::from_hours(24);
/// ...and ten per 30 days.
pub const EDIT_WINDOW: SignedDuration = SignedDuration::from_hours(30 * 24);
pub const EDITS_PER_WINDOW: usize = 10;
/// What the last error says of a name Meta keeps reserved.
const RESERVED_NOTE: &str = "Meta keeps a deleted template's name reserved for 30 days";
/// How often a create refused for a reserved name is tried again.
pub const RESERVED_RETRY: Duration = Duration::from_secs(3600);

/// A write to Meta for one template.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TemplateWrite {
    Create {
        content: TemplateContent,
        hash: String,
    },
    Edit {
        template_id: String,
        content: TemplateContent,
        hash: String,
        /// Meta's status when the edit was decided: edits of APPROVED templates are limited.
        approved: bool,
    },
}

impl TemplateWrite {
    pub fn action(&self) -> &'static str {
        match self {
            Self::Create { .. } => "create",
            Self::Edit { .. } => "edit",
        }
    }

    fn hash(&self) -> &str {
        match self {
            Self::Create { hash, .. } | Self::Edit { hash, .. } => hash,
        }
    }
}

/// Why no write is made now, for the conditions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Hold {
    /// Nothing to write: Meta holds the spec's content.
    InSync,
    /// A write's answer is awaited, or a read that can show it (`read`: the latest read began
    /// before the write, so the account must read again).
    Awaiting { read: bool },
    /// Meta reviews the template; it cannot be edited until then.
    InReview(String),
    /// Meta's edit limits, a throttle or a failure's backoff: the next write waits until then.
    Until { at: Timestamp, why: String },
    /// A person must act: the message says what.
    Stalled {
        reason: &'static str,
        message: String,
    },
}

/// What the planner decided: a write, or why none.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WritePlan {
    Write(TemplateWrite),
    Hold(Hold),
}

fn ts(t: Option<&k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>) -> Option<Timestamp> {
    t.and_then(parse_time)
}

/// The write a Managed template needs, given Meta's record (`found`) from a read started at
/// `read_at`, and the status already updated from that read and the notices.
pub fn plan_write(
    spec: &WhatsAppMessageTemplateSpec,
    status: &WhatsAppMessageTemplateStatus,
    found: Option<&MessageTemplate>,
    read_at: Timestamp,
    now: Timestamp,
) -> WritePlan {
    let submission = status.submission.clone().unwrap_or_default();
    if let Some(flight) = &submission.in_flight {
        // `settle_in_flight` ran first: an intent still here is within its hold.
        let started = parse_time(&flight.started_at).unwrap_or(now);
        return WritePlan::Hold(Hold::Awaiting {
            read: not_before(started, read_at),
        });
    }
    if let Some(at) = ts(submission.retry_at.as_ref()).filter(|at| *at > now) {
        if let Some(error) = submission
            .last_error
            .as_deref()
            .filter(|e| e.contains(RESERVED_NOTE))
        {
            return WritePlan::Hold(Hold::Stalled {
                reason: "NameReserved",
                message: format!(
                    "{error}: the name cannot be used again yet; the operator tries again at \
                     {}, or give the template another name",
                    super::super::format_time(at)
                ),
            });
        }
        return WritePlan::Hold(Hold::Until {
            at,
            why: submission
                .last_error
                .clone()
                .unwrap_or_else(|| "the last write failed".into()),
        });
    }
    let content = content_of(spec);
    let hash = content_hash(&content);
    let refused =
        submission.last_error.is_some() && submission.content_hash.as_deref() == Some(&hash);
    let Some(found) = found else {
        if read_predates_write(status, read_at) {
            return WritePlan::Hold(Hold::Awaiting { read: true });
        }
        if refused {
            return refused_hold(&submission);
        }
        return WritePlan::Write(TemplateWrite::Create { content, hash });
    };
    match status.status.as_deref() {
        Some("DISABLED") => return WritePlan::Hold(disabled()),
        Some(gone @ ("PENDING_DELETION" | "DELETED")) => {
            return WritePlan::Hold(Hold::Stalled {
                reason: "NameReserved",
                message: format!(
                    "the template is {gone} at Meta: it was deleted, and Meta keeps its name \
                     reserved for 30 days; give the template another name"
                ),
            });
        }
        _ => {}
    }
    let ttl_same = spec
        .message_send_ttl_seconds
        .is_none_or(|t| found.message_send_ttl_seconds == Some(t));
    if same_components(&content.components, &found.components) && ttl_same {
        return in_sync(status);
    }
    if read_predates_write(status, read_at) {
        return WritePlan::Hold(Hold::Awaiting { read: true });
    }
    if submission.content_hash.as_deref() == Some(&hash) {
        if refused {
            return refused_hold(&submission);
        }
        return WritePlan::Hold(Hold::Stalled {
            reason: "ContentNotApplied",
            message: "Meta's copy of the template still differs from the spec after the \
                      operator sent this content; it is not sent again until the spec changes \
                      (compare the components in WhatsApp Manager)"
                .into(),
        });
    }
    edit(status, found, content, hash, &submission, now)
}

/// Meta disabled the template for good: only a template with another name can replace it.
fn disabled() -> Hold {
    Hold::Stalled {
        reason: "Disabled",
        message: "Meta disabled the template after repeated pauses; it can no longer be sent or \
                  edited: create a template with another name"
            .into(),
    }
}

fn refused_hold(submission: &TemplateSubmission) -> WritePlan {
    WritePlan::Hold(Hold::Stalled {
        reason: "MetaRefused",
        message: format!(
            "Meta refused the template: {}; change the spec to submit it again",
            submission
                .last_error
                .as_deref()
                .unwrap_or("no reason given")
        ),
    })
}

/// Meta holds the spec's content; a rejection of this very content waits for a spec change.
fn in_sync(status: &WhatsAppMessageTemplateStatus) -> WritePlan {
    if status.status.as_deref() == Some("REJECTED") {
        let why = status
            .rejection
            .as_ref()
            .map(|r| match &r.recommendation {
                Some(rec) => format!("{} ({rec})", r.reason),
                None => r.reason.clone(),
            })
            .unwrap_or_else(|| "no reason given".into());
        return WritePlan::Hold(Hold::Stalled {
            reason: "Rejected",
            message: format!(
                "Meta rejected the template: {why}; change the spec and it is submitted again"
            ),
        });
    }
    WritePlan::Hold(Hold::InSync)
}

fn edit(
    status: &WhatsAppMessageTemplateStatus,
    found: &MessageTemplate,
    content: TemplateContent,
    hash: String,
    submission: &TemplateSubmission,
    now: Timestamp,
) -> WritePlan {
    let meta_status = status.status.clone().unwrap_or_default();
    match meta_status.as_str() {
        "APPROVED" => {
            if let Some(at) = edit_allowed_at(submission, now) {
                return WritePlan::Hold(Hold::Until {
                    at,
                    why: "Meta allows one edit of an approved template per 24 hours and ten per \
                          30 days"
                        .into(),
                });
            }
        }
        "PAUSED" | "REJECTED" => {}
        "DISABLED" => return WritePlan::Hold(disabled()),
        "ARCHIVED" => {
            return WritePlan::Hold(Hold::Stalled {
                reason: "NotEditable",
                message: format!(
                    "the template is {meta_status} at Meta and cannot be edited; Meta keeps a \
                     deleted name reserved for 30 days"
                ),
            });
        }
        other => return WritePlan::Hold(Hold::InReview(other.to_owned())),
    }
    WritePlan::Write(TemplateWrite::Edit {
        template_id: found.id.clone(),
        content,
        hash,
        approved: meta_status == "APPROVED",
    })
}

/// When the next edit of an approved template is allowed, if not now.
pub fn edit_allowed_at(submission: &TemplateSubmission, now: Timestamp) -> Option<Timestamp> {
    let edits: Vec<Timestamp> = submission
        .edits
        .iter()
        .filter_map(parse_time)
        .filter(|t| now.duration_since(*t) < EDIT_WINDOW)
        .collect();
    let last = edits.iter().max().copied();
    let spaced = last.map(|l| l + EDIT_SPACING).filter(|t| *t > now);
    let windowed = (edits.len() >= EDITS_PER_WINDOW)
        .then(|| edits.iter().min().map(|o| *o + EDIT_WINDOW))
        .flatten();
    spaced.into_iter().chain(windowed).max()
}

/// Ends an intent whose answer was lost (a restart between the call and Meta's answer) once a
/// read begun after it can tell: the created template is there (adopted as the operator's), or
/// the hold is over (the write is planned again from what the read shows).
pub fn settle_in_flight(
    status: &mut WhatsAppMessageTemplateStatus,
    found: Option<&MessageTemplate>,
    read_at: Timestamp,
    now: Timestamp,
) {
    let Some(submission) = status.submission.as_mut() else {
        return;
    };
    let Some(flight) = submission.in_flight.clone() else {
        return;
    };
    let started = parse_time(&flight.started_at).unwrap_or(now);
    if not_before(started, read_at) {
        return;
    }
    let landed = flight.action == "create" && found.is_some();
    let hold = SignedDuration::try_from(WRITE_IN_FLIGHT).unwrap_or_default();
    if landed {
        submission
            .created_at
            .get_or_insert(flight.started_at.clone());
        submission.submitted_at = Some(flight.started_at.clone());
        submission.content_hash = flight.content_hash.clone();
        submission.in_flight = None;
    } else if now.duration_since(started) >= hold {
        submission.in_flight = None;
    }
}

/// The intent of `write`, in status before it is sent.
pub fn record_intent(
    status: &mut WhatsAppMessageTemplateStatus,
    write: &TemplateWrite,
    now: Timestamp,
) {
    let submission = status.submission.get_or_insert_with(Default::default);
    submission.in_flight = Some(TemplateWriteInFlight {
        action: write.action().into(),
        content_hash: Some(write.hash().to_owned()),
        started_at: status_time(now),
    });
}

/// Meta's answer to `write`.
pub fn record_outcome(
    status: &mut WhatsAppMessageTemplateStatus,
    write: &TemplateWrite,
    result: &Result<(), GraphError>,
    now: Timestamp,
) {
    let submission = status.submission.get_or_insert_with(Default::default);
    submission.in_flight = None;
    submission.submitted_at = Some(status_time(now));
    submission.content_hash = Some(write.hash().to_owned());
    let err = match result {
        Ok(()) => {
            submission.failures = None;
            submission.retry_at = None;
            submission.last_error = None;
            match write {
                TemplateWrite::Create { .. } => {
                    submission.created_at = Some(status_time(now));
                }
                TemplateWrite::Edit { approved, .. } => {
                    if *approved {
                        submission.edits.retain(|t| {
                            parse_time(t).is_some_and(|t| now.duration_since(t) < EDIT_WINDOW)
                        });
                        submission.edits.push(status_time(now));
                    }
                }
            }
            status.status = Some("PENDING".into());
            status.rejection = None;
            status.pause = None;
            if let TemplateWrite::Create { content, .. } = write {
                status
                    .category
                    .get_or_insert_with(|| content.category.clone());
            }
            return;
        }
        Err(err) => err,
    };
    record_failure(submission, err, now);
}

fn record_failure(submission: &mut TemplateSubmission, err: &GraphError, now: Timestamp) {
    let message = err.status_message();
    match (err.refusal.as_ref(), err.class) {
        (Some(Refusal::TemplateExists), _) => {
            // Created by an earlier attempt whose answer was lost, or by someone else: the
            // next read finds it and the edit rules take over.
            submission.content_hash = None;
            submission.last_error = None;
            submission.retry_at = None;
        }
        (Some(Refusal::TemplateNameReserved), _) => {
            submission.content_hash = None;
            submission.last_error = Some(format!("{message}; {RESERVED_NOTE}"));
            submission.retry_at = Some(status_time(super::super::add_time(now, RESERVED_RETRY)));
        }
        (Some(Refusal::TemplateEditLimit), _) => {
            submission.content_hash = None;
            submission.last_error = Some(message);
            submission.retry_at = Some(status_time(now + EDIT_SPACING));
        }
        (_, ErrorClass::InvalidRequest) => {
            // Meta refused this content: stalled until the spec changes (content_hash marks it).
            submission.last_error = Some(message);
            submission.retry_at = None;
        }
        (_, class) => {
            let failures = submission.failures.unwrap_or(0).saturating_add(1);
            submission.failures = Some(failures);
            let wait = match class {
                ErrorClass::Throttled => err.retry_after.unwrap_or(DEFAULT_THROTTLE_WAIT),
                _ => FAILURE_BACKOFF
                    .delay(failures, submission.content_hash.as_deref().unwrap_or("")),
            };
            // Not a verdict on the content: the same content is sent again after the wait.
            submission.content_hash = None;
            submission.last_error = Some(message);
            submission.retry_at = Some(status_time(super::super::add_time(now, wait)));
        }
    }
}
