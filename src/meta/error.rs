//! Meta's errors in the operator's terms: what a caller should do ([`ErrorClass`]) and, for
//! the refusals that need their own handling, what Meta refused ([`Refusal`]). Both are decided
//! here and only here, from Meta's codes (and, where Meta gives no code of its own, from its
//! documented wording); callers match on the enums, never on Meta's texts.

use std::time::Duration;

/// What a caller should do about an error, from Meta's code and the HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// The token is expired, invalid or lacks permission: needs a human.
    Auth,
    /// Rate or capacity limits; wait `retry_after` when known.
    Throttled,
    /// 10 register/deregister attempts per 72 h spent (133016).
    RegistrationBudget,
    /// Wrong two-step PIN, too many or too fast guesses.
    PinMismatch,
    /// Registration before display-name provisioning finished (100/2388001).
    NotReady,
    /// `request_code` on a number that is already verified (136024).
    AlreadyVerified,
    /// Other invalid parameters (100).
    InvalidRequest,
    /// Worth retrying later: Meta-side failures, timeouts, connection errors, broken bodies.
    Transient,
    Other,
}

impl ErrorClass {
    /// Bounded label for metrics and log fields.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Auth => "auth",
            Self::Throttled => "throttled",
            Self::RegistrationBudget => "registration_budget",
            Self::PinMismatch => "pin_mismatch",
            Self::NotReady => "not_ready",
            Self::AlreadyVerified => "already_verified",
            Self::InvalidRequest => "invalid_request",
            Self::Transient => "transient",
            Self::Other => "other",
        }
    }

    /// Classifies by Meta's code first; the HTTP status decides only for codes that do not
    /// (a 503 carrying code 2 is a transient failure, a bare 503 is capacity throttling).
    pub fn classify(http_status: Option<u16>, code: Option<i64>, subcode: Option<i64>) -> Self {
        match code {
            Some(0 | 3 | 10 | 190 | 200..=299) => return Self::Auth,
            Some(4 | 80007 | 130429 | 131056) => return Self::Throttled,
            Some(133016) => return Self::RegistrationBudget,
            Some(133005 | 133008 | 133009) => return Self::PinMismatch,
            Some(100) if subcode == Some(2388001) => return Self::NotReady,
            Some(136024) => return Self::AlreadyVerified,
            Some(1 | 2 | 131057 | 133004) => return Self::Transient,
            Some(100) => return Self::InvalidRequest,
            _ => {}
        }
        match http_status {
            Some(429 | 503) => Self::Throttled,
            Some(500..=599) => Self::Transient,
            Some(401) if code.is_none() => Self::Auth,
            _ => Self::Other,
        }
    }
}

impl std::fmt::Display for ErrorClass {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Meta's code for its verdict on a verification code.
const CODE_VERDICT: i64 = 136025;

/// A refusal that calls for its own handling, beyond its [`ErrorClass`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Refusal {
    /// The object is unknown to Meta (100/33): for a deregistration, the number is already gone.
    AlreadyGone,
    /// Adding a number the WABA already holds.
    AlreadyInWaba,
    /// The number is still in use on the WhatsApp (consumer or Business) app.
    InUseOnApp,
    /// The number belongs to another business portfolio.
    OwnedByAnotherBusiness,
    /// Meta requires the business portfolio to be verified first.
    BusinessVerificationRequired,
    /// Meta's verdict on a verification code (136025); `expired` when it says the code expired.
    CodeRejected { expired: bool },
    /// Creating a template whose name and language the WABA already holds.
    TemplateExists,
    /// Creating a template with a name deleted less than 30 days ago.
    TemplateNameReserved,
    /// Editing an approved template beyond Meta's limits (one per 24 hours, ten per 30 days).
    TemplateEditLimit,
}

impl Refusal {
    /// Meta gives these refusals no code of their own (they arrive as 100 or as registration
    /// errors), so the wording of its message and `error_data.details` tells them apart.
    pub fn of(
        code: Option<i64>,
        subcode: Option<i64>,
        message: &str,
        details: Option<&str>,
    ) -> Option<Self> {
        if code == Some(100) && subcode == Some(33) {
            return Some(Self::AlreadyGone);
        }
        let text = format!(
            "{} {}",
            message.to_lowercase(),
            details.unwrap_or_default().to_lowercase()
        );
        // Meta's template subcodes are not documented (2388023/2388024 are seen in the wild),
        // so the wording decides as well.
        if text.contains("already exists in this whatsapp business account") {
            Some(Self::AlreadyInWaba)
        } else if subcode == Some(2_388_023)
            || text.contains("30 days")
            || (text.contains("deleted") && text.contains("name"))
        {
            Some(Self::TemplateNameReserved)
        } else if subcode == Some(2_388_024)
            || (text.contains("template") && text.contains("already exists"))
        {
            Some(Self::TemplateExists)
        } else if text.contains("edit")
            && (text.contains("limit") || text.contains("24 hours") || text.contains("per day"))
        {
            Some(Self::TemplateEditLimit)
        } else if text.contains("whatsapp app") || text.contains("registered on whatsapp") {
            Some(Self::InUseOnApp)
        } else if text.contains("another business") {
            Some(Self::OwnedByAnotherBusiness)
        } else if text.contains("business verification") {
            Some(Self::BusinessVerificationRequired)
        } else if code == Some(CODE_VERDICT) {
            Some(Self::CodeRejected {
                expired: text.contains("expired"),
            })
        } else {
            None
        }
    }
}

/// A failed Graph call. Neither `Display` nor [`GraphError::status_message`] include the
/// trace id; no constructor ever receives a token, PIN or code, and Meta's texts are scrubbed
/// of the secrets a call sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", self.describe(true))]
pub struct GraphError {
    pub class: ErrorClass,
    pub endpoint: &'static str,
    pub http_status: Option<u16>,
    pub code: Option<i64>,
    pub subcode: Option<i64>,
    pub message: String,
    /// `error_data.details`.
    pub details: Option<String>,
    /// For Meta support only; kept out of every text.
    pub fbtrace_id: Option<String>,
    pub retry_after: Option<Duration>,
    /// What Meta refused and why, when its answer says so (see [`Refusal`]).
    pub refusal: Option<Refusal>,
}

impl GraphError {
    /// Whether Meta judged a verification code (136025), whatever else its text says: only
    /// that judgement spends a code.
    pub fn is_code_verdict(&self) -> bool {
        self.code == Some(CODE_VERDICT)
    }

    /// Replaces every occurrence of the given secret values in Meta's texts.
    pub fn scrub(mut self, secrets: &[&str]) -> Self {
        for secret in secrets.iter().filter(|s| s.len() >= 3) {
            if self.message.contains(secret) {
                self.message = self.message.replace(secret, "[redacted]");
            }
            if let Some(d) = self.details.as_mut()
                && d.contains(secret)
            {
                *d = d.replace(secret, "[redacted]");
            }
        }
        self
    }

    /// A stable one-line text for `.status` conditions: no trace id, no retry time, no clock
    /// readings Meta embeds in messages, so repeated identical failures do not rewrite status.
    pub fn status_message(&self) -> String {
        self.describe(false)
    }

    fn describe(&self, volatile: bool) -> String {
        let mut out = format!("{} failed ({})", self.endpoint, self.class.as_str());
        if let Some(status) = self.http_status {
            out.push_str(&format!(", HTTP {status}"));
        }
        match (self.code, self.subcode) {
            (Some(code), Some(sub)) => out.push_str(&format!(", Graph code {code}/{sub}")),
            (Some(code), None) => out.push_str(&format!(", Graph code {code}")),
            _ => {}
        }
        out.push_str(": ");
        if volatile {
            out.push_str(&self.message);
        } else {
            out.push_str(&stable_text(&self.message));
        }
        if let Some(details) = &self.details {
            out.push_str(" (");
            out.push_str(details);
            out.push(')');
        }
        if volatile && let Some(after) = self.retry_after {
            out.push_str(&format!("; retry after {}s", after.as_secs().max(1)));
        }
        out
    }
}

/// Drops sentences that only carry the current time (Meta's expired-token message ends with
/// "The current time is ...").
fn stable_text(message: &str) -> String {
    match message.find("The current time is") {
        Some(i) => message[..i].trim_end().to_owned(),
        None => message.to_owned(),
    }
}
