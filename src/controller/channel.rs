use std::sync::Arc;

use kube::Api;
use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Resource, ResourceExt};
use tracing::{Instrument, info_span};

use super::{
    Context, Error, Measure, apply, cleanup, events, history, inbox, registration, webhooks,
};
use crate::crd::{
    CHANNEL_FINALIZER, DeletionPolicy, Management, RECONCILE_REQUESTED_AT, WhatsAppBusinessAccount,
    WhatsAppChannel, is_paused,
};
use crate::decide::{self, facts::AccountStanding};

/// How soon a channel waiting for its account's first snapshot after a start looks again.
const SNAPSHOT_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

pub async fn reconcile(ch: Arc<WhatsAppChannel>, ctx: Arc<Context>) -> Result<Action, Error> {
    let namespace = ch.namespace().ok_or_else(|| Error::NotNamespaced {
        kind: "WhatsAppChannel".into(),
    })?;
    let span = info_span!("reconcile_channel", namespace = %namespace, name = %ch.name_any());
    let measure = Measure::start(&ctx.metrics, "channel");
    let res = super::unwind_safe(
        "WhatsAppChannel",
        ch.as_ref(),
        reconcile_all(&ch, &ctx, span),
    )
    .await;
    measure.finish(&res);
    if res.is_ok() {
        ctx.reset_errors(ch.meta().uid.as_deref());
    }
    res
}

/// The finalizer's way for a channel that needs it, the plain reconcile otherwise.
async fn reconcile_all(
    ch: &Arc<WhatsAppChannel>,
    ctx: &Arc<Context>,
    span: tracing::Span,
) -> Result<Action, Error> {
    let namespace = ch.namespace().unwrap_or_default();
    if needs_finalizer(ch) {
        let api: Api<WhatsAppChannel> = Api::namespaced(ctx.client.clone(), &namespace);
        finalizer(&api, CHANNEL_FINALIZER, ch.clone(), |event| async {
            match event {
                FinalizerEvent::Apply(ch) => reconcile_inner(&ch, ctx).await,
                FinalizerEvent::Cleanup(ch) => cleanup::cleanup(&ch, ctx).await,
            }
        })
        .instrument(span)
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    } else if ch.meta().deletion_timestamp.is_some() {
        // Other finalizers hold it; there is nothing to undo at Meta and the series go with
        // the store entry.
        Ok(Action::await_change())
    } else {
        reconcile_inner(ch, ctx).instrument(span).await
    }
}

/// Only a Managed channel that deregisters on deletion has something to do at Meta before it
/// goes; every other channel is let go at once (no finalizer write at start, and no deletion
/// stuck on an uninstalled operator). A channel that already carries the finalizer keeps going
/// through it, so switching to `Orphan` still releases a failing clean-up.
fn needs_finalizer(ch: &WhatsAppChannel) -> bool {
    let deregisters = ch.spec.deletion_policy == DeletionPolicy::Deregister
        && ch.spec.management == Management::Managed;
    deregisters || ch.finalizers().iter().any(|f| f == CHANNEL_FINALIZER)
}

/// observe (stores, snapshot, Secrets, webhook facts) -> decide (`decide::plan_channel`, pure)
/// -> act (at most one write to Meta) -> apply (status, events, metrics).
async fn reconcile_inner(ch: &WhatsAppChannel, ctx: &Context) -> Result<Action, Error> {
    let namespace = ch.namespace().ok_or_else(|| Error::NotNamespaced {
        kind: "WhatsAppChannel".into(),
    })?;
    let name = ch.name_any();
    // Right after start the account store may still be filling: "not found" would be a lie.
    if !ctx.stores.accounts_ready.wait().await || !ctx.claims.ready().await {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    if let Some(owner) = ctx.claims.number_claimed_elsewhere(ch) {
        let observation = decide::ChannelObservation::ClaimedElsewhere {
            owner: owner.display(),
        };
        return without_meta(ch, ctx, &namespace, observation).await;
    }
    if is_paused(ch.meta()) {
        // Its webhook notices wait in its inbox until it resumes.
        return without_meta(ch, ctx, &namespace, decide::ChannelObservation::Paused).await;
    }
    let Some(seen) = observe(ctx, ch, &namespace) else {
        // The account has not synced yet, or synced before a restart and its snapshot is not
        // back. The account's sync triggers this channel; a short requeue covers a trigger that
        // raced this reconcile (it costs no Graph call and no write).
        return Ok(Action::requeue(SNAPSHOT_WAIT));
    };
    let account = seen.account.as_deref();
    let secrets =
        registration::observe(ctx, ch, account, &seen.observation, seen.snapshot_at).await?;
    let facts = inbox::gather(
        ctx.model.webhooks.take_channel_facts(&namespace, &name),
        &ch.status
            .as_ref()
            .map(|s| s.webhook.webhook_inbox.clone())
            .unwrap_or_default(),
    );
    let now = jiff::Timestamp::now();
    let mut previous = history::merged_previous(ch, account, now).or_else(|| ch.status.clone());
    if let (Some(p), Some(s)) = (previous.as_mut(), secrets.as_ref()) {
        s.migrate(p);
    }
    let mut plan = decide::plan_channel(decide::ChannelInput {
        namespace: &namespace,
        spec: &ch.spec,
        generation: ch.meta().generation,
        previous: previous.as_ref(),
        observation: seen.observation,
        facts: &facts,
        standing: &seen.standing,
        account_sync_interval: seen.interval,
        requested_at: ch
            .annotations()
            .get(RECONCILE_REQUESTED_AT)
            .map(String::as_str),
        registration: secrets.as_ref().map(|s| s.state.clone()),
        now,
    });
    // Events go out before the status that records their transition (see `events`).
    let decided = plan.decision.events.len();
    events::publish(ctx, ch, ch.status.as_ref(), &plan.decision.events).await;
    let applied = async {
        let wrote = registration::act(ctx, ch, account, secrets, &mut plan, now).await?;
        if plan.decision.events.len() > decided {
            events::publish(ctx, ch, ch.status.as_ref(), &plan.decision.events).await;
        }
        if wrote {
            apply::apply_outcome(ctx, ch, &plan.decision.status).await
        } else {
            apply::apply_status(ctx, ch, ch.status.as_ref(), &plan.decision.status)
                .await
                .map(|_| ())
        }
    };
    if let Err(err) = applied.await {
        ctx.model
            .webhooks
            .restore_channel_facts(&namespace, &name, facts);
        return Err(err);
    }
    inbox::clear(ctx, ch, &facts).await;
    Ok(Action::requeue(plan.decision.requeue_after))
}

/// How often a channel whose number another channel owns looks again (no Graph call), to take
/// over when the owner goes.
const CLAIM_RECHECK: std::time::Duration = std::time::Duration::from_secs(30);

/// A channel whose number an older channel owns (Stalled), or that is paused: no call to Meta,
/// no webhook fact applied. A paused one waits for its annotation to change.
async fn without_meta(
    ch: &WhatsAppChannel,
    ctx: &Context,
    namespace: &str,
    observation: decide::ChannelObservation,
) -> Result<Action, Error> {
    let paused = observation == decide::ChannelObservation::Paused;
    let plan = decide::plan_channel(decide::ChannelInput {
        namespace,
        spec: &ch.spec,
        generation: ch.meta().generation,
        previous: ch.status.as_ref(),
        observation,
        facts: &[],
        standing: &AccountStanding::default(),
        account_sync_interval: CLAIM_RECHECK,
        requested_at: ch
            .annotations()
            .get(RECONCILE_REQUESTED_AT)
            .map(String::as_str),
        registration: None,
        now: jiff::Timestamp::now(),
    });
    let decision = plan.decision;
    events::publish(ctx, ch, ch.status.as_ref(), &decision.events).await;
    apply::apply_status(ctx, ch, ch.status.as_ref(), &decision.status).await?;
    if paused {
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(decision.requeue_after.min(CLAIM_RECHECK)))
}

/// What a channel sees of its account: the account (with this process's latest decided status),
/// its interval and standing, and the number looked up in the account's latest snapshot.
struct Seen {
    account: Option<Arc<WhatsAppBusinessAccount>>,
    interval: std::time::Duration,
    standing: AccountStanding,
    observation: decide::ChannelObservation,
    snapshot_at: Option<jiff::Timestamp>,
}

/// None while there is nothing to decide on yet (no snapshot of the account).
fn observe(ctx: &Context, ch: &WhatsAppChannel, namespace: &str) -> Option<Seen> {
    let account_name = &ch.spec.account_ref.name;
    let account = ctx
        .stores
        .accounts
        .get(&ObjectRef::<WhatsAppBusinessAccount>::new(account_name).within(namespace))
        .map(|a| ctx.model.account_statuses.freshest(namespace, a));
    let interval = account
        .as_ref()
        .map(|a| decide::sync_interval(&a.spec))
        .unwrap_or(decide::DEFAULT_SYNC_INTERVAL);
    let snapshot = ctx
        .model
        .snapshots
        .get_with_read_at(namespace, account_name);
    let observation = decide::observe_channel(
        &ch.spec,
        account.as_deref(),
        snapshot.as_ref().map(|(s, _)| s.as_ref()),
    )?;
    let standing = webhooks::standing_for(ctx, namespace, account.as_deref(), account_name);
    Some(Seen {
        interval,
        standing,
        observation,
        snapshot_at: snapshot.as_ref().map(|(_, at)| *at),
        account,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(management: &str, policy: &str, finalizers: &[&str]) -> WhatsAppChannel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": {"name": "sales", "namespace": "ns", "finalizers": finalizers},
            "spec": {
                "accountRef": {"name": "acme"},
                "phoneNumber": "+1 555 078 3881",
                "management": management,
                "deletionPolicy": policy
            }
        }))
        .unwrap()
    }

    #[test]
    fn only_a_managed_channel_that_deregisters_needs_the_finalizer() {
        assert!(needs_finalizer(&channel("Managed", "Deregister", &[])));
        assert!(!needs_finalizer(&channel("Managed", "Orphan", &[])));
        assert!(!needs_finalizer(&channel("ObserveOnly", "Deregister", &[])));
        assert!(!needs_finalizer(&channel("ObserveOnly", "Orphan", &[])));
        // One that has it keeps going through it until its clean-up lets go.
        assert!(needs_finalizer(&channel(
            "Managed",
            "Orphan",
            &[CHANNEL_FINALIZER]
        )));
    }
}
