//! One scenario's world: a kube client, a fresh namespace with the CRDs installed, a Meta
//! simulator and, once started, the operator watching that namespace; with the steps the README
//! describes (apply the examples, wait for a channel, force a sync, read the events) as methods.

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, DynamicObject, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;
use whatsapp_operator::crd::{
    WhatsAppBusinessAccount, WhatsAppBusinessAccountStatus, WhatsAppChannel, WhatsAppChannelStatus,
    WhatsAppMessageTemplate, WhatsAppMessageTemplateStatus,
};

use crate::operator::{self, Operator, SeenEvent, eventually};
use crate::sim::Sim;

/// How long `wait_*` helpers wait unless [`World::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// Where scenarios' operators receive Meta's webhooks.
pub const WEBHOOK_PATH: &str = "/webhooks/meta";

/// The annotation that asks the operator for a reconcile now (the README's "force a sync").
pub const RECONCILE_REQUESTED_AT: &str = "whatsapp-operator.io/reconcile-requested-at";

/// A namespace of the test control plane, the simulator, and optionally the operator.
///
/// Fields drop in order: the operator is killed (and, in a failing test, shows its log) before
/// the simulator stops.
pub struct World {
    operator: Option<Operator>,
    pub sim: Sim,
    pub client: Client,
    /// The namespace every `apply` goes to and the operator watches.
    pub ns: String,
    /// How long `wait_*` helpers wait before failing the test.
    pub timeout: Duration,
}

/// The text of `examples/{file}`.
pub fn example(file: &str) -> String {
    let path = crate::repo_root().join("examples").join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// The text of `examples/{file}` with each `(from, to)` replaced; a `from` the file does not
/// contain fails the test, so a changed example cannot silently change the scenario.
pub fn example_with(file: &str, replacements: &[(&str, &str)]) -> String {
    let mut text = example(file);
    for (from, to) in replacements {
        assert!(
            text.contains(from),
            "examples/{file} no longer contains {from:?}"
        );
        text = text.replace(from, to);
    }
    text
}

impl World {
    /// A fresh namespace named after `prefix` and a simulator of the example world.
    pub async fn new(prefix: &str) -> Self {
        Self::with_sim(prefix, Sim::start()).await
    }

    /// A fresh namespace named after `prefix` and the given simulator.
    pub async fn with_sim(prefix: &str, sim: Sim) -> Self {
        let client = crate::control_plane().client();
        crate::install_crds(&client).await;
        let ns = crate::fresh_namespace(&client, prefix).await;
        Self {
            operator: None,
            sim,
            client,
            ns,
            timeout: DEFAULT_TIMEOUT,
        }
    }

    /// The same world with another timeout for the `wait_*` helpers.
    /// A world holding the example account, syncing every minute and with its webhook
    /// subscription off: subscribing the app is the account's own write, so a scenario counts
    /// only its channels' writes. No operator yet.
    pub async fn with_quiet_account(prefix: &str, timeout: Duration) -> Self {
        let w = Self::new(prefix).await.with_timeout(timeout);
        w.apply_example_with(
            "account.yaml",
            &[
                ("syncInterval: 10m", "syncInterval: 1m"),
                ("enabled: true", "enabled: false"),
            ],
        )
        .await;
        w
    }

    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// A fresh namespace and a simulator that delivers Meta's webhooks to the receiver URL
    /// returned, on a port picked now; [`World::start_operator_with_receiver`] starts the
    /// operator listening there.
    pub async fn with_webhook_receiver(prefix: &str) -> (Self, String) {
        let url = format!("http://127.0.0.1:{}{WEBHOOK_PATH}", operator::free_port());
        let w = Self::with_sim(prefix, Sim::delivering_to(&url)).await;
        (w, url)
    }

    /// Creates the webhook Secret (the simulator's app secret and verify token) and starts the
    /// operator with its receiver at `url` (from [`World::with_webhook_receiver`]) and `extra`.
    pub async fn start_operator_with_receiver(&mut self, url: &str, extra: &[&str]) {
        self.create_secret(
            "whatsapp-operator-webhook",
            &[
                ("app-secret", "sim-app-secret-change-me"),
                ("verify-token", "sim-verify-token"),
            ],
        )
        .await;
        let addr = url
            .trim_start_matches("http://")
            .trim_end_matches(WEBHOOK_PATH)
            .to_owned();
        let ns = self.ns.clone();
        let mut args = vec![
            "--webhook-addr",
            addr.as_str(),
            "--webhook-path",
            WEBHOOK_PATH,
            "--webhook-secret-namespace",
            ns.as_str(),
        ];
        args.extend_from_slice(extra);
        self.start_operator(&args);
    }

    // --- Objects ----------------------------------------------------------------------------

    /// Server-side-applies every document of `yaml` into the namespace; an error fails the test.
    pub async fn apply(&self, yaml: &str) -> Vec<DynamicObject> {
        self.try_apply(yaml).await.expect("apply YAML")
    }

    /// Server-side-applies every document of `yaml` into the namespace.
    pub async fn try_apply(&self, yaml: &str) -> Result<Vec<DynamicObject>, kube::Error> {
        crate::apply_yaml(&self.client, &self.ns, yaml).await
    }

    /// Applies `examples/{file}` as it is.
    pub async fn apply_example(&self, file: &str) -> Vec<DynamicObject> {
        self.apply(&example(file)).await
    }

    /// Applies `examples/{file}` with text replacements (see [`example_with`]).
    pub async fn apply_example_with(
        &self,
        file: &str,
        replacements: &[(&str, &str)],
    ) -> Vec<DynamicObject> {
        self.apply(&example_with(file, replacements)).await
    }

    pub fn channels(&self) -> Api<WhatsAppChannel> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn accounts(&self) -> Api<WhatsAppBusinessAccount> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    pub fn templates(&self) -> Api<WhatsAppMessageTemplate> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// The template as it is now; a missing template fails the test.
    pub async fn template(&self, name: &str) -> WhatsAppMessageTemplate {
        self.templates()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get template {name}: {e}"))
    }

    /// Waits until the template has a status for which `check` holds, and returns it.
    pub async fn wait_template<F>(
        &self,
        name: &str,
        what: &str,
        check: F,
    ) -> WhatsAppMessageTemplateStatus
    where
        F: Fn(&WhatsAppMessageTemplateStatus) -> bool,
    {
        eventually(&format!("{name}: {what}"), self.timeout, || async {
            let s = self.template(name).await.status?;
            check(&s).then_some(s)
        })
        .await
    }

    /// Waits until the template is gone from the apiserver.
    pub async fn wait_template_gone(&self, name: &str) {
        eventually(&format!("{name} deleted"), self.timeout, || async {
            self.templates()
                .get_opt(name)
                .await
                .unwrap_or_else(|e| panic!("get template {name}: {e}"))
                .is_none()
                .then_some(())
        })
        .await;
    }

    pub fn secrets(&self) -> Api<Secret> {
        Api::namespaced(self.client.clone(), &self.ns)
    }

    /// The channel as it is now; a missing channel fails the test.
    pub async fn channel(&self, name: &str) -> WhatsAppChannel {
        self.channels()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get channel {name}: {e}"))
    }

    /// The account as it is now; a missing account fails the test.
    pub async fn account(&self, name: &str) -> WhatsAppBusinessAccount {
        self.accounts()
            .get(name)
            .await
            .unwrap_or_else(|e| panic!("get account {name}: {e}"))
    }

    /// Creates a Secret with `string_data`.
    pub async fn create_secret(&self, name: &str, string_data: &[(&str, &str)]) {
        let data: serde_json::Map<String, serde_json::Value> = string_data
            .iter()
            .map(|(k, v)| ((*k).to_owned(), json!(v)))
            .collect();
        let secret: Secret =
            serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
                .expect("Secret");
        self.secrets()
            .create(&PostParams::default(), &secret)
            .await
            .unwrap_or_else(|e| panic!("create Secret {name}: {e}"));
    }

    /// Sets one key of an existing Secret (as a person would put an SMS code there).
    pub async fn set_secret(&self, name: &str, key: &str, value: &str) {
        let patch = json!({"stringData": {key: value}});
        self.secrets()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("patch Secret {name}: {e}"));
    }

    /// Deletes the channel (its finalizer may hold it; see [`World::wait_channel_gone`]).
    pub async fn delete_channel(&self, name: &str) {
        self.channels()
            .delete(name, &DeleteParams::default())
            .await
            .unwrap_or_else(|e| panic!("delete channel {name}: {e}"));
    }

    // --- The operator -----------------------------------------------------------------------

    /// Starts the operator for this namespace and the simulator, with `extra` arguments; the
    /// world owns it from then on ([`World::operator`]).
    pub fn start_operator(&mut self, extra: &[&str]) -> &mut Operator {
        assert!(self.operator.is_none(), "the operator is already started");
        let op = self.spawn_operator(extra);
        self.operator.insert(op)
    }

    /// Another operator process for this namespace that the caller owns (e.g. a second
    /// replica for leader election).
    pub fn spawn_operator(&self, extra: &[&str]) -> Operator {
        Operator::start(&self.ns, &self.sim.base_url(), extra)
    }

    /// The operator started with [`World::start_operator`].
    pub fn operator(&self) -> &Operator {
        self.operator.as_ref().expect("the operator is not started")
    }

    pub fn operator_mut(&mut self) -> &mut Operator {
        self.operator.as_mut().expect("the operator is not started")
    }

    // --- Waiting ----------------------------------------------------------------------------

    /// Waits until the channel has a status for which `check` holds, and returns it.
    pub async fn wait_channel<F>(&self, name: &str, what: &str, check: F) -> WhatsAppChannelStatus
    where
        F: Fn(&WhatsAppChannelStatus) -> bool,
    {
        eventually(&format!("{name}: {what}"), self.timeout, || async {
            let s = self.channel(name).await.status?;
            check(&s).then_some(s)
        })
        .await
    }

    /// Waits until the account has a status for which `check` holds, and returns it.
    pub async fn wait_account<F>(
        &self,
        name: &str,
        what: &str,
        check: F,
    ) -> WhatsAppBusinessAccountStatus
    where
        F: Fn(&WhatsAppBusinessAccountStatus) -> bool,
    {
        eventually(&format!("{name}: {what}"), self.timeout, || async {
            let s = self.account(name).await.status?;
            check(&s).then_some(s)
        })
        .await
    }

    /// Waits until the channel is gone from the apiserver.
    pub async fn wait_channel_gone(&self, name: &str) {
        eventually(&format!("{name} deleted"), self.timeout, || async {
            self.channels()
                .get_opt(name)
                .await
                .unwrap_or_else(|e| panic!("get channel {name}: {e}"))
                .is_none()
                .then_some(())
        })
        .await;
    }

    /// Sets the reconcile-requested-at annotation of the channel to `token`.
    pub async fn request_channel_reconcile(&self, name: &str, token: &str) {
        let patch = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT: token}}});
        self.channels()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("annotate channel {name}: {e}"));
    }

    /// Sets the reconcile-requested-at annotation of the account to `token`.
    pub async fn request_account_reconcile(&self, name: &str, token: &str) {
        let patch = json!({"metadata": {"annotations": {RECONCILE_REQUESTED_AT: token}}});
        self.accounts()
            .patch(name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
            .unwrap_or_else(|e| panic!("annotate account {name}: {e}"));
    }

    /// Forces a sync of the account through the annotation and waits until it was handled:
    /// whatever Meta said before it is in the account's status by then.
    pub async fn force_sync(&self, account: &str, token: &str) {
        self.request_account_reconcile(account, token).await;
        self.wait_account(account, "the forced sync to be handled", |s| {
            s.sync.last_handled_reconcile_at.as_deref() == Some(token)
        })
        .await;
    }

    // --- Events -----------------------------------------------------------------------------

    /// Every event in the namespace.
    pub async fn events(&self) -> Vec<SeenEvent> {
        operator::events(&self.client, &self.ns).await
    }

    /// Occurrences of `reason` on the object `name`.
    pub async fn event_count(&self, name: &str, reason: &str) -> i32 {
        operator::event_count(&self.client, &self.ns, name, reason).await
    }

    /// Occurrences of every event in the namespace.
    pub async fn total_events(&self) -> i32 {
        operator::total_events(&self.client, &self.ns).await
    }

    /// Waits (up to 15 s) until `reason` on `name` occurred exactly `expected` times; more
    /// fails at once (see [`operator::expect_events`]).
    pub async fn expect_events(&self, name: &str, reason: &str, expected: i32) {
        operator::expect_events(&self.client, &self.ns, name, reason, expected).await;
    }

    /// Waits until `reason` on `name` occurred at least once.
    pub async fn wait_event(&self, name: &str, reason: &str) {
        eventually(&format!("{reason} on {name}"), self.timeout, || async {
            (self.event_count(name, reason).await >= 1).then_some(())
        })
        .await;
    }

    /// Waits until `reason` on `name` occurred `count` times, and checks it is not more.
    pub async fn wait_events(&self, name: &str, reason: &str, count: i32) {
        eventually(
            &format!("{count} {reason} on {name}"),
            self.timeout,
            || async { (self.event_count(name, reason).await >= count).then_some(()) },
        )
        .await;
        assert_eq!(
            self.event_count(name, reason).await,
            count,
            "{reason} on {name}: {:?}",
            self.events().await
        );
    }
}
