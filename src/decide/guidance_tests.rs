use super::*;
use crate::crd::{HealthEntityStatus, OwnerBusiness, find_condition};
use crate::decide::EventType;
use crate::decide::fixtures::ts;

const T0: &str = "2026-11-23T10:00:00Z";
const T1: &str = "2026-11-23T10:10:00Z";
const T2: &str = "2026-11-23T10:20:00Z";

fn payment_error() -> HealthErrorStatus {
    HealthErrorStatus {
        code: Some(141_006),
        description: Some("There is an error with the payment method.".into()),
        possible_solution: Some("Please add a new payment method to the account.".into()),
    }
}

fn account(
    errors: Vec<HealthErrorStatus>,
    verification: &str,
    limit: &str,
) -> WhatsAppBusinessAccountStatus {
    let state = if errors.is_empty() {
        "AVAILABLE"
    } else {
        "BLOCKED"
    };
    WhatsAppBusinessAccountStatus {
        business_verification_status: Some(verification.into()),
        messaging_limit: Some(limit.into()),
        owner_business: Some(OwnerBusiness {
            id: "506914307656634".into(),
            name: Some("Acme Inc.".into()),
        }),
        health: Some(HealthSummary {
            can_send_message: Some(state.into()),
            can_receive_call_sip: None,
            entities: vec![HealthEntityStatus {
                entity_type: "WABA".into(),
                id: Some("102290129340398".into()),
                can_send_message: state.into(),
                can_receive_call_sip: None,
                errors,
                additional_info: vec![],
            }],
        }),
        ..WhatsAppBusinessAccountStatus::default()
    }
}

/// Decides `status` after `previous` (the status of the decision before), like plan_account.
fn step(
    previous: Option<&WhatsAppBusinessAccountStatus>,
    mut status: WhatsAppBusinessAccountStatus,
    now: &str,
) -> (WhatsAppBusinessAccountStatus, Vec<EventSpec>) {
    if let Some(p) = previous {
        status.conditions = p.conditions.clone();
    }
    let events = apply_account_guidance(&mut status, previous, Some(1), ts(now));
    (status, events)
}

fn cond<'a>(s: &'a WhatsAppBusinessAccountStatus, t: &str) -> (&'a str, &'a str, &'a str) {
    let c = find_condition(&s.conditions, t).unwrap_or_else(|| panic!("no {t}"));
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

fn kinds(events: &[EventSpec]) -> Vec<(&'static str, EventType)> {
    events.iter().map(|e| (e.reason, e.type_)).collect()
}

#[test]
fn an_account_without_problems_carries_no_guidance_condition() {
    let (s, events) = step(None, account(vec![], "verified", "TIER_2K"), T0);
    assert!(s.conditions.is_empty(), "{:?}", s.conditions);
    assert!(events.is_empty());
    // Not verified, but the limit grew by volume: nothing is held back, nothing to say.
    let (s, events) = step(None, account(vec![], "pending", "TIER_10K"), T0);
    assert!(s.conditions.is_empty(), "{:?}", s.conditions);
    assert!(events.is_empty());
}

#[test]
fn a_payment_error_turns_billing_ready_off_once_and_recovery_is_one_event() {
    let (blocked, events) = step(
        None,
        account(vec![payment_error()], "verified", "TIER_2K"),
        T0,
    );
    let (state, why, message) = cond(&blocked, guidance_condition::BILLING_READY);
    assert_eq!(
        (state, why),
        ("False", guidance_reason::PAYMENT_METHOD_REQUIRED)
    );
    assert!(
        message.contains("141006 There is an error with the payment method"),
        "{message}"
    );
    assert!(
        message.contains("add a credit card or the credit line"),
        "{message}"
    );
    assert!(message.contains("currency"), "{message}");
    assert_eq!(
        kinds(&events),
        vec![(reason::PAYMENT_METHOD_REQUIRED, EventType::Warning)]
    );
    let (again, events) = step(
        Some(&blocked),
        account(vec![payment_error()], "verified", "TIER_2K"),
        T1,
    );
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(again.conditions, blocked.conditions);

    let (fixed, events) = step(Some(&again), account(vec![], "verified", "TIER_2K"), T2);
    let (state, why, _) = cond(&fixed, guidance_condition::BILLING_READY);
    assert_eq!((state, why), ("True", guidance_reason::PAYMENT_METHOD_OK));
    assert_eq!(
        kinds(&events),
        vec![(reason::PAYMENT_METHOD_RESTORED, EventType::Normal)]
    );
    let (_, events) = step(Some(&fixed), account(vec![], "verified", "TIER_2K"), T2);
    assert!(events.is_empty(), "{events:?}");
}

#[test]
fn payment_problems_are_recognised_by_their_words_when_the_code_is_new() {
    let unknown_code = HealthErrorStatus {
        code: Some(999_999),
        description: Some("Your credit line was revoked.".into()),
        possible_solution: None,
    };
    assert!(
        payment_problem(
            account(vec![unknown_code], "verified", "TIER_2K")
                .health
                .as_ref()
        )
        .is_some()
    );
    let other = HealthErrorStatus {
        code: Some(131_031),
        description: Some("Business account locked".into()),
        possible_solution: None,
    };
    assert_eq!(
        payment_problem(account(vec![other], "verified", "TIER_2K").health.as_ref()),
        None
    );
}

#[test]
fn an_unverified_business_at_250_is_told_to_verify_and_verification_releases_it_once() {
    let (held, events) = step(None, account(vec![], "pending_submission", "TIER_250"), T0);
    let (state, why, message) = cond(&held, guidance_condition::BUSINESS_VERIFIED);
    assert_eq!(
        (state, why),
        ("False", guidance_reason::VERIFICATION_REQUIRED)
    );
    assert!(message.contains("Acme Inc."), "{message}");
    assert!(message.contains("pending_submission"), "{message}");
    assert!(
        message.contains("250 unique users per 24 hours"),
        "{message}"
    );
    assert!(message.contains("Start verification"), "{message}");
    assert_eq!(
        kinds(&events),
        vec![(reason::BUSINESS_VERIFICATION_REQUIRED, EventType::Warning)]
    );
    assert!(
        GuidanceStanding::of(&held).verification_hold.is_some(),
        "channels repeat it"
    );

    let (verified, events) = step(Some(&held), account(vec![], "verified", "TIER_2K"), T1);
    assert_eq!(
        cond(&verified, guidance_condition::BUSINESS_VERIFIED).1,
        guidance_reason::VERIFIED
    );
    assert_eq!(
        kinds(&events),
        vec![(reason::MESSAGING_LIMIT_RELEASED, EventType::Normal)]
    );
    assert_eq!(GuidanceStanding::of(&verified), GuidanceStanding::default());
}

#[test]
fn the_webhook_limit_stands_in_when_the_read_has_none() {
    let mut s = account(vec![], "not_verified", "TIER_2K");
    s.messaging_limit = None;
    s.capabilities = Some(crate::crd::AccountCapabilities {
        messaging_limit: Some("TIER_250".into()),
        ..Default::default()
    });
    assert!(matches!(verification(&s), Some(Verification::Required(_))));
}

#[test]
fn a_channel_hears_each_problem_with_what_to_do() {
    let standing = GuidanceStanding::of(&account(vec![payment_error()], "pending", "TIER_250"));
    let text = channel_guidance("acme", &standing).unwrap();
    assert!(
        text.contains("WhatsAppBusinessAccount acme has a payment problem"),
        "{text}"
    );
    assert!(text.contains("Payment methods"), "{text}");
    assert!(text.contains("complete business verification"), "{text}");
    assert_eq!(channel_guidance("acme", &GuidanceStanding::default()), None);
}
