//! The template reconciler: observe (the account's read, claims, webhook notices) -> decide
//! (`decide::template::plan_template`, pure) -> act (at most one write to Meta, its intent in
//! status first) -> apply (status, events).

use std::sync::Arc;
use std::time::Duration;

use kube::runtime::controller::Action;
use kube::runtime::finalizer::{Event as FinalizerEvent, finalizer};
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use secrecy::SecretString;
use tracing::{Instrument, debug, info, info_span, warn};

use super::executor::{MetaAction, Target};
use super::secrets::{self, SecretLookup};
use super::{Context, Error, Measure, apply, events, inbox};
use crate::crd::{
    CHANNEL_FINALIZER, Management, TemplateDeletionPolicy, WhatsAppBusinessAccount,
    WhatsAppMessageTemplate, is_paused,
};
use crate::decide::template::{
    DeletionStep, TemplateInput, TemplateObservation, TemplatePlan, TemplateWrite, deleted_event,
    plan_deletion, plan_template, record_intent, record_outcome,
};
use crate::decide::{self, EventSpec};
use crate::meta::template::MessageTemplate;

/// How soon a template waiting for its account's first read with templates looks again.
const READ_WAIT: Duration = Duration::from_secs(2);

pub async fn reconcile(
    t: Arc<WhatsAppMessageTemplate>,
    ctx: Arc<Context>,
) -> Result<Action, Error> {
    let namespace = t.namespace().ok_or_else(|| Error::NotNamespaced {
        kind: "WhatsAppMessageTemplate".into(),
    })?;
    let span = info_span!("reconcile_template", namespace = %namespace, name = %t.name_any());
    let measure = Measure::start(&ctx.metrics, "template");
    let res = super::unwind_safe(
        "WhatsAppMessageTemplate",
        t.as_ref(),
        reconcile_all(&t, &ctx, span),
    )
    .await;
    measure.finish(&res);
    if res.is_ok() {
        ctx.reset_errors(t.meta().uid.as_deref());
    }
    res
}

/// Only a Managed template that is deleted at Meta with its resource carries a finalizer.
fn needs_finalizer(t: &WhatsAppMessageTemplate) -> bool {
    let deletes = t.spec.deletion_policy == TemplateDeletionPolicy::Delete
        && t.spec.management == Management::Managed;
    deletes || t.finalizers().iter().any(|f| f == CHANNEL_FINALIZER)
}

async fn reconcile_all(
    t: &Arc<WhatsAppMessageTemplate>,
    ctx: &Arc<Context>,
    span: tracing::Span,
) -> Result<Action, Error> {
    let namespace = t.namespace().unwrap_or_default();
    if needs_finalizer(t) {
        let api: Api<WhatsAppMessageTemplate> = Api::namespaced(ctx.client.clone(), &namespace);
        finalizer(&api, CHANNEL_FINALIZER, t.clone(), |event| async {
            match event {
                FinalizerEvent::Apply(t) => reconcile_inner(&t, ctx).await,
                FinalizerEvent::Cleanup(t) => cleanup(&t, ctx).await,
            }
        })
        .instrument(span)
        .await
        .map_err(|e| Error::Finalizer(Box::new(e)))
    } else if t.meta().deletion_timestamp.is_some() {
        Ok(Action::await_change())
    } else {
        reconcile_inner(t, ctx).instrument(span).await
    }
}

/// What the template sees: its account and Meta's record from the account's latest read.
#[allow(clippy::large_enum_variant)]
enum Seen {
    /// Decide on this observation.
    Decide(TemplateObservation, Option<Arc<WhatsAppBusinessAccount>>),
    /// The account's snapshot lacks the templates: it was asked to read them.
    Wait,
}

fn account_of(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    namespace: &str,
) -> Option<Arc<WhatsAppBusinessAccount>> {
    ctx.stores
        .accounts
        .get(&ObjectRef::<WhatsAppBusinessAccount>::new(&t.spec.account_ref.name).within(namespace))
}

/// The older template of the same account naming the same name and language, if any: the
/// oldest claim wins, the others never write to Meta.
fn template_claimed_elsewhere(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    namespace: &str,
) -> Option<String> {
    let me = super::claims::Claimant::of(t);
    let group = (namespace.to_string(), t.spec.account_ref.name.clone());
    ctx.model
        .templates_by_account
        .members(&group)
        .into_iter()
        .map(|(_, e)| e)
        .filter(|e| e.name == t.spec.name && e.language == t.spec.language)
        .map(|e| e.claimant)
        .min_by(|a, b| a.order().cmp(&b.order()))
        .filter(|owner| owner.uid != me.uid)
        .map(|owner| owner.display())
}

fn observe(ctx: &Context, t: &WhatsAppMessageTemplate, namespace: &str) -> Seen {
    if is_paused(t.meta()) {
        return Seen::Decide(TemplateObservation::Paused, None);
    }
    let Some(account) = account_of(ctx, t, namespace) else {
        let name = t.spec.account_ref.name.clone();
        return Seen::Decide(TemplateObservation::AccountMissing { name }, None);
    };
    if let Some(owner) = ctx.claims.waba_claimed_elsewhere(&account) {
        let owner = format!(
            "WhatsAppBusinessAccount {} (the WABA's owner)",
            owner.display()
        );
        return Seen::Decide(
            TemplateObservation::ClaimedElsewhere { owner },
            Some(account),
        );
    }
    if let Some(owner) = template_claimed_elsewhere(ctx, t, namespace) {
        let owner = format!("WhatsAppMessageTemplate {owner}");
        return Seen::Decide(
            TemplateObservation::ClaimedElsewhere { owner },
            Some(account),
        );
    }
    let snapshot = ctx
        .model
        .snapshots
        .get_with_read_at(namespace, &t.spec.account_ref.name);
    let Some((snapshot, read_at)) = snapshot else {
        if account.status.as_ref().is_some_and(|s| {
            !crate::crd::condition_is_true(&s.conditions, crate::crd::condition::SYNCED)
        }) {
            let reason = format!(
                "WhatsAppBusinessAccount {} has not read Meta successfully; see its Synced condition",
                account.name_any()
            );
            return Seen::Decide(
                TemplateObservation::AccountNotSynced { reason },
                Some(account),
            );
        }
        ctx.request_account_sync(&account);
        return Seen::Wait;
    };
    let Some(templates) = snapshot.message_templates.as_ref() else {
        ctx.request_account_sync(&account);
        return Seen::Wait;
    };
    let found = templates
        .iter()
        .find(|m| m.is(&t.spec.name, &t.spec.language))
        .cloned();
    let malformed = snapshot
        .malformed_templates
        .iter()
        .find(|m| {
            m.name.as_deref() == Some(t.spec.name.as_str())
                && m.language.as_deref().is_none_or(|l| l == t.spec.language)
        })
        .map(|m| m.error.clone());
    Seen::Decide(
        TemplateObservation::Read {
            found,
            malformed,
            read_at,
        },
        Some(account),
    )
}

async fn reconcile_inner(t: &WhatsAppMessageTemplate, ctx: &Context) -> Result<Action, Error> {
    let namespace = t.namespace().unwrap_or_default();
    let name = t.name_any();
    if !ctx.stores_ready().await || !ctx.claims.ready().await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let (observation, account) = match observe(ctx, t, &namespace) {
        Seen::Decide(o, a) => (o, a),
        Seen::Wait => return Ok(Action::requeue(READ_WAIT)),
    };
    let reads_meta = matches!(observation, TemplateObservation::Read { .. });
    let facts = if reads_meta {
        inbox::gather(
            ctx.model.webhooks.take_template_facts(&namespace, &name),
            &t.status
                .as_ref()
                .map(|s| s.webhook.webhook_inbox.clone())
                .unwrap_or_default(),
        )
    } else {
        Vec::new()
    };
    let now = jiff::Timestamp::now();
    let plan = plan_template(TemplateInput {
        spec: &t.spec,
        generation: t.meta().generation,
        previous: t.status.as_ref(),
        observation,
        facts: &facts,
        requested_at: t
            .annotations()
            .get(crate::crd::RECONCILE_REQUESTED_AT)
            .map(String::as_str),
        now,
    });
    debug!(
        previous = ?t.status.as_ref().map(|s| (&s.status, &s.quality_score)),
        decided = ?(&plan.status.status, &plan.status.quality_score),
        facts = facts.len(),
        events = plan.events.len(),
        write = plan.write.as_ref().map(TemplateWrite::action),
        resource_version = ?t.metadata.resource_version,
        "template decided"
    );
    // Events go out before the status that records their transition (see `events`).
    events::publish(ctx, t, t.status.as_ref(), &plan.events).await;
    let applied = act_and_apply(ctx, t, account.as_deref(), &plan, now).await;
    if let Err(err) = applied {
        ctx.model
            .webhooks
            .restore_template_facts(&namespace, &name, facts);
        return Err(err);
    }
    inbox::clear(ctx, t, &facts).await;
    if let Some(account) = account.as_deref()
        && (plan.needs_read || plan.write.is_some())
    {
        ctx.request_account_sync(account);
    }
    if is_paused(t.meta()) {
        return Ok(Action::await_change());
    }
    Ok(Action::requeue(plan.requeue_after))
}

/// The write, when the plan has one: intent applied on the version read (of two processes, one
/// wins), the call, then Meta's answer applied unconditionally. Otherwise the status alone.
async fn act_and_apply(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    account: Option<&WhatsAppBusinessAccount>,
    plan: &TemplatePlan,
    now: jiff::Timestamp,
) -> Result<(), Error> {
    let (Some(write), Some(account)) = (plan.write.as_ref(), account) else {
        apply::apply_status(ctx, t, t.status.as_ref(), &plan.status).await?;
        return Ok(());
    };
    let namespace = t.namespace().unwrap_or_default();
    let Some(token) = token(ctx, account, &namespace).await? else {
        apply::apply_status(ctx, t, t.status.as_ref(), &plan.status).await?;
        return Ok(());
    };
    let mut status = plan.status.clone();
    record_intent(&mut status, write, now);
    apply::apply_intent(ctx, t, &status).await?;
    let action = action_of(&t.spec, write);
    let target = Target {
        waba_id: &account.spec.business_account_id,
        token,
    };
    let result = ctx.executor.execute(target, &action).await;
    match &result {
        Ok(()) => info!(action = write.action(), template = %t.spec.name, "template written"),
        Err(err) => warn!(action = write.action(), error = %err, "template write failed"),
    }
    let answered = jiff::Timestamp::now();
    let intent = status.clone();
    record_outcome(&mut status, write, &result, answered);
    // On the intent as stored: decided again after a kill, the outcome finds its events there.
    let outcome = crate::decide::template::outcome_events(&intent, &status);
    events::publish(ctx, t, Some(&intent), &outcome).await;
    apply::apply_outcome(ctx, t, &status).await?;
    Ok(())
}

fn action_of(spec: &crate::crd::WhatsAppMessageTemplateSpec, write: &TemplateWrite) -> MetaAction {
    match write {
        TemplateWrite::Create { content, .. } => MetaAction::CreateTemplate {
            name: spec.name.clone(),
            language: spec.language.clone(),
            content: content.clone(),
        },
        TemplateWrite::Edit {
            template_id,
            content,
            ..
        } => MetaAction::EditTemplate {
            template_id: template_id.clone(),
            content: content.clone(),
        },
    }
}

/// The account's token; `None` (logged) when its Secret cannot give one: the account's own
/// status says why, and the write waits.
async fn token(
    ctx: &Context,
    account: &WhatsAppBusinessAccount,
    namespace: &str,
) -> Result<Option<SecretString>, Error> {
    Ok(
        match secrets::read_key(ctx, namespace, &account.spec.credentials_secret_ref).await? {
            SecretLookup::Found(v) => Some(v.value),
            SecretLookup::Missing(m) | SecretLookup::NotFound(m) => {
                warn!(message = %m, "no token to write the template with");
                None
            }
        },
    )
}

/// How long a deletion retries a failing delete before it lets go, so that no resource is
/// stuck in deletion whatever Meta does.
const CLEANUP_PATIENCE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Deletes this language of the template at Meta when the policy says so, then lets go.
async fn cleanup(t: &WhatsAppMessageTemplate, ctx: &Context) -> Result<Action, Error> {
    let namespace = t.namespace().unwrap_or_default();
    if is_paused(t.meta()) {
        return let_go(
            ctx,
            t,
            Some(skipped(
                "the template is paused (annotation whatsapp-operator.io/paused)",
            )),
        )
        .await;
    }
    if !ctx.claims.ready().await {
        return Ok(Action::requeue(Duration::from_secs(1)));
    }
    let account = account_of(ctx, t, &namespace);
    let owner = account
        .as_deref()
        .is_some_and(|a| ctx.claims.waba_claimed_elsewhere(a).is_none())
        && template_claimed_elsewhere(ctx, t, &namespace).is_none();
    let found = found_in_snapshot(ctx, t, &namespace);
    let step = plan_deletion(&t.spec, t.status.as_ref(), found.as_ref(), owner);
    let (name, template_id) = match step {
        DeletionStep::Release(event) => return let_go(ctx, t, event).await,
        DeletionStep::Delete { name, template_id } => (name, template_id),
    };
    let Some(account) = account else {
        return let_go(ctx, t, Some(skipped("its WhatsAppBusinessAccount is gone"))).await;
    };
    let Some(token) = token(ctx, &account, &namespace).await? else {
        return retry_or_let_go(ctx, t, "the account's credentials Secret cannot be read").await;
    };
    let target = Target {
        waba_id: &account.spec.business_account_id,
        token,
    };
    // The delete's intent goes into status first (on the version read): a cleanup run again,
    // after a lost answer or a failed finalizer removal, never sends a second DELETE.
    let mut status = t.status.clone().unwrap_or_default();
    let submission = status.submission.get_or_insert_with(Default::default);
    if submission
        .in_flight
        .as_ref()
        .is_some_and(|f| f.action == DELETE)
    {
        return let_go(ctx, t, None).await;
    }
    submission.in_flight = Some(crate::crd::TemplateWriteInFlight {
        action: DELETE.into(),
        content_hash: None,
        started_at: decide::status_time(jiff::Timestamp::now()),
    });
    apply::apply_intent(ctx, t, &status).await?;
    let action = MetaAction::DeleteTemplate { name, template_id };
    match ctx.executor.execute(target, &action).await {
        Ok(()) => {
            ctx.request_account_sync(&account);
            let_go(ctx, t, Some(deleted_event(&t.spec))).await
        }
        Err(err) if err.refusal == Some(crate::meta::Refusal::AlreadyGone) => {
            let_go(ctx, t, None).await
        }
        Err(err) => {
            if let Some(s) = status.submission.as_mut() {
                s.in_flight = None;
                s.last_error = Some(err.status_message());
            }
            apply::apply_outcome(ctx, t, &status).await?;
            retry_or_let_go(ctx, t, &err.status_message()).await
        }
    }
}

/// The in-flight action of a template's deletion.
const DELETE: &str = "delete";

fn skipped(why: &str) -> EventSpec {
    EventSpec::warning(
        decide::reason::TEMPLATE_DELETION_SKIPPED,
        format!("the template was left at Meta: {why}"),
    )
}

fn found_in_snapshot(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    namespace: &str,
) -> Option<MessageTemplate> {
    let snapshot = ctx
        .model
        .snapshots
        .get(namespace, &t.spec.account_ref.name)?;
    snapshot
        .message_templates
        .as_ref()?
        .iter()
        .find(|m| m.is(&t.spec.name, &t.spec.language))
        .cloned()
}

async fn let_go(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    event: Option<EventSpec>,
) -> Result<Action, Error> {
    if let Some(event) = event {
        events::publish(ctx, t, t.status.as_ref(), &[event]).await;
    }
    Ok(Action::await_change())
}

/// A failed delete is retried with the error backoff for a minute, then the resource goes with
/// a warning saying the template was left at Meta.
async fn retry_or_let_go(
    ctx: &Context,
    t: &WhatsAppMessageTemplate,
    why: &str,
) -> Result<Action, Error> {
    let since = t.meta().deletion_timestamp.as_ref().map(|d| d.0);
    let patience_over =
        since.is_some_and(|s| jiff::Timestamp::now().duration_since(s) > CLEANUP_PATIENCE);
    if patience_over {
        return let_go(ctx, t, Some(skipped(&format!("deleting it kept failing ({why}); delete it in WhatsApp Manager if that was intended")))).await;
    }
    Err(Error::Cleanup {
        namespace: t.namespace().unwrap_or_default(),
        name: t.name_any(),
        message: format!("deleting the template failed: {why}"),
    })
}
