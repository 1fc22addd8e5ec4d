//! Webhook notices in the runtime: routing a notice to the resources it names, recording it in
//! their status (the inbox) before the delivery is acknowledged, keeping it pending until their
//! next reconcile applies it, forcing that reconcile, and keeping the WABA's webhook
//! subscription in place.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use futures::StreamExt;
use futures::channel::mpsc;
use kube::runtime::reflector::ObjectRef;
use secrecy::SecretString;
use tracing::{debug, info, warn};

use super::executor::{MetaAction, Target};
use super::secrets::{self, SecretLookup};
use super::{Context, inbox};
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};
use crate::decide::facts::AccountStanding;
use crate::graph::WabaSession;
use crate::meta::{Fact, Notice, TemplateRef};
use crate::webhook::Delivery;

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

/// In-memory webhook bookkeeping of one watch scope. Every pending notice is also in its
/// resource's `status.webhookInbox` (recorded before Meta got its 200), so losing this on a
/// restart loses nothing; it only spares the reconcile waiting for the watch to bring the inbox.
pub struct WebhookState {
    settings: WebhookSettings,
    started: Instant,
    pending_accounts: Mutex<HashMap<Key, Vec<Notice>>>,
    pending_channels: Mutex<HashMap<Key, Vec<Notice>>>,
    pending_templates: Mutex<HashMap<Key, Vec<Notice>>>,
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
            pending_templates: Mutex::default(),
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
        lock(&self.pending_templates).retain(|(ns, name), _| live.has_template(ns, name));
    }

    /// True once: the account was asked to sync by a webhook.
    pub fn take_forced(&self, namespace: &str, name: &str) -> bool {
        lock(&self.forced).remove(&key(namespace, name))
    }

    pub fn take_account_facts(&self, namespace: &str, name: &str) -> Vec<Notice> {
        lock(&self.pending_accounts)
            .remove(&key(namespace, name))
            .unwrap_or_default()
    }

    pub fn take_channel_facts(&self, namespace: &str, name: &str) -> Vec<Notice> {
        lock(&self.pending_channels)
            .remove(&key(namespace, name))
            .unwrap_or_default()
    }

    pub fn take_template_facts(&self, namespace: &str, name: &str) -> Vec<Notice> {
        lock(&self.pending_templates)
            .remove(&key(namespace, name))
            .unwrap_or_default()
    }

    /// Puts facts back after a reconcile that could not apply them.
    pub fn restore_account_facts(&self, namespace: &str, name: &str, facts: Vec<Notice>) {
        restore(&self.pending_accounts, namespace, name, facts);
    }

    pub fn restore_channel_facts(&self, namespace: &str, name: &str, facts: Vec<Notice>) {
        restore(&self.pending_channels, namespace, name, facts);
    }

    pub fn restore_template_facts(&self, namespace: &str, name: &str, facts: Vec<Notice>) {
        restore(&self.pending_templates, namespace, name, facts);
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

/// Puts `facts` back ahead of any that arrived since.
fn restore(
    map: &Mutex<HashMap<Key, Vec<Notice>>>,
    namespace: &str,
    name: &str,
    facts: Vec<Notice>,
) {
    if !facts.is_empty() {
        let mut pending = lock(map);
        let entry = pending.entry(key(namespace, name)).or_default();
        let newer = std::mem::take(entry);
        *entry = facts;
        entry.extend(newer);
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

/// Sends each delivery to every watch scope, and answers it once every scope recorded it.
pub async fn fan_out(
    mut deliveries: mpsc::UnboundedReceiver<Delivery>,
    scopes: Vec<mpsc::UnboundedSender<Delivery>>,
) {
    while let Some(delivery) = deliveries.next().await {
        let mut answers = Vec::with_capacity(scopes.len());
        for scope in &scopes {
            let (recorded, answer) = tokio::sync::oneshot::channel();
            let notices = delivery.notices.clone();
            // A closed scope is shutting down: its answer reads as "dropped".
            let _ = scope.unbounded_send(Delivery { notices, recorded });
            answers.push(answer);
        }
        tokio::spawn(async move {
            let mut result = Ok(());
            for answer in answers {
                let scope_result = answer
                    .await
                    .unwrap_or_else(|_| Err("a watch scope is shutting down".into()));
                result = result.and(scope_result);
            }
            let _ = delivery.recorded.send(result);
        });
    }
}

/// Records the deliveries of one scope until the channel closes, each on its own task so one
/// slow write does not hold the others' acknowledgements.
pub async fn dispatch(ctx: Arc<Context>, mut deliveries: mpsc::UnboundedReceiver<Delivery>) {
    if !ctx.stores_ready().await {
        return;
    }
    while let Some(delivery) = deliveries.next().await {
        let ctx = ctx.clone();
        tokio::spawn(async move {
            let result = record_delivery(&ctx, &delivery.notices).await;
            let _ = delivery.recorded.send(result);
        });
    }
}

/// A resource a notice is recorded on.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Recipient {
    Account(Key),
    Channel(Key),
    Template(Key),
}

/// Records every notice in the inbox of each resource it concerns, then hands it to their next
/// reconcile and forces the accounts' syncs.
async fn record_delivery(ctx: &Context, notices: &[Notice]) -> Result<(), String> {
    let mut by_recipient: HashMap<Recipient, Vec<Notice>> = HashMap::new();
    let mut accounts = HashSet::new();
    for notice in notices {
        for (recipient, account) in recipients(ctx, &notice.fact) {
            by_recipient
                .entry(recipient)
                .or_default()
                .push(notice.clone());
            accounts.insert(account);
        }
    }
    for (recipient, notices) in by_recipient {
        match &recipient {
            Recipient::Account((ns, name)) => {
                inbox::record::<WhatsAppBusinessAccount>(ctx, ns, name, &notices).await?
            }
            Recipient::Channel((ns, name)) => {
                inbox::record::<WhatsAppChannel>(ctx, ns, name, &notices).await?
            }
            Recipient::Template((ns, name)) => {
                inbox::record::<WhatsAppMessageTemplate>(ctx, ns, name, &notices).await?
            }
        }
        ctx.model.webhooks.pend(&recipient, notices);
        ctx.model.webhooks.trigger(ctx, &recipient);
    }
    for (namespace, name) in accounts {
        lock(&ctx.model.webhooks.forced).insert(key(&namespace, &name));
        let object = ObjectRef::<WhatsAppBusinessAccount>::new(&name).within(&namespace);
        let _ = ctx.triggers.accounts.unbounded_send(object);
    }
    Ok(())
}

/// Account fields go to the accounts of the WABA; number fields to the channels whose number
/// has the fact's digits; each with the account whose sync it forces. Only the WABA's owner
/// hears of it: a later claim on the same id gets nothing.
fn recipients(ctx: &Context, fact: &Fact) -> Vec<(Recipient, Key)> {
    let owner = ctx.claims.waba_owner(fact.waba_id());
    let accounts = ctx
        .model
        .accounts_by_waba
        .members(&fact.waba_id().to_string())
        .into_iter()
        .filter(|(_, claim)| owner.as_ref().is_some_and(|o| o.uid == claim.uid));
    let mut out = Vec::new();
    for ((namespace, name), _) in accounts {
        let account = key(&namespace, &name);
        if let Some(template) = fact.template() {
            out.extend(
                named_templates(ctx, template, &namespace, &name)
                    .into_iter()
                    .map(|t| (Recipient::Template(t), account.clone())),
            );
            continue;
        }
        match fact.digits() {
            None => out.push((Recipient::Account(account.clone()), account)),
            Some(digits) => out.extend(
                number_channels(ctx, digits, &namespace, &name)
                    .into_iter()
                    .map(|c| (Recipient::Channel(c), account.clone())),
            ),
        }
    }
    if out.is_empty() {
        debug!(
            waba = fact.waba_id(),
            "webhook for a WABA no account of this scope owns"
        );
    }
    out
}

/// The channels of the account whose number has `digits` and is theirs.
fn number_channels(ctx: &Context, digits: &str, namespace: &str, account: &str) -> Vec<Key> {
    let group = (namespace.to_string(), account.to_string());
    ctx.model
        .channels_by_account
        .members(&group)
        .into_iter()
        .filter(|((ns, channel), channel_digits)| {
            channel_digits.as_deref() == Some(digits) && owns_number(ctx, ns, channel)
        })
        .map(|(k, _)| k)
        .collect()
}

/// The templates of the account that the notice names: by Meta's id when their status knows
/// it, else by name (and language, when the notice gives it).
fn named_templates(
    ctx: &Context,
    template: &TemplateRef,
    namespace: &str,
    account: &str,
) -> Vec<Key> {
    let group = (namespace.to_string(), account.to_string());
    ctx.model
        .templates_by_account
        .members(&group)
        .into_iter()
        .filter(|(k, entry)| {
            let object = ObjectRef::<WhatsAppMessageTemplate>::new(&k.1).within(&k.0);
            let known_id = ctx
                .stores
                .templates
                .get(&object)
                .and_then(|t| t.status.as_ref().and_then(|s| s.template_id.clone()));
            match (&template.id, known_id) {
                (Some(id), Some(known)) => *id == known,
                _ => {
                    template.name.as_deref() == Some(entry.name.as_str())
                        && template
                            .language
                            .as_deref()
                            .is_none_or(|l| l == entry.language)
                }
            }
        })
        .map(|(k, _)| k)
        .collect()
}

impl WebhookState {
    /// Keeps recorded notices for the recipient's next reconcile.
    fn pend(&self, recipient: &Recipient, notices: Vec<Notice>) {
        let (map, k) = match recipient {
            Recipient::Account(k) => (&self.pending_accounts, k),
            Recipient::Channel(k) => (&self.pending_channels, k),
            Recipient::Template(k) => (&self.pending_templates, k),
        };
        lock(map).entry(k.clone()).or_default().extend(notices);
    }

    /// A channel applies its notices at once to the last snapshot; the account's forced sync
    /// brings Meta's fresh view right after.
    fn trigger(&self, ctx: &Context, recipient: &Recipient) {
        match recipient {
            Recipient::Channel((ns, name)) => {
                let object = ObjectRef::<WhatsAppChannel>::new(name).within(ns);
                let _ = ctx.triggers.channels.unbounded_send(object);
            }
            Recipient::Template((ns, name)) => {
                let object = ObjectRef::<WhatsAppMessageTemplate>::new(name).within(ns);
                let _ = ctx.triggers.templates.unbounded_send(object);
            }
            Recipient::Account(_) => {}
        }
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
    requested: bool,
) -> Option<bool> {
    let webhooks = acc.spec.webhooks.as_ref().filter(|w| w.enabled)?;
    let uid = acc.metadata.uid.clone().unwrap_or_default();
    let known = acc.status.as_ref().and_then(|s| s.webhook_subscribed);
    if !subscription_due(ctx, acc, &uid, requested) {
        return known;
    }
    ctx.subscription_checked(&uid);
    let app_id = match app_id(ctx, session).await {
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

/// The app of the account's token, from `debug_token` once per distinct token.
async fn app_id(ctx: &Context, session: &WabaSession) -> Option<String> {
    ctx.tokens.get(session).await?.app_id
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
