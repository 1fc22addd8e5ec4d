use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::*;
use crate::crd::find_condition;
use crate::decide::EventType;
use crate::decide::fixtures::*;
use crate::meta::model::{QualityScore, Throughput};

const T0: &str = "2026-11-23T10:00:00Z";
const T1: &str = "2026-11-23T10:10:00Z";
const T2: &str = "2026-11-23T10:20:00Z";
const INTERVAL: Duration = Duration::from_secs(600);

fn found(n: PhoneNumber) -> ChannelObservation {
    ChannelObservation::Number { number: n }
}

fn decide_as(
    management: Management,
    previous: Option<&WhatsAppChannelStatus>,
    observation: &ChannelObservation,
    now: &str,
) -> ChannelDecision {
    decide_channel(
        &channel_spec(management),
        Some(1),
        previous,
        observation,
        INTERVAL,
        None,
        ts(now),
    )
}

fn decide(
    previous: Option<&WhatsAppChannelStatus>,
    observation: &ChannelObservation,
    now: &str,
) -> ChannelDecision {
    decide_as(Management::Managed, previous, observation, now)
}

fn cond<'a>(status: &'a WhatsAppChannelStatus, type_: &str) -> &'a Condition {
    find_condition(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"))
}

fn summary<'a>(status: &'a WhatsAppChannelStatus, type_: &str) -> (&'a str, &'a str) {
    let c = cond(status, type_);
    (c.status.as_str(), c.reason.as_str())
}

fn reasons(events: &[EventSpec]) -> Vec<(&'static str, EventType)> {
    events.iter().map(|e| (e.reason, e.type_)).collect()
}

fn with(f: impl FnOnce(&mut PhoneNumber)) -> PhoneNumber {
    let mut n = number();
    f(&mut n);
    n
}

fn status_of(s: NumberStatus) -> PhoneNumber {
    with(|n| n.status = Some(s))
}

/// Events when the number goes from `before` to `after` between two syncs.
fn transition(before: PhoneNumber, after: PhoneNumber) -> Vec<EventSpec> {
    let first = decide(None, &found(before), T0);
    let second = decide(Some(&first.status), &found(after.clone()), T1);
    let third = decide(Some(&second.status), &found(after), T2);
    assert!(third.events.is_empty(), "repeated: {:?}", third.events);
    second.events
}

#[test]
fn status_mirrors_every_field_of_the_number() {
    let d = decide_channel(
        &channel_spec(Management::Managed),
        Some(4),
        None,
        &found(number()),
        INTERVAL,
        Some("resync-7"),
        ts("2026-11-23T10:00:00.4Z"),
    );
    let s = &d.status;
    assert_eq!(s.e164.as_deref(), Some("+5511987654321"));
    assert_eq!(s.phone_number_id.as_deref(), Some(NUMBER_ID));
    assert_eq!(s.display_phone_number.as_deref(), Some("+55 11 98765-4321"));
    assert_eq!(s.verified_name.as_deref(), Some("Acme Store"));
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    assert_eq!(s.quality_rating.as_deref(), Some("GREEN"));
    assert_eq!(s.messaging_limit.as_deref(), Some("TIER_2K"));
    assert_eq!(s.messaging_limit_tier.as_deref(), Some("TIER_1K"));
    assert_eq!(s.name_status.as_deref(), Some("APPROVED"));
    assert_eq!(s.new_name_status, None);
    assert_eq!(s.code_verification_status.as_deref(), Some("VERIFIED"));
    assert_eq!(s.platform_type.as_deref(), Some("CLOUD_API"));
    assert_eq!(s.throughput.as_deref(), Some("STANDARD"));
    assert_eq!(s.account_mode.as_deref(), Some("LIVE"));
    assert_eq!(s.is_on_biz_app, Some(false));
    assert_eq!(s.is_pin_enabled, Some(true));
    assert_eq!(
        s.last_onboarded_time.as_deref(),
        Some("2025-03-01T10:00:00+0000")
    );
    let health = s.health.as_ref().unwrap();
    assert_eq!(health.can_send_message.as_deref(), Some("AVAILABLE"));
    let kinds: Vec<_> = health
        .entities
        .iter()
        .map(|e| e.entity_type.as_str())
        .collect();
    assert_eq!(kinds, ["PHONE_NUMBER", "WABA", "BUSINESS", "APP"]);
    assert_eq!(s.phase, Phase::Connected);
    assert_eq!(s.observed_generation, Some(4));
    assert_eq!(s.sync.last_sync_time.as_ref(), Some(&at(T0)));
    assert_eq!(
        s.sync.last_handled_reconcile_at.as_deref(),
        Some("resync-7")
    );
    assert_eq!(d.requeue_after, INTERVAL);
}

#[test]
fn fallbacks_for_quality_and_limit() {
    let n = with(|n| {
        n.quality_rating = None;
        n.quality_score = Some(QualityScore {
            score: QualityRating::Yellow,
            date: Some(1_700_000_000),
            reasons: vec![],
        });
        n.whatsapp_business_manager_messaging_limit = None;
        n.messaging_limit_tier = Some(MessagingLimit::Tier(10_000));
        n.throughput = Some(Throughput {
            level: "HIGH".into(),
        });
    });
    let s = decide(None, &found(n), T0).status;
    assert_eq!(s.quality_rating.as_deref(), Some("YELLOW"));
    assert_eq!(s.messaging_limit.as_deref(), Some("TIER_10K"));
    assert_eq!(s.messaging_limit_tier.as_deref(), Some("TIER_10K"));
    assert_eq!(s.throughput.as_deref(), Some("HIGH"));
    // quality_rating wins when both are present.
    let both = with(|n| {
        n.quality_score = Some(QualityScore {
            score: QualityRating::Red,
            date: None,
            reasons: vec![],
        })
    });
    let s = decide(None, &found(both), T0).status;
    assert_eq!(s.quality_rating.as_deref(), Some("GREEN"));
}

#[test]
fn a_connected_number_is_ready_registered_synced_and_not_stalled() {
    let d = decide(None, &found(number()), T0);
    assert_eq!(summary(&d.status, condition::READY), ("True", "Available"));
    assert_eq!(
        summary(&d.status, condition::REGISTERED),
        ("True", "Registered")
    );
    assert_eq!(
        summary(&d.status, condition::SYNCED),
        ("True", "SyncSucceeded")
    );
    assert_eq!(
        summary(&d.status, condition::STALLED),
        ("False", "NoActionNeeded")
    );
    assert!(
        d.status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(1))
    );
    assert!(d.events.is_empty(), "{:?}", d.events);
}

#[test]
fn phase_ready_and_registered_by_meta_state() {
    use CanSendMessage::{Available as A, Blocked as B, Limited as L};
    struct Case {
        name: &'static str,
        number: PhoneNumber,
        phase: Phase,
        ready: (&'static str, &'static str),
        registered: (&'static str, &'static str),
    }
    let case = |name, number, phase, ready, registered| Case {
        name,
        number,
        phase,
        ready,
        registered,
    };
    let cases = vec![
        case(
            "connected",
            number(),
            Phase::Connected,
            ("True", "Available"),
            ("True", "Registered"),
        ),
        case(
            "flagged",
            status_of(NumberStatus::Flagged),
            Phase::Degraded,
            ("False", "Flagged"),
            ("True", "Registered"),
        ),
        case(
            "rate limited",
            status_of(NumberStatus::RateLimited),
            Phase::Degraded,
            ("False", "RateLimited"),
            ("True", "Registered"),
        ),
        case(
            "yellow",
            with(|n| n.quality_rating = Some(QualityRating::Yellow)),
            Phase::Degraded,
            ("True", "Available"),
            ("True", "Registered"),
        ),
        case(
            "red",
            with(|n| n.quality_rating = Some(QualityRating::Red)),
            Phase::Degraded,
            ("True", "Available"),
            ("True", "Registered"),
        ),
        case(
            "not rated",
            with(|n| n.quality_rating = Some(QualityRating::Na)),
            Phase::Connected,
            ("True", "Available"),
            ("True", "Registered"),
        ),
        case(
            "health limited",
            with(|n| n.health_status = Some(health(A, A, L, A))),
            Phase::Degraded,
            ("True", "Limited"),
            ("True", "Registered"),
        ),
        case(
            "restricted",
            status_of(NumberStatus::Restricted),
            Phase::Blocked,
            ("False", "Restricted"),
            ("True", "Registered"),
        ),
        case(
            "banned",
            status_of(NumberStatus::Banned),
            Phase::Blocked,
            ("False", "Banned"),
            ("True", "Registered"),
        ),
        case(
            "disconnected",
            status_of(NumberStatus::Disconnected),
            Phase::Blocked,
            ("False", "Disconnected"),
            ("False", "Disconnected"),
        ),
        case(
            "deleted",
            status_of(NumberStatus::Deleted),
            Phase::Blocked,
            ("False", "Deleted"),
            ("False", "Deleted"),
        ),
        case(
            "migrated",
            status_of(NumberStatus::Migrated),
            Phase::Blocked,
            ("False", "Migrated"),
            ("True", "Registered"),
        ),
        case(
            "waba blocked",
            with(|n| n.health_status = Some(health(A, B, A, A))),
            Phase::Blocked,
            ("False", "Blocked"),
            ("True", "Registered"),
        ),
        case(
            "number blocked",
            with(|n| n.health_status = Some(health(B, A, A, A))),
            Phase::Blocked,
            ("False", "Blocked"),
            ("True", "Registered"),
        ),
        case(
            "pending",
            with(|n| {
                n.status = Some(NumberStatus::Pending);
                n.platform_type = Some(PlatformType::NotApplicable);
            }),
            Phase::Pending,
            ("False", "Pending"),
            ("False", "NotOnCloudApi"),
        ),
        case(
            "pending on cloud",
            status_of(NumberStatus::Pending),
            Phase::Pending,
            ("False", "Pending"),
            ("False", "Pending"),
        ),
        case(
            "unverified",
            status_of(NumberStatus::Unverified),
            Phase::Pending,
            ("False", "Unverified"),
            ("False", "Unverified"),
        ),
        case(
            "no status",
            with(|n| n.status = None),
            Phase::Pending,
            ("False", "StatusUnknown"),
            ("False", "StatusUnknown"),
        ),
        case(
            "on premise",
            with(|n| n.platform_type = Some(PlatformType::OnPremise)),
            Phase::Connected,
            ("True", "Available"),
            ("False", "NotOnCloudApi"),
        ),
        case(
            "no platform",
            with(|n| n.platform_type = None),
            Phase::Connected,
            ("True", "Available"),
            ("False", "NotOnCloudApi"),
        ),
        case(
            "unknown status",
            status_of(NumberStatus::Other("PAUSED".into())),
            Phase::Degraded,
            ("False", "Paused"),
            ("True", "Registered"),
        ),
        case(
            "pending but waba blocked",
            with(|n| {
                n.status = Some(NumberStatus::Pending);
                n.health_status = Some(health(A, B, A, A));
            }),
            Phase::Blocked,
            ("False", "Blocked"),
            ("False", "Pending"),
        ),
    ];
    for c in cases {
        let d = decide(None, &found(c.number), T0);
        assert_eq!(d.status.phase, c.phase, "{}", c.name);
        assert_eq!(summary(&d.status, condition::READY), c.ready, "{}", c.name);
        assert_eq!(
            summary(&d.status, condition::REGISTERED),
            c.registered,
            "{}",
            c.name
        );
    }
}

#[test]
fn a_blocked_waba_reaches_the_channel_with_its_solution() {
    use CanSendMessage::{Available as A, Blocked as B};
    let first = decide(None, &found(number()), T0);
    let d = decide(
        Some(&first.status),
        &found(with(|n| n.health_status = Some(health(A, B, A, A)))),
        T1,
    );
    assert_eq!(
        reasons(&d.events),
        [("MessagingBlocked", EventType::Warning)]
    );
    assert_eq!(
        d.events[0].note,
        format!(
            "Messaging is BLOCKED: WABA {WABA_ID} is BLOCKED: 141006 There is an error with the \
             payment method. This will block business initiated conversations. Solution: There \
             was an error with your payment method. Please add a new payment method to the \
             account."
        )
    );
    let ready = cond(&d.status, condition::READY);
    assert_eq!(
        ready.message,
        format!(
            "number +5511987654321 cannot send messages: WABA {WABA_ID} is BLOCKED: 141006 There \
             is an error with the payment method. This will block business initiated \
             conversations. Solution: There was an error with your payment method. Please add a \
             new payment method to the account."
        )
    );
    let errors = &d.status.health.as_ref().unwrap().entities[1].errors;
    assert_eq!(errors[0].code, Some(141006));
}

#[test]
fn messaging_health_transitions() {
    use CanSendMessage::{Available as A, Blocked as B, Limited as L};
    let h = |n, w, b, a| with(|p| p.health_status = Some(health(n, w, b, a)));
    let cases = vec![
        (
            "blocked",
            h(A, A, A, A),
            h(B, A, A, A),
            vec![("MessagingBlocked", EventType::Warning)],
        ),
        (
            "business blocks all",
            h(A, A, A, A),
            h(A, A, B, A),
            vec![("MessagingBlocked", EventType::Warning)],
        ),
        (
            "app blocks all",
            h(A, A, A, A),
            h(A, A, A, B),
            vec![("MessagingBlocked", EventType::Warning)],
        ),
        (
            "limited",
            h(A, A, A, A),
            h(A, L, A, A),
            vec![("MessagingLimited", EventType::Warning)],
        ),
        (
            "blocked to limited",
            h(B, A, A, A),
            h(L, A, A, A),
            vec![("MessagingLimited", EventType::Warning)],
        ),
        (
            "recovered from blocked",
            h(A, B, A, A),
            h(A, A, A, A),
            vec![("MessagingAvailable", EventType::Normal)],
        ),
        (
            "recovered from limited",
            h(L, A, A, A),
            h(A, A, A, A),
            vec![("MessagingAvailable", EventType::Normal)],
        ),
        (
            "other entity blocked too",
            h(B, A, A, A),
            h(B, B, A, A),
            vec![],
        ),
    ];
    for (name, before, after, expected) in cases {
        assert_eq!(reasons(&transition(before, after)), expected, "{name}");
    }
    let limited = transition(h(A, A, A, A), h(A, A, L, A));
    assert_eq!(
        limited[0].note,
        format!(
            "Messaging is LIMITED: BUSINESS {BUSINESS_ID} is LIMITED: Business verification is pending."
        )
    );
    let back = transition(h(B, A, A, A), h(A, A, A, A));
    assert_eq!(back[0].note, "Messaging is available again (was BLOCKED)");
}

#[test]
fn operating_status_transitions() {
    use NumberStatus::*;
    let registered = ("Registered", EventType::Normal);
    let cases = vec![
        (
            Connected,
            Flagged,
            vec![("NumberFlagged", EventType::Warning)],
        ),
        (
            Flagged,
            Connected,
            vec![("NumberUnflagged", EventType::Normal)],
        ),
        (
            Flagged,
            Restricted,
            vec![
                ("NumberRestricted", EventType::Warning),
                ("NumberUnflagged", EventType::Normal),
            ],
        ),
        (
            Connected,
            Restricted,
            vec![("NumberRestricted", EventType::Warning)],
        ),
        (
            Connected,
            Banned,
            vec![("NumberBanned", EventType::Warning)],
        ),
        (
            Connected,
            Disconnected,
            vec![("NumberDisconnected", EventType::Warning)],
        ),
        (
            Connected,
            Deleted,
            vec![("NumberDeleted", EventType::Warning)],
        ),
        (
            Restricted,
            Connected,
            vec![("NumberRecovered", EventType::Normal)],
        ),
        (
            Banned,
            Connected,
            vec![("NumberRecovered", EventType::Normal)],
        ),
        (
            RateLimited,
            Connected,
            vec![("NumberRecovered", EventType::Normal)],
        ),
        (Pending, Connected, vec![registered]),
        (Disconnected, Connected, vec![registered]),
        (Unverified, Connected, vec![registered]),
        (Connected, RateLimited, vec![]),
        (Connected, Pending, vec![]),
        (Connected, Connected, vec![]),
        (Restricted, Restricted, vec![]),
    ];
    for (before, after, expected) in cases {
        let events = transition(status_of(before.clone()), status_of(after.clone()));
        assert_eq!(reasons(&events), expected, "{before} -> {after}");
    }
    let flagged = transition(number(), status_of(Flagged));
    assert_eq!(flagged[0].note, "Meta flagged the number (was CONNECTED)");
    let unflagged = transition(status_of(Flagged), number());
    assert_eq!(
        unflagged[0].note,
        "The number is no longer flagged (status CONNECTED)"
    );
}

#[test]
fn moving_to_the_cloud_api_is_a_registration() {
    let on_prem = with(|n| n.platform_type = Some(PlatformType::OnPremise));
    assert_eq!(
        reasons(&transition(on_prem, number())),
        [("Registered", EventType::Normal)]
    );
}

#[test]
fn first_observation_reports_only_problems() {
    use CanSendMessage::{Available as A, Blocked as B};
    let troubled = with(|n| {
        n.status = Some(NumberStatus::Flagged);
        n.quality_rating = Some(QualityRating::Red);
        n.name_status = Some(NameStatus::Declined);
        n.health_status = Some(health(A, B, A, A));
    });
    let d = decide(None, &found(troubled), T0);
    assert_eq!(
        reasons(&d.events),
        [
            ("NumberFlagged", EventType::Warning),
            ("QualityDegraded", EventType::Warning),
            ("NameRejected", EventType::Warning),
            ("MessagingBlocked", EventType::Warning),
        ]
    );
    assert_eq!(d.events[0].note, "Meta flagged the number");
    assert_eq!(d.events[1].note, "Quality rating is RED");
    // Everything fine on first sight, or an adopted connected number: no events at all.
    let fine = with(|n| {
        n.messaging_limit_tier = Some(MessagingLimit::Unlimited);
        n.new_name_status = Some(NameStatus::Approved);
    });
    assert!(decide(None, &found(fine), T0).events.is_empty());
}

#[test]
fn quality_transitions() {
    use QualityRating::*;
    let q = |r: QualityRating| with(|n| n.quality_rating = Some(r));
    let cases = vec![
        (
            Green,
            Yellow,
            vec![("QualityDegraded", EventType::Warning)],
            Some("Quality rating dropped from GREEN to YELLOW"),
        ),
        (
            Yellow,
            Red,
            vec![("QualityDegraded", EventType::Warning)],
            Some("Quality rating dropped from YELLOW to RED"),
        ),
        (
            Green,
            Red,
            vec![("QualityDegraded", EventType::Warning)],
            Some("Quality rating dropped from GREEN to RED"),
        ),
        (
            Red,
            Green,
            vec![("QualityRecovered", EventType::Normal)],
            Some("Quality rating recovered from RED to GREEN"),
        ),
        (
            Yellow,
            Green,
            vec![("QualityRecovered", EventType::Normal)],
            Some("Quality rating recovered from YELLOW to GREEN"),
        ),
        (
            Red,
            Yellow,
            vec![("QualityRecovered", EventType::Normal)],
            None,
        ),
        (Green, Na, vec![], None),
        (Red, Unknown, vec![], None),
        (Na, Green, vec![], None),
        (Unknown, Green, vec![], None),
        (
            Na,
            Red,
            vec![("QualityDegraded", EventType::Warning)],
            Some("Quality rating is RED"),
        ),
        (Green, Green, vec![], None),
    ];
    for (before, after, expected, note) in cases {
        let events = transition(q(before.clone()), q(after.clone()));
        assert_eq!(reasons(&events), expected, "{before} -> {after}");
        if let Some(note) = note {
            assert_eq!(events[0].note, note);
        }
    }
}

#[test]
fn messaging_limit_transitions() {
    use MessagingLimit::*;
    let l =
        |limit: MessagingLimit| with(|n| n.whatsapp_business_manager_messaging_limit = Some(limit));
    let cases = vec![
        (
            Tier(2_000),
            Tier(10_000),
            vec![("MessagingLimitIncreased", EventType::Normal)],
            Some("Messaging limit increased from TIER_2K to TIER_10K"),
        ),
        (
            Tier(100_000),
            Unlimited,
            vec![("MessagingLimitIncreased", EventType::Normal)],
            Some("Messaging limit increased from TIER_100K to TIER_UNLIMITED"),
        ),
        (
            Tier(10_000),
            Tier(250),
            vec![("MessagingLimitDecreased", EventType::Warning)],
            Some("Messaging limit decreased from TIER_10K to TIER_250"),
        ),
        (Untiered, Tier(2_000), vec![], None),
        (Tier(2_000), NotSet, vec![], None),
        (Tier(2_000), Tier(2_000), vec![], None),
    ];
    for (before, after, expected, note) in cases {
        let events = transition(l(before.clone()), l(after.clone()));
        assert_eq!(reasons(&events), expected, "{before:?} -> {after:?}");
        if let Some(note) = note {
            assert_eq!(events[0].note, note);
        }
    }
    // The legacy tier counts when the portfolio limit is not reported.
    let legacy = |limit| {
        with(|n| {
            n.whatsapp_business_manager_messaging_limit = None;
            n.messaging_limit_tier = Some(limit);
        })
    };
    assert_eq!(
        reasons(&transition(legacy(Tier(1_000)), legacy(Tier(250)))),
        [("MessagingLimitDecreased", EventType::Warning)]
    );
}

#[test]
fn display_name_transitions() {
    use NameStatus as N;
    let names = |current: Option<NameStatus>, requested: Option<NameStatus>| {
        with(|n| {
            n.name_status = current;
            n.new_name_status = requested;
        })
    };
    let cases = vec![
        (
            names(Some(N::PendingReview), None),
            names(Some(N::Approved), None),
            vec![("NameApproved", EventType::Normal)],
        ),
        (
            names(Some(N::PendingReview), None),
            names(Some(N::Declined), None),
            vec![("NameRejected", EventType::Warning)],
        ),
        (
            names(Some(N::AvailableWithoutReview), None),
            names(Some(N::Approved), None),
            vec![("NameApproved", EventType::Normal)],
        ),
        (
            names(Some(N::Approved), None),
            names(Some(N::Approved), Some(N::PendingReview)),
            vec![],
        ),
        (
            names(Some(N::Approved), Some(N::PendingReview)),
            names(Some(N::Approved), Some(N::Approved)),
            vec![("NameApproved", EventType::Normal)],
        ),
        (
            names(Some(N::Approved), None),
            names(Some(N::Approved), Some(N::Approved)),
            vec![("NameApproved", EventType::Normal)],
        ),
        (
            names(Some(N::Approved), Some(N::PendingReview)),
            names(Some(N::Approved), Some(N::Declined)),
            vec![("NameRejected", EventType::Warning)],
        ),
        (
            names(Some(N::Declined), None),
            names(Some(N::Declined), None),
            vec![],
        ),
        (
            names(Some(N::Approved), None),
            names(Some(N::Expired), None),
            vec![],
        ),
    ];
    for (i, (before, after, expected)) in cases.into_iter().enumerate() {
        assert_eq!(reasons(&transition(before, after)), expected, "case {i}");
    }
    let approved = transition(
        names(Some(N::PendingReview), None),
        names(Some(N::Approved), None),
    );
    assert_eq!(approved[0].note, "Display name \"Acme Store\" was approved");
}

#[test]
fn a_rejection_reason_from_a_webhook_is_kept_while_the_name_is_declined() {
    let declined = with(|n| n.name_status = Some(NameStatus::Declined));
    let mut prev = decide(None, &found(declined.clone()), T0).status;
    prev.name_rejection_reason = Some("NAME_FORMAT_UNACCEPTABLE".into());
    let d = decide(Some(&prev), &found(declined), T1);
    assert_eq!(
        d.status.name_rejection_reason.as_deref(),
        Some("NAME_FORMAT_UNACCEPTABLE")
    );
    let d = decide(Some(&d.status), &found(number()), T2);
    assert_eq!(d.status.name_rejection_reason, None);
    assert_eq!(reasons(&d.events), [("NameApproved", EventType::Normal)]);
}

#[test]
fn restart_idempotence_for_every_kind_of_observation() {
    use CanSendMessage::{Available as A, Blocked as B};
    let observations = vec![
        found(number()),
        found(with(|n| {
            n.status = Some(NumberStatus::Flagged);
            n.quality_rating = Some(QualityRating::Red);
            n.health_status = Some(health(A, B, A, A));
        })),
        ChannelObservation::NotInWaba,
        ChannelObservation::AccountMissing {
            name: "acme".into(),
        },
        ChannelObservation::AccountNotSynced {
            reason: "the account is stalled: CredentialsInvalid".into(),
        },
        ChannelObservation::InvalidSpec {
            message: "phone number must have 8 to 15 digits".into(),
        },
    ];
    for management in [Management::Managed, Management::ObserveOnly] {
        for obs in &observations {
            for prev in [None, Some(decide(None, &found(number()), T0).status)] {
                let first = decide_as(management, prev.as_ref(), obs, T1);
                let again = decide_as(management, Some(&first.status), obs, T1);
                assert_eq!(again.status, first.status, "{management:?} {obs:?}");
                assert!(
                    again.events.is_empty(),
                    "{management:?} {obs:?}: {:?}",
                    again.events
                );
                let later = decide_as(management, Some(&first.status), obs, T2);
                assert!(
                    later.events.is_empty(),
                    "{management:?} {obs:?}: {:?}",
                    later.events
                );
                assert_eq!(
                    later.status.conditions, first.status.conditions,
                    "{management:?} {obs:?}"
                );
            }
        }
    }
}

#[test]
fn transition_times_move_only_on_flips() {
    let d0 = decide(None, &found(number()), T0);
    let d1 = decide(
        Some(&d0.status),
        &found(with(|n| n.quality_rating = Some(QualityRating::Yellow))),
        T1,
    );
    assert!(
        d1.status
            .conditions
            .iter()
            .all(|c| c.last_transition_time == Time(ts(T0)))
    );
    assert_eq!(d1.status.phase, Phase::Degraded);
    let d2 = decide(
        Some(&d1.status),
        &found(status_of(NumberStatus::Banned)),
        T2,
    );
    assert_eq!(
        cond(&d2.status, condition::READY).last_transition_time,
        Time(ts(T2))
    );
    assert_eq!(
        cond(&d2.status, condition::REGISTERED).last_transition_time,
        Time(ts(T0))
    );
    assert_eq!(
        cond(&d2.status, condition::SYNCED).last_transition_time,
        Time(ts(T0))
    );
}

#[test]
fn a_managed_number_not_in_the_waba_is_being_added_not_stalled() {
    let d = decide(None, &ChannelObservation::NotInWaba, T0);
    assert_eq!(d.status.phase, Phase::Adding);
    assert_eq!(
        summary(&d.status, condition::REGISTERED),
        ("False", "NotInWaba")
    );
    assert_eq!(summary(&d.status, condition::READY), ("False", "NotInWaba"));
    assert_eq!(
        summary(&d.status, condition::STALLED),
        ("False", "NoActionNeeded")
    );
    assert_eq!(
        summary(&d.status, condition::SYNCED),
        ("True", "SyncSucceeded")
    );
    assert!(d.events.is_empty());
    assert_eq!(d.requeue_after, INTERVAL);

    // Meta then lists it as PENDING, then CONNECTED: registration is announced once.
    let pending = decide(
        Some(&d.status),
        &found(status_of(NumberStatus::Pending)),
        T1,
    );
    assert!(pending.events.is_empty(), "{:?}", pending.events);
    assert_eq!(pending.status.phase, Phase::Pending);
    let connected = decide(Some(&pending.status), &found(number()), T2);
    assert_eq!(
        reasons(&connected.events),
        [("Registered", EventType::Normal)]
    );
    assert_eq!(connected.status.phase, Phase::Connected);

    // Straight from absent to CONNECTED is a registration too.
    let direct = decide(Some(&d.status), &found(number()), T1);
    assert_eq!(reasons(&direct.events), [("Registered", EventType::Normal)]);
}

#[test]
fn an_observe_only_number_not_in_the_waba_stalls_with_advice() {
    let d = decide_as(
        Management::ObserveOnly,
        None,
        &ChannelObservation::NotInWaba,
        T0,
    );
    let stalled = cond(&d.status, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "NotInWaba")
    );
    assert_eq!(
        stalled.message,
        "number +5511987654321 is not in the WABA of WhatsAppBusinessAccount acme: add it in \
         WhatsApp Manager, or recreate this WhatsAppChannel with the right spec.phoneNumber"
    );
    assert_eq!(
        summary(&d.status, condition::SYNCED),
        ("True", "SyncSucceeded")
    );
    assert_eq!(summary(&d.status, condition::READY), ("False", "NotInWaba"));
    assert_eq!(d.status.phase, Phase::NotFound);
    assert_eq!(
        reasons(&d.events),
        [("NumberNotInWaba", EventType::Warning)]
    );

    // Added in WhatsApp Manager: the stall clears.
    let added = decide_as(
        Management::ObserveOnly,
        Some(&d.status),
        &found(number()),
        T1,
    );
    assert_eq!(
        summary(&added.status, condition::STALLED),
        ("False", "NoActionNeeded")
    );
    assert_eq!(added.status.phase, Phase::Connected);
}

#[test]
fn a_number_that_disappears_is_reported_once_and_its_mirror_cleared() {
    for management in [Management::Managed, Management::ObserveOnly] {
        let present = decide_as(management, None, &found(number()), T0);
        let gone = decide_as(
            management,
            Some(&present.status),
            &ChannelObservation::NotInWaba,
            T1,
        );
        assert_eq!(
            reasons(&gone.events),
            [("NumberNotFound", EventType::Warning)],
            "{management:?}"
        );
        assert_eq!(
            gone.events[0].note,
            "Number +5511987654321 is no longer in the WABA of WhatsAppBusinessAccount acme"
        );
        let s = &gone.status;
        assert_eq!(s.phone_number_id, None);
        assert_eq!(s.status, None);
        assert_eq!(s.health, None);
        assert_eq!(s.quality_rating, None);
        assert_eq!(s.e164.as_deref(), Some("+5511987654321"));
        assert_eq!(s.sync.last_sync_time.as_ref(), Some(&at(T1)));
        let still_gone = decide_as(
            management,
            Some(&gone.status),
            &ChannelObservation::NotInWaba,
            T2,
        );
        assert!(still_gone.events.is_empty());
    }
}

#[test]
fn a_missing_account_stalls_and_keeps_what_was_known() {
    let ok = decide(None, &found(number()), T0);
    let obs = ChannelObservation::AccountMissing {
        name: "acme".into(),
    };
    let d = decide(Some(&ok.status), &obs, T1);
    let stalled = cond(&d.status, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "AccountNotFound")
    );
    assert_eq!(
        stalled.message,
        "WhatsAppBusinessAccount acme not found in this namespace: create it (spec.accountRef \
         cannot be changed)"
    );
    assert_eq!(
        summary(&d.status, condition::SYNCED),
        ("False", "AccountNotFound")
    );
    assert_eq!(
        summary(&d.status, condition::READY),
        ("False", "AccountNotFound")
    );
    assert_eq!(
        summary(&d.status, condition::REGISTERED),
        ("True", "Registered")
    );
    assert_eq!(d.status.phase, Phase::Stalled);
    assert_eq!(d.status.phone_number_id.as_deref(), Some(NUMBER_ID));
    assert_eq!(d.status.sync.last_sync_time.as_ref(), Some(&at(T0)));
    assert_eq!(
        reasons(&d.events),
        [("AccountNotFound", EventType::Warning)]
    );

    let back = decide(Some(&d.status), &found(number()), T2);
    assert!(back.events.is_empty(), "{:?}", back.events);
    assert_eq!(
        summary(&back.status, condition::STALLED),
        ("False", "NoActionNeeded")
    );
    assert_eq!(
        summary(&back.status, condition::READY),
        ("True", "Available")
    );
    assert_eq!(back.status.phase, Phase::Connected);
}

#[test]
fn an_unsynced_account_leaves_the_last_known_state() {
    let obs = ChannelObservation::AccountNotSynced {
        reason: "the account is stalled: CredentialsInvalid".into(),
    };
    let fresh = decide(None, &obs, T0);
    assert_eq!(
        summary(&fresh.status, condition::READY),
        ("Unknown", "AwaitingSync")
    );
    assert_eq!(
        summary(&fresh.status, condition::REGISTERED),
        ("Unknown", "AwaitingSync")
    );
    assert_eq!(
        summary(&fresh.status, condition::SYNCED),
        ("False", "AccountNotSynced")
    );
    assert_eq!(
        summary(&fresh.status, condition::STALLED),
        ("False", "NoActionNeeded")
    );
    assert_eq!(fresh.status.phase, Phase::Pending);
    assert_eq!(fresh.requeue_after, Duration::from_secs(60));
    assert!(fresh.events.is_empty());

    let flagged = decide(None, &found(status_of(NumberStatus::Flagged)), T0);
    let d = decide(Some(&flagged.status), &obs, T1);
    assert!(d.events.is_empty());
    assert_eq!(d.status.phase, Phase::Degraded);
    assert_eq!(d.status.status.as_deref(), Some("FLAGGED"));
    assert_eq!(
        cond(&d.status, condition::READY),
        cond(&flagged.status, condition::READY)
    );
    assert_eq!(
        cond(&d.status, condition::SYNCED).message,
        "WhatsAppBusinessAccount acme has no current data from Meta: the account is stalled: \
         CredentialsInvalid"
    );
    // The account comes back with the same data: nothing to announce.
    let back = decide(
        Some(&d.status),
        &found(status_of(NumberStatus::Flagged)),
        T2,
    );
    assert!(back.events.is_empty());

    let adding = decide(None, &ChannelObservation::NotInWaba, T0);
    let d = decide(Some(&adding.status), &obs, T1);
    assert_eq!(d.status.phase, Phase::Adding);
    assert_eq!(
        summary(&d.status, condition::REGISTERED),
        ("False", "NotInWaba")
    );
}

#[test]
fn an_unparseable_phone_number_is_an_invalid_spec_whatever_was_observed() {
    let mut spec = channel_spec(Management::Managed);
    spec.phone_number = "+55 11 CALL-NOW".into();
    let d = decide_channel(
        &spec,
        Some(1),
        None,
        &found(number()),
        INTERVAL,
        None,
        ts(T0),
    );
    let stalled = cond(&d.status, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "InvalidSpec")
    );
    assert!(
        stalled
            .message
            .starts_with("the spec cannot be used: phone number \"+55 11 CALL-NOW\"")
    );
    assert_eq!(d.status.phase, Phase::Stalled);
    assert_eq!(d.status.e164, None);
    assert_eq!(d.status.phone_number_id, None);
    assert_eq!(reasons(&d.events), [("InvalidSpec", EventType::Warning)]);

    let given = ChannelObservation::InvalidSpec {
        message: "spec.registration.pinSecretRef is required for Managed numbers".into(),
    };
    let d = decide(None, &given, T0);
    assert_eq!(
        cond(&d.status, condition::STALLED).message,
        "the spec cannot be used: spec.registration.pinSecretRef is required for Managed numbers"
    );
    assert_eq!(d.status.e164.as_deref(), Some("+5511987654321"));
}

#[test]
fn the_reconcile_annotation_is_echoed_and_generation_observed() {
    let spec = channel_spec(Management::Managed);
    let d = decide_channel(
        &spec,
        Some(5),
        None,
        &ChannelObservation::NotInWaba,
        INTERVAL,
        Some("now-please"),
        ts(T0),
    );
    assert_eq!(
        d.status.sync.last_handled_reconcile_at.as_deref(),
        Some("now-please")
    );
    assert_eq!(d.status.observed_generation, Some(5));
    assert!(
        d.status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(5))
    );
    let again = decide_channel(
        &spec,
        Some(5),
        Some(&d.status),
        &found(number()),
        INTERVAL,
        None,
        ts(T1),
    );
    assert_eq!(
        again.status.sync.last_handled_reconcile_at.as_deref(),
        Some("now-please")
    );
}

#[test]
fn registration_progress_survives_syncs() {
    let mut prev = decide(None, &ChannelObservation::NotInWaba, T0).status;
    prev.registration = Some(crate::crd::RegistrationProgress {
        number_added_at: Some(at(T0)),
        ..Default::default()
    });
    let d = decide(Some(&prev), &found(status_of(NumberStatus::Pending)), T1);
    assert_eq!(d.status.registration, prev.registration);
    let gone = decide(Some(&d.status), &ChannelObservation::NotInWaba, T2);
    assert_eq!(gone.status.registration, prev.registration);
}

#[test]
fn condition_messages_hold_no_volatile_data() {
    let observations = [
        found(number()),
        ChannelObservation::NotInWaba,
        ChannelObservation::AccountMissing {
            name: "acme".into(),
        },
        ChannelObservation::AccountNotSynced {
            reason: "failing".into(),
        },
    ];
    for obs in &observations {
        let a = decide(None, obs, T0).status;
        let b = decide(None, obs, "2027-05-05T05:05:05Z").status;
        let messages = |s: &WhatsAppChannelStatus| {
            s.conditions
                .iter()
                .map(|c| (c.reason.clone(), c.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(messages(&a), messages(&b), "{obs:?}");
    }
}

#[test]
fn observations_from_the_account() {
    use crate::crd::{WhatsAppBusinessAccount, WhatsAppBusinessAccountStatus};
    use crate::decide::{AccountObservation, FailureClass, SyncFailure, decide_account};

    let account_with = |status: Option<WhatsAppBusinessAccountStatus>| {
        let mut a = WhatsAppBusinessAccount::new("acme", account_spec());
        a.status = status;
        a
    };
    let account_after = |obs: &AccountObservation| {
        account_with(Some(
            decide_account(&account_spec(), Some(1), None, obs, None, ts(T0)).status,
        ))
    };
    let healthy = account_after(&AccountObservation::Synced {
        waba: waba(),
        webhook_subscribed: None,
        token_expires_at: None,
    });
    let failing = account_after(&AccountObservation::Failed(SyncFailure {
        class: FailureClass::Transient,
        message: "timeout".into(),
        retry_after: None,
    }));
    let refused = account_after(&AccountObservation::Failed(SyncFailure {
        class: FailureClass::Auth,
        message: "bad token".into(),
        retry_after: None,
    }));
    let spec = channel_spec(Management::Managed);
    let mut other_number = waba();
    other_number.phone_numbers[0].display_phone_number = Some("+1 631-555-5555".into());

    assert_eq!(
        observe_channel(&spec, Some(&healthy), Some(&waba())),
        Some(found(number()))
    );
    assert_eq!(
        observe_channel(&spec, Some(&healthy), Some(&other_number)),
        Some(ChannelObservation::NotInWaba)
    );
    // A number whose record did not decode is not absent: no add, the channel says why.
    let mut unreadable = other_number.clone();
    unreadable.malformed_numbers = vec![crate::meta::model::MalformedNumber {
        id: Some(NUMBER_ID.into()),
        digits: Some("5511987654321".into()),
        error: "invalid type: map, expected a string".into(),
    }];
    assert!(matches!(
        observe_channel(&spec, Some(&healthy), Some(&unreadable)),
        Some(ChannelObservation::AccountNotSynced { reason }) if reason.contains("could not be read")
    ));
    assert_eq!(observe_channel(&spec, Some(&healthy), None), None);
    assert_eq!(
        observe_channel(&spec, None, Some(&waba())),
        Some(ChannelObservation::AccountMissing {
            name: "acme".into()
        })
    );
    assert_eq!(
        observe_channel(&spec, Some(&failing), Some(&waba())),
        Some(ChannelObservation::AccountNotSynced {
            reason: "the account's last sync failed (SyncFailed); see its Synced condition".into()
        })
    );
    assert_eq!(
        observe_channel(&spec, Some(&refused), Some(&waba())),
        Some(ChannelObservation::AccountNotSynced {
            reason: "the account is stalled (CredentialsInvalid); see its Stalled condition".into()
        })
    );
    // A new account's first sync triggers its channels; until then there is nothing to say.
    assert_eq!(
        observe_channel(&spec, Some(&account_with(None)), None),
        None
    );
    let mut bad = spec.clone();
    bad.phone_number = "+1 555".into();
    assert!(matches!(
        observe_channel(&bad, Some(&healthy), Some(&waba())),
        Some(ChannelObservation::InvalidSpec { .. })
    ));
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_status() -> impl Strategy<Value = Option<NumberStatus>> {
        use NumberStatus::*;
        proptest::option::of(proptest::sample::select(vec![
            Pending,
            Deleted,
            Migrated,
            Banned,
            Restricted,
            RateLimited,
            Flagged,
            Connected,
            Disconnected,
            Unknown,
            Unverified,
            Other("PAUSED".into()),
        ]))
    }

    fn any_quality() -> impl Strategy<Value = Option<QualityRating>> {
        use QualityRating::*;
        proptest::option::of(proptest::sample::select(vec![
            Green, Yellow, Red, Unknown, Na,
        ]))
    }

    fn any_limit() -> impl Strategy<Value = Option<MessagingLimit>> {
        use MessagingLimit::*;
        proptest::option::of(proptest::sample::select(vec![
            Tier(250),
            Tier(2_000),
            Tier(10_000),
            Tier(100_000),
            Unlimited,
            Untiered,
        ]))
    }

    fn any_name() -> impl Strategy<Value = Option<NameStatus>> {
        use NameStatus::*;
        proptest::option::of(proptest::sample::select(vec![
            Approved,
            Declined,
            PendingReview,
            Expired,
            AvailableWithoutReview,
        ]))
    }

    fn any_level() -> impl Strategy<Value = CanSendMessage> {
        proptest::sample::select(vec![
            CanSendMessage::Available,
            CanSendMessage::Limited,
            CanSendMessage::Blocked,
        ])
    }

    fn any_platform() -> impl Strategy<Value = Option<PlatformType>> {
        proptest::option::of(proptest::sample::select(vec![
            PlatformType::CloudApi,
            PlatformType::OnPremise,
            PlatformType::NotApplicable,
        ]))
    }

    prop_compose! {
        fn any_number()(
            status in any_status(),
            quality in any_quality(),
            limit in any_limit(),
            name in any_name(),
            new_name in any_name(),
            platform in any_platform(),
            levels in (any_level(), any_level(), any_level(), any_level()),
            has_health in any::<bool>(),
        ) -> PhoneNumber {
            with(|n| {
                n.status = status;
                n.quality_rating = quality;
                n.whatsapp_business_manager_messaging_limit = limit;
                n.name_status = name;
                n.new_name_status = new_name;
                n.platform_type = platform;
                n.health_status = has_health.then(|| health(levels.0, levels.1, levels.2, levels.3));
            })
        }
    }

    fn any_observation() -> impl Strategy<Value = ChannelObservation> {
        prop_oneof![
            4 => any_number().prop_map(|number| ChannelObservation::Number { number }),
            1 => Just(ChannelObservation::NotInWaba),
            1 => Just(ChannelObservation::AccountMissing { name: "acme".into() }),
            1 => Just(ChannelObservation::AccountNotSynced { reason: "failing".into() }),
        ]
    }

    fn any_management() -> impl Strategy<Value = Management> {
        prop_oneof![Just(Management::Managed), Just(Management::ObserveOnly)]
    }

    proptest! {
        /// Deciding again on what was already decided changes nothing and announces nothing,
        /// whatever came before: the restart guarantee.
        #[test]
        fn deciding_twice_is_silent(
            management in any_management(),
            history in proptest::collection::vec(any_observation(), 0..4),
            last in any_observation(),
        ) {
            let mut prev: Option<WhatsAppChannelStatus> = None;
            for obs in &history {
                prev = Some(decide_as(management, prev.as_ref(), obs, T0).status);
            }
            let first = decide_as(management, prev.as_ref(), &last, T1);
            let again = decide_as(management, Some(&first.status), &last, T1);
            prop_assert_eq!(&again.status, &first.status);
            prop_assert!(again.events.is_empty(), "{:?}", again.events);
            let later = decide_as(management, Some(&first.status), &last, T2);
            prop_assert!(later.events.is_empty(), "{:?}", later.events);
            prop_assert_eq!(&later.status.conditions, &first.status.conditions);
        }

        /// Seeing a number for the first time never announces a recovery or progress.
        #[test]
        fn first_sight_only_warns(management in any_management(), obs in any_observation()) {
            let d = decide_as(management, None, &obs, T0);
            prop_assert!(d.events.iter().all(|e| e.type_ == EventType::Warning), "{:?}", d.events);
        }

        /// Ready=True always means CONNECTED and not blocked, and the phase agrees.
        #[test]
        fn ready_means_connected_and_not_blocked(n in any_number()) {
            let d = decide(None, &found(n.clone()), T0);
            let ready = cond(&d.status, condition::READY).status == "True";
            let blocked = n.health_status.as_ref().map(|h| &h.can_send_message) == Some(&CanSendMessage::Blocked);
            prop_assert_eq!(ready, n.status == Some(NumberStatus::Connected) && !blocked);
            if ready {
                prop_assert!(matches!(d.status.phase, Phase::Connected | Phase::Degraded), "{:?}", d.status.phase);
            }
            if blocked {
                prop_assert_eq!(d.status.phase, Phase::Blocked);
            }
        }
    }
}

fn rated(rating: QualityRating, reasons: &[&str]) -> PhoneNumber {
    with(|n| {
        n.quality_rating = Some(rating.clone());
        n.quality_score = Some(QualityScore {
            score: rating,
            date: Some(1_763_856_000),
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        });
    })
}

#[test]
fn quality_reasons_reach_status_the_event_and_the_ready_message_in_words() {
    let events = transition(
        rated(QualityRating::Green, &[]),
        rated(
            QualityRating::Yellow,
            &["USER_BLOCKS", "NEW_CODE_FROM_META"],
        ),
    );
    let degraded = events
        .iter()
        .find(|e| e.reason == reason::QUALITY_DEGRADED)
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(
        degraded.note,
        "Quality rating dropped from GREEN to YELLOW: people blocked the number; NEW_CODE_FROM_META"
    );
    let s = decide(
        None,
        &found(rated(
            QualityRating::Yellow,
            &["USER_BLOCKS", "NEW_CODE_FROM_META"],
        )),
        T0,
    )
    .status;
    let insights = s.quality_insights.as_ref().unwrap();
    assert_eq!(insights.reasons, ["USER_BLOCKS", "NEW_CODE_FROM_META"]);
    assert_eq!(
        insights.scored_at.as_ref().map(|t| t.0.as_second()),
        Some(1_763_856_000)
    );
    let ready = cond(&s, condition::READY);
    assert_eq!(ready.status, "True");
    assert!(
        ready
            .message
            .contains("quality is YELLOW because people blocked the number; NEW_CODE_FROM_META"),
        "{}",
        ready.message
    );
}

#[test]
fn a_green_number_keeps_its_plain_ready_message_and_reasons_without_a_drop_raise_nothing() {
    let s = decide(
        None,
        &found(rated(QualityRating::Green, &["USER_BLOCKS"])),
        T0,
    )
    .status;
    assert_eq!(
        cond(&s, condition::READY).message,
        "number +5511987654321 is CONNECTED and can send messages"
    );
    // Meta changing its reasons while the rating holds is status, not news.
    let events = transition(
        rated(QualityRating::Yellow, &["USER_BLOCKS"]),
        rated(QualityRating::Yellow, &["USER_REPORTS"]),
    );
    assert!(
        !events.iter().any(|e| e.reason == reason::QUALITY_DEGRADED),
        "{events:?}"
    );
    // Without reasons the event reads as before.
    let events = transition(
        rated(QualityRating::Green, &[]),
        rated(QualityRating::Red, &[]),
    );
    let degraded = events
        .iter()
        .find(|e| e.reason == reason::QUALITY_DEGRADED)
        .unwrap_or_else(|| panic!("{events:?}"));
    assert_eq!(degraded.note, "Quality rating dropped from GREEN to RED");
}
