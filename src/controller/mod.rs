//! The two controllers: accounts read Meta once per sync and feed their channels.
//!
//! observe (stores, Secrets, Graph reads, the account's snapshot) -> decide (`plan_account`,
//! `plan_channel`, pure) -> act (at most one write to Meta, through the context's
//! `MetaExecutor`) -> apply (status by server-side apply only when it changed, then events).

mod account;
mod apply;
mod channel;
mod claims;
mod cleanup;
mod echoes;
mod error;
mod events;
mod executor;
mod forget;
mod history;
mod inbox;
mod index;
mod last_sync;
mod memory;
mod registration;
mod requeue;
mod scrape;
mod secrets;
mod snapshots;
mod stores;
mod template;
mod token_info;
mod webhooks;

pub use error::Error;
pub use executor::{GraphExecutor, MetaAction, MetaExecutor, SharedExecutor, Target};
pub use snapshots::{AccountStatuses, Snapshots};
pub use webhooks::WebhookSettings;

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc;
use kube::runtime::controller::{self, Action, Controller};
use kube::runtime::reflector::{ObjectRef, Store};
use kube::runtime::watcher;
use kube::{Api, Client};
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};
use crate::graph::GraphClient;
use crate::metrics::Metrics;
use crate::webhook::Delivery;

/// Field manager of every status the operator applies.
pub const FIELD_MANAGER: &str = "whatsapp-operator";

/// What both controllers of one watch scope share.
pub struct Context {
    pub client: Client,
    /// Reads from Meta (the account's WABA read, profiles, token inspection).
    pub graph: GraphClient,
    /// The only writer to Meta.
    pub executor: SharedExecutor,
    pub metrics: Arc<Metrics>,
    pub reporter: events::Reporter,
    /// Meta's inspection of each distinct access token, for every scope of the process.
    pub tokens: Arc<token_info::TokenInspections>,
    /// The controllers' own status writes, whose watch events reconcile nothing.
    pub own_writes: Arc<echoes::OwnWrites>,
    pub stores: Stores,
    pub model: Model,
    /// Who owns each WABA id and number, across every scope of the process.
    claims: Arc<claims::Claims>,
    triggers: Triggers,
}

/// The watch caches of the scope and whether each holds its first listing (never
/// `Store::wait_until_ready`, see `stores`).
pub struct Stores {
    /// The namespace watched; `None` for all.
    pub namespace: Option<String>,
    pub accounts: Store<WhatsAppBusinessAccount>,
    pub channels: Store<WhatsAppChannel>,
    pub templates: Store<WhatsAppMessageTemplate>,
    accounts_ready: stores::Readiness,
    channels_ready: stores::Readiness,
    templates_ready: stores::Readiness,
}

/// Everything this process knows between reconciles for one watch scope, kept from watch events
/// and reconciles, forgotten with each resource; status is the durable memory.
pub struct Model {
    /// Each account's last WABA read, for its channels.
    pub snapshots: Snapshots,
    /// Each account's status as this process last decided it.
    pub account_statuses: AccountStatuses,
    accounts_by_waba: Arc<index::AccountsByWaba>,
    channels_by_account: Arc<index::ChannelsByAccount>,
    templates_by_account: Arc<index::TemplatesByAccount>,
    /// Webhook facts waiting for their resources' next reconcile, forced accounts, standings.
    webhooks: webhooks::WebhookState,
    /// Per resource UID: what status cannot hold without a write (see `memory`).
    memory: memory::Memory,
}

/// How one controller asks the other for a reconcile.
struct Triggers {
    /// Channels after their account synced (or a webhook named their number).
    channels: mpsc::UnboundedSender<ObjectRef<WhatsAppChannel>>,
    /// Templates after their account synced (or a webhook named them).
    templates: mpsc::UnboundedSender<ObjectRef<WhatsAppMessageTemplate>>,
    /// An account that a webhook named, or whose channel wrote to Meta and needs a fresh read.
    accounts: mpsc::UnboundedSender<ObjectRef<WhatsAppBusinessAccount>>,
    /// Account syncs asked for later, one pending entry per account.
    later: requeue::Requeue<WhatsAppBusinessAccount>,
}

/// Settings of the controllers.
#[derive(Clone, Debug)]
pub struct ControllerConfig {
    /// Namespaces to watch; empty means all.
    pub namespaces: Vec<String>,
    pub concurrency: u16,
    /// Reporting instance of events (the pod name).
    pub instance: String,
    pub webhooks: WebhookSettings,
}

/// Runs both controllers for every watch scope until `shutdown` is cancelled. `facts` are the
/// webhook receiver's, when it runs.
pub async fn run(
    client: Client,
    graph: GraphClient,
    executor: SharedExecutor,
    metrics: Arc<Metrics>,
    config: ControllerConfig,
    facts: Option<mpsc::UnboundedReceiver<Delivery>>,
    shutdown: CancellationToken,
) {
    let scopes: Vec<Option<String>> = if config.namespaces.is_empty() {
        vec![None]
    } else {
        config.namespaces.iter().cloned().map(Some).collect()
    };
    let reporter = events::Reporter {
        controller: "whatsapp-operator".into(),
        instance: config.instance.clone(),
    };
    let shared = Shared {
        client,
        graph,
        executor,
        metrics,
        reporter,
        tokens: Arc::default(),
        own_writes: Arc::default(),
        claims: Arc::default(),
    };
    let mut scope_senders = Vec::new();
    let runs = scopes.into_iter().map(|ns| {
        let (tx, rx) = mpsc::unbounded();
        scope_senders.push(tx);
        let scope = Scope::new(shared.clone(), ns.as_deref(), &config);
        scope.run(rx, shutdown.clone())
    });
    let runs: Vec<_> = runs.collect();
    let fan_out = async move {
        match facts {
            Some(facts) => {
                tokio::select! {
                    _ = webhooks::fan_out(facts, scope_senders) => {}
                    _ = shutdown.cancelled() => {}
                }
            }
            None => drop(scope_senders),
        }
    };
    futures::join!(futures::future::join_all(runs), fan_out);
}

fn api_for<K>(client: &Client, namespace: Option<&str>) -> Api<K>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
    K::DynamicType: Default,
{
    match namespace {
        Some(ns) => Api::namespaced(client.clone(), ns),
        None => Api::all(client.clone()),
    }
}

/// What every watch scope shares.
#[derive(Clone)]
struct Shared {
    client: Client,
    graph: GraphClient,
    executor: SharedExecutor,
    metrics: Arc<Metrics>,
    reporter: events::Reporter,
    tokens: Arc<token_info::TokenInspections>,
    own_writes: Arc<echoes::OwnWrites>,
    claims: Arc<claims::Claims>,
}

/// Both controllers of one watch scope, their context, and the queues that feed them.
struct Scope {
    ctx: Arc<Context>,
    accounts: Controller<WhatsAppBusinessAccount>,
    channels: Controller<WhatsAppChannel>,
    templates: Controller<WhatsAppMessageTemplate>,
    gone: mpsc::UnboundedReceiver<stores::Gone>,
    due_accounts: requeue::Due<WhatsAppBusinessAccount>,
}

impl Scope {
    fn new(shared: Shared, ns: Option<&str>, config: &ControllerConfig) -> Self {
        let cfg = controller::Config::default().concurrency(config.concurrency);
        let wc = watcher::Config::default().any_semantic();
        let (account_tx, account_rx) = mpsc::unbounded();
        let (channel_tx, channel_rx) = mpsc::unbounded();
        let (template_tx, template_rx) = mpsc::unbounded();
        let (gone_tx, gone) = mpsc::unbounded();
        let accounts_by_waba = Arc::new(index::AccountsByWaba::default());
        let channels_by_account = Arc::new(index::ChannelsByAccount::default());
        let channels_by_number = Arc::new(index::ChannelsByNumber::default());
        let by_waba = accounts_by_waba.clone();
        let (accounts, accounts_ready) = stores::controller(
            api_for::<WhatsAppBusinessAccount>(&shared.client, ns),
            shared.own_writes.clone(),
            wc.clone(),
            gone_tx.clone(),
            move |event| by_waba.observe(event, claims::waba_claim_entry),
        );
        let by_account = channels_by_account.clone();
        let by_number = channels_by_number.clone();
        let templates_by_account = Arc::new(index::TemplatesByAccount::default());
        let by_account_t = templates_by_account.clone();
        let (templates, templates_ready) = stores::controller(
            api_for::<WhatsAppMessageTemplate>(&shared.client, ns),
            shared.own_writes.clone(),
            wc.clone(),
            gone_tx.clone(),
            move |event| by_account_t.observe(event, index::template_entry),
        );
        let (channels, channels_ready) = stores::controller(
            api_for::<WhatsAppChannel>(&shared.client, ns),
            shared.own_writes.clone(),
            wc,
            gone_tx,
            move |event| {
                by_account.observe(event, index::channel_entry);
                by_number.observe(event, claims::number_claim_entry);
            },
        );
        shared.claims.register(claims::ScopeClaims {
            accounts: accounts_by_waba.clone(),
            channels: channels_by_number,
            accounts_ready: accounts_ready.clone(),
            channels_ready: channels_ready.clone(),
        });
        let accounts = accounts.with_config(cfg.clone()).reconcile_on(account_rx);
        let channels = channels.with_config(cfg.clone()).reconcile_on(channel_rx);
        let templates = templates.with_config(cfg).reconcile_on(template_rx);
        let (account_requeue, due_accounts) = requeue::queue();
        let ctx = Arc::new(Context {
            client: shared.client,
            graph: shared.graph,
            executor: shared.executor,
            metrics: shared.metrics,
            reporter: shared.reporter,
            tokens: shared.tokens,
            own_writes: shared.own_writes.clone(),
            stores: Stores {
                namespace: ns.map(str::to_string),
                accounts: accounts.store(),
                channels: channels.store(),
                templates: templates.store(),
                accounts_ready,
                channels_ready,
                templates_ready,
            },
            model: Model {
                snapshots: Snapshots::default(),
                account_statuses: AccountStatuses::default(),
                accounts_by_waba,
                channels_by_account,
                templates_by_account,
                webhooks: webhooks::WebhookState::new(config.webhooks.clone()),
                memory: memory::Memory::default(),
            },
            claims: shared.claims,
            triggers: Triggers {
                channels: channel_tx,
                templates: template_tx,
                accounts: account_tx,
                later: account_requeue,
            },
        });
        ctx.metrics.register_scope(scrape::ScopeView::of(&ctx));
        Self {
            ctx,
            accounts,
            channels,
            templates,
            gone,
            due_accounts,
        }
    }

    /// Runs until `shutdown`: both controllers, forgetting, the delayed syncs and the webhook
    /// facts of this scope.
    async fn run(self, facts: mpsc::UnboundedReceiver<Delivery>, shutdown: CancellationToken) {
        let ctx = self.ctx;
        let account_stream = self
            .accounts
            .graceful_shutdown_on(shutdown.clone().cancelled_owned())
            .run(account::reconcile, error_policy, ctx.clone())
            .for_each(|res| async move { report("account", res) });
        let channel_stream = self
            .channels
            .graceful_shutdown_on(shutdown.clone().cancelled_owned())
            .run(channel::reconcile, error_policy, ctx.clone())
            .for_each(|res| async move { report("channel", res) });
        let template_stream = self
            .templates
            .graceful_shutdown_on(shutdown.clone().cancelled_owned())
            .run(template::reconcile, error_policy, ctx.clone())
            .for_each(|res| async move { report("template", res) });
        let prune = forget_gone(ctx.clone(), self.gone, shutdown.clone());
        let due = {
            let ctx = ctx.clone();
            self.due_accounts.run(
                move |uid, object| ctx.force_account_sync(uid, object),
                shutdown.clone(),
            )
        };
        let dispatch = async {
            tokio::select! {
                _ = webhooks::dispatch(ctx.clone(), facts) => {}
                _ = shutdown.cancelled() => {}
            }
        };
        futures::join!(
            account_stream,
            channel_stream,
            template_stream,
            prune,
            due,
            dispatch
        );
    }
}

/// Forgets what is kept in memory for a resource as soon as its watch reports it deleted, and
/// after every fresh listing whatever the listing no longer holds (deletions while the watch was
/// down): memory follows the watch, with no periodic sweep.
async fn forget_gone(
    ctx: Arc<Context>,
    mut gone: mpsc::UnboundedReceiver<stores::Gone>,
    shutdown: CancellationToken,
) {
    loop {
        let next = tokio::select! {
            next = gone.next() => next,
            _ = shutdown.cancelled() => return,
        };
        match next {
            Some(stores::Gone::Deleted(deleted)) => {
                ctx.forget_deleted(&forget::Deleted::new(&ctx, deleted))
            }
            Some(stores::Gone::Relisted) => {
                if !ctx.stores_ready().await {
                    return;
                }
                ctx.forget_deleted(&forget::Live::of(&ctx));
            }
            None => return,
        }
    }
}

/// Logs what the controller stream reports; reconcile errors are already counted and shown in
/// status by the reconcilers.
fn report<K>(
    kind: &'static str,
    res: Result<(ObjectRef<K>, Action), controller::Error<Error, watcher::Error>>,
) where
    K: kube::Resource,
    K::DynamicType: std::fmt::Debug,
{
    match res {
        Ok((obj, _)) => debug!(kind, name = %obj.name, "reconciled"),
        Err(controller::Error::ObjectNotFound(obj)) => {
            debug!(kind, name = %obj.name, "object gone")
        }
        Err(controller::Error::ReconcilerFailed(err, obj)) => {
            warn!(kind, name = %obj.name, namespace = ?obj.namespace, error = %err, "reconcile failed");
        }
        Err(err) => warn!(kind, error = %err, "controller error"),
    }
}

/// Backs off per object after Kubernetes API failures (Meta failures are handled in decide and
/// never reach here): 1 s doubling to 5 min.
/// How soon an object whose status write met a newer version is decided again.
const CONFLICT_REQUEUE: Duration = Duration::from_secs(1);

fn error_policy<K>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action
where
    K: kube::Resource,
{
    if matches!(err, Error::Conflict { .. }) {
        // The object changed since it was read: the fresh copy is on its way through the watch.
        // Not a failure, so no backoff grows (it costs no call to Meta).
        debug!(error = %err, "requeue after a conflict");
        return Action::requeue(CONFLICT_REQUEUE);
    }
    let uid = obj.meta().uid.clone().unwrap_or_default();
    let n = ctx.model.memory.with(&uid, |e| {
        e.errors = e.errors.saturating_add(1);
        e.errors
    });
    let delay = Duration::from_secs(1u64 << (n - 1).min(8)).min(Duration::from_secs(300));
    debug!(error = %err, attempt = n, ?delay, "requeue after error");
    Action::requeue(delay)
}

impl Context {
    /// Makes the account read Meta at once (still one read per sync, and never during a
    /// failure backoff), so a channel sees the effect of its write without waiting an interval.
    pub fn request_account_sync(&self, account: &WhatsAppBusinessAccount) {
        self.request_account_sync_after(account, Duration::ZERO);
    }

    /// `request_account_sync` once `delay` has passed.
    pub fn request_account_sync_after(&self, account: &WhatsAppBusinessAccount, delay: Duration) {
        let Some(uid) = account.metadata.uid.clone() else {
            return;
        };
        let object = ObjectRef::from_obj(account);
        if delay.is_zero() {
            self.force_account_sync(uid, object);
        } else {
            self.triggers.later.after(uid, object, delay);
        }
    }

    fn force_account_sync(&self, uid: String, object: ObjectRef<WhatsAppBusinessAccount>) {
        self.model.memory.with(&uid, |e| e.forced_sync = true);
        // A closed receiver means the controller is shutting down.
        let _ = self.triggers.accounts.unbounded_send(object);
    }

    /// Waits until every store holds its first listing; false on shutdown.
    async fn stores_ready(&self) -> bool {
        self.stores.accounts_ready.wait().await
            && self.stores.channels_ready.wait().await
            && self.stores.templates_ready.wait().await
    }

    fn take_forced_sync(&self, uid: &str) -> bool {
        self.model
            .memory
            .update(uid, |e| std::mem::take(&mut e.forced_sync))
            .unwrap_or(false)
    }

    fn reset_errors(&self, uid: Option<&str>) {
        if let Some(uid) = uid {
            self.model.memory.update(uid, |e| e.errors = 0);
        }
    }
}

/// Runs one reconcile so that a panic in it becomes an error for that object (retried with
/// backoff) instead of ending the controller that runs every object.
async fn unwind_safe<F>(
    kind: &'static str,
    obj: &impl kube::Resource,
    reconcile: F,
) -> Result<Action, Error>
where
    F: std::future::Future<Output = Result<Action, Error>>,
{
    use futures::FutureExt;
    match std::panic::AssertUnwindSafe(reconcile).catch_unwind().await {
        Ok(res) => res,
        Err(_) => Err(Error::Panicked {
            kind,
            namespace: obj.meta().namespace.clone().unwrap_or_default(),
            name: obj.meta().name.clone().unwrap_or_default(),
        }),
    }
}

/// Times a reconcile and counts its result.
struct Measure<'a> {
    metrics: &'a Metrics,
    controller: &'static str,
    start: Instant,
}

impl<'a> Measure<'a> {
    fn start(metrics: &'a Metrics, controller: &'static str) -> Self {
        Self {
            metrics,
            controller,
            start: Instant::now(),
        }
    }

    fn finish<T>(self, res: &Result<T, Error>) {
        let result = match res {
            Ok(_) => "success",
            Err(e) => e.metric_label(),
        };
        self.metrics
            .reconciled(self.controller, result, self.start.elapsed());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_panicking_reconcile_is_an_error_for_its_object_only() {
        let ch: WhatsAppChannel = serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": {"name": "sales", "namespace": "ns"},
            "spec": {"accountRef": {"name": "acme"}, "phoneNumber": "+1 555 078 3881"}
        }))
        .unwrap();
        let res = unwind_safe("WhatsAppChannel", &ch, async {
            if ch.spec.account_ref.name == "acme" {
                panic!("a bug");
            }
            Ok(Action::await_change())
        })
        .await;
        assert!(
            matches!(&res, Err(Error::Panicked { namespace, name, .. }) if namespace == "ns" && name == "sales"),
            "{res:?}"
        );
        let fine = unwind_safe("WhatsAppChannel", &ch, async { Ok(Action::await_change()) }).await;
        assert!(fine.is_ok());
    }
}
