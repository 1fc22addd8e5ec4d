//! Meta's webhook envelope and the facts the operator takes from it.
//!
//! Parsing is lenient: unknown fields, objects and events are ignored rather than rejected,
//! because Meta adds them without notice and a rejected delivery is retried for 7 days.

use serde::Deserialize;
use serde_json::Value;

use crate::meta::model::{MessagingLimit, digits_of};
use crate::meta::{Fact, Notice, Restriction};

#[derive(Debug, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub object: String,
    #[serde(default)]
    pub entry: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
pub struct Entry {
    #[serde(default, deserialize_with = "string_or_number")]
    pub id: String,
    /// When Meta sent the change (Unix seconds); lenient: anything else reads as absent.
    #[serde(default, deserialize_with = "unix_seconds")]
    pub time: Option<i64>,
    #[serde(default)]
    pub changes: Vec<Change>,
}

#[derive(Debug, Deserialize)]
pub struct Change {
    #[serde(default)]
    pub field: String,
    #[serde(default)]
    pub value: Value,
}

fn string_or_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::String(s) => s,
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    })
}

fn unix_seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    })
}

/// The field names of a delivery, for metrics, and its notices (each fact with its entry's
/// time).
pub fn facts(envelope: &Envelope) -> Vec<(String, Option<Notice>)> {
    let mut out = Vec::new();
    if envelope.object != "whatsapp_business_account" {
        return out;
    }
    for entry in &envelope.entry {
        for change in &entry.changes {
            let notice = fact_of(&entry.id, change).map(|f| Notice::new(f, entry.time));
            out.push((change.field.clone(), notice));
        }
    }
    out
}

fn text(v: &Value, key: &str) -> Option<String> {
    match v.get(key)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn limit(v: &Value, key: &str) -> Option<MessagingLimit> {
    match v.get(key)? {
        Value::String(s) => Some(MessagingLimit::parse(s)),
        Value::Number(n) => n.as_i64().map(MessagingLimit::from_number),
        _ => None,
    }
}

fn fact_of(waba_id: &str, change: &Change) -> Option<Fact> {
    let v = &change.value;
    let waba_id = waba_id.to_string();
    let digits = || text(v, "display_phone_number").map(|d| digits_of(&d));
    Some(match change.field.as_str() {
        "account_update" => Fact::AccountUpdate {
            waba_id,
            event: text(v, "event")?,
            restrictions: restrictions(v),
            ban_state: v.get("ban_info").and_then(|b| text(b, "waba_ban_state")),
        },
        "account_review_update" => Fact::AccountReview {
            waba_id,
            decision: text(v, "decision")?,
        },
        "business_capability_update" => Fact::Capability {
            waba_id,
            limit: limit(v, "max_daily_conversations_per_business"),
        },
        "account_alerts" => {
            let info = v.get("alert_info")?;
            Fact::AccountAlert {
                waba_id,
                alert_type: text(info, "alert_type")?,
                severity: text(info, "alert_severity").unwrap_or_default(),
                status: text(info, "alert_status").unwrap_or_default(),
            }
        }
        "phone_number_quality_update" => Fact::QualityUpdate {
            waba_id,
            digits: digits()?,
            event: text(v, "event")?,
            current_limit: limit(v, "max_daily_conversations_per_business")
                .or_else(|| limit(v, "current_limit")),
        },
        "phone_number_name_update" => Fact::NameUpdate {
            waba_id,
            digits: digits()?,
            decision: text(v, "decision")?,
            rejection_reason: text(v, "rejection_reason"),
        },
        "security" => Fact::Security {
            waba_id,
            digits: digits()?,
            event: text(v, "event")?,
        },
        _ => return None,
    })
}

/// The `restriction_info` of an ACCOUNT_RESTRICTION update; entries without a type are skipped.
fn restrictions(v: &Value) -> Option<Vec<Restriction>> {
    let items = v.get("restriction_info").and_then(Value::as_array)?;
    let parsed = items.iter().filter_map(|r| {
        Some(Restriction {
            restriction_type: text(r, "restriction_type")?,
            expiration: r.get("expiration").and_then(Value::as_i64),
        })
    });
    Some(parsed.collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Vec<(String, Option<Fact>)> {
        facts(&serde_json::from_str(json).unwrap())
            .into_iter()
            .map(|(field, n)| (field, n.map(|n| n.fact)))
            .collect()
    }

    #[test]
    fn each_notice_carries_its_entrys_time() {
        let body = r#"{ "object": "whatsapp_business_account", "entry": [
            { "id": "1", "time": 1748454394, "changes": [ { "field": "security",
              "value": { "display_phone_number": "15550783881", "event": "PIN_CHANGED" } } ] },
            { "id": "1", "time": "oops", "changes": [ { "field": "security",
              "value": { "display_phone_number": "15550783881", "event": "PIN_CHANGED" } } ] } ] }"#;
        let notices: Vec<_> = facts(&serde_json::from_str(body).unwrap())
            .into_iter()
            .filter_map(|(_, n)| n)
            .collect();
        assert_eq!(notices.len(), 2);
        assert_eq!(notices[0].at, Some(1_748_454_394));
        assert_eq!(notices[1].at, None);
        // The same notice delivered twice has one name; another time makes another notice.
        assert_eq!(notices[0].key(), notices[0].clone().key());
        assert_ne!(notices[0].key(), notices[1].key());
    }

    #[test]
    fn account_restriction_from_metas_example() {
        let f = parse(
            r#"{ "object": "whatsapp_business_account",
  "entry": [ { "id": "102290129340398", "time": 1641330498,
    "changes": [ { "field": "account_update",
      "value": { "event": "ACCOUNT_RESTRICTION",
                 "restriction_info": [
                   { "restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": 1641330498 },
                   { "restriction_type": "RESTRICTED_ADD_PHONE_NUMBER_ACTION", "expiration": 1641330498 } ] } } ] } ] }"#,
        );
        assert_eq!(
            f[0].1,
            Some(Fact::AccountUpdate {
                waba_id: "102290129340398".into(),
                event: "ACCOUNT_RESTRICTION".into(),
                restrictions: Some(vec![
                    Restriction {
                        restriction_type: "RESTRICTED_BIZ_INITIATED_MESSAGING".into(),
                        expiration: Some(1641330498)
                    },
                    Restriction {
                        restriction_type: "RESTRICTED_ADD_PHONE_NUMBER_ACTION".into(),
                        expiration: Some(1641330498)
                    },
                ]),
                ban_state: None,
            })
        );
    }

    #[test]
    fn ban_name_quality_capability_and_security() {
        let f = parse(
            r#"{ "object": "whatsapp_business_account", "entry": [ { "id": "1", "changes": [
            { "field": "account_update", "value": { "event": "DISABLED_UPDATE", "ban_info": { "waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025" } } },
            { "field": "phone_number_name_update", "value": { "display_phone_number": "15550783881", "decision": "REJECTED", "requested_verified_name": "Lucky Shrub", "rejection_reason": "NAME_FORMAT_UNACCEPTABLE" } },
            { "field": "phone_number_quality_update", "value": { "display_phone_number": "15550783881", "event": "FLAGGED", "current_limit": "TIER_10K" } },
            { "field": "business_capability_update", "value": { "max_daily_conversation_per_phone": 2000, "max_daily_conversations_per_business": 2000 } },
            { "field": "security", "value": { "display_phone_number": "15550783881", "event": "PIN_CHANGED" } },
            { "field": "messages", "value": { "messaging_product": "whatsapp" } }
        ] } ] }"#,
        );
        assert!(
            matches!(&f[0].1, Some(Fact::AccountUpdate { ban_state: Some(s), .. }) if s == "DISABLE")
        );
        assert!(
            matches!(&f[1].1, Some(Fact::NameUpdate { digits, rejection_reason: Some(r), .. }) if digits == "15550783881" && r == "NAME_FORMAT_UNACCEPTABLE")
        );
        assert!(
            matches!(&f[2].1, Some(Fact::QualityUpdate { event, current_limit: Some(MessagingLimit::Tier(10_000)), .. }) if event == "FLAGGED")
        );
        assert!(matches!(
            &f[3].1,
            Some(Fact::Capability {
                limit: Some(MessagingLimit::Tier(2_000)),
                ..
            })
        ));
        assert!(matches!(&f[4].1, Some(Fact::Security { event, .. }) if event == "PIN_CHANGED"));
        assert_eq!(f[5], ("messages".to_string(), None));
    }

    #[test]
    fn other_objects_and_missing_keys_are_ignored() {
        assert!(parse(r#"{"object":"page","entry":[{"id":"1","changes":[{"field":"account_update","value":{"event":"X"}}]}]}"#).is_empty());
        let f = parse(
            r#"{"object":"whatsapp_business_account","entry":[{"id":"1","changes":[{"field":"account_update","value":{}}]}]}"#,
        );
        assert_eq!(f, vec![("account_update".to_string(), None)]);
    }
}
