//! Kubernetes Events the controllers publish, and the catalogue of their reasons.

pub use kube::runtime::events::EventType;

/// Kubernetes rejects event notes over 1 kB.
const MAX_NOTE_BYTES: usize = 1024;

/// One event to publish on the object being reconciled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EventSpec {
    pub type_: EventType,
    /// CamelCase, from [`reason`].
    pub reason: &'static str,
    /// A human sentence; never a secret, at most 1 kB.
    pub note: String,
}

impl EventSpec {
    pub(crate) fn warning(reason: &'static str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Warning,
            reason,
            note: truncate_note(note.into()),
        }
    }

    pub(crate) fn normal(reason: &'static str, note: impl Into<String>) -> Self {
        Self {
            type_: EventType::Normal,
            reason,
            note: truncate_note(note.into()),
        }
    }
}

fn truncate_note(mut note: String) -> String {
    if note.len() > MAX_NOTE_BYTES {
        const ELLIPSIS: &str = "...";
        let mut end = MAX_NOTE_BYTES - ELLIPSIS.len();
        while !note.is_char_boundary(end) {
            end -= 1;
        }
        note.truncate(end);
        note.push_str(ELLIPSIS);
    }
    note
}

/// Event reasons. Warnings need attention; Normal events report progress and recoveries.
pub mod reason {
    // Channel: operating status.
    /// Warning: Meta set the number's status to FLAGGED.
    pub const NUMBER_FLAGGED: &str = "NumberFlagged";
    /// Normal: the number left FLAGGED.
    pub const NUMBER_UNFLAGGED: &str = "NumberUnflagged";
    /// Warning: status RESTRICTED.
    pub const NUMBER_RESTRICTED: &str = "NumberRestricted";
    /// Warning: status BANNED.
    pub const NUMBER_BANNED: &str = "NumberBanned";
    /// Warning: status DISCONNECTED.
    pub const NUMBER_DISCONNECTED: &str = "NumberDisconnected";
    /// Warning: status DELETED.
    pub const NUMBER_DELETED: &str = "NumberDeleted";
    /// Normal: CONNECTED again after RESTRICTED, BANNED, RATE_LIMITED or another non-flag problem.
    pub const NUMBER_RECOVERED: &str = "NumberRecovered";
    /// Warning: a number seen in the WABA before is no longer there.
    pub const NUMBER_NOT_FOUND: &str = "NumberNotFound";
    /// Normal: the number became CONNECTED on the Cloud API.
    pub const REGISTERED: &str = "Registered";
    /// The operator deregistered the number because its resource was deleted.
    pub const DEREGISTERED: &str = "Deregistered";
    /// Warning: a Deregister channel went without deregistering, and why (another channel
    /// still claims the number, its CRD is being deleted, its namespace is terminating without
    /// the credentials, the number id now belongs to other digits, or Meta kept refusing).
    pub const DEREGISTRATION_SKIPPED: &str = "DeregistrationSkipped";

    // Channel: registration by the operator.
    /// Normal: the operator added the number to the WABA.
    pub const NUMBER_ADDED: &str = "NumberAdded";
    /// Normal: Meta sends a verification code; the note says where to put it.
    pub const VERIFICATION_CODE_REQUESTED: &str = "VerificationCodeRequested";
    /// Normal: the code Secret the spec names did not exist, and the operator created it with
    /// the key empty; the note says how to fill it.
    pub const VERIFICATION_CODE_SECRET_CREATED: &str = "VerificationCodeSecretCreated";
    /// Normal: Meta accepted the verification code.
    pub const VERIFICATION_CODE_ACCEPTED: &str = "VerificationCodeAccepted";
    /// Warning: Meta refused the verification code (wrong or expired).
    pub const VERIFICATION_CODE_REJECTED: &str = "VerificationCodeRejected";
    /// Warning: a registration call failed and is retried later.
    pub const REGISTRATION_FAILED: &str = "RegistrationFailed";
    /// Warning: registration cannot go on without a person; the note says what to do.
    pub const REGISTRATION_STALLED: &str = "RegistrationStalled";
    /// Normal: the two-step verification PIN was updated at Meta.
    pub const PIN_UPDATED: &str = "PinUpdated";
    /// Normal: business profile fields of the spec were applied at Meta.
    pub const BUSINESS_PROFILE_UPDATED: &str = "BusinessProfileUpdated";
    /// Warning: reading or updating the business profile failed; retried on the next sync.
    pub const BUSINESS_PROFILE_FAILED: &str = "BusinessProfileFailed";

    // Channel: quality, limits, names, health.
    pub const QUALITY_DEGRADED: &str = "QualityDegraded";
    pub const QUALITY_RECOVERED: &str = "QualityRecovered";
    pub const MESSAGING_LIMIT_INCREASED: &str = "MessagingLimitIncreased";
    pub const MESSAGING_LIMIT_DECREASED: &str = "MessagingLimitDecreased";
    pub const NAME_APPROVED: &str = "NameApproved";
    pub const NAME_REJECTED: &str = "NameRejected";
    /// Normal: the operator requested a new display name at Meta (spec.displayName changed).
    pub const NAME_CHANGE_REQUESTED: &str = "NameChangeRequested";
    /// Normal: the number was registered again and its approved new display name is in effect.
    pub const NAME_APPLIED: &str = "NameApplied";
    pub const MESSAGING_BLOCKED: &str = "MessagingBlocked";
    pub const MESSAGING_LIMITED: &str = "MessagingLimited";
    pub const MESSAGING_AVAILABLE: &str = "MessagingAvailable";

    // Channel: the operator cannot make progress.
    /// Warning: an ObserveOnly number is not in the WABA.
    pub const NUMBER_NOT_IN_WABA: &str = "NumberNotInWaba";
    /// Warning: spec.accountRef names no WhatsAppBusinessAccount.
    pub const ACCOUNT_NOT_FOUND: &str = "AccountNotFound";
    /// Warning: the spec cannot be acted on.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Warning: an older channel owns the number; this one makes no call to Meta.
    pub const NUMBER_CLAIMED_ELSEWHERE: &str = "NumberClaimedElsewhere";
    /// Warning: an older account owns the WABA id; this one makes no call to Meta.
    pub const WABA_CLAIMED_ELSEWHERE: &str = "WabaClaimedElsewhere";
    /// Normal: the paused annotation stopped every call to Meta for the resource.
    pub const PAUSED: &str = "Paused";
    /// Normal: the paused annotation was removed; calls to Meta resume.
    pub const RESUMED: &str = "Resumed";

    // Template.
    /// Normal: the operator created or changed the template at Meta; Meta reviews it.
    pub const TEMPLATE_SUBMITTED: &str = "TemplateSubmitted";
    /// Normal: Meta approved the template.
    pub const TEMPLATE_APPROVED: &str = "TemplateApproved";
    /// Warning: Meta rejected the template; the note has Meta's reason.
    pub const TEMPLATE_REJECTED: &str = "TemplateRejected";
    /// Warning: Meta paused the template for low quality.
    pub const TEMPLATE_PAUSED: &str = "TemplatePaused";
    /// Normal: a paused template is approved again.
    pub const TEMPLATE_UNPAUSED: &str = "TemplateUnpaused";
    /// Warning: Meta disabled the template.
    pub const TEMPLATE_DISABLED: &str = "TemplateDisabled";
    /// Warning: the template's quality dropped to YELLOW or RED.
    pub const TEMPLATE_QUALITY_DEGRADED: &str = "TemplateQualityDegraded";
    /// Normal: the template's quality is GREEN again.
    pub const TEMPLATE_QUALITY_RECOVERED: &str = "TemplateQualityRecovered";
    /// Warning: Meta announced a category change, with its date.
    pub const TEMPLATE_CATEGORY_CHANGING: &str = "TemplateCategoryChanging";
    /// Warning: Meta changed the template's category.
    pub const TEMPLATE_CATEGORY_CHANGED: &str = "TemplateCategoryChanged";
    /// Normal: the operator deleted the template's language at Meta (policy Delete).
    pub const TEMPLATE_DELETED: &str = "TemplateDeleted";
    /// Warning: a Delete template went without deleting it at Meta, and why.
    pub const TEMPLATE_DELETION_SKIPPED: &str = "TemplateDeletionSkipped";

    // Account: health entities.
    pub const WABA_BLOCKED: &str = "WabaBlocked";
    pub const WABA_LIMITED: &str = "WabaLimited";
    pub const WABA_AVAILABLE: &str = "WabaAvailable";
    pub const BUSINESS_BLOCKED: &str = "BusinessBlocked";
    pub const BUSINESS_LIMITED: &str = "BusinessLimited";
    pub const BUSINESS_AVAILABLE: &str = "BusinessAvailable";
    pub const APP_BLOCKED: &str = "AppBlocked";
    pub const APP_LIMITED: &str = "AppLimited";
    pub const APP_AVAILABLE: &str = "AppAvailable";

    // Account: review and credentials.
    pub const ACCOUNT_REVIEW_REJECTED: &str = "AccountReviewRejected";
    pub const ACCOUNT_REVIEW_APPROVED: &str = "AccountReviewApproved";
    /// Warning: Meta refused the token; syncing stops until the Secret changes.
    pub const CREDENTIALS_INVALID: &str = "CredentialsInvalid";
    /// Warning: the credentials Secret or key is missing.
    pub const CREDENTIALS_MISSING: &str = "CredentialsMissing";
    /// Normal: the first successful sync after a credentials problem.
    pub const CREDENTIALS_RESTORED: &str = "CredentialsRestored";
    /// Warning: the token expires within a week.
    pub const CREDENTIALS_EXPIRING_SOON: &str = "CredentialsExpiringSoon";
    /// Warning: Meta rejected the read itself (e.g. unknown WABA ID, no access to it).
    pub const REQUEST_REJECTED: &str = "RequestRejected";
    /// Warning: several consecutive syncs failed.
    pub const SYNC_FAILING: &str = "SyncFailing";

    // Webhook facts (account_update, account_alerts, business_capability_update, security): the
    // restrictions and ban state on the account and its channels, the others where they land.
    /// Warning: Meta restricted the WABA (ACCOUNT_RESTRICTION).
    pub const ACCOUNT_RESTRICTED: &str = "AccountRestricted";
    /// Warning: Meta disabled the WABA or scheduled it to be disabled (DISABLED_UPDATE).
    pub const ACCOUNT_DISABLED: &str = "AccountDisabled";
    /// Normal: Meta reinstated a disabled WABA.
    pub const ACCOUNT_REINSTATED: &str = "AccountReinstated";
    /// Warning: the number's two-step PIN was changed outside the operator (security PIN_CHANGED).
    pub const PIN_CHANGED: &str = "PinChanged";
    /// Warning: someone asked Meta to reset the number's two-step PIN (security
    /// PIN_RESET_REQUEST); once per request.
    pub const PIN_RESET_REQUESTED: &str = "PinResetRequested";
    /// Warning: Meta raised an account alert (account_alerts with status ACTIVE).
    pub const ACCOUNT_ALERT: &str = "AccountAlert";
    /// Normal: an account alert that was ACTIVE no longer is.
    pub const ACCOUNT_ALERT_RESOLVED: &str = "AccountAlertResolved";
    /// Warning: Meta reported a policy or terms violation of the WABA (account_update
    /// ACCOUNT_VIOLATION); once per violation type.
    pub const ACCOUNT_VIOLATION: &str = "AccountViolation";
    // Account: what a person must do in Business Manager (BillingReady, BusinessVerified).
    /// Warning: Meta reports a missing or failing payment method; the note says where to add one.
    pub const PAYMENT_METHOD_REQUIRED: &str = "PaymentMethodRequired";
    /// Normal: Meta no longer reports a payment problem.
    pub const PAYMENT_METHOD_RESTORED: &str = "PaymentMethodRestored";
    /// Warning: the messaging limit is held at its starting tier until the business portfolio
    /// is verified; the note says how.
    pub const BUSINESS_VERIFICATION_REQUIRED: &str = "BusinessVerificationRequired";
    /// Normal: the messaging limit is no longer held back by business verification.
    pub const MESSAGING_LIMIT_RELEASED: &str = "MessagingLimitReleased";

    /// Normal: business_capability_update raised the business portfolio's messaging limit.
    pub const PORTFOLIO_LIMIT_INCREASED: &str = "PortfolioLimitIncreased";
    /// Warning: business_capability_update lowered the business portfolio's messaging limit.
    pub const PORTFOLIO_LIMIT_DECREASED: &str = "PortfolioLimitDecreased";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_notes_are_cut_at_a_char_boundary() {
        let note = "é".repeat(600);
        let event = EventSpec::warning(reason::WABA_BLOCKED, note);
        assert!(event.note.len() <= MAX_NOTE_BYTES);
        assert!(event.note.ends_with("..."));
        let short = EventSpec::normal(reason::WABA_AVAILABLE, "fine");
        assert_eq!(short.note, "fine");
        assert_eq!(short.type_, EventType::Normal);
    }
}
