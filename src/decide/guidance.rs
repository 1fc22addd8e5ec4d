//! What a person must do in Business Manager before the account can send freely: a payment
//! method (Meta's health errors), and business verification while the portfolio's messaging
//! limit is held at its starting tier.
//!
//! Each concern is a condition of the account that appears the first time the problem is seen
//! (accounts that never had it carry none, so nothing is written for them) and stays, True, once
//! it is solved; entering it is a Warning, solving it one Normal event. Channels repeat the
//! guidance in their Ready message, since alerts are per channel.

use jiff::Timestamp;

use super::conditions::{ConditionStatus, set_condition, status_of};
use super::events::{EventSpec, reason};
use crate::crd::{HealthErrorStatus, HealthSummary, WhatsAppBusinessAccountStatus};
use crate::meta::model::MessagingLimit;

/// Condition types of the account.
pub mod guidance_condition {
    /// False while Meta reports a missing or failing payment method.
    pub const BILLING_READY: &str = "BillingReady";
    /// False while the business portfolio is not verified; its reason says whether that holds
    /// the messaging limit back.
    pub const BUSINESS_VERIFIED: &str = "BusinessVerified";
}

/// Reasons of those conditions.
pub mod guidance_reason {
    pub const PAYMENT_METHOD_REQUIRED: &str = "PaymentMethodRequired";
    pub const PAYMENT_METHOD_OK: &str = "PaymentMethodOk";
    /// Not verified, and the portfolio limit is at its starting tier (250, or 50 before 2024).
    pub const VERIFICATION_REQUIRED: &str = "VerificationRequired";
    /// Not verified, but the limit grew by volume: nothing is held back now.
    pub const NOT_VERIFIED: &str = "NotVerified";
    pub const VERIFIED: &str = "Verified";
}

/// Health error codes that mean the payment method is missing or failing. 141006 is Meta's
/// documented example; 131042 is the send error "business eligibility payment issue", listed in
/// case Meta reports it as a health error too (UNCONFIRMED). Meta publishes no full list, so the
/// wording of the error decides as well.
const PAYMENT_CODES: [i64; 2] = [141_006, 131_042];

/// The highest portfolio limit that still counts as held back by verification.
const UNVERIFIED_LIMIT: u64 = 250;

const BILLING_ADVICE: &str = "in Meta Business Manager, open Business settings > Payments (or \
     WhatsApp Manager > Account tools > Payment methods), add a credit card or the credit line \
     your solution partner shares, and set the account's currency and time zone; \
     business-initiated conversations are blocked until then";

const VERIFICATION_ADVICE: &str = "complete business verification in Meta Business Manager \
     (Security Center > Start verification): an unverified business can start conversations \
     with at most 250 unique users per 24 hours, and verification raises the limit to 2,000";

/// Whether a health error means a payment-method problem.
fn is_payment_error(err: &HealthErrorStatus) -> bool {
    if err.code.is_some_and(|c| PAYMENT_CODES.contains(&c)) {
        return true;
    }
    let text = format!(
        "{} {}",
        err.description.as_deref().unwrap_or_default(),
        err.possible_solution.as_deref().unwrap_or_default()
    )
    .to_lowercase();
    text.contains("payment method") || text.contains("credit line")
}

/// Meta's words for each payment error: "WABA 1: 141006 There is an error with the payment
/// method"; `None` without one.
pub(crate) fn payment_problem(health: Option<&HealthSummary>) -> Option<String> {
    let lines: Vec<String> = health?
        .entities
        .iter()
        .flat_map(|e| {
            e.errors
                .iter()
                .filter(|err| is_payment_error(err))
                .map(|err| {
                    let who = match &e.id {
                        Some(id) => format!("{} {id}", e.entity_type),
                        None => e.entity_type.clone(),
                    };
                    let code = err.code.map(|c| format!("{c} ")).unwrap_or_default();
                    let what = err.description.as_deref().unwrap_or("payment method error");
                    format!("{who}: {code}{}", what.trim())
                })
        })
        .collect();
    (!lines.is_empty()).then(|| lines.join("; "))
}

/// The account's portfolio limit: Graph's, else the last business_capability_update's.
fn portfolio_limit(status: &WhatsAppBusinessAccountStatus) -> Option<MessagingLimit> {
    status
        .messaging_limit
        .as_deref()
        .or(status
            .capabilities
            .as_ref()
            .and_then(|c| c.messaging_limit.as_deref()))
        .map(MessagingLimit::parse)
}

/// Where verification stands: `None` when Meta did not say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Verification {
    Verified,
    /// Not verified, limit at the starting tier: the message says so.
    Required(String),
    NotVerified(String),
}

pub(crate) fn verification(status: &WhatsAppBusinessAccountStatus) -> Option<Verification> {
    let state = status.business_verification_status.as_deref()?.trim();
    if state.eq_ignore_ascii_case("verified") {
        return Some(Verification::Verified);
    }
    let business = status
        .owner_business
        .as_ref()
        .map(|b| match &b.name {
            Some(name) => format!("business portfolio {name} ({})", b.id),
            None => format!("business portfolio {}", b.id),
        })
        .unwrap_or_else(|| "the business portfolio".into());
    let limit = portfolio_limit(status);
    let held = matches!(limit, Some(MessagingLimit::Tier(n)) if n <= UNVERIFIED_LIMIT);
    let shown = limit
        .map(|l| l.canonical())
        .unwrap_or_else(|| "unknown".into());
    Some(if held {
        Verification::Required(format!(
            "business verification of {business} is {state} and the messaging limit is held at \
             {shown}: {VERIFICATION_ADVICE}"
        ))
    } else {
        Verification::NotVerified(format!(
            "business verification of {business} is {state}; the messaging limit ({shown}) is \
             not held back by it"
        ))
    })
}

/// One condition's new state.
struct Verdict {
    status: ConditionStatus,
    reason: &'static str,
    message: String,
}

fn billing_verdict(status: &WhatsAppBusinessAccountStatus) -> Verdict {
    match payment_problem(status.health.as_ref()) {
        Some(problem) => Verdict {
            status: ConditionStatus::False,
            reason: guidance_reason::PAYMENT_METHOD_REQUIRED,
            message: format!("Meta reports a payment problem ({problem}): {BILLING_ADVICE}"),
        },
        None => Verdict {
            status: ConditionStatus::True,
            reason: guidance_reason::PAYMENT_METHOD_OK,
            message: "Meta reports no payment problem".into(),
        },
    }
}

fn verification_verdict(status: &WhatsAppBusinessAccountStatus) -> Option<Verdict> {
    Some(match verification(status)? {
        Verification::Verified => Verdict {
            status: ConditionStatus::True,
            reason: guidance_reason::VERIFIED,
            message: "the business portfolio is verified".into(),
        },
        Verification::Required(message) => Verdict {
            status: ConditionStatus::False,
            reason: guidance_reason::VERIFICATION_REQUIRED,
            message,
        },
        Verification::NotVerified(message) => Verdict {
            status: ConditionStatus::False,
            reason: guidance_reason::NOT_VERIFIED,
            message,
        },
    })
}

/// Sets BillingReady and BusinessVerified from the account's status (the last good read and
/// the webhook facts) and returns the events of their transitions against `previous`.
pub(crate) fn apply_account_guidance(
    status: &mut WhatsAppBusinessAccountStatus,
    previous: Option<&WhatsAppBusinessAccountStatus>,
    generation: Option<i64>,
    now: Timestamp,
) -> Vec<EventSpec> {
    let mut events = Vec::new();
    let before = |type_: &str| {
        previous.and_then(|p| {
            p.conditions
                .iter()
                .find(|c| c.type_ == type_)
                .map(|c| c.reason.clone())
        })
    };
    let verdicts = [
        (
            guidance_condition::BILLING_READY,
            Some(billing_verdict(status)),
        ),
        (
            guidance_condition::BUSINESS_VERIFIED,
            verification_verdict(status),
        ),
    ];
    for (type_, verdict) in verdicts {
        let Some(v) = verdict else { continue };
        let present = status_of(&status.conditions, type_).is_some();
        // Only a problem brings the condition in; an account that never had one carries none.
        if !present && !is_problem(v.reason) {
            continue;
        }
        events.extend(transition_event(before(type_).as_deref(), &v));
        set_condition(
            &mut status.conditions,
            type_,
            v.status,
            v.reason,
            v.message,
            generation,
            now,
        );
    }
    events
}

fn is_problem(reason: &str) -> bool {
    matches!(
        reason,
        guidance_reason::PAYMENT_METHOD_REQUIRED | guidance_reason::VERIFICATION_REQUIRED
    )
}

fn transition_event(before: Option<&str>, v: &Verdict) -> Option<EventSpec> {
    if before == Some(v.reason) {
        return None;
    }
    match v.reason {
        guidance_reason::PAYMENT_METHOD_REQUIRED => Some(EventSpec::warning(
            reason::PAYMENT_METHOD_REQUIRED,
            v.message.clone(),
        )),
        guidance_reason::VERIFICATION_REQUIRED => Some(EventSpec::warning(
            reason::BUSINESS_VERIFICATION_REQUIRED,
            v.message.clone(),
        )),
        guidance_reason::PAYMENT_METHOD_OK
            if before == Some(guidance_reason::PAYMENT_METHOD_REQUIRED) =>
        {
            Some(EventSpec::normal(
                reason::PAYMENT_METHOD_RESTORED,
                "Meta no longer reports a payment problem: business-initiated conversations \
                 can start again",
            ))
        }
        guidance_reason::VERIFIED | guidance_reason::NOT_VERIFIED
            if before == Some(guidance_reason::VERIFICATION_REQUIRED) =>
        {
            Some(EventSpec::normal(
                reason::MESSAGING_LIMIT_RELEASED,
                format!("The messaging limit is no longer held back: {}", v.message),
            ))
        }
        _ => None,
    }
}

/// What the channel's Ready message adds: each problem of its account, with what to do.
pub(crate) fn channel_guidance(account: &str, standing: &GuidanceStanding) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(problem) = &standing.payment_problem {
        parts.push(format!(
            "WhatsAppBusinessAccount {account} has a payment problem ({problem}): {BILLING_ADVICE}"
        ));
    }
    if let Some(hold) = &standing.verification_hold {
        parts.push(format!("WhatsAppBusinessAccount {account}: {hold}"));
    }
    (!parts.is_empty()).then(|| parts.join(". "))
}

/// The account's guidance as a channel sees it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GuidanceStanding {
    pub payment_problem: Option<String>,
    pub verification_hold: Option<String>,
}

impl GuidanceStanding {
    pub fn of(status: &WhatsAppBusinessAccountStatus) -> Self {
        Self {
            payment_problem: payment_problem(status.health.as_ref()),
            verification_hold: match verification(status) {
                Some(Verification::Required(message)) => Some(message),
                _ => None,
            },
        }
    }
}

#[cfg(test)]
#[path = "guidance_tests.rs"]
mod tests;
