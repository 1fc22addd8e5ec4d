//! The registration planner: which single write to Meta brings a Managed number closer to
//! CONNECTED, and what status says meanwhile.
//!
//! Three pure steps, so a kill between any two calls resumes correctly:
//! [`plan_registration`] picks the next [`Step`] from spec, status and the account's snapshot;
//! [`record_intent`] writes what the step is about to do into status *before* the call (so a
//! register is counted even if the process dies mid-call); [`record_outcome`] turns Meta's
//! answer into progress, conditions and events. No write is planned on a snapshot read before
//! the operator's own last write: its effect must be seen first, or it would be repeated.

use std::time::Duration;

use jiff::Timestamp;

use super::ChannelObservation;
use super::backoff::{DEFAULT_THROTTLE_WAIT, FAILURE_BACKOFF};
use super::budget::{next_attempt_allowed, record_attempt, record_meta_refusal};
use super::channel::is_registered;
use super::conditions::{ConditionStatus, set_condition, true_reason};
use super::events::{EventSpec, reason};
use super::time::{add, format_time, parse_time, status_time, until};
use crate::crd::{
    Management, Phase, RegistrationProgress, SecretKeyRef, StepInFlight, VerificationMethod,
    WhatsAppChannelSpec, WhatsAppChannelStatus, condition,
};
use crate::meta::model::{CodeVerificationStatus, NameStatus, NumberStatus, PlatformType};
use crate::meta::{ErrorClass, GraphError, Refusal};

/// Meta's verification codes are valid for about ten minutes.
pub const CODE_VALIDITY: Duration = Duration::from_secs(10 * 60);
/// Codes requested without a successful verification before the operator stops asking.
pub const MAX_CODE_REQUESTS: u32 = 5;
/// Poll interval of the code Secret while a person is expected to fill it.
pub const CODE_POLL: Duration = Duration::from_secs(5);
/// Requeue while the account re-reads Meta after a write.
pub const RESYNC_POLL: Duration = Duration::from_secs(2);
/// Wait after 2388001 (display name not provisioned) before trying to register again.
pub const NAME_NOT_READY_RETRY: Duration = Duration::from_secs(15 * 60);
/// Wait before retrying a number in use on the WhatsApp app ("change number" takes ~2 hours).
pub const IN_USE_RETRY: Duration = Duration::from_secs(10 * 60);
/// Wait before retrying a number another business owns.
pub const OTHER_BUSINESS_RETRY: Duration = Duration::from_secs(60 * 60);

/// Condition reasons of the registration flow (Registered=False or Stalled=True).
pub mod registration_reason {
    pub const ADDING: &str = "AddingNumber";
    pub const AWAITING_DISPLAY_NAME: &str = "AwaitingDisplayName";
    pub const REQUESTING_CODE: &str = "RequestingVerificationCode";
    pub const AWAITING_CODE: &str = "AwaitingVerificationCode";
    pub const REGISTERING: &str = "Registering";
    pub const CALL_FAILED: &str = "RegistrationCallFailed";
    pub const DISPLAY_NAME_MISSING: &str = "DisplayNameMissing";
    pub const DISPLAY_NAME_REJECTED: &str = "DisplayNameRejected";
    pub const CODE_SECRET_MISSING: &str = "VerificationCodeSecretMissing";
    pub const TOO_MANY_CODE_REQUESTS: &str = "TooManyCodeRequests";
    pub const PIN_MISSING: &str = "PinMissing";
    pub const PIN_MISMATCH: &str = "PinMismatch";
    pub const BUDGET_EXHAUSTED: &str = "RegistrationBudgetExhausted";
    pub const IN_USE_ON_APP: &str = "NumberInUseOnWhatsAppApp";
    pub const OTHER_BUSINESS: &str = "NumberOwnedByAnotherBusiness";
    pub const BUSINESS_VERIFICATION: &str = "BusinessVerificationRequired";
    pub const STATE_UNKNOWN: &str = "RegistrationStateUnknown";
    pub const NEW_NAME_IN_REVIEW: &str = "InReview";
    pub const NEW_NAME_APPROVED: &str = "Approved";
    pub const NEW_NAME_REJECTED: &str = "NewDisplayNameRejected";
    pub const RENAME_BUDGET_WAIT: &str = "WaitingForRegistrationBudget";
}
use registration_reason as rr;

mod display_name;

/// A referenced Secret key as the planner sees it: never its value, only a fingerprint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SecretState {
    /// The spec references no Secret.
    NotConfigured,
    /// Referenced, and the Secret exists, but the key is missing, empty or not text (an empty
    /// code is "no code yet"); the message says what to fix.
    Missing(String),
    /// Referenced, but no Secret of that name exists; the message says what to create.
    NotFound(String),
    /// Present; the fingerprint is a hash of the content keyed by the Secret's UID.
    Present(String),
}

impl SecretState {
    fn fingerprint(&self) -> Option<&str> {
        match self {
            Self::Present(f) => Some(f),
            _ => None,
        }
    }
}

/// What the planner needs besides the status.
#[derive(Clone, Debug)]
pub struct RegistrationInput<'a> {
    pub spec: &'a WhatsAppChannelSpec,
    pub namespace: &'a str,
    pub observation: &'a ChannelObservation,
    pub code: SecretState,
    pub pin: SecretState,
    /// When the account started the read behind `observation`.
    pub snapshot_at: Option<Timestamp>,
    /// A new reconcile-requested-at annotation: lifts `retryAt` and the code-request cap.
    pub retry_requested: bool,
    pub now: Timestamp,
}

/// One write to Meta.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    AddNumber {
        cc: String,
        number: String,
        verified_name: String,
    },
    RequestCode {
        method: VerificationMethod,
        language: String,
    },
    /// Verify the code of the Secret at this fingerprint.
    VerifyCode { fingerprint: String },
    /// Register with the PIN of the Secret at this fingerprint.
    Register { pin: String },
    /// Set the two-step PIN of a registered number.
    SetPin { pin: String },
    /// Ask Meta to review a new display name for a registered number.
    RequestName { name: String },
}

/// `Step::name` of a code request, as `status.registration.inFlight.step` records it.
const STEP_REQUEST_CODE: &str = "request_code";

impl Step {
    pub fn name(&self) -> &'static str {
        match self {
            Self::AddNumber { .. } => "add_number",
            Self::RequestCode { .. } => STEP_REQUEST_CODE,
            Self::VerifyCode { .. } => "verify_code",
            Self::Register { .. } => "register",
            Self::SetPin { .. } => "set_pin",
            Self::RequestName { .. } => "request_display_name",
        }
    }
}

/// The planner's answer. Status changes are made in place.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct RegistrationPlan {
    pub step: Option<Step>,
    pub events: Vec<EventSpec>,
    /// Reconcile again within this time.
    pub requeue_after: Option<Duration>,
    /// The snapshot predates the operator's last write: the account should read Meta again.
    pub needs_resync: bool,
    /// A code is awaited in a Secret that does not exist: the act step creates it, empty.
    pub create_code_secret: Option<SecretKeyRef>,
}

struct Planner<'a, 'b> {
    input: &'b RegistrationInput<'a>,
    previous: Option<&'b WhatsAppChannelStatus>,
    status: &'b mut WhatsAppChannelStatus,
    plan: RegistrationPlan,
}

/// Plans the next registration step. `status` is the channel's new status from
/// `decide_channel` (Meta's view mirrored); `previous` is what the object had before.
pub fn plan_registration(
    input: &RegistrationInput<'_>,
    previous: Option<&WhatsAppChannelStatus>,
    status: &mut WhatsAppChannelStatus,
) -> RegistrationPlan {
    if input.spec.management == Management::ObserveOnly {
        return RegistrationPlan::default();
    }
    if input.retry_requested
        && let Some(progress) = status.registration.as_mut()
    {
        // Lifted here, not when the step runs: the annotation counts as handled from now on.
        progress.retry_at = None;
        progress.code_requests = None;
    }
    let mut p = Planner {
        input,
        previous,
        status,
        plan: RegistrationPlan::default(),
    };
    match input.observation {
        ChannelObservation::NotInWaba => p.not_in_waba(),
        ChannelObservation::Number { .. } if is_registered(p.status) => p.registered(),
        ChannelObservation::Number { .. } if !known_unregistered(p.status) => p.state_unknown(),
        ChannelObservation::Number { .. } => p.onboarding(),
        _ => return RegistrationPlan::default(),
    }
    keep_transition_times(p.status, previous);
    p.plan
}

/// Positive evidence that the number is not registered on the Cloud API, the only ground for a
/// registration write: a status Meta uses for numbers that are not (yet, or any longer)
/// registered, or a platform other than the Cloud API.
fn known_unregistered(status: &WhatsAppChannelStatus) -> bool {
    let not_registered = status
        .status
        .as_deref()
        .map(NumberStatus::parse)
        .is_some_and(|s| {
            matches!(
                s,
                NumberStatus::Pending
                    | NumberStatus::Unverified
                    | NumberStatus::Disconnected
                    | NumberStatus::Deleted
            )
        });
    let elsewhere = status
        .platform_type
        .as_deref()
        .map(PlatformType::parse)
        .is_some_and(|p| matches!(p, PlatformType::NotApplicable | PlatformType::OnPremise));
    not_registered || elsewhere
}

impl Planner<'_, '_> {
    fn progress(&self) -> RegistrationProgress {
        self.status.registration.clone().unwrap_or_default()
    }

    fn number(&self) -> String {
        self.input.spec.phone_number.display()
    }

    fn set(&mut self, type_: &str, st: ConditionStatus, reason: &str, message: &str) {
        set_condition(
            &mut self.status.conditions,
            type_,
            st,
            reason,
            message,
            self.status.observed_generation,
            self.input.now,
        );
    }

    /// Registered=False with what the flow is doing, and the phase.
    fn progressing(&mut self, phase: Phase, reason: &str, message: &str) {
        self.set(
            condition::REGISTERED,
            ConditionStatus::False,
            reason,
            message,
        );
        self.status.phase = phase;
    }

    fn stall(&mut self, reason: &str, message: &str) {
        let before = self
            .previous
            .and_then(|p| true_reason(&p.conditions, condition::STALLED));
        self.set(condition::STALLED, ConditionStatus::True, reason, message);
        self.set(condition::READY, ConditionStatus::False, reason, message);
        self.set(
            condition::REGISTERED,
            ConditionStatus::False,
            reason,
            message,
        );
        self.status.phase = Phase::Stalled;
        if before != Some(reason) {
            self.plan
                .events
                .push(EventSpec::warning(reason::REGISTRATION_STALLED, message));
        }
    }

    fn requeue(&mut self, d: Duration) {
        let d = d.max(Duration::from_secs(1));
        self.plan.requeue_after = Some(self.plan.requeue_after.map_or(d, |r| r.min(d)));
    }

    /// False while the snapshot may predate the last write; a resync is asked for only once a
    /// read could count as fresh, so channel and account never ping-pong within that second.
    fn snapshot_is_current(&mut self) -> bool {
        let Some(fresh_from) = snapshot_fresh_from(self.status) else {
            return true;
        };
        if self.input.snapshot_at.is_some_and(|at| at >= fresh_from) {
            return true;
        }
        if self.input.now >= fresh_from {
            self.plan.needs_resync = true;
            self.requeue(RESYNC_POLL);
        } else {
            self.requeue(until(self.input.now, fresh_from));
        }
        false
    }

    /// Keeps the previous stall while a failed call waits for `retryAt`; false when waiting.
    fn retry_allowed(&mut self) -> bool {
        let mut progress = self.progress();
        let Some(at) = progress.retry_at.as_ref().and_then(parse_time) else {
            return true;
        };
        if at <= self.input.now || self.input.retry_requested {
            progress.retry_at = None;
            self.status.registration = Some(progress);
            return true;
        }
        if let Some(prev) = self.previous {
            for type_ in [condition::STALLED, condition::READY, condition::REGISTERED] {
                if let Some(c) = prev.conditions.iter().find(|c| c.type_ == type_) {
                    self.set(
                        type_,
                        status_of(&c.status),
                        &c.reason.clone(),
                        &c.message.clone(),
                    );
                }
            }
            self.status.phase = prev.phase;
        }
        self.requeue(until(self.input.now, at));
        false
    }

    /// Plans `step` when the snapshot is current and no retry wait is pending.
    fn write(&mut self, step: Step) {
        if let Some(wait) = self.step_in_flight() {
            return self.requeue(wait);
        }
        if self.snapshot_is_current() && self.retry_allowed() {
            self.plan.step = Some(step);
            self.requeue(RESYNC_POLL);
        }
    }

    fn not_in_waba(&mut self) {
        let spec = self.input.spec;
        let Some(name) = spec.display_name.clone() else {
            return self.stall(
                rr::DISPLAY_NAME_MISSING,
                &format!(
                    "number {} is not in the WABA and spec.displayName is empty: set the display \
                     name Meta should review, and the operator adds the number",
                    self.number()
                ),
            );
        };
        let Ok(e164) = spec.phone_number.parsed() else {
            return;
        };
        let (cc, rest) = e164.split_country_code();
        let message = format!(
            "adding number {} to the WABA of WhatsAppBusinessAccount {}",
            self.number(),
            spec.account_ref.name
        );
        self.progressing(Phase::Adding, rr::ADDING, &message);
        self.write(Step::AddNumber {
            cc: cc.to_string(),
            number: rest.to_string(),
            verified_name: name,
        });
    }

    /// Meta's read neither shows the number registered nor says it is not: nothing is written
    /// until it does (a register on a registered number with an unknown PIN burns the budget).
    fn state_unknown(&mut self) {
        let message = format!(
            "Meta's read does not say whether {} is registered on the Cloud API (status {}, \
             platform_type {}): nothing is written to Meta until it does",
            self.number(),
            self.status.status.as_deref().unwrap_or("absent"),
            self.status.platform_type.as_deref().unwrap_or("absent"),
        );
        self.set(
            condition::REGISTERED,
            ConditionStatus::Unknown,
            rr::STATE_UNKNOWN,
            &message,
        );
    }

    fn registered(&mut self) {
        self.adopt_display_name();
        let progress = self.progress();
        let Some(pin) = self.input.pin.fingerprint() else {
            return;
        };
        if progress.applied_pin.as_deref() != Some(pin) {
            let pin = pin.to_string();
            return self.write(Step::SetPin { pin });
        }
        self.keep_display_name();
    }

    fn name_status(&self) -> Option<NameStatus> {
        self.status.name_status.as_deref().map(NameStatus::parse)
    }

    fn onboarding(&mut self) {
        let number = self.number();
        if self.name_status() == Some(NameStatus::Declined) {
            let why = self
                .status
                .name_rejection_reason
                .clone()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default();
            return self.stall(
                rr::DISPLAY_NAME_REJECTED,
                &format!(
                    "Meta rejected the display name{why}: request another one in WhatsApp \
                     Manager that follows Meta's display name guidelines; registration continues \
                     once it is approved"
                ),
            );
        }
        let name_blocks = self.name_status().is_some_and(|s| s.blocks_registration());
        let verified = self.status.code_verification_status.as_deref()
            == Some(CodeVerificationStatus::Verified.as_str());
        if name_blocks {
            // Codes expire within minutes: none is requested before the name can register.
            let message = format!(
                "waiting for Meta to provision the display name of {number} (name status {})",
                self.status.name_status.clone().unwrap_or_default()
            );
            self.progressing(
                Phase::AwaitingDisplayName,
                rr::AWAITING_DISPLAY_NAME,
                &message,
            );
            return;
        }
        if verified {
            self.register(&number);
        } else {
            self.verify(&number);
        }
    }

    fn register(&mut self, number: &str) {
        let progress = self.progress();
        let pin = match &self.input.pin {
            SecretState::Present(f) => f.clone(),
            SecretState::NotConfigured => {
                return self.stall(
                    rr::PIN_MISSING,
                    "set spec.registration.pinSecretRef to a Secret key holding the six-digit \
                     two-step verification PIN to register with",
                );
            }
            SecretState::Missing(m) | SecretState::NotFound(m) => {
                return self.stall(rr::PIN_MISSING, &format!("cannot register: {m}"));
            }
        };
        if progress.rejected_pin.as_deref() == Some(pin.as_str()) {
            return self.stall(
                rr::PIN_MISMATCH,
                "PIN mismatch: set the PIN Secret to the number's current two-step PIN \
                 (or reset it in WhatsApp Manager); registration is retried when the Secret changes",
            );
        }
        if self.previous_failure_waits() {
            return;
        }
        if let Some(next) = next_attempt_allowed(&progress, self.input.now) {
            let message = format!(
                "the registration budget is spent (at most 3 register/deregister attempts per 72 \
                 hours, Meta blocks the number beyond 10): the next attempt is allowed at {}",
                format_time(next)
            );
            self.stall(rr::BUDGET_EXHAUSTED, &message);
            self.requeue(until(self.input.now, next));
            return;
        }
        self.progressing(
            Phase::Registering,
            rr::REGISTERING,
            &format!("number {number} is verified; registering it on the Cloud API"),
        );
        self.write(Step::Register { pin });
    }

    /// True when a failure is waiting for `retryAt` (its condition is kept).
    fn previous_failure_waits(&mut self) -> bool {
        let waiting = self
            .progress()
            .retry_at
            .as_ref()
            .and_then(parse_time)
            .is_some_and(|t| t > self.input.now)
            && !self.input.retry_requested;
        waiting && !self.retry_allowed()
    }

    fn verify(&mut self, number: &str) {
        let spec_reg = self
            .input
            .spec
            .registration
            .clone()
            .unwrap_or_else(default_registration);
        let Some(code_ref) = spec_reg.verification_code_secret_ref.clone() else {
            return self.stall(
                rr::CODE_SECRET_MISSING,
                "set spec.registration.verificationCodeSecretRef to the Secret key where a \
                 person puts the code Meta sends by SMS or voice",
            );
        };
        if self.previous_failure_waits() {
            return;
        }
        let where_ = format!(
            "put the code into Secret {}/{} key \"{}\"",
            self.input.namespace, code_ref.name, code_ref.key
        );
        let progress = self.expire_unused_code();
        if progress.code_requested_at.is_none()
            && let Some(wait) = self.code_request_in_flight(&progress)
        {
            self.progressing(
                Phase::AwaitingVerificationCode,
                rr::REQUESTING_CODE,
                &format!("a verification code request for {number} is on its way to Meta"),
            );
            self.requeue(wait);
        } else if progress.code_requested_at.is_none() {
            self.request_code(&progress, &spec_reg, number, &where_);
        } else {
            self.await_code(&progress, &spec_reg, number, &where_);
            self.create_missing_code_secret(code_ref);
        }
    }

    /// Meta sent a code for a Secret that does not exist: the operator creates it, empty, so
    /// that neither the Secret nor the code has to live in Git. Only the Secret the spec names,
    /// and only once Meta sent the code (an empty value reads as "no code yet").
    fn create_missing_code_secret(&mut self, code_ref: SecretKeyRef) {
        if matches!(self.input.code, SecretState::NotFound(_)) {
            self.plan.create_code_secret = Some(code_ref);
        }
    }

    /// A code nobody entered in time has expired at Meta (or was never sent, when the operator
    /// died during the request): it is forgotten, so a new one is requested, within the cap.
    fn expire_unused_code(&mut self) -> RegistrationProgress {
        let mut progress = self.progress();
        let requested = progress.code_requested_at.as_ref().and_then(parse_time);
        let tried = progress.code_tried_at.as_ref().and_then(parse_time);
        let unused_and_expired = requested.is_some_and(|r| {
            add(r, CODE_VALIDITY) <= self.input.now && tried.is_none_or(|t| t < r)
        });
        if unused_and_expired {
            progress.code_requested_at = None;
            self.status.registration = Some(progress.clone());
        }
        progress
    }

    /// How long to wait for Meta's answer to a step whose intent is in status (another process
    /// wrote it, or this one before the watch brought the answer): planning a step now could call
    /// Meta twice. One older than `STEP_IN_FLIGHT` was lost in a crash and is planned again from
    /// Meta's truth.
    fn step_in_flight(&self) -> Option<Duration> {
        let flight = self.status.registration.as_ref()?.in_flight.as_ref()?;
        let until = add(parse_time(&flight.started_at)?, STEP_IN_FLIGHT);
        (until > self.input.now)
            .then(|| Duration::try_from(self.input.now.duration_until(until)).unwrap_or_default())
    }

    /// How long to wait for an answer to a code request sent moments ago (by this or another
    /// process); `None` when none is in flight.
    fn code_request_in_flight(&self, progress: &RegistrationProgress) -> Option<Duration> {
        let sent = progress
            .in_flight
            .as_ref()
            .filter(|f| f.step == STEP_REQUEST_CODE)
            .and_then(|f| parse_time(&f.started_at))?;
        // Present only between the intent and Meta's answer.
        let until = add(sent, CODE_REQUEST_IN_FLIGHT);
        (until > self.input.now)
            .then(|| Duration::try_from(self.input.now.duration_until(until)).unwrap_or_default())
    }

    fn request_code(
        &mut self,
        progress: &RegistrationProgress,
        spec_reg: &crate::crd::Registration,
        number: &str,
        where_: &str,
    ) {
        let requested = progress.code_requests.unwrap_or(0);
        if requested >= MAX_CODE_REQUESTS {
            return self.stall(
                rr::TOO_MANY_CODE_REQUESTS,
                &format!(
                    "{requested} verification codes were requested without a successful \
                     verification: check that {number} can receive them by {}, then set the \
                     whatsapp-operator.io/reconcile-requested-at annotation to try again",
                    spec_reg.verification_method.as_str()
                ),
            );
        }
        self.progressing(
            Phase::AwaitingVerificationCode,
            rr::REQUESTING_CODE,
            &format!(
                "requesting a verification code by {} for {number}; then {where_}",
                spec_reg.verification_method.as_str()
            ),
        );
        self.write(Step::RequestCode {
            method: spec_reg.verification_method,
            language: spec_reg.language.clone(),
        });
    }

    /// Waits for a code in the Secret and verifies each new one once.
    fn await_code(
        &mut self,
        progress: &RegistrationProgress,
        spec_reg: &crate::crd::Registration,
        number: &str,
        where_: &str,
    ) {
        let rejected = progress
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("136025"));
        let message = format!(
            "Meta sent a verification code by {} to {number}{}: {where_}",
            spec_reg.verification_method.as_str(),
            if rejected {
                "; the last code put there was rejected"
            } else {
                ""
            }
        );
        self.progressing(Phase::AwaitingVerificationCode, rr::AWAITING_CODE, &message);
        match self.input.code.fingerprint() {
            Some(f) if progress.last_tried_code.as_deref() != Some(f) => {
                let fingerprint = f.to_string();
                self.write(Step::VerifyCode { fingerprint });
            }
            _ => self.requeue(CODE_POLL),
        }
    }
}

/// The event of the operator creating the empty code Secret: which Secret and key to fill, and
/// how, with a command that keeps the Secret's owner and labels.
pub fn code_secret_created(namespace: &str, r: &SecretKeyRef) -> EventSpec {
    EventSpec::normal(
        reason::VERIFICATION_CODE_SECRET_CREATED,
        format!(
            "Created Secret {namespace}/{name} with an empty key \"{key}\" for the verification \
             code Meta sent: put the code there with kubectl -n {namespace} patch secret {name} \
             --type merge -p '{{\"stringData\":{{\"{key}\":\"<CODE>\"}}}}'",
            name = r.name,
            key = r.key,
        ),
    )
}

/// The first instant a Graph read certainly follows the operator's latest write to Meta for
/// this number (`None` before any write). Written times are cut to whole seconds, so a read
/// started within that second may predate the write.
pub fn snapshot_fresh_from(status: &WhatsAppChannelStatus) -> Option<Timestamp> {
    let p = status.registration.as_ref()?;
    // A name request counts too: a read from before it still shows the previous review's
    // verdict, which must not pass for the new name's.
    let name_requested = status
        .display_name
        .as_ref()
        .and_then(|d| d.requested_at.as_ref());
    let last = [
        p.number_added_at.as_ref(),
        p.code_requested_at.as_ref(),
        p.code_tried_at.as_ref(),
        p.attempts.last(),
        p.verified_at.as_ref(),
        p.registered_at.as_ref(),
        name_requested,
    ]
    .into_iter()
    .flatten()
    .filter_map(parse_time)
    .max()?;
    Some(add(last, Duration::from_secs(1)))
}

fn default_registration() -> crate::crd::Registration {
    crate::crd::Registration {
        verification_method: VerificationMethod::Sms,
        language: "en_US".into(),
        verification_code_secret_ref: None,
        pin_secret_ref: None,
    }
}

fn status_of(raw: &str) -> ConditionStatus {
    match raw {
        "True" => ConditionStatus::True,
        "False" => ConditionStatus::False,
        _ => ConditionStatus::Unknown,
    }
}

/// decide_channel recomputes every condition, so a condition the planner sets back to what the
/// object already had would look freshly transitioned; its previous time is kept instead.
pub fn keep_transition_times(
    status: &mut WhatsAppChannelStatus,
    previous: Option<&WhatsAppChannelStatus>,
) {
    let Some(prev) = previous else { return };
    for c in &mut status.conditions {
        if let Some(p) = prev.conditions.iter().find(|p| p.type_ == c.type_)
            && p.status == c.status
        {
            c.last_transition_time = p.last_transition_time.clone();
        }
    }
}

/// How long a code request sent without an answer yet is left in flight before it is sent again
/// (a Graph call lasts at most the client's timeout, 20 s by default).
pub const CODE_REQUEST_IN_FLIGHT: Duration = Duration::from_secs(120);

/// How long any step's intent holds off another plan: longer than one Graph request may take
/// (20 s by default, writes are never retried), short enough that a step lost in a crash is
/// planned again soon.
pub const STEP_IN_FLIGHT: Duration = Duration::from_secs(30);

/// How long after the operator's own registration the mirror turning CONNECTED is the same news.
pub const REGISTERED_ANNOUNCED_FOR: Duration = Duration::from_secs(30 * 60);

/// Drops decide_channel's Registered event when the operator announced its own registration
/// shortly before. A time window rather than a status comparison, because the previous status a
/// reconcile sees may predate the operator's own write (watch cache lag).
pub fn drop_announced_registration(
    status: &WhatsAppChannelStatus,
    events: &mut Vec<EventSpec>,
    now: Timestamp,
) {
    let recent = status
        .registration
        .as_ref()
        .and_then(|p| p.registered_at.as_ref())
        .and_then(parse_time)
        .is_some_and(|t| add(t, REGISTERED_ANNOUNCED_FOR) > now);
    if recent {
        events.retain(|e| e.reason != reason::REGISTERED);
    }
}

/// Writes what `step` is about to do into status, before the call.
pub fn record_intent(step: &Step, status: &mut WhatsAppChannelStatus, now: Timestamp) {
    let mut p = status.registration.clone().unwrap_or_default();
    // Every intent changes the object, so that a second process planning the same step loses
    // the resourceVersion precondition. `code_requested_at` is recorded once Meta answered, so
    // a crash mid-call never leaves the flow waiting for a code that was not sent.
    p.in_flight = Some(StepInFlight {
        step: step.name().to_string(),
        started_at: status_time(now),
    });
    match step {
        Step::AddNumber { .. } => p.number_added_at = Some(status_time(now)),
        Step::RequestCode { .. } => {}
        Step::VerifyCode { fingerprint } => {
            p.last_tried_code = Some(fingerprint.clone());
            p.code_tried_at = Some(status_time(now));
        }
        Step::Register { .. } => record_attempt(&mut p, now),
        Step::SetPin { .. } => {}
        Step::RequestName { name } => {
            let change = status.display_name.get_or_insert_with(Default::default);
            display_name::record_request(change, name, now);
        }
    }
    status.registration = Some(p);
}

/// Turns Meta's answer to `step` into progress, conditions and events.
pub fn record_outcome(
    input: &RegistrationInput<'_>,
    step: &Step,
    result: Result<(), &GraphError>,
    status: &mut WhatsAppChannelStatus,
) -> Vec<EventSpec> {
    let number = input.spec.phone_number.display();
    let mut p = status.registration.clone().unwrap_or_default();
    // Meta answered: the step is no longer in flight, whatever it said.
    p.in_flight = None;
    match result {
        Ok(()) => {
            let event = record_success(input, step, &mut p, &number);
            status.registration = Some(p);
            let mut events = vec![event];
            if matches!(step, Step::Register { .. } | Step::SetPin { .. }) {
                display_name::adopt(status, input.spec);
            }
            if matches!(step, Step::Register { .. })
                && let Some(change) = status.display_name.as_mut()
                && display_name::record_applied(change, input.now)
            {
                let name = change.current.clone().unwrap_or_default();
                events.push(EventSpec::normal(
                    reason::NAME_APPLIED,
                    format!(
                        "The display name \"{name}\" is in effect: {number} was registered again"
                    ),
                ));
            }
            events
        }
        Err(err) => {
            let verdict = judge(err, step, &mut p, input.now, &number);
            if let Some(d) = verdict.retry {
                p.retry_at = Some(status_time(add(input.now, d)));
            }
            p.last_error = Some(err.status_message());
            status.registration = Some(p);
            let mut events = verdict.events;
            events.extend(show_failure(err, step, verdict.stall, status, input.now));
            events
        }
    }
}

/// Progress and the event of a step Meta accepted.
fn record_success(
    input: &RegistrationInput<'_>,
    step: &Step,
    p: &mut RegistrationProgress,
    number: &str,
) -> EventSpec {
    let now = input.now;
    p.failures = None;
    p.retry_at = None;
    p.last_error = None;
    match step {
        Step::AddNumber { .. } => {
            EventSpec::normal(reason::NUMBER_ADDED, format!("Added {number} to the WABA"))
        }
        Step::RequestCode { method, .. } => {
            p.code_requested_at = Some(status_time(now));
            p.code_requests = Some(p.code_requests.unwrap_or(0).saturating_add(1));
            EventSpec::normal(
                reason::VERIFICATION_CODE_REQUESTED,
                format!(
                    "Meta sends a verification code by {} to {number}{}",
                    method.as_str(),
                    code_target(input)
                ),
            )
        }
        Step::VerifyCode { .. } => {
            p.verified_at = Some(status_time(now));
            p.code_requests = None;
            EventSpec::normal(
                reason::VERIFICATION_CODE_ACCEPTED,
                format!("Meta accepted the verification code of {number}"),
            )
        }
        Step::Register { pin } => {
            p.registered_at = Some(status_time(now));
            p.applied_pin = Some(pin.clone());
            p.rejected_pin = None;
            EventSpec::normal(
                reason::REGISTERED,
                format!("Registered {number} on the Cloud API"),
            )
        }
        Step::RequestName { name } => EventSpec::normal(
            reason::NAME_CHANGE_REQUESTED,
            format!(
                "Requested the display name \"{name}\" for {number}; Meta reviews it, the current \
                 name stays in use meanwhile"
            ),
        ),
        Step::SetPin { pin } => {
            p.applied_pin = Some(pin.clone());
            EventSpec::normal(
                reason::PIN_UPDATED,
                format!("Updated the two-step verification PIN of {number} at Meta"),
            )
        }
    }
}

/// "; put it into Secret ns/name key "code"" when the spec names the code's Secret.
fn code_target(input: &RegistrationInput<'_>) -> String {
    input
        .spec
        .registration
        .as_ref()
        .and_then(|r| r.verification_code_secret_ref.as_ref())
        .map(|r| {
            format!(
                "; put it into Secret {}/{} key \"{}\"",
                input.namespace, r.name, r.key
            )
        })
        .unwrap_or_default()
}

/// What a refusal means for the flow: a stall a person must resolve (condition reason and
/// message), a wait before the next attempt, and events of its own.
#[derive(Default)]
struct Verdict {
    stall: Option<(&'static str, String)>,
    retry: Option<Duration>,
    events: Vec<EventSpec>,
}

impl Verdict {
    fn stall(reason: &'static str, message: String, retry: Option<Duration>) -> Self {
        Self {
            stall: Some((reason, message)),
            retry,
            events: Vec::new(),
        }
    }

    fn retry(after: Duration) -> Self {
        Self {
            retry: Some(after),
            ..Self::default()
        }
    }
}

/// Sorts Meta's refusal of `step` into a [`Verdict`], updating progress.
fn judge(
    err: &GraphError,
    step: &Step,
    p: &mut RegistrationProgress,
    now: Timestamp,
    number: &str,
) -> Verdict {
    // Only 136025 is Meta's judgement on the code itself; after any other refusal (auth,
    // throttling, outages, business verification, a number still in use) the same code is tried
    // again once the wait is over, and Meta answers 136025 if it has expired meanwhile.
    if matches!(step, Step::VerifyCode { .. }) && !err.is_code_verdict() {
        p.last_tried_code = None;
    }
    match err.class {
        ErrorClass::RegistrationBudget => budget_spent(p, now),
        ErrorClass::PinMismatch => pin_mismatch(step, p),
        ErrorClass::NotReady => Verdict::retry(NAME_NOT_READY_RETRY),
        ErrorClass::AlreadyVerified => Verdict::default(),
        ErrorClass::Throttled => Verdict::retry(err.retry_after.unwrap_or(DEFAULT_THROTTLE_WAIT)),
        _ => match err.refusal {
            Some(Refusal::AlreadyInWaba) => Verdict::default(),
            Some(Refusal::CodeRejected { expired }) => code_rejected(expired, p, now, number),
            Some(refusal) if needs_a_person(refusal) => {
                refused(refusal, number, &err.status_message())
            }
            _ => {
                let failures = p.failures.unwrap_or(0).saturating_add(1);
                p.failures = Some(failures);
                Verdict::retry(FAILURE_BACKOFF.delay(failures, number))
            }
        },
    }
}

fn budget_spent(p: &mut RegistrationProgress, now: Timestamp) -> Verdict {
    record_meta_refusal(p, now);
    let until_ = p
        .blocked_until
        .as_ref()
        .map(|t| format_time(t.0))
        .unwrap_or_default();
    Verdict::stall(
        rr::BUDGET_EXHAUSTED,
        format!(
            "Meta refuses more register/deregister attempts (133016); the next attempt is \
             allowed at {until_}"
        ),
        None,
    )
}

fn pin_mismatch(step: &Step, p: &mut RegistrationProgress) -> Verdict {
    if let Step::Register { pin } | Step::SetPin { pin } = step {
        p.rejected_pin = Some(pin.clone());
    }
    Verdict::stall(
        rr::PIN_MISMATCH,
        "PIN mismatch: set the PIN Secret to the number's current two-step PIN (or reset \
         it in WhatsApp Manager); registration is retried when the Secret changes"
            .into(),
        None,
    )
}

fn needs_a_person(refusal: Refusal) -> bool {
    matches!(
        refusal,
        Refusal::InUseOnApp
            | Refusal::OwnedByAnotherBusiness
            | Refusal::BusinessVerificationRequired
    )
}

/// Refusals only a person can lift; the operator still retries on its own now and then.
fn refused(refusal: Refusal, number: &str, text: &str) -> Verdict {
    match refusal {
        Refusal::InUseOnApp => Verdict::stall(
            rr::IN_USE_ON_APP,
            format!(
                "{number} is in use on the WhatsApp app: free it on the phone, either with \
                 \"change number\" (keeps the chat history, frees the number after about 2 \
                 hours) or \"delete account\" (frees it at once); the operator retries by \
                 itself every {} minutes",
                IN_USE_RETRY.as_secs() / 60
            ),
            Some(IN_USE_RETRY),
        ),
        Refusal::OwnedByAnotherBusiness => Verdict::stall(
            rr::OTHER_BUSINESS,
            format!(
                "{number} is registered under another business manager: remove it there (or \
                 migrate it to this WABA) first; retried every hour ({text})"
            ),
            Some(OTHER_BUSINESS_RETRY),
        ),
        _ => Verdict::stall(
            rr::BUSINESS_VERIFICATION,
            format!(
                "Meta requires business verification: verify the business portfolio in \
                 Meta Business Manager (Security Center); retried every hour ({text})"
            ),
            Some(OTHER_BUSINESS_RETRY),
        ),
    }
}

fn code_rejected(
    expired_by_meta: bool,
    p: &mut RegistrationProgress,
    now: Timestamp,
    number: &str,
) -> Verdict {
    let requested = p.code_requested_at.as_ref().and_then(parse_time);
    let expired = expired_by_meta || requested.is_some_and(|r| add(r, CODE_VALIDITY) <= now);
    if expired {
        // A new code is requested on the next reconcile (within the request cap).
        p.code_requested_at = None;
    }
    let note = if expired {
        format!("The verification code of {number} expired; a new code is requested")
    } else {
        format!(
            "Meta rejected the verification code of {number}; put the right code into the Secret"
        )
    };
    Verdict {
        events: vec![EventSpec::warning(reason::VERIFICATION_CODE_REJECTED, note)],
        ..Verdict::default()
    }
}

/// The conditions and events a failed step leaves: a stall for a person, or a failed call that
/// is retried by itself.
fn show_failure(
    err: &GraphError,
    step: &Step,
    stall: Option<(&'static str, String)>,
    status: &mut WhatsAppChannelStatus,
    now: Timestamp,
) -> Vec<EventSpec> {
    let generation = status.observed_generation;
    match stall {
        Some((cond_reason, message)) => {
            for type_ in [condition::STALLED, condition::READY, condition::REGISTERED] {
                let st = if type_ == condition::STALLED {
                    ConditionStatus::True
                } else {
                    ConditionStatus::False
                };
                set_condition(
                    &mut status.conditions,
                    type_,
                    st,
                    cond_reason,
                    &message,
                    generation,
                    now,
                );
            }
            status.phase = Phase::Stalled;
            vec![EventSpec::warning(reason::REGISTRATION_STALLED, message)]
        }
        None if !err.is_code_verdict() => call_failed(err, step, status, now),
        None => Vec::new(),
    }
}

fn call_failed(
    err: &GraphError,
    step: &Step,
    status: &mut WhatsAppChannelStatus,
    now: Timestamp,
) -> Vec<EventSpec> {
    let when = status
        .registration
        .as_ref()
        .and_then(|p| p.retry_at.as_ref())
        .map(|t| format!("; retried at {}", format_time(t.0)))
        .unwrap_or_else(|| "; retried after the next sync".into());
    let message = format!("{} failed: {}{when}", step.name(), err.status_message());
    let not_ready = err.class == ErrorClass::NotReady;
    let generation = status.observed_generation;
    set_condition(
        &mut status.conditions,
        condition::REGISTERED,
        ConditionStatus::False,
        if not_ready {
            rr::AWAITING_DISPLAY_NAME
        } else {
            rr::CALL_FAILED
        },
        &message,
        generation,
        now,
    );
    if not_ready {
        status.phase = Phase::AwaitingDisplayName;
        Vec::new()
    } else if err.class == ErrorClass::AlreadyVerified {
        Vec::new()
    } else {
        vec![EventSpec::warning(reason::REGISTRATION_FAILED, message)]
    }
}

#[cfg(test)]
#[path = "registration_tests.rs"]
mod tests;
