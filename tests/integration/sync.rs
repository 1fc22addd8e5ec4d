//! The sync controllers end to end: the operator binary against a real kube-apiserver and the
//! Meta simulator over HTTP. Each step drives Meta's state, forces a sync and checks status,
//! conditions and exactly the expected events, counted in the apiserver.

use std::time::Duration;

use harness::operator::{Operator, events, eventually, expect_events, total_events};
use harness::sim::{graph_requests, reads_of, sim_get, sim_post, start_sim};
use kube::api::{Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use whatsapp_operator::crd::{WhatsAppBusinessAccount, WhatsAppChannel, condition_is_true};

const WABA: &str = "102290129340398";
const SUPPORT_ID: &str = "106540352242922";
const BRASIL_ID: &str = "106540352242924";
const SHOP_ID: &str = "106540352242923";
const CHANNELS: [&str; 3] = ["acme-support", "acme-brasil", "acme-shop-app"];
const WAIT: Duration = Duration::from_secs(120);

async fn setup(client: &Client, prefix: &str, sync_interval: &str) -> String {
    harness::install_crds(client).await;
    let ns = harness::fresh_namespace(client, prefix).await;
    let root = harness::repo_root();
    let account = std::fs::read_to_string(root.join("examples/account.yaml"))
        .unwrap()
        .replace(
            "syncInterval: 10m",
            &format!("syncInterval: {sync_interval}"),
        );
    harness::apply_yaml(client, &ns, &account)
        .await
        .expect("apply YAML");
    let adopt = std::fs::read_to_string(root.join("examples/channel-adopt.yaml")).unwrap();
    harness::apply_yaml(client, &ns, &adopt)
        .await
        .expect("apply YAML");
    let observe = std::fs::read_to_string(root.join("examples/channel-observe-only.yaml")).unwrap();
    harness::apply_yaml(client, &ns, &observe)
        .await
        .expect("apply YAML");
    ns
}

async fn channel(client: &Client, ns: &str, name: &str) -> WhatsAppChannel {
    Api::<WhatsAppChannel>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get channel")
}

async fn account(client: &Client, ns: &str) -> WhatsAppBusinessAccount {
    Api::<WhatsAppBusinessAccount>::namespaced(client.clone(), ns)
        .get("acme")
        .await
        .expect("get account")
}

/// Forces an account sync through the documented annotation and waits until it was handled.
async fn force_sync(client: &Client, ns: &str, token: &str) {
    let api = Api::<WhatsAppBusinessAccount>::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"whatsapp-operator.io/reconcile-requested-at": token}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate account");
    eventually("the forced sync to be handled", WAIT, || async {
        let a = account(client, ns).await;
        (a.status
            .and_then(|s| s.sync.last_handled_reconcile_at)
            .as_deref()
            == Some(token))
        .then_some(())
    })
    .await;
}

/// Waits until `check` holds for the channel's status.
async fn wait_channel<F>(
    client: &Client,
    ns: &str,
    name: &str,
    what: &str,
    check: F,
) -> WhatsAppChannel
where
    F: Fn(&WhatsAppChannel) -> bool,
{
    eventually(what, WAIT, || async {
        let ch = channel(client, ns, name).await;
        check(&ch).then_some(ch)
    })
    .await
}

fn status_field(
    ch: &WhatsAppChannel,
    f: impl Fn(&whatsapp_operator::crd::WhatsAppChannelStatus) -> Option<String>,
) -> Option<String> {
    ch.status.as_ref().and_then(f)
}

async fn all_ready(client: &Client, ns: &str) {
    for name in CHANNELS {
        wait_channel(client, ns, name, &format!("{name} Ready"), |ch| {
            ch.status
                .as_ref()
                .is_some_and(|s| condition_is_true(&s.conditions, "Ready"))
        })
        .await;
    }
}

/// Drives Meta through the catalogue's transitions; a restart in the middle neither repeats
/// nor loses events.
#[tokio::test]
async fn meta_changes_reach_status_conditions_and_events() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "sync", "10m").await;
    let mut op = Operator::start(&ns, &sim.base_url(), &[]);

    all_ready(&client, &ns).await;
    let ch = channel(&client, &ns, "acme-support").await;
    let s = ch.status.clone().unwrap();
    assert_eq!(s.phone_number_id.as_deref(), Some(SUPPORT_ID));
    assert_eq!(s.quality_rating.as_deref(), Some("GREEN"));
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    assert_eq!(s.messaging_limit.as_deref(), Some("TIER_2K"));
    assert_eq!(
        s.health
            .as_ref()
            .and_then(|h| h.can_send_message.as_deref()),
        Some("AVAILABLE")
    );
    assert!(
        condition_is_true(&s.conditions, "Registered"),
        "{:?}",
        s.conditions
    );
    assert!(condition_is_true(&s.conditions, "Synced"));
    assert!(!condition_is_true(&s.conditions, "Stalled"));
    let acc = account(&client, &ns).await.status.unwrap();
    assert_eq!(acc.name.as_deref(), Some("Acme"));
    assert_eq!(acc.phone_number_count, Some(4));
    assert!(condition_is_true(&acc.conditions, "Ready"));
    // The spec's business profile was applied at Meta; fields left out of the spec were not touched.
    let number = sim_get(&sim, &format!("/_sim/numbers/{SUPPORT_ID}")).await;
    let profile = &number["business_profile"];
    assert_eq!(
        profile["about"], "Support for Acme customers, 24/7.",
        "{number}"
    );
    assert_eq!(profile["email"], "support@acme.example");
    assert_eq!(
        profile["websites"],
        json!(["https://acme.example", "https://acme.example/help"])
    );
    expect_events(&client, &ns, "acme-support", "BusinessProfileUpdated", 1).await;
    // A healthy start publishes no warnings (applying the spec's business profile is Normal).
    let warnings: Vec<_> = events(&client, &ns)
        .await
        .into_iter()
        .filter(|e| e.type_ == "Warning")
        .collect();
    assert!(warnings.is_empty(), "{warnings:?}");

    let mut step = 0;
    let mut next = || {
        step += 1;
        format!("step-{step}")
    };
    let number = |id: &str| format!("/_sim/numbers/{id}");

    // Quality GREEN -> YELLOW -> RED -> GREEN.
    sim_post(
        &sim,
        &number(SUPPORT_ID),
        json!({"quality_rating": "YELLOW"}),
    )
    .await;
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "YELLOW", |c| {
        status_field(c, |s| s.quality_rating.clone()).as_deref() == Some("YELLOW")
    })
    .await;
    expect_events(&client, &ns, "acme-support", "QualityDegraded", 1).await;

    sim_post(&sim, &number(SUPPORT_ID), json!({"quality_rating": "RED"})).await;
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "RED", |c| {
        status_field(c, |s| s.quality_rating.clone()).as_deref() == Some("RED")
    })
    .await;
    expect_events(&client, &ns, "acme-support", "QualityDegraded", 2).await;

    // Restart in the middle: a crash, then a new process with an empty memory.
    op.kill();
    sim_post(
        &sim,
        &number(SUPPORT_ID),
        json!({"quality_rating": "GREEN"}),
    )
    .await;
    op.restart();
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "GREEN", |c| {
        status_field(c, |s| s.quality_rating.clone()).as_deref() == Some("GREEN")
    })
    .await;
    expect_events(&client, &ns, "acme-support", "QualityRecovered", 1).await;
    expect_events(&client, &ns, "acme-support", "QualityDegraded", 2).await;

    // Status CONNECTED -> FLAGGED -> CONNECTED -> RESTRICTED -> BANNED.
    for (meta_status, reason) in [
        ("FLAGGED", "NumberFlagged"),
        ("CONNECTED", "NumberUnflagged"),
        ("RESTRICTED", "NumberRestricted"),
        ("BANNED", "NumberBanned"),
    ] {
        sim_post(&sim, &number(BRASIL_ID), json!({"status": meta_status})).await;
        force_sync(&client, &ns, &next()).await;
        wait_channel(&client, &ns, "acme-brasil", meta_status, |c| {
            status_field(c, |s| s.status.clone()).as_deref() == Some(meta_status)
        })
        .await;
        expect_events(&client, &ns, "acme-brasil", reason, 1).await;
    }
    let brasil = channel(&client, &ns, "acme-brasil").await.status.unwrap();
    assert!(
        !condition_is_true(&brasil.conditions, "Ready"),
        "a banned number is not Ready"
    );

    // Portfolio limit up and down, seen by every number.
    for (limit, reason) in [
        ("TIER_10K", "MessagingLimitIncreased"),
        ("TIER_250", "MessagingLimitDecreased"),
    ] {
        for id in [SUPPORT_ID, BRASIL_ID, SHOP_ID] {
            sim_post(
                &sim,
                &number(id),
                json!({"whatsapp_business_manager_messaging_limit": limit}),
            )
            .await;
        }
        sim_post(
            &sim,
            &format!("/_sim/wabas/{WABA}"),
            json!({"whatsapp_business_manager_messaging_limit": limit}),
        )
        .await;
        force_sync(&client, &ns, &next()).await;
        for name in CHANNELS {
            wait_channel(&client, &ns, name, limit, |c| {
                status_field(c, |s| s.messaging_limit.clone()).as_deref() == Some(limit)
            })
            .await;
            expect_events(&client, &ns, name, reason, 1).await;
        }
    }

    // WABA blocked by a payment problem, then available again: the account and every channel say so.
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"can_send_message": "BLOCKED", "errors": [{"error_code": 141006, "error_description": "There is an error with the payment method. This will block business initiated conversations.", "possible_solution": "There was an error with your payment method. Please add a new payment method to the account."}]}),
    )
    .await;
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "BLOCKED", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.can_send_message.as_deref())
            == Some("BLOCKED")
    })
    .await;
    expect_events(&client, &ns, "acme", "WabaBlocked", 1).await;
    for name in ["acme-support", "acme-shop-app"] {
        expect_events(&client, &ns, name, "MessagingBlocked", 1).await;
        let ch = channel(&client, &ns, name).await.status.unwrap();
        assert!(
            !condition_is_true(&ch.conditions, "Ready"),
            "{name} must not be Ready while its WABA is blocked"
        );
    }
    let acc = account(&client, &ns).await.status.unwrap();
    assert!(!condition_is_true(&acc.conditions, "Ready"));
    let waba_entity = acc
        .health
        .unwrap()
        .entities
        .into_iter()
        .find(|e| e.entity_type == "WABA")
        .unwrap();
    assert_eq!(waba_entity.errors[0].code, Some(141006));
    let note = events(&client, &ns)
        .await
        .into_iter()
        .find(|e| e.name == "acme-support" && e.reason == "MessagingBlocked")
        .unwrap()
        .note;
    assert!(note.contains("141006"), "the note names the cause: {note}");

    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"can_send_message": "AVAILABLE", "errors": []}),
    )
    .await;
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "AVAILABLE", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.can_send_message.as_deref())
            == Some("AVAILABLE")
    })
    .await;
    expect_events(&client, &ns, "acme", "WabaAvailable", 1).await;
    expect_events(&client, &ns, "acme-support", "MessagingAvailable", 1).await;

    // Business portfolio limited.
    sim_post(&sim, "/_sim/businesses/506914307656634", json!({"can_send_message": "LIMITED", "additional_info": ["Business verification required"]})).await;
    force_sync(&client, &ns, &next()).await;
    wait_channel(&client, &ns, "acme-support", "LIMITED", |c| {
        c.status
            .as_ref()
            .and_then(|s| s.health.as_ref())
            .and_then(|h| h.can_send_message.as_deref())
            == Some("LIMITED")
    })
    .await;
    expect_events(&client, &ns, "acme", "BusinessLimited", 1).await;
    expect_events(&client, &ns, "acme-support", "MessagingLimited", 1).await;

    // Account review rejected.
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"account_review_status": "REJECTED"}),
    )
    .await;
    force_sync(&client, &ns, &next()).await;
    eventually("review REJECTED in status", WAIT, || async {
        let a = account(&client, &ns).await;
        (a.status.and_then(|s| s.account_review_status).as_deref() == Some("REJECTED"))
            .then_some(())
    })
    .await;
    expect_events(&client, &ns, "acme", "AccountReviewRejected", 1).await;

    // Metrics carry the latest values; deleting a channel removes its series.
    let text = op.metrics().await;
    assert!(
        text.contains(r#"whatsapp_operator_channel_quality_rating{namespace=""#),
        "{text}"
    );
    assert!(text.contains(&format!(r#"whatsapp_operator_channel_meta_status{{namespace="{ns}",name="acme-brasil",state="BANNED"}} 1"#)), "{text}");
    assert!(text.contains(&format!(r#"whatsapp_operator_channel_messaging_limit{{namespace="{ns}",name="acme-support"}} 250"#)), "{text}");
    assert!(text.contains(&format!(r#"whatsapp_operator_channel_can_send_message{{namespace="{ns}",name="acme-support"}} 1"#)), "{text}");
    assert!(
        text.contains(
            r#"whatsapp_operator_graph_requests_total{endpoint="read_waba",outcome="ok"}"#
        ),
        "{text}"
    );
    assert!(
        text.contains(
            r#"whatsapp_operator_events_published_total{reason="QualityRecovered",type="Normal"}"#
        ),
        "{text}"
    );
    Api::<WhatsAppChannel>::namespaced(client.clone(), &ns)
        .delete("acme-shop-app", &Default::default())
        .await
        .unwrap();
    eventually("the deleted channel's series to go", WAIT, || async {
        let text = op.metrics().await;
        (!text.contains("name=\"acme-shop-app\"")).then_some(())
    })
    .await;
    assert!(
        op.terminate(),
        "SIGTERM ends the operator cleanly:\n{}",
        op.log_text()
    );
}

/// After convergence nothing is written and Meta is read once per account per interval.
#[tokio::test]
async fn steady_state_costs_one_read_per_interval_and_no_writes() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "steady", "1m").await;
    let _op = Operator::start(&ns, &sim.base_url(), &[]);
    all_ready(&client, &ns).await;
    // Let the first sync's follow-up reconciles settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let versions = |client: Client, ns: String| async move {
        let mut v = vec![account(&client, &ns).await.metadata.resource_version];
        for name in CHANNELS {
            v.push(channel(&client, &ns, name).await.metadata.resource_version);
        }
        v
    };
    let before = versions(client.clone(), ns.clone()).await;
    let events_before = total_events(&client, &ns).await;
    let reads_before = reads_of(&sim, WABA).await;
    let requests_before = graph_requests(&sim).await;

    // Two and a half intervals: two syncs.
    tokio::time::sleep(Duration::from_secs(150)).await;

    assert_eq!(
        versions(client.clone(), ns.clone()).await,
        before,
        "no status writes at steady state"
    );
    assert_eq!(
        total_events(&client, &ns).await,
        events_before,
        "no events at steady state"
    );
    let reads = reads_of(&sim, WABA).await - reads_before;
    assert_eq!(reads, 2, "one Graph read per account per interval");
    assert_eq!(
        graph_requests(&sim).await - requests_before,
        2,
        "no other Graph request"
    );
}

/// Credentials: an expired token stalls the account without further calls until its Secret
/// changes; a missing Secret names what is missing; both recover without a restart.
#[tokio::test]
async fn credential_problems_stall_and_recover() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    harness::install_crds(&client).await;
    let ns = harness::fresh_namespace(&client, "creds").await;
    let account_yaml =
        std::fs::read_to_string(harness::repo_root().join("examples/account.yaml")).unwrap();
    // The account first, without its Secret.
    let only_account = account_yaml.split("---").nth(1).unwrap();
    harness::apply_yaml(&client, &ns, only_account)
        .await
        .expect("apply YAML");
    let _op = Operator::start(&ns, &sim.base_url(), &[]);

    let stalled = |reason: &'static str, fragment: &'static str| {
        let client = client.clone();
        let ns = ns.clone();
        async move {
            eventually(&format!("Stalled {reason}"), WAIT, || async {
                let a = account(&client, &ns).await;
                let c = a.status.as_ref().and_then(|s| {
                    whatsapp_operator::crd::find_condition(&s.conditions, "Stalled").cloned()
                })?;
                (c.status == "True" && c.reason == reason && c.message.contains(fragment))
                    .then_some(c)
            })
            .await
        }
    };
    let c = stalled("MissingCredentials", "acme-graph-token").await;
    assert!(c.message.contains("not found"), "{}", c.message);

    // The Secret appears with a token Meta considers expired.
    sim_post(&sim, "/_sim/tokens/sim-short-lived-token/expire", json!({})).await;
    let secret = account_yaml
        .split("---")
        .next()
        .unwrap()
        .replace("sim-system-user-token", "sim-short-lived-token");
    harness::apply_yaml(&client, &ns, &secret)
        .await
        .expect("apply YAML");
    stalled("CredentialsInvalid", "").await;
    expect_events(&client, &ns, "acme", "CredentialsInvalid", 1).await;

    // No more Graph calls while the Secret stays the same, even when forced.
    let before = graph_requests(&sim).await;
    let api = Api::<WhatsAppBusinessAccount>::namespaced(client.clone(), &ns);
    let patch = json!({"metadata": {"annotations": {"whatsapp-operator.io/reconcile-requested-at": "again"}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        graph_requests(&sim).await,
        before,
        "calls stop until the Secret changes"
    );

    // Fixing the Secret recovers without a restart.
    let fixed = account_yaml.split("---").next().unwrap();
    harness::apply_yaml(&client, &ns, fixed)
        .await
        .expect("apply YAML");
    eventually(
        "the account to recover",
        Duration::from_secs(90),
        || async {
            let a = account(&client, &ns).await;
            a.status
                .as_ref()
                .is_some_and(|s| {
                    condition_is_true(&s.conditions, "Ready")
                        && !condition_is_true(&s.conditions, "Stalled")
                })
                .then_some(())
        },
    )
    .await;
    expect_events(&client, &ns, "acme", "CredentialsRestored", 1).await;
}

/// Bursts of 5xx, throttling with Meta's usage header and malformed bodies: the operator
/// recovers by itself and never exceeds its Graph budget.
#[tokio::test]
async fn transient_failures_and_throttling_recover_within_budget() {
    let client = harness::control_plane().client();
    let sim = start_sim();
    let ns = setup(&client, "faults", "10m").await;
    let _op = Operator::start(&ns, &sim.base_url(), &["--graph-hourly-budget", "30"]);
    all_ready(&client, &ns).await;

    // A burst of 503s longer than the client's retries: the sync fails, Synced goes False, and
    // the operator comes back on its own once Meta answers again.
    sim_post(&sim, "/_sim/faults", json!({"count": 3, "http_status": 503, "graph_error": {"code": 2, "message": "Service temporarily unavailable"}})).await;
    force_sync(&client, &ns, "burst").await;
    eventually("Synced False after the burst", WAIT, || async {
        let a = account(&client, &ns).await;
        let s = a.status?;
        let synced = whatsapp_operator::crd::find_condition(&s.conditions, "Synced")?;
        (synced.status == "False" && s.sync.failed_sync_attempts >= 1).then_some(())
    })
    .await;
    eventually(
        "recovery from the burst",
        Duration::from_secs(90),
        || async {
            let a = account(&client, &ns).await;
            let s = a.status?;
            (condition_is_true(&s.conditions, "Synced") && s.sync.failed_sync_attempts == 0)
                .then_some(())
        },
    )
    .await;

    // A malformed body is a transient failure too.
    sim_post(
        &sim,
        "/_sim/faults",
        json!({"count": 3, "malformed_body": true}),
    )
    .await;
    force_sync(&client, &ns, "malformed").await;
    eventually(
        "recovery from malformed bodies",
        Duration::from_secs(90),
        || async {
            let a = account(&client, &ns).await;
            let s = a.status?;
            (condition_is_true(&s.conditions, "Synced") && s.sync.last_failure_time.is_some())
                .then_some(())
        },
    )
    .await;

    // Meta throttles: the operator waits for Meta's estimate instead of hammering.
    sim_post(&sim, "/_sim/faults", json!({"count": 1, "http_status": 400, "graph_error": {"code": 80007, "message": "(#80007) There have been too many calls to this WhatsApp Business account."}})).await;
    force_sync(&client, &ns, "throttled").await;
    eventually("a throttled sync to be recorded", WAIT, || async {
        let a = account(&client, &ns).await;
        let s = a.status?;
        s.sync.next_attempt_time.is_some().then_some(())
    })
    .await;

    // Whatever happened, the operator never sent more than its budget in the hour.
    let requests = sim_get(&sim, "/_sim/requests").await;
    let total = requests["total"].as_u64().unwrap();
    assert!(
        total <= 30,
        "{total} Graph requests exceed the budget of 30"
    );
}
