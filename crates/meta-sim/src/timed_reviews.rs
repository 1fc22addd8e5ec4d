//! Reviews decided by the sim clock: on every tick, each display name whose review is due under
//! the state's `reviews` rules gets its decision, and the webhook Meta sends with it is queued.

use super::display_name;
use super::outbox::Outbox;
use super::state::reviews::is_due;
use super::state::{Decision, State};

/// Everything due at `now`; the webhooks go into `out`.
pub fn apply_due(state: &mut State, now: i64, out: &mut Outbox) {
    let rules = state.reviews.clone();
    let names = &rules.display_name;
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
        assert_eq!(
            s.number("4").unwrap().1.new_name_status.as_deref(),
            Some("PENDING_REVIEW")
        );
    }

    #[test]
    fn timed_rules_decide_when_due() {
        let mut s = state(json!({"display_name": {"decision": "APPROVED", "after_seconds": 60}}));
        request_name(&mut s);
        let mut out = Outbox::default();
        apply_due(&mut s, 159, &mut out);
        assert!(!out.has_queued());
        apply_due(&mut s, 160, &mut out);
        let n = s.number("4").unwrap().1;
        assert_eq!(n.new_name_status.as_deref(), Some("APPROVED"));
        assert_eq!(n.approved_display_name.as_deref(), Some("New"));
        assert_eq!(out.take(&s).len(), 1);
        // Nothing is decided twice.
        apply_due(&mut s, 10_000, &mut out);
        assert!(!out.has_queued());
    }

    #[test]
    fn rejecting_rules_use_the_configured_reason() {
        let mut s = state(json!({
            "display_name": {"decision": "REJECTED", "rejection_reason": "NAME_NOT_CONSISTENT"},
        }));
        request_name(&mut s);
        let mut out = Outbox::default();
        apply_due(&mut s, 100, &mut out);
        assert_eq!(
            s.number("4").unwrap().1.new_name_status.as_deref(),
            Some("DECLINED")
        );
    }
}
