//! What deleting a channel does at Meta, behind the finalizer.

use std::sync::Arc;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::runtime::controller::Action;
use kube::runtime::reflector::ObjectRef;
use kube::{Api, Resource, ResourceExt};
use secrecy::SecretString;
use tracing::info;

use super::executor::{MetaAction, Target};
use super::secrets::{self, SecretLookup};
use super::{Context, Error, apply, events, history};
use crate::crd::{
    DeletionPolicy, Management, Phase, RegistrationProgress, WhatsAppBusinessAccount,
    WhatsAppChannel, condition,
};
use crate::decide::{self, ConditionStatus, reason};
use crate::meta::{ErrorClass, Refusal};

/// Reason of the Synced condition while the clean-up at Meta fails.
const CLEANUP_FAILED: &str = "CleanupFailed";

/// Orphan (and every ObserveOnly channel) only lets go; Deregister deregisters the number first,
/// within the registration budget, and treats "already gone" as done.
pub async fn cleanup(ch: &WhatsAppChannel, ctx: &Context) -> Result<Action, Error> {
    let namespace = ch.namespace().unwrap_or_default();
    let phone_number_id = ch.status.as_ref().and_then(|s| s.phone_number_id.clone());
    let deregisters = ch.spec.deletion_policy == DeletionPolicy::Deregister
        && ch.spec.management == Management::Managed;
    let Some(phone_number_id) = phone_number_id.filter(|_| deregisters) else {
        return Ok(Action::await_change());
    };
    let now = jiff::Timestamp::now();
    let mut progress = ch
        .status
        .as_ref()
        .and_then(|s| s.registration.clone())
        .unwrap_or_default();
    let surroundings = surroundings(ctx, &namespace).await;
    if surroundings.crd_deleted {
        return let_go(ctx, ch, CRD_DELETED).await;
    }
    if crate::crd::is_paused(&ch.metadata) {
        return let_go(ctx, ch, PAUSED).await;
    }
    if !ctx.claims.ready().await {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    if let Some(why) = kept_by_another_claim(ctx, ch) {
        return let_go(ctx, ch, &why).await;
    }
    let (account, token) = match writer(ctx, ch, &namespace, &mut progress, now).await? {
        Ok(found) => found,
        // Nobody can bring the credentials back into a namespace that is going away.
        Err(message) if surroundings.namespace_terminating => {
            return let_go(ctx, ch, &format!("{NAMESPACE_TERMINATING}: {message}")).await;
        }
        Err(message) => return fail(ctx, ch, progress, message, Written::Nothing).await,
    };
    let target = Target {
        waba_id: &account.spec.business_account_id,
        token,
    };
    match still_the_number(ctx, ch, &target, &phone_number_id).await {
        NumberAtMeta::Same => {}
        NumberAtMeta::Gone => return Ok(Action::await_change()),
        NumberAtMeta::Other(why) => return let_go(ctx, ch, &why).await,
        NumberAtMeta::Unreadable(message) => {
            return fail(ctx, ch, progress, message, Written::Nothing).await;
        }
    }
    deregister(ctx, ch, &account, target, phone_number_id, progress).await
}

/// The deregistration itself: the attempt recorded (on the channel and the account) before the
/// call, so a crash in between never under-counts; "already gone" counts as done.
async fn deregister(
    ctx: &Context,
    ch: &WhatsAppChannel,
    account: &WhatsAppBusinessAccount,
    target: Target<'_>,
    phone_number_id: String,
    mut progress: RegistrationProgress,
) -> Result<Action, Error> {
    let now = jiff::Timestamp::now();
    decide::record_attempt(&mut progress, now);
    write_progress(ctx, ch, &progress, None, Written::Nothing).await?;
    history::record(ctx, account, ch, Some(&progress)).await?;
    let action = MetaAction::Deregister {
        phone_number_id: phone_number_id.clone(),
    };
    match ctx.executor.execute(target, &action).await {
        Ok(_) => {
            info!(phone_number_id, "deregistered");
            let note = format!("Deregistered {} from the Cloud API", ch.spec.phone_number);
            let event = decide::EventSpec::normal(reason::DEREGISTERED, note);
            events::publish(ctx, ch, ch.status.as_ref(), &[event]).await;
            Ok(Action::await_change())
        }
        // A number already gone at Meta counts as deregistered.
        Err(err) if err.refusal == Some(Refusal::AlreadyGone) => Ok(Action::await_change()),
        Err(err) => {
            if err.class == ErrorClass::RegistrationBudget {
                decide::record_meta_refusal(&mut progress, now);
            }
            let message = format!(
                "deregistration failed: {}; it is retried, or set spec.deletionPolicy: Orphan to delete without deregistering",
                err.status_message()
            );
            fail(ctx, ch, progress, message, Written::Intent).await
        }
    }
}

/// Why the number stays registered although this channel goes: another channel owns it, or
/// another still claims it (a rename by re-create keeps the number).
fn kept_by_another_claim(ctx: &Context, ch: &WhatsAppChannel) -> Option<String> {
    if let Some(owner) = ctx.claims.number_claimed_elsewhere(ch) {
        return Some(format!(
            "WhatsAppChannel {} owns the number, not this channel",
            owner.display()
        ));
    }
    let others = ctx.claims.other_claims(ch);
    let names: Vec<String> = others.iter().map(|c| c.display()).collect();
    (!names.is_empty()).then(|| {
        format!(
            "WhatsAppChannel {} still claims the number (a rename by re-create keeps it)",
            names.join(", ")
        )
    })
}

/// What Meta says the channel's phone number id is now.
enum NumberAtMeta {
    /// Still the channel's digits: deregistering it is what the policy asks.
    Same,
    /// Meta no longer has it: nothing to deregister.
    Gone,
    /// The id now belongs to other digits (why, for the event).
    Other(String),
    /// The read failed (message for status); retried.
    Unreadable(String),
}

/// Reads the number by id right before deregistering it, so that an id recorded in status long
/// ago can never deregister a number it no longer names.
async fn still_the_number(
    ctx: &Context,
    ch: &WhatsAppChannel,
    target: &Target<'_>,
    phone_number_id: &str,
) -> NumberAtMeta {
    let session = ctx.graph.session(target.waba_id, target.token.clone());
    let number = match session.read_number(phone_number_id).await {
        Ok(number) => number,
        Err(err) if err.refusal == Some(Refusal::AlreadyGone) => return NumberAtMeta::Gone,
        Err(err) => {
            return NumberAtMeta::Unreadable(format!(
                "reading number {phone_number_id} before deregistering it failed: {}",
                err.status_message()
            ));
        }
    };
    let wanted = ch.spec.phone_number.digits();
    match (number.digits(), &number.display_phone_number) {
        (Some(at_meta), _) if wanted.as_deref() == Some(at_meta.as_str()) => NumberAtMeta::Same,
        (_, Some(shown)) => NumberAtMeta::Other(format!(
            "phone number id {phone_number_id} now belongs to {shown} at Meta"
        )),
        // No positive evidence that the id is still this number: never deregister on a guess.
        (_, None) => NumberAtMeta::Other(format!(
            "Meta's read of phone number id {phone_number_id} does not say which number it is"
        )),
    }
}

const PAUSED: &str = "the channel is paused (annotation whatsapp-operator.io/paused), so the \
     operator makes no call to Meta for it; the number stays registered";

const CRD_DELETED: &str = "the WhatsAppChannel CRD is being deleted; numbers are never \
deregistered because their resource type goes away";

const NAMESPACE_TERMINATING: &str = "its namespace is terminating and the number cannot be \
deregistered now (deregister it in WhatsApp Manager if that was intended)";

/// What is being deleted around a channel that is being deleted.
struct Surroundings {
    crd_deleted: bool,
    namespace_terminating: bool,
}

/// Reads the channel CRD and the namespace; one that cannot be read counts as not being deleted
/// (the operator then behaves as without this check).
async fn surroundings(ctx: &Context, namespace: &str) -> Surroundings {
    let crds: Api<CustomResourceDefinition> = Api::all(ctx.client.clone());
    let namespaces: Api<Namespace> = Api::all(ctx.client.clone());
    let crd_name = format!(
        "{}.{}",
        WhatsAppChannel::plural(&()),
        WhatsAppChannel::group(&())
    );
    let deleting = |meta: &kube::core::ObjectMeta| meta.deletion_timestamp.is_some();
    Surroundings {
        crd_deleted: matches!(crds.get_opt(&crd_name).await, Ok(Some(c)) if deleting(&c.metadata)),
        namespace_terminating: matches!(
            namespaces.get_opt(namespace).await,
            Ok(Some(n)) if deleting(&n.metadata)
        ),
    }
}

/// Releases the channel without deregistering its number, saying why.
async fn let_go(ctx: &Context, ch: &WhatsAppChannel, why: &str) -> Result<Action, Error> {
    let note = format!("{} was not deregistered: {why}", ch.spec.phone_number);
    tracing::warn!(%note, "deregistration skipped");
    let event = decide::EventSpec::warning(reason::DEREGISTRATION_SKIPPED, note);
    events::publish(ctx, ch, ch.status.as_ref(), &[event]).await;
    Ok(Action::await_change())
}

/// The account and token a deregistration is sent with, or what stands in its way (the
/// budget, a missing account or Secret) as the message for status.
async fn writer(
    ctx: &Context,
    ch: &WhatsAppChannel,
    namespace: &str,
    progress: &mut RegistrationProgress,
    now: jiff::Timestamp,
) -> Result<Result<(Arc<WhatsAppBusinessAccount>, SecretString), String>, Error> {
    let account_name = &ch.spec.account_ref.name;
    let account = ctx
        .stores
        .accounts
        .get(&ObjectRef::<WhatsAppBusinessAccount>::new(account_name).within(namespace));
    let Some(account) = account else {
        return Ok(Err(format!(
            "cannot deregister: WhatsAppBusinessAccount {account_name} not found; recreate it or set spec.deletionPolicy: Orphan"
        )));
    };
    history::merge_into(progress, ch, &account, now);
    if let Some(next) = decide::next_attempt_allowed(progress, now) {
        return Ok(Err(format!(
            "deregistration waits for Meta's registration budget until {}; set spec.deletionPolicy: Orphan to delete without deregistering",
            decide::format_time(next)
        )));
    }
    Ok(
        match secrets::read_key(ctx, namespace, &account.spec.credentials_secret_ref).await? {
            SecretLookup::Found(v) => Ok((account, v.value)),
            SecretLookup::Missing(m) | SecretLookup::NotFound(m) => Err(format!(
                "cannot deregister: {m}; or set spec.deletionPolicy: Orphan"
            )),
        },
    )
}

/// How long a deletion retries a clean-up that fails before it lets go: no resource is stuck
/// in deletion for longer, whatever Meta or the namespace does.
const CLEANUP_PATIENCE: jiff::SignedDuration = jiff::SignedDuration::from_secs(60);

/// Whether the deletion began longer than `CLEANUP_PATIENCE` ago.
fn out_of_patience(ch: &WhatsAppChannel, now: jiff::Timestamp) -> bool {
    ch.metadata
        .deletion_timestamp
        .as_ref()
        .is_some_and(|t| now.duration_since(t.0) >= CLEANUP_PATIENCE)
}

/// Shows the failure in status and returns an error so the finalizer stays and the controller
/// retries with backoff; after `CLEANUP_PATIENCE` lets go instead, saying why.
async fn fail(
    ctx: &Context,
    ch: &WhatsAppChannel,
    progress: RegistrationProgress,
    message: String,
    written: Written,
) -> Result<Action, Error> {
    if out_of_patience(ch, jiff::Timestamp::now()) {
        let why = format!(
            "{message}. Gave up after a minute of trying; deregister it in WhatsApp Manager if \
             that was intended"
        );
        return let_go(ctx, ch, &why).await;
    }
    write_progress(ctx, ch, &progress, Some(&message), written).await?;
    Err(Error::Cleanup {
        namespace: ch.namespace().unwrap_or_default(),
        name: ch.name_any(),
        message,
    })
}

/// What this clean-up already wrote to the channel before the status it writes now.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Written {
    Nothing,
    /// The deregistration's intent: the object changed since it was read, and what is written
    /// now is Meta's answer, which must not be lost.
    Intent,
}

async fn write_progress(
    ctx: &Context,
    ch: &WhatsAppChannel,
    progress: &RegistrationProgress,
    failure: Option<&str>,
    written: Written,
) -> Result<(), Error> {
    let previous = ch.status.clone().unwrap_or_default();
    let mut status = previous.clone();
    status.phase = Phase::Deleting;
    status.registration = Some(progress.clone());
    if let Some(message) = failure {
        decide::set_condition(
            &mut status.conditions,
            condition::SYNCED,
            ConditionStatus::False,
            CLEANUP_FAILED,
            message,
            ch.metadata.generation,
            jiff::Timestamp::now(),
        );
    }
    if written == Written::Intent {
        apply::apply_outcome(ctx, ch, &status).await
    } else {
        apply::apply_status(ctx, ch, Some(&previous), &status)
            .await
            .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deleted_at(at: &str) -> WhatsAppChannel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": {"name": "sales", "namespace": "ns", "deletionTimestamp": at},
            "spec": {"accountRef": {"name": "acme"}, "phoneNumber": "+1 555 078 3881"}
        }))
        .unwrap()
    }

    #[test]
    fn a_failing_cleanup_lets_go_one_minute_after_the_deletion() {
        let ch = deleted_at("2026-01-01T00:00:00Z");
        let at = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        assert!(!out_of_patience(&ch, at("2026-01-01T00:00:59Z")));
        assert!(out_of_patience(&ch, at("2026-01-01T00:01:00Z")));
        let mut live = ch.clone();
        live.metadata.deletion_timestamp = None;
        assert!(!out_of_patience(&live, at("2027-01-01T00:00:00Z")));
    }
}
