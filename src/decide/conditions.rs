//! The one way conditions are written.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::time::truncate;

/// Condition reasons shared by both controllers (CamelCase, as Kubernetes conventions ask).
pub mod condition_reason {
    /// Synced: the last read of Meta worked.
    pub const SYNC_SUCCEEDED: &str = "SyncSucceeded";
    /// Synced: the last read failed and is retried with backoff.
    pub const SYNC_FAILED: &str = "SyncFailed";
    /// Synced: Meta's rate limit was reached; retried when it resets.
    pub const THROTTLED: &str = "Throttled";
    /// Stalled/Synced/Ready: Meta refused the access token.
    pub const CREDENTIALS_INVALID: &str = "CredentialsInvalid";
    /// Stalled/Synced/Ready: the credentials Secret or key is missing.
    pub const MISSING_CREDENTIALS: &str = "MissingCredentials";
    /// Stalled/Synced/Ready: Meta rejected the read itself.
    pub const REQUEST_REJECTED: &str = "RequestRejected";
    /// Stalled=False.
    pub const NO_ACTION_NEEDED: &str = "NoActionNeeded";
    /// Ready/Registered=Unknown before the first read of Meta.
    pub const AWAITING_SYNC: &str = "AwaitingSync";
    /// Ready=True without limitations.
    pub const AVAILABLE: &str = "Available";
    /// Ready=True with limitations.
    pub const LIMITED: &str = "Limited";
    /// Ready=False: health BLOCKED.
    pub const BLOCKED: &str = "Blocked";
    /// Account Ready=False: account review rejected.
    pub const REVIEW_REJECTED: &str = "ReviewRejected";
    /// Account Ready=False: Meta disabled the WABA (account_update DISABLED_UPDATE).
    pub const DISABLED: &str = "Disabled";
    /// Channel Registered=True.
    pub const REGISTERED: &str = "Registered";
    /// Channel Registered=False: platform type is not CLOUD_API.
    pub const NOT_ON_CLOUD_API: &str = "NotOnCloudApi";
    /// Channel Ready/Registered=False: Meta did not report the number's status.
    pub const STATUS_UNKNOWN: &str = "StatusUnknown";
    /// Channel: the number is not in the WABA.
    pub const NOT_IN_WABA: &str = "NotInWaba";
    /// Channel: the referenced account does not exist.
    pub const ACCOUNT_NOT_FOUND: &str = "AccountNotFound";
    /// Channel Synced=False: the account has no current snapshot.
    pub const ACCOUNT_NOT_SYNCED: &str = "AccountNotSynced";
    /// Synced=False: the resource carries the paused annotation; no call to Meta is made.
    pub const PAUSED: &str = "Paused";
    /// Channel: the spec cannot be acted on.
    pub const INVALID_SPEC: &str = "InvalidSpec";
    /// Channel Reconciling=True: a registration step is under way.
    pub const IN_PROGRESS: &str = "InProgress";
    /// Channel Reconciling=False: nothing is under way.
    pub const IDLE: &str = "Idle";
    /// Channel Stalled=True: an older channel owns the number.
    pub const NUMBER_CLAIMED_ELSEWHERE: &str = "NumberClaimedElsewhere";
    /// Account Stalled=True: an older account owns the WABA id.
    pub const WABA_CLAIMED_ELSEWHERE: &str = "WabaClaimedElsewhere";
}

/// `status` of a condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConditionStatus {
    True,
    False,
    Unknown,
}

impl ConditionStatus {
    /// The three statuses Kubernetes defines for a condition.
    pub const ALL: [ConditionStatus; 3] = [Self::True, Self::False, Self::Unknown];

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::True => "True",
            Self::False => "False",
            Self::Unknown => "Unknown",
        }
    }

    pub fn from_bool(value: bool) -> Self {
        if value { Self::True } else { Self::False }
    }
}

/// Sets condition `type_`, keeping its position in the list and its `lastTransitionTime` unless
/// the status flips; a re-computation of an unchanged condition therefore leaves the status
/// byte-for-byte equal and causes no write.
pub fn set_condition(
    conditions: &mut Vec<Condition>,
    type_: &str,
    status: ConditionStatus,
    reason: &str,
    message: impl Into<String>,
    observed_generation: Option<i64>,
    now: Timestamp,
) {
    let status = status.as_str();
    let message = message.into();
    match conditions.iter_mut().find(|c| c.type_ == type_) {
        Some(existing) => {
            if existing.status != status {
                existing.last_transition_time = Time(truncate(now));
                existing.status = status.into();
            }
            existing.reason = reason.into();
            existing.message = message;
            existing.observed_generation = observed_generation;
        }
        None => conditions.push(Condition {
            type_: type_.into(),
            status: status.into(),
            reason: reason.into(),
            message,
            observed_generation,
            last_transition_time: Time(truncate(now)),
        }),
    }
}

/// The condition's status when it is present.
pub(crate) fn status_of(conditions: &[Condition], type_: &str) -> Option<ConditionStatus> {
    conditions
        .iter()
        .find(|c| c.type_ == type_)
        .map(|c| match c.status.as_str() {
            "True" => ConditionStatus::True,
            "False" => ConditionStatus::False,
            _ => ConditionStatus::Unknown,
        })
}

/// The reason of the condition when it is present with status True.
pub(crate) fn true_reason<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a str> {
    conditions
        .iter()
        .find(|c| c.type_ == type_ && c.status == "True")
        .map(|c| c.reason.as_str())
}

/// "RATE_LIMITED" -> "RateLimited", usable as a condition reason. Characters Kubernetes does not
/// allow in reasons are dropped; `fallback` is used when nothing usable is left.
pub(crate) fn camel_case(screaming: &str, fallback: &str) -> String {
    let mut out = String::new();
    for word in screaming.split(|c: char| !c.is_ascii_alphanumeric()) {
        let mut chars = word.chars();
        if let Some(first) = chars.next() {
            out.push(first.to_ascii_uppercase());
            out.extend(chars.map(|c| c.to_ascii_lowercase()));
        }
    }
    if out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out
    } else {
        fallback.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn transition_time_moves_only_when_status_flips() {
        let mut conds = Vec::new();
        let t0 = t("2026-01-01T00:00:00.5Z");
        set_condition(
            &mut conds,
            "Ready",
            ConditionStatus::True,
            "Available",
            "ok",
            Some(1),
            t0,
        );
        assert_eq!(
            conds[0].last_transition_time,
            Time(t("2026-01-01T00:00:00Z"))
        );

        let t1 = t("2026-01-01T01:00:00Z");
        set_condition(
            &mut conds,
            "Ready",
            ConditionStatus::True,
            "Limited",
            "meh",
            Some(2),
            t1,
        );
        assert_eq!(
            conds[0].last_transition_time,
            Time(t("2026-01-01T00:00:00Z"))
        );
        assert_eq!(conds[0].reason, "Limited");
        assert_eq!(conds[0].message, "meh");
        assert_eq!(conds[0].observed_generation, Some(2));

        let t2 = t("2026-01-01T02:00:00Z");
        set_condition(
            &mut conds,
            "Ready",
            ConditionStatus::False,
            "Blocked",
            "no",
            Some(2),
            t2,
        );
        assert_eq!(conds[0].last_transition_time, Time(t2));
        assert_eq!(conds[0].status, "False");
        assert_eq!(conds.len(), 1);
    }

    #[test]
    fn order_is_preserved_and_new_types_are_appended() {
        let now = t("2026-01-01T00:00:00Z");
        let mut conds = Vec::new();
        for type_ in ["Ready", "Synced", "Stalled"] {
            set_condition(
                &mut conds,
                type_,
                ConditionStatus::False,
                "X",
                "",
                None,
                now,
            );
        }
        set_condition(
            &mut conds,
            "Synced",
            ConditionStatus::True,
            "Y",
            "",
            None,
            now,
        );
        set_condition(
            &mut conds,
            "Registered",
            ConditionStatus::True,
            "Y",
            "",
            None,
            now,
        );
        let types: Vec<_> = conds.iter().map(|c| c.type_.as_str()).collect();
        assert_eq!(types, ["Ready", "Synced", "Stalled", "Registered"]);
        assert_eq!(status_of(&conds, "Synced"), Some(ConditionStatus::True));
        assert_eq!(true_reason(&conds, "Synced"), Some("Y"));
        assert_eq!(true_reason(&conds, "Ready"), None);
        assert_eq!(status_of(&conds, "Nope"), None);
    }

    #[test]
    fn camel_case_reasons() {
        assert_eq!(camel_case("RATE_LIMITED", "X"), "RateLimited");
        assert_eq!(camel_case("FLAGGED", "X"), "Flagged");
        assert_eq!(camel_case("weird value!", "X"), "WeirdValue");
        assert_eq!(camel_case("", "NotConnected"), "NotConnected");
        assert_eq!(camel_case("42_THINGS", "NotConnected"), "NotConnected");
    }
}
