//! Meta's webhooks end to end: the simulator signs and delivers Meta's documented payloads to the
//! running operator binary, which applies them to statuses, conditions and events in a real
//! kube-apiserver. Delivering a payload again changes nothing.

use std::time::Duration;

use harness::World;
use harness::operator::{SeenEvent, eventually};
use harness::sim::{Sim, Waba};
use serde_json::{Value, json};
use whatsapp_operator::crd::{condition_is_true, find_condition};

const WABA: &str = "102290129340398";
const APP: &str = "670843887433847";
const SUPPORT_DIGITS: &str = "15550783881";
const BRASIL_ID: &str = "106540352242924";
const BRASIL_DIGITS: &str = "5511987654321";
const SUPPORT_ID: &str = "106540352242922";
const SHOP_ID: &str = "106540352242923";
const CHANNELS: [&str; 3] = ["acme-support", "acme-brasil", "acme-shop-app"];
const WAIT: Duration = Duration::from_secs(120);
const PATH: &str = harness::world::WEBHOOK_PATH;

/// Has the simulator sign and deliver one change of `field`; the operator must answer 200.
async fn deliver(sim: &Sim, field: &str, value: Value) {
    let out = sim.deliver(APP, WABA, field, value).await;
    assert_eq!(out.status, 200, "{field}: {out:?}");
}

/// The account, two adopted channels and an observe-only one, the webhook Secret, and the
/// operator with its receiver; returns once every channel is Ready and Meta's handshake passes.
async fn world(prefix: &str) -> World {
    world_with_url(prefix).await.0
}

/// `world`, and the URL of the operator's webhook receiver.
async fn world_with_url(prefix: &str) -> (World, String) {
    let (mut w, url) = World::with_webhook_receiver(prefix).await;
    w = w.with_timeout(WAIT);
    for file in [
        "account.yaml",
        "channel-adopt.yaml",
        "channel-observe-only.yaml",
    ] {
        w.apply_example(file).await;
    }
    // Every delivery re-reads Meta, so each step sees the simulator's latest state.
    w.start_operator_with_receiver(&url, &["--webhook-min-read-spacing-seconds", "0"])
        .await;
    for name in CHANNELS {
        w.wait_channel(name, "Ready", |s| condition_is_true(&s.conditions, "Ready"))
            .await;
    }
    eventually("Meta's verification handshake", WAIT, || async {
        w.sim
            .verify_webhook(APP)
            .await
            .is_ok_and(|h| h.verified)
            .then_some(())
    })
    .await;
    (w, url)
}

/// The account's and every channel's status, as JSON.
async fn statuses(w: &World) -> Vec<Value> {
    let mut v = vec![serde_json::to_value(w.account("acme").await.status).unwrap()];
    for name in CHANNELS {
        v.push(serde_json::to_value(w.channel(name).await.status).unwrap());
    }
    v
}

/// Delivers the same change again and checks that no event followed. The forced sync and the
/// pause let the redelivery's reconciles (account, then channels) run before counting.
async fn redeliver_changes_nothing(w: &World, field: &str, value: Value, token: &str) {
    changes_nothing(w, field, token, deliver(&w.sim, field, value)).await;
}

/// Meta's envelope of one change of `field`, sent at `time` (Unix seconds).
fn envelope(field: &str, value: Value, time: i64) -> Value {
    json!({"object": "whatsapp_business_account", "entry": [{
        "id": WABA, "time": time, "changes": [{"field": field, "value": value}]}]})
}

/// Has the simulator sign and deliver a whole envelope as given; the operator must answer 200.
async fn deliver_exactly(sim: &Sim, payload: Value) {
    let out = sim.deliver_payload(APP, payload).await;
    assert_eq!(out.status, 200, "{out:?}");
}

/// Delivers an envelope again exactly as before (its entry time included, as Meta retries a
/// delivery) and checks that no event followed.
async fn redeliver_exactly_changes_nothing(w: &World, payload: Value, token: &str) {
    changes_nothing(
        w,
        "the same envelope",
        token,
        deliver_exactly(&w.sim, payload),
    )
    .await;
}

/// Runs `delivery`, lets its reconciles run and checks that it published no event and that the
/// statuses settle.
async fn changes_nothing(
    w: &World,
    field: &str,
    token: &str,
    delivery: impl std::future::Future<Output = ()>,
) {
    let before = w.events().await;
    delivery.await;
    w.force_sync("acme", token).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = w.events().await;
    let total = |e: &[SeenEvent]| e.iter().map(|e| e.count).sum::<i32>();
    assert_eq!(
        total(&after),
        total(&before),
        "{field} delivered again published events: {after:?}"
    );
    let first = statuses(w).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(statuses(w).await, first, "statuses settle");
}

fn in_a_day() -> i64 {
    jiff::Timestamp::now().as_second() + 86_400
}

#[tokio::test]
async fn account_webhooks_reach_account_and_channels_once() {
    let w = world("wh-account").await;

    // account_update ACCOUNT_RESTRICTION, as Meta documents it (with a future expiration).
    let restriction = json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": [
        {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": in_a_day()},
        {"restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": in_a_day()}]});
    deliver(&w.sim, "account_update", restriction.clone()).await;
    w.wait_account("acme", "restrictions in status", |s| {
        s.restrictions.len() == 2
    })
    .await;
    w.wait_events("acme", "AccountRestricted", 1).await;
    for name in CHANNELS {
        w.wait_channel(name, "AccountRestricted condition", |s| {
            condition_is_true(&s.conditions, "AccountRestricted")
        })
        .await;
        w.wait_events(name, "AccountRestricted", 1).await;
    }
    redeliver_changes_nothing(&w, "account_update", restriction, "r1").await;

    // Restrictions lifted (an empty list), then DISABLED_UPDATE: DISABLE, then REINSTATE.
    deliver(
        &w.sim,
        "account_update",
        json!({"event": "ACCOUNT_RESTRICTION", "restriction_info": []}),
    )
    .await;
    w.wait_channel("acme-support", "restriction lifted", |s| {
        !condition_is_true(&s.conditions, "AccountRestricted")
    })
    .await;
    let disable = json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"}});
    deliver(&w.sim, "account_update", disable.clone()).await;
    w.wait_account("acme", "DISABLE in status", |s| {
        s.ban_state.as_deref() == Some("DISABLE")
            && find_condition(&s.conditions, "Ready")
                .is_some_and(|c| c.status == "False" && c.reason == "Disabled")
    })
    .await;
    w.wait_events("acme", "AccountDisabled", 1).await;
    w.wait_channel("acme-support", "not Ready while disabled", |s| {
        find_condition(&s.conditions, "Ready")
            .is_some_and(|c| c.status == "False" && c.reason == "Disabled")
    })
    .await;
    w.wait_events("acme-support", "AccountDisabled", 1).await;
    redeliver_changes_nothing(&w, "account_update", disable, "d1").await;

    let reinstate = json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "REINSTATE", "waba_ban_date": "April 17, 2025"}});
    deliver(&w.sim, "account_update", reinstate.clone()).await;
    w.wait_account("acme", "REINSTATE and Ready", |s| {
        s.ban_state.as_deref() == Some("REINSTATE") && condition_is_true(&s.conditions, "Ready")
    })
    .await;
    w.wait_events("acme", "AccountReinstated", 1).await;
    w.wait_channel("acme-support", "Ready again", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    w.wait_events("acme-support", "AccountReinstated", 1).await;
    redeliver_changes_nothing(&w, "account_update", reinstate, "i1").await;

    // account_review_update: Meta's decision, read from Graph at once (the interval is 10m).
    w.sim
        .update_waba(WABA, json!({"account_review_status": "REJECTED"}))
        .await;
    let review = json!({"decision": "REJECTED"});
    deliver(&w.sim, "account_review_update", review.clone()).await;
    w.wait_account("acme", "review REJECTED", |s| {
        s.account_review_status.as_deref() == Some("REJECTED")
    })
    .await;
    w.wait_events("acme", "AccountReviewRejected", 1).await;
    redeliver_changes_nothing(&w, "account_review_update", review, "v1").await;

    // business_capability_update with Meta's integer limit: every number's limit goes up.
    for id in [SUPPORT_ID, BRASIL_ID, SHOP_ID] {
        w.sim.set_number_messaging_limit(id, "TIER_10K").await;
    }
    w.sim.set_waba_messaging_limit(WABA, "TIER_10K").await;
    let capability = json!({"max_daily_conversation_per_phone": 10000, "max_daily_conversations_per_business": 10000, "max_phone_numbers_per_waba": 25});
    deliver(&w.sim, "business_capability_update", capability.clone()).await;
    for name in CHANNELS {
        w.wait_channel(name, "TIER_10K", |s| {
            s.messaging_limit.as_deref() == Some("TIER_10K")
        })
        .await;
        w.wait_events(name, "MessagingLimitIncreased", 1).await;
    }
    redeliver_changes_nothing(&w, "business_capability_update", capability, "c1").await;

    // account_alerts: the WABA's health as Graph now reports it.
    w.sim.update_waba(WABA, json!({"can_send_message": "LIMITED", "additional_info": ["Limits cannot be increased for your business"]})).await;
    let alert = json!({"entity_type": "BUSINESS", "entity_id": "506914307656634", "alert_info": {"alert_severity": "WARNING", "alert_status": "ACTIVE", "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", "alert_description": "Limits cannot be increased for your business"}});
    deliver(&w.sim, "account_alerts", alert.clone()).await;
    w.wait_events("acme", "WabaLimited", 1).await;
    redeliver_changes_nothing(&w, "account_alerts", alert, "a1").await;

    let text = w.operator().metrics().await;
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
    let w = world("wh-number").await;

    // Legacy FLAGGED while Graph still says CONNECTED: the fact is recorded, NumberFlagged once.
    let flagged = json!({"display_phone_number": SUPPORT_DIGITS, "event": "FLAGGED", "current_limit": "TIER_2K"});
    deliver(&w.sim, "phone_number_quality_update", flagged.clone()).await;
    w.wait_channel("acme-support", "FLAGGED", |s| {
        s.status.as_deref() == Some("FLAGGED") && condition_is_true(&s.conditions, "QualityFlagged")
    })
    .await;
    w.wait_events("acme-support", "NumberFlagged", 1).await;
    assert_eq!(
        w.event_count("acme-brasil", "NumberFlagged").await,
        0,
        "only the number the payload names"
    );
    redeliver_changes_nothing(&w, "phone_number_quality_update", flagged, "f1").await;
    let unflagged = json!({"display_phone_number": SUPPORT_DIGITS, "event": "UNFLAGGED", "current_limit": "TIER_2K"});
    deliver(&w.sim, "phone_number_quality_update", unflagged.clone()).await;
    w.wait_channel("acme-support", "CONNECTED", |s| {
        s.status.as_deref() == Some("CONNECTED")
    })
    .await;
    w.wait_events("acme-support", "NumberUnflagged", 1).await;
    redeliver_changes_nothing(&w, "phone_number_quality_update", unflagged, "f2").await;

    // phone_number_name_update REJECTED while Graph still shows the name under review.
    w.sim
        .update_number(BRASIL_ID, json!({"name_status": "PENDING_REVIEW"}))
        .await;
    w.force_sync("acme", "n0").await;
    w.wait_channel("acme-brasil", "PENDING_REVIEW", |s| {
        s.name_status.as_deref() == Some("PENDING_REVIEW")
    })
    .await;
    let rejected = json!({"display_phone_number": BRASIL_DIGITS, "decision": "REJECTED", "requested_verified_name": "Acme Brasil", "rejection_reason": "NAME_FORMAT_UNACCEPTABLE"});
    deliver(&w.sim, "phone_number_name_update", rejected.clone()).await;
    w.wait_channel("acme-brasil", "name rejected", |s| {
        s.name_status.as_deref() == Some("DECLINED")
            && s.name_rejection_reason.as_deref() == Some("NAME_FORMAT_UNACCEPTABLE")
    })
    .await;
    w.wait_events("acme-brasil", "NameRejected", 1).await;
    let note = w
        .events()
        .await
        .into_iter()
        .find(|e| e.reason == "NameRejected")
        .unwrap()
        .note;
    assert!(note.contains("NAME_FORMAT_UNACCEPTABLE"), "{note}");
    redeliver_changes_nothing(&w, "phone_number_name_update", rejected, "n1").await;

    // security PIN_CHANGED: the PIN Secret is probably stale.
    let pin = json!({"display_phone_number": SUPPORT_DIGITS, "event": "PIN_CHANGED"});
    deliver(&w.sim, "security", pin.clone()).await;
    w.wait_channel("acme-support", "PinStale", |s| {
        condition_is_true(&s.conditions, "PinStale")
    })
    .await;
    w.wait_events("acme-support", "PinChanged", 1).await;
    redeliver_changes_nothing(&w, "security", pin, "p1").await;

    // A forged delivery is refused and counted.
    let url = format!(
        "http://127.0.0.1:{}{PATH}",
        w.sim.state().await.apps[0]
            .webhook_url
            .as_deref()
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
    let text = w.operator().metrics().await;
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
    let w = world("wh-subscription").await;
    let subscribed = |waba: &Waba| waba.subscribed_apps.iter().any(|s| s.app_id == APP);
    w.wait_account("acme", "webhookSubscribed", |s| {
        s.webhook_subscribed == Some(true)
    })
    .await;
    assert!(subscribed(&w.sim.waba(WABA).await));

    // Someone removes the subscription at Meta: deliveries of WABA fields stop.
    w.sim
        .update_waba(WABA, json!({"subscribed_apps": []}))
        .await;
    assert!(!subscribed(&w.sim.waba(WABA).await));
    w.force_sync("acme", "check").await;
    eventually("the subscription to be repaired", WAIT, || async {
        subscribed(&w.sim.waba(WABA).await).then_some(())
    })
    .await;
    let a = w.account("acme").await.status.unwrap();
    assert_eq!(a.webhook_subscribed, Some(true));
    // And deliveries flow again without "force".
    deliver(
        &w.sim,
        "account_update",
        json!({"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "SCHEDULE_FOR_DISABLE"}}),
    )
    .await;
    w.wait_events("acme", "AccountDisabled", 1).await;
}

/// A delivery Meta got a 200 for is in the apiserver already (the channel's inbox, or applied to
/// its status), so an operator killed right after the answer still applies it after a restart:
/// the flag lands, with its event once, and the inbox empties.
#[tokio::test]
async fn an_acknowledged_delivery_survives_a_kill() {
    let mut w = world("wh-durable").await;
    let flagged = json!({"display_phone_number": SUPPORT_DIGITS, "event": "FLAGGED", "current_limit": "TIER_2K"});
    deliver(&w.sim, "phone_number_quality_update", flagged).await;
    w.operator_mut().kill();
    let s = w.channel("acme-support").await.status.unwrap();
    let recorded = s
        .webhook
        .webhook_inbox
        .values()
        .any(|n| matches!(&n.fact, whatsapp_operator::meta::Fact::QualityUpdate { event, .. } if event == "FLAGGED"));
    let applied = condition_is_true(&s.conditions, "QualityFlagged");
    assert!(
        recorded || applied,
        "acknowledged but neither in the inbox nor applied: {s:?}"
    );

    w.operator_mut().restart();
    let after = w
        .wait_channel("acme-support", "FLAGGED after the restart", |s| {
            s.status.as_deref() == Some("FLAGGED")
                && condition_is_true(&s.conditions, "QualityFlagged")
                && s.webhook.webhook_inbox.is_empty()
        })
        .await;
    assert!(
        after.webhook.fact_times.contains_key("quality"),
        "{after:?}"
    );
    w.wait_events("acme-support", "NumberFlagged", 1).await;
}

/// Meta retries a delivery for days: a FLAGGED that arrives late, after the UNFLAGGED that
/// followed it, is acknowledged and changes nothing, because facts about the number's quality
/// apply in delivery order.
#[tokio::test]
async fn a_stale_flag_delivered_after_the_unflag_changes_nothing() {
    let (w, url) = world_with_url("wh-stale").await;
    let value = |event: &str| json!({"display_phone_number": SUPPORT_DIGITS, "event": event, "current_limit": "TIER_2K"});
    deliver(&w.sim, "phone_number_quality_update", value("FLAGGED")).await;
    w.wait_events("acme-support", "NumberFlagged", 1).await;
    deliver(&w.sim, "phone_number_quality_update", value("UNFLAGGED")).await;
    w.wait_events("acme-support", "NumberUnflagged", 1).await;
    let s = w
        .wait_channel("acme-support", "CONNECTED", |s| {
            s.status.as_deref() == Some("CONNECTED")
        })
        .await;
    let unflagged_at = s.webhook.fact_times["quality"].0.as_second();

    // The FLAGGED again, as Meta sent it an hour before the UNFLAGGED, signed with the app
    // secret, straight to the operator's receiver.
    let body = json!({"object": "whatsapp_business_account", "entry": [{
        "id": WABA, "time": unflagged_at - 3600,
        "changes": [{"field": "phone_number_quality_update", "value": value("FLAGGED")}]}]})
    .to_string();
    let signature = whatsapp_operator::webhook::signature::sign(
        &secrecy::SecretString::from("sim-app-secret-change-me"),
        body.as_bytes(),
    );
    let answer = reqwest::Client::new()
        .post(&url)
        .header("X-Hub-Signature-256", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    w.force_sync("acme", "stale").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let s = w.channel("acme-support").await.status.unwrap();
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    assert!(!condition_is_true(&s.conditions, "QualityFlagged"));
    assert!(s.webhook.webhook_inbox.is_empty(), "{:?}", s.webhook);
    assert_eq!(w.event_count("acme-support", "NumberFlagged").await, 1);
}

/// Everything Meta's account fields say lands in the account's status, from Meta's documented
/// payloads: an alert (raised, then no longer active), the portfolio's capabilities (merged
/// across updates), a violation and a pricing tier, each event once and on the account only.
#[tokio::test]
async fn account_notices_land_in_status_with_their_events_once() {
    let w = world("wh-account-records").await;

    let alert = |status: &str| json!({"entity_type": "BUSINESS", "entity_id": "506914307656634", "alert_info": {"alert_severity": "WARNING", "alert_status": status, "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED", "alert_description": "Limits cannot be increased for your business"}});
    deliver(&w.sim, "account_alerts", alert("ACTIVE")).await;
    let s = w
        .wait_account("acme", "the ACTIVE alert", |s| {
            s.alerts.iter().any(|a| a.status == "ACTIVE")
        })
        .await;
    assert_eq!(s.alerts.len(), 1, "{:?}", s.alerts);
    let a = &s.alerts[0];
    assert_eq!(a.type_, "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED");
    assert_eq!(
        (a.entity_type.as_deref(), a.entity_id.as_deref()),
        (Some("BUSINESS"), Some("506914307656634"))
    );
    assert_eq!(a.severity.as_deref(), Some("WARNING"));
    assert_eq!(
        a.description.as_deref(),
        Some("Limits cannot be increased for your business")
    );
    assert!(a.since.is_some());
    w.wait_events("acme", "AccountAlert", 1).await;
    redeliver_changes_nothing(&w, "account_alerts", alert("ACTIVE"), "al1").await;
    deliver(&w.sim, "account_alerts", alert("NONE")).await;
    w.wait_account("acme", "the alert no longer active", |s| {
        s.alerts.len() == 1 && s.alerts[0].status == "NONE"
    })
    .await;
    w.wait_events("acme", "AccountAlertResolved", 1).await;
    redeliver_changes_nothing(&w, "account_alerts", alert("NONE"), "al2").await;
    assert_eq!(w.event_count("acme", "AccountAlert").await, 1);

    // business_capability_update as Meta documents it, then an update with the limit only.
    let capability = json!({"max_daily_conversation_per_phone": 2000, "max_daily_conversations_per_business": "TIER_UNLIMITED", "max_phone_numbers_per_business": 2, "max_phone_numbers_per_waba": 25});
    deliver(&w.sim, "business_capability_update", capability.clone()).await;
    w.wait_account("acme", "the capabilities", |s| {
        s.capabilities.as_ref().is_some_and(|c| {
            c.messaging_limit.as_deref() == Some("TIER_UNLIMITED")
                && c.max_phone_numbers_per_waba == Some(25)
                && c.max_phone_numbers_per_business == Some(2)
        })
    })
    .await;
    w.wait_events("acme", "PortfolioLimitIncreased", 1).await;
    redeliver_changes_nothing(&w, "business_capability_update", capability, "ca1").await;
    let lower = json!({"max_daily_conversations_per_business": 10000});
    deliver(&w.sim, "business_capability_update", lower.clone()).await;
    let s = w
        .wait_account("acme", "the lower limit", |s| {
            s.capabilities
                .as_ref()
                .is_some_and(|c| c.messaging_limit.as_deref() == Some("TIER_10K"))
        })
        .await;
    let caps = s.capabilities.unwrap();
    assert_eq!(
        (
            caps.max_phone_numbers_per_waba,
            caps.max_phone_numbers_per_business
        ),
        (Some(25), Some(2)),
        "an update without the caps keeps them"
    );
    w.wait_events("acme", "PortfolioLimitDecreased", 1).await;
    redeliver_changes_nothing(&w, "business_capability_update", lower, "ca2").await;

    // account_update ACCOUNT_VIOLATION and VOLUME_BASED_PRICING_TIER_UPDATE, Meta's examples.
    let violation =
        json!({"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "ADULT"}});
    deliver(&w.sim, "account_update", violation.clone()).await;
    w.wait_account("acme", "the violation", |s| {
        s.violations.len() == 1 && s.violations[0].type_ == "ADULT"
    })
    .await;
    w.wait_events("acme", "AccountViolation", 1).await;
    redeliver_changes_nothing(&w, "account_update", violation, "vi1").await;
    let tier = json!({"volume_tier_info": {"tier_update_time": 1743451903, "pricing_category": "UTILITY", "tier": "25000001:50000000", "effective_month": "2025-11", "region": "India"}, "event": "VOLUME_BASED_PRICING_TIER_UPDATE"});
    deliver(&w.sim, "account_update", tier.clone()).await;
    let s = w
        .wait_account("acme", "the pricing tier", |s| !s.pricing_tiers.is_empty())
        .await;
    let t = &s.pricing_tiers[0];
    assert_eq!(
        (
            t.pricing_category.as_deref(),
            t.region.as_deref(),
            t.tier.as_deref(),
            t.effective_month.as_deref()
        ),
        (
            Some("UTILITY"),
            Some("India"),
            Some("25000001:50000000"),
            Some("2025-11")
        )
    );
    assert_eq!(
        t.updated_at.as_ref().map(|u| u.0.as_second()),
        Some(1_743_451_903)
    );
    redeliver_changes_nothing(&w, "account_update", tier, "pt1").await;

    // The account's news stays on the account.
    for name in CHANNELS {
        for reason in [
            "AccountAlert",
            "AccountViolation",
            "PortfolioLimitIncreased",
        ] {
            assert_eq!(w.event_count(name, reason).await, 0, "{reason} on {name}");
        }
    }
}

/// The number's notices land in its channel's status from Meta's documented payloads: the
/// current phone_number_quality_update (throughput and the portfolio limit it carries) and a
/// PIN reset request (a Warning once per request, Meta's retry of it silent); the number's
/// calling health from Graph sits beside its messaging health, and a shape Meta does not
/// document leaves it out without failing the number's read.
#[tokio::test]
async fn number_notices_and_calling_health_land_in_the_channel() {
    let w = world("wh-number-records").await;

    let upgrade = json!({"display_phone_number": SUPPORT_DIGITS, "event": "THROUGHPUT_UPGRADE", "current_limit": "TIER_UNLIMITED", "max_daily_conversations_per_business": "TIER_UNLIMITED"});
    deliver(&w.sim, "phone_number_quality_update", upgrade.clone()).await;
    let s = w
        .wait_channel("acme-support", "the throughput upgrade", |s| {
            s.last_quality_update
                .as_ref()
                .is_some_and(|q| q.event == "THROUGHPUT_UPGRADE")
        })
        .await;
    let q = s.last_quality_update.unwrap();
    assert_eq!(q.portfolio_limit.as_deref(), Some("TIER_UNLIMITED"));
    assert_eq!(q.current_limit.as_deref(), Some("TIER_UNLIMITED"));
    assert!(q.at.is_some());
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    assert!(!condition_is_true(&s.conditions, "QualityFlagged"));
    redeliver_changes_nothing(&w, "phone_number_quality_update", upgrade, "q1").await;
    assert_eq!(w.event_count("acme-support", "NumberFlagged").await, 0);
    assert!(
        w.channel("acme-brasil")
            .await
            .status
            .unwrap()
            .last_quality_update
            .is_none(),
        "only the number the payload names"
    );

    // security PIN_RESET_REQUEST, then Meta's retry of the same delivery.
    let reset = json!({"display_phone_number": SUPPORT_DIGITS, "event": "PIN_RESET_REQUEST", "requester": "1234567890"});
    let sent = envelope("security", reset, w.sim.now().await);
    deliver_exactly(&w.sim, sent.clone()).await;
    let s = w
        .wait_channel("acme-support", "the PIN reset request", |s| {
            s.security_events
                .iter()
                .any(|e| e.event == "PIN_RESET_REQUEST" && e.at.is_some())
        })
        .await;
    assert!(!condition_is_true(&s.conditions, "PinStale"));
    w.wait_events("acme-support", "PinResetRequested", 1).await;
    redeliver_exactly_changes_nothing(&w, sent, "s1").await;
    let success = json!({"display_phone_number": SUPPORT_DIGITS, "event": "PIN_REQUEST_SUCCESS"});
    deliver(&w.sim, "security", success).await;
    w.wait_channel("acme-support", "PIN_REQUEST_SUCCESS recorded", |s| {
        s.security_events.len() == 2
    })
    .await;
    assert_eq!(w.event_count("acme-support", "PinResetRequested").await, 1);

    // Calling health from Graph, beside can_send_message.
    w.sim
        .update_number(SUPPORT_ID, json!({"can_receive_call_sip": "AVAILABLE"}))
        .await;
    w.force_sync("acme", "sip1").await;
    let s = w
        .wait_channel("acme-support", "canReceiveCallSip", |s| {
            s.health
                .as_ref()
                .is_some_and(|h| h.can_receive_call_sip.as_deref() == Some("AVAILABLE"))
        })
        .await;
    let health = s.health.unwrap();
    let number = health
        .entities
        .iter()
        .find(|e| e.entity_type == "PHONE_NUMBER")
        .unwrap();
    assert_eq!(number.can_receive_call_sip.as_deref(), Some("AVAILABLE"));
    assert_eq!(health.can_send_message.as_deref(), Some("AVAILABLE"));

    // An undocumented shape of it: the number is still read, its calling health left out.
    let odd = json!({"health_status": {"can_send_message": "AVAILABLE", "entities": [
        {"entity_type": "PHONE_NUMBER", "id": SUPPORT_ID, "can_send_message": "AVAILABLE", "can_receive_call_sip": {"state": "AVAILABLE"}},
        {"entity_type": "WABA", "id": WABA, "can_send_message": "AVAILABLE"}]}});
    w.sim.serve_number_as(SUPPORT_ID, odd).await;
    w.force_sync("acme", "sip2").await;
    let s = w
        .wait_channel("acme-support", "canReceiveCallSip left out", |s| {
            s.health
                .as_ref()
                .is_some_and(|h| h.can_receive_call_sip.is_none() && h.entities.len() == 2)
        })
        .await;
    assert!(condition_is_true(&s.conditions, "Ready"), "{s:?}");
    assert!(condition_is_true(&s.conditions, "Synced"), "{s:?}");
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
}
