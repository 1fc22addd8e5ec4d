//! The chart installed with `helm install` into the test control plane, and the operator run with
//! exactly what the chart gives its pod: the container's args and env from the installed
//! Deployment, and a token of the chart's ServiceAccount. It syncs channels against the Meta
//! simulator with those rights alone, and access reviews prove the ServiceAccount can do what the
//! operator needs and nothing more, in both watch modes.
//!
//! The control plane is shared with the rest of the suite, which runs at the same time. So a
//! release leaves the CRDs to `harness::install_crds` (`crds.enabled=false`: Helm would refuse to
//! adopt CRDs it did not create, and uninstalling must not touch what other tests use), is named
//! after its own fresh namespace (its ClusterRoles and bindings carry that name), and is
//! uninstalled at the end, also when the test fails.

use std::path::{Path, PathBuf};
use std::time::Duration;

use harness::World;
use harness::operator::{Operator, eventually, free_port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::authentication::v1::{SelfSubjectReview, TokenRequest, TokenRequestSpec};
use k8s_openapi::api::authorization::v1::{
    ResourceAttributes, SelfSubjectAccessReview, SelfSubjectAccessReviewSpec,
};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Container, Namespace, Secret, ServiceAccount};
use k8s_openapi::api::rbac::v1::{ClusterRole, Role};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Api, Client, Config};
use serde_json::json;
use whatsapp_operator::crd::{CHANNEL_FINALIZER, WhatsAppChannel, condition_is_true};

use crate::chart;

const WAIT: Duration = Duration::from_secs(60);
/// The Meta ID of `acme-brasil` in the simulator's example world.
const BRASIL_ID: &str = "106540352242924";
const CHANNEL_CRD: &str = "whatsappchannels.whatsapp-operator.io";
const CHANNELS: &str = "whatsappchannels.whatsapp-operator.io";
const ACCOUNTS: &str = "whatsappbusinessaccounts.whatsapp-operator.io";
const CHANNEL_STATUS: &str = "whatsappchannels.whatsapp-operator.io/status";
const ACCOUNT_STATUS: &str = "whatsappbusinessaccounts.whatsapp-operator.io/status";
const CRDS: &str = "customresourcedefinitions.apiextensions.k8s.io";
const CLUSTER_ROLES: &str = "clusterroles.rbac.authorization.k8s.io";
const CLUSTER_ROLE_BINDINGS: &str = "clusterrolebindings.rbac.authorization.k8s.io";
const ROLES: &str = "roles.rbac.authorization.k8s.io";
const ROLE_BINDINGS: &str = "rolebindings.rbac.authorization.k8s.io";
const EVENTS: &str = "events.events.k8s.io";
const LEASES: &str = "leases.coordination.k8s.io";
/// The chart's default `webhook.secretName`.
const WEBHOOK_SECRET: &str = "whatsapp-operator-webhook";
const VERIFY_TOKEN: &str = "chart-install-verify-token";

/// A release of the chart, uninstalled when dropped (when a test fails, too).
struct Release {
    name: String,
    namespace: String,
    installed: bool,
}

impl Release {
    fn install(name: &str, namespace: &str, values: &str) -> Self {
        let file = chart::values_file(name, values);
        let file = file.to_str().expect("UTF-8 values path");
        chart::helm(&["install", name, "--namespace", namespace, "-f", file]);
        Self {
            name: name.to_string(),
            namespace: namespace.to_string(),
            installed: true,
        }
    }

    fn uninstall(&mut self) {
        self.installed = false;
        chart::helm_ok(&["uninstall", &self.name, "--namespace", &self.namespace]);
    }
}

impl Drop for Release {
    fn drop(&mut self) {
        if self.installed {
            // Runs while a failing test unwinds: never panic here.
            let _ = chart::helm_command(&["uninstall", &self.name, "--namespace", &self.namespace])
                .output();
        }
    }
}

/// The chart's ServiceAccount as its pod would be it: a token from the TokenRequest API (what
/// the kubelet mounts into the pod), a kubeconfig with that token and the test apiserver's CA,
/// and a client of that kubeconfig.
struct PodIdentity {
    kubeconfig: PathBuf,
    client: Client,
}

async fn pod_identity(admin: &Client, namespace: &str, account: &str) -> PodIdentity {
    let request = TokenRequest {
        spec: Some(TokenRequestSpec {
            expiration_seconds: Some(3600),
            ..TokenRequestSpec::default()
        }),
        ..TokenRequest::default()
    };
    let token = Api::<ServiceAccount>::namespaced(admin.clone(), namespace)
        .create_token_request(account, &PostParams::default(), &request)
        .await
        .unwrap_or_else(|e| panic!("TokenRequest for {namespace}/{account}: {e}"))
        .status
        .and_then(|s| s.token)
        .expect("a token in the TokenRequest's status");
    let admin_config =
        Kubeconfig::read_from(harness::kubeconfig_path()).expect("read the admin kubeconfig");
    let cluster = admin_config
        .clusters
        .first()
        .and_then(|c| c.cluster.as_ref())
        .expect("a cluster in the admin kubeconfig");
    let server = cluster.server.clone().expect("the apiserver URL");
    let ca = cluster
        .certificate_authority_data
        .clone()
        .expect("the apiserver's CA");
    let kubeconfig = harness::control_plane()
        .dir()
        .join(format!("kubeconfig-{namespace}-{account}"));
    let text = format!(
        r#"apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster:
      server: {server}
      certificate-authority-data: {ca}
users:
  - name: {account}
    user:
      token: "{token}"
contexts:
  - name: pod
    context: {{cluster: test, user: {account}, namespace: {namespace}}}
current-context: pod
"#
    );
    std::fs::write(&kubeconfig, text).expect("write the ServiceAccount's kubeconfig");
    let config = Config::from_custom_kubeconfig(
        Kubeconfig::read_from(&kubeconfig).expect("read the ServiceAccount's kubeconfig"),
        &KubeConfigOptions::default(),
    )
    .await
    .expect("a config from the ServiceAccount's kubeconfig");
    let client = Client::try_from(config).expect("a client with the ServiceAccount's token");
    // The token authenticates as the ServiceAccount, so every review below is about it.
    let review = Api::<SelfSubjectReview>::all(client.clone())
        .create(&PostParams::default(), &SelfSubjectReview::default())
        .await
        .expect("SelfSubjectReview with the ServiceAccount's token");
    let username = review
        .status
        .and_then(|s| s.user_info)
        .and_then(|u| u.username);
    assert_eq!(
        username.as_deref(),
        Some(format!("system:serviceaccount:{namespace}:{account}").as_str())
    );
    PodIdentity { kubeconfig, client }
}

/// How the operator process is started: the container's args and env as a pod would get them.
struct Launch {
    args: Vec<String>,
    env: Vec<(String, String)>,
}

impl Launch {
    fn env(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// The args and env of `container` as the kubelet would give them to pod `pod_name` in
/// `namespace`, plus `KUBECONFIG` for the ServiceAccount's token (a pod gets it mounted). An
/// env source this function does not stand in for fails the test, so a chart change that adds
/// one is noticed here.
fn launch_of(container: &Container, pod_name: &str, namespace: &str, kubeconfig: &Path) -> Launch {
    assert!(
        container.command.is_none(),
        "the chart sets a command ({:?}); the test runs the operator binary with the args",
        container.command
    );
    let mut env = Vec::new();
    for var in container.env.iter().flatten() {
        let value = match (&var.value, &var.value_from) {
            (value, None) => value.clone().unwrap_or_default(),
            (None, Some(source)) => {
                match source.field_ref.as_ref().map(|f| f.field_path.as_str()) {
                    Some("metadata.name") => pod_name.to_string(),
                    Some("metadata.namespace") => namespace.to_string(),
                    _ => panic!(
                        "env {} comes from {source:?}, which this test does not stand in for",
                        var.name
                    ),
                }
            }
            (Some(_), Some(_)) => panic!("env {} has both value and valueFrom", var.name),
        };
        let value = match var.name.as_str() {
            // A pod binds every interface of its own network namespace; here that would be the
            // machine's, so the same port on loopback instead.
            "WAO_METRICS_ADDR" | "WAO_WEBHOOK_ADDR" => value.replace("0.0.0.0:", "127.0.0.1:"),
            _ => value,
        };
        env.push((var.name.clone(), value));
    }
    env.push((
        "KUBECONFIG".to_string(),
        kubeconfig
            .to_str()
            .expect("UTF-8 kubeconfig path")
            .to_string(),
    ));
    Launch {
        args: container.args.clone().unwrap_or_default(),
        env,
    }
}

/// The port number of the container port a probe names.
fn probe_port(container: &Container, port: &IntOrString) -> i32 {
    match port {
        IntOrString::Int(n) => *n,
        IntOrString::String(name) => {
            container
                .ports
                .iter()
                .flatten()
                .find(|p| p.name.as_deref() == Some(name.as_str()))
                .unwrap_or_else(|| panic!("the probe names port {name}, which the container lacks"))
                .container_port
        }
    }
}

// --- Access reviews -------------------------------------------------------------------------

/// One access review: `verb` on `resource` (kubectl's `resource.group/subresource` notation) in
/// `namespace` ("" for all namespaces or a cluster-scoped resource), of the object `name` (""
/// for any), and whether the chart must allow it.
struct Access {
    allowed: bool,
    verb: &'static str,
    resource: &'static str,
    namespace: String,
    name: String,
}

fn allow(verb: &'static str, resource: &'static str, namespace: &str, name: &str) -> Access {
    Access {
        allowed: true,
        verb,
        resource,
        namespace: namespace.to_string(),
        name: name.to_string(),
    }
}

fn deny(verb: &'static str, resource: &'static str, namespace: &str, name: &str) -> Access {
    Access {
        allowed: false,
        ..allow(verb, resource, namespace, name)
    }
}

/// Whether the apiserver's authorizer allows the client's user `access`.
async fn reviewed(client: &Client, access: &Access) -> bool {
    let (resource, subresource) = match access.resource.split_once('/') {
        Some((r, s)) => (r, Some(s.to_string())),
        None => (access.resource, None),
    };
    let (resource, group) = resource.split_once('.').unwrap_or((resource, ""));
    let non_empty = |s: &str| (!s.is_empty()).then(|| s.to_string());
    let review = SelfSubjectAccessReview {
        spec: SelfSubjectAccessReviewSpec {
            resource_attributes: Some(ResourceAttributes {
                verb: Some(access.verb.to_string()),
                group: Some(group.to_string()),
                resource: Some(resource.to_string()),
                subresource,
                namespace: non_empty(&access.namespace),
                name: non_empty(&access.name),
                ..ResourceAttributes::default()
            }),
            ..SelfSubjectAccessReviewSpec::default()
        },
        ..SelfSubjectAccessReview::default()
    };
    Api::<SelfSubjectAccessReview>::all(client.clone())
        .create(&PostParams::default(), &review)
        .await
        .expect("SelfSubjectAccessReview")
        .status
        .expect("SelfSubjectAccessReview status")
        .allowed
}

/// Reviews every access and fails with the list of those the authorizer answered otherwise.
async fn expect_access(client: &Client, checks: &[Access]) {
    let answers =
        futures::future::join_all(checks.iter().map(|access| reviewed(client, access))).await;
    let wrong: Vec<String> = checks
        .iter()
        .zip(answers)
        .filter(|(access, allowed)| access.allowed != *allowed)
        .map(|(a, allowed)| {
            format!(
                "  {} {} namespace={:?} name={:?}: expected {}, got {}",
                a.verb,
                a.resource,
                a.namespace,
                a.name,
                if a.allowed { "allowed" } else { "denied" },
                if allowed { "allowed" } else { "denied" },
            )
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "{} of {} access reviews of the chart's ServiceAccount answered otherwise:\n{}",
        wrong.len(),
        checks.len(),
        wrong.join("\n")
    );
}

/// Waits (up to 10 s) until every access the chart must allow is allowed; `expect_access` then
/// reports whatever still is not.
async fn settle_rbac(client: &Client, checks: &[Access]) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let allowed = futures::future::join_all(
            checks
                .iter()
                .filter(|a| a.allowed)
                .map(|a| reviewed(client, a)),
        )
        .await;
        if allowed.iter().all(|a| *a) || tokio::time::Instant::now() > deadline {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A real request the ServiceAccount must be refused.
fn forbidden(what: &str, result: Result<(), kube::Error>) {
    match result {
        Err(kube::Error::Api(status)) if status.code == 403 => {}
        other => panic!("{what}: expected 403 Forbidden, got {other:?}"),
    }
}

/// The namespaces and names one scenario's checks are about.
struct Names {
    /// The release namespace: the ServiceAccount, the webhook Secret, the Lease.
    release: String,
    /// The namespace of the account and channels, watched in both modes.
    app: String,
    /// Another namespace the namespaced mode watches (empty).
    also_watched: String,
    /// A namespace no mode watches.
    other: String,
    service_account: String,
    /// The chart's full name: ClusterRoles, the Lease.
    fullname: String,
}

/// What the operator needs wherever it watches, and what it must never be able to do.
fn common_checks(n: &Names) -> Vec<Access> {
    let (app, release) = (n.app.as_str(), n.release.as_str());
    vec![
        // Its own kinds: watch, read, finalizers (patch), status.
        allow("list", CHANNELS, app, ""),
        allow("watch", CHANNELS, app, ""),
        allow("list", ACCOUNTS, app, ""),
        allow("watch", ACCOUNTS, app, ""),
        allow("get", CHANNELS, app, "acme-support"),
        allow("patch", CHANNELS, app, "acme-brasil"),
        allow("patch", CHANNEL_STATUS, app, "acme-support"),
        allow("patch", ACCOUNT_STATUS, app, "acme"),
        // Secrets by name, events, the deletion guards, the webhook Secret; creating the empty
        // verification-code Secret a channel names.
        allow("get", "secrets", app, "acme-graph-token"),
        allow("create", "secrets", app, ""),
        allow("create", EVENTS, app, ""),
        allow("patch", EVENTS, app, ""),
        allow("get", CRDS, "", CHANNEL_CRD),
        allow("get", "namespaces", "", app),
        allow("get", "secrets", release, WEBHOOK_SECRET),
        // Secrets are never listed or watched, anywhere, nor changed once they exist.
        deny("list", "secrets", app, ""),
        deny("watch", "secrets", app, ""),
        deny("list", "secrets", "", ""),
        deny("watch", "secrets", "", ""),
        deny("list", "secrets", release, ""),
        deny("update", "secrets", app, "acme-graph-token"),
        deny("patch", "secrets", app, "acme-graph-token"),
        deny("delete", "secrets", app, "acme-graph-token"),
        // Accounts and channels are the users'; the operator never creates or deletes them.
        deny("create", CHANNELS, app, ""),
        deny("delete", CHANNELS, app, "acme-support"),
        deny("deletecollection", CHANNELS, app, ""),
        deny("create", ACCOUNTS, app, ""),
        deny("delete", ACCOUNTS, app, "acme"),
        // CRDs: only reading the channel CRD by name.
        deny("create", CRDS, "", ""),
        deny("delete", CRDS, "", CHANNEL_CRD),
        deny("patch", CRDS, "", CHANNEL_CRD),
        deny("update", CRDS, "", CHANNEL_CRD),
        deny("list", CRDS, "", ""),
        deny("get", CRDS, "", ACCOUNTS), // the account CRD, by its name
        // No way to more rights: RBAC, pods (which could mount any ServiceAccount), tokens,
        // impersonation.
        deny("create", CLUSTER_ROLES, "", ""),
        deny("escalate", CLUSTER_ROLES, "", &n.fullname),
        deny("bind", CLUSTER_ROLES, "", "cluster-admin"),
        deny("patch", CLUSTER_ROLES, "", &n.fullname),
        deny("delete", CLUSTER_ROLES, "", &n.fullname),
        deny("create", CLUSTER_ROLE_BINDINGS, "", ""),
        deny("create", ROLES, app, ""),
        deny("create", ROLE_BINDINGS, app, ""),
        deny("create", ROLE_BINDINGS, release, ""),
        deny("create", "pods", app, ""),
        deny("create", "pods", release, ""),
        deny("create", "deployments.apps", release, ""),
        deny(
            "create",
            "serviceaccounts/token",
            release,
            &n.service_account,
        ),
        deny("impersonate", "users", "", ""),
        deny("impersonate", "serviceaccounts", release, ""),
        // Nothing else of the cluster.
        deny("list", "namespaces", "", ""),
        deny("create", "namespaces", "", ""),
        deny("delete", "namespaces", "", app),
        deny("list", "pods", app, ""),
        deny("list", "configmaps", app, ""),
        deny("create", "events", app, ""),
        deny("create", LEASES, app, ""),
        deny("get", LEASES, app, &n.fullname),
    ]
}

/// Every namespace with a ClusterRole; the Lease through its Role.
fn all_namespaces_checks(n: &Names) -> Vec<Access> {
    let (other, release, lease) = (n.other.as_str(), n.release.as_str(), n.fullname.as_str());
    vec![
        allow("list", CHANNELS, "", ""),
        allow("watch", CHANNELS, "", ""),
        allow("list", ACCOUNTS, "", ""),
        allow("watch", ACCOUNTS, "", ""),
        allow("get", CHANNELS, other, "acme-shop-app"),
        allow("patch", CHANNEL_STATUS, other, "x"),
        allow("get", "secrets", other, "other-token"),
        allow("create", "secrets", other, ""),
        deny("update", "secrets", other, "other-token"),
        deny("patch", "secrets", other, "other-token"),
        deny("delete", "secrets", other, "other-token"),
        allow("create", EVENTS, other, ""),
        allow("get", "namespaces", "", other),
        // The Lease: create (which cannot be limited to a name), then only this one Lease.
        allow("create", LEASES, release, ""),
        allow("get", LEASES, release, lease),
        allow("patch", LEASES, release, lease),
        deny("get", LEASES, release, "another-controller"),
        deny("patch", LEASES, release, "another-controller"),
        deny("update", LEASES, release, lease),
        deny("delete", LEASES, release, lease),
        deny("list", LEASES, release, ""),
        deny("watch", LEASES, release, ""),
    ]
}

/// Roles in the watched namespaces only; nothing of other namespaces, no Lease without leader
/// election.
fn namespaced_checks(n: &Names) -> Vec<Access> {
    let (watched, other, release) = (
        n.also_watched.as_str(),
        n.other.as_str(),
        n.release.as_str(),
    );
    vec![
        allow("list", CHANNELS, watched, ""),
        allow("watch", ACCOUNTS, watched, ""),
        allow("get", "secrets", watched, "any"),
        allow("create", "secrets", watched, ""),
        deny("update", "secrets", watched, "any"),
        deny("patch", "secrets", watched, "any"),
        allow("create", EVENTS, watched, ""),
        allow("get", "namespaces", "", watched),
        deny("list", CHANNELS, "", ""),
        deny("watch", CHANNELS, "", ""),
        deny("list", ACCOUNTS, "", ""),
        deny("get", CHANNELS, other, "acme-shop-app"),
        deny("list", CHANNELS, other, ""),
        deny("watch", CHANNELS, other, ""),
        deny("patch", CHANNELS, other, "acme-shop-app"),
        deny("update", CHANNELS, other, "acme-shop-app"),
        deny("patch", CHANNEL_STATUS, other, "acme-shop-app"),
        deny("list", ACCOUNTS, other, ""),
        deny("get", "secrets", "", "other-token"),
        deny("get", "secrets", other, "other-token"),
        deny("get", "secrets", release, "another-secret"),
        deny("create", "secrets", "", ""),
        deny("create", "secrets", other, ""),
        deny("create", "secrets", release, ""),
        deny("create", EVENTS, other, ""),
        deny("get", "namespaces", "", other),
        deny("get", "namespaces", "", release),
        deny("create", LEASES, release, ""),
        deny("get", LEASES, release, &n.fullname),
    ]
}

// --- The scenario ---------------------------------------------------------------------------

/// Installs the chart (every namespace, or `watchNamespaces`), proves the ServiceAccount's
/// rights, runs the operator as the chart's pod and has it sync, then uninstalls.
async fn installed_chart_syncs_with_least_privilege(namespaced: bool) {
    let mode = if namespaced { "ns" } else { "all" };
    let w = World::new(&format!("chart-{mode}-app"))
        .await
        .with_timeout(WAIT);
    let admin = w.client.clone();
    let release_ns = harness::fresh_namespace(&admin, &format!("chart-{mode}")).await;
    let also_watched = harness::fresh_namespace(&admin, &format!("chart-{mode}-watched")).await;
    let other = harness::fresh_namespace(&admin, &format!("chart-{mode}-other")).await;
    // Named after its fresh namespace: no other release of the suite has that name.
    let release_name = release_ns.clone();

    // Objects the checks and the operator work on: the examples in the app namespace, and a
    // channel and a Secret in a namespace the operator must leave alone.
    w.apply_example("account.yaml").await;
    w.apply(&harness::example_with(
        "channel-adopt.yaml",
        &[(
            r#"phoneNumber: "+55 11 98765-4321""#,
            "phoneNumber: \"+55 11 98765-4321\"\n  deletionPolicy: Deregister",
        )],
    ))
    .await;
    harness::apply_yaml(
        &admin,
        &other,
        &harness::example("channel-observe-only.yaml"),
    )
    .await
    .expect("a channel in the other namespace");
    let secret = |name: &str, data: serde_json::Value| -> Secret {
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
            .expect("Secret")
    };
    Api::<Secret>::namespaced(admin.clone(), &other)
        .create(
            &PostParams::default(),
            &secret("other-token", json!({"token": "x"})),
        )
        .await
        .expect("a Secret in the other namespace");
    Api::<Secret>::namespaced(admin.clone(), &release_ns)
        .create(
            &PostParams::default(),
            &secret(
                WEBHOOK_SECRET,
                json!({"app-secret": "chart-app-secret", "verify-token": VERIFY_TOKEN}),
            ),
        )
        .await
        .expect("the webhook Secret");

    let metrics_port = free_port();
    let webhook_port = free_port();
    assert_ne!(metrics_port, webhook_port);
    let mut values = format!(
        r#"crds: {{enabled: false}}
graph: {{baseUrl: "{sim}"}}
metrics: {{port: {metrics_port}}}
webhook: {{port: {webhook_port}}}
logFormat: text
logLevel: "info,whatsapp_operator=debug"
"#,
        sim = w.sim.base_url()
    );
    if namespaced {
        values.push_str(&format!(
            "watchNamespaces: [{}, {also_watched}]\nreplicaCount: 1\nleaderElection: {{enabled: false}}\n",
            w.ns
        ));
    }
    let mut release = Release::install(&release_name, &release_ns, &values);

    // What the chart gives the pod, read back from the apiserver.
    let deployments: Api<Deployment> = Api::namespaced(admin.clone(), &release_ns);
    let selector = format!("app.kubernetes.io/instance={release_name}");
    let mut listed = deployments
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list the release's Deployments")
        .items;
    assert_eq!(listed.len(), 1, "one Deployment per release");
    let deployment = listed.remove(0);
    let fullname = deployment.metadata.name.clone().expect("Deployment name");
    let pod = deployment.spec.template.spec.expect("pod spec");
    let service_account = pod
        .service_account_name
        .clone()
        .expect("the pod's ServiceAccount");
    let container = pod
        .containers
        .iter()
        .find(|c| c.name == "operator")
        .expect("the operator container");

    let identity = pod_identity(&admin, &release_ns, &service_account).await;
    let launch = launch_of(
        container,
        &format!("{fullname}-0"),
        &release_ns,
        &identity.kubeconfig,
    );
    let metrics_addr = format!("127.0.0.1:{metrics_port}");
    assert_eq!(launch.env("WAO_METRICS_ADDR"), Some(metrics_addr.as_str()));
    let webhook_addr = format!("127.0.0.1:{webhook_port}");
    assert_eq!(launch.env("WAO_WEBHOOK_ADDR"), Some(webhook_addr.as_str()));
    let mut args = launch.args.clone();
    if !namespaced {
        // The one deviation from the chart: the suite's other tests run their own operators in
        // their own namespaces of this control plane at the same time, and an operator
        // watching every namespace would reconcile their resources too. The ClusterRole's
        // cluster-wide list and watch are proven by the access reviews instead.
        args.extend(["--namespaces".to_string(), w.ns.clone()]);
    }
    let names = Names {
        release: release_ns.clone(),
        app: w.ns.clone(),
        also_watched: also_watched.clone(),
        other: other.clone(),
        service_account: service_account.clone(),
        fullname: fullname.clone(),
    };
    let mut checks = common_checks(&names);
    checks.extend(if namespaced {
        namespaced_checks(&names)
    } else {
        all_namespaces_checks(&names)
    });
    // The apiserver's authorizer sees the release's bindings moments after helm returns; the
    // operator starts once everything it needs is allowed, so it meets no refusal on the way.
    settle_rbac(&identity.client, &checks).await;
    let mut operator =
        Operator::start_exact(&release_name, args, launch.env.clone(), &metrics_addr);

    // While it starts: what the ServiceAccount may and may not do.
    expect_access(&identity.client, &checks).await;

    // The same through real requests; writes as dry runs, so a wrong answer changes nothing.
    let sa = identity.client.clone();
    let app_secrets: Api<Secret> = Api::namespaced(sa.clone(), &w.ns);
    forbidden(
        "list Secrets of the app namespace",
        app_secrets.list(&ListParams::default()).await.map(drop),
    );
    forbidden(
        "list Secrets of every namespace",
        Api::<Secret>::all(sa.clone())
            .list(&ListParams::default())
            .await
            .map(drop),
    );
    app_secrets
        .get("acme-graph-token")
        .await
        .expect("get the account's Secret by name");
    let other_secret = Api::<Secret>::namespaced(sa.clone(), &other)
        .get("other-token")
        .await
        .map(drop);
    let dry_create = PostParams {
        dry_run: true,
        ..PostParams::default()
    };
    // The empty verification-code Secret a channel names may be created; no existing Secret
    // may be changed.
    let code_secret = secret("a-code-secret", json!({"code": ""}));
    app_secrets
        .create(&dry_create, &code_secret)
        .await
        .expect("create a Secret in a watched namespace");
    forbidden(
        "patch the account's Secret",
        app_secrets
            .patch(
                "acme-graph-token",
                &PatchParams {
                    dry_run: true,
                    ..PatchParams::default()
                },
                &Patch::Merge(json!({"stringData": {"token": "stolen"}})),
            )
            .await
            .map(drop),
    );
    let other_create = Api::<Secret>::namespaced(sa.clone(), &other)
        .create(&dry_create, &code_secret)
        .await
        .map(drop);
    let dry_delete = DeleteParams {
        dry_run: true,
        ..DeleteParams::default()
    };
    forbidden(
        "delete the channel CRD",
        Api::<CustomResourceDefinition>::all(sa.clone())
            .delete(CHANNEL_CRD, &dry_delete)
            .await
            .map(drop),
    );
    let admin_role: ClusterRole = serde_json::from_value(json!({
        "metadata": {"name": format!("{fullname}-escalated")},
        "rules": [{"apiGroups": ["*"], "resources": ["*"], "verbs": ["*"]}],
    }))
    .expect("ClusterRole");
    forbidden(
        "create a ClusterRole",
        Api::<ClusterRole>::all(sa.clone())
            .create(&dry_create, &admin_role)
            .await
            .map(drop),
    );
    Api::<WhatsAppChannel>::namespaced(sa.clone(), &w.ns)
        .list(&ListParams::default())
        .await
        .expect("list the app namespace's channels");
    let all_channels = Api::<WhatsAppChannel>::all(sa.clone())
        .list(&ListParams::default())
        .await
        .map(drop);
    let other_channel = Api::<WhatsAppChannel>::namespaced(sa.clone(), &other)
        .get("acme-shop-app")
        .await
        .map(drop);
    if namespaced {
        forbidden("get a Secret of an unwatched namespace", other_secret);
        forbidden("create a Secret in an unwatched namespace", other_create);
        forbidden("list channels of every namespace", all_channels);
        forbidden("get a channel of an unwatched namespace", other_channel);
    } else {
        other_secret.expect("get a Secret by name in any namespace");
        other_create.expect("create a Secret in any namespace");
        all_channels.expect("list channels of every namespace");
        other_channel.expect("get a channel of any namespace");
    }

    // The probes the chart configures answer where it says.
    for (what, probe) in [
        ("readiness", container.readiness_probe.as_ref()),
        ("liveness", container.liveness_probe.as_ref()),
    ] {
        let get = probe
            .and_then(|p| p.http_get.as_ref())
            .unwrap_or_else(|| panic!("no {what} probe"));
        let port = probe_port(container, &get.port);
        assert_eq!(port, i32::from(metrics_port), "{what} probe port");
        let url = format!(
            "http://127.0.0.1:{port}{}",
            get.path.as_deref().unwrap_or("/")
        );
        eventually(&format!("{what} probe {url}"), WAIT, || async {
            let status = reqwest::get(&url).await.ok()?.status();
            status.is_success().then_some(())
        })
        .await;
    }

    // The operator syncs with the chart's rights alone: status, events, the business profile
    // written at Meta, the finalizer of a Deregister channel and its deregistration.
    for name in ["acme-support", "acme-brasil"] {
        w.wait_channel(name, "Ready", |s| condition_is_true(&s.conditions, "Ready"))
            .await;
    }
    w.wait_account("acme", "Ready", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    w.expect_events("acme-support", "BusinessProfileUpdated", 1)
        .await;
    let brasil = w.channel("acme-brasil").await;
    assert!(
        brasil
            .metadata
            .finalizers
            .iter()
            .flatten()
            .any(|f| f == CHANNEL_FINALIZER),
        "{:?}",
        brasil.metadata.finalizers
    );
    w.delete_channel("acme-brasil").await;
    w.wait_channel_gone("acme-brasil").await;
    assert_eq!(w.sim.posts(&format!("/{BRASIL_ID}/deregister")).await, 1);
    // The channel of the unwatched namespace is left alone.
    let untouched = Api::<WhatsAppChannel>::namespaced(admin.clone(), &other)
        .get("acme-shop-app")
        .await
        .expect("the other namespace's channel");
    assert!(untouched.status.is_none(), "{:?}", untouched.status);

    // The webhook receiver read its Secret in the release namespace: Meta's handshake passes.
    let handshake = format!(
        "http://{webhook_addr}{}?hub.mode=subscribe&hub.verify_token={VERIFY_TOKEN}&hub.challenge=4711",
        launch.env("WAO_WEBHOOK_PATH").expect("the webhook path")
    );
    eventually("the webhook handshake", WAIT, || async {
        let response = reqwest::get(&handshake).await.ok()?;
        (response.status().is_success() && response.text().await.ok()? == "4711").then_some(())
    })
    .await;
    let metrics = operator.metrics().await;
    assert!(
        metrics.lines().any(|l| l == "whatsapp_operator_leader 1"),
        "{metrics}"
    );
    let log = operator.log_text();
    assert!(
        !log.to_lowercase().contains("forbidden"),
        "the operator was refused something:\n{log}"
    );
    assert!(
        operator.terminate(),
        "clean shutdown:\n{}",
        operator.log_text()
    );
    if !namespaced {
        // Shutting down handed the Lease back (a patch of that one Lease).
        let lease = Api::<Lease>::namespaced(admin.clone(), &release_ns)
            .get(&fullname)
            .await
            .expect("the Lease");
        let holder = lease.spec.and_then(|s| s.holder_identity);
        assert_eq!(holder, None, "the Lease is still held");
    }

    // Uninstalling removes the release's cluster-wide objects and its Roles.
    release.uninstall();
    let cluster_roles = Api::<ClusterRole>::all(admin.clone())
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list ClusterRoles");
    assert!(cluster_roles.items.is_empty(), "ClusterRoles left behind");
    let roles = Api::<Role>::all(admin.clone())
        .list(&ListParams::default().labels(&selector))
        .await
        .expect("list Roles");
    assert!(roles.items.is_empty(), "Roles left behind");
    // This control plane has no namespace controller: deleted namespaces stay Terminating, but
    // nothing watches them any more.
    let namespaces: Api<Namespace> = Api::all(admin.clone());
    for ns in [&release_ns, &also_watched, &other, &w.ns] {
        namespaces
            .delete(ns, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete namespace {ns}: {e}"));
    }
}

/// The default install: every namespace through one ClusterRole, leader election on.
#[tokio::test]
async fn installed_chart_watching_every_namespace_syncs_with_least_privilege() {
    installed_chart_syncs_with_least_privilege(false).await;
}

/// `watchNamespaces`: Roles in the watched namespaces only, one replica without leader
/// election; the operator runs with exactly what the chart gives it.
#[tokio::test]
async fn installed_chart_watching_listed_namespaces_syncs_with_least_privilege() {
    installed_chart_syncs_with_least_privilege(true).await;
}
