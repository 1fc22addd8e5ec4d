//! The kubectl plugin (`kubectl-whatsapp`) as a person runs it: the built binary with a
//! kubeconfig of the test control plane, against the running operator and the Meta simulator.
//! Each command's output and exit code are asserted.

use std::path::PathBuf;
use std::time::Duration;

use harness::World;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use serde_json::{Value, json};
use whatsapp_operator::crd::{Phase, condition_is_true, find_condition};

const WAIT: Duration = Duration::from_secs(120);

/// What a run of the plugin gave.
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout ---\n{}--- stderr ---\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Runs `kubectl-whatsapp args` with `kubeconfig` as `KUBECONFIG` and nothing else of the
/// user's settings.
async fn plugin_with(kubeconfig: &std::path::Path, args: &[&str]) -> Run {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_kubectl-whatsapp"))
        .args(args)
        .env("KUBECONFIG", kubeconfig)
        .env_remove("COLUMNS")
        .output()
        .await
        .expect("run kubectl-whatsapp");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `kubectl-whatsapp args -n NS` with the test kubeconfig.
async fn plugin(w: &World, args: &[&str]) -> Run {
    let mut all = args.to_vec();
    all.extend(["-n", w.ns.as_str()]);
    plugin_with(harness::kubeconfig_path(), &all).await
}

/// The test kubeconfig with one more context, `scoped`, whose namespace is the world's.
fn scoped_kubeconfig(w: &World) -> PathBuf {
    let text = std::fs::read_to_string(harness::kubeconfig_path()).expect("read the kubeconfig");
    let context = format!(
        "contexts:\n- name: scoped\n  context:\n    cluster: test\n    user: admin\n    namespace: {}\n",
        w.ns
    );
    assert!(text.contains("contexts:\n"), "{text}");
    let path = harness::control_plane()
        .dir()
        .join(format!("kubeconfig-{}", w.ns));
    std::fs::write(&path, text.replace("contexts:\n", &context)).expect("write the kubeconfig");
    path
}

/// The text with every run of whitespace made one space: sentences the terminal width wrapped.
fn squashed(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn synced_reason(conditions: &[Condition]) -> String {
    find_condition(conditions, "Synced")
        .map(|c| c.reason.clone())
        .unwrap_or_default()
}

/// The examples' account and connected channels, the operator holding a Lease in the test
/// namespace (where `check` looks for it), all Ready.
async fn examples_world(prefix: &str) -> World {
    let mut w = World::new(prefix).await.with_timeout(WAIT);
    w.apply_example_with("account.yaml", &[("syncInterval: 10m", "syncInterval: 1m")])
        .await;
    w.apply_example("channel-adopt.yaml").await;
    w.apply_example("channel-observe-only.yaml").await;
    let ns = w.ns.clone();
    w.start_operator(&[
        "--leader-election",
        "--lease-namespace",
        &ns,
        "--lease-name",
        "whatsapp-operator",
    ]);
    for name in ["acme-support", "acme-brasil", "acme-shop-app"] {
        w.wait_channel(name, "Ready", |s| condition_is_true(&s.conditions, "Ready"))
            .await;
    }
    w
}

/// status, -o json and -o yaml, the context's namespace, sync, budget and the errors of a
/// connected number and its account.
#[tokio::test]
async fn status_sync_and_budget_of_a_connected_number() {
    let w = examples_world("cli-status").await;

    let r = plugin(&w, &["status", "wac/acme-support"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for fragment in [
        &format!("WhatsAppChannel {}/acme-support  Ready=True", w.ns),
        "Meta CONNECTED, quality GREEN",
        "  account      waba/acme, Ready=True, WABA 102290129340398",
        "\nConditions\n  Ready        True    Available, since ",
        "\nNext\n  - next read of Meta with waba/acme: every 1m",
        "registration budget: 3 of 3 attempts left",
    ] {
        assert!(r.stdout.contains(fragment), "{fragment:?}: {r:?}");
    }

    // Without -n: the namespace of the kubeconfig context, as kubectl takes it.
    let scoped = scoped_kubeconfig(&w);
    let r = plugin_with(
        &scoped,
        &[
            "--context",
            "scoped",
            "status",
            "whatsappchannel/acme-brasil",
        ],
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("{}/acme-brasil  Ready=True", w.ns)),
        "{r:?}"
    );

    let r = plugin(&w, &["status", "waba/acme", "-o", "json"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("status -o json is JSON");
    assert_eq!(doc["kind"], "WhatsAppBusinessAccount");
    assert_eq!(doc["ready"], "True");
    assert_eq!(doc["account"]["businessAccountId"], "102290129340398");
    assert_eq!(doc["account"]["wabaName"], "Acme");
    assert!(
        doc["conditions"].as_array().is_some_and(|c| !c.is_empty()),
        "{doc}"
    );

    let r = plugin(&w, &["status", "channel/acme-support", "-o", "yaml"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("kind: WhatsAppChannel"), "{r:?}");
    assert!(r.stdout.contains("phase: Connected"), "{r:?}");
    // The profile applied at adoption is the channel's event.
    assert!(r.stdout.contains("reason: BusinessProfileUpdated"), "{r:?}");

    let r = plugin(&w, &["sync", "wac/acme-support"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    let token = r
        .stdout
        .split("reconcile-requested-at=")
        .nth(1)
        .and_then(|rest| rest.split(')').next())
        .unwrap_or_else(|| panic!("the token: {r:?}"))
        .to_string();
    let s = w.channel("acme-support").await.status.unwrap();
    assert_eq!(
        s.sync.last_handled_reconcile_at.as_deref(),
        Some(token.as_str())
    );
    assert!(r.stdout.contains("handled"), "{r:?}");
    let r = plugin(&w, &["sync", "account/acme", "--timeout", "30s"]).await;
    assert_eq!(r.code, 0, "{r:?}");

    let r = plugin(&w, &["budget", "wac/acme-support"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.starts_with(
            "wac/acme-support (+15550783881): registration budget 3 of 3 attempts left"
        ),
        "{r:?}"
    );
    let r = plugin(&w, &["budget", "wac/acme-support", "-o", "json"]).await;
    let doc: Value = serde_json::from_str(&r.stdout).expect("budget -o json is JSON");
    assert_eq!(
        (doc["left"].as_u64(), doc["limit"].as_u64()),
        (Some(3), Some(3)),
        "{doc}"
    );

    // Errors of the API and of usage exit 2.
    let r = plugin(&w, &["status", "wac/nope"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains(&format!("wac/nope not found in namespace {}", w.ns)),
        "{r:?}"
    );
    let r = plugin(&w, &["status", "pod/acme"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    let r = plugin(&w, &["verify", "wac/acme-support", "123456"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.stderr
            .contains("wac/acme-support names no verification code Secret"),
        "{r:?}"
    );

    // With the operator gone, a sync times out: exit 1.
    let mut w = w;
    w.operator_mut().kill();
    let r = plugin(&w, &["sync", "wac/acme-support", "--timeout", "2s"]).await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("timed out after 2s"), "{r:?}");
}

/// pause and resume of the account, as the operator reports them; check with and without the
/// webhook Secret.
#[tokio::test]
async fn pause_resume_and_check_the_installation() {
    let w = examples_world("cli-pause").await;

    let r = plugin(&w, &["pause", "waba/acme", "--wait"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("paused waba/acme"), "{r:?}");
    assert!(
        r.stdout
            .contains("the operator reports waba/acme Synced=False reason Paused"),
        "{r:?}"
    );
    let a = w.account("acme").await;
    let synced = find_condition(&a.status.as_ref().unwrap().conditions, "Synced")
        .unwrap()
        .clone();
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("False", "Paused")
    );
    let r = plugin(&w, &["status", "waba/acme"]).await;
    assert!(
        r.stdout
            .contains("paused: no call to Meta until `kubectl whatsapp resume waba/acme`"),
        "{r:?}"
    );
    // The account's own events, newest last: the pause is the latest.
    assert!(r.stdout.contains("Normal Paused\n"), "{r:?}");
    assert!(
        r.stdout.contains("Synced       False   Paused, since"),
        "{r:?}"
    );
    // A paused resource still answers a sync, without calling Meta.
    let r = plugin(&w, &["sync", "waba/acme"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("handled (paused: without calling Meta)"),
        "{r:?}"
    );
    let r = plugin(&w, &["pause", "waba/acme"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("waba/acme is already paused"), "{r:?}");

    let r = plugin(&w, &["resume", "waba/acme", "--wait"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("resumed waba/acme"), "{r:?}");
    let a = w
        .wait_account("acme", "synced again", |s| {
            synced_reason(&s.conditions) == "SyncSucceeded"
        })
        .await;
    assert!(condition_is_true(&a.conditions, "Synced"));
    let annotations = w
        .account("acme")
        .await
        .metadata
        .annotations
        .unwrap_or_default();
    assert!(
        !annotations.contains_key("whatsapp-operator.io/paused"),
        "{annotations:?}"
    );

    // The harness installed the CRDs from crds/, the operator holds its Lease here.
    w.create_secret(
        "webhook",
        &[("app-secret", "s3cret"), ("verify-token", "t0ken")],
    )
    .await;
    let ns = w.ns.as_str();
    let base = ["check", "--operator-namespace", ns];
    let r = plugin_with(
        harness::kubeconfig_path(),
        &[&base[..], &["--webhook-secret-name", "webhook"]].concat(),
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    for line in [
        "OK    CRD whatsappchannels.whatsapp-operator.io: Established, serves v1alpha1, schema equal",
        "OK    CRD whatsappbusinessaccounts.whatsapp-operator.io: Established",
        "OK    CRD whatsappmessagetemplates.whatsapp-operator.io: Established",
        &format!("OK    operator {ns}/whatsapp-operator: Lease held by"),
        &format!("OK    webhook Secret {ns}/webhook: present with app-secret and verify-token"),
    ] {
        assert!(r.stdout.contains(line), "{line:?}: {r:?}");
    }
    let r = plugin_with(
        harness::kubeconfig_path(),
        &[&base[..], &["--webhook-secret-name", "missing"]].concat(),
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout
            .contains(&format!("FAIL  webhook Secret {ns}/missing: not found")),
        "{r:?}"
    );
    let r = plugin_with(
        harness::kubeconfig_path(),
        &[&base[..], &["--skip-webhook", "-o", "json"]].concat(),
    )
    .await;
    assert_eq!(r.code, 0, "{r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("check -o json is JSON");
    assert_eq!(doc["ok"], true);
    assert_eq!(doc["checks"].as_array().map(Vec::len), Some(4), "{doc}");
    let r = plugin_with(
        harness::kubeconfig_path(),
        &["check", "--operator-namespace", "nowhere", "--skip-webhook"],
    )
    .await;
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stdout.contains(
            "FAIL  operator nowhere/whatsapp-operator: not running: no Lease, no Deployment"
        ),
        "{r:?}"
    );
}

/// The onboarding walk-through: a new number waits for its code (status exits 1 and names the
/// Secret), `verify` writes the code Meta sent, the number connects.
#[tokio::test]
async fn verify_writes_the_code_and_the_number_connects() {
    let mut w = World::with_quiet_account("cli-verify", WAIT).await;
    w.apply_example("channel-onboard.yaml").await;
    w.start_operator(&[]);
    let s = w
        .wait_channel("acme-sales", "the code awaited", |s| {
            s.phase == Phase::AwaitingVerificationCode
        })
        .await;
    let id = s.phone_number_id.clone().expect("phone number id");
    // The operator created the empty Secret; the plugin keeps its owner and labels.
    w.wait_event("acme-sales", "VerificationCodeSecretCreated")
        .await;
    let created = w
        .secrets()
        .get("acme-sales-otp")
        .await
        .expect("the code Secret");

    let r = plugin(&w, &["status", "wac/acme-sales"]).await;
    assert_eq!(r.code, 1, "not Ready: {r:?}");
    assert!(r.stdout.contains("Ready=False"), "{r:?}");
    assert!(
        squashed(&r.stdout).contains(
            "`kubectl whatsapp verify wac/acme-sales CODE` writes it into Secret acme-sales-otp key \"code\""
        ),
        "{r:?}"
    );

    let r = plugin(&w, &["verify", "wac/acme-sales", "12345"]).await;
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("Meta sends six digits"), "{r:?}");

    let code = w.sim.last_code(&id).await.expect("Meta sent a code");
    let r = plugin(&w, &["verify", "wac/acme-sales", &code]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "wrote the code into Secret {}/acme-sales-otp key \"code\"",
            w.ns
        )),
        "{r:?}"
    );
    assert!(
        r.stdout.contains("kubectl whatsapp status wac/acme-sales"),
        "{r:?}"
    );
    let s = w
        .wait_channel("acme-sales", "CONNECTED", |s| {
            s.status.as_deref() == Some("CONNECTED") && condition_is_true(&s.conditions, "Ready")
        })
        .await;
    assert_eq!(s.phase, Phase::Connected);
    let filled = w
        .secrets()
        .get("acme-sales-otp")
        .await
        .expect("the code Secret");
    assert_eq!(
        filled.metadata.owner_references,
        created.metadata.owner_references
    );
    assert_eq!(filled.metadata.labels, created.metadata.labels);
    assert_eq!(w.sim.posts(&format!("/{id}/verify_code")).await, 1);

    let r = plugin(&w, &["status", "wac/acme-sales"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("phase        Connected; Meta CONNECTED"),
        "{r:?}"
    );
    let r = plugin(&w, &["budget", "wac/acme-sales"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("registration budget 2 of 3 attempts left"),
        "one register: {r:?}"
    );
}

/// `verify` creates a missing Secret, and on an existing one changes only its key.
#[tokio::test]
async fn verify_creates_the_secret_and_touches_only_its_key() {
    let w = World::new("cli-verify-secret").await.with_timeout(WAIT);
    // No operator and no account: nothing reads the code, the plugin alone writes it.
    w.apply(
        r#"apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppChannel
metadata:
  name: ghost
spec:
  accountRef: {name: nobody}
  phoneNumber: "+44 7700 900999"
  registration:
    verificationCodeSecretRef: {name: ghost-otp, key: code}
"#,
    )
    .await;
    let r = plugin(&w, &["verify", "wac/ghost", "123 456"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        squashed(&r.stdout).contains(&format!(
            "created Secret and wrote the code into Secret {}/ghost-otp",
            w.ns
        )),
        "{r:?}"
    );
    let data = |s: k8s_openapi::api::core::v1::Secret| {
        s.data
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| (k, String::from_utf8(v.0).unwrap()))
            .collect::<std::collections::BTreeMap<_, _>>()
    };
    let secret = w.secrets().get("ghost-otp").await.expect("created");
    assert_eq!(
        data(secret),
        [("code".to_string(), "123456".to_string())].into()
    );

    w.set_secret("ghost-otp", "note", "kept").await;
    let r = plugin(&w, &["verify", "wac/ghost", "654321"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.starts_with("wrote the code"), "{r:?}");
    let secret = data(w.secrets().get("ghost-otp").await.expect("the Secret"));
    assert_eq!(secret.get("code").map(String::as_str), Some("654321"));
    assert_eq!(secret.get("note").map(String::as_str), Some("kept"));
}

/// `status wamt/NAME` of an adopted template: Meta's status and quality, exit 0 while Ready and
/// 1 once Meta paused it; `sync wamt/NAME` is handled; `-o json` carries the template's facts.
#[tokio::test]
async fn status_of_a_template_follows_metas_review() {
    let w = examples_world("cli-template").await;
    let id = w
        .sim
        .add_template(
            "102290129340398",
            json!({"name": "welcome", "language": "en_US", "category": "MARKETING",
                   "components": [{"type": "BODY", "text": "Welcome to Acme, {{1}}, glad you are here.",
                                   "example": {"body_text": [["Ana"]]}}]}),
        )
        .await;
    w.apply(
        r#"apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppMessageTemplate
metadata:
  name: welcome-en
spec:
  accountRef: {name: acme}
  name: welcome
  language: en_US
  category: MARKETING
  management: ObserveOnly
  components:
    body: {text: "Welcome to Acme, {{1}}, glad you are here.", examples: [Ana]}
"#,
    )
    .await;
    w.wait_template("welcome-en", "Ready", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    let r = plugin(&w, &["status", "wamt/welcome-en"]).await;
    assert_eq!(r.code, 0, "{r:?}");
    for fragment in [
        "WhatsAppMessageTemplate ",
        "/welcome-en  Ready=True (Approved)",
        &format!("  template     welcome, language en_US, Meta id {id}"),
        "  meta         APPROVED, category MARKETING",
        "  account      waba/acme, Ready=True",
    ] {
        assert!(r.stdout.contains(fragment), "{fragment:?}: {r:?}");
    }
    let r = plugin(&w, &["sync", "wamt/welcome-en"]).await;
    assert_eq!(r.code, 0, "{r:?}");

    w.sim
        .update_template(&id, json!({"status": "PAUSED"}))
        .await;
    w.force_sync("acme", "paused-at-meta").await;
    w.wait_template("welcome-en", "PAUSED", |s| {
        s.status.as_deref() == Some("PAUSED")
    })
    .await;
    let r = plugin(&w, &["status", "wamt/welcome-en", "-o", "json"]).await;
    assert_eq!(r.code, 1, "not Ready: {r:?}");
    let doc: Value = serde_json::from_str(&r.stdout).expect("status -o json is JSON");
    assert_eq!(doc["template"]["status"], "PAUSED");
    assert_eq!(doc["readyReason"], "Paused");
}
