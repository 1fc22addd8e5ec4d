//! Parity with the platforms' WhatsApp tabs (Meta's quality insights), end to end against the
//! real apiserver and meta-sim.

use std::time::Duration;

use harness::{World, example, example_with};
use whatsapp_operator::crd::{WhatsAppChannelStatus, condition_is_true, find_condition};

const SUPPORT: &str = "106540352242922";
const WAIT: Duration = Duration::from_secs(120);

/// The account (syncing hourly: every read comes from a forced sync, a write or a webhook) and
/// the operator with its webhook receiver.
async fn world(prefix: &str) -> World {
    let (w, url) = World::with_webhook_receiver(prefix).await;
    let mut w = w.with_timeout(WAIT);
    w.apply(&example_with(
        "account.yaml",
        &[("syncInterval: 10m", "syncInterval: 1h")],
    ))
    .await;
    w.start_operator_with_receiver(&url, &[]).await;
    w.wait_account("acme", "Ready", |s| {
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
    let w = world("parity-quality").await;
    w.apply(&example("channel-adopt.yaml")).await;
    w.wait_channel("acme-support", "Ready", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
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
