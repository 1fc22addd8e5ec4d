use std::time::Duration;

use super::*;
use crate::crd::{Registration, SecretKeyRef, StepInFlight};
use crate::decide::decide_channel;
use crate::decide::fixtures::*;
use crate::meta::model::{NumberStatus, PhoneNumber, PlatformType};

const T0: &str = "2026-11-23T10:00:00Z";

fn managed() -> WhatsAppChannelSpec {
    let mut spec = channel_spec(Management::Managed);
    spec.registration = Some(Registration {
        verification_method: VerificationMethod::Sms,
        language: "pt_BR".into(),
        verification_code_secret_ref: Some(SecretKeyRef {
            name: "otp".into(),
            key: "code".into(),
        }),
        pin_secret_ref: Some(SecretKeyRef {
            name: "pin".into(),
            key: "pin".into(),
        }),
    });
    spec
}

fn pending() -> PhoneNumber {
    let mut n = number();
    n.status = Some(NumberStatus::Pending);
    n.platform_type = Some(PlatformType::NotApplicable);
    n.code_verification_status = Some(CodeVerificationStatus::NotVerified);
    n
}

fn verified() -> PhoneNumber {
    let mut n = pending();
    n.code_verification_status = Some(CodeVerificationStatus::Verified);
    n
}

/// One reconcile as the runtime runs it: decide_channel, then the planner.
struct World {
    spec: WhatsAppChannelSpec,
    status: Option<WhatsAppChannelStatus>,
    code: SecretState,
    pin: SecretState,
    now: Timestamp,
}

impl World {
    fn new(spec: WhatsAppChannelSpec) -> Self {
        Self {
            spec,
            status: None,
            code: SecretState::Missing("empty".into()),
            pin: SecretState::Present("pin-uid/1".into()),
            now: ts(T0),
        }
    }

    fn input<'a>(
        &'a self,
        obs: &'a ChannelObservation,
        snapshot_at: Timestamp,
    ) -> RegistrationInput<'a> {
        RegistrationInput {
            spec: &self.spec,
            namespace: "ns",
            observation: obs,
            code: self.code.clone(),
            pin: self.pin.clone(),
            snapshot_at: Some(snapshot_at),
            retry_requested: false,
            now: self.now,
        }
    }

    /// Plans on a snapshot read just now; returns the plan and the new status.
    fn plan(&self, obs: &ChannelObservation) -> (RegistrationPlan, WhatsAppChannelStatus) {
        self.plan_at(obs, self.now)
    }

    fn plan_at(
        &self,
        obs: &ChannelObservation,
        snapshot_at: Timestamp,
    ) -> (RegistrationPlan, WhatsAppChannelStatus) {
        let d = decide_channel(
            &self.spec,
            Some(1),
            self.status.as_ref(),
            obs,
            Duration::from_secs(600),
            None,
            self.now,
        );
        let mut status = d.status;
        let input = self.input(obs, snapshot_at);
        let plan = plan_registration(&input, self.status.as_ref(), &mut status);
        (plan, status)
    }

    /// Plans, records the intent, applies `result` and keeps the status.
    fn run(
        &mut self,
        obs: &ChannelObservation,
        result: Result<(), GraphError>,
    ) -> (Option<Step>, Vec<EventSpec>) {
        let (plan, mut status) = self.plan(obs);
        let mut events = plan.events.clone();
        if let Some(step) = &plan.step {
            record_intent(step, &mut status, self.now);
            let input = self.input(obs, self.now);
            events.extend(record_outcome(
                &input,
                step,
                result.as_ref().map(|_| ()),
                &mut status,
            ));
        }
        self.status = Some(status);
        (plan.step, events)
    }

    fn later(&mut self, secs: u64) {
        self.now = add(self.now, Duration::from_secs(secs));
    }

    fn progress(&self) -> RegistrationProgress {
        self.status
            .as_ref()
            .unwrap()
            .registration
            .clone()
            .unwrap_or_default()
    }

    fn condition(&self, type_: &str) -> (String, String, String) {
        let c = self
            .status
            .as_ref()
            .unwrap()
            .conditions
            .iter()
            .find(|c| c.type_ == type_)
            .unwrap_or_else(|| panic!("no {type_} condition"))
            .clone();
        (c.status, c.reason, c.message)
    }
}

fn meta_error(code: i64, subcode: Option<i64>, details: &str) -> GraphError {
    let mut error =
        serde_json::json!({"message": "error", "code": code, "error_data": {"details": details}});
    if let Some(s) = subcode {
        error["error_subcode"] = s.into();
    }
    GraphError::from_response(
        "call",
        400,
        &serde_json::to_vec(&serde_json::json!({"error": error})).unwrap(),
    )
}

fn num(n: PhoneNumber) -> ChannelObservation {
    ChannelObservation::Number { number: n }
}

fn reasons(events: &[EventSpec]) -> Vec<&'static str> {
    events.iter().map(|e| e.reason).collect()
}

#[test]
fn a_new_number_goes_from_add_to_registered_one_write_at_a_time() {
    let mut w = World::new(managed());
    let (step, events) = w.run(&ChannelObservation::NotInWaba, Ok(()));
    assert_eq!(
        step,
        Some(Step::AddNumber {
            cc: "55".into(),
            number: "11987654321".into(),
            verified_name: "Acme Store".into()
        })
    );
    assert_eq!(reasons(&events), [reason::NUMBER_ADDED]);
    assert_eq!(w.status.as_ref().unwrap().phase, Phase::Adding);

    // The same snapshot (read before the add) never adds again. Within the second of the write
    // a new read could not count as fresh either, so it only waits for that second to pass...
    let (plan, _) = w.plan_at(&ChannelObservation::NotInWaba, ts("2026-11-23T09:59:00Z"));
    assert_eq!(plan.step, None);
    assert!(!plan.needs_resync);
    assert_eq!(plan.requeue_after, Some(Duration::from_secs(1)));
    // ...then asks for the read that shows the write.
    w.later(1);
    let (plan, _) = w.plan_at(&ChannelObservation::NotInWaba, ts("2026-11-23T09:59:00Z"));
    assert_eq!(plan.step, None);
    assert!(plan.needs_resync);
    // A read that started in the second of the write may predate it.
    let (plan, _) = w.plan_at(
        &ChannelObservation::NotInWaba,
        add(ts(T0), Duration::from_millis(900)),
    );
    assert_eq!(plan.step, None);
    assert!(plan.needs_resync);

    w.later(5);
    let (step, events) = w.run(&num(pending()), Ok(()));
    assert!(
        matches!(step, Some(Step::RequestCode { method: VerificationMethod::Sms, ref language }) if language == "pt_BR")
    );
    assert_eq!(reasons(&events), [reason::VERIFICATION_CODE_REQUESTED]);
    assert!(
        events[0].note.contains("Secret ns/otp key \"code\""),
        "{}",
        events[0].note
    );
    assert_eq!(
        w.status.as_ref().unwrap().phase,
        Phase::AwaitingVerificationCode
    );
    assert_eq!(w.progress().code_requests, Some(1));

    // Nothing in the Secret yet: wait, polling it, and say where the code goes.
    w.later(5);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None);
    let (_, reason_, message) = w.condition(condition::REGISTERED);
    assert_eq!(reason_, rr::AWAITING_CODE);
    assert!(message.contains("Secret ns/otp key \"code\""), "{message}");

    w.code = SecretState::Present("otp-uid/7".into());
    let (step, events) = w.run(&num(pending()), Ok(()));
    assert_eq!(
        step,
        Some(Step::VerifyCode {
            fingerprint: "otp-uid/7".into()
        })
    );
    assert_eq!(reasons(&events), [reason::VERIFICATION_CODE_ACCEPTED]);
    assert_eq!(w.progress().last_tried_code.as_deref(), Some("otp-uid/7"));

    w.later(5);
    let (step, events) = w.run(&num(verified()), Ok(()));
    assert_eq!(
        step,
        Some(Step::Register {
            pin: "pin-uid/1".into()
        })
    );
    assert_eq!(reasons(&events), [reason::REGISTERED]);
    let p = w.progress();
    assert_eq!(p.attempts.len(), 1);
    assert_eq!(p.applied_pin.as_deref(), Some("pin-uid/1"));

    // Connected: nothing more to do.
    w.later(5);
    let mut d = decide_channel(
        &w.spec,
        Some(1),
        w.status.as_ref(),
        &num(number()),
        Duration::from_secs(600),
        None,
        w.now,
    );
    assert_eq!(reasons(&d.events), [reason::REGISTERED]);
    drop_announced_registration(&d.status, &mut d.events, w.now);
    assert!(d.events.is_empty(), "announced once: {:?}", d.events);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert_eq!(step, None);
    assert_eq!(w.status.as_ref().unwrap().phase, Phase::Connected);
}

#[test]
fn a_connected_number_is_never_registered_and_observe_only_never_writes() {
    let mut w = World::new(managed());
    w.status = Some(WhatsAppChannelStatus::default());
    w.status.as_mut().unwrap().registration = Some(RegistrationProgress {
        applied_pin: Some("pin-uid/1".into()),
        ..Default::default()
    });
    let (step, _) = w.run(&num(number()), Ok(()));
    assert_eq!(step, None);

    let mut w = World::new(channel_spec(Management::ObserveOnly));
    for obs in [
        ChannelObservation::NotInWaba,
        num(pending()),
        num(verified()),
    ] {
        let (step, _) = w.run(&obs, Ok(()));
        assert_eq!(step, None);
    }
}

#[test]
fn a_verified_number_is_registered_and_a_pin_change_only_sets_the_pin() {
    let mut w = World::new(managed());
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert!(matches!(step, Some(Step::Register { .. })));
    w.later(5);
    w.pin = SecretState::Present("pin-uid/2".into());
    let (step, events) = w.run(&num(number()), Ok(()));
    assert_eq!(
        step,
        Some(Step::SetPin {
            pin: "pin-uid/2".into()
        })
    );
    assert_eq!(reasons(&events), [reason::PIN_UPDATED]);
    assert_eq!(
        w.progress().attempts.len(),
        1,
        "a PIN change never re-registers"
    );
}

#[test]
fn the_display_name_is_awaited_before_a_code_is_requested() {
    let mut w = World::new(managed());
    let mut n = pending();
    n.name_status = Some(NameStatus::None);
    let (step, _) = w.run(&num(n), Ok(()));
    assert_eq!(step, None);
    assert_eq!(w.status.as_ref().unwrap().phase, Phase::AwaitingDisplayName);

    // 2388001 on register: wait, not fail; the attempt is counted.
    let mut w = World::new(managed());
    let (step, events) = w.run(&num(verified()), Err(meta_error(100, Some(2388001), "")));
    assert!(matches!(step, Some(Step::Register { .. })));
    assert!(events.is_empty(), "{events:?}");
    assert_eq!(w.status.as_ref().unwrap().phase, Phase::AwaitingDisplayName);
    assert_eq!(w.progress().attempts.len(), 1);
    w.later(60);
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert_eq!(step, None, "waits for the retry time");
    assert_eq!(w.status.as_ref().unwrap().phase, Phase::AwaitingDisplayName);
}

#[test]
fn a_declined_display_name_stalls_with_metas_reason() {
    let mut w = World::new(managed());
    let mut n = pending();
    n.name_status = Some(NameStatus::Declined);
    w.status = Some(WhatsAppChannelStatus {
        name_rejection_reason: Some("name does not match the business".into()),
        ..Default::default()
    });
    let (step, events) = w.run(&num(n), Ok(()));
    assert_eq!(step, None);
    let (st, r, m) = w.condition(condition::STALLED);
    assert_eq!(
        (st.as_str(), r.as_str()),
        ("True", rr::DISPLAY_NAME_REJECTED)
    );
    assert!(m.contains("name does not match the business"), "{m}");
    assert!(reasons(&events).contains(&reason::REGISTRATION_STALLED));
}

#[test]
fn each_code_is_tried_once_and_an_expired_one_brings_a_new_request() {
    let mut w = World::new(managed());
    w.run(&num(pending()), Ok(()));
    w.code = SecretState::Present("otp/1".into());
    w.later(5);
    let (step, events) = w.run(&num(pending()), Err(meta_error(136025, None, "incorrect")));
    assert!(matches!(step, Some(Step::VerifyCode { .. })));
    assert_eq!(reasons(&events), [reason::VERIFICATION_CODE_REJECTED]);
    w.later(5);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None, "the same code is not tried twice");
    let (_, _, m) = w.condition(condition::REGISTERED);
    assert!(m.contains("rejected"), "{m}");

    // Eleven minutes later a new value is refused as expired: a new code is requested.
    w.later(11 * 60);
    w.code = SecretState::Present("otp/2".into());
    let (_, events) = w.run(&num(pending()), Err(meta_error(136025, None, "")));
    assert!(events[0].note.contains("expired"), "{:?}", events);
    w.later(5);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert!(matches!(step, Some(Step::RequestCode { .. })));
    assert_eq!(w.progress().code_requests, Some(2));
}

#[test]
fn code_requests_are_capped() {
    let mut w = World::new(managed());
    w.status = Some(WhatsAppChannelStatus {
        registration: Some(RegistrationProgress {
            code_requests: Some(MAX_CODE_REQUESTS),
            ..Default::default()
        }),
        ..Default::default()
    });
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None);
    assert_eq!(
        w.condition(condition::STALLED).1,
        rr::TOO_MANY_CODE_REQUESTS
    );
}

#[test]
fn the_budget_stops_at_three_attempts_and_says_when() {
    let mut w = World::new(managed());
    for i in 0..3 {
        let (step, _) = w.run(&num(verified()), Err(meta_error(1, None, "boom")));
        assert!(matches!(step, Some(Step::Register { .. })), "attempt {i}");
        // Past the failure backoff.
        w.later(3600);
    }
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert_eq!(step, None);
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::BUDGET_EXHAUSTED);
    assert!(m.contains("2026-11-26T10:00:"), "{m}");
    // Once the first attempt left the 72 h window, one more is allowed.
    w.now = ts("2026-11-26T10:00:20Z");
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert!(matches!(step, Some(Step::Register { .. })));
}

#[test]
fn metas_budget_refusal_and_pin_mismatch_stall() {
    let mut w = World::new(managed());
    w.run(&num(verified()), Err(meta_error(133016, None, "")));
    assert_eq!(w.condition(condition::STALLED).1, rr::BUDGET_EXHAUSTED);
    assert!(w.progress().blocked_until.is_some());

    let mut w = World::new(managed());
    w.run(&num(verified()), Err(meta_error(133005, None, "")));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::PIN_MISMATCH);
    assert!(m.starts_with("PIN mismatch: set the PIN Secret to the number's current two-step PIN"));
    w.later(5);
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert_eq!(step, None, "the same PIN is not tried again");
    w.pin = SecretState::Present("pin-uid/9".into());
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert!(matches!(step, Some(Step::Register { .. })));
}

#[test]
fn a_number_in_use_on_the_app_stalls_and_retries_by_itself() {
    let mut w = World::new(managed());
    let details = "This phone number is registered to an account on the WhatsApp app";
    let (step, _) = w.run(&num(pending()), Err(meta_error(100, None, details)));
    assert!(matches!(step, Some(Step::RequestCode { .. })));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::IN_USE_ON_APP);
    assert!(
        m.contains("change number") && m.contains("delete account"),
        "{m}"
    );
    assert_eq!(w.progress().code_requested_at, None);
    w.later(60);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None);
    assert_eq!(
        w.condition(condition::STALLED).1,
        rr::IN_USE_ON_APP,
        "the stall is kept"
    );
    w.later(IN_USE_RETRY.as_secs());
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert!(matches!(step, Some(Step::RequestCode { .. })));
}

#[test]
fn another_business_owning_the_number_stalls() {
    let mut w = World::new(managed());
    let err = meta_error(
        100,
        None,
        "This phone number is already in a WhatsApp Business Account owned by another business.",
    );
    w.run(&ChannelObservation::NotInWaba, Err(err));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::OTHER_BUSINESS);
    assert!(m.contains("another business manager"), "{m}");
}

#[test]
fn business_verification_required_stalls_and_retries_hourly() {
    let mut w = World::new(managed());
    let err = meta_error(
        131045,
        None,
        "Business verification is required before this number can be registered.",
    );
    let (step, _) = w.run(&num(verified()), Err(err));
    assert!(matches!(step, Some(Step::Register { .. })));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::BUSINESS_VERIFICATION);
    assert!(m.contains("Security Center"), "{m}");
    // Nothing is tried again before the hour is up, then register is.
    w.later(30 * 60);
    let (plan, _) = w.plan(&num(verified()));
    assert_eq!(plan.step, None);
    w.later(31 * 60);
    let (plan, _) = w.plan(&num(verified()));
    assert!(matches!(plan.step, Some(Step::Register { .. })));
}

#[test]
fn a_verify_refused_for_another_reason_than_the_code_retries_the_same_code() {
    let mut w = World::new(managed());
    w.run(&num(pending()), Ok(()));
    w.code = SecretState::Present("otp/1".into());
    w.later(5);
    let err = meta_error(
        131045,
        None,
        "Business verification is required before this number can be registered.",
    );
    let (step, _) = w.run(&num(pending()), Err(err));
    assert!(matches!(step, Some(Step::VerifyCode { .. })));
    assert_eq!(w.condition(condition::STALLED).1, rr::BUSINESS_VERIFICATION);
    w.later(61 * 60);
    let (plan, _) = w.plan(&num(pending()));
    assert!(
        matches!(plan.step, Some(Step::VerifyCode { ref fingerprint }) if fingerprint == "otp/1"),
        "{:?}",
        plan.step
    );
    // Meta's 136025 is a judgement: that code is never sent again. An hour on, the SMS has
    // expired, so a new one is asked for.
    w.run(&num(pending()), Err(meta_error(136025, None, "Wrong code")));
    w.later(60);
    let (plan, _) = w.plan(&num(pending()));
    assert!(
        matches!(plan.step, Some(Step::RequestCode { .. })),
        "{:?}",
        plan.step
    );
}

#[test]
fn an_auth_failure_on_verify_keeps_the_code_for_a_retry() {
    let mut w = World::new(managed());
    w.run(&num(pending()), Ok(()));
    w.code = SecretState::Present("otp/1".into());
    w.later(5);
    w.run(&num(pending()), Err(meta_error(190, Some(463), "")));
    assert_eq!(w.progress().last_tried_code, None);
    assert!(w.progress().retry_at.is_some());
}

#[test]
fn a_missing_display_name_or_pin_stalls_with_what_to_set() {
    let mut spec = managed();
    spec.display_name = None;
    let mut w = World::new(spec);
    w.run(&ChannelObservation::NotInWaba, Ok(()));
    assert_eq!(w.condition(condition::STALLED).1, rr::DISPLAY_NAME_MISSING);

    let mut w = World::new(managed());
    w.pin = SecretState::Missing("Secret ns/pin not found".into());
    w.run(&num(verified()), Ok(()));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::PIN_MISSING);
    assert!(m.contains("Secret ns/pin not found"));
}

#[test]
fn an_unchanged_stall_keeps_its_transition_time_and_emits_no_second_event() {
    let mut w = World::new(managed());
    w.pin = SecretState::NotConfigured;
    let (_, events) = w.run(&num(verified()), Ok(()));
    assert_eq!(reasons(&events), [reason::REGISTRATION_STALLED]);
    let before = w.status.clone().unwrap();
    w.later(30);
    let (_, events) = w.run(&num(verified()), Ok(()));
    assert!(events.is_empty(), "{events:?}");
    let after = w.status.clone().unwrap();
    for c in &after.conditions {
        let b = before
            .conditions
            .iter()
            .find(|b| b.type_ == c.type_)
            .unwrap();
        assert_eq!(
            b.last_transition_time, c.last_transition_time,
            "{}",
            c.type_
        );
    }
}

#[test]
fn a_code_nobody_entered_is_requested_again_after_it_expired() {
    let mut w = World::new(managed());
    w.run(&num(pending()), Ok(()));
    w.later(5 * 60);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None);
    w.later(6 * 60);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert!(matches!(step, Some(Step::RequestCode { .. })));
    assert_eq!(w.progress().code_requests, Some(2));
}

/// No register, code request or verification without positive evidence that the number is not
/// registered: a CONNECTED number whose read lacks `platform_type` may well be registered, and a
/// register with an unknown PIN would burn the budget.
#[test]
fn a_connected_number_without_platform_type_gets_no_registration_write() {
    for status in [
        Some(NumberStatus::Connected),
        Some(NumberStatus::Flagged),
        None,
    ] {
        let mut w = World::new(managed());
        let mut n = verified();
        n.status = status.clone();
        n.platform_type = None;
        let (step, events) = w.run(&num(n), Ok(()));
        assert_eq!(step, None, "{status:?}");
        assert!(
            events.iter().all(|e| e.reason != reason::REGISTERED),
            "{events:?}"
        );
        let (state, reason_, message) = w.condition(condition::REGISTERED);
        assert_eq!(state, "Unknown", "{status:?}");
        assert_eq!(reason_, rr::STATE_UNKNOWN);
        assert!(message.contains("platform_type absent"), "{message}");
    }
    // The same number read as not on any platform yet is onboarded.
    let mut w = World::new(managed());
    let (step, _) = w.run(&num(verified()), Ok(()));
    assert!(matches!(step, Some(Step::Register { .. })), "{step:?}");
}

/// Each SMS counts: a code request another process sent moments ago (its intent is in status,
/// Meta's answer not yet) is not sent again; one lost in a crash is, after the in-flight wait.
#[test]
fn a_code_request_in_flight_is_not_sent_twice() {
    let mut w = World::new(managed());
    w.status = Some(WhatsAppChannelStatus {
        registration: Some(RegistrationProgress {
            in_flight: Some(StepInFlight {
                step: "request_code".into(),
                started_at: status_time(w.now),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    w.later(5);
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert_eq!(step, None);
    w.later(CODE_REQUEST_IN_FLIGHT.as_secs());
    let (step, _) = w.run(&num(pending()), Ok(()));
    assert!(matches!(step, Some(Step::RequestCode { .. })), "{step:?}");
    assert!(w.progress().code_requested_at.is_some());
}

fn otp_ref() -> SecretKeyRef {
    SecretKeyRef {
        name: "otp".into(),
        key: "code".into(),
    }
}

#[test]
fn a_code_secret_that_does_not_exist_is_created_once_meta_sent_the_code() {
    let mut w = World::new(managed());
    w.code = SecretState::NotFound("Secret ns/otp not found: create it".into());
    // No code is awaited before Meta sends one: request it, create nothing yet.
    let (plan, _) = w.plan(&num(pending()));
    assert!(matches!(plan.step, Some(Step::RequestCode { .. })));
    assert_eq!(plan.create_code_secret, None);
    w.run(&num(pending()), Ok(()));

    w.later(5);
    let (plan, status) = w.plan(&num(pending()));
    assert_eq!(plan.step, None, "no code, no verify_code");
    assert_eq!(plan.create_code_secret, Some(otp_ref()));
    assert_eq!(plan.events, Vec::new(), "the act step announces a creation");
    let awaiting = crate::crd::find_condition(&status.conditions, condition::REGISTERED)
        .cloned()
        .unwrap();
    assert_eq!(awaiting.reason, rr::AWAITING_CODE);
    assert!(
        awaiting.message.contains("Secret ns/otp key \"code\""),
        "{}",
        awaiting.message
    );

    // The Secret it created is empty: still no code, nothing to create, the same message.
    w.code = SecretState::Missing("Secret ns/otp key \"code\" is empty".into());
    let (plan, status) = w.plan(&num(pending()));
    assert_eq!(plan.step, None);
    assert_eq!(plan.create_code_secret, None);
    assert_eq!(plan.requeue_after, Some(CODE_POLL));
    let waiting = crate::crd::find_condition(&status.conditions, condition::REGISTERED).unwrap();
    assert_eq!(
        (&waiting.reason, &waiting.message),
        (&awaiting.reason, &awaiting.message)
    );

    // A code in it is verified as ever.
    w.code = SecretState::Present("otp-uid/3".into());
    let (plan, _) = w.plan(&num(pending()));
    assert_eq!(
        plan.step,
        Some(Step::VerifyCode {
            fingerprint: "otp-uid/3".into()
        })
    );
    assert_eq!(plan.create_code_secret, None);
}

#[test]
fn no_secret_is_created_without_a_ref_nor_for_a_missing_pin() {
    let mut spec = managed();
    if let Some(r) = spec.registration.as_mut() {
        r.verification_code_secret_ref = None;
    }
    let mut w = World::new(spec);
    w.code = SecretState::NotConfigured;
    let (plan, status) = w.plan(&num(pending()));
    assert_eq!(plan.create_code_secret, None);
    let stalled = crate::crd::find_condition(&status.conditions, condition::STALLED).unwrap();
    assert_eq!(stalled.reason, rr::CODE_SECRET_MISSING);

    let mut w = World::new(managed());
    w.pin = SecretState::NotFound("Secret ns/pin not found: create it".into());
    w.run(&num(verified()), Ok(()));
    let (_, r, m) = w.condition(condition::STALLED);
    assert_eq!(r, rr::PIN_MISSING);
    assert!(m.contains("Secret ns/pin not found"), "{m}");
    let (plan, _) = w.plan(&num(verified()));
    assert_eq!(plan.create_code_secret, None);
}

#[test]
fn the_created_secret_event_says_which_secret_and_key_to_fill_and_how() {
    let event = code_secret_created("messaging", &otp_ref());
    assert_eq!(event.reason, reason::VERIFICATION_CODE_SECRET_CREATED);
    assert_eq!(event.type_, crate::decide::EventType::Normal);
    assert_eq!(
        event.note,
        "Created Secret messaging/otp with an empty key \"code\" for the verification code Meta \
         sent: put the code there with kubectl -n messaging patch secret otp --type merge -p \
         '{\"stringData\":{\"code\":\"<CODE>\"}}'"
    );
}

/// A registered number, its PIN applied and its display name taken as what it carries.
fn renamable(name: &str) -> World {
    let mut spec = managed();
    spec.display_name = Some(name.into());
    let mut w = World::new(spec);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert!(matches!(step, Some(Step::SetPin { .. })), "{step:?}");
    w.later(60);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert_eq!(step, None);
    let change = w.status.as_ref().unwrap().display_name.clone().unwrap();
    assert_eq!(change.current.as_deref(), Some(name));
    w
}

/// A rename made right after the PIN is set, before any other reconcile, is a change of name:
/// the name the number carries was noted with the PIN.
#[test]
fn a_rename_right_after_the_pin_is_set_is_requested() {
    let mut spec = managed();
    spec.display_name = Some("Acme Store".into());
    let mut w = World::new(spec);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert!(matches!(step, Some(Step::SetPin { .. })), "{step:?}");
    w.spec.display_name = Some("Acme Shop".into());
    w.later(60);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert_eq!(
        step,
        Some(Step::RequestName {
            name: "Acme Shop".into()
        })
    );
}

fn reviewed(status: NameStatus) -> PhoneNumber {
    let mut n = number();
    n.new_name_status = Some(status);
    n
}

/// A spec change of a registered number's display name asks Meta once, waits for the review
/// with the old name in use, and after approval registers the number again (one attempt of the
/// budget) so the new name takes effect; nothing more is written after that.
#[test]
fn a_display_name_change_is_requested_reviewed_and_applied_by_registering_again() {
    let mut w = renamable("Acme Store");
    w.spec.display_name = Some("Acme Shop".into());
    w.later(60);
    let (step, events) = w.run(&num(number()), Ok(()));
    assert_eq!(
        step,
        Some(Step::RequestName {
            name: "Acme Shop".into()
        })
    );
    assert!(
        events
            .iter()
            .any(|e| e.reason == reason::NAME_CHANGE_REQUESTED)
    );
    w.later(60);
    let (step, _) = w.run(&num(reviewed(NameStatus::PendingReview)), Ok(()));
    assert_eq!(step, None, "one request while Meta reviews");
    let (state, why, _) = w.condition(condition::NAME_REVIEWED);
    assert_eq!(
        (state.as_str(), why.as_str()),
        ("Unknown", rr::NEW_NAME_IN_REVIEW)
    );
    assert!(
        w.condition(condition::READY).0 == "True",
        "the old name keeps working"
    );

    w.later(60);
    let attempts = w.progress().attempts.len();
    let (step, events) = w.run(&num(reviewed(NameStatus::Approved)), Ok(()));
    assert!(matches!(step, Some(Step::Register { .. })), "{step:?}");
    assert!(
        events.iter().any(|e| e.reason == reason::NAME_APPLIED),
        "{events:?}"
    );
    assert_eq!(w.progress().attempts.len(), attempts + 1);
    let change = w.status.as_ref().unwrap().display_name.clone().unwrap();
    assert_eq!(change.current.as_deref(), Some("Acme Shop"));
    assert!(change.applied_at.is_some());
    w.later(60);
    let (step, _) = w.run(&num(reviewed(NameStatus::Approved)), Ok(()));
    assert_eq!(step, None);
}

/// A second rename while Graph still shows the first review's APPROVED: a read from before the
/// new request is no verdict on it, so nothing is registered until a later read says so.
#[test]
fn a_read_from_before_a_name_request_is_no_verdict_on_it() {
    let mut w = renamable("Acme Store");
    w.spec.display_name = Some("Acme Shop".into());
    w.later(60);
    w.run(&num(number()), Ok(()));
    w.later(60);
    w.run(&num(reviewed(NameStatus::Approved)), Ok(()));
    w.spec.display_name = Some("Cheap Deals".into());
    w.later(60);
    let (step, _) = w.run(&num(reviewed(NameStatus::Approved)), Ok(()));
    assert!(matches!(step, Some(Step::RequestName { .. })), "{step:?}");
    let stale = w.now;
    w.later(2);
    let (plan, status) = w.plan_at(&num(reviewed(NameStatus::Approved)), stale);
    assert_eq!(plan.step, None, "the stale APPROVED registers nothing");
    let reviewed_state = status
        .conditions
        .iter()
        .find(|c| c.type_ == condition::NAME_REVIEWED)
        .map(|c| (c.status.clone(), c.reason.clone()));
    assert_eq!(
        reviewed_state,
        Some(("Unknown".into(), rr::NEW_NAME_IN_REVIEW.into()))
    );
    let (plan, _) = w.plan(&num(reviewed(NameStatus::Approved)));
    assert!(
        matches!(plan.step, Some(Step::Register { .. })),
        "a fresh read's approval applies the name: {:?}",
        plan.step
    );
}

/// A rejected name stalls with Meta's reason, writes nothing, and a new name in the spec asks
/// again.
#[test]
fn a_rejected_display_name_stalls_until_the_spec_changes() {
    let mut w = renamable("Acme Store");
    w.spec.display_name = Some("Cheap Deals!!!".into());
    w.later(60);
    w.run(&num(number()), Ok(()));
    w.later(60);
    let mut declined = reviewed(NameStatus::Declined);
    declined.status = Some(NumberStatus::Connected);
    w.status.as_mut().unwrap().name_rejection_reason = Some("NAME_FORMAT_UNACCEPTABLE".into());
    let (step, events) = w.run(&num(declined.clone()), Ok(()));
    assert_eq!(step, None);
    let (state, why, message) = w.condition(condition::STALLED);
    assert_eq!(
        (state.as_str(), why.as_str()),
        ("True", rr::NEW_NAME_REJECTED)
    );
    assert!(message.contains("NAME_FORMAT_UNACCEPTABLE"), "{message}");
    assert!(
        events
            .iter()
            .any(|e| e.reason == reason::REGISTRATION_STALLED)
    );
    let (_, events) = w.run(&num(declined.clone()), Ok(()));
    assert!(events.is_empty(), "announced once: {events:?}");

    w.spec.display_name = Some("Acme Deals".into());
    w.later(60);
    let (step, _) = w.run(&num(declined), Ok(()));
    assert_eq!(
        step,
        Some(Step::RequestName {
            name: "Acme Deals".into()
        })
    );
}

/// An approved name waits for the registration budget when it is spent, and says until when.
#[test]
fn an_approved_name_waits_for_the_registration_budget() {
    let mut w = renamable("Acme Store");
    w.spec.display_name = Some("Acme Shop".into());
    w.later(60);
    w.run(&num(number()), Ok(()));
    let spent: Vec<_> = (0..3).map(|_| status_time(w.now)).collect();
    w.status
        .as_mut()
        .unwrap()
        .registration
        .as_mut()
        .unwrap()
        .attempts = spent;
    w.later(60);
    let (step, _) = w.run(&num(reviewed(NameStatus::Approved)), Ok(()));
    assert_eq!(step, None);
    let (state, why, message) = w.condition(condition::NAME_REVIEWED);
    assert_eq!(
        (state.as_str(), why.as_str()),
        ("True", rr::RENAME_BUDGET_WAIT)
    );
    assert!(message.contains("allows at"), "{message}");
}

/// A step another process has in flight (its intent in status, no answer yet) holds off every
/// plan, so two processes never send the same write; one lost in a crash is planned again after
/// `STEP_IN_FLIGHT`.
#[test]
fn a_step_in_flight_elsewhere_holds_off_the_same_write() {
    let mut w = World::new(managed());
    w.status = Some(WhatsAppChannelStatus {
        registration: Some(RegistrationProgress {
            in_flight: Some(StepInFlight {
                step: "set_pin".into(),
                started_at: status_time(w.now),
            }),
            ..Default::default()
        }),
        ..Default::default()
    });
    w.later(5);
    let (step, _) = w.run(&num(number()), Ok(()));
    assert_eq!(step, None);
    w.later(STEP_IN_FLIGHT.as_secs());
    let (step, _) = w.run(&num(number()), Ok(()));
    assert!(matches!(step, Some(Step::SetPin { .. })), "{step:?}");
}
