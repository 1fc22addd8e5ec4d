//! The controllers' pipeline in process: the real apiserver, meta-sim for Meta's reads, and a
//! fake Meta executor for every write, so a scenario sees exactly which writes the composition
//! of observe, decide, act and apply asks for, and what status and the finalizer do around
//! them, without the simulator's side of a write.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::World;
use harness::operator::eventually;
use kube::api::{DeleteParams, Patch, PatchParams};
use kube::{Api, Client};
use serde_json::json;
use tokio_util::sync::CancellationToken;
use whatsapp_operator::controller::{
    self, ControllerConfig, MetaAction, SharedExecutor, WebhookSettings,
};
use whatsapp_operator::crd::{WhatsAppChannel, condition_is_true, find_condition};
use whatsapp_operator::graph::{GraphClient, GraphConfig};
use whatsapp_operator::meta::GraphError;
use whatsapp_operator::metrics::Metrics;

const WAIT: Duration = Duration::from_secs(60);
/// The CONNECTED +1 555-078-3881 of the example state.
const US_ID: &str = "106540352242922";
/// The CONNECTED +55 11 98765-4321 of the example state.
const BR_ID: &str = "106540352242924";

/// What Meta answers to each write, and every write the executor was handed.
#[derive(Default)]
struct FakeMeta {
    writes: Mutex<Vec<String>>,
    answers: Mutex<Vec<(String, Result<(), GraphError>)>>,
}

impl FakeMeta {
    /// The answer to writes whose description starts with `prefix` (default: success).
    fn answer(&self, prefix: &str, answer: Result<(), GraphError>) {
        self.answers.lock().unwrap().push((prefix.into(), answer));
    }

    fn writes(&self) -> Vec<String> {
        self.writes.lock().unwrap().clone()
    }

    fn executor(self: &Arc<Self>) -> SharedExecutor {
        let fake = self.clone();
        Arc::new(move |waba: &str, action: &MetaAction| {
            let seen = format!("{} {waba} {}", action.name(), described(action));
            fake.writes.lock().unwrap().push(seen.clone());
            let answers = fake.answers.lock().unwrap();
            let answer = answers
                .iter()
                .rev()
                .find(|(p, _)| seen.starts_with(p.as_str()));
            answer.map_or(Ok(()), |(_, a)| a.clone())
        })
    }
}

fn described(action: &MetaAction) -> String {
    match action {
        MetaAction::Deregister { phone_number_id }
        | MetaAction::Register {
            phone_number_id, ..
        }
        | MetaAction::SetPin {
            phone_number_id, ..
        }
        | MetaAction::RequestDisplayName {
            phone_number_id, ..
        }
        | MetaAction::VerifyCode {
            phone_number_id, ..
        }
        | MetaAction::RequestCode {
            phone_number_id, ..
        }
        | MetaAction::UpdateBusinessProfile {
            phone_number_id, ..
        } => phone_number_id.clone(),
        MetaAction::AddNumber { cc, number, .. } => format!("{cc}{number}"),
        MetaAction::SubscribeApp { .. } => String::new(),
        MetaAction::CreateTemplate { name, language, .. } => format!("{name}/{language}"),
        MetaAction::EditTemplate { template_id, .. }
        | MetaAction::DeleteTemplate { template_id, .. } => template_id.clone(),
    }
}

/// Both controllers of `namespace` running in this process until the returned token is
/// cancelled.
fn run_controllers(
    client: Client,
    sim_url: &str,
    namespace: &str,
    executor: SharedExecutor,
) -> CancellationToken {
    let metrics = Arc::new(Metrics::new());
    let graph = GraphClient::new(GraphConfig {
        base_url: sim_url.into(),
        observer: Some(metrics.clone()),
        ..GraphConfig::default()
    })
    .expect("graph client");
    let config = ControllerConfig {
        namespaces: vec![namespace.into()],
        concurrency: 4,
        instance: "pipeline-test".into(),
        webhooks: WebhookSettings {
            min_read_spacing: Duration::from_secs(5),
            subscription_recheck: Duration::from_secs(3600),
        },
    };
    let shutdown = CancellationToken::new();
    tokio::spawn(controller::run(
        client,
        graph,
        executor,
        metrics,
        config,
        None,
        shutdown.clone(),
    ));
    shutdown
}

async fn world(prefix: &str) -> World {
    World::with_quiet_account(prefix, WAIT).await
}

fn deregistering_channel(name: &str, number: &str) -> String {
    format!(
        r#"apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppChannel
metadata:
  name: {name}
spec:
  accountRef: {{name: acme}}
  phoneNumber: "{number}"
  management: Managed
  deletionPolicy: Deregister
"#
    )
}

async fn ready_with_finalizer(api: &Api<WhatsAppChannel>, name: &str) {
    eventually(
        &format!("{name} Ready with its finalizer"),
        WAIT,
        || async {
            let ch = api.get(name).await.ok()?;
            let ready = ch
                .status
                .as_ref()
                .is_some_and(|s| condition_is_true(&s.conditions, "Ready"));
            let held = ch
                .metadata
                .finalizers
                .as_ref()
                .is_some_and(|f| !f.is_empty());
            (ready && held).then_some(())
        },
    )
    .await;
}

async fn gone(api: &Api<WhatsAppChannel>, name: &str) {
    eventually(&format!("{name} deleted"), WAIT, || async {
        api.get_opt(name)
            .await
            .ok()
            .and_then(|o| o.is_none().then_some(()))
    })
    .await;
}

#[tokio::test]
async fn adopting_writes_nothing_and_deletion_deregisters_once_within_the_budget() {
    let w = world("pipeline").await;
    let meta = Arc::new(FakeMeta::default());
    let unavailable = GraphError::from_response(
        "deregister",
        503,
        br#"{"error":{"message":"Service temporarily unavailable","code":2}}"#,
    );
    meta.answer(
        &format!("deregister 102290129340398 {US_ID}"),
        Err(unavailable),
    );
    let already_gone = GraphError::from_response(
        "deregister",
        400,
        br#"{"error":{"message":"Unsupported post request. Object does not exist","code":100,"error_subcode":33}}"#,
    );
    meta.answer(
        &format!("deregister 102290129340398 {BR_ID}"),
        Err(already_gone),
    );
    let shutdown = run_controllers(w.client.clone(), &w.sim.base_url(), &w.ns, meta.executor());
    let api = w.channels();
    for (name, number) in [("us", "+1 555-078-3881"), ("br", "+55 11 98765-4321")] {
        w.apply(&deregistering_channel(name, number)).await;
    }
    ready_with_finalizer(&api, "us").await;
    ready_with_finalizer(&api, "br").await;
    assert_eq!(
        meta.writes(),
        Vec::<String>::new(),
        "adopting a connected number writes nothing"
    );

    // Meta says the number is already gone: that counts as deregistered.
    api.delete("br", &DeleteParams::default()).await.unwrap();
    gone(&api, "br").await;
    assert_eq!(
        meta.writes(),
        vec![format!("deregister 102290129340398 {BR_ID}")]
    );

    // Meta is down: retried with backoff, each attempt counted, until the budget stops it.
    api.delete("us", &DeleteParams::default()).await.unwrap();
    let waiting = eventually("us waits for the registration budget", WAIT, || async {
        let s = api.get("us").await.ok()?.status?;
        let synced = find_condition(&s.conditions, "Synced")?.clone();
        (synced.reason == "CleanupFailed" && synced.message.contains("registration budget"))
            .then_some(synced.message)
    })
    .await;
    assert!(waiting.contains("deletionPolicy: Orphan"), "{waiting}");
    let us_calls = |w: &[String]| w.iter().filter(|w| w.ends_with(US_ID)).count();
    assert_eq!(us_calls(&meta.writes()), 3, "{:?}", meta.writes());

    // Orphan releases it without another call.
    let patch = json!({"spec": {"deletionPolicy": "Orphan"}});
    api.patch("us", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    gone(&api, "us").await;
    assert_eq!(us_calls(&meta.writes()), 3, "{:?}", meta.writes());
    shutdown.cancel();
}

/// A namespace that is deleted takes the account's Secret with it; a Deregister channel then
/// cannot deregister, and it must not hold the namespace in Terminating for ever: it lets go
/// without a write to Meta (a warning says so where it still can).
#[tokio::test]
async fn a_terminating_namespace_without_credentials_releases_its_channels() {
    let w = world("pipeline-ns").await;
    let meta = Arc::new(FakeMeta::default());
    let shutdown = run_controllers(w.client.clone(), &w.sim.base_url(), &w.ns, meta.executor());
    let api = w.channels();
    w.apply(&deregistering_channel("us", "+1 555-078-3881"))
        .await;
    ready_with_finalizer(&api, "us").await;

    // This control plane runs no namespace controller: the namespace stays Terminating, and
    // its contents go as the namespace controller would remove them (Secret first here).
    let namespaces: Api<k8s_openapi::api::core::v1::Namespace> = Api::all(w.client.clone());
    namespaces
        .delete(&w.ns, &DeleteParams::default())
        .await
        .unwrap();
    w.secrets()
        .delete("acme-graph-token", &DeleteParams::default())
        .await
        .unwrap();
    api.delete("us", &DeleteParams::default()).await.unwrap();
    gone(&api, "us").await;
    assert_eq!(meta.writes(), Vec::<String>::new());
    shutdown.cancel();
}
