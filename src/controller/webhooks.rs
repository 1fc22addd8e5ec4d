//! Webhook facts in the runtime: routing a fact to the resources it names, keeping it pending
//! until their next reconcile applies it, forcing that reconcile, and keeping the WABA's webhook
//! subscription in place.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc;
use kube::runtime::reflector::ObjectRef;
use secrecy::SecretString;
use tracing::{debug, info, warn};

use super::Context;
use super::executor::{MetaAction, Target};
use super::secrets::{self, SecretLookup};
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel};
use crate::decide::facts::AccountStanding;
use crate::graph::WabaSession;
use crate::meta::Fact;

/// How the runtime treats webhook-triggered syncs.
#[derive(Clone, Debug)]
pub struct WebhookSettings {
    /// A webhook-triggered sync re-reads Meta only when the last read is older than this;
    /// otherwise it applies the facts to the last snapshot. Keeps a burst of deliveries within
    /// Meta's hourly budget.
    pub min_read_spacing: Duration,
    /// How often a subscription that status says is in place is checked again.
    pub subscription_recheck: Duration,
}

impl Default for WebhookSettings {
    fn default() -> Self {
        Self {
            min_read_spacing: Duration::from_secs(5),
            subscription_recheck: Duration::from_secs(6 * 3600),
        }
    }
}

type Key = (String, String);

fn key(namespace: &str, name: &str) -> Key {
    (namespace.to_string(), name.to_string())
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// In-memory webhook bookkeeping of one watch scope. Losing it on a restart loses only facts not
/// yet applied; what was applied is in status.
pub struct WebhookState {
    settings: WebhookSettings,
    started: Instant,
    pending_accounts: Mutex<HashMap<Key, Vec<Fact>>>,
    pending_channels: Mutex<HashMap<Key, Vec<Fact>>>,
    forced: Mutex<HashSet<Key>>,
    standings: RwLock<HashMap<Key, AccountStanding>>,
}

impl WebhookState {
    pub fn new(settings: WebhookSettings) -> Self {
        Self {
            settings,
            started: Instant::now(),
            pending_accounts: Mutex::default(),
            pending_channels: Mutex::default(),
            forced: Mutex::default(),
            standings: RwLock::default(),
        }
    }

    /// Drops what is kept for resources that no longer exist.
    pub fn retain(&self, live: &impl super::forget::Liveness) {
        lock(&self.pending_accounts).retain(|(ns, name), _| live.has_account(ns, name));
        lock(&self.forced).retain(|(ns, name)| live.has_account(ns, name));
        self.standings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(ns, name), _| live.has_account(ns, name));
        lock(&self.pending_channels).retain(|(ns, name), _| live.has_channel(ns, name));
    }

    /// True once: the account was asked to sync by a webhook.
    pub fn take_forced(&self, namespace: &str, name: &str) -> bool {
        lock(&self.forced).remove(&key(namespace, name))
    }

    pub fn take_account_facts(&self, namespace: &str, name: &str) -> Vec<Fact> {
        lock(&self.pending_accounts)
            .remove(&key(namespace, name))
            .unwrap_or_default()
    }

    pub fn take_channel_facts(&self, namespace: &str, name: &str) -> Vec<Fact> {
        lock(&self.pending_channels)
            .remove(&key(namespace, name))
            .unwrap_or_default()
    }

    /// Puts facts back after a reconcile that could not apply them.
    pub fn restore_account_facts(&self, namespace: &str, name: &str, facts: Vec<Fact>) {
        if !facts.is_empty() {
            let mut pending = lock(&self.pending_accounts);
            let entry = pending.entry(key(namespace, name)).or_default();
            let newer = std::mem::take(entry);
            *entry = facts;
            entry.extend(newer);
        }
    }

    pub fn restore_channel_facts(&self, namespace: &str, name: &str, facts: Vec<Fact>) {
        if !facts.is_empty() {
            let mut pending = lock(&self.pending_channels);
            let entry = pending.entry(key(namespace, name)).or_default();
            let newer = std::mem::take(entry);
            *entry = facts;
            entry.extend(newer);
        }
    }

    pub fn set_standing(&self, namespace: &str, account: &str, standing: AccountStanding) {
        self.standings
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(key(namespace, account), standing);
    }

    /// The account's standing as its latest reconcile decided it; `None` before one ran in this
    /// process (the account's status in the store then says it).
    pub fn standing(&self, namespace: &str, account: &str) -> Option<AccountStanding> {
        self.standings
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&key(namespace, account))
            .cloned()
    }
}

impl Context {
    pub(super) fn record_read(&self, uid: &str) {
        self.model
            .memory
            .with(uid, |e| e.last_read = Some(Instant::now()));
    }

    /// Whether a webhook-triggered sync may reuse the last snapshot instead of reading Meta.
    pub(super) fn read_recently(&self, uid: &str) -> bool {
        let spacing = self.model.webhooks.settings.min_read_spacing;
        self.model
            .memory
            .read(uid, |e| e.last_read.is_some_and(|t| t.elapsed() < spacing))
            .unwrap_or(false)
    }

    fn subscription_check_due(&self, uid: &str) -> bool {
        // After a restart the check waits a full period: restarts must not spend Meta's budget.
        let webhooks = &self.model.webhooks;
        let last = self
            .model
            .memory
            .read(uid, |e| e.subscription_check)
            .flatten()
            .unwrap_or(webhooks.started);
        last.elapsed() >= webhooks.settings.subscription_recheck
    }

    fn subscription_checked(&self, uid: &str) {
        self.model
            .memory
            .with(uid, |e| e.subscription_check = Some(Instant::now()));
    }
}

/// Sends each fact to every watch scope.
pub async fn fan_out(
    mut facts: mpsc::UnboundedReceiver<Fact>,
    scopes: Vec<mpsc::UnboundedSender<Fact>>,
) {
    while let Some(fact) = facts.next().await {
        for scope in &scopes {
            // A closed scope is shutting down.
            let _ = scope.unbounded_send(fact.clone());
        }
    }
}

/// Routes the facts of one scope until the channel closes.
pub async fn dispatch(ctx: Arc<Context>, mut facts: mpsc::UnboundedReceiver<Fact>) {
    if !ctx.stores_ready().await {
        return;
    }
    while let Some(fact) = facts.next().await {
        route(&ctx, fact);
    }
}

/// Account fields go to the accounts of the WABA; number fields to the channels whose number
/// has the fact's digits. Either way the account syncs at once, bypassing its interval.
fn route(ctx: &Context, fact: Fact) {
    // Only the WABA's owner hears of it: a later claim on the same id gets no facts.
    let owner = ctx.claims.waba_owner(fact.waba_id());
    let accounts: Vec<_> = ctx
        .model
        .accounts_by_waba
        .members(&fact.waba_id().to_string())
        .into_iter()
        .filter(|(_, claim)| owner.as_ref().is_some_and(|o| o.uid == claim.uid))
        .collect();
    if accounts.is_empty() {
        debug!(
            waba = fact.waba_id(),
            "webhook for a WABA no account of this scope owns"
        );
        return;
    }
    for ((namespace, name), _) in accounts {
        match fact.digits() {
            None => {
                lock(&ctx.model.webhooks.pending_accounts)
                    .entry(key(&namespace, &name))
                    .or_default()
                    .push(fact.clone());
            }
            Some(digits) => route_to_channels(ctx, &fact, digits, &namespace, &name),
        }
        lock(&ctx.model.webhooks.forced).insert(key(&namespace, &name));
        let _ = ctx
            .triggers
            .accounts
            .unbounded_send(ObjectRef::<WhatsAppBusinessAccount>::new(&name).within(&namespace));
    }
}

/// A number fact goes to the channels of the account whose number has the fact's digits.
fn route_to_channels(ctx: &Context, fact: &Fact, digits: &str, namespace: &str, account: &str) {
    let group = (namespace.to_string(), account.to_string());
    for ((ns, channel), channel_digits) in ctx.model.channels_by_account.members(&group) {
        if channel_digits.as_deref() != Some(digits) || !owns_number(ctx, &ns, &channel) {
            continue;
        }
        lock(&ctx.model.webhooks.pending_channels)
            .entry(key(&ns, &channel))
            .or_default()
            .push(fact.clone());
        // Applied at once to the last snapshot; the account's sync below brings Meta's fresh
        // view right after.
        let _ = ctx
            .triggers
            .channels
            .unbounded_send(ObjectRef::<WhatsAppChannel>::new(&channel).within(&ns));
    }
}

/// Whether the channel owns its number (a later claim on it gets no facts).
fn owns_number(ctx: &Context, namespace: &str, name: &str) -> bool {
    let object = ObjectRef::<WhatsAppChannel>::new(name).within(namespace);
    ctx.stores
        .channels
        .get(&object)
        .is_some_and(|ch| ctx.claims.number_claimed_elsewhere(&ch).is_none())
}

/// Whether the app is subscribed to the account's WABA, checked (and repaired) only when status
/// does not say so, the spec changed, a sync was requested by annotation, or the last check is
/// older than the recheck period: at steady state this costs no Graph request.
///
/// `None` when webhooks are not enabled for the account.
pub async fn subscription(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
    namespace: &str,
    session: &WabaSession,
    token_version: &str,
    requested: bool,
) -> Option<bool> {
    let webhooks = acc.spec.webhooks.as_ref().filter(|w| w.enabled)?;
    let uid = acc.metadata.uid.clone().unwrap_or_default();
    let known = acc.status.as_ref().and_then(|s| s.webhook_subscribed);
    if !subscription_due(ctx, acc, &uid, requested) {
        return known;
    }
    ctx.subscription_checked(&uid);
    let app_id = match app_id(ctx, &uid, session, token_version).await {
        Some(id) => id,
        None => return known,
    };
    let apps = match session.subscribed_apps().await {
        Ok(apps) => apps,
        Err(err) => {
            warn!(error = %err, "cannot list the WABA's subscribed apps");
            return known;
        }
    };
    let wanted_override = webhooks.override_callback_uri.as_deref();
    let in_place = apps.iter().any(|a| {
        a.app_id() == Some(app_id.as_str())
            && (wanted_override.is_none() || a.override_callback_uri.as_deref() == wanted_override)
    });
    if in_place {
        return Some(true);
    }
    let verify_token = match verify_token(ctx, namespace, webhooks).await {
        Ok(token) => token,
        Err(answer) => return answer.or(known),
    };
    let action = MetaAction::SubscribeApp {
        override_callback: wanted_override.map(str::to_owned).zip(verify_token),
    };
    let target = Target {
        waba_id: &acc.spec.business_account_id,
        token: session.token().clone(),
    };
    match ctx.executor.execute(target, &action).await {
        Ok(_) => {
            info!(waba = %acc.spec.business_account_id, "subscribed the app to the WABA's webhooks");
            Some(true)
        }
        Err(err) => {
            warn!(error = %err, "cannot subscribe the app to the WABA's webhooks");
            Some(false)
        }
    }
}

/// Checked when status does not say it is in place, the spec changed, a sync was requested by
/// annotation, or the last check is old.
fn subscription_due(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
    uid: &str,
    requested: bool,
) -> bool {
    let status = acc.status.as_ref();
    let spec_changed = status.and_then(|s| s.observed_generation) != acc.metadata.generation;
    status.and_then(|s| s.webhook_subscribed) != Some(true)
        || spec_changed
        || requested
        || ctx.subscription_check_due(uid)
}

/// The verify token an override callback is subscribed with (`None` without an override).
/// `Err(Some(false))`: the subscription cannot be made as the spec asks; `Err(None)`: the Secret
/// could not be read, the subscription stays as it was known.
async fn verify_token(
    ctx: &Context,
    namespace: &str,
    webhooks: &crate::crd::WebhookSubscription,
) -> Result<Option<SecretString>, Option<bool>> {
    match (
        webhooks.override_callback_uri.as_deref(),
        &webhooks.verify_token_secret_ref,
    ) {
        (Some(_), Some(r)) => {
            match secrets::read_key_marked(ctx, namespace, r, Some(secrets::VERIFY_TOKEN_MARK))
                .await
            {
                Ok(SecretLookup::Found(v)) => Ok(Some(v.value)),
                Ok(SecretLookup::Missing(message) | SecretLookup::NotFound(message)) => {
                    warn!(%message, "verify token for the override callback cannot be used");
                    Err(Some(false))
                }
                Err(err) => {
                    warn!(error = %err, "cannot read the verify token Secret");
                    Err(None)
                }
            }
        }
        (Some(_), None) => {
            warn!("overrideCallbackUri needs verifyTokenSecretRef; not subscribing");
            Err(Some(false))
        }
        _ => Ok(None),
    }
}

/// The app of the account's token, from `debug_token` once per Secret version.
async fn app_id(
    ctx: &Context,
    uid: &str,
    session: &WabaSession,
    token_version: &str,
) -> Option<String> {
    super::token_info::get(&ctx.model.memory, uid, token_version, session)
        .await?
        .app_id
}

/// The standing a channel of `account` sees: this process's latest decision, else the
/// account's status in the store.
pub fn standing_for(
    ctx: &Context,
    namespace: &str,
    account: Option<&WhatsAppBusinessAccount>,
    account_name: &str,
) -> AccountStanding {
    ctx.model
        .webhooks
        .standing(namespace, account_name)
        .or_else(|| {
            account
                .and_then(|a| a.status.as_ref())
                .map(AccountStanding::of)
        })
        .unwrap_or_default()
}
