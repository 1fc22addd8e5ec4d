use std::sync::Arc;

use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tracing::{Instrument, info_span};

use super::last_sync;
use super::memory::Memory;
use super::secrets::{self, SecretLookup};
use super::{Context, Error, Measure, apply, events, inbox, webhooks};
use crate::crd::{
    RECONCILE_REQUESTED_AT, WhatsAppBusinessAccount, WhatsAppBusinessAccountStatus,
    WhatsAppChannel, WhatsAppMessageTemplate,
};
use crate::decide::{self, AccountObservation, FailureClass, SyncFailure};
use crate::meta::model::WabaSnapshot;
use crate::meta::{ErrorClass, GraphError, Notice, versions};

/// How often an account stalled on rejected credentials re-reads its Secret (no Graph call).
const CREDENTIALS_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn reconcile(
    acc: Arc<WhatsAppBusinessAccount>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let span = info_span!("reconcile_account", namespace = %acc.namespace().unwrap_or_default(), name = %acc.name_any());
    let measure = Measure::start(&ctx.metrics, "account");
    let res = super::unwind_safe(
        "WhatsAppBusinessAccount",
        acc.as_ref(),
        reconcile_inner(&acc, &ctx).instrument(span),
    )
    .await;
    measure.finish(&res);
    if res.is_ok() {
        ctx.reset_errors(acc.meta().uid.as_deref());
    }
    res
}

/// observe (interval, snapshot, Secret, one Graph read) -> decide (`decide::plan_account`,
/// pure) -> apply (status, events, metrics, the snapshot for channels).
async fn reconcile_inner(acc: &WhatsAppBusinessAccount, ctx: &Context) -> Result<Action, Error> {
    let namespace = acc.namespace().ok_or_else(|| Error::NotNamespaced {
        kind: "WhatsAppBusinessAccount".into(),
    })?;
    let name = acc.name_any();
    // Taken before the read: a channel's write to Meta after this is not in the snapshot.
    let now = jiff::Timestamp::now();
    // Before every store is listed, an elder claim on the WABA could be missing.
    if !ctx.claims.ready().await {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    if let Some(owner) = ctx.claims.waba_claimed_elsewhere(acc) {
        let observation = AccountObservation::ClaimedElsewhere {
            owner: owner.display(),
        };
        return without_meta(acc, ctx, &namespace, &name, observation, now).await;
    }
    if crate::crd::is_paused(acc.meta()) {
        let observation = AccountObservation::Paused;
        return without_meta(acc, ctx, &namespace, &name, observation, now).await;
    }
    let uid = acc.meta().uid.clone().unwrap_or_default();
    let requested_at = requested_at(acc);
    // Channels need a snapshot after a restart even if status says the last sync is recent.
    let snapshot = ctx.model.snapshots.get_with_read_at(&namespace, &name);
    let have_snapshot = snapshot.is_some();
    let prompt = Prompt::take(ctx, &namespace, &name, &uid, have_snapshot);
    let reuse = match sync_step(acc, &ctx.model.memory, &uid, prompt, requested_at, now) {
        SyncStep::Wait(wait) => return Ok(Action::requeue(wait)),
        SyncStep::Reuse => snapshot,
        SyncStep::Read => None,
    };
    let read = reuse.is_none();
    // A reused read keeps the time it began: it must not look newer than what happened since
    // (a webhook notice, a write of a channel or template).
    let read_at = reuse.as_ref().map_or(now, |(_, at)| *at);
    let observation = match reuse {
        // Meta was read moments ago: apply the webhook's facts to that read.
        Some((snapshot, _)) => Some(reused(acc, &snapshot)),
        None => observe(acc, ctx, &namespace, requested_at).await?,
    };
    let Some(observation) = observation else {
        // Credentials were rejected and the Secret has not changed since: do not call Meta.
        return Ok(Action::requeue(CREDENTIALS_RECHECK));
    };
    let decision = decide_sync(ctx, acc, &observation, read, now).await?;
    hand_to_channels(ctx, &namespace, &name, observation, have_snapshot, read_at).await;
    Ok(Action::requeue(next_reconcile(&decision)))
}

/// Decides and applies the sync with the account's webhook notices (handed over and in its
/// inbox), records a read that happened, publishes, and empties the inbox of what was applied.
/// Notices that could not be applied are kept for the next reconcile.
async fn decide_sync(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
    observation: &AccountObservation,
    read: bool,
    now: jiff::Timestamp,
) -> Result<decide::AccountDecision, Error> {
    let (namespace, name) = (acc.namespace().unwrap_or_default(), acc.name_any());
    let uid = acc.meta().uid.clone().unwrap_or_default();
    let facts = inbox::gather(
        ctx.model.webhooks.take_account_facts(&namespace, &name),
        &acc.status
            .as_ref()
            .map(|s| s.webhook.webhook_inbox.clone())
            .unwrap_or_default(),
    );
    let (plan, applied) = decide_and_apply(ctx, acc, observation, &facts, now).await;
    // A read happened, whether or not its status could be written.
    if read && let Some(at) = plan.synced_at.clone() {
        last_sync::record(&ctx.model.memory, &uid, Some(at));
        ctx.record_read(&uid);
    }
    if let Err(err) = applied {
        ctx.model
            .webhooks
            .restore_account_facts(&namespace, &name, facts);
        return Err(err);
    }
    share(ctx, acc, &plan.decision);
    inbox::clear(ctx, acc, &facts).await;
    Ok(plan.decision)
}

/// An account whose WABA id an older account owns, or that is paused: no Graph call, no webhook
/// fact applied, no snapshot for its channels (they report why). A claimed one looks again now
/// and then to take over when the owner goes; a paused one waits for its annotation to change.
async fn without_meta(
    acc: &WhatsAppBusinessAccount,
    ctx: &Context,
    namespace: &str,
    name: &str,
    observation: AccountObservation,
    now: jiff::Timestamp,
) -> Result<Action, Error> {
    let previous = acc.status.clone();
    let (plan, applied) = decide_and_apply(ctx, acc, &observation, &[], now).await;
    applied?;
    let decision = plan.decision;
    let changed = previous.as_ref() != Some(&decision.status);
    share(ctx, acc, &decision);
    if changed {
        ctx.model
            .snapshots
            .retain(|ns, n| !(ns == namespace && n == name));
        trigger_channels(ctx, namespace, name).await;
    }
    if observation == AccountObservation::Paused {
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(next_reconcile(&decision)))
}

/// How many times a status decided on a copy that turned out stale is decided again.
const CONFLICT_RETRIES: usize = 3;

/// Decides the account on `observation` and applies the status. A status decided on a stale
/// copy (another write came first) fails the apply's precondition; it is decided again on the
/// object read fresh, on the same observation, so Meta is not read again. Returns the last plan
/// and whether its status was applied.
async fn decide_and_apply(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
    observation: &AccountObservation,
    facts: &[Notice],
    now: jiff::Timestamp,
) -> (decide::AccountPlan, Result<(), Error>) {
    let mut current = std::borrow::Cow::Borrowed(acc);
    let mut tries = 0;
    let version = ctx.graph.version();
    let standing = versions::standing(version, now.to_zoned(jiff::tz::TimeZone::UTC).date());
    loop {
        let plan = decide::plan_account(decide::AccountInput {
            spec: &current.spec,
            generation: current.meta().generation,
            previous: current.status.as_ref(),
            observation,
            facts,
            requested_at: requested_at(&current),
            api_version: (version, &standing),
            now,
        });
        // Events go out before the status that records their transition (see `events`).
        let basis = current.status.as_ref().map(without_history);
        events::publish(ctx, &*current, basis.as_ref(), &plan.decision.events).await;
        match apply_account_status(ctx, &current, &plan.decision.status).await {
            Err(Error::Conflict { .. }) if tries < CONFLICT_RETRIES => {
                tries += 1;
                match read_fresh(ctx, acc).await {
                    Ok(fresh) => current = std::borrow::Cow::Owned(fresh),
                    Err(err) => return (plan, Err(err)),
                }
            }
            applied => return (plan, applied.map(|_| ())),
        }
    }
}

/// The account as the apiserver has it now.
async fn read_fresh(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
) -> Result<WhatsAppBusinessAccount, Error> {
    let namespace = acc.namespace().unwrap_or_default();
    let api: kube::Api<WhatsAppBusinessAccount> =
        kube::Api::namespaced(ctx.client.clone(), &namespace);
    api.get(&acc.name_any())
        .await
        .map_err(|source| Error::ReadObject {
            kind: "WhatsAppBusinessAccount",
            namespace,
            name: acc.name_any(),
            source: Box::new(source),
        })
}

/// Applies the decided status without `registrationHistory`: that field is the channel
/// controller's (see the CRD), and applying a stale copy of it would take it over.
async fn apply_account_status(
    ctx: &Context,
    acc: &WhatsAppBusinessAccount,
    decided: &WhatsAppBusinessAccountStatus,
) -> Result<bool, Error> {
    let previous = acc.status.as_ref().map(without_history);
    apply::apply_status(ctx, acc, previous.as_ref(), &without_history(decided)).await
}

/// The status without `registrationHistory`, the channel controller's part of it.
fn without_history(s: &WhatsAppBusinessAccountStatus) -> WhatsAppBusinessAccountStatus {
    let mut s = s.clone();
    s.registration_history.clear();
    s
}

/// An account stalled on rejected credentials re-reads its Secret at least every
/// `CREDENTIALS_RECHECK` (no Graph call).
fn next_reconcile(decision: &decide::AccountDecision) -> std::time::Duration {
    if decision.call_meta {
        decision.requeue_after
    } else {
        decision.requeue_after.min(CREDENTIALS_RECHECK)
    }
}

fn requested_at(acc: &WhatsAppBusinessAccount) -> Option<&str> {
    acc.annotations()
        .get(RECONCILE_REQUESTED_AT)
        .map(String::as_str)
}

/// What prompted this reconcile, beyond status and spec.
#[derive(Clone, Copy, Debug, Default)]
struct Prompt {
    /// A webhook delivery named the account.
    webhook: bool,
    /// A channel wrote to Meta and needs a read that shows the write.
    channel: bool,
    /// This process holds a snapshot of the account's last read for its channels.
    have_snapshot: bool,
    /// That read is only moments old (`min_read_spacing`).
    read_recently: bool,
}

impl Prompt {
    /// Takes the one-shot requests (they are answered by this reconcile, or by the retry it
    /// waits for) along with what is known of the last read.
    fn take(ctx: &Context, namespace: &str, name: &str, uid: &str, have_snapshot: bool) -> Self {
        Self {
            webhook: ctx.model.webhooks.take_forced(namespace, name),
            channel: ctx.take_forced_sync(uid),
            have_snapshot,
            read_recently: ctx.read_recently(uid),
        }
    }
}

/// What a reconcile does about Meta.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SyncStep {
    /// Nothing is due for this long.
    Wait(std::time::Duration),
    /// Apply the webhook's facts to the last read instead of reading again.
    Reuse,
    Read,
}

/// Channels need a snapshot, so without one Meta is read whatever status says. A webhook-forced
/// sync moments after a read reuses it (unless the account is stalled on its credentials).
fn sync_step(
    acc: &WhatsAppBusinessAccount,
    memory: &Memory,
    uid: &str,
    prompt: Prompt,
    requested_at: Option<&str>,
    now: jiff::Timestamp,
) -> SyncStep {
    if !prompt.have_snapshot {
        return SyncStep::Read;
    }
    if let Some(wait) = wait_before_sync(acc, memory, uid, prompt, requested_at, now) {
        return SyncStep::Wait(wait);
    }
    let stalled = acc.status.as_ref().is_none_or(decide::credentials_stalled);
    if prompt.webhook && prompt.read_recently && !stalled {
        SyncStep::Reuse
    } else {
        SyncStep::Read
    }
}

/// How long until the next sync is due (`None`: now), from status, the remembered last sync
/// and what prompted the reconcile. A webhook skips the interval but never a pending retry
/// time: a failure's backoff, or Meta's throttling (which a spent hourly budget also sets),
/// holds for deliveries too, so a burst of them during an outage reads Meta no more often.
fn wait_before_sync(
    acc: &WhatsAppBusinessAccount,
    memory: &Memory,
    uid: &str,
    prompt: Prompt,
    requested_at: Option<&str>,
    now: jiff::Timestamp,
) -> Option<std::time::Duration> {
    let previous = acc.status.as_ref();
    let sync = previous.map(|s| last_sync::effective(memory, uid, &s.sync));
    if prompt.webhook {
        return decide::retry_wait(sync.as_ref(), now);
    }
    let interval = if prompt.channel {
        std::time::Duration::ZERO
    } else {
        decide::sync_interval(&acc.spec)
    };
    decide::needs_sync(
        sync.as_ref(),
        acc.meta().generation,
        previous.and_then(|s| s.observed_generation),
        interval,
        requested_at,
        now,
    )
}

/// The last read, as the observation of a sync that does not read Meta again.
fn reused(acc: &WhatsAppBusinessAccount, snapshot: &WabaSnapshot) -> AccountObservation {
    let previous = acc.status.as_ref();
    AccountObservation::Synced {
        waba: snapshot.clone(),
        webhook_subscribed: previous.and_then(|s| s.webhook_subscribed),
        token_expires_at: previous
            .and_then(|s| s.credentials_expire_at.as_ref())
            .map(|t| t.0),
    }
}

/// Keeps a successful read for the account's channels and wakes them (also when there is no
/// usable snapshot, so that they report it).
async fn hand_to_channels(
    ctx: &Context,
    namespace: &str,
    name: &str,
    observation: AccountObservation,
    had_snapshot: bool,
    read_at: jiff::Timestamp,
) {
    if let AccountObservation::Synced { waba, .. } = observation {
        ctx.model
            .snapshots
            .put_read_at(namespace, name, waba, read_at);
        trigger_channels(ctx, namespace, name).await;
    } else if !had_snapshot {
        trigger_channels(ctx, namespace, name).await;
    }
}

/// The decided status for the account's channels (its events are out already).
fn share(ctx: &Context, acc: &WhatsAppBusinessAccount, decision: &decide::AccountDecision) {
    let namespace = acc.namespace().unwrap_or_default();
    let name = acc.name_any();
    ctx.model
        .account_statuses
        .put(&namespace, &name, decision.status.clone());
    ctx.model.webhooks.set_standing(
        &namespace,
        &name,
        decide::facts::AccountStanding::of(&decision.status),
    );
}

/// Reads the token and Meta. `None` when Meta must not be called (credentials already rejected
/// at this Secret version).
async fn observe(
    acc: &WhatsAppBusinessAccount,
    ctx: &Context,
    namespace: &str,
    requested_at: Option<&str>,
) -> Result<Option<AccountObservation>, Error> {
    let handled = acc
        .status
        .as_ref()
        .and_then(|s| s.sync.last_handled_reconcile_at.as_deref());
    let requested = requested_at.is_some() && requested_at != handled;
    let uid = acc.meta().uid.clone().unwrap_or_default();
    let token = match secrets::read_key(ctx, namespace, &acc.spec.credentials_secret_ref).await? {
        SecretLookup::Found(v) => v,
        SecretLookup::Missing(message) | SecretLookup::NotFound(message) => {
            return Ok(Some(AccountObservation::MissingCredentials { message }));
        }
    };
    if !requested
        && credentials_still_rejected(acc, ctx, &uid, &token.version)
        && !reprobe_due(acc, &uid, jiff::Timestamp::now())
    {
        return Ok(None);
    }
    let session = ctx
        .graph
        .session(&acc.spec.business_account_id, token.value);
    // Templates ride along in the same request, only for accounts that have template
    // resources: the others pay nothing for a feature they do not use.
    let read = if has_templates(ctx, namespace, &acc.name_any()).await {
        session.read_waba_and_templates().await
    } else {
        session.read_waba().await
    };
    let observation = match read {
        Ok(waba) => {
            ctx.forget_rejected_credentials(&uid);
            let webhook_subscribed =
                webhooks::subscription(ctx, acc, namespace, &session, requested).await;
            AccountObservation::Synced {
                waba,
                webhook_subscribed,
                token_expires_at: ctx
                    .tokens
                    .get(&session)
                    .await
                    .and_then(|info| info.expires()),
            }
        }
        Err(err) => {
            if err.class == ErrorClass::Auth {
                ctx.remember_rejected_credentials(&uid, &token.version);
            }
            AccountObservation::Failed(failure_of(&err))
        }
    };
    Ok(Some(observation))
}

/// A token Meta refused is tried again about once an hour (one call, at a time spread by the
/// account's UID so that many stalled accounts do not probe together): Meta may lift a
/// restriction without the Secret changing.
fn reprobe_due(acc: &WhatsAppBusinessAccount, uid: &str, now: jiff::Timestamp) -> bool {
    acc.status
        .as_ref()
        .and_then(|s| s.sync.last_failure_time.as_ref())
        .is_some_and(|t| now >= decide::credentials_reprobe_at(t.0, uid))
}

/// True when Meta rejected this very Secret version before. After a restart the memory is
/// empty, so an account whose status says its credentials are invalid adopts the current
/// version as the rejected one: it waits for the Secret to change instead of calling Meta.
fn credentials_still_rejected(
    acc: &WhatsAppBusinessAccount,
    ctx: &Context,
    uid: &str,
    version: &str,
) -> bool {
    ctx.model
        .memory
        .with(uid, |e| match &e.rejected_credentials {
            Some(v) => v == version,
            None => {
                let stalled_on_credentials = acc.status.as_ref().is_some_and(|s| {
                    crate::crd::find_condition(&s.conditions, crate::crd::condition::STALLED)
                        .is_some_and(|c| {
                            c.status == "True"
                                && c.reason == decide::condition_reason::CREDENTIALS_INVALID
                        })
                });
                if stalled_on_credentials {
                    e.rejected_credentials = Some(version.to_string());
                }
                stalled_on_credentials
            }
        })
}

impl Context {
    fn remember_rejected_credentials(&self, uid: &str, version: &str) {
        self.model
            .memory
            .with(uid, |e| e.rejected_credentials = Some(version.to_string()));
    }

    fn forget_rejected_credentials(&self, uid: &str) {
        self.model
            .memory
            .update(uid, |e| e.rejected_credentials = None);
    }
}

/// Maps a Graph error to what decide needs; the message carries no trace id.
pub(super) fn failure_of(err: &GraphError) -> SyncFailure {
    let class = match err.class {
        ErrorClass::Auth => FailureClass::Auth,
        ErrorClass::Throttled => FailureClass::Throttled,
        ErrorClass::Transient => FailureClass::Transient,
        ErrorClass::InvalidRequest => FailureClass::InvalidRequest,
        _ => FailureClass::Other,
    };
    SyncFailure {
        class,
        message: err.status_message(),
        retry_after: err.retry_after,
    }
}

/// Whether template resources name the account (once the template store holds its listing).
async fn has_templates(ctx: &Context, namespace: &str, account: &str) -> bool {
    ctx.stores.templates_ready.wait().await
        && !ctx
            .model
            .templates_by_account
            .members(&(namespace.to_string(), account.to_string()))
            .is_empty()
}

/// Wakes the account's channels and templates after its sync.
async fn trigger_channels(ctx: &Context, namespace: &str, account: &str) {
    // Right after a start the stores may still be filling; an empty list would leave
    // channels waiting for their own requeue.
    if !ctx.stores.channels_ready.wait().await || !ctx.stores.templates_ready.wait().await {
        return;
    }
    let group = (namespace.to_string(), account.to_string());
    for ((ns, name), _) in ctx.model.templates_by_account.members(&group) {
        let _ = ctx
            .triggers
            .templates
            .unbounded_send(ObjectRef::<WhatsAppMessageTemplate>::new(&name).within(&ns));
    }
    let group = (namespace.to_string(), account.to_string());
    for ((ns, name), _) in ctx.model.channels_by_account.members(&group) {
        // The receiver lives as long as the channel controller; a closed channel means shutdown.
        let _ = ctx
            .triggers
            .channels
            .unbounded_send(ObjectRef::<WhatsAppChannel>::new(&name).within(&ns));
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::decide::{AccountInput, plan_account};
    use crate::graph::{GraphClient, GraphConfig};

    const WABA: &str = "102290129340398";

    fn account() -> WhatsAppBusinessAccount {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppBusinessAccount",
            "metadata": {"name": "acme", "namespace": "messaging", "uid": "u1", "generation": 1},
            "spec": {
                "businessAccountId": WABA,
                "credentialsSecretRef": {"name": "acme-graph-token", "key": "token"},
                "syncInterval": "10m",
            },
        }))
        .unwrap()
    }

    /// `account()` with the status decided on a first sync that observed `observation`.
    fn decided(observation: &AccountObservation, now: jiff::Timestamp) -> WhatsAppBusinessAccount {
        let mut acc = account();
        let plan = plan_account(AccountInput {
            spec: &acc.spec,
            generation: Some(1),
            previous: None,
            observation,
            facts: &[],
            requested_at: None,
            api_version: ("v24.0", &versions::VersionStanding::Unknown),
            now,
        });
        acc.status = Some(plan.decision.status);
        acc
    }

    /// The account as decided after a sync that observed `failure` at `now`.
    fn after_failure(failure: SyncFailure, now: jiff::Timestamp) -> WhatsAppBusinessAccount {
        decided(&AccountObservation::Failed(failure), now)
    }

    fn ts(s: &str) -> jiff::Timestamp {
        s.parse().unwrap()
    }

    /// A webhook delivery for an account whose last read this process holds.
    const WEBHOOK: Prompt = Prompt {
        webhook: true,
        channel: false,
        have_snapshot: true,
        read_recently: false,
    };

    fn step(acc: &WhatsAppBusinessAccount, prompt: Prompt, now: &str) -> SyncStep {
        sync_step(acc, &Memory::default(), "u1", prompt, None, ts(now))
    }

    /// A webhook delivery during the backoff of a failed read does not read Meta: the sync waits
    /// for the retry time, and reads once it has come.
    #[test]
    fn a_webhook_forced_sync_waits_for_the_failure_backoff() {
        let failed_at = ts("2026-01-01T12:00:00Z");
        let transient = SyncFailure {
            class: FailureClass::Transient,
            message: "read_waba failed (transient)".into(),
            retry_after: None,
        };
        let acc = after_failure(transient, failed_at);
        let soon = "2026-01-01T12:00:05Z";
        let wait = step(&acc, WEBHOOK, soon);
        assert!(
            matches!(wait, SyncStep::Wait(w) if w > Duration::ZERO && w <= Duration::from_secs(25)),
            "{wait:?}"
        );
        let right_after_a_read = Prompt {
            read_recently: true,
            ..WEBHOOK
        };
        assert!(matches!(
            step(&acc, right_after_a_read, soon),
            SyncStep::Wait(_)
        ));
        assert_eq!(step(&acc, WEBHOOK, "2026-01-01T12:00:31Z"), SyncStep::Read);
    }

    /// With the WABA's hourly budget spent, a read is refused by the client without a request
    /// (nothing listens at the base URL: a request would fail as a transport error), and the
    /// refusal's wait then holds webhook-forced syncs as well.
    #[tokio::test]
    async fn a_webhook_forced_sync_with_the_budget_spent_sends_nothing() {
        let graph = GraphClient::new(GraphConfig {
            base_url: "http://127.0.0.1:9".into(),
            hourly_budget_per_waba: 0,
            ..GraphConfig::default()
        })
        .unwrap();
        let session = graph.session(WABA, secrecy::SecretString::from("token"));
        let err = session.read_waba().await.unwrap_err();
        assert_eq!(err.class, ErrorClass::Throttled, "{err:?}");
        let now = ts("2026-01-01T12:00:00Z");
        let acc = after_failure(failure_of(&err), now);
        let wait = step(&acc, WEBHOOK, "2026-01-01T12:30:00Z");
        assert!(
            matches!(wait, SyncStep::Wait(w) if w >= Duration::from_secs(29 * 60)),
            "{wait:?}"
        );
    }

    /// Without a pending retry a webhook skips the interval, which still holds otherwise; one
    /// moments after a read reuses it, and one without a snapshot reads.
    #[test]
    fn a_webhook_skips_the_interval_only() {
        let synced_at = ts("2026-01-01T12:00:00Z");
        let observation = AccountObservation::Synced {
            waba: serde_json::from_value(serde_json::json!({"id": WABA})).unwrap(),
            webhook_subscribed: None,
            token_expires_at: None,
        };
        let acc = decided(&observation, synced_at);
        let soon = "2026-01-01T12:01:00Z";
        assert_eq!(step(&acc, WEBHOOK, soon), SyncStep::Read);
        let polling = Prompt {
            webhook: false,
            ..WEBHOOK
        };
        assert_eq!(
            step(&acc, polling, soon),
            SyncStep::Wait(Duration::from_secs(9 * 60))
        );
        let right_after_a_read = Prompt {
            read_recently: true,
            ..WEBHOOK
        };
        assert_eq!(step(&acc, right_after_a_read, soon), SyncStep::Reuse);
        let after_a_restart = Prompt {
            have_snapshot: false,
            ..polling
        };
        assert_eq!(step(&acc, after_a_restart, soon), SyncStep::Read);
    }
}
