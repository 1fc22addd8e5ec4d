//! Meta's webhooks end to end: the simulator signs and delivers Meta's documented payloads to the
//! running operator binary, which applies them to statuses, conditions and events in a real
//! kube-apiserver. Delivering a payload again changes nothing.

use std::time::Duration;

use harness::operator::{Operator, event_count, events, eventually, free_port};
use harness::sim::{sim_get, sim_post, start_sim_delivering_to};
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Patch, PatchParams, PostParams};
use kube::{Api, Client};
use meta_sim::SimHandle;
use serde_json::{Value, json};
use whatsapp_operator::crd::{
    WhatsAppBusinessAccount, WhatsAppChannel, condition_is_true, find_condition,
};

const WABA: &str = "102290129340398";
const APP: &str = "670843887433847";
const SUPPORT_DIGITS: &str = "15550783881";
const BRASIL_ID: &str = "106540352242924";
const BRASIL_DIGITS: &str = "5511987654321";
const SUPPORT_ID: &str = "106540352242922";
const SHOP_ID: &str = "106540352242923";
const CHANNELS: [&str; 3] = ["acme-support", "acme-brasil", "acme-shop-app"];
const WAIT: Duration = Duration::from_secs(120);
const PATH: &str = "/webhooks/meta";

/// Has the simulator sign and deliver one change of `field`; the operator must answer 200.
async fn deliver(sim: &SimHandle, field: &str, value: Value) {
    let out = sim_post(
        sim,
        "/_sim/webhooks/deliver",
        json!({"app_id": APP, "waba_id": WABA, "field": field, "value": value}),
    )
    .await;
    assert_eq!(out["status"], 200, "{field}: {out}");
}

/// The account, two adopted channels and an observe-only one, the webhook Secret, and the
/// operator with its receiver; returns once every channel is Ready and Meta's handshake passes.
async fn setup(client: &Client, prefix: &str) -> (String, SimHandle, Operator) {
    harness::install_crds(client).await;
    let ns = harness::fresh_namespace(client, prefix).await;
    let root = harness::repo_root();
    for file in [
        "examples/account.yaml",
        "examples/channel-adopt.yaml",
        "examples/channel-observe-only.yaml",
    ] {
        let yaml = std::fs::read_to_string(root.join(file)).unwrap();
        harness::apply_yaml(client, &ns, &yaml)
            .await
            .expect("apply YAML");
    }
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "whatsapp-operator-webhook"},
        "stringData": {"app-secret": "sim-app-secret-change-me", "verify-token": "sim-verify-token"}
    }))
    .unwrap();
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the webhook Secret");

    let port = free_port();
    let sim = start_sim_delivering_to(&format!("http://127.0.0.1:{port}{PATH}"));
    let addr = format!("127.0.0.1:{port}");
    let op = Operator::start(
        &ns,
        &sim.base_url(),
        &[
            "--webhook-addr",
            &addr,
            "--webhook-path",
            PATH,
            "--webhook-secret-namespace",
            &ns,
            // Every delivery re-reads Meta, so each step sees the simulator's latest state.
            "--webhook-min-read-spacing-seconds",
            "0",
        ],
    );
    for name in CHANNELS {
        wait_channel(client, &ns, name, "Ready", |s| {
            condition_is_true(&s.conditions, "Ready")
        })
        .await;
    }
    eventually("Meta's verification handshake", WAIT, || async {
        let out = reqwest::Client::new()
            .post(format!("{}/_sim/webhooks/verify", sim.base_url()))
            .json(&json!({"app_id": APP}))
            .send()
            .await
            .ok()?
            .json::<Value>()
            .await
            .ok()?;
        (out["verified"] == true).then_some(())
    })
    .await;
    (ns, sim, op)
}

async fn account(client: &Client, ns: &str) -> WhatsAppBusinessAccount {
    Api::<WhatsAppBusinessAccount>::namespaced(client.clone(), ns)
        .get("acme")
        .await
        .expect("get account")
}

async fn channel(client: &Client, ns: &str, name: &str) -> WhatsAppChannel {
    Api::<WhatsAppChannel>::namespaced(client.clone(), ns)
        .get(name)
        .await
        .expect("get channel")
}

async fn wait_account<F>(client: &Client, ns: &str, what: &str, check: F)
where
    F: Fn(&whatsapp_operator::crd::WhatsAppBusinessAccountStatus) -> bool,
{
    eventually(what, WAIT, || async {
        let a = account(client, ns).await;
        a.status.as_ref().is_some_and(&check).then_some(())
    })
    .await;
}

async fn wait_channel<F>(client: &Client, ns: &str, name: &str, what: &str, check: F)
where
    F: Fn(&whatsapp_operator::crd::WhatsAppChannelStatus) -> bool,
{
    eventually(&format!("{name}: {what}"), WAIT, || async {
        let c = channel(client, ns, name).await;
        c.status.as_ref().is_some_and(&check).then_some(())
    })
    .await;
}

async fn wait_events(client: &Client, ns: &str, name: &str, reason: &str, count: i32) {
    eventually(&format!("{count} {reason} on {name}"), WAIT, || async {
        (event_count(client, ns, name, reason).await >= count).then_some(())
    })
    .await;
    assert_eq!(
        event_count(client, ns, name, reason).await,
        count,
        "{reason} on {name}: {:?}",
        events(client, ns).await
    );
}

/// Forces an account sync through the annotation and waits until it was handled: everything
/// delivered before it has been applied to the account by then.
async fn force_sync(client: &Client, ns: &str, token: &str) {
    let api = Api::<WhatsAppBusinessAccount>::namespaced(client.clone(), ns);
    let patch = json!({"metadata": {"annotations": {"whatsapp-operator.io/reconcile-requested-at": token}}});
    api.patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("annotate account");
    wait_account(client, ns, "the forced sync", |s| {
        s.sync.last_handled_reconcile_at.as_deref() == Some(token)
    })
    .await;
}

/// Delivers the same change again and checks that no event followed. The forced sync and the
/// pause let the redelivery's reconciles (account, then channels) run before counting.
async fn redeliver_changes_nothing(
    client: &Client,
    ns: &str,
    sim: &SimHandle,
    field: &str,
    value: Value,
    token: &str,
) {
    let before = events(client, ns).await;
    let statuses = |client: Client, ns: String| async move {
        let mut v = vec![serde_json::to_value(account(&client, &ns).await.status).unwrap()];
        for name in CHANNELS {
            v.push(serde_json::to_value(channel(&client, &ns, name).await.status).unwrap());
        }
        v
    };
    deliver(sim, field, value).await;
    force_sync(client, ns, token).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = events(client, ns).await;
    let total = |e: &[harness::operator::SeenEvent]| e.iter().map(|e| e.count).sum::<i32>();
    assert_eq!(
        total(&after),
        total(&before),
        "{field} delivered again published events: {after:?}"
    );
    let first = statuses(client.clone(), ns.to_string()).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        statuses(client.clone(), ns.to_string()).await,
        first,
        "statuses settle"
    );
}

fn in_a_day() -> i64 {
    jiff::Timestamp::now().as_second() + 86_400
}

#[tokio::test]
async fn account_webhooks_reach_account_and_channels_once() {
    let client = harness::control_plane().client();
    let (ns, sim, op) = setup(&client, "wh-account").await;

    // account_update ACCOUNT_RESTRICTION, as Meta documents it (with a future expiration).
    let restriction = json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": in_a_day()},
        {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": in_a_day()}]});
    deliver(&sim, "account_update", restriction.clone()).await;
    wait_account(&client, &ns, "restrictions in status", |s| {
        s.restrictions.len() == 2
    })
    .await;
    wait_events(&client, &ns, "acme", "AccountRestricted", 1).await;
    for name in CHANNELS {
        wait_channel(&client, &ns, name, "AccountRestricted condition", |s| {
            condition_is_true(&s.conditions, "AccountRestricted")
        })
        .await;
        wait_events(&client, &ns, name, "AccountRestricted", 1).await;
    }
    redeliver_changes_nothing(&client, &ns, &sim, "account_update", restriction, "r1").await;

    // Restrictions lifted (an empty list), then DISABLED_UPDATE: DISABLE, then REINSTATE.
    deliver(
        &sim,
        "account_update",
        json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": []}),
    )
    .await;
    wait_channel(&client, &ns, "acme-support", "restriction lifted", |s| {
        !condition_is_true(&s.conditions, "AccountRestricted")
    })
    .await;
    let disable = json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"}});
    deliver(&sim, "account_update", disable.clone()).await;
    wait_account(&client, &ns, "DISABLE in status", |s| {
        s.ban_state.as_deref() == Some("DISABLE")
            && find_condition(&s.conditions, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == "Disabled")
    })
    .await;
    wait_events(&client, &ns, "acme", "AccountDisabled", 1).await;
    wait_channel(
        &client,
        &ns,
        "acme-support",
        "not Ready while disabled",
        |s| {
            find_condition(&s.conditions, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == "Disabled")
        },
    )
    .await;
    wait_events(&client, &ns, "acme-support", "AccountDisabled", 1).await;
    redeliver_changes_nothing(&client, &ns, &sim, "account_update", disable, "d1").await;

    let reinstate = json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE", "waba_ban_date": "April 17, 2025"}});
    deliver(&sim, "account_update", reinstate.clone()).await;
    wait_account(&client, &ns, "REINSTATE and Ready", |s| {
        s.ban_state.as_deref() == Some("REINSTATE") && condition_is_true(&s.conditions, "Ready")
    })
    .await;
    wait_events(&client, &ns, "acme", "AccountReinstated", 1).await;
    wait_channel(&client, &ns, "acme-support", "Ready again", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    wait_events(&client, &ns, "acme-support", "AccountReinstated", 1).await;
    redeliver_changes_nothing(&client, &ns, &sim, "account_update", reinstate, "i1").await;

    // account_review_update: Meta's decision, read from Graph at once (the interval is 10m).
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"account_review_status": "REJECTED"}),
    )
    .await;
    let review = json!({"decision": "REJECTED"});
    deliver(&sim, "account_review_update", review.clone()).await;
    wait_account(&client, &ns, "review REJECTED", |s| {
        s.account_review_status.as_deref() == Some("REJECTED")
    })
    .await;
    wait_events(&client, &ns, "acme", "AccountReviewRejected", 1).await;
    redeliver_changes_nothing(&client, &ns, &sim, "account_review_update", review, "v1").await;

    // business_capability_update with Meta's integer limit: every number's limit goes up.
    for id in [SUPPORT_ID, BRASIL_ID, SHOP_ID] {
        sim_post(
            &sim,
            &format!("/_sim/numbers/{id}"),
            json!({"whatsapp_business_manager_messaging_limit": "TIER_10K"}),
        )
        .await;
    }
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"whatsapp_business_manager_messaging_limit": "TIER_10K"}),
    )
    .await;
    let capability = json!({"max_daily_conversation_per_phone": 10000, "max_daily_conversations_per_business": 10000, "max_phone_numbers_per_waba": 25});
    deliver(&sim, "business_capability_update", capability.clone()).await;
    for name in CHANNELS {
        wait_channel(&client, &ns, name, "TIER_10K", |s| {
            s.messaging_limit.as_deref() == Some("TIER_10K")
        })
        .await;
        wait_events(&client, &ns, name, "MessagingLimitIncreased", 1).await;
    }
    redeliver_changes_nothing(
        &client,
        &ns,
        &sim,
        "business_capability_update",
        capability,
        "c1",
    )
    .await;

    // account_alerts: the WABA's health as Graph now reports it.
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"can_send_message": "LIMITED", "additional_info": ["Limits cannot be increased for your business"]}),
    )
    .await;
    let alert = json!({"entity_type": "BUSINESS", "entity_id": "506914307656634", "alert_info": {"alert_severity": "WARNING", "alert_status": "ACTIVE", "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", "alert_description": "Limits cannot be increased for your business"}});
    deliver(&sim, "account_alerts", alert.clone()).await;
    wait_events(&client, &ns, "acme", "WabaLimited", 1).await;
    redeliver_changes_nothing(&client, &ns, &sim, "account_alerts", alert, "a1").await;

    let text = op.metrics().await;
    for field in [
        "account_update",
        "account_review_update",
        "business_capability_update",
        "account_alerts",
    ] {
        assert!(
            text.contains(&format!(
                r#"whatsapp_operator_webhook_deliveries_total{{field="{field}",result="accepted"}}"#
            )),
            "{field}: {text}"
        );
    }
    assert!(
        text.contains("whatsapp_operator_webhook_ack_seconds_count"),
        "{text}"
    );
}

#[tokio::test]
async fn number_webhooks_reach_their_channel_once() {
    let client = harness::control_plane().client();
    let (ns, sim, op) = setup(&client, "wh-number").await;

    // Legacy FLAGGED while Graph still says CONNECTED: the fact is recorded, NumberFlagged once.
    let flagged = json!({"display_phone_number": SUPPORT_DIGITS, "event": "FLAGGED", "current_limit": "TIER_2K"});
    deliver(&sim, "phone_number_quality_update", flagged.clone()).await;
    wait_channel(&client, &ns, "acme-support", "FLAGGED", |s| {
        s.status.as_deref() == Some("FLAGGED") && condition_is_true(&s.conditions, "QualityFlagged")
    })
    .await;
    wait_events(&client, &ns, "acme-support", "NumberFlagged", 1).await;
    assert_eq!(
        event_count(&client, &ns, "acme-brasil", "NumberFlagged").await,
        0,
        "only the number the payload names"
    );
    redeliver_changes_nothing(
        &client,
        &ns,
        &sim,
        "phone_number_quality_update",
        flagged,
        "f1",
    )
    .await;
    let unflagged = json!({"display_phone_number": SUPPORT_DIGITS, "event": "UNFLAGGED", "current_limit": "TIER_2K"});
    deliver(&sim, "phone_number_quality_update", unflagged.clone()).await;
    wait_channel(&client, &ns, "acme-support", "CONNECTED", |s| {
        s.status.as_deref() == Some("CONNECTED")
    })
    .await;
    wait_events(&client, &ns, "acme-support", "NumberUnflagged", 1).await;
    redeliver_changes_nothing(
        &client,
        &ns,
        &sim,
        "phone_number_quality_update",
        unflagged,
        "f2",
    )
    .await;

    // phone_number_name_update REJECTED while Graph still shows the name under review.
    sim_post(
        &sim,
        &format!("/_sim/numbers/{BRASIL_ID}"),
        json!({"name_status": "PENDING_REVIEW"}),
    )
    .await;
    force_sync(&client, &ns, "n0").await;
    wait_channel(&client, &ns, "acme-brasil", "PENDING_REVIEW", |s| {
        s.name_status.as_deref() == Some("PENDING_REVIEW")
    })
    .await;
    let rejected = json!({"display_phone_number": BRASIL_DIGITS, "decision": "REJECTED", "requested_verified_name": "Acme Brasil", "rejection_reason": "NAME_FORMAT_UNACCEPTABLE"});
    deliver(&sim, "phone_number_name_update", rejected.clone()).await;
    wait_channel(&client, &ns, "acme-brasil", "name rejected", |s| {
        s.name_status.as_deref() == Some("DECLINED")
            && s.name_rejection_reason.as_deref() == Some("NAME_FORMAT_UNACCEPTABLE")
    })
    .await;
    wait_events(&client, &ns, "acme-brasil", "NameRejected", 1).await;
    let note = events(&client, &ns)
        .await
        .into_iter()
        .find(|e| e.reason == "NameRejected")
        .unwrap()
        .note;
    assert!(note.contains("NAME_FORMAT_UNACCEPTABLE"), "{note}");
    redeliver_changes_nothing(
        &client,
        &ns,
        &sim,
        "phone_number_name_update",
        rejected,
        "n1",
    )
    .await;

    // security PIN_CHANGED: the PIN Secret is probably stale.
    let pin = json!({"display_phone_number": SUPPORT_DIGITS, "event": "PIN_CHANGED"});
    deliver(&sim, "security", pin.clone()).await;
    wait_channel(&client, &ns, "acme-support", "PinStale", |s| {
        condition_is_true(&s.conditions, "PinStale")
    })
    .await;
    wait_events(&client, &ns, "acme-support", "PinChanged", 1).await;
    redeliver_changes_nothing(&client, &ns, &sim, "security", pin, "p1").await;

    // A forged delivery is refused and counted.
    let url = format!(
        "http://127.0.0.1:{}{PATH}",
        sim_get(&sim, "/_sim/state").await["apps"][0]["webhook_url"]
            .as_str()
            .unwrap()
            .rsplit(':')
            .next()
            .unwrap()
            .trim_end_matches(PATH)
    );
    let forged = reqwest::Client::new()
        .post(&url)
        .header("x-hub-signature-256", format!("sha256={}", "0".repeat(64)))
        .body(r#"{"object":"whatsapp_business_account","entry":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let text = op.metrics().await;
    assert!(
        text.contains("whatsapp_operator_webhook_signature_failures_total 1"),
        "{text}"
    );
    assert!(
        text.contains(
            r#"whatsapp_operator_webhook_deliveries_total{field="security",result="accepted"} 2"#
        ),
        "{text}"
    );
}

/// Accounts with webhooks enabled are subscribed at their first sync; a subscription removed
/// at Meta is found and repaired on the next forced sync.
#[tokio::test]
async fn missing_subscription_is_repaired() {
    let client = harness::control_plane().client();
    let (ns, sim, _op) = setup(&client, "wh-subscription").await;
    let subscribed = |sim_state: &Value| {
        sim_state["subscribed_apps"]
            .as_array()
            .is_some_and(|a| a.iter().any(|s| s["app_id"] == APP))
    };
    wait_account(&client, &ns, "webhookSubscribed", |s| {
        s.webhook_subscribed == Some(true)
    })
    .await;
    assert!(subscribed(
        &sim_get(&sim, &format!("/_sim/wabas/{WABA}")).await
    ));

    // Someone removes the subscription at Meta: deliveries of WABA fields stop.
    sim_post(
        &sim,
        &format!("/_sim/wabas/{WABA}"),
        json!({"subscribed_apps": []}),
    )
    .await;
    assert!(!subscribed(
        &sim_get(&sim, &format!("/_sim/wabas/{WABA}")).await
    ));
    force_sync(&client, &ns, "check").await;
    eventually("the subscription to be repaired", WAIT, || async {
        subscribed(&sim_get(&sim, &format!("/_sim/wabas/{WABA}")).await).then_some(())
    })
    .await;
    let a = account(&client, &ns).await.status.unwrap();
    assert_eq!(a.webhook_subscribed, Some(true));
    // And deliveries flow again without "force".
    deliver(
        &sim,
        "account_update",
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE"}}),
    )
    .await;
    wait_events(&client, &ns, "acme", "AccountDisabled", 1).await;
}
