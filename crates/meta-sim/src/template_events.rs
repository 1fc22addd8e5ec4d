//! Template lifecycle transitions (review decisions, quality, pause, disable, category changes,
//! deletion) and the webhook value Meta sends with each (webhook reference, template fields).

use serde_json::{Map, Value, json};

use super::state::Template;

pub const STATUS_FIELD: &str = "message_template_status_update";
pub const QUALITY_FIELD: &str = "message_template_quality_update";
pub const CATEGORY_FIELD: &str = "template_category_update";

/// Meta announces a category change 24 hours before it applies it.
pub const CATEGORY_NOTICE_SECS: i64 = 24 * 3600;

/// `message_template_id` is an integer in Meta's webhooks.
fn id_value(id: &str) -> Value {
    id.parse::<u64>().map_or_else(|_| json!(id), Value::from)
}

fn identity(t: &Template) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("message_template_id".into(), id_value(&t.id));
    v.insert("message_template_name".into(), json!(t.name));
    v.insert("message_template_language".into(), json!(t.language));
    v
}

/// `message_template_status_update`: `reason` is a rejection reason, `"NONE"`, or `null` for
/// events that are not a review outcome (pause, unpause, disable).
fn status_value(t: &Template, event: &str, reason: Value) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("event".into(), json!(event));
    v.extend(identity(t));
    v.insert("message_template_category".into(), json!(t.category));
    v.insert("reason".into(), reason);
    v
}

/// Review outcome: approved.
pub fn approve(t: &mut Template) -> Value {
    t.status = "APPROVED".to_owned();
    t.rejected_reason = "NONE".to_owned();
    t.review_started_at = None;
    Value::Object(status_value(t, "APPROVED", json!("NONE")))
}

/// Review outcome: rejected with `reason` (`PROMOTIONAL`, `INVALID_FORMAT`, …).
pub fn reject(t: &mut Template, reason: &str) -> Value {
    t.status = "REJECTED".to_owned();
    t.rejected_reason = reason.to_owned();
    t.review_started_at = None;
    let mut v = status_value(t, "REJECTED", json!(reason));
    v.insert(
        "rejection_info".into(),
        json!({ "reason": reason, "recommendation": recommendation(reason) }),
    );
    Value::Object(v)
}

fn recommendation(reason: &str) -> &'static str {
    match reason {
        "PROMOTIONAL" | "INCORRECT_CATEGORY" => {
            "Choose the category that matches the content (promotional content is MARKETING), or remove the promotional content, and submit the template again."
        }
        "INVALID_FORMAT" => {
            "Check the template's variables, examples and formatting, and submit it again."
        }
        "ABUSIVE_CONTENT" | "SCAM" => {
            "Remove content that violates the WhatsApp Business Messaging Policy."
        }
        "TAG_CONTENT_MISMATCH" => {
            "Make the content match the category and the purpose you selected."
        }
        _ => "Review the template guidelines, edit the template and submit it again.",
    }
}

/// A template Meta paused for low quality.
pub fn pause(t: &mut Template, title: &str, description: &str) -> Result<Value, String> {
    if t.status != "APPROVED" {
        return Err(format!(
            "only an APPROVED template can be paused; it is {}",
            t.status
        ));
    }
    t.status = "PAUSED".to_owned();
    let mut v = status_value(t, "PAUSED", Value::Null);
    v.insert(
        "other_info".into(),
        json!({ "title": title, "description": description }),
    );
    Ok(Value::Object(v))
}

pub const DEFAULT_PAUSE_DESCRIPTION: &str =
    "Your WhatsApp message template has been paused for 3 hours because of low quality.";
pub const DEFAULT_UNPAUSE_DESCRIPTION: &str =
    "Your WhatsApp message template has been unpaused and can be sent again.";
pub const DEFAULT_DISABLE_DESCRIPTION: &str =
    "Your WhatsApp message template has been disabled because of repeated low quality.";

/// A paused template back to `APPROVED` (Graph's `/unpause`, or Meta's own unpause).
pub fn unpause(t: &mut Template, description: &str) -> Result<Value, String> {
    if t.status != "PAUSED" {
        return Err(format!(
            "only a PAUSED template can be unpaused; it is {}",
            t.status
        ));
    }
    t.status = "APPROVED".to_owned();
    let mut v = status_value(t, "APPROVED", Value::Null);
    v.insert(
        "other_info".into(),
        json!({ "title": "UNPAUSE", "description": description }),
    );
    Ok(Value::Object(v))
}

/// A template Meta disabled (after repeated pauses); it cannot be deleted any more.
pub fn disable(t: &mut Template, description: &str, now: i64) -> Result<Value, String> {
    if matches!(t.status.as_str(), "DISABLED" | "PENDING_DELETION") {
        return Err(format!("the template is {}", t.status));
    }
    t.status = "DISABLED".to_owned();
    let mut v = status_value(t, "DISABLED", Value::Null);
    v.insert("disable_info".into(), json!({ "disable_date": now }));
    v.insert(
        "other_info".into(),
        json!({ "title": "DISABLED", "description": description }),
    );
    Ok(Value::Object(v))
}

/// A deletion through Graph: `PENDING_DELETION` for a template that could be sent, gone for
/// the others. Returns the webhook value.
pub fn deleted(t: &Template, event: &str) -> Value {
    Value::Object(status_value(t, event, json!("NONE")))
}

/// `message_template_quality_update`.
pub fn quality(t: &mut Template, score: &str, now: i64) -> Value {
    let previous = std::mem::replace(&mut t.quality_score.score, score.to_owned());
    t.quality_score.date = Some(now);
    let mut v = Map::new();
    v.insert("previous_quality_score".into(), json!(previous));
    v.insert("new_quality_score".into(), json!(score));
    v.extend(identity(t));
    Value::Object(v)
}

/// `template_category_update`, impending: Meta will change the category in 24 hours
/// (`new_category` is still the current one, as Meta's webhook has it).
pub fn announce_category(t: &mut Template, correct: &str, now: i64) -> Value {
    let at = now + CATEGORY_NOTICE_SECS;
    t.category_update = Some(super::state::templates::CategoryUpdate {
        correct_category: correct.to_owned(),
        at,
    });
    let mut v = identity(t);
    v.insert("new_category".into(), json!(t.category));
    v.insert("correct_category".into(), json!(correct));
    v.insert("category_update_timestamp".into(), json!(at));
    Value::Object(v)
}

/// `template_category_update`, completed: the category changes (to `new`, else to the announced
/// one) and `previous_category` is kept.
pub fn apply_category(t: &mut Template, new: Option<&str>) -> Result<Value, String> {
    let announced = t.category_update.take().map(|u| u.correct_category);
    let Some(new) = new.map(str::to_owned).or(announced) else {
        return Err("no category change was announced; give \"new_category\"".to_owned());
    };
    let previous = std::mem::replace(&mut t.category, new.clone());
    t.previous_category = Some(previous.clone());
    let mut v = identity(t);
    v.insert("previous_category".into(), json!(previous));
    v.insert("new_category".into(), json!(new));
    Ok(Value::Object(v))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template(status: &str) -> Template {
        serde_json::from_value(json!({
            "id": "556677", "name": "order_update", "language": "en_US",
            "category": "MARKETING", "status": status,
        }))
        .unwrap()
    }

    #[test]
    fn review_outcomes() {
        let mut t = template("PENDING");
        t.review_started_at = Some(1);
        let v = reject(&mut t, "PROMOTIONAL");
        assert_eq!(
            v,
            json!({
                "event": "REJECTED", "message_template_id": 556677,
                "message_template_name": "order_update", "message_template_language": "en_US",
                "message_template_category": "MARKETING", "reason": "PROMOTIONAL",
                "rejection_info": {"reason": "PROMOTIONAL", "recommendation": recommendation("PROMOTIONAL")},
            })
        );
        assert_eq!(
            (t.status.as_str(), t.rejected_reason.as_str()),
            ("REJECTED", "PROMOTIONAL")
        );
        assert_eq!(t.review_started_at, None);
        let v = approve(&mut t);
        assert_eq!(v["reason"], json!("NONE"));
        assert_eq!(t.rejected_reason, "NONE");
    }

    #[test]
    fn pause_unpause_disable() {
        let mut t = template("APPROVED");
        let v = pause(&mut t, "FIRST_PAUSE", "low quality").unwrap();
        assert_eq!(
            v["other_info"],
            json!({"title": "FIRST_PAUSE", "description": "low quality"})
        );
        assert_eq!(v["reason"], Value::Null);
        assert!(pause(&mut t, "SECOND_PAUSE", "x").is_err());
        let v = unpause(&mut t, "back").unwrap();
        assert_eq!(
            (v["event"].as_str(), t.status.as_str()),
            (Some("APPROVED"), "APPROVED")
        );
        assert_eq!(v["other_info"]["title"], json!("UNPAUSE"));
        assert!(unpause(&mut t, "again").is_err());
        let v = disable(&mut t, "gone", 99).unwrap();
        assert_eq!(v["disable_info"], json!({"disable_date": 99}));
        assert!(disable(&mut t, "gone", 100).is_err());
    }

    #[test]
    fn quality_and_category() {
        let mut t = template("APPROVED");
        let v = quality(&mut t, "RED", 50);
        assert_eq!(v["previous_quality_score"], json!("UNKNOWN"));
        assert_eq!(v["new_quality_score"], json!("RED"));
        assert_eq!(t.quality_score.date, Some(50));
        assert!(apply_category(&mut t, None).is_err());
        let v = announce_category(&mut t, "UTILITY", 1000);
        assert_eq!(v["new_category"], json!("MARKETING"));
        assert_eq!(v["correct_category"], json!("UTILITY"));
        assert_eq!(
            v["category_update_timestamp"],
            json!(1000 + CATEGORY_NOTICE_SECS)
        );
        let v = apply_category(&mut t, None).unwrap();
        assert_eq!(v["previous_category"], json!("MARKETING"));
        assert_eq!(v["new_category"], json!("UTILITY"));
        assert_eq!(t.category, "UTILITY");
        assert_eq!(t.previous_category.as_deref(), Some("MARKETING"));
        assert!(t.category_update.is_none());
    }
}
