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

/// The `volume_tier_info` of a VOLUME_BASED_PRICING_TIER_UPDATE: the volume tier the WABA
/// reached for one pricing category in one market. Every key is optional, since Meta's page
/// is the only source of the shape.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VolumeTier {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// Meta's range of messages, e.g. `25000001:50000000`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// `YYYY-MM`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_month: Option<String>,
    /// Unix seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier_update_time: Option<i64>,
}

/// What a delivery tells the operator, routed by WABA ID and, for number fields, by the
/// number's digits.
///
/// Fields added after a kind was first recorded are skipped when absent, so a notice recorded
/// by an older version serialises as it did and keeps the key it is stored under.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(
    tag = "kind",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum Fact {
    /// `account_update`: the event plus restriction, ban, violation or pricing-tier details
    /// when present.
    AccountUpdate {
        waba_id: String,
        event: String,
        restrictions: Option<Vec<Restriction>>,
        ban_state: Option<String>,
        /// `violation_info.violation_type` of an ACCOUNT_VIOLATION.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        violation_type: Option<String>,
        /// `volume_tier_info` of a VOLUME_BASED_PRICING_TIER_UPDATE.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        volume_tier: Option<VolumeTier>,
    },
    /// `account_review_update`.
    AccountReview { waba_id: String, decision: String },
    /// `business_capability_update`: the portfolio's messaging limit and the caps on phone
    /// numbers, each when given (Meta sends them in separate updates).
    Capability {
        waba_id: String,
        limit: Option<MessagingLimit>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_phone_numbers_per_waba: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        max_phone_numbers_per_business: Option<i64>,
    },
    /// `account_alerts`: one alert about an entity (BUSINESS, PHONE_NUMBER...).
    AccountAlert {
        waba_id: String,
        alert_type: String,
        severity: String,
        status: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entity_type: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        entity_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// `phone_number_quality_update`: Meta's current events (THROUGHPUT_UPGRADE, ONBOARDING)
    /// and the legacy FLAGGED/UNFLAGGED/UPGRADE/DOWNGRADE.
    QualityUpdate {
        waba_id: String,
        digits: String,
        event: String,
        /// The number's `current_limit` (deprecated by Meta).
        current_limit: Option<MessagingLimit>,
        /// The number's `old_limit`, given for messaging-limit changes only.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        old_limit: Option<MessagingLimit>,
        /// `max_daily_conversations_per_business`: the portfolio's limit.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        portfolio_limit: Option<MessagingLimit>,
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
    /// `message_template_status_update`: APPROVED, REJECTED, PAUSED, DISABLED...
    TemplateStatus {
        waba_id: String,
        template: TemplateRef,
        event: String,
        /// `message_template_category`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        category: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        recommendation: Option<String>,
        /// `other_info.title` (FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE, UNPAUSE...).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        info_title: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        info_description: Option<String>,
        /// `disable_info.disable_date` (Unix seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        disable_date: Option<i64>,
    },
    /// `message_template_quality_update`.
    TemplateQuality {
        waba_id: String,
        template: TemplateRef,
        score: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous: Option<String>,
    },
    /// `template_category_update`: announced (`correct_category` and the time it applies) or
    /// applied (`previous_category` and `new_category`).
    TemplateCategory {
        waba_id: String,
        template: TemplateRef,
        new_category: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        previous_category: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        correct_category: Option<String>,
        /// `category_update_timestamp` (Unix seconds).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        update_at: Option<i64>,
    },
    /// `message_template_components_update`: the template's content changed at Meta; the
    /// forced read brings it.
    TemplateComponents {
        waba_id: String,
        template: TemplateRef,
    },
}

/// The template a notice is about: Meta's id, and its name and language when given.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TemplateRef {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
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
            | Self::Security { waba_id, .. }
            | Self::TemplateStatus { waba_id, .. }
            | Self::TemplateQuality { waba_id, .. }
            | Self::TemplateCategory { waba_id, .. }
            | Self::TemplateComponents { waba_id, .. } => waba_id,
        }
    }

    /// The template a template-level fact is about.
    pub fn template(&self) -> Option<&TemplateRef> {
        match self {
            Self::TemplateStatus { template, .. }
            | Self::TemplateQuality { template, .. }
            | Self::TemplateCategory { template, .. }
            | Self::TemplateComponents { template, .. } => Some(template),
            _ => None,
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
    /// applied in delivery order, an older one never overrides a newer one. Records kept per
    /// key (an alert, a violation type, a pricing tier, a security event) have a facet per key,
    /// so a late notice about one never loses to a newer one about another. `None` for facts
    /// that change nothing the operator records.
    pub fn facet(&self) -> Option<String> {
        Some(match self {
            Self::AccountUpdate {
                event,
                violation_type,
                volume_tier,
                ..
            } => match event.as_str() {
                "ACCOUNT_RESTRICTION" => "restrictions".into(),
                "DISABLED_UPDATE" => "banState".into(),
                "ACCOUNT_VIOLATION" => format!("violation/{}", violation_type.as_ref()?),
                "VOLUME_BASED_PRICING_TIER_UPDATE" => {
                    let tier = volume_tier.as_ref()?;
                    let part = |p: &Option<String>| p.clone().unwrap_or_default();
                    format!(
                        "pricingTier/{}/{}",
                        part(&tier.pricing_category),
                        part(&tier.region)
                    )
                }
                _ => return None,
            },
            Self::AccountReview { .. } => "review".into(),
            Self::Capability { .. } => "capability".into(),
            Self::AccountAlert {
                alert_type,
                entity_type,
                entity_id,
                ..
            } => format!(
                "alert/{alert_type}/{}/{}",
                entity_type.as_deref().unwrap_or_default(),
                entity_id.as_deref().unwrap_or_default()
            ),
            Self::QualityUpdate { .. } => "quality".into(),
            Self::NameUpdate { .. } => "name".into(),
            // PIN_CHANGED keeps the facet it always had, so delivery times recorded before
            // other security events were kept still order it.
            Self::Security { event, .. } if event == "PIN_CHANGED" => "security".into(),
            Self::Security { event, .. } => format!("security/{event}"),
            Self::TemplateStatus { .. } => "template/status".into(),
            Self::TemplateQuality { .. } => "template/quality".into(),
            Self::TemplateCategory { .. } => "template/category".into(),
            Self::TemplateComponents { .. } => return None,
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
