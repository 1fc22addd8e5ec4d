//! Webhook latency against a real kube-apiserver: signed deliveries posted to the running
//! operator binary, timing the acknowledgement and the time until the channel's status shows the
//! delivered fact. Budgets (DESIGN.md §6): acknowledgement median under 10 ms, webhook to status
//! visible p99 under 500 ms.
//!
//! `cargo bench --bench webhook_latency` (WAO_BENCH_DELIVERIES sets the number of deliveries,
//! default 200). The control plane is started by hack/control-plane.sh, as for the tests.

use std::time::{Duration, Instant};

use futures::StreamExt;
use harness::operator::{Operator, eventually, free_port};
use harness::sim::Sim;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::PostParams;
use kube::runtime::{WatchStreamExt, watcher};
use meta_sim as sim;
use serde_json::json;
use whatsapp_operator::crd::{WhatsAppChannel, condition_is_true};

const PATH: &str = "/webhooks/meta";
const APP_SECRET: &str = "sim-app-secret-change-me";
const WABA: &str = "102290129340398";
const DIGITS: &str = "15550783881";

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
    sorted[rank - 1]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let deliveries: usize = std::env::var("WAO_BENCH_DELIVERIES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    runtime.block_on(bench(deliveries));
}

async fn bench(deliveries: usize) {
    let client = harness::control_plane().client();
    harness::install_crds(&client).await;
    let ns = harness::fresh_namespace(&client, "bench-webhook").await;
    let root = harness::repo_root();
    for file in ["examples/account.yaml", "examples/channel-adopt.yaml"] {
        let yaml = std::fs::read_to_string(root.join(file)).expect("example");
        harness::apply_yaml(&client, &ns, &yaml)
            .await
            .expect("apply YAML");
    }
    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "whatsapp-operator-webhook"},
        "stringData": {"app-secret": APP_SECRET, "verify-token": "sim-verify-token"}
    }))
    .expect("Secret");
    Api::<Secret>::namespaced(client.clone(), &ns)
        .create(&PostParams::default(), &secret)
        .await
        .expect("create the webhook Secret");

    let port = free_port();
    let sim = Sim::delivering_to(&format!("http://127.0.0.1:{port}{PATH}"));
    let addr = format!("127.0.0.1:{port}");
    let _op = Operator::start(
        &ns,
        &sim.base_url(),
        &[
            "--webhook-addr",
            &addr,
            "--webhook-path",
            PATH,
            "--webhook-secret-namespace",
            &ns,
        ],
    );
    let channels: Api<WhatsAppChannel> = Api::namespaced(client.clone(), &ns);
    eventually("acme-support Ready", Duration::from_secs(120), || async {
        let ch = channels.get("acme-support").await.ok()?;
        ch.status
            .as_ref()
            .is_some_and(|s| condition_is_true(&s.conditions, "Ready"))
            .then_some(())
    })
    .await;

    let url = format!("http://{addr}{PATH}");
    let http = reqwest::Client::new();
    // Wait for the receiver to have its secrets.
    eventually("the receiver", Duration::from_secs(60), || async {
        let r = http
            .get(format!(
                "{url}?hub.mode=subscribe&hub.verify_token=sim-verify-token&hub.challenge=1"
            ))
            .send()
            .await
            .ok()?;
        r.status().is_success().then_some(())
    })
    .await;

    let config = watcher::Config::default().fields("metadata.name=acme-support");
    let mut stream = watcher(channels.clone(), config).applied_objects().boxed();
    let status_of = |ch: &WhatsAppChannel| ch.status.as_ref().and_then(|s| s.status.clone());
    // The watch starts with the current object.
    let first = stream.next().await.expect("watch").expect("watch event");
    let mut current = status_of(&first);

    let mut acks = Vec::with_capacity(deliveries);
    let mut visible = Vec::with_capacity(deliveries);
    for i in 0..deliveries {
        let (event, expected) = if i % 2 == 0 {
            ("FLAGGED", "FLAGGED")
        } else {
            ("UNFLAGGED", "CONNECTED")
        };
        let body = json!({"object": "whatsapp_business_account", "entry": [{"id": WABA,
            "time": 1_767_225_600 + i, "changes": [{"field": "phone_number_quality_update",
            "value": {"display_phone_number": DIGITS, "event": event, "current_limit": "TIER_2K"}}]}]})
        .to_string();
        let signature = sim::signature_header(APP_SECRET.as_bytes(), body.as_bytes());
        let started = Instant::now();
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .header("x-hub-signature-256", signature)
            .body(body)
            .send()
            .await
            .expect("delivery");
        let ack = started.elapsed();
        assert!(
            resp.status().is_success(),
            "delivery {i}: {}",
            resp.status()
        );
        acks.push(ack);
        while current.as_deref() != Some(expected) {
            let next = tokio::time::timeout(Duration::from_secs(30), stream.next())
                .await
                .unwrap_or_else(|_| panic!("status never showed {expected} after delivery {i}"))
                .expect("watch")
                .expect("watch event");
            current = status_of(&next);
        }
        visible.push(started.elapsed());
    }

    acks.sort();
    visible.sort();
    println!("webhook_latency: {deliveries} signed deliveries to the running operator");
    println!(
        "  acknowledged:            median {}  p99 {}  max {}  (budget: median < 10 ms, p99 < 250 ms)",
        ms(percentile(&acks, 0.5)),
        ms(percentile(&acks, 0.99)),
        ms(acks[acks.len() - 1])
    );
    println!(
        "  webhook to status shown: median {}  p99 {}  max {}  (budget: p99 < 500 ms)",
        ms(percentile(&visible, 0.5)),
        ms(percentile(&visible, 0.99)),
        ms(visible[visible.len() - 1])
    );
}
