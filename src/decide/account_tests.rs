use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::*;
use crate::crd::{condition, find_condition};
use crate::decide::fixtures::*;
use crate::decide::{EventType, FailureClass, SyncFailure, needs_sync, sync_interval};
use crate::meta::model::{CanSendMessage, MessagingLimit, ReviewStatus};

const T0: &str = "2026-11-23T10:00:00Z";
const T1: &str = "2026-11-23T10:10:00Z";
const T2: &str = "2026-11-23T10:20:00Z";

type Expected = Vec<(&'static str, EventType)>;

fn synced(waba: WabaSnapshot) -> AccountObservation {
    AccountObservation::Synced {
        waba,
        webhook_subscribed: Some(true),
        token_expires_at: None,
    }
}

fn failed(class: FailureClass, message: &str) -> AccountObservation {
    AccountObservation::Failed(SyncFailure {
        class,
        message: message.into(),
        retry_after: None,
    })
}

fn decide(
    previous: Option<&WhatsAppBusinessAccountStatus>,
    observation: &AccountObservation,
    now: &str,
) -> AccountDecision {
    decide_account(
        &account_spec(),
        Some(1),
        previous,
        observation,
        None,
        ts(now),
    )
}

fn cond<'a>(status: &'a WhatsAppBusinessAccountStatus, type_: &str) -> &'a Condition {
    find_condition(&status.conditions, type_).unwrap_or_else(|| panic!("no {type_} condition"))
}

fn reasons(events: &[EventSpec]) -> Vec<(&'static str, EventType)> {
    events.iter().map(|e| (e.reason, e.type_)).collect()
}

fn with_waba_health(
    waba_state: CanSendMessage,
    business: CanSendMessage,
    app: CanSendMessage,
) -> WabaSnapshot {
    let mut w = waba();
    w.health_status = Some(waba_health(waba_state, business, app));
    w
}

#[test]
fn status_mirrors_every_field_of_the_snapshot() {
    let d = decide_account(
        &account_spec(),
        Some(3),
        None,
        &AccountObservation::Synced {
            waba: waba(),
            webhook_subscribed: Some(false),
            token_expires_at: Some(ts("2027-06-01T00:00:00.25Z")),
        },
        Some("resync-1"),
        ts("2026-11-23T10:00:00.75Z"),
    );
    let s = &d.status;
    assert_eq!(s.name.as_deref(), Some("Acme"));
    assert_eq!(s.account_review_status.as_deref(), Some("APPROVED"));
    assert_eq!(s.business_verification_status.as_deref(), Some("verified"));
    assert_eq!(s.ownership_type.as_deref(), Some("SELF"));
    let owner = s.owner_business.as_ref().unwrap();
    assert_eq!(owner.id, BUSINESS_ID);
    assert_eq!(owner.name.as_deref(), Some("Acme Inc"));
    assert_eq!(s.messaging_limit.as_deref(), Some("TIER_2K"));
    let health = s.health.as_ref().unwrap();
    assert_eq!(health.can_send_message.as_deref(), Some("AVAILABLE"));
    let kinds: Vec<_> = health
        .entities
        .iter()
        .map(|e| e.entity_type.as_str())
        .collect();
    assert_eq!(kinds, ["WABA", "BUSINESS", "APP"]);
    assert_eq!(s.phone_number_count, Some(1));
    assert_eq!(s.webhook_subscribed, Some(false));
    assert_eq!(
        s.credentials_expire_at.as_ref(),
        Some(&at("2027-06-01T00:00:00Z"))
    );
    assert_eq!(s.observed_generation, Some(3));
    assert_eq!(
        s.sync.last_sync_time.as_ref(),
        Some(&at("2026-11-23T10:00:00Z"))
    );
    assert_eq!(
        s.sync.last_handled_reconcile_at.as_deref(),
        Some("resync-1")
    );
    assert_eq!(s.sync.failed_sync_attempts, 0);
    assert_eq!(s.sync.next_attempt_time, None);
    assert_eq!(d.requeue_after, Duration::from_secs(600));
    assert!(d.call_meta);
}

#[test]
fn a_healthy_account_is_ready_synced_and_not_stalled() {
    let d = decide(None, &synced(waba()), T0);
    for (type_, status, reason) in [
        (condition::READY, "True", "Available"),
        (condition::SYNCED, "True", "SyncSucceeded"),
        (condition::STALLED, "False", "NoActionNeeded"),
    ] {
        let c = cond(&d.status, type_);
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            (status, reason),
            "{type_}"
        );
        assert_eq!(c.observed_generation, Some(1), "{type_}");
        assert_eq!(c.last_transition_time, Time(ts(T0)), "{type_}");
    }
    assert!(d.events.is_empty(), "{:?}", d.events);
}

#[test]
fn conditions_carry_the_new_generation() {
    let first = decide(None, &synced(waba()), T0);
    let d = decide_account(
        &account_spec(),
        Some(2),
        Some(&first.status),
        &synced(waba()),
        None,
        ts(T1),
    );
    assert_eq!(d.status.observed_generation, Some(2));
    assert!(
        d.status
            .conditions
            .iter()
            .all(|c| c.observed_generation == Some(2))
    );
    assert!(
        d.status
            .conditions
            .iter()
            .all(|c| c.last_transition_time == Time(ts(T0)))
    );
}

#[test]
fn restart_idempotence_for_every_kind_of_observation() {
    let mut blocked = with_waba_health(
        CanSendMessage::Blocked,
        CanSendMessage::Limited,
        CanSendMessage::Available,
    );
    blocked.account_review_status = Some(ReviewStatus::Rejected);
    let observations = [
        synced(waba()),
        synced(blocked),
        AccountObservation::Synced {
            waba: waba(),
            webhook_subscribed: None,
            token_expires_at: Some(ts("2026-11-25T00:00:00Z")),
        },
        failed(FailureClass::Auth, "(#190) Error validating access token"),
        AccountObservation::MissingCredentials {
            message: "Secret messaging/acme-graph-token not found".into(),
        },
    ];
    for obs in &observations {
        let first = decide(None, obs, T0);
        let again = decide(Some(&first.status), obs, T0);
        assert_eq!(again.status, first.status, "{obs:?}");
        assert!(again.events.is_empty(), "{obs:?}: {:?}", again.events);
        assert_eq!(again.call_meta, first.call_meta);
    }
}

#[test]
fn an_unchanged_snapshot_later_changes_only_the_sync_time() {
    let first = decide(None, &synced(waba()), T0);
    let later = decide(Some(&first.status), &synced(waba()), T1);
    assert!(later.events.is_empty());
    let mut expected = first.status.clone();
    expected.sync.last_sync_time = Some(at(T1));
    assert_eq!(later.status, expected);
}

#[test]
fn ready_reflects_health_and_review() {
    use CanSendMessage::*;
    let mut rejected = waba();
    rejected.account_review_status = Some(ReviewStatus::Rejected);
    let mut disabled_prev = decide(None, &synced(waba()), T0).status;
    disabled_prev.ban_state = Some("DISABLE".into());
    let cases: Vec<(
        &str,
        Option<&WhatsAppBusinessAccountStatus>,
        WabaSnapshot,
        &str,
        &str,
    )> = vec![
        ("available", None, waba(), "True", "Available"),
        (
            "limited business",
            None,
            with_waba_health(Available, Limited, Available),
            "True",
            "Limited",
        ),
        (
            "blocked waba",
            None,
            with_waba_health(Blocked, Available, Available),
            "False",
            "Blocked",
        ),
        (
            "blocked app",
            None,
            with_waba_health(Available, Available, Blocked),
            "False",
            "Blocked",
        ),
        ("review rejected", None, rejected, "False", "ReviewRejected"),
        (
            "disabled by webhook",
            Some(&disabled_prev),
            waba(),
            "False",
            "Disabled",
        ),
    ];
    for (name, prev, snapshot, status, reason) in cases {
        let d = decide(prev, &synced(snapshot), T1);
        let ready = cond(&d.status, condition::READY);
        assert_eq!(
            (ready.status.as_str(), ready.reason.as_str()),
            (status, reason),
            "{name}"
        );
    }
}

#[test]
fn blocked_ready_message_names_the_entity_error_and_solution() {
    let d = decide(
        None,
        &synced(with_waba_health(
            CanSendMessage::Blocked,
            CanSendMessage::Available,
            CanSendMessage::Available,
        )),
        T0,
    );
    let ready = cond(&d.status, condition::READY);
    assert_eq!(
        ready.message,
        format!(
            "WABA {WABA_ID} cannot send messages: WABA {WABA_ID} is BLOCKED: 141006 There is an \
             error with the payment method. This will block business initiated conversations. \
             Solution: There was an error with your payment method. Please add a new payment \
             method to the account."
        )
    );
}

#[test]
fn health_entity_transitions_raise_one_event_each() {
    use CanSendMessage::*;
    let base = |w, b, a| with_waba_health(w, b, a);
    let cases: Vec<(&str, WabaSnapshot, WabaSnapshot, Expected)> = vec![
        (
            "waba blocked",
            base(Available, Available, Available),
            base(Blocked, Available, Available),
            vec![("WabaBlocked", EventType::Warning)],
        ),
        (
            "waba limited",
            base(Available, Available, Available),
            base(Limited, Available, Available),
            vec![("WabaLimited", EventType::Warning)],
        ),
        (
            "waba recovered",
            base(Blocked, Available, Available),
            base(Available, Available, Available),
            vec![("WabaAvailable", EventType::Normal)],
        ),
        (
            "waba blocked to limited",
            base(Blocked, Available, Available),
            base(Limited, Available, Available),
            vec![("WabaLimited", EventType::Warning)],
        ),
        (
            "business blocked",
            base(Available, Available, Available),
            base(Available, Blocked, Available),
            vec![("BusinessBlocked", EventType::Warning)],
        ),
        (
            "business limited",
            base(Available, Available, Available),
            base(Available, Limited, Available),
            vec![("BusinessLimited", EventType::Warning)],
        ),
        (
            "business recovered",
            base(Available, Limited, Available),
            base(Available, Available, Available),
            vec![("BusinessAvailable", EventType::Normal)],
        ),
        (
            "app blocked",
            base(Available, Available, Available),
            base(Available, Available, Blocked),
            vec![("AppBlocked", EventType::Warning)],
        ),
        (
            "app limited",
            base(Available, Available, Available),
            base(Available, Available, Limited),
            vec![("AppLimited", EventType::Warning)],
        ),
        (
            "app recovered",
            base(Available, Available, Blocked),
            base(Available, Available, Available),
            vec![("AppAvailable", EventType::Normal)],
        ),
        (
            "all at once",
            base(Available, Available, Available),
            base(Blocked, Blocked, Blocked),
            vec![
                ("WabaBlocked", EventType::Warning),
                ("BusinessBlocked", EventType::Warning),
                ("AppBlocked", EventType::Warning),
            ],
        ),
        (
            "unchanged blocked",
            base(Blocked, Available, Available),
            base(Blocked, Available, Available),
            vec![],
        ),
    ];
    for (name, before, after, expected) in cases {
        let first = decide(None, &synced(before), T0);
        let d = decide(Some(&first.status), &synced(after.clone()), T1);
        assert_eq!(reasons(&d.events), expected, "{name}");
        let again = decide(Some(&d.status), &synced(after), T2);
        assert!(
            again.events.is_empty(),
            "{name} repeated: {:?}",
            again.events
        );
    }
}

#[test]
fn health_event_notes_explain_the_problem() {
    let first = decide(None, &synced(waba()), T0);
    let blocked = with_waba_health(
        CanSendMessage::Blocked,
        CanSendMessage::Available,
        CanSendMessage::Available,
    );
    let d = decide(Some(&first.status), &synced(blocked.clone()), T1);
    assert!(
        d.events[0].note.starts_with(&format!(
            "WABA {WABA_ID} is BLOCKED: 141006 There is an error"
        )),
        "{}",
        d.events[0].note
    );
    assert!(
        d.events[0]
            .note
            .contains("Solution: There was an error with your payment method")
    );
    let back = decide(Some(&d.status), &synced(waba()), T2);
    assert_eq!(
        back.events[0].note,
        format!("WABA {WABA_ID} can send messages again (was BLOCKED)")
    );
}

#[test]
fn first_observation_reports_only_problems() {
    use CanSendMessage::*;
    let mut rejected = with_waba_health(Blocked, Limited, Available);
    rejected.account_review_status = Some(ReviewStatus::Rejected);
    let d = decide(None, &synced(rejected), T0);
    assert_eq!(
        reasons(&d.events),
        [
            ("WabaBlocked", EventType::Warning),
            ("BusinessLimited", EventType::Warning),
            ("AccountReviewRejected", EventType::Warning),
        ]
    );
    // Approved and available on first sight are not news.
    assert!(decide(None, &synced(waba()), T0).events.is_empty());
}

#[test]
fn previous_status_without_a_sync_counts_as_first_observation() {
    let failed_first = decide(
        None,
        &failed(FailureClass::Transient, "Service unavailable"),
        T0,
    );
    let d = decide(Some(&failed_first.status), &synced(waba()), T1);
    assert!(d.events.is_empty(), "{:?}", d.events);
}

#[test]
fn review_transitions() {
    let with_review = |r: ReviewStatus| {
        let mut w = waba();
        w.account_review_status = Some(r);
        w
    };
    let cases = [
        (
            ReviewStatus::Pending,
            ReviewStatus::Approved,
            Some(("AccountReviewApproved", EventType::Normal)),
        ),
        (
            ReviewStatus::Approved,
            ReviewStatus::Rejected,
            Some(("AccountReviewRejected", EventType::Warning)),
        ),
        (
            ReviewStatus::Pending,
            ReviewStatus::Rejected,
            Some(("AccountReviewRejected", EventType::Warning)),
        ),
        (
            ReviewStatus::Rejected,
            ReviewStatus::Approved,
            Some(("AccountReviewApproved", EventType::Normal)),
        ),
        (ReviewStatus::Approved, ReviewStatus::Pending, None),
        (ReviewStatus::Approved, ReviewStatus::Approved, None),
        (ReviewStatus::Rejected, ReviewStatus::Rejected, None),
    ];
    for (before, after, expected) in cases {
        let first = decide(None, &synced(with_review(before.clone())), T0);
        let d = decide(Some(&first.status), &synced(with_review(after.clone())), T1);
        let expected: Vec<_> = expected.into_iter().collect();
        assert_eq!(reasons(&d.events), expected, "{before} -> {after}");
    }
}

#[test]
fn ready_transition_time_moves_only_on_flips() {
    use CanSendMessage::*;
    let d0 = decide(None, &synced(waba()), T0);
    let d1 = decide(
        Some(&d0.status),
        &synced(with_waba_health(Available, Limited, Available)),
        T1,
    );
    let ready = cond(&d1.status, condition::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("True", "Limited")
    );
    assert_eq!(ready.last_transition_time, Time(ts(T0)));
    let d2 = decide(
        Some(&d1.status),
        &synced(with_waba_health(Blocked, Limited, Available)),
        T2,
    );
    let ready = cond(&d2.status, condition::READY);
    assert_eq!(ready.status, "False");
    assert_eq!(ready.last_transition_time, Time(ts(T2)));
    assert_eq!(
        cond(&d2.status, condition::SYNCED).last_transition_time,
        Time(ts(T0))
    );
}

#[test]
fn auth_failure_stalls_once_and_keeps_meta_fields() {
    let ok = decide(None, &synced(waba()), T0);
    let obs = failed(FailureClass::Auth, "(#190) Error validating access token");
    let d = decide(Some(&ok.status), &obs, T1);
    assert!(!d.call_meta);
    assert_eq!(
        reasons(&d.events),
        [("CredentialsInvalid", EventType::Warning)]
    );
    let stalled = cond(&d.status, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "CredentialsInvalid")
    );
    assert_eq!(
        stalled.message,
        "Meta refused the access token in Secret acme-graph-token (key \"token\"): (#190) Error \
         validating access token. Replace the token; syncing resumes when the Secret changes"
    );
    assert_eq!(cond(&d.status, condition::SYNCED).status, "False");
    assert_eq!(cond(&d.status, condition::READY).status, "False");
    assert_eq!(d.status.name.as_deref(), Some("Acme"));
    assert_eq!(d.status.health, ok.status.health);
    assert_eq!(d.status.sync.last_sync_time.as_ref(), Some(&at(T0)));
    assert_eq!(d.status.sync.last_failure_time.as_ref(), Some(&at(T1)));
    assert_eq!(d.status.sync.next_attempt_time, None);
    assert_eq!(d.requeue_after, Duration::from_secs(600));

    let again = decide(Some(&d.status), &obs, T2);
    assert!(again.events.is_empty());
    assert!(!again.call_meta);

    let restored = decide(Some(&again.status), &synced(waba()), T2);
    assert!(restored.call_meta);
    assert_eq!(
        reasons(&restored.events),
        [("CredentialsRestored", EventType::Normal)]
    );
    assert_eq!(cond(&restored.status, condition::STALLED).status, "False");
    assert_eq!(cond(&restored.status, condition::READY).status, "True");
    let after = decide(Some(&restored.status), &synced(waba()), T2);
    assert!(after.events.is_empty());
}

#[test]
fn credentials_stall_is_recognisable_from_status() {
    let ok = decide(None, &synced(waba()), T0).status;
    assert!(!credentials_stalled(&ok));
    let refused = decide(Some(&ok), &failed(FailureClass::Auth, "bad token"), T1).status;
    assert!(credentials_stalled(&refused));
    let missing = decide(
        None,
        &AccountObservation::MissingCredentials {
            message: "Secret messaging/acme-graph-token not found".into(),
        },
        T0,
    )
    .status;
    assert!(credentials_stalled(&missing));
    let rejected = decide(
        Some(&ok),
        &failed(FailureClass::InvalidRequest, "no such WABA"),
        T1,
    )
    .status;
    assert!(!credentials_stalled(&rejected));
    let flaky = decide(Some(&ok), &failed(FailureClass::Transient, "timeout"), T1).status;
    assert!(!credentials_stalled(&flaky));
}

#[test]
fn missing_credentials_stall_without_calling_meta() {
    let obs = AccountObservation::MissingCredentials {
        message: "Secret messaging/acme-graph-token has no key \"token\"".into(),
    };
    let d = decide(None, &obs, T0);
    assert!(!d.call_meta);
    assert_eq!(
        reasons(&d.events),
        [("CredentialsMissing", EventType::Warning)]
    );
    let stalled = cond(&d.status, condition::STALLED);
    assert_eq!(
        (stalled.status.as_str(), stalled.reason.as_str()),
        ("True", "MissingCredentials")
    );
    assert!(
        stalled
            .message
            .starts_with("Secret messaging/acme-graph-token has no key \"token\": put")
    );
    assert_eq!(
        cond(&d.status, condition::READY).reason,
        "MissingCredentials"
    );
    // From missing to refused is a different problem, reported once more.
    let refused = decide(
        Some(&d.status),
        &failed(FailureClass::Auth, "bad token"),
        T1,
    );
    assert_eq!(
        reasons(&refused.events),
        [("CredentialsInvalid", EventType::Warning)]
    );
    let restored = decide(Some(&d.status), &synced(waba()), T1);
    assert_eq!(
        reasons(&restored.events),
        [("CredentialsRestored", EventType::Normal)]
    );
}

#[test]
fn throttling_waits_as_long_as_meta_says() {
    let ok = decide(None, &synced(waba()), T0);
    let obs = AccountObservation::Failed(SyncFailure {
        class: FailureClass::Throttled,
        message: "(#80007) Rate limit reached".into(),
        retry_after: Some(Duration::from_millis(120_500)),
    });
    let d = decide(Some(&ok.status), &obs, T1);
    assert_eq!(
        d.status.sync.next_attempt_time.as_ref(),
        Some(&at("2026-11-23T10:12:01Z"))
    );
    assert_eq!(d.requeue_after, Duration::from_secs(121));
    assert_eq!(d.status.sync.failed_sync_attempts, 0);
    assert!(d.call_meta);
    assert!(d.events.is_empty());
    let synced_cond = cond(&d.status, condition::SYNCED);
    assert_eq!(
        (synced_cond.status.as_str(), synced_cond.reason.as_str()),
        ("False", "Throttled")
    );
    assert_eq!(cond(&d.status, condition::READY).status, "True");
    assert_eq!(
        needs_sync(
            Some(&d.status.sync),
            Some(1),
            Some(1),
            Duration::from_secs(600),
            None,
            ts(T1)
        ),
        Some(Duration::from_secs(121))
    );

    let default_wait = decide(
        Some(&ok.status),
        &failed(FailureClass::Throttled, "(#4) limit"),
        T1,
    );
    assert_eq!(default_wait.requeue_after, Duration::from_secs(300));
    assert_eq!(
        default_wait.status.sync.next_attempt_time.as_ref(),
        Some(&at("2026-11-23T10:15:00Z"))
    );
}

#[test]
fn transient_failures_back_off_and_keep_meta_fields() {
    let ok = decide(None, &synced(waba()), T0);
    let obs = failed(
        FailureClass::Transient,
        "Meta answered 503 Service Unavailable",
    );
    let mut status = ok.status.clone();
    let mut requeues = Vec::new();
    let mut now = ts(T1);
    for attempt in 1..=10u32 {
        let d = decide_account(&account_spec(), Some(1), Some(&status), &obs, None, now);
        assert!(d.call_meta);
        assert_eq!(d.status.sync.failed_sync_attempts, attempt);
        assert_eq!(d.status.sync.last_failure_time, Some(status_time(now)));
        let next = parse_time(d.status.sync.next_attempt_time.as_ref().unwrap()).unwrap();
        assert_eq!(until(now, next), d.requeue_after);
        assert_eq!(
            d.requeue_after,
            FAILURE_BACKOFF.delay(attempt, WABA_ID),
            "attempt {attempt}"
        );
        let synced_cond = cond(&d.status, condition::SYNCED);
        assert_eq!(
            (synced_cond.status.as_str(), synced_cond.reason.as_str()),
            ("False", "SyncFailed")
        );
        assert_eq!(
            synced_cond.message,
            format!(
                "reading WABA {WABA_ID} from Meta failed: Meta answered 503 Service Unavailable"
            )
        );
        assert_eq!(d.status.name, ok.status.name);
        assert_eq!(d.status.health, ok.status.health);
        assert_eq!(
            cond(&d.status, condition::READY),
            cond(&ok.status, condition::READY)
        );
        let expected: Vec<_> = if attempt == 3 {
            vec![("SyncFailing", EventType::Warning)]
        } else {
            vec![]
        };
        assert_eq!(reasons(&d.events), expected, "attempt {attempt}");
        requeues.push(d.requeue_after);
        now = next;
        status = d.status;
    }
    assert!(requeues[3] > requeues[0] * 4, "{requeues:?}");
    assert!(requeues.iter().all(|r| *r <= FAILURE_BACKOFF.cap));
    assert!(requeues[9] >= FAILURE_BACKOFF.cap * 4 / 5);

    let recovered = decide_account(
        &account_spec(),
        Some(1),
        Some(&status),
        &synced(waba()),
        None,
        now,
    );
    assert_eq!(recovered.status.sync.failed_sync_attempts, 0);
    assert_eq!(recovered.status.sync.next_attempt_time, None);
    assert_eq!(cond(&recovered.status, condition::SYNCED).status, "True");
    assert!(recovered.events.is_empty());
    assert_eq!(recovered.requeue_after, Duration::from_secs(600));
}

#[test]
fn a_first_sync_that_fails_leaves_ready_unknown() {
    let d = decide(
        None,
        &failed(FailureClass::Other, "unexpected response"),
        T0,
    );
    let ready = cond(&d.status, condition::READY);
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("Unknown", "AwaitingSync")
    );
    assert_eq!(cond(&d.status, condition::STALLED).status, "False");
    assert_eq!(d.status.sync.failed_sync_attempts, 1);
}

#[test]
fn a_rejected_request_stalls_but_keeps_retrying_slowly() {
    let ok = decide(None, &synced(waba()), T0);
    let obs = failed(
        FailureClass::InvalidRequest,
        "(#100) Unsupported get request. Object does not exist or cannot be loaded",
    );
    let d = decide(Some(&ok.status), &obs, T1);
    assert!(d.call_meta);
    assert_eq!(
        reasons(&d.events),
        [("RequestRejected", EventType::Warning)]
    );
    assert_eq!(
        cond(&d.status, condition::STALLED).reason,
        "RequestRejected"
    );
    assert_eq!(cond(&d.status, condition::READY).status, "False");
    assert_eq!(d.status.sync.failed_sync_attempts, 1);
    assert_eq!(d.requeue_after, FAILURE_BACKOFF.delay(1, WABA_ID));
    let again = decide(Some(&d.status), &obs, T2);
    assert!(again.events.is_empty());
    assert_eq!(again.status.sync.failed_sync_attempts, 2);
}

#[test]
fn a_transient_failure_keeps_an_unresolved_credentials_stall() {
    let stalled = decide(None, &failed(FailureClass::Auth, "bad token"), T0);
    let d = decide(
        Some(&stalled.status),
        &failed(FailureClass::Transient, "timeout"),
        T1,
    );
    assert_eq!(
        cond(&d.status, condition::STALLED).reason,
        "CredentialsInvalid"
    );
    assert_eq!(cond(&d.status, condition::READY).status, "False");
    assert_eq!(cond(&d.status, condition::SYNCED).reason, "SyncFailed");
    assert!(d.call_meta);
}

#[test]
fn expiring_credentials_warn_once_per_expiry() {
    let obs = |expiry: &str| AccountObservation::Synced {
        waba: waba(),
        webhook_subscribed: Some(true),
        token_expires_at: Some(ts(expiry)),
    };
    // Far away: nothing.
    let d0 = decide(None, &obs("2026-12-23T10:00:00Z"), T0);
    assert!(d0.events.is_empty());
    // Same value, now within a week: warn once.
    let d1 = decide(
        Some(&d0.status),
        &obs("2026-12-23T10:00:00Z"),
        "2026-12-17T10:00:00Z",
    );
    assert_eq!(
        reasons(&d1.events),
        [("CredentialsExpiringSoon", EventType::Warning)]
    );
    assert_eq!(
        d1.events[0].note,
        "The access token in Secret acme-graph-token expires at 2026-12-23T10:00:00Z: replace it \
         before then"
    );
    let d2 = decide(
        Some(&d1.status),
        &obs("2026-12-23T10:00:00Z"),
        "2026-12-18T10:00:00Z",
    );
    assert!(d2.events.is_empty());
    // A new token that also expires soon is a new warning.
    let d3 = decide(
        Some(&d2.status),
        &obs("2026-12-24T10:00:00Z"),
        "2026-12-18T10:10:00Z",
    );
    assert_eq!(
        reasons(&d3.events),
        [("CredentialsExpiringSoon", EventType::Warning)]
    );
    // A token that never expires: nothing, and the field is cleared.
    let d4 = decide(Some(&d3.status), &synced(waba()), "2026-12-18T10:20:00Z");
    assert!(d4.events.is_empty());
    assert_eq!(d4.status.credentials_expire_at, None);
    // First observation already inside the window warns.
    let d5 = decide(None, &obs("2026-11-24T10:00:00Z"), T0);
    assert_eq!(
        reasons(&d5.events),
        [("CredentialsExpiringSoon", EventType::Warning)]
    );
}

#[test]
fn expired_credentials_say_so() {
    let d = decide(
        None,
        &AccountObservation::Synced {
            waba: waba(),
            webhook_subscribed: None,
            token_expires_at: Some(ts("2026-11-23T09:00:00Z")),
        },
        T0,
    );
    assert_eq!(
        d.events[0].note,
        "The access token in Secret acme-graph-token expired at 2026-11-23T09:00:00Z: replace it"
    );
}

#[test]
fn webhook_fed_fields_survive_a_sync() {
    let mut prev = decide(None, &synced(waba()), T0).status;
    prev.ban_state = Some("SCHEDULE_FOR_DISABLE".into());
    prev.restrictions = vec![crate::crd::AccountRestriction {
        type_: "RESTRICTED_BIZ_INITIATED_MESSAGING".into(),
        expiration: Some(at("2026-12-01T00:00:00Z")),
    }];
    let d = decide(Some(&prev), &synced(waba()), T1);
    assert_eq!(d.status.ban_state, prev.ban_state);
    assert_eq!(d.status.restrictions, prev.restrictions);
}

#[test]
fn the_reconcile_annotation_is_echoed_and_kept() {
    let spec = account_spec();
    let d = decide_account(
        &spec,
        Some(1),
        None,
        &synced(waba()),
        Some("2026-11-23T09:59:00Z"),
        ts(T0),
    );
    assert_eq!(
        d.status.sync.last_handled_reconcile_at.as_deref(),
        Some("2026-11-23T09:59:00Z")
    );
    let again = decide_account(
        &spec,
        Some(1),
        Some(&d.status),
        &synced(waba()),
        None,
        ts(T1),
    );
    assert_eq!(
        again.status.sync.last_handled_reconcile_at.as_deref(),
        Some("2026-11-23T09:59:00Z")
    );
    let failed_one = decide_account(
        &spec,
        Some(1),
        Some(&d.status),
        &failed(FailureClass::Transient, "x"),
        Some("t2"),
        ts(T1),
    );
    assert_eq!(
        failed_one.status.sync.last_handled_reconcile_at.as_deref(),
        Some("t2")
    );
    assert_eq!(
        needs_sync(
            Some(&failed_one.status.sync),
            Some(1),
            Some(1),
            sync_interval(&spec),
            Some("t2"),
            ts(T1)
        ),
        Some(failed_one.requeue_after)
    );
}

#[test]
fn condition_messages_hold_no_volatile_data() {
    let obs = [
        synced(waba()),
        failed(FailureClass::Transient, "Service unavailable"),
        failed(FailureClass::Throttled, "(#4) limit"),
        failed(FailureClass::Auth, "expired"),
    ];
    for o in &obs {
        let a = decide(None, o, T0).status;
        let b = decide(None, o, "2027-05-05T05:05:05Z").status;
        let messages = |s: &WhatsAppBusinessAccountStatus| {
            s.conditions
                .iter()
                .map(|c| (c.reason.clone(), c.message.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(messages(&a), messages(&b), "{o:?}");
    }
}

#[test]
fn messaging_limit_prefers_canonical_spelling() {
    let mut w = waba();
    w.whatsapp_business_manager_messaging_limit = Some(MessagingLimit::Unlimited);
    let d = decide(None, &synced(w), T0);
    assert_eq!(d.status.messaging_limit.as_deref(), Some("TIER_UNLIMITED"));
}

#[test]
fn sync_interval_is_parsed_and_bounded() {
    let mut spec = account_spec();
    for (raw, secs) in [
        ("10m", 600),
        ("1h30m", 5400),
        ("30s", 60),
        ("nonsense", 600),
    ] {
        spec.sync_interval = raw.into();
        assert_eq!(sync_interval(&spec), Duration::from_secs(secs), "{raw}");
    }
    spec.sync_interval = "1h".into();
    let d = decide_account(&spec, Some(1), None, &synced(waba()), None, ts(T0));
    assert_eq!(d.requeue_after, Duration::from_secs(3600));
}

#[test]
fn needs_sync_agrees_with_the_decision() {
    let spec = account_spec();
    let d = decide(None, &synced(waba()), T0);
    let interval = sync_interval(&spec);
    let at = |s: &str| {
        needs_sync(
            Some(&d.status.sync),
            Some(1),
            d.status.observed_generation,
            interval,
            None,
            ts(s),
        )
    };
    assert_eq!(at(T0), Some(d.requeue_after));
    assert_eq!(at("2026-11-23T10:09:59Z"), Some(Duration::from_secs(1)));
    assert_eq!(at(T1), None);
}

mod properties {
    use proptest::prelude::*;

    use super::*;

    fn any_level() -> impl Strategy<Value = CanSendMessage> {
        proptest::sample::select(vec![
            CanSendMessage::Available,
            CanSendMessage::Limited,
            CanSendMessage::Blocked,
        ])
    }

    fn any_review() -> impl Strategy<Value = Option<ReviewStatus>> {
        proptest::option::of(proptest::sample::select(vec![
            ReviewStatus::Pending,
            ReviewStatus::Approved,
            ReviewStatus::Rejected,
            ReviewStatus::Deferred,
        ]))
    }

    fn any_class() -> impl Strategy<Value = FailureClass> {
        proptest::sample::select(vec![
            FailureClass::Auth,
            FailureClass::Throttled,
            FailureClass::Transient,
            FailureClass::InvalidRequest,
            FailureClass::Other,
        ])
    }

    prop_compose! {
        fn any_waba()(levels in (any_level(), any_level(), any_level()), review in any_review()) -> WabaSnapshot {
            let mut w = with_waba_health(levels.0, levels.1, levels.2);
            w.account_review_status = review;
            w
        }
    }

    fn any_success() -> impl Strategy<Value = AccountObservation> {
        any_waba().prop_map(synced)
    }

    fn any_observation() -> impl Strategy<Value = AccountObservation> {
        prop_oneof![
            3 => any_success(),
            2 => any_class().prop_map(|c| failed(c, "something failed")),
            1 => Just(AccountObservation::MissingCredentials { message: "Secret messaging/acme-graph-token not found".into() }),
        ]
    }

    proptest! {
        /// A repeated successful sync announces nothing, whatever happened before.
        #[test]
        fn a_repeated_sync_is_silent(
            history in proptest::collection::vec(any_observation(), 0..5),
            last in any_success(),
        ) {
            let mut prev: Option<WhatsAppBusinessAccountStatus> = None;
            for obs in &history {
                prev = Some(decide(prev.as_ref(), obs, T0).status);
            }
            let first = decide(prev.as_ref(), &last, T1);
            let again = decide(Some(&first.status), &last, T1);
            prop_assert_eq!(&again.status, &first.status);
            prop_assert!(again.events.is_empty(), "{:?}", again.events);
            prop_assert_eq!(again.status.sync.failed_sync_attempts, 0);
        }

        /// Failures never erase what was read from Meta.
        #[test]
        fn failures_keep_meta_fields(w in any_waba(), class in any_class()) {
            let ok = decide(None, &synced(w), T0);
            let d = decide(Some(&ok.status), &failed(class, "boom"), T1);
            prop_assert_eq!(&d.status.health, &ok.status.health);
            prop_assert_eq!(&d.status.account_review_status, &ok.status.account_review_status);
            prop_assert_eq!(&d.status.name, &ok.status.name);
            prop_assert_eq!(&d.status.sync.last_sync_time, &ok.status.sync.last_sync_time);
            prop_assert_eq!(cond(&d.status, condition::SYNCED).status.as_str(), "False");
            prop_assert_eq!(d.call_meta, class != FailureClass::Auth);
        }

        /// The first sight of an account never announces a recovery.
        #[test]
        fn first_sight_only_warns(obs in any_observation()) {
            let d = decide(None, &obs, T0);
            prop_assert!(d.events.iter().all(|e| e.type_ == EventType::Warning), "{:?}", d.events);
        }
    }
}

#[test]
fn refused_credentials_are_probed_again_after_an_hour_spread_by_account() {
    let refused = ts("2026-01-01T00:00:00Z");
    let a = credentials_reprobe_at(refused, "uid-a");
    let b = credentials_reprobe_at(refused, "uid-b");
    for at in [a, b] {
        let wait = at.duration_since(refused).as_secs();
        assert!((3600..4200).contains(&wait), "{wait}");
    }
    assert_ne!(a, b, "accounts do not all probe at once");
    assert_eq!(
        a,
        credentials_reprobe_at(refused, "uid-a"),
        "stable per account"
    );
}
