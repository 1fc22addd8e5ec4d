//! A channel's whole decision in one pure call: everything the observe step gathered goes in as
//! one [`ChannelInput`]; out come the new status, its events, when to look again, and at most
//! one write to Meta for the act step ([`ChannelPlan`]). The pieces (webhook facts, the mirror
//! of Meta, the account's standing, registration planning) are composed here and only here.

use std::time::Duration;

use jiff::Timestamp;

use super::ChannelObservation;
use super::backoff::keep_sync_time_when_unchanged;
use super::channel::{ChannelDecision, decide_channel};
use super::events::reason;
use super::facts::{self, AccountStanding};
use super::guidance;
use super::registration::{
    RegistrationInput, RegistrationPlan, SecretState, Step, drop_announced_registration,
    plan_registration,
};
use super::time::parse_time;
use crate::crd::{Management, SecretKeyRef, WhatsAppChannelSpec, WhatsAppChannelStatus};
use crate::meta::Notice;

/// What the registration planner needs beyond the channel: Secret states (fingerprints, never
/// values) and when the snapshot behind the observation was read.
#[derive(Clone, Debug)]
pub struct RegistrationState {
    pub code: SecretState,
    pub pin: SecretState,
    pub snapshot_at: Option<Timestamp>,
}

/// Everything one channel decision depends on.
#[derive(Clone, Debug)]
pub struct ChannelInput<'a> {
    pub namespace: &'a str,
    pub spec: &'a WhatsAppChannelSpec,
    pub generation: Option<i64>,
    pub previous: Option<&'a WhatsAppChannelStatus>,
    pub observation: ChannelObservation,
    /// Webhook facts about the number not yet in status.
    pub facts: &'a [Notice],
    /// The account's standing (a blocked WABA shows on every channel).
    pub standing: &'a AccountStanding,
    pub account_sync_interval: Duration,
    /// The `reconcile-requested-at` annotation.
    pub requested_at: Option<&'a str>,
    /// Present when registration applies: a Managed channel whose account exists and whose
    /// number was looked for in the WABA.
    pub registration: Option<RegistrationState>,
    pub now: Timestamp,
}

/// The decision and the one write it asks for.
#[derive(Clone, Debug, PartialEq)]
pub struct ChannelPlan {
    pub decision: ChannelDecision,
    /// The observation with what the facts say Graph does not show yet.
    pub observation: ChannelObservation,
    pub step: Option<Step>,
    /// The snapshot predates the operator's last write: the account should read Meta again.
    pub needs_resync: bool,
    /// The code Secret to create, empty (a Kubernetes write of the act step, not Meta's).
    pub create_code_secret: Option<SecretKeyRef>,
}

/// Decides one channel.
pub fn plan_channel(input: ChannelInput<'_>) -> ChannelPlan {
    let mut observation = input.observation.clone();
    let base = with_facts(&input, &mut observation);
    let mut decision = decide_channel(
        input.spec,
        input.generation,
        base.as_ref().or(input.previous),
        &observation,
        input.account_sync_interval,
        input.requested_at,
        input.now,
    );
    with_standing(&input, &mut decision);
    if let Some(prev) = input.previous {
        keep_sync_time_when_unchanged(&mut decision.status, prev, |s| &mut s.sync);
    }
    let registration = match &input.registration {
        Some(state) if registers(&input, &observation) => {
            plan_step(&input, state, &observation, &mut decision)
        }
        _ => RegistrationPlan::default(),
    };
    set_reconciling(&mut decision.status, input.generation, input.now);
    let before = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let kind = "WhatsAppChannel";
    decision.events.extend(super::pause::pause_event(
        before,
        &decision.status.conditions,
        kind,
    ));
    ChannelPlan {
        decision,
        observation,
        step: registration.step,
        needs_resync: registration.needs_resync,
        create_code_secret: registration.create_code_secret,
    }
}

/// kstatus's Reconciling: True while the operator itself is moving the number towards the
/// spec (added, being registered); False when it is done, or waits for Meta's review or a
/// person (the Stalled condition and the phase say which).
fn set_reconciling(status: &mut WhatsAppChannelStatus, generation: Option<i64>, now: Timestamp) {
    use super::conditions::{ConditionStatus, condition_reason as cr, set_condition};
    use crate::crd::Phase;
    let (state, reason, message) = match status.phase {
        Phase::Pending | Phase::Adding | Phase::Registering => (
            ConditionStatus::True,
            cr::IN_PROGRESS,
            "the operator is bringing the number to the spec",
        ),
        _ => (ConditionStatus::False, cr::IDLE, "no work is under way"),
    };
    set_condition(
        &mut status.conditions,
        crate::crd::condition::RECONCILING,
        state,
        reason,
        message,
        generation,
        now,
    );
}

fn registers(input: &ChannelInput<'_>, observation: &ChannelObservation) -> bool {
    input.spec.management == Management::Managed
        && matches!(
            observation,
            ChannelObservation::Number { .. } | ChannelObservation::NotInWaba
        )
}

fn plan_step(
    input: &ChannelInput<'_>,
    state: &RegistrationState,
    observation: &ChannelObservation,
    decision: &mut ChannelDecision,
) -> RegistrationPlan {
    let registration = RegistrationInput {
        spec: input.spec,
        namespace: input.namespace,
        observation,
        code: state.code.clone(),
        pin: state.pin.clone(),
        snapshot_at: state.snapshot_at,
        retry_requested: retry_requested(input),
        now: input.now,
    };
    let mut plan = plan_registration(&registration, input.previous, &mut decision.status);
    drop_announced_registration(&decision.status, &mut decision.events, input.now);
    drop_repeated_registered_event(input.previous, decision);
    decision.events.append(&mut plan.events);
    if let Some(r) = plan.requeue_after {
        decision.requeue_after = decision.requeue_after.min(r);
    }
    plan
}

/// A new `reconcile-requested-at` annotation lifts `retryAt` and the code-request cap.
fn retry_requested(input: &ChannelInput<'_>) -> bool {
    input.requested_at.is_some()
        && input.requested_at
            != input
                .previous
                .and_then(|p| p.sync.last_handled_reconcile_at.as_deref())
}

/// The previous status with the webhook facts recorded, and the observed number with what the
/// facts say Graph does not show yet. `None` when there is nothing to change, so the decision
/// starts from the previous status as is.
fn with_facts(
    input: &ChannelInput<'_>,
    observation: &mut ChannelObservation,
) -> Option<WhatsAppChannelStatus> {
    let mut base = input.previous.cloned().unwrap_or_default();
    facts::apply_number_facts(&mut base, input.facts, input.generation, input.now);
    if let ChannelObservation::Number { number } = observation {
        facts::overlay_number(&mut base, number, input.generation, input.now);
    }
    let unchanged = match input.previous {
        Some(p) => *p == base,
        None => input.facts.is_empty() && base == WhatsAppChannelStatus::default(),
    };
    (!unchanged).then_some(base)
}

/// The account's standing and the fact events that derive from the previous status versus the
/// new one.
fn with_standing(input: &ChannelInput<'_>, decision: &mut ChannelDecision) {
    let status = &mut decision.status;
    facts::settle_pin(input.previous, status, input.generation, input.now);
    let events = facts::apply_account_standing(
        &input.spec.account_ref.name,
        input.previous,
        status,
        input.standing,
        input.generation,
        input.now,
    );
    decision.events.extend(events);
    decision
        .events
        .extend(facts::number_fact_events(input.previous, &decision.status));
    if matches!(input.observation, ChannelObservation::Number { .. }) {
        add_guidance(input, &mut decision.status);
    }
}

/// The account's payment and verification problems at the end of the Ready message, which was
/// just decided from the number (so it never carries them twice).
fn add_guidance(input: &ChannelInput<'_>, status: &mut WhatsAppChannelStatus) {
    let account = &input.spec.account_ref.name;
    let Some(extra) = guidance::channel_guidance(account, &input.standing.guidance) else {
        return;
    };
    if let Some(ready) = status
        .conditions
        .iter_mut()
        .find(|c| c.type_ == crate::crd::condition::READY)
        && !ready.message.contains(&extra)
    {
        ready.message = format!("{}. {extra}", ready.message);
    }
}

/// The operator already announced a registration it made; the mirror turning CONNECTED on the
/// next sync is the same news.
fn drop_repeated_registered_event(
    previous: Option<&WhatsAppChannelStatus>,
    decision: &mut ChannelDecision,
) {
    let registered_at = decision
        .status
        .registration
        .as_ref()
        .and_then(|p| p.registered_at.as_ref())
        .and_then(parse_time);
    let last_sync = previous
        .and_then(|p| p.sync.last_sync_time.as_ref())
        .and_then(parse_time);
    let announced = match (registered_at, last_sync) {
        (Some(r), Some(s)) => r >= s,
        (Some(_), None) => true,
        _ => false,
    };
    if announced {
        decision.events.retain(|e| e.reason != reason::REGISTERED);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{channel_spec, number, ts};
    use crate::decide::reason;

    fn input<'a>(
        spec: &'a WhatsAppChannelSpec,
        previous: Option<&'a WhatsAppChannelStatus>,
        facts: &'a [Notice],
        standing: &'a AccountStanding,
        now: &str,
    ) -> ChannelInput<'a> {
        ChannelInput {
            namespace: "ns",
            spec,
            generation: Some(1),
            previous,
            observation: ChannelObservation::Number { number: number() },
            facts,
            standing,
            account_sync_interval: Duration::from_secs(600),
            requested_at: None,
            registration: Some(RegistrationState {
                code: SecretState::NotConfigured,
                pin: SecretState::NotConfigured,
                snapshot_at: Some(ts(now)),
            }),
            now: ts(now),
        }
    }

    fn flagged() -> Notice {
        Notice::from(crate::meta::Fact::QualityUpdate {
            waba_id: crate::decide::fixtures::WABA_ID.into(),
            digits: "15550783881".into(),
            event: "FLAGGED".into(),
            current_limit: None,
            old_limit: None,
            portfolio_limit: None,
        })
    }

    #[test]
    fn a_connected_number_needs_no_write_and_deciding_again_changes_nothing() {
        let spec = channel_spec(Management::Managed);
        let standing = AccountStanding::default();
        let first = plan_channel(input(&spec, None, &[], &standing, "2026-01-01T00:00:00Z"));
        assert_eq!(first.step, None);
        assert!(!first.needs_resync);
        let status = first.decision.status.clone();
        let again = plan_channel(input(
            &spec,
            Some(&status),
            &[],
            &standing,
            "2026-01-01T00:10:00Z",
        ));
        assert_eq!(again.step, None);
        assert_eq!(again.decision.events, Vec::new());
        assert_eq!(
            again.decision.status, status,
            "only the sync time moved, and it is kept"
        );
    }

    #[test]
    fn a_webhook_fact_is_announced_once_and_survives_the_next_decision() {
        let spec = channel_spec(Management::Managed);
        let standing = AccountStanding::default();
        let connected = plan_channel(input(&spec, None, &[], &standing, "2026-01-01T00:00:00Z"));
        let status = connected.decision.status;
        let facts = [flagged()];
        let with_fact = plan_channel(input(
            &spec,
            Some(&status),
            &facts,
            &standing,
            "2026-01-01T00:01:00Z",
        ));
        let reasons: Vec<_> = with_fact.decision.events.iter().map(|e| e.reason).collect();
        assert!(reasons.contains(&reason::NUMBER_FLAGGED), "{reasons:?}");
        let flagged_status = with_fact.decision.status;
        let next = plan_channel(input(
            &spec,
            Some(&flagged_status),
            &[],
            &standing,
            "2026-01-01T00:02:00Z",
        ));
        assert_eq!(next.decision.events, Vec::new());
    }

    #[test]
    fn the_code_secret_to_create_comes_out_of_the_plan_for_the_act_step() {
        use crate::crd::{Registration, RegistrationProgress, SecretKeyRef, VerificationMethod};
        use crate::meta::model::{CodeVerificationStatus, NumberStatus, PlatformType};
        let otp = SecretKeyRef {
            name: "otp".into(),
            key: "code".into(),
        };
        let mut spec = channel_spec(Management::Managed);
        spec.registration = Some(Registration {
            verification_method: VerificationMethod::Sms,
            language: "en_US".into(),
            verification_code_secret_ref: Some(otp.clone()),
            pin_secret_ref: None,
        });
        let standing = AccountStanding::default();
        let now = "2026-01-01T00:01:00Z";
        // Meta sent a code a minute ago; the number is not verified yet.
        let previous = WhatsAppChannelStatus {
            registration: Some(RegistrationProgress {
                code_requested_at: Some(crate::decide::status_time(ts("2026-01-01T00:00:00Z"))),
                code_requests: Some(1),
                ..RegistrationProgress::default()
            }),
            ..WhatsAppChannelStatus::default()
        };
        let mut pending = number();
        pending.status = Some(NumberStatus::Pending);
        pending.platform_type = Some(PlatformType::NotApplicable);
        pending.code_verification_status = Some(CodeVerificationStatus::NotVerified);
        let mut i = input(&spec, Some(&previous), &[], &standing, now);
        i.observation = ChannelObservation::Number { number: pending };
        i.registration = Some(RegistrationState {
            code: SecretState::NotFound("Secret ns/otp not found".into()),
            pin: SecretState::NotConfigured,
            snapshot_at: Some(ts(now)),
        });
        let plan = plan_channel(i.clone());
        assert_eq!(plan.step, None);
        assert_eq!(plan.create_code_secret, Some(otp));
        // Without registration state (ObserveOnly, no account yet) nothing is created.
        i.registration = None;
        assert_eq!(plan_channel(i).create_code_secret, None);
    }

    #[test]
    fn the_accounts_payment_problem_is_in_the_ready_message_once() {
        let spec = channel_spec(Management::Managed);
        let standing = AccountStanding {
            guidance: crate::decide::GuidanceStanding {
                payment_problem: Some("WABA 1: 141006 There is an error".into()),
                verification_hold: None,
            },
            ..AccountStanding::default()
        };
        let first = plan_channel(input(&spec, None, &[], &standing, "2026-01-01T00:00:00Z"));
        let status = first.decision.status;
        let ready = crate::crd::find_condition(&status.conditions, "Ready").unwrap();
        assert!(
            ready
                .message
                .contains("WhatsAppBusinessAccount acme has a payment problem (WABA 1: 141006"),
            "{}",
            ready.message
        );
        assert!(
            ready.message.contains("Payment methods"),
            "{}",
            ready.message
        );
        let again = plan_channel(input(
            &spec,
            Some(&status),
            &[],
            &standing,
            "2026-01-01T00:10:00Z",
        ));
        assert_eq!(again.decision.status, status, "said once, nothing to write");
        let fixed = plan_channel(input(
            &spec,
            Some(&status),
            &[],
            &AccountStanding::default(),
            "2026-01-01T00:20:00Z",
        ));
        let ready = crate::crd::find_condition(&fixed.decision.status.conditions, "Ready").unwrap();
        assert!(!ready.message.contains("payment"), "{}", ready.message);
    }

    #[test]
    fn observe_only_channels_get_no_registration_plan() {
        let spec = channel_spec(Management::ObserveOnly);
        let standing = AccountStanding::default();
        let mut i = input(&spec, None, &[], &standing, "2026-01-01T00:00:00Z");
        i.observation = ChannelObservation::NotInWaba;
        let plan = plan_channel(i);
        assert_eq!(plan.step, None);
        assert!(!plan.needs_resync);
    }

    #[test]
    fn a_claim_that_lost_stalls_once_naming_the_owner_and_plans_no_write() {
        let spec = channel_spec(Management::Managed);
        let standing = AccountStanding::default();
        let claimed = || ChannelObservation::ClaimedElsewhere {
            owner: "tenant-a/sales".into(),
        };
        let mut first = input(&spec, None, &[], &standing, "2026-01-01T00:00:00Z");
        first.observation = claimed();
        let plan = plan_channel(first);
        assert_eq!(plan.step, None);
        let reasons: Vec<_> = plan.decision.events.iter().map(|e| e.reason).collect();
        assert_eq!(reasons, vec![reason::NUMBER_CLAIMED_ELSEWHERE]);
        let status = plan.decision.status;
        let stalled = crate::crd::find_condition(&status.conditions, "Stalled").unwrap();
        assert_eq!(stalled.reason, "NumberClaimedElsewhere");
        assert!(
            stalled.message.contains("tenant-a/sales"),
            "{}",
            stalled.message
        );
        assert!(!crate::crd::condition_is_true(&status.conditions, "Ready"));

        let mut again = input(&spec, Some(&status), &[], &standing, "2026-01-01T00:10:00Z");
        again.observation = claimed();
        let plan = plan_channel(again);
        assert_eq!(plan.decision.events, Vec::new());
        assert_eq!(
            plan.decision.status, status,
            "nothing to write the second time"
        );
    }
}
