//! Reviews decided by the sim clock: on every tick, each display name or template whose review
//! is due under the state's `reviews` rules gets its decision, and the webhook Meta sends with
//! it is queued. Also retires `PENDING_DELETION` templates after their 30 days.

use super::display_name;
use super::outbox::Outbox;
use super::state::reviews::is_due;
use super::state::{Decision, State, Template, TemplateReviewRule};
use super::template_events;
use super::template_rules::RESERVATION_SECS;

/// `rejected_reason` of a body matching `reject_when_body_contains`, unless the rule names one.
pub const BODY_MATCH_REASON: &str = "PROMOTIONAL";
/// `rejected_reason` of a rule that rejects everything, unless the rule names one.
pub const REJECTED_REASON: &str = "INVALID_FORMAT";

/// What a template review decides.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    Reject(String),
}

/// The decision of `rule` on `t` (a `manual` rule approves, for callers that decide now).
pub fn verdict(rule: &TemplateReviewRule, t: &Template) -> Verdict {
    let body = t.body_text().unwrap_or_default().to_lowercase();
    let matched = rule
        .reject_when_body_contains
        .iter()
        .any(|w| !w.is_empty() && body.contains(&w.to_lowercase()));
    let configured = rule.rejection_reason.clone();
    if matched {
        Verdict::Reject(configured.unwrap_or_else(|| BODY_MATCH_REASON.to_owned()))
    } else if rule.decision == Decision::Rejected {
        Verdict::Reject(configured.unwrap_or_else(|| REJECTED_REASON.to_owned()))
    } else {
        Verdict::Approve
    }
}

/// Applies a template review decision; returns the webhook value.
pub fn decide_template(t: &mut Template, verdict: &Verdict) -> serde_json::Value {
    match verdict {
        Verdict::Approve => template_events::approve(t),
        Verdict::Reject(reason) => template_events::reject(t, reason),
    }
}

/// Everything due at `now`; the webhooks go into `out`.
pub fn apply_due(state: &mut State, now: i64, out: &mut Outbox) {
    let rules = state.reviews.clone();
    let names = &rules.display_name;
    let templates = &rules.templates;
    for waba in &mut state.wabas {
        for number in &mut waba.phone_numbers {
            let Some(started) = number.name_review_started_at else {
                continue;
            };
            if !display_name::in_review(number) {
                // Decided by hand (admin merge) meanwhile.
                number.name_review_started_at = None;
                continue;
            }
            if !is_due(names.decision, names.after_seconds, started, now) {
                continue;
            }
            let approve = names.decision == Decision::Approved;
            let value = display_name::decide(number, approve, names.rejection_reason.as_deref());
            out.push(&waba.id, display_name::WEBHOOK_FIELD, value, now);
        }
        for t in &mut waba.message_templates {
            let Some(started) = t.review_started_at else {
                continue;
            };
            if t.status != "PENDING" {
                t.review_started_at = None;
                continue;
            }
            if !is_due(templates.decision, templates.after_seconds, started, now) {
                continue;
            }
            let value = decide_template(t, &verdict(templates, t));
            out.push(&waba.id, template_events::STATUS_FIELD, value, now);
        }
        waba.message_templates.retain(|t| {
            t.status != "PENDING_DELETION"
                || t.deleted_at.is_none_or(|d| now < d + RESERVATION_SECS)
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn state(reviews: serde_json::Value) -> State {
        State::from_json(
            &json!({
                "apps": [{"id": "1", "secret": "s", "webhook_url": "http://127.0.0.1:9/h"}],
                "businesses": [{"id": "2"}],
                "wabas": [{
                    "id": "3", "owner_business_id": "2", "subscribed_apps": [{"app_id": "1"}],
                    "phone_numbers": [{"id": "4", "display_phone_number": "+1 555-000-0004", "verified_name": "Old"}],
                    "message_templates": [
                        {"id": "5", "name": "hello", "language": "en_US", "category": "UTILITY", "status": "PENDING",
                         "review_started_at": 100, "components": [{"type": "BODY", "text": "Hello, your code is ready."}]},
                        {"id": "6", "name": "promo", "language": "en_US", "category": "MARKETING", "status": "PENDING",
                         "review_started_at": 100, "components": [{"type": "BODY", "text": "Get it FREE today!"}]},
                        {"id": "7", "name": "gone", "language": "en_US", "category": "UTILITY", "status": "PENDING_DELETION",
                         "deleted_at": 100}
                    ]
                }],
                "reviews": reviews,
            })
            .to_string(),
        )
        .unwrap()
    }

    fn request_name(state: &mut State) {
        let n = state.number_mut("4").unwrap();
        display_name::request(n, "New".into(), 100);
    }

    #[test]
    fn manual_rules_decide_nothing() {
        let mut s = state(json!({}));
        request_name(&mut s);
        let mut out = Outbox::default();
        apply_due(&mut s, 1_000_000, &mut out);
        assert!(!out.has_queued());
        assert_eq!(s.template("5").unwrap().1.status, "PENDING");
        assert_eq!(
            s.number("4").unwrap().1.new_name_status.as_deref(),
            Some("PENDING_REVIEW")
        );
    }

    #[test]
    fn timed_rules_decide_when_due() {
        let mut s = state(json!({
            "display_name": {"decision": "APPROVED", "after_seconds": 60},
            "templates": {"decision": "APPROVED", "after_seconds": 30, "reject_when_body_contains": ["free"]},
        }));
        request_name(&mut s);
        let mut out = Outbox::default();
        apply_due(&mut s, 129, &mut out);
        assert!(!out.has_queued());
        apply_due(&mut s, 130, &mut out);
        assert_eq!(s.template("5").unwrap().1.status, "APPROVED");
        let promo = s.template("6").unwrap().1;
        assert_eq!(
            (promo.status.as_str(), promo.rejected_reason.as_str()),
            ("REJECTED", "PROMOTIONAL")
        );
        assert_eq!(
            s.number("4").unwrap().1.new_name_status.as_deref(),
            Some("PENDING_REVIEW")
        );
        apply_due(&mut s, 160, &mut out);
        let n = s.number("4").unwrap().1;
        assert_eq!(n.new_name_status.as_deref(), Some("APPROVED"));
        assert_eq!(n.approved_display_name.as_deref(), Some("New"));
        let sent = out.take(&s);
        assert_eq!(sent.len(), 3);
        // Nothing is decided twice.
        apply_due(&mut s, 10_000, &mut out);
        assert!(!out.has_queued());
    }

    #[test]
    fn rejecting_rules_use_the_configured_reason() {
        let mut s = state(json!({
            "display_name": {"decision": "REJECTED", "rejection_reason": "NAME_NOT_CONSISTENT"},
            "templates": {"decision": "REJECTED"},
        }));
        request_name(&mut s);
        let mut out = Outbox::default();
        apply_due(&mut s, 100, &mut out);
        assert_eq!(s.template("5").unwrap().1.rejected_reason, REJECTED_REASON);
        assert_eq!(
            s.number("4").unwrap().1.new_name_status.as_deref(),
            Some("DECLINED")
        );
    }

    #[test]
    fn pending_deletion_leaves_after_30_days() {
        let mut s = state(json!({}));
        let mut out = Outbox::default();
        apply_due(&mut s, 100 + RESERVATION_SECS - 1, &mut out);
        assert!(s.template("7").is_some());
        apply_due(&mut s, 100 + RESERVATION_SECS, &mut out);
        assert!(s.template("7").is_none());
        assert!(!out.has_queued());
    }
}
