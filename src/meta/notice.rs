//! What a Meta webhook delivery tells the operator, once parsed (the receiver in
//! `crate::webhook` parses; `crate::decide` folds the notices into status).

use super::model::MessagingLimit;

/// One restriction of an ACCOUNT_RESTRICTION update.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restriction {
    pub restriction_type: String,
    /// Unix seconds.
    pub expiration: Option<i64>,
}

/// What a delivery tells the operator, routed by WABA ID and, for number fields, by the
/// number's digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fact {
    /// `account_update`: the event plus restriction or ban details when present.
    AccountUpdate {
        waba_id: String,
        event: String,
        restrictions: Option<Vec<Restriction>>,
        ban_state: Option<String>,
    },
    /// `account_review_update`.
    AccountReview { waba_id: String, decision: String },
    /// `business_capability_update`: the portfolio's messaging limit, when given.
    Capability {
        waba_id: String,
        limit: Option<MessagingLimit>,
    },
    /// `account_alerts`.
    AccountAlert {
        waba_id: String,
        alert_type: String,
        severity: String,
        status: String,
    },
    /// `phone_number_quality_update` (legacy FLAGGED/UNFLAGGED/UPGRADE/DOWNGRADE included).
    QualityUpdate {
        waba_id: String,
        digits: String,
        event: String,
        current_limit: Option<MessagingLimit>,
    },
    /// `phone_number_name_update`.
    NameUpdate {
        waba_id: String,
        digits: String,
        decision: String,
        rejection_reason: Option<String>,
    },
    /// `security` (PIN_CHANGED, PIN_RESET_REQUEST...).
    Security {
        waba_id: String,
        digits: String,
        event: String,
    },
}

impl Fact {
    pub fn waba_id(&self) -> &str {
        match self {
            Self::AccountUpdate { waba_id, .. }
            | Self::AccountReview { waba_id, .. }
            | Self::Capability { waba_id, .. }
            | Self::AccountAlert { waba_id, .. }
            | Self::QualityUpdate { waba_id, .. }
            | Self::NameUpdate { waba_id, .. }
            | Self::Security { waba_id, .. } => waba_id,
        }
    }

    /// Digits of the number the fact is about, for number-level fields.
    pub fn digits(&self) -> Option<&str> {
        match self {
            Self::QualityUpdate { digits, .. }
            | Self::NameUpdate { digits, .. }
            | Self::Security { digits, .. } => Some(digits),
            _ => None,
        }
    }
}
