//! One owner per number and per WABA id, cluster-wide: the oldest claim wins, every other claim
//! stalls naming the owner and makes no call to Meta, and the next claim takes over when the
//! owner goes. Deleting a channel never deregisters a number another channel still claims.

use std::time::Duration;

use harness::World;

use super::registration::adopted;
use harness::operator::event_count;
use kube::Api;
use serde_json::Value;
use whatsapp_operator::crd::{
    WhatsAppBusinessAccount, WhatsAppBusinessAccountStatus, WhatsAppChannelStatus,
    condition_is_true, find_condition,
};

const WAIT: Duration = Duration::from_secs(90);
/// The WABA of the example state.
const WABA: &str = "102290129340398";
/// The CONNECTED number +1 555-078-3881 of the example state.
const US_ID: &str = "106540352242922";

fn connected(s: &WhatsAppChannelStatus) -> bool {
    s.status.as_deref() == Some("CONNECTED") && condition_is_true(&s.conditions, "Ready")
}

fn stalled_with(reason: &'static str) -> impl Fn(&WhatsAppChannelStatus) -> bool {
    move |s| {
        find_condition(&s.conditions, "Stalled")
            .is_some_and(|c| c.status == "True" && c.reason == reason)
            && find_condition(&s.conditions, "Ready").is_some_and(|c| c.status == "False")
    }
}

fn stall_message(
    conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition],
) -> String {
    find_condition(conditions, "Stalled")
        .map(|c| c.message.clone())
        .unwrap_or_default()
}

/// Creation times have a resolution of one second, and equal times are decided by UID: a
/// scenario that needs a clear elder waits for the next second before the younger claim.
async fn next_second() {
    tokio::time::sleep(Duration::from_millis(1100)).await;
}

#[tokio::test]
async fn two_channels_on_one_number_have_one_owner_and_the_next_takes_over() {
    let mut w = World::with_quiet_account("claims-number", WAIT).await;
    w.apply(&adopted("first", "+1 555-078-3881", "Orphan"))
        .await;
    w.start_operator(&[]);
    w.wait_channel("first", "connected", connected).await;
    next_second().await;
    // The duplicate spells the number differently: claims compare E.164 digits.
    w.apply(&adopted("second", "+15550783881", "Orphan")).await;
    let s = w
        .wait_channel(
            "second",
            "stalled on the claim",
            stalled_with("NumberClaimedElsewhere"),
        )
        .await;
    let owner = format!("{}/first", w.ns);
    assert!(stall_message(&s.conditions).contains(&owner), "{s:?}");
    assert_eq!(s.phone_number_id, None, "a claim that lost mirrors nothing");
    w.expect_events("second", "NumberClaimedElsewhere", 1).await;
    assert!(
        condition_is_true(
            &w.channel("first").await.status.unwrap().conditions,
            "Ready"
        ),
        "the owner is untouched"
    );
    assert_eq!(w.sim.writes().await, Vec::new());

    // The owner goes (Orphan): the duplicate takes over from Meta's truth, with no write.
    w.delete_channel("first").await;
    w.wait_channel_gone("first").await;
    let s = w.wait_channel("second", "connected", connected).await;
    assert_eq!(s.phone_number_id.as_deref(), Some(US_ID));
    assert_eq!(w.sim.writes().await, Vec::new());
    w.expect_events("second", "NumberClaimedElsewhere", 1).await;
}

/// "Renaming" a channel by creating the new one and deleting the old one keeps the number,
/// whatever the old one's deletion policy says.
#[tokio::test]
async fn a_rename_by_recreate_never_deregisters_the_number() {
    let mut w = World::with_quiet_account("claims-rename", WAIT).await;
    w.apply(&adopted("old-name", "+1 555-078-3881", "Deregister"))
        .await;
    w.start_operator(&[]);
    w.wait_channel("old-name", "connected", connected).await;
    next_second().await;
    w.apply(&adopted("new-name", "+1 555-078-3881", "Deregister"))
        .await;
    w.wait_channel(
        "new-name",
        "stalled on the claim",
        stalled_with("NumberClaimedElsewhere"),
    )
    .await;

    w.delete_channel("old-name").await;
    w.wait_channel_gone("old-name").await;
    w.expect_events("old-name", "DeregistrationSkipped", 1)
        .await;
    let note = w
        .events()
        .await
        .into_iter()
        .find(|e| e.reason == "DeregistrationSkipped")
        .map(|e| e.note)
        .unwrap_or_default();
    assert!(note.contains(&format!("{}/new-name", w.ns)), "{note}");
    assert_eq!(w.sim.posts("/deregister").await, 0);
    let s = w.wait_channel("new-name", "connected", connected).await;
    assert_eq!(s.phone_number_id.as_deref(), Some(US_ID));
    assert_eq!(w.sim.number(US_ID).await.status, "CONNECTED");

    // The last claim does deregister when it goes with that policy.
    w.delete_channel("new-name").await;
    w.wait_channel_gone("new-name").await;
    assert_eq!(w.sim.posts(&format!("/{US_ID}/deregister")).await, 1);
}

/// A second namespace naming the same WABA id (with a token that reaches it) is stalled: no
/// Graph call with its token, nothing for its channels, and the owner syncs as before.
#[tokio::test]
async fn a_second_account_on_a_waba_id_stalls_and_makes_no_call() {
    let mut w = World::with_quiet_account("claims-waba", WAIT).await;
    let other = harness::fresh_namespace(&w.client, "claims-waba-b").await;
    let squatter = format!(
        r#"apiVersion: v1
kind: Secret
metadata:
  name: squatter-token
stringData:
  token: sim-short-lived-token
---
apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppBusinessAccount
metadata:
  name: acme
spec:
  businessAccountId: "{WABA}"
  credentialsSecretRef:
    name: squatter-token
    key: token
  syncInterval: 1m
---
{}"#,
        adopted("grab", "+1 555-078-3881", "Deregister")
    );
    w.apply(&adopted("sales", "+1 555-078-3881", "Orphan"))
        .await;
    w.start_operator(&["--namespaces", &other]);
    w.wait_channel("sales", "connected", connected).await;
    next_second().await;
    harness::apply_yaml(&w.client, &other, &squatter)
        .await
        .unwrap();

    let accounts: Api<WhatsAppBusinessAccount> = Api::namespaced(w.client.clone(), &other);
    let stalled = harness::operator::eventually("the squatter stalls", WAIT, || async {
        let s: WhatsAppBusinessAccountStatus = accounts.get("acme").await.ok()?.status?;
        find_condition(&s.conditions, "Stalled")
            .is_some_and(|c| c.status == "True" && c.reason == "WabaClaimedElsewhere")
            .then_some(s)
    })
    .await;
    assert!(
        stall_message(&stalled.conditions).contains(&format!("{}/acme", w.ns)),
        "{stalled:?}"
    );
    let channels: Api<whatsapp_operator::crd::WhatsAppChannel> =
        Api::namespaced(w.client.clone(), &other);
    harness::operator::eventually("the squatter's channel waits", WAIT, || async {
        let s = channels.get("grab").await.ok()?.status?;
        let synced = find_condition(&s.conditions, "Synced")?;
        (synced.reason == "AccountNotSynced" && s.phone_number_id.is_none()).then_some(())
    })
    .await;
    assert_eq!(
        event_count(&w.client, &other, "acme", "WabaClaimedElsewhere").await,
        1
    );
    assert_eq!(
        w.sim.requests_with_token("sim-short-lived-token").await,
        Vec::<(String, String)>::new(),
        "the second account called Graph"
    );
    assert_eq!(w.sim.writes().await, Vec::new());

    // Deleting the squatter's channel (policy Deregister) deregisters nothing.
    channels.delete("grab", &Default::default()).await.unwrap();
    harness::operator::eventually("grab gone", WAIT, || async {
        channels.get_opt("grab").await.ok()?.is_none().then_some(())
    })
    .await;
    assert_eq!(w.sim.posts("/deregister").await, 0);
    let v: Value = serde_json::to_value(w.account("acme").await.status).unwrap();
    assert!(
        !v.to_string().contains("ClaimedElsewhere"),
        "the owner is not affected: {v}"
    );
}
