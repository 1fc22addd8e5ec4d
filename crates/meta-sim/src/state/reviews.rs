//! Review rules: how Meta's reviews of display names and message templates decide, and when.
//!
//! The default is `manual`: nothing is decided automatically, tests decide with the admin API.

use serde::{Deserialize, Serialize};

/// What a timed review decides.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Decision {
    #[serde(rename = "APPROVED", alias = "approved")]
    Approved,
    #[serde(rename = "REJECTED", alias = "rejected")]
    Rejected,
    /// Nothing happens on its own; `POST /_sim/…/review` decides.
    #[default]
    #[serde(rename = "manual", alias = "MANUAL")]
    Manual,
}

/// `reviews.display_name`: the review of a name requested with `new_display_name`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameReviewRule {
    #[serde(default)]
    pub decision: Decision,
    /// Sim-clock seconds between the request and the decision.
    #[serde(default)]
    pub after_seconds: u64,
    /// `rejection_reason` of a rejection (default `NAME_FORMAT_UNACCEPTABLE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

/// `reviews.templates`: the review of a created or edited message template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TemplateReviewRule {
    #[serde(default)]
    pub decision: Decision,
    /// Sim-clock seconds between the submission and the decision.
    #[serde(default)]
    pub after_seconds: u64,
    /// A body containing one of these (case-insensitive) is rejected even when the decision is
    /// `APPROVED`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reject_when_body_contains: Vec<String>,
    /// `rejected_reason` of a rejection (default `PROMOTIONAL` for a body match,
    /// `INVALID_FORMAT` otherwise).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection_reason: Option<String>,
}

/// The state file's `reviews` key.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reviews {
    #[serde(default)]
    pub display_name: NameReviewRule,
    #[serde(default)]
    pub templates: TemplateReviewRule,
}

/// `POST /_sim/reviews`: the rules given replace the current ones, the others stay.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReviewsPatch {
    #[serde(default)]
    pub display_name: Option<NameReviewRule>,
    #[serde(default)]
    pub templates: Option<TemplateReviewRule>,
}

impl Reviews {
    pub fn apply(&mut self, patch: ReviewsPatch) {
        if let Some(rule) = patch.display_name {
            self.display_name = rule;
        }
        if let Some(rule) = patch.templates {
            self.templates = rule;
        }
    }
}

/// Whether a review that started at `started_at` is decided at `now` under a rule.
pub fn is_due(decision: Decision, after_seconds: u64, started_at: i64, now: i64) -> bool {
    let after = i64::try_from(after_seconds).unwrap_or(i64::MAX);
    decision != Decision::Manual && now >= started_at.saturating_add(after)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn absent_rules_are_manual_and_typos_are_refused() {
        let r: Reviews = serde_json::from_str("{}").unwrap();
        assert_eq!(r.display_name.decision, Decision::Manual);
        assert_eq!(r.templates.decision, Decision::Manual);
        let r: Reviews = serde_json::from_str(
            r#"{"templates": {"decision": "APPROVED", "after_seconds": 60, "reject_when_body_contains": ["FREE"]}}"#,
        )
        .unwrap();
        assert_eq!(r.templates.decision, Decision::Approved);
        assert!(
            serde_json::from_str::<Reviews>(r#"{"templates": {"decison": "APPROVED"}}"#).is_err()
        );
        assert!(
            serde_json::from_str::<Reviews>(r#"{"templates": {"decision": "MAYBE"}}"#).is_err()
        );
    }

    #[test]
    fn manual_is_never_due() {
        assert!(!is_due(Decision::Manual, 0, 0, 1_000_000));
        assert!(!is_due(Decision::Approved, 60, 100, 159));
        assert!(is_due(Decision::Approved, 60, 100, 160));
        assert!(is_due(Decision::Rejected, 0, 100, 100));
    }
}
