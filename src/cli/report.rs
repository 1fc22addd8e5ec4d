//! The facts `status` shows, as one document: built from the resource, its account and its
//! events by pure functions, then printed as text (`render`) or as JSON or YAML.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use serde::Serialize;

use super::events::EventEntry;
use super::next::{Next, account_next, channel_next, template_next};
use crate::crd::{
    HealthEntityStatus, HealthSummary, Phase, SecretKeyRef, WhatsAppBusinessAccount,
    WhatsAppChannel, WhatsAppMessageTemplate, condition, find_condition, is_paused,
};

/// Everything `status` knows about one resource.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusReport {
    pub kind: &'static str,
    pub namespace: String,
    pub name: String,
    /// The Ready condition's status: True, False or Unknown (also when there is none yet).
    pub ready: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub generation: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// The channel's own facts (absent for an account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<ChannelFacts>,
    /// The template's own facts (absent for a channel or an account).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template: Option<TemplateFacts>,
    /// The account itself, or the channel's account.
    pub account: AccountFacts,
    /// Health entities that are not simply AVAILABLE, with Meta's errors and solutions.
    pub health: Vec<HealthEntityStatus>,
    pub conditions: Vec<Condition>,
    /// The object's last events, newest last.
    pub events: Vec<EventEntry>,
    /// What the operator does next, and when.
    pub next: Next,
}

impl StatusReport {
    pub fn is_ready(&self) -> bool {
        self.ready == "True"
    }
}

/// A channel's number and Meta's view of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChannelFacts {
    /// As written in spec.
    pub phone_number: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    pub phase: Phase,
    /// Meta's status of the number (CONNECTED, PENDING, FLAGGED...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_send_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_status: Option<String>,
    pub management: crate::crd::Management,
    pub deletion_policy: crate::crd::DeletionPolicy,
}

/// A template and Meta's view of it.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFacts {
    /// The template's name and language at Meta, as written in spec.
    pub template: String,
    pub language: String,
    /// The spec's category; Meta's is `category`.
    pub spec_category: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,
    /// Meta's status (APPROVED, PENDING, REJECTED, PAUSED...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejection: Option<crate::crd::TemplateRejection>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category_change: Option<crate::crd::CategoryChange>,
    pub management: crate::crd::Management,
    pub deletion_policy: crate::crd::TemplateDeletionPolicy,
}

/// An account, or what is known of a channel's account.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct AccountFacts {
    pub name: String,
    /// Whether the account exists (a channel may name one that does not).
    pub found: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_account_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub can_send_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account_review_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_verification_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub webhook_subscribed: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_secret: Option<SecretKeyRef>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub credentials_expire_at: Option<Time>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sync_interval: Option<String>,
    pub paused: bool,
}

/// Conditions in the order people read them: the verdict, what blocks, then the rest as
/// status holds them.
fn ordered(mut conditions: Vec<Condition>) -> Vec<Condition> {
    let rank = |c: &Condition| {
        [
            condition::READY,
            condition::STALLED,
            condition::REGISTERED,
            condition::SYNCED,
        ]
        .iter()
        .position(|t| *t == c.type_)
        .unwrap_or(usize::MAX)
    };
    conditions.sort_by_key(rank);
    conditions
}

/// The Ready condition's status and reason; Unknown when there is none.
fn readiness(conditions: &[Condition]) -> (String, Option<String>) {
    match find_condition(conditions, condition::READY) {
        Some(c) => (c.status.clone(), Some(c.reason.clone())),
        None => ("Unknown".to_string(), None),
    }
}

/// Entities Meta reports as limited or blocked, or with errors or notes.
fn troubled(health: Option<&HealthSummary>) -> Vec<HealthEntityStatus> {
    health
        .map(|h| h.entities.as_slice())
        .unwrap_or_default()
        .iter()
        .filter(|e| {
            e.can_send_message != "AVAILABLE"
                || !e.errors.is_empty()
                || !e.additional_info.is_empty()
        })
        .cloned()
        .collect()
}

/// The facts of `name`, the account a channel names (`None`: it does not exist).
pub fn account_facts(name: &str, acc: Option<&WhatsAppBusinessAccount>) -> AccountFacts {
    let Some(acc) = acc else {
        return AccountFacts {
            name: name.to_string(),
            ..Default::default()
        };
    };
    let s = acc.status.clone().unwrap_or_default();
    let (ready, reason) = readiness(&s.conditions);
    AccountFacts {
        name: name.to_string(),
        found: true,
        business_account_id: Some(acc.spec.business_account_id.clone()),
        waba_name: s.name,
        ready: Some(ready),
        ready_reason: reason,
        can_send_message: s.health.and_then(|h| h.can_send_message),
        messaging_limit: s.messaging_limit,
        account_review_status: s.account_review_status,
        business_verification_status: s.business_verification_status,
        phone_number_count: s.phone_number_count,
        webhook_subscribed: s.webhook_subscribed,
        credentials_secret: Some(acc.spec.credentials_secret_ref.clone()),
        credentials_expire_at: s.credentials_expire_at,
        sync_interval: Some(acc.spec.sync_interval.raw().to_string()),
        paused: is_paused(&acc.metadata),
    }
}

fn channel_facts(ch: &WhatsAppChannel) -> ChannelFacts {
    let s = ch.status.clone().unwrap_or_default();
    ChannelFacts {
        phone_number: ch.spec.phone_number.raw().to_string(),
        e164: s.e164,
        phone_number_id: s.phone_number_id,
        phase: s.phase,
        status: s.status,
        quality_rating: s.quality_rating,
        messaging_limit: s.messaging_limit,
        can_send_message: s.health.and_then(|h| h.can_send_message),
        verified_name: s.verified_name,
        name_status: s.name_status,
        management: ch.spec.management,
        deletion_policy: ch.spec.deletion_policy,
    }
}

/// The report of a channel, with its account (`None` when it does not exist).
pub fn channel_report(
    ch: &WhatsAppChannel,
    account: Option<&WhatsAppBusinessAccount>,
    events: Vec<EventEntry>,
    now: Timestamp,
) -> StatusReport {
    let status = ch.status.clone().unwrap_or_default();
    let (ready, ready_reason) = readiness(&status.conditions);
    StatusReport {
        kind: "WhatsAppChannel",
        namespace: ch.namespace().unwrap_or_default(),
        name: ch.name_any(),
        ready,
        ready_reason,
        generation: ch.metadata.generation,
        observed_generation: status.observed_generation,
        channel: Some(channel_facts(ch)),
        template: None,
        account: account_facts(&ch.spec.account_ref.name, account),
        health: troubled(status.health.as_ref()),
        conditions: ordered(status.conditions),
        events,
        next: channel_next(ch, account, now),
    }
}

/// The report of an account.
pub fn account_report(
    acc: &WhatsAppBusinessAccount,
    events: Vec<EventEntry>,
    now: Timestamp,
) -> StatusReport {
    let status = acc.status.clone().unwrap_or_default();
    let (ready, ready_reason) = readiness(&status.conditions);
    StatusReport {
        kind: "WhatsAppBusinessAccount",
        namespace: acc.namespace().unwrap_or_default(),
        name: acc.name_any(),
        ready,
        ready_reason,
        generation: acc.metadata.generation,
        observed_generation: status.observed_generation,
        channel: None,
        template: None,
        account: account_facts(&acc.name_any(), Some(acc)),
        health: troubled(status.health.as_ref()),
        conditions: ordered(status.conditions),
        events,
        next: account_next(acc, now),
    }
}

fn template_facts(t: &WhatsAppMessageTemplate) -> TemplateFacts {
    let s = t.status.clone().unwrap_or_default();
    TemplateFacts {
        template: t.spec.name.clone(),
        language: t.spec.language.clone(),
        spec_category: t.spec.category.as_str().to_string(),
        template_id: s.template_id,
        status: s.status,
        category: s.category,
        quality_score: s.quality_score,
        rejection: s.rejection,
        category_change: s.category_change,
        management: t.spec.management,
        deletion_policy: t.spec.deletion_policy,
    }
}

/// The report of a template, with its account (`None` when it does not exist).
pub fn template_report(
    t: &WhatsAppMessageTemplate,
    account: Option<&WhatsAppBusinessAccount>,
    events: Vec<EventEntry>,
    now: Timestamp,
) -> StatusReport {
    let status = t.status.clone().unwrap_or_default();
    let (ready, ready_reason) = readiness(&status.conditions);
    StatusReport {
        kind: "WhatsAppMessageTemplate",
        namespace: t.namespace().unwrap_or_default(),
        name: t.name_any(),
        ready,
        ready_reason,
        generation: t.metadata.generation,
        observed_generation: status.observed_generation,
        channel: None,
        template: Some(template_facts(t)),
        account: account_facts(&t.spec.account_ref.name, account),
        health: Vec::new(),
        conditions: ordered(status.conditions),
        events,
        next: template_next(t, account, now),
    }
}
