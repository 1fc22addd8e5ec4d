//! Display-name changes: the request (`new_display_name`), Meta's review decision and the
//! `phone_number_name_update` webhook it sends, and the name taking effect when the number is
//! registered again (Meta: "re-registering before approval has no effect").

use serde_json::{Value, json};

use super::state::Number;

pub const WEBHOOK_FIELD: &str = "phone_number_name_update";
/// `rejection_reason` when the review rule names none.
pub const DEFAULT_REJECTION: &str = "NAME_FORMAT_UNACCEPTABLE";

/// `POST /{phone-number-id}` with `new_display_name`: the name goes to review. A name approved
/// earlier but not yet applied by a registration is dropped: the latest request wins.
pub fn request(number: &mut Number, name: String, now: i64) {
    number.requested_display_name = Some(name);
    number.new_name_status = Some("PENDING_REVIEW".to_owned());
    number.name_review_started_at = Some(now);
    number.approved_display_name = None;
}

/// Whether the number has a requested name under review.
pub fn in_review(number: &Number) -> bool {
    number.requested_display_name.is_some()
        && number.new_name_status.as_deref() == Some("PENDING_REVIEW")
}

/// Meta's decision on the requested name: Graph's `new_name_status` becomes `APPROVED` or
/// `DECLINED`; returns the webhook value (`decision` is `APPROVED` or `REJECTED`, as Meta's
/// webhook reference spells it).
pub fn decide(number: &mut Number, approve: bool, rejection_reason: Option<&str>) -> Value {
    let requested = number.requested_display_name.clone().unwrap_or_default();
    number.name_review_started_at = None;
    let (decision, reason) = if approve {
        number.new_name_status = Some("APPROVED".to_owned());
        number.approved_display_name = Some(requested.clone());
        ("APPROVED", Value::Null)
    } else {
        number.new_name_status = Some("DECLINED".to_owned());
        number.approved_display_name = None;
        (
            "REJECTED",
            json!(rejection_reason.unwrap_or(DEFAULT_REJECTION)),
        )
    };
    json!({
        "display_phone_number": number.digits(),
        "decision": decision,
        "requested_verified_name": requested,
        "rejection_reason": reason,
    })
}

/// A successful `/register`: an approved new name takes effect.
pub fn apply_on_register(number: &mut Number) {
    if let Some(name) = number.approved_display_name.take() {
        number.verified_name = name;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> Number {
        serde_json::from_value(
            json!({"id": "1", "display_phone_number": "+1 555-078-3881", "verified_name": "Old"}),
        )
        .unwrap()
    }

    #[test]
    fn approval_takes_effect_only_at_the_next_registration() {
        let mut n = number();
        request(&mut n, "New".into(), 100);
        assert!(in_review(&n));
        let v = decide(&mut n, true, None);
        assert_eq!(
            v,
            json!({"display_phone_number": "15550783881", "decision": "APPROVED", "requested_verified_name": "New", "rejection_reason": null})
        );
        assert_eq!(n.new_name_status.as_deref(), Some("APPROVED"));
        assert_eq!(n.verified_name, "Old");
        assert!(!in_review(&n));
        apply_on_register(&mut n);
        assert_eq!(n.verified_name, "New");
        apply_on_register(&mut n);
        assert_eq!(n.verified_name, "New");
    }

    #[test]
    fn rejection_is_declined_in_graph_and_rejected_in_the_webhook() {
        let mut n = number();
        request(&mut n, "CHEAP!!!".into(), 100);
        let v = decide(&mut n, false, None);
        assert_eq!(v["decision"], json!("REJECTED"));
        assert_eq!(v["rejection_reason"], json!(DEFAULT_REJECTION));
        assert_eq!(n.new_name_status.as_deref(), Some("DECLINED"));
        apply_on_register(&mut n);
        assert_eq!(n.verified_name, "Old");
    }

    #[test]
    fn a_new_request_drops_an_unapplied_approval() {
        let mut n = number();
        request(&mut n, "First".into(), 100);
        decide(&mut n, true, None);
        request(&mut n, "Second".into(), 200);
        apply_on_register(&mut n);
        assert_eq!(n.verified_name, "Old");
        assert_eq!(n.name_review_started_at, Some(200));
    }
}
