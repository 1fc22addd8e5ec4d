//! Executes the registration planner's step: at most one write to Meta per reconcile, its
//! intent in status before the call and its outcome after.

use jiff::Timestamp;
use std::time::{Duration, Instant};

use kube::{Api, ResourceExt};
use secrecy::SecretString;
use tracing::info;

use super::executor::{MetaAction, Target};
use super::secrets::{self, Creation, SecretLookup};
use super::{Context, Error, apply, events, history};
use crate::crd::{
    Management, SecretKeyRef, WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppChannelStatus,
};
use crate::decide::{
    self, ChannelDecision, ChannelObservation, ChannelPlan, EventSpec, RegistrationInput,
    RegistrationState, SecretState, Step, reason,
};
use crate::meta::GraphError;
use crate::meta::profile::BusinessProfileData;

/// Requeue while the watch cache catches up with the operator's own write.
const RESYNC_POLL: Duration = Duration::from_secs(1);

/// A Secret key read for the planner: its state (fingerprint only) and the value for the call.
struct Read {
    state: SecretState,
    value: Option<SecretString>,
    /// (UID/resourceVersion, content fingerprint) of a present Secret.
    renamed: Option<(String, String)>,
}

async fn read(ctx: &Context, namespace: &str, r: Option<&SecretKeyRef>) -> Result<Read, Error> {
    let Some(r) = r else {
        return Ok(Read {
            state: SecretState::NotConfigured,
            value: None,
            renamed: None,
        });
    };
    Ok(match secrets::read_key(ctx, namespace, r).await? {
        SecretLookup::Found(v) => Read {
            renamed: Some((v.legacy_version, v.version.clone())),
            state: SecretState::Present(v.version),
            value: Some(v.value),
        },
        SecretLookup::Missing(m) => Read {
            state: SecretState::Missing(m),
            value: None,
            renamed: None,
        },
        SecretLookup::NotFound(m) => Read {
            state: SecretState::NotFound(m),
            value: None,
            renamed: None,
        },
    })
}

/// The Secrets a Managed channel's registration reads: their states for the planner, their
/// values for the executor.
pub struct RegistrationSecrets {
    pub state: RegistrationState,
    code: Option<SecretString>,
    pin: Option<SecretString>,
    code_renamed: Option<(String, String)>,
    pin_renamed: Option<(String, String)>,
}

impl RegistrationSecrets {
    /// Status written before content fingerprints names each Secret by UID and
    /// resourceVersion; the Secret still at that version is the same content under its new
    /// fingerprint, so an upgrade sends no PIN and tries no code again.
    pub fn migrate(&self, status: &mut WhatsAppChannelStatus) {
        let Some(p) = status.registration.as_mut() else {
            return;
        };
        let rename = |field: &mut Option<String>, renamed: &Option<(String, String)>| {
            if let Some((legacy, current)) = renamed
                && field.as_deref() == Some(legacy.as_str())
            {
                *field = Some(current.clone());
            }
        };
        rename(&mut p.applied_pin, &self.pin_renamed);
        rename(&mut p.last_tried_code, &self.code_renamed);
    }
}

/// Observe: the Secrets registration needs, for a Managed channel whose account exists and whose
/// number was looked for in the WABA (None otherwise). Code and PIN are read only once the
/// number is in the WABA.
pub async fn observe(
    ctx: &Context,
    ch: &WhatsAppChannel,
    account: Option<&WhatsAppBusinessAccount>,
    observation: &ChannelObservation,
    snapshot_at: Option<Timestamp>,
) -> Result<Option<RegistrationSecrets>, Error> {
    let looked_up = matches!(
        observation,
        ChannelObservation::Number { .. } | ChannelObservation::NotInWaba
    );
    if ch.spec.management == Management::ObserveOnly || account.is_none() || !looked_up {
        return Ok(None);
    }
    let namespace = ch.namespace().unwrap_or_default();
    let present = matches!(observation, ChannelObservation::Number { .. });
    let registration = ch.spec.registration.as_ref();
    let wanted = |r: Option<&SecretKeyRef>| r.filter(|_| present).cloned();
    let code = read(
        ctx,
        &namespace,
        wanted(registration.and_then(|r| r.verification_code_secret_ref.as_ref())).as_ref(),
    )
    .await?;
    let pin = read(
        ctx,
        &namespace,
        wanted(registration.and_then(|r| r.pin_secret_ref.as_ref())).as_ref(),
    )
    .await?;
    Ok(Some(RegistrationSecrets {
        state: RegistrationState {
            code: code.state,
            pin: pin.state,
            snapshot_at,
        },
        code: code.value,
        pin: pin.value,
        code_renamed: code.renamed,
        pin_renamed: pin.renamed,
    }))
}

/// Act: performs the plan's registration step, at most one write to Meta, its intent in status
/// before the call and its outcome after; without a step, keeps the business profile applied.
/// Returns whether it wrote an intent (the object has changed since it was read, and what is
/// left to apply is Meta's answer).
pub async fn act(
    ctx: &Context,
    ch: &WhatsAppChannel,
    account: Option<&WhatsAppBusinessAccount>,
    secrets: Option<RegistrationSecrets>,
    plan: &mut ChannelPlan,
    now: Timestamp,
) -> Result<bool, Error> {
    let (Some(account), Some(secrets)) = (account, secrets) else {
        return Ok(false);
    };
    if let Some(r) = &plan.create_code_secret {
        create_code_secret(ctx, ch, r, &mut plan.decision.events).await?;
    }
    if plan.needs_resync {
        ctx.request_account_sync(account);
    }
    let Some(step) = plan.step.clone() else {
        if matches!(plan.observation, ChannelObservation::Number { .. })
            && decide::is_registered(&plan.decision.status)
        {
            let snapshot_at = secrets.state.snapshot_at;
            keep_profile(ctx, ch, account, snapshot_at, &mut plan.decision).await?;
        }
        return Ok(false);
    };
    trace_step(ch, &step, &plan.observation, secrets.state.snapshot_at);
    let namespace = ch.namespace().unwrap_or_default();
    if !is_current(ctx, ch, &namespace).await? {
        // The watch cache has not caught up with this reconcile's own last status write;
        // planning on it could repeat a step. The fresh object comes with the next event.
        plan.decision.requeue_after = plan.decision.requeue_after.min(RESYNC_POLL);
        return Ok(false);
    }
    let token =
        match secrets::read_key(ctx, &namespace, &account.spec.credentials_secret_ref).await? {
            SecretLookup::Found(v) => v.value,
            // The account reports it and stalls; its channels wait for it.
            SecretLookup::Missing(_) | SecretLookup::NotFound(_) => return Ok(false),
        };
    let input = outcome_input(ch, &namespace, &plan.observation, &secrets.state, now);
    let status = &mut plan.decision.status;
    let id = status.phone_number_id.clone().unwrap_or_default();
    let Some(action) = action_of(&step, id.clone(), secrets.code, secrets.pin) else {
        return Ok(false);
    };
    decide::record_intent(&step, status, now);
    apply::apply_intent(ctx, ch, status).await?;
    history::record(ctx, account, ch, status.registration.as_ref()).await?;
    let result = execute(ctx, account, token, &step, &action, &id).await;
    // Published before the outcome is applied, on the intent as stored: decided again after a
    // kill, the same outcome finds its events there.
    let intent = status.clone();
    let events = decide::record_outcome(&input, &step, result.as_ref().map(|_| ()), status);
    events::publish(ctx, ch, Some(&intent), &events).await;
    // The channel plans its next step on a read that follows this write; asking for it before
    // such a read can exist would only spend Graph budget.
    let delay = decide::snapshot_fresh_from(&plan.decision.status)
        .map(|at| Duration::try_from(Timestamp::now().duration_until(at)).unwrap_or_default())
        .unwrap_or_default();
    ctx.request_account_sync_after(account, delay);
    Ok(true)
}

/// How long after a refused create of the code Secret the operator tries again (the RBAC may
/// have been granted meanwhile); the Secret is otherwise looked for every few seconds.
const CODE_SECRET_RETRY: Duration = Duration::from_secs(600);

/// Creates the empty code Secret the plan asks for, with its event. A refusal (RBAC without
/// `create`, a name Kubernetes refuses) is logged once per channel and does not fail the
/// reconcile: the channel goes on waiting, with the same message, for a person to create it.
async fn create_code_secret(
    ctx: &Context,
    ch: &WhatsAppChannel,
    r: &SecretKeyRef,
    events: &mut Vec<EventSpec>,
) -> Result<(), Error> {
    let (Some(uid), Some(secret)) = (ch.metadata.uid.as_deref(), secrets::code_secret(ch, r))
    else {
        return Ok(());
    };
    let memory = &ctx.model.memory;
    let refused_recently = memory
        .read(uid, |e| e.code_secret_refused)
        .flatten()
        .is_some_and(|at| at.elapsed() < CODE_SECRET_RETRY);
    if refused_recently {
        return Ok(());
    }
    let namespace = ch.namespace().unwrap_or_default();
    match secrets::create(ctx, &namespace, &secret).await? {
        Creation::Created => {
            info!(secret = %r.name, key = %r.key, "created the empty verification-code Secret");
            memory.update(uid, |e| e.code_secret_refused = None);
            events.push(decide::code_secret_created(&namespace, r));
        }
        Creation::AlreadyExists => {}
        Creation::Refused(why) => {
            let first = memory.with(uid, |e| {
                e.code_secret_refused.replace(Instant::now()).is_none()
            });
            if first {
                info!(secret = %r.name, reason = %why, "cannot create the verification-code Secret; waiting for a person to create it");
            }
        }
    }
    Ok(())
}

/// Hands the step's write to the executor, announced before it leaves: a crash mid-call leaves
/// the first line in the log.
async fn execute(
    ctx: &Context,
    account: &WhatsAppBusinessAccount,
    token: SecretString,
    step: &Step,
    action: &MetaAction,
    phone_number_id: &str,
) -> Result<(), GraphError> {
    info!(
        step = step.name(),
        phone_number_id, "registration step calling Meta"
    );
    let target = Target {
        waba_id: &account.spec.business_account_id,
        token,
    };
    let result = ctx.executor.execute(target, action).await;
    match &result {
        Ok(()) => info!(step = step.name(), "registration step done"),
        Err(e) => info!(step = step.name(), error = %e, "registration step failed"),
    }
    result
}

/// What `record_outcome` judges the answer against (the planner's own input).
fn outcome_input<'a>(
    ch: &'a WhatsAppChannel,
    namespace: &'a str,
    observation: &'a ChannelObservation,
    state: &RegistrationState,
    now: Timestamp,
) -> RegistrationInput<'a> {
    RegistrationInput {
        spec: &ch.spec,
        namespace,
        observation,
        code: state.code.clone(),
        pin: state.pin.clone(),
        snapshot_at: state.snapshot_at,
        retry_requested: false,
        now,
    }
}

fn trace_step(
    ch: &WhatsAppChannel,
    step: &Step,
    observation: &ChannelObservation,
    snapshot_at: Option<Timestamp>,
) {
    let meta_status = match observation {
        ChannelObservation::Number { number } => format!("{:?}", number.status),
        _ => "absent".into(),
    };
    let previous = ch.status.as_ref();
    tracing::debug!(
        step = step.name(),
        ?snapshot_at,
        meta_status,
        resource_version = ?ch.metadata.resource_version,
        progress = ?previous.and_then(|p| p.registration.as_ref()).map(|p| (&p.attempts, &p.registered_at)),
        "registration step planned"
    );
}

/// The write a planned step makes; None when the Secret it needs has no value.
fn action_of(
    step: &Step,
    phone_number_id: String,
    code: Option<SecretString>,
    pin: Option<SecretString>,
) -> Option<MetaAction> {
    Some(match step {
        Step::AddNumber {
            cc,
            number,
            verified_name,
        } => MetaAction::AddNumber {
            cc: cc.clone(),
            number: number.clone(),
            verified_name: verified_name.clone(),
        },
        Step::RequestCode { method, language } => MetaAction::RequestCode {
            phone_number_id,
            method: method.as_str(),
            language: language.clone(),
        },
        Step::VerifyCode { .. } => MetaAction::VerifyCode {
            phone_number_id,
            code: code?,
        },
        Step::Register { .. } => MetaAction::Register {
            phone_number_id,
            pin: pin?,
        },
        Step::SetPin { .. } => MetaAction::SetPin {
            phone_number_id,
            pin: pin?,
        },
        Step::RequestName { name } => MetaAction::RequestDisplayName {
            phone_number_id,
            name: name.clone(),
        },
    })
}

/// How often a channel's business profile is compared with Meta when its spec did not change.
const PROFILE_RECHECK: std::time::Duration = std::time::Duration::from_secs(6 * 3600);

/// Applies the spec's business profile fields that drifted at Meta: a read when the spec changed,
/// after a start and every `PROFILE_RECHECK`, a write only on drift.
async fn keep_profile(
    ctx: &Context,
    ch: &WhatsAppChannel,
    account: &WhatsAppBusinessAccount,
    snapshot_at: Option<Timestamp>,
    decision: &mut ChannelDecision,
) -> Result<(), Error> {
    let (Some(wanted), Some(uid), Some(_), Some(id)) = (
        ch.spec.business_profile.as_ref(),
        ch.metadata.uid.clone(),
        snapshot_at,
        decision.status.phone_number_id.clone(),
    ) else {
        return Ok(());
    };
    if profile_checked_recently(ctx, &uid, ch.metadata.generation) {
        return Ok(());
    }
    let namespace = ch.namespace().unwrap_or_default();
    let token =
        match secrets::read_key(ctx, &namespace, &account.spec.credentials_secret_ref).await? {
            SecretLookup::Found(v) => v.value,
            SecretLookup::Missing(_) | SecretLookup::NotFound(_) => return Ok(()),
        };
    let waba_id = &account.spec.business_account_id;
    let result = apply_profile_drift(ctx, waba_id, token, &id, wanted).await;
    decision.events.extend(profile_event(result));
    Ok(())
}

/// Profiles rarely drift outside the operator, so Meta is asked again only when the spec
/// changed or the last check is old: the account's single read per sync stays the only
/// steady-state Graph request. Records this check when it is due.
fn profile_checked_recently(ctx: &Context, uid: &str, generation: Option<i64>) -> bool {
    ctx.model.memory.with(uid, |e| {
        let recent = e
            .profile_check
            .is_some_and(|(checked, at)| checked == generation && at.elapsed() < PROFILE_RECHECK);
        if !recent {
            e.profile_check = Some((generation, std::time::Instant::now()));
        }
        recent
    })
}

/// Reads the number's profile and writes the fields that drifted from `wanted`; the update
/// made, if any.
async fn apply_profile_drift(
    ctx: &Context,
    waba_id: &str,
    token: SecretString,
    phone_number_id: &str,
    wanted: &crate::crd::BusinessProfile,
) -> Result<Option<BusinessProfileData>, GraphError> {
    let session = ctx.graph.session(waba_id, token.clone());
    let current = session.business_profile(phone_number_id).await?;
    let Some(update) = decide::profile_drift(wanted, &current) else {
        return Ok(None);
    };
    let action = MetaAction::UpdateBusinessProfile {
        phone_number_id: phone_number_id.to_string(),
        update: update.clone(),
    };
    let target = Target { waba_id, token };
    ctx.executor.execute(target, &action).await?;
    Ok(Some(update))
}

fn profile_event(result: Result<Option<BusinessProfileData>, GraphError>) -> Option<EventSpec> {
    match result {
        Ok(Some(update)) => {
            let fields: Vec<String> = update
                .update_body()
                .keys()
                .filter(|k| *k != "messaging_product")
                .cloned()
                .collect();
            Some(EventSpec::normal(
                reason::BUSINESS_PROFILE_UPDATED,
                format!(
                    "Applied business profile fields at Meta: {}",
                    fields.join(", ")
                ),
            ))
        }
        Ok(None) => None,
        Err(e) => Some(EventSpec::warning(
            reason::BUSINESS_PROFILE_FAILED,
            format!(
                "Business profile not applied, retried on the next sync: {}",
                e.status_message()
            ),
        )),
    }
}

/// Whether `ch` is what the apiserver holds now (same resourceVersion).
async fn is_current(ctx: &Context, ch: &WhatsAppChannel, namespace: &str) -> Result<bool, Error> {
    let api: Api<WhatsAppChannel> = Api::namespaced(ctx.client.clone(), namespace);
    let fresh = api
        .get_opt(&ch.name_any())
        .await
        .map_err(|source| Error::ReadObject {
            kind: "WhatsAppChannel",
            namespace: namespace.to_string(),
            name: ch.name_any(),
            source: Box::new(source),
        })?;
    Ok(fresh.is_some_and(|f| f.metadata.resource_version == ch.metadata.resource_version))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::RegistrationProgress;

    #[test]
    fn status_from_before_content_fingerprints_is_migrated_not_re_sent() {
        let secrets = RegistrationSecrets {
            state: RegistrationState {
                code: SecretState::NotConfigured,
                pin: SecretState::Present("hmac-sha256:new".into()),
                snapshot_at: None,
            },
            code: None,
            pin: None,
            code_renamed: Some(("uid-c/7".into(), "hmac-sha256:code".into())),
            pin_renamed: Some(("uid-p/9".into(), "hmac-sha256:new".into())),
        };
        let mut status = WhatsAppChannelStatus {
            registration: Some(RegistrationProgress {
                applied_pin: Some("uid-p/9".into()),
                last_tried_code: Some("uid-c/6".into()),
                ..RegistrationProgress::default()
            }),
            ..WhatsAppChannelStatus::default()
        };
        secrets.migrate(&mut status);
        let p = status.registration.unwrap();
        assert_eq!(p.applied_pin.as_deref(), Some("hmac-sha256:new"));
        // A code tried at another version of its Secret stays another code.
        assert_eq!(p.last_tried_code.as_deref(), Some("uid-c/6"));
    }
}
