//! What a Meta webhook delivery tells the operator, once parsed (the receiver in
//! `crate::webhook` parses; `crate::decide` folds the notices into status).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::model::MessagingLimit;

/// One restriction of an ACCOUNT_RESTRICTION update.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Restriction {
    pub restriction_type: String,
    /// Unix seconds.
    pub expiration: Option<i64>,
}

/// What a delivery tells the operator, routed by WABA ID and, for number fields, by the
/// number's digits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
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

impl Fact {
    /// The part of a resource's status the fact speaks about: facts about the same facet are
    /// applied in delivery order, an older one never overrides a newer one. `None` for facts
    /// that change nothing the operator records.
    pub fn facet(&self) -> Option<&'static str> {
        Some(match self {
            Self::AccountUpdate { event, .. } => match event.as_str() {
                "ACCOUNT_RESTRICTION" => "restrictions",
                "DISABLED_UPDATE" => "banState",
                _ => return None,
            },
            Self::AccountReview { .. } => "review",
            Self::Capability { .. } => "capability",
            Self::AccountAlert { .. } => "alerts",
            Self::QualityUpdate { .. } => "quality",
            Self::NameUpdate { .. } => "name",
            Self::Security { .. } => "security",
        })
    }
}

/// A fact with the time Meta gives its delivery (`entry[].time`, Unix seconds): what the
/// receiver records and the reconcilers apply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub fact: Fact,
    /// Unix seconds; absent when the delivery gave no time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<i64>,
}

impl Notice {
    pub fn new(fact: Fact, at: Option<i64>) -> Self {
        Self { fact, at }
    }

    /// A stable name for the notice, the same for every redelivery of it: the key it is
    /// recorded under, so that recording it twice keeps one copy.
    pub fn key(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        let digest = Sha256::digest(&json);
        hex::encode(&digest[..12])
    }
}

impl From<Fact> for Notice {
    fn from(fact: Fact) -> Self {
        Self { fact, at: None }
    }
}
