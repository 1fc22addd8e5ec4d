//! The registration lifecycle end to end: the operator binary against a real kube-apiserver and
//! the Meta simulator. Codes are read from the simulator's admin API, as a person would read
//! the SMS, and put into the Secret the channel names.

use std::time::Duration;

use harness::World;
use harness::operator::eventually;
use harness::sim::{Fault, GraphCall, Sim};
use kube::api::{Patch, PatchParams};
use serde_json::{Value, json};
use whatsapp_operator::crd::{Phase, WhatsAppChannelStatus, condition_is_true, find_condition};

const WAIT: Duration = Duration::from_secs(90);
/// The WABA of the example state.
const WABA: &str = "102290129340398";
/// The PENDING, NOT_VERIFIED number of the example state (+44 7700 900123).
const UK_ID: &str = "106540352242925";

async fn world(prefix: &str) -> World {
    World::with_quiet_account(prefix, WAIT).await
}

/// A Managed channel with code and PIN Secrets; `code` may be empty.
fn managed_channel(name: &str, number: &str, pin: &str, deletion: &str) -> String {
    format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: {name}-pin
stringData:
  pin: "{pin}"
---
apiVersion: v1
kind: Secret
metadata:
  name: {name}-otp
stringData:
  code: ""
---
apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppChannel
metadata:
  name: {name}
spec:
  accountRef:
    name: acme
  phoneNumber: "{number}"
  displayName: Acme Test
  registration:
    verificationMethod: SMS
    language: en_US
    verificationCodeSecretRef:
      name: {name}-otp
      key: code
    pinSecretRef:
      name: {name}-pin
      key: pin
  deletionPolicy: {deletion}
"#
    )
}

fn phase(p: Phase) -> impl Fn(&WhatsAppChannelStatus) -> bool {
    move |s| s.phase == p
}

fn stalled_with(reason: &'static str) -> impl Fn(&WhatsAppChannelStatus) -> bool {
    move |s| {
        find_condition(&s.conditions, "Stalled")
            .is_some_and(|c| c.status == "True" && c.reason == reason)
    }
}

fn connected(s: &WhatsAppChannelStatus) -> bool {
    s.status.as_deref() == Some("CONNECTED") && condition_is_true(&s.conditions, "Ready")
}

/// Waits until the channel is connected with its PIN applied; the PIN's fingerprint.
async fn pin_applied(w: &World, name: &str) -> String {
    w.wait_channel(name, "the PIN applied", |s| {
        connected(s)
            && s.registration
                .as_ref()
                .is_some_and(|r| r.applied_pin.is_some())
    })
    .await
    .registration
    .and_then(|r| r.applied_pin)
    .unwrap_or_default()
}

/// The code Meta "sent" for the number, as the simulator stores it.
async fn sim_code(sim: &Sim, id: &str) -> String {
    match sim.last_code(id).await {
        Some(code) => code,
        None => panic!(
            "no verification code was requested for {id}: {:?}; requests: {:?}",
            sim.number(id).await,
            sim.requests().await
        ),
    }
}

fn assert_secret_free(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked: {s}");
    }
}

/// A new number: added, code requested, code verified, registered with the PIN; the operator
/// is killed after each step and no write to Meta is ever repeated.
#[tokio::test]
async fn onboards_a_new_number_across_restarts_without_repeating_a_write() {
    let mut w = world("reg-onboard").await;
    w.start_operator(&[]);
    w.apply(&managed_channel(
        "sales",
        "+49 151 2345 6789",
        "581063",
        "Orphan",
    ))
    .await;

    // Each restart comes after Meta answered a step and its event is out.
    w.wait_event("sales", "NumberAdded").await;
    w.operator_mut().restart();

    w.wait_event("sales", "VerificationCodeRequested").await;
    let s = w
        .wait_channel("sales", "the code requested", |s| {
            find_condition(&s.conditions, "Registered")
                .is_some_and(|c| c.reason == "AwaitingVerificationCode")
        })
        .await;
    assert_eq!(s.phase, Phase::AwaitingVerificationCode);
    let id = s.phone_number_id.clone().expect("phone number id");
    let registered = find_condition(&s.conditions, "Registered").unwrap();
    assert!(
        registered
            .message
            .contains(&format!("Secret {}/sales-otp key \"code\"", w.ns)),
        "{}",
        registered.message
    );
    w.operator_mut().restart();

    let code = sim_code(&w.sim, &id).await;
    w.set_secret("sales-otp", "code", &code).await;
    eventually("VerificationCodeAccepted", WAIT, || async {
        (w.event_count("sales", "VerificationCodeAccepted").await == 1).then_some(())
    })
    .await;
    w.operator_mut().restart();

    let s = w.wait_channel("sales", "CONNECTED", connected).await;
    assert_eq!(s.phase, Phase::Connected);
    let r = s.registration.clone().unwrap();
    assert_eq!(r.attempts.len(), 1);
    assert!(r.registered_at.is_some() && r.applied_pin.is_some());
    w.operator_mut().restart();
    // A sync after the restart sees the number connected and writes nothing more.
    w.wait_channel("sales", "still connected", connected).await;

    // Each write costs at most two reads of the WABA (one may start within the second of the
    // write and not count), each start one, plus the 1-minute interval: a channel and its
    // account re-triggering each other would read dozens of times per step.
    let reads = w.sim.reads_of(WABA).await;
    assert!(reads <= 20, "{reads} reads of the WABA");
    assert_eq!(w.sim.posts(&format!("/{WABA}/phone_numbers")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{id}/request_code")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{id}/verify_code")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{id}/register")).await, 1);
    for reason in [
        "NumberAdded",
        "VerificationCodeRequested",
        "VerificationCodeAccepted",
        "Registered",
    ] {
        assert_eq!(
            w.event_count("sales", reason).await,
            1,
            "{reason}: {:?}",
            w.events().await
        );
    }
    let status_text = serde_json::to_string(&s).unwrap();
    let event_text = format!("{:?}", w.events().await);
    for text in [status_text, event_text, w.operator().log_text()] {
        assert_secret_free(&text, &[&code, "581063"]);
    }
}

/// `managed_channel` without its code Secret: only the channel names it.
fn managed_channel_without_code_secret(name: &str, number: &str, pin: &str) -> String {
    let otp = format!("  name: {name}-otp\nstringData:");
    let docs: Vec<String> = managed_channel(name, number, pin, "Orphan")
        .split("---\n")
        .filter(|doc| !doc.contains(&otp))
        .map(str::to_string)
        .collect();
    assert_eq!(docs.len(), 2, "the channel and its PIN Secret");
    docs.join("---\n")
}

/// A new number whose code Secret does not exist: once Meta sent the code, the operator creates
/// the Secret empty, owned by the channel, with one event saying how to fill it; filled, the
/// code is verified once and the number registered.
#[tokio::test]
async fn creates_the_missing_code_secret_empty_and_owned_by_the_channel() {
    let mut w = world("reg-code-secret").await;
    w.start_operator(&[]);
    w.apply(&managed_channel_without_code_secret(
        "sales",
        "+49 151 2345 6789",
        "581063",
    ))
    .await;

    w.wait_event("sales", "VerificationCodeSecretCreated").await;
    let channel = w.channel("sales").await;
    let secret = w.secrets().get("sales-otp").await.expect("the code Secret");
    let owners = secret.metadata.owner_references.clone().unwrap_or_default();
    assert_eq!(owners.len(), 1, "{owners:?}");
    assert_eq!(
        (owners[0].kind.as_str(), owners[0].name.as_str()),
        ("WhatsAppChannel", "sales")
    );
    assert_eq!(owners[0].api_version, "whatsapp-operator.io/v1alpha1");
    assert_eq!(Some(&owners[0].uid), channel.metadata.uid.as_ref());
    assert_eq!(owners[0].controller, Some(false));
    assert_eq!(owners[0].block_owner_deletion, Some(false));
    assert_eq!(secret.type_.as_deref(), Some("Opaque"));
    let data = secret.data.clone().unwrap_or_default();
    assert_eq!(data.len(), 1, "{data:?}");
    assert_eq!(data.get("code").map(|v| v.0.len()), Some(0), "{data:?}");
    let labels = secret.metadata.labels.clone().unwrap_or_default();
    assert_eq!(
        labels
            .get("app.kubernetes.io/managed-by")
            .map(String::as_str),
        Some("whatsapp-operator")
    );
    assert_eq!(
        labels
            .get("whatsapp-operator.io/verification-code")
            .map(String::as_str),
        Some("true")
    );
    let events = w.events().await;
    let created: Vec<_> = events
        .iter()
        .filter(|e| e.reason == "VerificationCodeSecretCreated")
        .collect();
    assert_eq!(created.len(), 1, "{events:?}");
    assert_eq!(created[0].type_, "Normal");
    for part in [
        format!("Secret {}/sales-otp", w.ns),
        "key \"code\"".to_string(),
        format!("kubectl -n {} patch secret sales-otp", w.ns),
    ] {
        assert!(
            created[0].note.contains(&part),
            "{part}: {}",
            created[0].note
        );
    }

    // The empty Secret is no code: the channel waits, naming it, and sends nothing to verify.
    let s = w
        .wait_channel("sales", "the code awaited", |s| {
            find_condition(&s.conditions, "Registered")
                .is_some_and(|c| c.reason == "AwaitingVerificationCode")
        })
        .await;
    let registered = find_condition(&s.conditions, "Registered").unwrap();
    assert!(
        registered
            .message
            .contains(&format!("Secret {}/sales-otp key \"code\"", w.ns)),
        "{}",
        registered.message
    );
    let id = s.phone_number_id.clone().expect("phone number id");
    assert_eq!(w.sim.posts(&format!("/{id}/verify_code")).await, 0);

    let code = sim_code(&w.sim, &id).await;
    w.set_secret("sales-otp", "code", &code).await;
    w.wait_channel("sales", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{id}/request_code")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{id}/verify_code")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{id}/register")).await, 1);
    // Created once, never rewritten: the person's code is still there, and so is the owner.
    w.expect_events("sales", "VerificationCodeSecretCreated", 1)
        .await;
    let filled = w.secrets().get("sales-otp").await.expect("the code Secret");
    assert_eq!(
        filled
            .data
            .unwrap_or_default()
            .get("code")
            .map(|v| v.0.clone()),
        Some(code.clone().into_bytes())
    );
    assert_eq!(
        filled.metadata.owner_references,
        secret.metadata.owner_references
    );
    assert_secret_free(&w.operator().log_text(), &[&code, "581063"]);
}

/// A Managed channel "uk" for the example's +44 number whose PIN Secret holds `pin`, and the
/// operator watching it.
async fn uk_channel(w: &mut World, pin: &str) {
    w.apply(&managed_channel("uk", "+44 7700 900123", pin, "Orphan"))
        .await;
    w.start_operator(&[]);
}

/// The verified example number under a Managed channel, the operator started, and the first
/// register call held at Meta by `fault`; returns once that call is in flight and its attempt
/// is in status.
async fn register_in_flight(prefix: &str, fault: Fault) -> World {
    let mut w = world(prefix).await;
    verified_uk(&w.sim, json!({})).await;
    w.sim
        .add_fault(
            fault
                .path(format!("/{UK_ID}/register"))
                .method("POST")
                .count(1),
        )
        .await;
    uk_channel(&mut w, "123456").await;
    eventually("the register call at Meta", WAIT, || async {
        (w.sim.posts(&format!("/{UK_ID}/register")).await == 1).then_some(())
    })
    .await;
    let s = w.channel("uk").await.status.expect("status");
    assert_eq!(
        s.registration.map(|r| r.attempts.len()),
        Some(1),
        "the attempt is in status before the call leaves"
    );
    w
}

/// Killed while Meta registers the number, before its answer arrives: after the restart the
/// operator finds the number connected and never calls register again.
#[tokio::test]
async fn a_kill_after_meta_registered_never_registers_again() {
    let mut w = register_in_flight(
        "reg-kill-answered",
        Fault::any().answer_delay(Duration::from_millis(600_000)),
    )
    .await;
    w.operator_mut().kill();
    assert_eq!(
        w.sim.number(UK_ID).await.status,
        "CONNECTED",
        "Meta registered the number"
    );
    w.operator_mut().restart();

    let s = w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(s.phase, Phase::Connected);
    assert_eq!(s.registration.unwrap().attempts.len(), 1);
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 1);
    w.wait_event("uk", "Registered").await;
    assert_eq!(w.event_count("uk", "Registered").await, 1);
}

/// Killed while the register call has not reached Meta yet: the restarted operator registers
/// again, and both attempts count against the number's budget.
#[tokio::test]
async fn a_kill_before_meta_registered_registers_once_more_within_budget() {
    let mut w = register_in_flight(
        "reg-kill-lost",
        Fault::any().latency(Duration::from_millis(600_000)),
    )
    .await;
    w.operator_mut().kill();
    w.operator_mut().restart();

    let s = w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(s.registration.unwrap().attempts.len(), 2);
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 2);
    let at_meta = w.sim.number(UK_ID).await;
    assert_eq!(
        at_meta.registration_attempts.len(),
        1,
        "only the second call reached Meta: {at_meta:?}"
    );
    w.wait_event("uk", "Registered").await;
    assert_eq!(w.event_count("uk", "Registered").await, 1);
}

/// Connected numbers are adopted without a write; a verified number is only registered; an
/// unverified one gets a code request.
#[tokio::test]
async fn adopts_numbers_already_in_the_waba() {
    let mut w = world("reg-adopt").await;
    verified_uk(&w.sim, json!({})).await;
    w.apply_example("channel-adopt.yaml").await;
    w.apply(&managed_channel(
        "uk",
        "+44 7700 900123",
        "123456",
        "Orphan",
    ))
    .await;
    w.start_operator(&[]);

    let s = w
        .wait_channel("uk", "the verified number registered", connected)
        .await;
    assert_eq!(s.registration.unwrap().attempts.len(), 1);
    w.wait_channel("acme-support", "adopted", connected).await;
    w.wait_channel("acme-brasil", "adopted", connected).await;
    let writes = w.sim.writes().await;
    let registers: Vec<_> = writes
        .iter()
        .filter(|c| c.path.ends_with("/register"))
        .collect();
    assert_eq!(registers.len(), 1, "{writes:?}");
    assert!(registers[0].path.contains(UK_ID));
    assert!(
        !writes
            .iter()
            .any(|c| c.path.contains("request_code") || c.path.ends_with("/phone_numbers")),
        "{writes:?}"
    );
    assert_eq!(w.event_count("uk", "Registered").await, 1);
}

#[tokio::test]
async fn adopting_an_unverified_number_requests_a_code() {
    let mut w = world("reg-adopt-unverified").await;
    uk_channel(&mut w, "123456").await;
    // The phase is written with the request's intent, before the call: wait for Meta's answer
    // to be recorded too, or the count below races the call.
    w.wait_channel("uk", "awaiting the code", |s| {
        s.phase == Phase::AwaitingVerificationCode
            && s.registration
                .as_ref()
                .is_some_and(|p| p.code_requested_at.is_some())
    })
    .await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/request_code")).await, 1);
    assert_eq!(w.sim.posts("/phone_numbers").await, 0);
}

/// ObserveOnly never writes to Meta, whatever the number's state.
#[tokio::test]
async fn observe_only_makes_no_write_to_meta() {
    let mut w = world("reg-observe").await;
    w.apply_example("channel-observe-only.yaml").await;
    let mut uk = managed_channel("uk", "+44 7700 900123", "123456", "Deregister");
    uk.push_str("  management: ObserveOnly\n");
    w.apply(&uk).await;
    let mut gone = managed_channel("new", "+49 151 2345 6789", "123456", "Orphan");
    gone.push_str("  management: ObserveOnly\n");
    w.apply(&gone).await;
    w.start_operator(&[]);
    w.wait_channel("acme-shop-app", "synced", |s| {
        condition_is_true(&s.conditions, "Synced")
    })
    .await;
    w.wait_channel("uk", "synced", |s| {
        condition_is_true(&s.conditions, "Synced")
    })
    .await;
    w.wait_channel("new", "not found", phase(Phase::NotFound))
        .await;
    // Deleting an ObserveOnly channel with Deregister still never calls Meta.
    w.delete_channel("uk").await;
    w.wait_channel_gone("uk").await;
    assert_eq!(w.sim.writes().await, Vec::<GraphCall>::new());
}

async fn verified_uk(sim: &Sim, extra: Value) {
    let mut body = json!({"code_verification_status": "VERIFIED"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    sim.update_number(UK_ID, body).await;
}

async fn attempts(w: &World, name: &str) -> usize {
    w.channel(name)
        .await
        .status
        .and_then(|s| s.registration)
        .map_or(0, |r| r.attempts.len())
}

/// Every register fails: the operator stops at 3 attempts per 72 hours and says when the next
/// is allowed, even when asked to retry. The operator's budget runs on real time, so the test
/// ages the recorded attempts in status (where the budget lives) instead of waiting 72 hours.
#[tokio::test]
async fn the_registration_budget_stops_at_three_attempts_and_resumes_after_the_window() {
    let mut w = world("reg-budget").await;
    verified_uk(&w.sim, json!({})).await;
    w.sim
        .add_fault(Fault::on(format!("/{UK_ID}/register")).error(131000, "Something went wrong"))
        .await;
    uk_channel(&mut w, "123456").await;
    for n in 1..=3 {
        eventually(&format!("attempt {n}"), WAIT, || async {
            (attempts(&w, "uk").await == n).then_some(())
        })
        .await;
        // Lifts the failure backoff, not the budget.
        w.request_channel_reconcile("uk", &format!("retry-{n}"))
            .await;
    }
    let s = w
        .wait_channel(
            "uk",
            "the budget stall",
            stalled_with("RegistrationBudgetExhausted"),
        )
        .await;
    let message = find_condition(&s.conditions, "Stalled")
        .unwrap()
        .message
        .clone();
    let first = s.registration.as_ref().unwrap().attempts[0].clone();
    let next: jiff::Timestamp = first.0;
    let next = next
        .checked_add(jiff::SignedDuration::from_hours(72))
        .unwrap();
    assert!(
        message.contains(&next.to_string()),
        "{message} should name {next}"
    );
    assert_eq!(s.phase, Phase::Stalled);
    w.request_channel_reconcile("uk", "retry-again").await;
    w.wait_channel("uk", "the retry request handled", |s| {
        s.sync.last_handled_reconcile_at.as_deref() == Some("retry-again")
    })
    .await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 3);

    // Deleting the channel and creating it again does not give the number a new budget: its
    // attempts are kept on the account too.
    w.delete_channel("uk").await;
    w.wait_channel_gone("uk").await;
    w.apply(&managed_channel(
        "uk",
        "+44 7700 900123",
        "123456",
        "Orphan",
    ))
    .await;
    let s = w
        .wait_channel(
            "uk",
            "the budget stall after re-creation",
            stalled_with("RegistrationBudgetExhausted"),
        )
        .await;
    assert_eq!(s.registration.unwrap().attempts.len(), 3);
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 3);

    // 72 hours later (attempts aged in status, the channel's and the account's) and with Meta
    // working again, it registers.
    w.sim.clear_faults().await;
    let old: Vec<String> = (0..3)
        .map(|i| {
            jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_hours(73 + i))
                .unwrap()
                .to_string()
        })
        .collect();
    // The operator is stopped while both records age: a reconcile between the two patches
    // would merge the account's not-yet-aged history back into the channel (the union of both
    // is what protects the number in real time).
    w.operator_mut().kill();
    w.accounts()
        .patch_status(
            "acme",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"registrationHistory": {"447700900123": old}}})),
        )
        .await
        .unwrap();
    w.channels()
        .patch_status(
            "uk",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"registration": {"attempts": old}}})),
        )
        .await
        .unwrap();
    w.operator_mut().restart();
    w.request_channel_reconcile("uk", "after-the-window").await;
    w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 4);
}

/// A wrong code is rejected once and awaited again; an expired one brings a new code request.
#[tokio::test]
async fn wrong_and_expired_codes() {
    let mut w = world("reg-codes").await;
    uk_channel(&mut w, "123456").await;
    w.wait_event("uk", "VerificationCodeRequested").await;
    let real = sim_code(&w.sim, UK_ID).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    w.set_secret("uk-otp", "code", wrong).await;
    w.wait_event("uk", "VerificationCodeRejected").await;
    let s = w
        .wait_channel("uk", "the rejection shown", |s| {
            find_condition(&s.conditions, "Registered")
                .is_some_and(|c| c.message.contains("rejected"))
        })
        .await;
    assert_eq!(s.phase, Phase::AwaitingVerificationCode);
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/verify_code")).await, 1);

    // Eleven minutes later at Meta, the right code has expired.
    w.sim.advance_clock(Duration::from_secs(660)).await;
    w.set_secret("uk-otp", "code", &real).await;
    eventually("a second code request", WAIT, || async {
        (w.sim.posts(&format!("/{UK_ID}/request_code")).await == 2).then_some(())
    })
    .await;
    let fresh = sim_code(&w.sim, UK_ID).await;
    w.set_secret("uk-otp", "code", &fresh).await;
    w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/verify_code")).await, 3);
    assert_eq!(w.event_count("uk", "VerificationCodeRejected").await, 2);
}

#[tokio::test]
async fn a_pin_mismatch_stalls_until_the_pin_secret_is_fixed() {
    let mut w = world("reg-pin").await;
    verified_uk(&w.sim, json!({"pin": "111111", "is_pin_enabled": true})).await;
    uk_channel(&mut w, "222222").await;
    let s = w
        .wait_channel("uk", "the PIN stall", stalled_with("PinMismatch"))
        .await;
    let m = &find_condition(&s.conditions, "Stalled").unwrap().message;
    assert!(
        m.starts_with("PIN mismatch: set the PIN Secret to the number's current two-step PIN"),
        "{m}"
    );
    assert!(!serde_json::to_string(&s).unwrap().contains("222222"));
    w.set_secret("uk-pin", "pin", "111111").await;
    w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 2);
}

/// 2388001: the display name is not provisioned yet; the operator waits instead of failing.
#[tokio::test]
async fn a_display_name_not_ready_is_awaited() {
    let mut w = world("reg-name").await;
    verified_uk(&w.sim, json!({"name_ready": false})).await;
    uk_channel(&mut w, "123456").await;
    let s = w
        .wait_channel("uk", "awaiting the name", phase(Phase::AwaitingDisplayName))
        .await;
    assert!(!condition_is_true(&s.conditions, "Stalled"));
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 1);
    w.sim
        .update_number(UK_ID, json!({"name_ready": true}))
        .await;
    w.request_channel_reconcile("uk", "name-ready").await;
    w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 2);
}

#[tokio::test]
async fn a_number_in_use_on_the_whatsapp_app_stalls_with_how_to_free_it() {
    let mut w = world("reg-in-use").await;
    w.apply(&managed_channel(
        "app",
        "+55 11 91234-5678",
        "123456",
        "Orphan",
    ))
    .await;
    w.start_operator(&[]);
    let s = w
        .wait_channel(
            "app",
            "the in-use stall",
            stalled_with("NumberInUseOnWhatsAppApp"),
        )
        .await;
    let m = &find_condition(&s.conditions, "Stalled").unwrap().message;
    assert!(
        m.contains("change number") && m.contains("delete account"),
        "{m}"
    );
    let id = s.phone_number_id.clone().expect("added to the WABA");
    w.sim
        .update_number(&id, json!({"in_use_on_app": false}))
        .await;
    // The retry comes by itself after a while; the annotation brings it forward.
    w.request_channel_reconcile("app", "freed").await;
    w.wait_channel(
        "app",
        "the code requested",
        phase(Phase::AwaitingVerificationCode),
    )
    .await;
    // Each write costs at most two reads of the WABA (one may start within the second of the
    // write and not count), each start one, plus the 1-minute interval: a channel and its
    // account re-triggering each other would read dozens of times per step.
    let reads = w.sim.reads_of(WABA).await;
    assert!(reads <= 20, "{reads} reads of the WABA");
    assert_eq!(w.sim.posts(&format!("/{WABA}/phone_numbers")).await, 1);
}

/// The token expires between the code request and the verification: nothing is lost, and the
/// flow goes on once the Secret holds a valid token.
#[tokio::test]
async fn an_expired_token_mid_registration_resumes_with_new_credentials() {
    let mut w = world("reg-token").await;
    uk_channel(&mut w, "123456").await;
    w.wait_event("uk", "VerificationCodeRequested").await;
    let code = sim_code(&w.sim, UK_ID).await;
    w.sim.expire_token("sim-system-user-token").await;
    w.set_secret("uk-otp", "code", &code).await;
    w.wait_channel("uk", "the account failing", |s| {
        find_condition(&s.conditions, "Synced").is_some_and(|c| c.status == "False")
    })
    .await;
    w.sim
        .add_token(
            json!({"token": "fresh-token", "app_id": "670843887433847", "type": "SYSTEM_USER",
               "user_id": "10222270944537964",
               "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
               "granular_scopes": [{"scope": "whatsapp_business_management", "target_ids": ["102290129340398"]}],
               "expires_at": 0}),
        )
        .await;
    w.set_secret("acme-graph-token", "token", "fresh-token")
        .await;
    w.request_channel_reconcile("uk", "new-token").await;
    w.wait_channel("uk", "CONNECTED", connected).await;
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/request_code")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{UK_ID}/register")).await, 1);
}

/// A channel of the quiet account for `number`, with its deletion policy (other modules use it).
pub(crate) fn adopted(name: &str, number: &str, policy: &str) -> String {
    format!(
        r#"apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppChannel
metadata:
  name: {name}
spec:
  accountRef:
    name: acme
  phoneNumber: "{number}"
  deletionPolicy: {policy}
"#
    )
}

/// Orphan lets go; Deregister deregisters; a cleanup Meta refuses shows in a condition and
/// switching to Orphan releases the resource.
#[tokio::test]
async fn deletion_under_both_policies() {
    let mut w = world("reg-delete").await;
    w.apply(&adopted("support", "+1 555-078-3881", "Orphan"))
        .await;
    w.apply(&adopted("brasil", "+55 11 98765-4321", "Deregister"))
        .await;
    w.apply(&adopted("shop", "+1 555-078-3882", "Deregister"))
        .await;
    w.start_operator(&[]);
    for name in ["support", "brasil", "shop"] {
        w.wait_channel(name, "adopted", connected).await;
    }

    w.delete_channel("support").await;
    w.wait_channel_gone("support").await;
    assert_eq!(w.sim.posts("/deregister").await, 0);

    w.delete_channel("brasil").await;
    w.wait_channel_gone("brasil").await;
    assert_eq!(w.sim.posts("/106540352242924/deregister").await, 1);
    let n = w.sim.number("106540352242924").await;
    assert_eq!(n.status, "DISCONNECTED");

    w.sim
        .add_fault(Fault::on("/106540352242923/deregister").http_status(503))
        .await;
    w.delete_channel("shop").await;
    let s = w
        .wait_channel("shop", "the cleanup failure", |s| {
            find_condition(&s.conditions, "Synced").is_some_and(|c| c.reason == "CleanupFailed")
        })
        .await;
    assert!(
        find_condition(&s.conditions, "Synced")
            .unwrap()
            .message
            .contains("deletionPolicy: Orphan"),
        "{:?}",
        s.conditions
    );
    w.channels()
        .patch(
            "shop",
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": {"deletionPolicy": "Orphan"}})),
        )
        .await
        .unwrap();
    w.wait_channel_gone("shop").await;
    let n = w.sim.number("106540352242923").await;
    assert_eq!(n.status, "CONNECTED");
}

/// Two operator processes without leader election (what a rolling upgrade without it does)
/// onboard one number: each step's intent is written with a resourceVersion precondition, so
/// of two processes that planned the same step only one calls Meta.
#[tokio::test]
async fn two_processes_without_leader_election_make_each_write_once() {
    let mut w = world("reg-two-writers").await;
    w.start_operator(&[]);
    let _second = w.spawn_operator(&[]);
    w.apply(&managed_channel(
        "sales",
        "+49 151 2345 6789",
        "581063",
        "Orphan",
    ))
    .await;
    // Meta's answer to the request is recorded (the phase alone is the plan, written with the
    // intent before the call).
    let s = w
        .wait_channel("sales", "the code requested", |s| {
            s.phase == Phase::AwaitingVerificationCode
                && s.registration
                    .as_ref()
                    .is_some_and(|r| r.code_requested_at.is_some())
        })
        .await;
    let id = s.phone_number_id.clone().expect("phone number id");
    let code = sim_code(&w.sim, &id).await;
    w.set_secret("sales-otp", "code", &code).await;
    let s = w.wait_channel("sales", "CONNECTED", connected).await;
    assert_eq!(s.registration.unwrap().attempts.len(), 1);
    for path in [
        format!("/{WABA}/phone_numbers"),
        format!("/{id}/request_code"),
        format!("/{id}/verify_code"),
        format!("/{id}/register"),
    ] {
        assert_eq!(
            w.sim.posts(&path).await,
            1,
            "{path}: {:?}",
            w.sim.writes().await
        );
    }
}

/// The PIN Secret is fingerprinted by its content: rewriting its metadata (a label, an
/// annotation, a re-apply by a secret manager) sends nothing to Meta; a new PIN is set once.
#[tokio::test]
async fn a_metadata_only_rewrite_of_the_pin_secret_sends_no_pin() {
    let mut w = world("reg-pin-fingerprint").await;
    w.apply(&managed_channel(
        "us",
        "+1 555-078-3881",
        "246810",
        "Orphan",
    ))
    .await;
    w.start_operator(&[]);
    let us = "106540352242922";
    let applied = pin_applied(&w, "us").await;
    assert!(applied.starts_with("hmac-sha256:"), "{applied}");
    assert_eq!(w.sim.posts(&format!("/{us}")).await, 1);

    let label = json!({"metadata": {"labels": {"rotated-by": "external-secrets"}}});
    w.secrets()
        .patch("us-pin", &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();
    w.request_channel_reconcile("us", "after-relabel").await;
    let s = w
        .wait_channel("us", "the reconcile handled", |s| {
            s.sync.last_handled_reconcile_at.as_deref() == Some("after-relabel")
        })
        .await;
    assert_eq!(
        s.registration.unwrap().applied_pin.as_deref(),
        Some(applied.as_str())
    );
    assert_eq!(
        w.sim.posts(&format!("/{us}")).await,
        1,
        "{:?}",
        w.sim.writes().await
    );

    w.set_secret("us-pin", "pin", "135790").await;
    w.request_channel_reconcile("us", "after-rotation").await;
    w.wait_channel("us", "the new PIN applied", |s| {
        s.registration
            .as_ref()
            .is_some_and(|r| r.applied_pin.as_deref().is_some_and(|p| p != applied))
    })
    .await;
    assert_eq!(w.sim.posts(&format!("/{us}")).await, 2);
}

/// Every step's intent changes the object, so two operator processes without leader election
/// that both plan the PIN change make one set_pin call, not two.
#[tokio::test]
async fn two_processes_set_a_new_pin_once() {
    let mut w = world("reg-two-pins").await;
    w.apply(&managed_channel(
        "us",
        "+1 555-078-3881",
        "246810",
        "Orphan",
    ))
    .await;
    w.start_operator(&[]);
    let _second = w.spawn_operator(&[]);
    let us = "106540352242922";
    let applied = pin_applied(&w, "us").await;
    assert_eq!(w.sim.posts(&format!("/{us}")).await, 1);

    w.set_secret("us-pin", "pin", "135790").await;
    w.wait_channel("us", "the new PIN applied", |s| {
        s.registration
            .as_ref()
            .is_some_and(|r| r.applied_pin.as_deref().is_some_and(|p| p != applied))
    })
    .await;
    // Both processes had the Secret's change; give the slower one time to act on it.
    w.request_channel_reconcile("us", "after-rotation").await;
    w.wait_channel("us", "the reconcile handled", |s| {
        s.sync.last_handled_reconcile_at.as_deref() == Some("after-rotation")
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(
        w.sim.posts(&format!("/{us}")).await,
        2,
        "{:?}",
        w.sim.writes().await
    );
}

async fn rename(w: &World, channel: &str, name: &str) {
    let patch = json!({"spec": {"displayName": name}});
    w.channels()
        .patch(channel, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

/// Changing spec.displayName of a registered number requests the name at Meta once; while Meta
/// reviews it the number stays Ready; once approved the number is registered again, once, so
/// the name takes effect. A rejected name stalls with the reason and writes nothing more.
#[tokio::test]
async fn a_display_name_change_is_requested_once_and_applied_by_one_registration() {
    let mut w = world("reg-rename").await;
    w.apply(&managed_channel(
        "us",
        "+1 555-078-3881",
        "246810",
        "Orphan",
    ))
    .await;
    w.start_operator(&[]);
    let us = "106540352242922";
    pin_applied(&w, "us").await;
    assert_eq!(w.sim.posts(&format!("/{us}")).await, 1);

    rename(&w, "us", "Acme Support Desk").await;
    w.wait_channel("us", "in review", |s| {
        find_condition(&s.conditions, "NameReviewed").is_some_and(|c| c.status == "Unknown")
    })
    .await;
    let n = w.sim.number(us).await;
    assert_eq!(
        n.requested_display_name.as_deref(),
        Some("Acme Support Desk")
    );
    assert_eq!(w.event_count("us", "NameChangeRequested").await, 1);
    assert!(
        connected(&w.channel("us").await.status.unwrap()),
        "Ready meanwhile"
    );

    w.sim
        .update_number(
            us,
            json!({"new_name_status": "APPROVED", "verified_name": "Acme Support Desk"}),
        )
        .await;
    w.force_sync("acme", "approved").await;
    let s = w
        .wait_channel("us", "the name in effect", |s| {
            s.display_name
                .as_ref()
                .is_some_and(|d| d.current.as_deref() == Some("Acme Support Desk"))
        })
        .await;
    assert!(find_condition(&s.conditions, "NameReviewed").is_some_and(|c| c.status == "True"));
    assert_eq!(w.event_count("us", "NameApplied").await, 1);
    w.force_sync("acme", "after").await;
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    assert_eq!(w.sim.posts(&format!("/{us}/register")).await, 1);
    assert_eq!(
        w.sim.posts(&format!("/{us}")).await,
        2,
        "{:?}",
        w.sim.writes().await
    );

    rename(&w, "us", "CHEAP DEALS!!!").await;
    w.wait_channel("us", "requested again", |s| {
        s.display_name
            .as_ref()
            .is_some_and(|d| d.requested.as_deref() == Some("CHEAP DEALS!!!"))
    })
    .await;
    w.sim
        .update_number(us, json!({"new_name_status": "DECLINED"}))
        .await;
    w.force_sync("acme", "declined").await;
    let s = w
        .wait_channel("us", "stalled on the rejection", |s| {
            find_condition(&s.conditions, "Stalled")
                .is_some_and(|c| c.status == "True" && c.reason == "NewDisplayNameRejected")
        })
        .await;
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    assert_eq!(w.sim.posts(&format!("/{us}/register")).await, 1);
    assert_eq!(w.sim.posts(&format!("/{us}")).await, 3);
}

/// Meta reviews a requested display name on its own, after a delay, and says so by
/// `phone_number_name_update`: the approval reaches the channel by the webhook and the number
/// is registered again once; the simulator's name takes effect with that registration.
#[tokio::test]
async fn metas_timed_name_review_arrives_by_webhook_and_is_applied_once() {
    let (w, url) = World::with_webhook_receiver("reg-timed-name").await;
    let mut w = w.with_timeout(WAIT);
    w.sim
        .set_reviews(json!({"display_name": {"decision": "APPROVED", "after_seconds": 2}}))
        .await;
    w.apply(&harness::example_with(
        "account.yaml",
        &[("syncInterval: 10m", "syncInterval: 1h")],
    ))
    .await;
    w.apply(&managed_channel(
        "us",
        "+1 555-078-3881",
        "246810",
        "Orphan",
    ))
    .await;
    w.start_operator_with_receiver(&url, &[]).await;
    let us = "106540352242922";
    pin_applied(&w, "us").await;
    rename(&w, "us", "Acme Support Desk").await;
    let s = w
        .wait_channel("us", "the name in effect", |s| {
            s.display_name
                .as_ref()
                .is_some_and(|d| d.current.as_deref() == Some("Acme Support Desk"))
        })
        .await;
    assert!(find_condition(&s.conditions, "NameReviewed").is_some_and(|c| c.status == "True"));
    let sent = w.sim.sent_webhooks().await;
    assert!(
        sent.log
            .iter()
            .any(|d| d.field == "phone_number_name_update" && d.outcome == "delivered"),
        "{sent:?}"
    );
    w.wait_events("us", "NameApplied", 1).await;
    assert_eq!(w.sim.posts(&format!("/{us}/register")).await, 1);
    assert_eq!(
        w.sim.number(us).await.verified_name,
        "Acme Support Desk",
        "the approved name takes effect with the registration"
    );
}
