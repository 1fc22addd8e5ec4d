//! Leader election: with two replicas only the Lease holder reconciles, and the other takes
//! over when it dies.

use std::time::Duration;

use harness::World;
use harness::operator::eventually;

fn is_leader(metrics: &str) -> bool {
    metrics.lines().any(|l| l == "whatsapp_operator_leader 1")
}

#[tokio::test]
async fn only_the_lease_holder_reconciles_and_a_standby_takes_over() {
    let w = World::new("leader").await;
    let lease = ["--leader-election", "--lease-namespace", &w.ns];

    let mut first = w.spawn_operator(&[&lease[..], &["--pod-name", "first"]].concat());
    eventually(
        "the first replica to lead",
        Duration::from_secs(60),
        || async { is_leader(&first.metrics().await).then_some(()) },
    )
    .await;
    let mut second = w.spawn_operator(&[&lease[..], &["--pod-name", "second"]].concat());
    // The standby is up (metrics answer) but does not lead.
    let standby = second.metrics().await;
    assert!(!is_leader(&standby), "two leaders:\n{standby}");

    w.apply_example("account.yaml").await;
    eventually(
        "the leader to sync the account",
        Duration::from_secs(60),
        || async {
            w.accounts()
                .get("acme")
                .await
                .ok()?
                .status?
                .name
                .map(|_| ())
        },
    )
    .await;
    let standby = second.metrics().await;
    assert!(
        !standby.contains("whatsapp_operator_reconciles_total{"),
        "the standby must not reconcile:\n{standby}"
    );

    // The leader dies without releasing the Lease; the standby takes over once it expires.
    first.kill();
    eventually(
        "the standby to take over",
        Duration::from_secs(90),
        || async { is_leader(&second.metrics().await).then_some(()) },
    )
    .await;
    eventually(
        "the new leader to reconcile",
        Duration::from_secs(60),
        || async {
            second
                .metrics()
                .await
                .contains(
                    r#"whatsapp_operator_reconciles_total{controller="account",result="success"}"#,
                )
                .then_some(())
        },
    )
    .await;
    assert!(second.terminate(), "clean shutdown:\n{}", second.log_text());
}
