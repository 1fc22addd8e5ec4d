//! What the operator does next for a resource, and when: read from status (the times of the
//! next call, of the registration retry, of Meta's refusal, of the code request) and the
//! registration budget, as fields and as sentences for people.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use serde::Serialize;

use super::budget::{Budget, account_history, budget, summary};
use super::timefmt::when;
use crate::crd::{
    DeletionPolicy, Management, Phase, SecretKeyRef, StepInFlight, SyncStatus,
    TemplateDeletionPolicy, WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate,
    condition, find_condition, is_paused,
};
use crate::decide::registration_reason;

/// The operator's next moves.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Next {
    /// The paused annotation is set: no call to Meta.
    pub paused: bool,
    /// The object is being deleted.
    pub deleting: bool,
    /// The Stalled condition's reason while it is True: a person must act.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stalled: Option<String>,
    /// How often Meta is read (the account's spec.syncInterval).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<String>,
    pub failed_sync_attempts: u32,
    /// No call to Meta before this time, after failures or throttling.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
    /// A registration call sent and not yet answered.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<StepInFlight>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_requested_at: Option<Time>,
    /// The Secret key the operator reads the verification code from, while it waits for one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub awaiting_code_in: Option<SecretKeyRef>,
    /// No registration call before this time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Time>,
    /// Meta refuses register and deregister attempts until this time (133016).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Time>,
    /// The number's registration budget (Managed channels).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub budget: Option<Budget>,
    /// The above as sentences, most pressing first.
    pub plan: Vec<String>,
}

fn future(t: Option<&Time>, now: Timestamp) -> Option<Time> {
    t.filter(|t| t.0 > now).cloned()
}

fn stalled(conditions: &[Condition]) -> Option<String> {
    find_condition(conditions, condition::STALLED)
        .filter(|c| c.status == "True")
        .map(|c| c.reason.clone())
}

/// Fields every resource has: pause, deletion, stall and the failure backoff.
fn common(
    meta: &kube::core::ObjectMeta,
    conditions: &[Condition],
    sync: &SyncStatus,
    now: Timestamp,
) -> Next {
    Next {
        paused: is_paused(meta),
        deleting: meta.deletion_timestamp.is_some(),
        stalled: stalled(conditions),
        failed_sync_attempts: sync.failed_sync_attempts,
        next_attempt_time: future(sync.next_attempt_time.as_ref(), now),
        ..Default::default()
    }
}

/// A channel's next moves; `account` is its account when it exists.
pub fn channel_next(
    ch: &WhatsAppChannel,
    account: Option<&WhatsAppBusinessAccount>,
    now: Timestamp,
) -> Next {
    let status = ch.status.clone().unwrap_or_default();
    let mut next = common(&ch.metadata, &status.conditions, &status.sync, now);
    next.sync_interval = account.map(|a| a.spec.sync_interval.raw().to_string());
    let progress = status.registration.as_ref();
    next.in_flight = progress.and_then(|p| p.in_flight.clone());
    next.code_requested_at = progress.and_then(|p| p.code_requested_at.clone());
    next.retry_at = future(progress.and_then(|p| p.retry_at.as_ref()), now);
    next.blocked_until = future(progress.and_then(|p| p.blocked_until.as_ref()), now);
    let awaiting = status.phase == Phase::AwaitingVerificationCode
        || find_condition(&status.conditions, condition::REGISTERED)
            .is_some_and(|c| c.reason == registration_reason::AWAITING_CODE);
    if awaiting {
        next.awaiting_code_in = ch
            .spec
            .registration
            .as_ref()
            .and_then(|r| r.verification_code_secret_ref.clone());
    }
    if ch.spec.management == Management::Managed {
        next.budget = Some(budget(progress, account_history(ch, account), now));
    }
    next.plan = channel_plan(ch, &next, now);
    next
}

/// An account's next moves.
pub fn account_next(acc: &WhatsAppBusinessAccount, now: Timestamp) -> Next {
    let status = acc.status.clone().unwrap_or_default();
    let mut next = common(&acc.metadata, &status.conditions, &status.sync, now);
    next.sync_interval = Some(acc.spec.sync_interval.raw().to_string());
    let target = format!("waba/{}", acc.name_any());
    let mut plan = held(&target, &next, now);
    if plan.is_empty() {
        plan.push(format!(
            "next read of Meta: every {} (webhooks trigger syncs in between)",
            acc.spec.sync_interval.raw()
        ));
    }
    next.plan = plan;
    next
}

/// A template's next moves: what holds it, the write in flight or waiting, Meta's review.
pub fn template_next(
    t: &WhatsAppMessageTemplate,
    account: Option<&WhatsAppBusinessAccount>,
    now: Timestamp,
) -> Next {
    let status = t.status.clone().unwrap_or_default();
    let mut next = common(&t.metadata, &status.conditions, &status.sync, now);
    next.sync_interval = account.map(|a| a.spec.sync_interval.raw().to_string());
    let submission = status.submission.clone().unwrap_or_default();
    next.retry_at = future(submission.retry_at.as_ref(), now);
    let target = format!("wamt/{}", t.name_any());
    let mut plan = held(&target, &next, now);
    if next.deleting && t.spec.deletion_policy == TemplateDeletionPolicy::Delete {
        plan.push("deletes this language of the template at Meta before the resource goes".into());
    }
    if let Some(flight) = &submission.in_flight {
        plan.push(format!(
            "{} sent to Meta at {}: waiting for its answer",
            flight.action,
            when(flight.started_at.0, now)
        ));
    }
    if let Some(at) = &next.retry_at {
        let why = submission.last_error.as_deref().unwrap_or("Meta's limits");
        plan.push(format!(
            "next write to Meta not before {} ({why})",
            when(at.0, now)
        ));
    }
    if let Some(c) =
        find_condition(&status.conditions, condition::RECONCILING).filter(|c| c.status == "True")
    {
        plan.push(c.message.clone());
    }
    if plan.is_empty() {
        plan.push(match &next.sync_interval {
            Some(every) => format!(
                "read with waba/{} every {every} (webhooks update it in between)",
                t.spec.account_ref.name
            ),
            None => format!(
                "waits for its account waba/{}, which does not exist",
                t.spec.account_ref.name
            ),
        });
    }
    next.plan = plan;
    next
}

/// What holds a resource back: deletion, pause, stall, failure backoff.
fn held(target: &str, next: &Next, now: Timestamp) -> Vec<String> {
    let mut plan = Vec::new();
    if next.deleting {
        plan.push("being deleted".to_string());
    }
    if next.paused {
        plan.push(format!(
            "paused: no call to Meta until `kubectl whatsapp resume {target}`"
        ));
    }
    if let Some(reason) = &next.stalled {
        plan.push(format!(
            "stalled ({reason}): a person must act, as the Stalled condition says"
        ));
    }
    if let Some(t) = &next.next_attempt_time {
        plan.push(format!(
            "after {} failed syncs, the next call to Meta is at {}",
            next.failed_sync_attempts,
            when(t.0, now)
        ));
    }
    plan
}

/// The channel's sentences: what holds it, its registration, then its budget.
fn channel_plan(ch: &WhatsAppChannel, next: &Next, now: Timestamp) -> Vec<String> {
    let target = format!("wac/{}", ch.name_any());
    let mut plan = held(&target, next, now);
    if next.deleting && ch.spec.deletion_policy == DeletionPolicy::Deregister {
        plan.push("deregisters the number at Meta before the channel goes".to_string());
    }
    plan.extend(registration_plan(&target, next, now));
    if plan.is_empty() {
        plan.push(match &next.sync_interval {
            Some(every) => format!(
                "next read of Meta with waba/{}: every {every} (webhooks trigger syncs in between)",
                ch.spec.account_ref.name
            ),
            None => format!(
                "waits for its account waba/{}, which does not exist",
                ch.spec.account_ref.name
            ),
        });
    }
    if let Some(b) = &next.budget {
        plan.push(format!("registration budget: {}", summary(b, now)));
    }
    plan
}

/// Sentences of the registration flow: the call in flight, the code awaited, the waits.
fn registration_plan(target: &str, next: &Next, now: Timestamp) -> Vec<String> {
    let mut plan = Vec::new();
    if let Some(step) = &next.in_flight {
        plan.push(format!(
            "{} sent to Meta at {}: waiting for its answer",
            step.step,
            when(step.started_at.0, now)
        ));
    }
    if let Some(secret) = &next.awaiting_code_in {
        let sent = next
            .code_requested_at
            .as_ref()
            .map_or(String::new(), |t| format!(" at {}", when(t.0, now)));
        plan.push(format!(
            "waiting for the verification code Meta sent{sent}: `kubectl whatsapp verify \
             {target} CODE` writes it into Secret {} key \"{}\"",
            secret.name, secret.key
        ));
    }
    if let Some(t) = &next.blocked_until {
        plan.push(format!(
            "Meta refuses register and deregister attempts until {}",
            when(t.0, now)
        ));
    }
    if let Some(t) = &next.retry_at {
        plan.push(format!(
            "next registration call not before {}; `kubectl whatsapp sync {target}` lifts \
             this wait",
            when(t.0, now)
        ));
    }
    plan
}
