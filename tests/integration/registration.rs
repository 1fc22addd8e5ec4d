//! The registration lifecycle end to end: the operator binary against a real kube-apiserver and
//! the Meta simulator. Codes are read from the simulator's admin API, as a person would read
//! the SMS, and put into the Secret the channel names.

use std::time::Duration;

use harness::operator::{Operator, event_count, events, eventually};
use harness::sim::{posts, reads_of, requests, sim_get, sim_post, start_sim, writes};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use meta_sim::SimHandle;
use serde_json::{Value, json};
use whatsapp_operator::crd::{
    Phase, WhatsAppChannel, WhatsAppChannelStatus, condition_is_true, find_condition,
};

const WAIT: Duration = Duration::from_secs(90);
/// The WABA of the example state.
const WABA: &str = "102290129340398";
/// The PENDING, NOT_VERIFIED number of the example state (+44 7700 900123).
const UK_ID: &str = "106540352242925";

/// The account of the examples, syncing every minute.
async fn setup(client: &Client, prefix: &str) -> String {
    harness::install_crds(client).await;
    let ns = harness::fresh_namespace(client, prefix).await;
    let account = std::fs::read_to_string(harness::repo_root().join("examples/account.yaml"))
        .unwrap()
        .replace("syncInterval: 10m", "syncInterval: 1m")
        // Subscribing the app is the account's write (tests/webhooks.rs); these tests count
        // the channels' writes only.
        .replace("enabled: true", "enabled: false");
    harness::apply_yaml(client, &ns, &account)
        .await
        .expect("apply account");
    ns
}

async fn apply(client: &Client, ns: &str, yaml: &str) {
    harness::apply_yaml(client, ns, yaml)
        .await
        .expect("apply YAML");
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

async fn channel(client: &Client, ns: &str, name: &str) -> WhatsAppChannel {
    Api::<WhatsAppChannel>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get channel")
}

async fn wait_channel<F>(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    check: F,
) -> WhatsAppChannelStatus
where
    F: Fn(&WhatsAppChannelStatus) -> bool,
{
    eventually(what, WAIT, || async {
        let s = channel(client, ns, name).await.status?;
        check(&s).then_some(s)
    })
    .await
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

async fn set_secret(client: &Client, ns: &str, name: &str, key: &str, value: &str) {
    let api: Api<Secret> = Api::namespaced(client.clone(), ns);
    let patch = json!({"stringData": {key: value}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("patch Secret");
}

/// The code Meta "sent" for the number, as the simulator stores it.
async fn sim_code(sim: &SimHandle, id: &str) -> String {
    let number = sim_get(sim, &format!("/_sim/numbers/{id}")).await;
    match number["verification_code"]["code"].as_str() {
        Some(code) => code.to_string(),
        None => panic!(
            "no verification code was requested for {id}: {number}; requests: {:?}",
            requests(sim).await
        ),
    }
}

async fn annotate(client: &Client, ns: &str, name: &str, token: &str) {
    let api = Api::<WhatsAppChannel>::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"whatsapp-operator.io/reconcile-requested-at": token}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate channel");
}

fn assert_secret_free(text: &str, secrets: &[&str]) {
    for s in secrets {
        assert!(!text.contains(s), "a secret leaked: {s}");
    }
}

async fn wait_event(client: &Client, ns: &str, name: &str, reason: &str) {
    eventually(reason, WAIT, || async {
        (event_count(client, ns, name, reason).await >= 1).then_some(())
    })
    .await;
}

/// A new number: added, code requested, code verified, registered with the PIN; the operator
/// is killed after each step and no write to Meta is ever repeated.
#[tokio::test]
async fn onboards_a_new_number_across_restarts_without_repeating_a_write() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "reg-onboard").await;
    let mut op = Operator::start(&ns, &sim.base_url(), &[]);
    apply(
        &client,
        &ns,
        &managed_channel("sales", "+49 151 2345 6789", "581063", "Orphan"),
    )
    .await;

    // Each restart comes after Meta answered a step and its event is out.
    wait_event(&client, &ns, "sales", "NumberAdded").await;
    op.restart();

    wait_event(&client, &ns, "sales", "VerificationCodeRequested").await;
    let s = wait_channel(&client, &ns, "sales", "the code requested", |s| {
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
            .contains(&format!("Secret {ns}/sales-otp key \"code\"")),
        "{}",
        registered.message
    );
    op.restart();

    let code = sim_code(&sim, &id).await;
    set_secret(&client, &ns, "sales-otp", "code", &code).await;
    eventually("VerificationCodeAccepted", WAIT, || async {
        (event_count(&client, &ns, "sales", "VerificationCodeAccepted").await == 1).then_some(())
    })
    .await;
    op.restart();

    let s = wait_channel(&client, &ns, "sales", "CONNECTED", connected).await;
    assert_eq!(s.phase, Phase::Connected);
    let r = s.registration.clone().unwrap();
    assert_eq!(r.attempts.len(), 1);
    assert!(r.registered_at.is_some() && r.applied_pin.is_some());
    op.restart();
    // A sync after the restart sees the number connected and writes nothing more.
    wait_channel(&client, &ns, "sales", "still connected", connected).await;

    // Each write costs at most two reads of the WABA (one may start within the second of the
    // write and not count), each start one, plus the 1-minute interval: a channel and its
    // account re-triggering each other would read dozens of times per step.
    let reads = reads_of(&sim, WABA).await;
    assert!(reads <= 20, "{reads} reads of the WABA");
    assert_eq!(posts(&sim, &format!("/{WABA}/phone_numbers")).await, 1);
    assert_eq!(posts(&sim, &format!("/{id}/request_code")).await, 1);
    assert_eq!(posts(&sim, &format!("/{id}/verify_code")).await, 1);
    assert_eq!(posts(&sim, &format!("/{id}/register")).await, 1);
    for reason in [
        "NumberAdded",
        "VerificationCodeRequested",
        "VerificationCodeAccepted",
        "Registered",
    ] {
        assert_eq!(
            event_count(&client, &ns, "sales", reason).await,
            1,
            "{reason}: {:?}",
            events(&client, &ns).await
        );
    }
    let status_text = serde_json::to_string(&s).unwrap();
    let event_text = format!("{:?}", events(&client, &ns).await);
    for text in [status_text, event_text, op.log_text()] {
        assert_secret_free(&text, &[&code, "581063"]);
    }
}

/// Namespace `prefix` with the account, a Managed channel "uk" for the example's +44 number
/// whose PIN Secret holds `pin`, and the operator watching it.
async fn uk_channel(
    client: &Client,
    sim: &SimHandle,
    prefix: &str,
    pin: &str,
) -> (String, Operator) {
    let ns = setup(client, prefix).await;
    apply(
        client,
        &ns,
        &managed_channel("uk", "+44 7700 900123", pin, "Orphan"),
    )
    .await;
    let op = Operator::start(&ns, &sim.base_url(), &[]);
    (ns, op)
}

/// The verified example number under a Managed channel, the operator started, and the first
/// register call held at Meta by `fault`; returns once that call is in flight and its attempt
/// is in status.
async fn register_in_flight(
    client: &Client,
    sim: &SimHandle,
    prefix: &str,
    fault: Value,
) -> (String, Operator) {
    verified_uk(sim, json!({})).await;
    let mut fault = fault;
    fault["path_prefix"] = json!(format!("/{UK_ID}/register"));
    fault["method"] = json!("POST");
    fault["count"] = json!(1);
    sim_post(sim, "/_sim/faults", fault).await;
    let (ns, op) = uk_channel(client, sim, prefix, "123456").await;
    eventually("the register call at Meta", WAIT, || async {
        (posts(sim, &format!("/{UK_ID}/register")).await == 1).then_some(())
    })
    .await;
    let s = channel(client, &ns, "uk").await.status.expect("status");
    assert_eq!(
        s.registration.map(|r| r.attempts.len()),
        Some(1),
        "the attempt is in status before the call leaves"
    );
    (ns, op)
}

/// Killed while Meta registers the number, before its answer arrives: after the restart the
/// operator finds the number connected and never calls register again.
#[tokio::test]
async fn a_kill_after_meta_registered_never_registers_again() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let (ns, mut op) = register_in_flight(
        &client,
        &sim,
        "reg-kill-answered",
        json!({"answer_delay_ms": 600_000}),
    )
    .await;
    op.kill();
    assert_eq!(
        sim_get(&sim, &format!("/_sim/numbers/{UK_ID}")).await["status"],
        "CONNECTED",
        "Meta registered the number"
    );
    op.restart();

    let s = wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(s.phase, Phase::Connected);
    assert_eq!(s.registration.unwrap().attempts.len(), 1);
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 1);
    wait_event(&client, &ns, "uk", "Registered").await;
    assert_eq!(event_count(&client, &ns, "uk", "Registered").await, 1);
}

/// Killed while the register call has not reached Meta yet: the restarted operator registers
/// again, and both attempts count against the number's budget.
#[tokio::test]
async fn a_kill_before_meta_registered_registers_once_more_within_budget() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let (ns, mut op) = register_in_flight(
        &client,
        &sim,
        "reg-kill-lost",
        json!({"latency_ms": 600_000}),
    )
    .await;
    op.kill();
    op.restart();

    let s = wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(s.registration.unwrap().attempts.len(), 2);
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 2);
    let at_meta = sim_get(&sim, &format!("/_sim/numbers/{UK_ID}")).await;
    assert_eq!(
        at_meta["registration_attempts"].as_array().map(Vec::len),
        Some(1),
        "only the second call reached Meta: {at_meta}"
    );
    wait_event(&client, &ns, "uk", "Registered").await;
    assert_eq!(event_count(&client, &ns, "uk", "Registered").await, 1);
}

/// Connected numbers are adopted without a write; a verified number is only registered; an
/// unverified one gets a code request.
#[tokio::test]
async fn adopts_numbers_already_in_the_waba() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    verified_uk(&sim, json!({})).await;
    let ns = setup(&client, "reg-adopt").await;
    let adopt =
        std::fs::read_to_string(harness::repo_root().join("examples/channel-adopt.yaml")).unwrap();
    apply(&client, &ns, &adopt).await;
    apply(
        &client,
        &ns,
        &managed_channel("uk", "+44 7700 900123", "123456", "Orphan"),
    )
    .await;
    let _op = Operator::start(&ns, &sim.base_url(), &[]);

    let s = wait_channel(
        &client,
        &ns,
        "uk",
        "the verified number registered",
        connected,
    )
    .await;
    assert_eq!(s.registration.unwrap().attempts.len(), 1);
    wait_channel(&client, &ns, "acme-support", "adopted", connected).await;
    wait_channel(&client, &ns, "acme-brasil", "adopted", connected).await;
    let w = writes(&sim).await;
    let registers: Vec<_> = w.iter().filter(|(_, p)| p.ends_with("/register")).collect();
    assert_eq!(registers.len(), 1, "{w:?}");
    assert!(registers[0].1.contains(UK_ID));
    assert!(
        !w.iter()
            .any(|(_, p)| p.contains("request_code") || p.ends_with("/phone_numbers")),
        "{w:?}"
    );
    assert_eq!(event_count(&client, &ns, "uk", "Registered").await, 1);
}

#[tokio::test]
async fn adopting_an_unverified_number_requests_a_code() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let (ns, _op) = uk_channel(&client, &sim, "reg-adopt-unverified", "123456").await;
    wait_channel(
        &client,
        &ns,
        "uk",
        "awaiting the code",
        phase(Phase::AwaitingVerificationCode),
    )
    .await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/request_code")).await, 1);
    assert_eq!(posts(&sim, "/phone_numbers").await, 0);
}

/// ObserveOnly never writes to Meta, whatever the number's state.
#[tokio::test]
async fn observe_only_makes_no_write_to_meta() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "reg-observe").await;
    let observe =
        std::fs::read_to_string(harness::repo_root().join("examples/channel-observe-only.yaml"))
            .unwrap();
    apply(&client, &ns, &observe).await;
    let mut uk = managed_channel("uk", "+44 7700 900123", "123456", "Deregister");
    uk.push_str("  management: ObserveOnly\n");
    apply(&client, &ns, &uk).await;
    let mut gone = managed_channel("new", "+49 151 2345 6789", "123456", "Orphan");
    gone.push_str("  management: ObserveOnly\n");
    apply(&client, &ns, &gone).await;
    let _op = Operator::start(&ns, &sim.base_url(), &[]);
    wait_channel(&client, &ns, "acme-shop-app", "synced", |s| {
        condition_is_true(&s.conditions, "Synced")
    })
    .await;
    wait_channel(&client, &ns, "uk", "synced", |s| {
        condition_is_true(&s.conditions, "Synced")
    })
    .await;
    wait_channel(&client, &ns, "new", "not found", phase(Phase::NotFound)).await;
    // Deleting an ObserveOnly channel with Deregister still never calls Meta.
    Api::<WhatsAppChannel>::namespaced(client.clone(), &ns)
        .delete("uk", &DeleteParams::default())
        .await
        .unwrap();
    eventually("uk deleted", WAIT, || async {
        Api::<WhatsAppChannel>::namespaced(client.clone(), &ns)
            .get_opt("uk")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert_eq!(writes(&sim).await, Vec::<(String, String)>::new());
}

async fn verified_uk(sim: &SimHandle, extra: Value) {
    let mut body = json!({"code_verification_status": "VERIFIED"});
    for (k, v) in extra.as_object().cloned().unwrap_or_default() {
        body[k] = v;
    }
    sim_post(sim, &format!("/_sim/numbers/{UK_ID}"), body).await;
}

async fn attempts(client: &Client, ns: &str, name: &str) -> usize {
    channel(client, ns, name)
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
    let client = harness::control_plane().client();
    let sim = start_sim();
    verified_uk(&sim, json!({})).await;
    sim_post(
        &sim,
        "/_sim/faults",
        json!({"path_prefix": format!("/{UK_ID}/register"),
               "graph_error": {"code": 131000, "message": "Something went wrong"}}),
    )
    .await;
    let (ns, _op) = uk_channel(&client, &sim, "reg-budget", "123456").await;
    for n in 1..=3 {
        eventually(&format!("attempt {n}"), WAIT, || async {
            (attempts(&client, &ns, "uk").await == n).then_some(())
        })
        .await;
        // Lifts the failure backoff, not the budget.
        annotate(&client, &ns, "uk", &format!("retry-{n}")).await;
    }
    let s = wait_channel(
        &client,
        &ns,
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
    annotate(&client, &ns, "uk", "retry-again").await;
    wait_channel(&client, &ns, "uk", "the retry request handled", |s| {
        s.sync.last_handled_reconcile_at.as_deref() == Some("retry-again")
    })
    .await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 3);

    // 72 hours later (attempts aged in status) and with Meta working again, it registers.
    reqwest::Client::new()
        .delete(format!("{}/_sim/faults", sim.base_url()))
        .send()
        .await
        .unwrap();
    let old: Vec<String> = (0..3)
        .map(|i| {
            jiff::Timestamp::now()
                .checked_sub(jiff::SignedDuration::from_hours(73 + i))
                .unwrap()
                .to_string()
        })
        .collect();
    Api::<WhatsAppChannel>::namespaced(client.clone(), &ns)
        .patch_status(
            "uk",
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"registration": {"attempts": old}}})),
        )
        .await
        .unwrap();
    annotate(&client, &ns, "uk", "after-the-window").await;
    wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 4);
}

/// A wrong code is rejected once and awaited again; an expired one brings a new code request.
#[tokio::test]
async fn wrong_and_expired_codes() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let (ns, _op) = uk_channel(&client, &sim, "reg-codes", "123456").await;
    wait_event(&client, &ns, "uk", "VerificationCodeRequested").await;
    let real = sim_code(&sim, UK_ID).await;
    let wrong = if real == "000000" { "111111" } else { "000000" };
    set_secret(&client, &ns, "uk-otp", "code", wrong).await;
    wait_event(&client, &ns, "uk", "VerificationCodeRejected").await;
    let s = wait_channel(&client, &ns, "uk", "the rejection shown", |s| {
        find_condition(&s.conditions, "Registered").is_some_and(|c| c.message.contains("rejected"))
    })
    .await;
    assert_eq!(s.phase, Phase::AwaitingVerificationCode);
    assert_eq!(posts(&sim, &format!("/{UK_ID}/verify_code")).await, 1);

    // Eleven minutes later at Meta, the right code has expired.
    sim_post(&sim, "/_sim/clock/advance", json!({"seconds": 660})).await;
    set_secret(&client, &ns, "uk-otp", "code", &real).await;
    eventually("a second code request", WAIT, || async {
        (posts(&sim, &format!("/{UK_ID}/request_code")).await == 2).then_some(())
    })
    .await;
    let fresh = sim_code(&sim, UK_ID).await;
    set_secret(&client, &ns, "uk-otp", "code", &fresh).await;
    wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/verify_code")).await, 3);
    assert_eq!(
        event_count(&client, &ns, "uk", "VerificationCodeRejected").await,
        2
    );
}

#[tokio::test]
async fn a_pin_mismatch_stalls_until_the_pin_secret_is_fixed() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    verified_uk(&sim, json!({"pin": "111111", "is_pin_enabled": true})).await;
    let (ns, _op) = uk_channel(&client, &sim, "reg-pin", "222222").await;
    let s = wait_channel(
        &client,
        &ns,
        "uk",
        "the PIN stall",
        stalled_with("PinMismatch"),
    )
    .await;
    let m = &find_condition(&s.conditions, "Stalled").unwrap().message;
    assert!(
        m.starts_with("PIN mismatch: set the PIN Secret to the number's current two-step PIN"),
        "{m}"
    );
    assert!(!serde_json::to_string(&s).unwrap().contains("222222"));
    set_secret(&client, &ns, "uk-pin", "pin", "111111").await;
    wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 2);
}

/// 2388001: the display name is not provisioned yet; the operator waits instead of failing.
#[tokio::test]
async fn a_display_name_not_ready_is_awaited() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    verified_uk(&sim, json!({"name_ready": false})).await;
    let (ns, _op) = uk_channel(&client, &sim, "reg-name", "123456").await;
    let s = wait_channel(
        &client,
        &ns,
        "uk",
        "awaiting the name",
        phase(Phase::AwaitingDisplayName),
    )
    .await;
    assert!(!condition_is_true(&s.conditions, "Stalled"));
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 1);
    sim_post(
        &sim,
        &format!("/_sim/numbers/{UK_ID}"),
        json!({"name_ready": true}),
    )
    .await;
    annotate(&client, &ns, "uk", "name-ready").await;
    wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 2);
}

#[tokio::test]
async fn a_number_in_use_on_the_whatsapp_app_stalls_with_how_to_free_it() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "reg-in-use").await;
    apply(
        &client,
        &ns,
        &managed_channel("app", "+55 11 91234-5678", "123456", "Orphan"),
    )
    .await;
    let _op = Operator::start(&ns, &sim.base_url(), &[]);
    let s = wait_channel(
        &client,
        &ns,
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
    sim_post(
        &sim,
        &format!("/_sim/numbers/{id}"),
        json!({"in_use_on_app": false}),
    )
    .await;
    // The retry comes by itself after a while; the annotation brings it forward.
    annotate(&client, &ns, "app", "freed").await;
    wait_channel(
        &client,
        &ns,
        "app",
        "the code requested",
        phase(Phase::AwaitingVerificationCode),
    )
    .await;
    // Each write costs at most two reads of the WABA (one may start within the second of the
    // write and not count), each start one, plus the 1-minute interval: a channel and its
    // account re-triggering each other would read dozens of times per step.
    let reads = reads_of(&sim, WABA).await;
    assert!(reads <= 20, "{reads} reads of the WABA");
    assert_eq!(posts(&sim, &format!("/{WABA}/phone_numbers")).await, 1);
}

/// The token expires between the code request and the verification: nothing is lost, and the
/// flow goes on once the Secret holds a valid token.
#[tokio::test]
async fn an_expired_token_mid_registration_resumes_with_new_credentials() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let (ns, _op) = uk_channel(&client, &sim, "reg-token", "123456").await;
    wait_event(&client, &ns, "uk", "VerificationCodeRequested").await;
    let code = sim_code(&sim, UK_ID).await;
    sim_post(&sim, "/_sim/tokens/sim-system-user-token/expire", json!({})).await;
    set_secret(&client, &ns, "uk-otp", "code", &code).await;
    wait_channel(&client, &ns, "uk", "the account failing", |s| {
        find_condition(&s.conditions, "Synced").is_some_and(|c| c.status == "False")
    })
    .await;
    sim_post(
        &sim,
        "/_sim/tokens",
        json!({"token": "fresh-token", "app_id": "670843887433847", "type": "SYSTEM_USER",
               "user_id": "10222270944537964",
               "scopes": ["whatsapp_business_management", "whatsapp_business_messaging"],
               "granular_scopes": [{"scope": "whatsapp_business_management", "target_ids": ["102290129340398"]}],
               "expires_at": 0}),
    )
    .await;
    set_secret(&client, &ns, "acme-graph-token", "token", "fresh-token").await;
    annotate(&client, &ns, "uk", "new-token").await;
    wait_channel(&client, &ns, "uk", "CONNECTED", connected).await;
    assert_eq!(posts(&sim, &format!("/{UK_ID}/request_code")).await, 1);
    assert_eq!(posts(&sim, &format!("/{UK_ID}/register")).await, 1);
}

fn adopted(name: &str, number: &str, policy: &str) -> String {
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

async fn gone(client: &Client, ns: &str, name: &str) {
    eventually(&format!("{name} deleted"), WAIT, || async {
        Api::<WhatsAppChannel>::namespaced(client.clone(), ns)
            .get_opt(name)
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
}

/// Orphan lets go; Deregister deregisters; a cleanup Meta refuses shows in a condition and
/// switching to Orphan releases the resource.
#[tokio::test]
async fn deletion_under_both_policies() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "reg-delete").await;
    apply(
        &client,
        &ns,
        &adopted("support", "+1 555-078-3881", "Orphan"),
    )
    .await;
    apply(
        &client,
        &ns,
        &adopted("brasil", "+55 11 98765-4321", "Deregister"),
    )
    .await;
    apply(
        &client,
        &ns,
        &adopted("shop", "+1 555-078-3882", "Deregister"),
    )
    .await;
    let _op = Operator::start(&ns, &sim.base_url(), &[]);
    for name in ["support", "brasil", "shop"] {
        wait_channel(&client, &ns, name, "adopted", connected).await;
    }
    let api = Api::<WhatsAppChannel>::namespaced(client.clone(), &ns);

    api.delete("support", &DeleteParams::default())
        .await
        .unwrap();
    gone(&client, &ns, "support").await;
    assert_eq!(posts(&sim, "/deregister").await, 0);

    api.delete("brasil", &DeleteParams::default())
        .await
        .unwrap();
    gone(&client, &ns, "brasil").await;
    assert_eq!(posts(&sim, "/106540352242924/deregister").await, 1);
    let n = sim_get(&sim, "/_sim/numbers/106540352242924").await;
    assert_eq!(n["status"], "DISCONNECTED");

    sim_post(
        &sim,
        "/_sim/faults",
        json!({"path_prefix": "/106540352242923/deregister", "http_status": 503}),
    )
    .await;
    api.delete("shop", &DeleteParams::default()).await.unwrap();
    let s = wait_channel(&client, &ns, "shop", "the cleanup failure", |s| {
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
    api.patch(
        "shop",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"deletionPolicy": "Orphan"}})),
    )
    .await
    .unwrap();
    gone(&client, &ns, "shop").await;
    let n = sim_get(&sim, "/_sim/numbers/106540352242923").await;
    assert_eq!(n["status"], "CONNECTED");
}
