//! Parity with the platforms' WhatsApp tabs: Meta's quality insights, and what to do in Business
//! Manager about payment and verification, end to end against the real apiserver and meta-sim.

use std::time::Duration;

use harness::{World, example};
use serde_json::json;
use whatsapp_operator::crd::{
    WhatsAppBusinessAccountStatus, WhatsAppChannelStatus, condition_is_true, find_condition,
};

const WABA: &str = "102290129340398";
const SUPPORT: &str = "106540352242922";

/// The account (syncing hourly: every read comes from a forced sync, a write or a webhook) and
/// the operator with its webhook receiver.
async fn world(prefix: &str) -> World {
    super::templates::receiving_world(prefix, None).await
}

fn account_condition<'a>(
    s: &'a WhatsAppBusinessAccountStatus,
    t: &str,
) -> Option<(&'a str, &'a str, &'a str)> {
    find_condition(&s.conditions, t)
        .map(|c| (c.status.as_str(), c.reason.as_str(), c.message.as_str()))
}

async fn adopted(prefix: &str) -> World {
    let w = world(prefix).await;
    w.apply(&example("channel-adopt.yaml")).await;
    w.wait_channel("acme-support", "Ready", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    w
}

fn condition<'a>(s: &'a WhatsAppChannelStatus, t: &str) -> (&'a str, &'a str, &'a str) {
    let c = find_condition(&s.conditions, t).unwrap_or_else(|| panic!("no {t} in {s:?}"));
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

#[tokio::test]
async fn metas_quality_reasons_reach_status_the_event_and_the_ready_message() {
    let w = adopted("parity-quality").await;
    let scored_at = w.sim.now().await;
    w.sim
        .set_quality_score(
            SUPPORT,
            "YELLOW",
            &["USER_BLOCKS", "A_REASON_META_ADDS_LATER"],
        )
        .await;
    w.force_sync("acme", "quality-1").await;
    let s = w
        .wait_channel("acme-support", "the quality insights", |s| {
            s.quality_rating.as_deref() == Some("YELLOW")
                && s.quality_insights
                    .as_ref()
                    .is_some_and(|q| !q.reasons.is_empty())
        })
        .await;
    let insights = s.quality_insights.as_ref().unwrap();
    assert_eq!(
        insights.reasons,
        ["USER_BLOCKS", "A_REASON_META_ADDS_LATER"]
    );
    assert_eq!(
        insights.scored_at.as_ref().map(|t| t.0.as_second()),
        Some(scored_at)
    );
    let (ready, _, message) = condition(&s, "Ready");
    assert_eq!(ready, "True");
    assert!(
        message.contains(
            "quality is YELLOW because people blocked the number; A_REASON_META_ADDS_LATER"
        ),
        "{message}"
    );
    w.wait_events("acme-support", "QualityDegraded", 1).await;
    let note = w
        .events()
        .await
        .into_iter()
        .find(|e| e.name == "acme-support" && e.reason == "QualityDegraded")
        .map(|e| e.note)
        .unwrap_or_default();
    assert_eq!(
        note,
        "Quality rating dropped from GREEN to YELLOW: people blocked the number; \
         A_REASON_META_ADDS_LATER"
    );

    // The same insights again: no write, no event.
    let before = w.channel("acme-support").await.metadata.resource_version;
    w.force_sync("acme", "quality-2").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(
        w.channel("acme-support").await.metadata.resource_version,
        before
    );
    w.expect_events("acme-support", "QualityDegraded", 1).await;

    // Recovery: GREEN without reasons; the Ready message drops them.
    w.sim.set_quality_score(SUPPORT, "GREEN", &[]).await;
    w.force_sync("acme", "quality-3").await;
    let s = w
        .wait_channel("acme-support", "GREEN again", |s| {
            s.quality_rating.as_deref() == Some("GREEN")
        })
        .await;
    assert!(
        s.quality_insights
            .as_ref()
            .is_some_and(|q| q.reasons.is_empty())
    );
    assert!(!condition(&s, "Ready").2.contains("because"), "{s:?}");
    w.wait_events("acme-support", "QualityRecovered", 1).await;
}

#[tokio::test]
async fn a_payment_method_error_turns_billing_ready_off_and_its_fix_on_with_one_event_each() {
    let w = adopted("parity-billing").await;
    let payment = json!({
        "error_code": 141006,
        "error_description": "There is an error with the payment method. This will block business initiated conversations.",
        "possible_solution": "There was an error with your payment method. Please add a new payment method to the account."
    });
    w.sim
        .update_waba(
            WABA,
            json!({"can_send_message": "BLOCKED", "errors": [payment]}),
        )
        .await;
    w.force_sync("acme", "billing-1").await;
    let s = w
        .wait_account("acme", "BillingReady False", |s| {
            account_condition(s, "BillingReady").is_some_and(|c| c.0 == "False")
        })
        .await;
    let (_, why, message) = account_condition(&s, "BillingReady").unwrap();
    assert_eq!(why, "PaymentMethodRequired");
    assert!(
        message.contains("141006 There is an error with the payment method"),
        "{message}"
    );
    assert!(
        message.contains("Payment methods") && message.contains("currency"),
        "{message}"
    );
    assert!(account_condition(&s, "BusinessVerified").is_none(), "{s:?}");
    let ch = w
        .wait_channel("acme-support", "the payment problem in Ready", |s| {
            condition(s, "Ready").2.contains("has a payment problem")
        })
        .await;
    assert_eq!(condition(&ch, "Ready").0, "False");
    w.wait_events("acme", "PaymentMethodRequired", 1).await;

    w.sim
        .update_waba(WABA, json!({"can_send_message": "AVAILABLE", "errors": []}))
        .await;
    w.force_sync("acme", "billing-2").await;
    let s = w
        .wait_account("acme", "BillingReady True", |s| {
            account_condition(s, "BillingReady").is_some_and(|c| c.0 == "True")
        })
        .await;
    assert_eq!(
        account_condition(&s, "BillingReady").unwrap().1,
        "PaymentMethodOk"
    );
    w.wait_channel("acme-support", "Ready without the payment problem", |s| {
        condition_is_true(&s.conditions, "Ready") && !condition(s, "Ready").2.contains("payment")
    })
    .await;
    w.wait_events("acme", "PaymentMethodRestored", 1).await;
    w.force_sync("acme", "billing-3").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    w.expect_events("acme", "PaymentMethodRequired", 1).await;
    w.expect_events("acme", "PaymentMethodRestored", 1).await;
}

#[tokio::test]
async fn an_unverified_business_held_at_250_is_told_to_verify_until_it_is() {
    let w = adopted("parity-verify").await;
    w.sim
        .update_waba(
            WABA,
            json!({
                "business_verification_status": "pending_submission",
                "whatsapp_business_manager_messaging_limit": "TIER_250"
            }),
        )
        .await;
    w.force_sync("acme", "verify-1").await;
    let s = w
        .wait_account("acme", "BusinessVerified False", |s| {
            account_condition(s, "BusinessVerified").is_some_and(|c| c.0 == "False")
        })
        .await;
    let (_, why, message) = account_condition(&s, "BusinessVerified").unwrap();
    assert_eq!(why, "VerificationRequired");
    assert!(
        message.contains("250 unique users per 24 hours"),
        "{message}"
    );
    assert!(message.contains("Start verification"), "{message}");
    w.wait_channel("acme-support", "the verification hold in Ready", |s| {
        condition(s, "Ready")
            .2
            .contains("complete business verification")
    })
    .await;
    w.wait_events("acme", "BusinessVerificationRequired", 1)
        .await;

    w.sim
        .update_waba(
            WABA,
            json!({
                "business_verification_status": "verified",
                "whatsapp_business_manager_messaging_limit": "TIER_2K"
            }),
        )
        .await;
    w.force_sync("acme", "verify-2").await;
    w.wait_account("acme", "BusinessVerified True", |s| {
        account_condition(s, "BusinessVerified").is_some_and(|c| c.0 == "True")
    })
    .await;
    w.wait_events("acme", "MessagingLimitReleased", 1).await;
    w.wait_channel("acme-support", "Ready without the hold", |s| {
        !condition(s, "Ready").2.contains("verification")
    })
    .await;
}
