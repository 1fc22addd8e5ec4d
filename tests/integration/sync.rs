//! The sync controllers end to end: the operator binary against a real kube-apiserver and the
//! Meta simulator over HTTP. Each step drives Meta's state, forces a sync and checks status,
//! conditions and exactly the expected events, counted in the apiserver.

use std::time::Duration;

use harness::World;
use harness::operator::eventually;
use harness::sim::Fault;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::{Value, json};
use whatsapp_operator::crd::{condition_is_true, find_condition};

const WABA: &str = "102290129340398";
const SUPPORT_ID: &str = "106540352242922";
const BRASIL_ID: &str = "106540352242924";
const SHOP_ID: &str = "106540352242923";
const CHANNELS: [&str; 3] = ["acme-support", "acme-brasil", "acme-shop-app"];
const WAIT: Duration = Duration::from_secs(120);

/// The account of the examples syncing every `sync_interval`, its adopted and observe-only
/// channels; no operator yet.
async fn world(prefix: &str, sync_interval: &str) -> World {
    let w = World::new(prefix).await.with_timeout(WAIT);
    let interval = format!("syncInterval: {sync_interval}");
    w.apply_example_with("account.yaml", &[("syncInterval: 10m", &interval)])
        .await;
    w.apply_example("channel-adopt.yaml").await;
    w.apply_example("channel-observe-only.yaml").await;
    w
}

async fn all_ready(w: &World) {
    for name in CHANNELS {
        w.wait_channel(name, &format!("{name} Ready"), |s| {
            condition_is_true(&s.conditions, "Ready")
        })
        .await;
    }
}

/// Drives Meta through the catalogue's transitions; a restart in the middle neither repeats
/// nor loses events.
#[tokio::test]
async fn meta_changes_reach_status_conditions_and_events() {
    let mut w = world("sync", "10m").await;
    w.start_operator(&[]);

    all_ready(&w).await;
    let ch = w.channel("acme-support").await;
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
    let acc = w.account("acme").await.status.unwrap();
    assert_eq!(acc.name.as_deref(), Some("Acme"));
    assert_eq!(acc.phone_number_count, Some(4));
    assert!(condition_is_true(&acc.conditions, "Ready"));
    // The spec's business profile was applied at Meta; fields left out of the spec were not touched.
    let number = w.sim.number(SUPPORT_ID).await;
    let profile = Value::Object(number.business_profile.clone());
    assert_eq!(
        profile["about"], "Support for Acme customers, 24/7.",
        "{number:?}"
    );
    assert_eq!(profile["email"], "support@acme.example");
    assert_eq!(
        profile["websites"],
        json!(["https://acme.example", "https://acme.example/help"])
    );
    w.expect_events("acme-support", "BusinessProfileUpdated", 1)
        .await;
    // A healthy start publishes no warnings (applying the spec's business profile is Normal).
    let warnings: Vec<_> = w
        .events()
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

    // Quality GREEN -> YELLOW -> RED -> GREEN.
    w.sim.set_quality_rating(SUPPORT_ID, "YELLOW").await;
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "YELLOW", |s| {
        s.quality_rating.as_deref() == Some("YELLOW")
    })
    .await;
    w.expect_events("acme-support", "QualityDegraded", 1).await;

    w.sim.set_quality_rating(SUPPORT_ID, "RED").await;
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "RED", |s| {
        s.quality_rating.as_deref() == Some("RED")
    })
    .await;
    w.expect_events("acme-support", "QualityDegraded", 2).await;

    // Restart in the middle: a crash, then a new process with an empty memory.
    w.operator_mut().kill();
    w.sim.set_quality_rating(SUPPORT_ID, "GREEN").await;
    w.operator_mut().restart();
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "GREEN", |s| {
        s.quality_rating.as_deref() == Some("GREEN")
    })
    .await;
    w.expect_events("acme-support", "QualityRecovered", 1).await;
    w.expect_events("acme-support", "QualityDegraded", 2).await;

    // Status CONNECTED -> FLAGGED -> CONNECTED -> RESTRICTED -> BANNED.
    for (meta_status, reason) in [
        ("FLAGGED", "NumberFlagged"),
        ("CONNECTED", "NumberUnflagged"),
        ("RESTRICTED", "NumberRestricted"),
        ("BANNED", "NumberBanned"),
    ] {
        w.sim.set_number_status(BRASIL_ID, meta_status).await;
        w.force_sync("acme", &next()).await;
        w.wait_channel("acme-brasil", meta_status, |s| {
            s.status.as_deref() == Some(meta_status)
        })
        .await;
        w.expect_events("acme-brasil", reason, 1).await;
    }
    let brasil = w.channel("acme-brasil").await.status.unwrap();
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
            w.sim.set_number_messaging_limit(id, limit).await;
        }
        w.sim.set_waba_messaging_limit(WABA, limit).await;
        w.force_sync("acme", &next()).await;
        for name in CHANNELS {
            w.wait_channel(name, limit, |s| s.messaging_limit.as_deref() == Some(limit))
                .await;
            w.expect_events(name, reason, 1).await;
        }
    }

    // WABA blocked by a payment problem, then available again: the account and every channel say so.
    w.sim
        .update_waba(
            WABA,
            json!({"can_send_message": "BLOCKED", "errors": [{"error_code": 141006, "error_description": "There is an error with the payment method. This will block business initiated conversations.", "possible_solution": "There was an error with your payment method. Please add a new payment method to the account."}]}),
        )
        .await;
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "BLOCKED", |s| {
        s.health
            .as_ref()
            .and_then(|h| h.can_send_message.as_deref())
            == Some("BLOCKED")
    })
    .await;
    w.expect_events("acme", "WabaBlocked", 1).await;
    for name in ["acme-support", "acme-shop-app"] {
        w.expect_events(name, "MessagingBlocked", 1).await;
        let ch = w.channel(name).await.status.unwrap();
        assert!(
            !condition_is_true(&ch.conditions, "Ready"),
            "{name} must not be Ready while its WABA is blocked"
        );
    }
    let acc = w.account("acme").await.status.unwrap();
    assert!(!condition_is_true(&acc.conditions, "Ready"));
    let waba_entity = acc
        .health
        .unwrap()
        .entities
        .into_iter()
        .find(|e| e.entity_type == "WABA")
        .unwrap();
    assert_eq!(waba_entity.errors[0].code, Some(141006));
    let note = w
        .events()
        .await
        .into_iter()
        .find(|e| e.name == "acme-support" && e.reason == "MessagingBlocked")
        .unwrap()
        .note;
    assert!(note.contains("141006"), "the note names the cause: {note}");

    w.sim
        .update_waba(WABA, json!({"can_send_message": "AVAILABLE", "errors": []}))
        .await;
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "AVAILABLE", |s| {
        s.health
            .as_ref()
            .and_then(|h| h.can_send_message.as_deref())
            == Some("AVAILABLE")
    })
    .await;
    w.expect_events("acme", "WabaAvailable", 1).await;
    w.expect_events("acme-support", "MessagingAvailable", 1)
        .await;

    // Business portfolio limited.
    w.sim
        .update_business(
            "506914307656634",
            json!({"can_send_message": "LIMITED", "additional_info": ["Business verification required"]}),
        )
        .await;
    w.force_sync("acme", &next()).await;
    w.wait_channel("acme-support", "LIMITED", |s| {
        s.health
            .as_ref()
            .and_then(|h| h.can_send_message.as_deref())
            == Some("LIMITED")
    })
    .await;
    w.expect_events("acme", "BusinessLimited", 1).await;
    w.expect_events("acme-support", "MessagingLimited", 1).await;

    // Account review rejected.
    w.sim
        .update_waba(WABA, json!({"account_review_status": "REJECTED"}))
        .await;
    w.force_sync("acme", &next()).await;
    w.wait_account("acme", "review REJECTED in status", |s| {
        s.account_review_status.as_deref() == Some("REJECTED")
    })
    .await;
    w.expect_events("acme", "AccountReviewRejected", 1).await;

    // Metrics carry the latest values; deleting a channel removes its series.
    let ns = &w.ns;
    let text = w.operator().metrics().await;
    assert!(
        text.contains(r#"whatsapp_operator_channel_quality{namespace=""#),
        "{text}"
    );
    for series in [
        format!(
            r#"whatsapp_operator_channel_status{{namespace="{ns}",name="acme-brasil",status="BANNED"}} 1"#
        ),
        format!(
            r#"whatsapp_operator_channel_messaging_limit_tier{{namespace="{ns}",name="acme-support",tier="TIER_250"}} 1"#
        ),
        format!(
            r#"whatsapp_operator_channel_health{{namespace="{ns}",name="acme-support",can_send_message="LIMITED"}} 1"#
        ),
        format!(
            r#"whatsapp_operator_channel_info{{namespace="{ns}",name="acme-support",account="acme",phone_number_id="{SUPPORT_ID}","#
        ),
        format!(
            r#"whatsapp_operator_account_info{{namespace="{ns}",name="acme",waba_id="{WABA}"}} 1"#
        ),
        format!(
            r#"whatsapp_operator_account_review_status{{namespace="{ns}",name="acme",status="REJECTED"}} 1"#
        ),
        format!(
            r#"whatsapp_operator_account_last_successful_sync_timestamp_seconds{{namespace="{ns}",name="acme"}} "#
        ),
        format!(
            r#"whatsapp_operator_channel_condition{{namespace="{ns}",name="acme-support",condition="Ready","#
        ),
        "whatsapp_operator_build_info{version=".to_string(),
    ] {
        assert!(text.contains(&series), "{series} missing in:\n{text}");
    }
    every_alerted_metric_is_exported(&text);
    every_dashboard_metric_is_exported(&text);
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
    w.delete_channel("acme-shop-app").await;
    eventually("the deleted channel's series to go", WAIT, || async {
        let text = w.operator().metrics().await;
        (!text.contains("name=\"acme-shop-app\"")).then_some(())
    })
    .await;
    assert!(
        w.operator_mut().terminate(),
        "SIGTERM ends the operator cleanly:\n{}",
        w.operator().log_text()
    );
}

/// Resource versions of the account and every channel.
async fn versions(w: &World) -> Vec<Option<String>> {
    let mut v = vec![w.account("acme").await.metadata.resource_version];
    for name in CHANNELS {
        v.push(w.channel(name).await.metadata.resource_version);
    }
    v
}

/// After convergence nothing is written and Meta is read once per account per interval.
#[tokio::test]
async fn steady_state_costs_one_read_per_interval_and_no_writes() {
    let mut w = world("steady", "1m").await;
    w.start_operator(&[]);
    all_ready(&w).await;
    // Let the first sync's follow-up reconciles settle.
    tokio::time::sleep(Duration::from_secs(5)).await;

    let before = versions(&w).await;
    let events_before = w.total_events().await;
    let reads_before = w.sim.reads_of(WABA).await;
    let requests_before = w.sim.graph_requests().await;

    // Two and a half intervals: two syncs.
    tokio::time::sleep(Duration::from_secs(150)).await;

    assert_eq!(
        versions(&w).await,
        before,
        "no status writes at steady state"
    );
    assert_eq!(
        w.total_events().await,
        events_before,
        "no events at steady state"
    );
    let reads = w.sim.reads_of(WABA).await - reads_before;
    assert_eq!(reads, 2, "one Graph read per account per interval");
    assert_eq!(
        w.sim.graph_requests().await - requests_before,
        2,
        "no other Graph request"
    );
}

/// Waits until the account is Stalled for `reason` with `fragment` in the message.
async fn stalled(w: &World, reason: &str, fragment: &str) -> Condition {
    eventually(&format!("Stalled {reason}"), WAIT, || async {
        let a = w.account("acme").await;
        let c = a
            .status
            .as_ref()
            .and_then(|s| find_condition(&s.conditions, "Stalled").cloned())?;
        (c.status == "True" && c.reason == reason && c.message.contains(fragment)).then_some(c)
    })
    .await
}

/// Credentials: an expired token stalls the account without further calls until its Secret
/// changes; a missing Secret names what is missing; both recover without a restart.
#[tokio::test]
async fn credential_problems_stall_and_recover() {
    let mut w = World::new("creds").await.with_timeout(WAIT);
    let account_yaml = harness::example("account.yaml");
    // The account first, without its Secret.
    let only_account = account_yaml.split("---").nth(1).unwrap();
    w.apply(only_account).await;
    w.start_operator(&[]);

    let c = stalled(&w, "MissingCredentials", "acme-graph-token").await;
    assert!(c.message.contains("not found"), "{}", c.message);

    // The Secret appears with a token Meta considers expired.
    w.sim.expire_token("sim-short-lived-token").await;
    let secret = account_yaml
        .split("---")
        .next()
        .unwrap()
        .replace("sim-system-user-token", "sim-short-lived-token");
    w.apply(&secret).await;
    stalled(&w, "CredentialsInvalid", "").await;
    w.expect_events("acme", "CredentialsInvalid", 1).await;

    // While the Secret stays the same, Meta is asked again only when a person asks (or after
    // about an hour): one call for the request, then none.
    let before = w.sim.graph_requests().await;
    w.force_sync("acme", "again").await;
    assert_eq!(
        w.sim.graph_requests().await,
        before + 1,
        "one probe when asked"
    );
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(
        w.sim.graph_requests().await,
        before + 1,
        "no more calls until the Secret changes or the hour has passed"
    );
    stalled(&w, "CredentialsInvalid", "").await;
    w.expect_events("acme", "CredentialsInvalid", 1).await;

    // Fixing the Secret recovers without a restart.
    let fixed = account_yaml.split("---").next().unwrap();
    w.apply(fixed).await;
    eventually(
        "the account to recover",
        Duration::from_secs(90),
        || async {
            let a = w.account("acme").await;
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
    w.expect_events("acme", "CredentialsRestored", 1).await;
}

/// Bursts of 5xx, throttling with Meta's usage header and malformed bodies: the operator
/// recovers by itself and never exceeds its Graph budget.
#[tokio::test]
async fn transient_failures_and_throttling_recover_within_budget() {
    let mut w = world("faults", "10m").await;
    w.start_operator(&["--graph-hourly-budget", "30"]);
    all_ready(&w).await;

    // A burst of 503s longer than the client's retries: the sync fails, Synced goes False, and
    // the operator comes back on its own once Meta answers again.
    w.sim
        .add_fault(
            Fault::any()
                .count(3)
                .http_status(503)
                .error(2, "Service temporarily unavailable"),
        )
        .await;
    w.force_sync("acme", "burst").await;
    w.wait_account("acme", "Synced False after the burst", |s| {
        find_condition(&s.conditions, "Synced")
            .is_some_and(|synced| synced.status == "False" && s.sync.failed_sync_attempts >= 1)
    })
    .await;
    eventually(
        "recovery from the burst",
        Duration::from_secs(90),
        || async {
            let s = w.account("acme").await.status?;
            (condition_is_true(&s.conditions, "Synced") && s.sync.failed_sync_attempts == 0)
                .then_some(())
        },
    )
    .await;

    // A malformed body is a transient failure too.
    w.sim
        .add_fault(Fault::any().count(3).malformed_body())
        .await;
    w.force_sync("acme", "malformed").await;
    eventually(
        "recovery from malformed bodies",
        Duration::from_secs(90),
        || async {
            let s = w.account("acme").await.status?;
            (condition_is_true(&s.conditions, "Synced") && s.sync.last_failure_time.is_some())
                .then_some(())
        },
    )
    .await;

    // Meta throttles: the operator waits for Meta's estimate instead of hammering.
    w.sim
        .add_fault(Fault::any().count(1).http_status(400).error(
            80007,
            "(#80007) There have been too many calls to this WhatsApp Business account.",
        ))
        .await;
    w.force_sync("acme", "throttled").await;
    w.wait_account("acme", "a throttled sync to be recorded", |s| {
        s.sync.next_attempt_time.is_some()
    })
    .await;

    // Whatever happened, the operator never sent more than its budget in the hour.
    let total = w.sim.graph_requests().await;
    assert!(
        total <= 30,
        "{total} Graph requests exceed the budget of 30"
    );
}

/// Every metric name the chart's alerts use is exported by a running operator (as a sample or
/// at least as a described family), so a renamed metric cannot silently blind an alert.
fn every_alerted_metric_is_exported(text: &str) {
    let alerts_path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/whatsapp-operator/templates/_alerts.tpl"
    );
    let alerts = std::fs::read_to_string(alerts_path).expect("the chart's alerts");
    let used = metric_names(&alerts);
    assert!(used.len() >= 10, "names found in the alerts: {used:?}");
    all_exported("the alerts", &used, text);
}

/// Every metric name in the queries of the chart's Grafana dashboard is exported by a running
/// operator, so a renamed metric cannot silently empty a panel. The dashboard must parse.
fn every_dashboard_metric_is_exported(text: &str) {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/charts/whatsapp-operator/files/dashboard.json"
    );
    let json = std::fs::read_to_string(path).expect("the chart's dashboard");
    let dashboard: serde_json::Value =
        serde_json::from_str(&json).expect("files/dashboard.json parses");
    fn exprs(v: &serde_json::Value, out: &mut Vec<String>) {
        match v {
            serde_json::Value::Object(m) => {
                for (k, v) in m {
                    match v.as_str() {
                        Some(e) if k == "expr" => out.push(e.to_string()),
                        _ => exprs(v, out),
                    }
                }
            }
            serde_json::Value::Array(a) => a.iter().for_each(|v| exprs(v, out)),
            _ => {}
        }
    }
    let mut queries = Vec::new();
    exprs(&dashboard["panels"], &mut queries);
    assert!(
        queries.len() >= 15,
        "queries found in the dashboard: {queries:?}"
    );
    let queries = queries.join("\n");
    let used = metric_names(&queries);
    assert!(used.len() >= 12, "names found in the dashboard: {used:?}");
    all_exported("the dashboard", &used, text);
}

/// The distinct `whatsapp_operator_*` names in `source`.
fn metric_names(source: &str) -> Vec<&str> {
    let mut used: Vec<&str> = source
        .match_indices("whatsapp_operator_")
        .map(|(at, _)| {
            let rest = &source[at..];
            let end = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .unwrap_or(rest.len());
            &rest[..end]
        })
        .collect();
    used.sort_unstable();
    used.dedup();
    used
}

/// Fails unless each of `used` is a sample or a described family of the exposition `text`
/// (a counter's `_total`, a histogram's `_bucket`, `_sum` and `_count` included).
fn all_exported(what: &str, used: &[&str], text: &str) {
    let mut exported = std::collections::HashSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            if let (Some(name), Some(kind)) = (parts.next(), parts.next()) {
                exported.insert(name.to_string());
                match kind {
                    "counter" => {
                        exported.insert(format!("{name}_total"));
                    }
                    "histogram" => {
                        for suffix in ["_bucket", "_sum", "_count"] {
                            exported.insert(format!("{name}{suffix}"));
                        }
                    }
                    _ => {}
                }
            }
        } else if !line.starts_with('#') {
            let end = line.find(['{', ' ']).unwrap_or(line.len());
            exported.insert(line[..end].to_string());
        }
    }
    // Families with a label per occurrence appear with their first sample; this test sends no
    // webhook (tests/integration/webhooks.rs checks that family).
    let after_first_event = ["whatsapp_operator_webhook_deliveries_total"];
    let missing: Vec<&&str> = used
        .iter()
        .filter(|n| !exported.contains(**n) && !after_first_event.contains(*n))
        .collect();
    assert!(
        missing.is_empty(),
        "{what} use metrics the operator does not export: {missing:?}\n{text}"
    );
}

/// One number of an unexpected shape in a WABA of several: its own channel says its record could
/// not be read (no write, no guess), the others and the account keep syncing, and it recovers
/// when Meta's answer is whole again.
#[tokio::test]
async fn one_malformed_number_is_reported_on_its_channel_and_the_rest_sync() {
    let mut w = world("sync-malformed", "10m").await;
    w.start_operator(&[]);
    all_ready(&w).await;
    w.sim
        .serve_number_as(BRASIL_ID, json!({"is_on_biz_app": "yes"}))
        .await;
    w.force_sync("acme", "malformed").await;
    let s = w
        .wait_channel("acme-brasil", "its record unreadable", |s| {
            find_condition(&s.conditions, "Synced")
                .is_some_and(|c| c.status == "False" && c.message.contains("could not be read"))
        })
        .await;
    assert_eq!(s.phone_number_id.as_deref(), Some(BRASIL_ID));
    for name in ["acme-support", "acme-shop-app"] {
        let s = w.channel(name).await.status.unwrap();
        assert!(condition_is_true(&s.conditions, "Synced"), "{name}: {s:?}");
        assert!(condition_is_true(&s.conditions, "Ready"), "{name}: {s:?}");
    }
    let account = w.account("acme").await.status.unwrap();
    assert!(condition_is_true(&account.conditions, "Synced"));
    let writes = w.sim.writes().await;
    assert!(
        !writes.iter().any(|c| c.path.contains(BRASIL_ID)),
        "{writes:?}"
    );

    w.sim.serve_number_as(BRASIL_ID, json!({})).await;
    w.force_sync("acme", "whole").await;
    w.wait_channel("acme-brasil", "Synced again", |s| {
        condition_is_true(&s.conditions, "Synced") && condition_is_true(&s.conditions, "Ready")
    })
    .await;
}

/// A CONNECTED number whose Graph read lacks `platform_type` may well be registered: a Managed
/// channel with a PIN makes no register call and says Registered=Unknown, with why.
#[tokio::test]
async fn a_connected_number_without_platform_type_gets_no_register_call() {
    let mut w = world("sync-no-platform", "10m").await;
    w.sim
        .serve_number_as(SUPPORT_ID, json!({"platform_type": null}))
        .await;
    w.start_operator(&[]);
    let s = w
        .wait_channel("acme-support", "Registered Unknown", |s| {
            find_condition(&s.conditions, "Registered").is_some_and(|c| {
                c.status == "Unknown" && c.message.contains("platform_type absent")
            })
        })
        .await;
    assert_eq!(s.status.as_deref(), Some("CONNECTED"));
    w.force_sync("acme", "again").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.sim.posts(&format!("/{SUPPORT_ID}/register")).await, 0);
    assert_eq!(w.sim.posts(&format!("/{SUPPORT_ID}/request_code")).await, 0);
}

async fn set_paused<K>(api: &kube::Api<K>, name: &str, paused: bool)
where
    K: Clone + serde::de::DeserializeOwned + std::fmt::Debug,
{
    let value = if paused { json!("true") } else { Value::Null };
    let patch = json!({"metadata": {"annotations": {"whatsapp-operator.io/paused": value}}});
    api.patch(
        name,
        &kube::api::PatchParams::default(),
        &kube::api::Patch::Merge(&patch),
    )
    .await
    .unwrap_or_else(|e| panic!("annotate {name}: {e}"));
}

fn synced_reason(conditions: &[Condition]) -> String {
    find_condition(conditions, "Synced")
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

/// The paused annotation stops every call to Meta for the account (no read, whatever asks for
/// one), says so in Synced with one event, and removing it resumes with one event and Meta's
/// current state; a paused channel holds its status while Meta changes.
#[tokio::test]
async fn pause_stops_every_call_to_meta_and_resume_catches_up() {
    let mut w = world("sync-pause", "1m").await;
    w.start_operator(&[]);
    all_ready(&w).await;

    set_paused(&w.channels(), "acme-support", true).await;
    w.wait_channel("acme-support", "channel paused", |s| {
        synced_reason(&s.conditions) == "Paused"
    })
    .await;
    set_paused(&w.accounts(), "acme", true).await;
    w.wait_account("acme", "account paused", |s| {
        synced_reason(&s.conditions) == "Paused"
    })
    .await;
    let before = w.sim.requests().await.len();
    w.sim.set_quality_rating(SUPPORT_ID, "RED").await;
    w.request_account_reconcile("acme", "while-paused").await;
    w.request_channel_reconcile("acme-support", "while-paused")
        .await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let during = w.sim.requests().await;
    assert_eq!(during.len(), before, "{:?}", &during[before..]);
    let s = w.channel("acme-support").await.status.unwrap();
    assert_eq!(
        s.quality_rating.as_deref(),
        Some("GREEN"),
        "held while paused"
    );
    assert_eq!(w.event_count("acme", "Paused").await, 1);
    assert_eq!(w.event_count("acme-support", "Paused").await, 1);

    set_paused(&w.accounts(), "acme", false).await;
    set_paused(&w.channels(), "acme-support", false).await;
    w.wait_channel("acme-support", "resumed with Meta's state", |s| {
        synced_reason(&s.conditions) == "SyncSucceeded"
            && s.quality_rating.as_deref() == Some("RED")
    })
    .await;
    let a = w.account("acme").await.status.unwrap();
    assert!(condition_is_true(&a.conditions, "Synced"), "{a:?}");
    assert_eq!(w.event_count("acme", "Resumed").await, 1);
    assert_eq!(w.event_count("acme-support", "Resumed").await, 1);
    assert_eq!(w.event_count("acme-support", "Paused").await, 1);
}

/// An operator pinned to a Graph API version Meta has retired says so: a log line at start, the
/// retirement time as a metric, and `GraphApiVersion=False` on every account, while it keeps
/// syncing.
#[tokio::test]
async fn a_retired_graph_version_warns_on_accounts_in_metrics_and_at_start() {
    let mut w = world("sync-version", "10m").await;
    w.start_operator(&["--graph-version", "v20.0"]);
    all_ready(&w).await;
    let a = w
        .wait_account("acme", "the version warning", |s| {
            find_condition(&s.conditions, "GraphApiVersion")
                .is_some_and(|c| c.status == "False" && c.reason == "Retired")
        })
        .await;
    let c = find_condition(&a.conditions, "GraphApiVersion").unwrap();
    assert!(
        c.message.contains("retired by Meta on 2026-09-24"),
        "{}",
        c.message
    );
    assert!(condition_is_true(&a.conditions, "Synced"));
    let text = w.operator().metrics().await;
    assert!(
        text.contains(
            r#"whatsapp_operator_graph_api_version_retirement_timestamp_seconds{version="v20.0"} 1790208000"#
        ),
        "{text}"
    );
    assert!(
        w.operator()
            .log_text()
            .contains("was retired by Meta on 2026-09-24")
    );
}

/// One stored version of the account or a channel, as a watch saw it.
#[derive(Clone, Debug)]
struct Version {
    name: String,
    resource_version: String,
    conditions: Vec<Condition>,
    last_sync_time: Option<String>,
}

/// Every version of the namespace's accounts and channels the apiserver stores from now on,
/// in order: a watch sees each write, however briefly a value lasted.
struct Versions {
    seen: std::sync::Arc<std::sync::Mutex<Vec<Version>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Versions {
    fn watch(w: &World) -> Self {
        use whatsapp_operator::crd::{WhatsAppBusinessAccount, WhatsAppChannel};
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let accounts = Self::spawn(w.accounts(), seen.clone(), |a: &WhatsAppBusinessAccount| {
            let s = a.status.clone().unwrap_or_default();
            (s.conditions, s.sync.last_sync_time)
        });
        let channels = Self::spawn(w.channels(), seen.clone(), |c: &WhatsAppChannel| {
            let s = c.status.clone().unwrap_or_default();
            (s.conditions, s.sync.last_sync_time)
        });
        Self {
            seen,
            tasks: vec![accounts, channels],
        }
    }

    fn spawn<K>(
        api: kube::Api<K>,
        seen: std::sync::Arc<std::sync::Mutex<Vec<Version>>>,
        parts: fn(
            &K,
        ) -> (
            Vec<Condition>,
            Option<k8s_openapi::apimachinery::pkg::apis::meta::v1::Time>,
        ),
    ) -> tokio::task::JoinHandle<()>
    where
        K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    {
        use futures::StreamExt;
        use kube::runtime::watcher::{self, Event};
        tokio::spawn(async move {
            let mut stream = watcher::watcher(api, watcher::Config::default()).boxed();
            while let Some(event) = stream.next().await {
                let obj = match event {
                    Ok(Event::Apply(obj) | Event::InitApply(obj)) => obj,
                    _ => continue,
                };
                let (conditions, last_sync) = parts(&obj);
                let version = Version {
                    name: obj.meta().name.clone().unwrap_or_default(),
                    resource_version: obj.meta().resource_version.clone().unwrap_or_default(),
                    conditions,
                    last_sync_time: last_sync.map(|t| t.0.to_string()),
                };
                let mut seen = seen.lock().unwrap();
                // A relisting repeats the current version; it is not a write.
                let repeated = seen
                    .iter()
                    .rev()
                    .find(|v| v.name == version.name)
                    .is_some_and(|v| v.resource_version == version.resource_version);
                if !repeated {
                    seen.push(version);
                }
            }
        })
    }

    fn all(&self) -> Vec<Version> {
        self.seen.lock().unwrap().clone()
    }
}

impl Drop for Versions {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Condition changes between consecutive versions of one object whose lastTransitionTime moved
/// while the status stayed the same.
fn transitions_without_flip(versions: &[Version]) -> Vec<String> {
    let mut found = Vec::new();
    let mut last: std::collections::HashMap<&str, &Version> = std::collections::HashMap::new();
    for v in versions {
        if let Some(prev) = last.insert(&v.name, v) {
            for c in &v.conditions {
                let Some(before) = find_condition(&prev.conditions, &c.type_) else {
                    continue;
                };
                if before.last_transition_time != c.last_transition_time
                    && before.status == c.status
                {
                    found.push(format!(
                        "{} {}: {} stayed {} but moved from {:?} to {:?} ({} -> {})",
                        v.name,
                        c.type_,
                        c.reason,
                        c.status,
                        before.last_transition_time.0,
                        c.last_transition_time.0,
                        prev.resource_version,
                        v.resource_version
                    ));
                }
            }
        }
    }
    found
}

/// Versions whose `lastSyncTime` moved while their conditions stayed as they were: with Meta's
/// data unchanged, that is a write of the sync time alone, which the operator never makes.
fn sync_time_moved_alone(versions: &[Version]) -> Vec<String> {
    let mut found = Vec::new();
    let mut last: std::collections::HashMap<&str, &Version> = std::collections::HashMap::new();
    for v in versions {
        if let Some(prev) = last.insert(&v.name, v)
            && prev.last_sync_time != v.last_sync_time
            && prev.conditions == v.conditions
        {
            found.push(format!(
                "{}: lastSyncTime {:?} -> {:?} ({} -> {})",
                v.name,
                prev.last_sync_time,
                v.last_sync_time,
                prev.resource_version,
                v.resource_version
            ));
        }
    }
    found
}

/// After six HTTP 500s in a row (two failed syncs, each retried by the client), the operator
/// is back at steady state within one interval: one read per interval, no writes, and no
/// condition or `lastSyncTime` that moves without a change.
#[tokio::test]
async fn recovery_after_an_outage_is_back_at_steady_state_within_one_interval() {
    let mut w = world("recover", "1m").await;
    w.start_operator(&[]);
    all_ready(&w).await;
    tokio::time::sleep(Duration::from_secs(5)).await;
    let watched = Versions::watch(&w);

    w.sim
        .add_fault(
            Fault::on(format!("/{WABA}"))
                .method("GET")
                .count(6)
                .http_status(500)
                .error(2, "An unexpected error has occurred"),
        )
        .await;
    w.force_sync("acme", "outage").await;
    let failed = w.account("acme").await.status.unwrap();
    assert!(
        !condition_is_true(&failed.conditions, "Synced"),
        "the first sync of the outage fails: {:?}",
        failed.conditions
    );
    // The backoff (about 30 s, then about 60 s) brings the account back by itself.
    let recovered = eventually("recovery", Duration::from_secs(150), || async {
        let s = w.account("acme").await.status?;
        (condition_is_true(&s.conditions, "Synced") && s.sync.failed_sync_attempts == 0)
            .then_some(s)
    })
    .await;
    assert!(recovered.sync.last_failure_time.is_some(), "{recovered:?}");
    for name in CHANNELS {
        w.wait_channel(name, "Synced again", |s| {
            condition_is_true(&s.conditions, "Synced")
        })
        .await;
    }
    // The recovery's own writes (Synced flips back on the account and its channels).
    tokio::time::sleep(Duration::from_secs(5)).await;

    let at_recovery = watched.all().len();
    let written_before = versions(&w).await;
    let reads_before = w.sim.reads_of(WABA).await;
    let requests_before = w.sim.graph_requests().await;
    let account_before = w.account("acme").await.status.unwrap();

    // More than one interval, less than two: exactly one sync.
    tokio::time::sleep(Duration::from_secs(95)).await;

    let all = watched.all();
    // The watch saw the outage: every object went Synced=False and came back.
    for name in std::iter::once("acme").chain(CHANNELS) {
        let synced: Vec<_> = all
            .iter()
            .filter(|v| v.name == name)
            .filter_map(|v| find_condition(&v.conditions, "Synced").map(|c| c.status.as_str()))
            .collect();
        assert!(
            synced.contains(&"False") && synced.last() == Some(&"True"),
            "{name}: {synced:?}"
        );
    }
    let odd = transitions_without_flip(&all);
    assert!(
        odd.is_empty(),
        "lastTransitionTime moved without a flip: {odd:#?}"
    );
    let alone = sync_time_moved_alone(&all);
    assert!(alone.is_empty(), "lastSyncTime rewritten alone: {alone:#?}");
    let after_recovery: Vec<_> = all[at_recovery..]
        .iter()
        .map(|v| (&v.name, &v.resource_version))
        .collect();
    assert!(
        after_recovery.is_empty(),
        "no status writes once recovered: {after_recovery:?}"
    );
    assert_eq!(
        versions(&w).await,
        written_before,
        "no status writes once recovered"
    );
    let account_after = w.account("acme").await.status.unwrap();
    assert_eq!(
        account_after.sync.last_sync_time, account_before.sync.last_sync_time,
        "a read that changes nothing does not rewrite lastSyncTime"
    );
    assert_eq!(
        account_after, account_before,
        "the account's status stays as it was"
    );
    let log = w.sim.request_log().await;
    let refused = log.log.iter().filter(|r| r.status == Some(500)).count();
    assert_eq!(refused, 6, "the six 500s were all served: {:#?}", log.log);
    let reads = w.sim.reads_of(WABA).await - reads_before;
    assert_eq!(
        reads, 1,
        "one read per interval once recovered: {:#?}",
        log.log
    );
    assert_eq!(
        w.sim.graph_requests().await - requests_before,
        1,
        "no other Graph request once recovered"
    );
}
