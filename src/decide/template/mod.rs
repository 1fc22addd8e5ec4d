//! The decision for one `WhatsAppMessageTemplate`: Meta's view from the account's read and the
//! webhook notices, the write a Managed template needs, its conditions and events.

mod content;
mod mirror;
mod report;
mod write;

#[cfg(test)]
mod tests;

use std::time::Duration;

use jiff::Timestamp;

pub use content::{content_hash, content_of, same_components};
pub use write::{
    EDIT_SPACING, EDIT_WINDOW, EDITS_PER_WINDOW, Hold, TemplateWrite, WRITE_IN_FLIGHT, WritePlan,
    edit_allowed_at, record_intent, record_outcome,
};

use super::conditions::condition_reason as cr;
use super::events::{EventSpec, reason};
use super::pause::{pause_event, paused_message};
use super::time::until;
use crate::crd::{
    Management, TemplateDeletionPolicy, WhatsAppMessageTemplateSpec, WhatsAppMessageTemplateStatus,
};
use crate::meta::Notice;
use crate::meta::template::MessageTemplate;

/// How often a template looks again while Meta reviews it or a write is awaited (no Graph
/// call: it reads the account's snapshot; the account reads Meta on its own interval).
pub const REVIEW_RECHECK: Duration = Duration::from_secs(30);

/// What a template learns from its account's latest read.
// Built once per reconcile and moved into the plan; boxing would only add noise.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, PartialEq)]
pub enum TemplateObservation {
    /// The account's read included the WABA's templates; `found` is this one, if Meta has it.
    Read {
        found: Option<MessageTemplate>,
        /// The record of this template did not decode: Meta's view is unknown.
        malformed: Option<String>,
        read_at: Timestamp,
    },
    /// The referenced account does not exist.
    AccountMissing { name: String },
    /// The account has no good read (stalled, failing, not yet synced).
    AccountNotSynced { reason: String },
    /// An older template (`namespace/name`) of the WABA's owner names the same name and
    /// language, or the account does not own its WABA.
    ClaimedElsewhere { owner: String },
    /// The paused annotation: no call to Meta, status held as it was.
    Paused,
}

/// Everything `plan_template` decides on.
pub struct TemplateInput<'a> {
    pub spec: &'a WhatsAppMessageTemplateSpec,
    pub generation: Option<i64>,
    pub previous: Option<&'a WhatsAppMessageTemplateStatus>,
    pub observation: TemplateObservation,
    pub facts: &'a [Notice],
    /// The `reconcile-requested-at` annotation: a new value asks the account for a fresh read
    /// and is echoed in `status.lastHandledReconcileAt`.
    pub requested_at: Option<&'a str>,
    pub now: Timestamp,
}

/// The decision: the new status, its events, when to look again and at most one write.
#[derive(Clone, Debug, PartialEq)]
pub struct TemplatePlan {
    pub status: WhatsAppMessageTemplateStatus,
    pub events: Vec<EventSpec>,
    pub requeue_after: Duration,
    pub write: Option<TemplateWrite>,
    /// The plan waits for a read newer than the last write: the runtime asks the account.
    pub needs_read: bool,
}

/// The one decision per template reconcile (pure).
pub fn plan_template(input: TemplateInput<'_>) -> TemplatePlan {
    let TemplateInput {
        spec,
        generation,
        previous,
        observation,
        facts,
        requested_at,
        now,
    } = input;
    let mut status = previous.cloned().unwrap_or_default();
    let reads_meta = matches!(observation, TemplateObservation::Read { .. });
    let mut write = None;
    let mut needs_read = false;
    let mut requeue_after = REVIEW_RECHECK;
    match observation {
        TemplateObservation::Read {
            found,
            malformed,
            read_at,
        } => {
            mirror::mirror_read(&mut status, found.as_ref(), read_at);
            mirror::apply_facts(&mut status, spec, facts, now);
            report::set_ready(&mut status, generation, now);
            if let Some(error) = malformed {
                report::set_synced(
                    &mut status,
                    false,
                    cr::STATUS_UNKNOWN,
                    format!("Meta's record of the template could not be read: {error}"),
                    generation,
                    now,
                );
                report::set_progress(&mut status, None, false, generation, now);
            } else {
                report::set_synced(
                    &mut status,
                    true,
                    cr::SYNC_SUCCEEDED,
                    "read with the account's sync",
                    generation,
                    now,
                );
                let hold = match spec.management {
                    Management::ObserveOnly => None,
                    Management::Managed => {
                        write::settle_in_flight(&mut status, found.as_ref(), read_at, now);
                        match write::plan_write(spec, &status, found.as_ref(), read_at, now) {
                            WritePlan::Write(w) => {
                                write = Some(w);
                                None
                            }
                            WritePlan::Hold(h) => Some(h),
                        }
                    }
                };
                if let Some(Hold::Until { at, .. }) = &hold {
                    requeue_after =
                        until(now, *at).clamp(Duration::from_secs(1), REVIEW_RECHECK * 20);
                }
                needs_read = matches!(hold, Some(Hold::Awaiting { read: true }));
                report::set_progress(&mut status, hold.as_ref(), write.is_some(), generation, now);
            }
        }
        TemplateObservation::AccountMissing { name } => {
            let message = format!("WhatsAppBusinessAccount {name} not found in this namespace");
            not_synced(&mut status, cr::ACCOUNT_NOT_FOUND, message, generation, now);
        }
        TemplateObservation::AccountNotSynced { reason } => {
            not_synced(&mut status, cr::ACCOUNT_NOT_SYNCED, reason, generation, now);
        }
        TemplateObservation::ClaimedElsewhere { owner } => {
            let message = format!(
                "{owner} already manages this template (name and language) of the WABA; this \
                 resource makes no call to Meta while it does"
            );
            not_synced(
                &mut status,
                "TemplateClaimedElsewhere",
                message.clone(),
                generation,
                now,
            );
            report::set_progress(
                &mut status,
                Some(&Hold::Stalled {
                    reason: "TemplateClaimedElsewhere",
                    message,
                }),
                false,
                generation,
                now,
            );
        }
        TemplateObservation::Paused => {
            let message = paused_message("this template", "; its status holds what was last read");
            report::set_synced(&mut status, false, cr::PAUSED, message, generation, now);
        }
    }
    if let Some(requested) = requested_at
        && status.sync.last_handled_reconcile_at.as_deref() != Some(requested)
    {
        status.sync.last_handled_reconcile_at = Some(requested.to_owned());
        needs_read = needs_read || reads_meta;
    }
    status.observed_generation = generation;
    let mut events = report::template_events(previous, &status);
    let no_conditions = Vec::new();
    events.extend(pause_event(
        previous.map(|p| &p.conditions).unwrap_or(&no_conditions),
        &status.conditions,
        "template",
    ));
    TemplatePlan {
        status,
        events,
        requeue_after,
        write,
        needs_read,
    }
}

fn not_synced(
    status: &mut WhatsAppMessageTemplateStatus,
    why: &str,
    message: String,
    generation: Option<i64>,
    now: Timestamp,
) {
    report::set_synced(status, false, why, message, generation, now);
}

/// The events of a write's answer: the status with the intent versus the one with Meta's
/// answer (a submission, once).
pub fn outcome_events(
    before: &WhatsAppMessageTemplateStatus,
    after: &WhatsAppMessageTemplateStatus,
) -> Vec<EventSpec> {
    report::template_events(Some(before), after)
}

/// What deleting a template resource does at Meta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeletionStep {
    /// Delete this language of the template (`hsm_id`).
    Delete { name: String, template_id: String },
    /// Let the resource go; the event says why when the policy asked for a deletion.
    Release(Option<EventSpec>),
}

/// The deletion step of a template resource whose account owns it (`owner`), given Meta's
/// record from the latest read.
pub fn plan_deletion(
    spec: &WhatsAppMessageTemplateSpec,
    status: Option<&WhatsAppMessageTemplateStatus>,
    found: Option<&MessageTemplate>,
    owner: bool,
) -> DeletionStep {
    if spec.deletion_policy != TemplateDeletionPolicy::Delete
        || spec.management != Management::Managed
    {
        return DeletionStep::Release(None);
    }
    let skipped = |why: &str| {
        DeletionStep::Release(Some(EventSpec::warning(
            reason::TEMPLATE_DELETION_SKIPPED,
            format!("the template was left at Meta: {why}"),
        )))
    };
    if !owner {
        return skipped("another resource manages this template of the WABA");
    }
    let id = found
        .map(|t| t.id.clone())
        .or_else(|| status.and_then(|s| s.template_id.clone()));
    let Some(template_id) = id else {
        return DeletionStep::Release(None);
    };
    match found.and_then(|t| t.status.as_deref()) {
        Some("DISABLED") => skipped("Meta does not delete a DISABLED template"),
        Some("PENDING_DELETION" | "DELETED") => DeletionStep::Release(None),
        _ => DeletionStep::Delete {
            name: spec.name.clone(),
            template_id,
        },
    }
}

/// The event of a deletion made.
pub fn deleted_event(spec: &WhatsAppMessageTemplateSpec) -> EventSpec {
    EventSpec::normal(
        reason::TEMPLATE_DELETED,
        format!(
            "deleted the {} language of template {} at Meta; Meta keeps the name reserved for 30 days",
            spec.language, spec.name
        ),
    )
}
