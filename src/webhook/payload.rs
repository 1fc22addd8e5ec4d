//! Meta's webhook envelope and the facts the operator takes from it.
//!
//! Parsing is lenient: unknown fields, objects and events are ignored rather than rejected,
//! because Meta adds them without notice and a rejected delivery is retried for 7 days.

use serde::Deserialize;
use serde_json::Value;

use crate::meta::model::{MessagingLimit, digits_of};
use crate::meta::{Fact, Notice, Restriction, TemplateRef, VolumeTier};

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
            violation_type: v
                .get("violation_info")
                .and_then(|i| text(i, "violation_type")),
            volume_tier: volume_tier(v),
        },
        "account_review_update" => Fact::AccountReview {
            waba_id,
            decision: text(v, "decision")?,
        },
        "business_capability_update" => Fact::Capability {
            waba_id,
            limit: limit(v, "max_daily_conversations_per_business"),
            max_phone_numbers_per_waba: integer(v, "max_phone_numbers_per_waba"),
            max_phone_numbers_per_business: integer(v, "max_phone_numbers_per_business"),
        },
        "account_alerts" => alert(waba_id, v)?,
        "phone_number_quality_update" => Fact::QualityUpdate {
            waba_id,
            digits: digits()?,
            event: text(v, "event")?,
            current_limit: limit(v, "current_limit"),
            old_limit: limit(v, "old_limit"),
            portfolio_limit: limit(v, "max_daily_conversations_per_business"),
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
        "message_template_status_update" => template_status(waba_id, v)?,
        "message_template_quality_update" => Fact::TemplateQuality {
            waba_id,
            template: template_ref(v),
            score: text(v, "new_quality_score")?,
            previous: text(v, "previous_quality_score"),
        },
        "template_category_update" => Fact::TemplateCategory {
            waba_id,
            template: template_ref(v),
            new_category: text(v, "new_category")?,
            previous_category: text(v, "previous_category"),
            correct_category: text(v, "correct_category"),
            update_at: integer(v, "category_update_timestamp"),
        },
        "message_template_components_update" => Fact::TemplateComponents {
            waba_id,
            template: template_ref(v),
        },
        _ => return None,
    })
}

/// `message_template_id` (an integer in Meta's examples), `message_template_name` and
/// `message_template_language`.
fn template_ref(v: &Value) -> TemplateRef {
    TemplateRef {
        id: text(v, "message_template_id"),
        name: text(v, "message_template_name"),
        language: text(v, "message_template_language"),
    }
}

/// `message_template_status_update`, with its rejection, pause and disable details.
fn template_status(waba_id: String, v: &Value) -> Option<Fact> {
    let rejection = v.get("rejection_info");
    let info = v.get("other_info");
    Some(Fact::TemplateStatus {
        waba_id,
        template: template_ref(v),
        event: text(v, "event")?,
        category: text(v, "message_template_category"),
        reason: text(v, "reason")
            .filter(|r| !r.eq_ignore_ascii_case("NONE"))
            .or_else(|| rejection.and_then(|r| text(r, "reason")))
            .filter(|r| !r.eq_ignore_ascii_case("NONE")),
        recommendation: rejection.and_then(|r| text(r, "recommendation")),
        info_title: info.and_then(|i| text(i, "title")),
        info_description: info.and_then(|i| text(i, "description")),
        disable_date: v
            .get("disable_info")
            .and_then(|d| integer(d, "disable_date")),
    })
}

/// An integer, also when Meta sends it as a string.
fn integer(v: &Value, key: &str) -> Option<i64> {
    match v.get(key)? {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// `account_alerts`: `alert_info` with the alert, `entity_type` and `entity_id` beside it.
fn alert(waba_id: String, v: &Value) -> Option<Fact> {
    let info = v.get("alert_info")?;
    Some(Fact::AccountAlert {
        waba_id,
        alert_type: text(info, "alert_type")?,
        severity: text(info, "alert_severity").unwrap_or_default(),
        status: text(info, "alert_status").unwrap_or_default(),
        entity_type: text(v, "entity_type"),
        entity_id: text(v, "entity_id"),
        description: text(info, "alert_description"),
    })
}

/// The `volume_tier_info` of a VOLUME_BASED_PRICING_TIER_UPDATE, when it is an object.
fn volume_tier(v: &Value) -> Option<VolumeTier> {
    let info = v.get("volume_tier_info").filter(|i| i.is_object())?;
    Some(VolumeTier {
        pricing_category: text(info, "pricing_category"),
        region: text(info, "region"),
        tier: text(info, "tier"),
        effective_month: text(info, "effective_month"),
        tier_update_time: integer(info, "tier_update_time"),
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
    fn template_status_quality_and_category_from_metas_shapes() {
        let f = parse(
            r#"{ "object": "whatsapp_business_account", "entry": [ { "id": "1", "time": 5, "changes": [
            { "field": "message_template_status_update", "value": { "event": "REJECTED", "message_template_id": 806312974732579, "message_template_name": "order_update", "message_template_language": "pt_BR", "reason": "NONE", "rejection_info": { "reason": "PROMOTIONAL", "recommendation": "Use the MARKETING category" } } },
            { "field": "message_template_status_update", "value": { "event": "PAUSED", "message_template_id": 7, "message_template_name": "promo", "message_template_language": "en_US", "reason": null, "other_info": { "title": "FIRST_PAUSE", "description": "Paused for 3 hours" } } },
            { "field": "message_template_quality_update", "value": { "previous_quality_score": "GREEN", "new_quality_score": "RED", "message_template_id": 7, "message_template_name": "promo", "message_template_language": "en_US" } },
            { "field": "template_category_update", "value": { "message_template_id": 7, "message_template_name": "promo", "message_template_language": "en_US", "new_category": "UTILITY", "correct_category": "MARKETING", "category_update_timestamp": 1751500000 } },
            { "field": "message_template_status_update", "value": { "message_template_id": 7 } }
        ] } ] }"#,
        );
        let order = TemplateRef {
            id: Some("806312974732579".into()),
            name: Some("order_update".into()),
            language: Some("pt_BR".into()),
        };
        assert!(
            matches!(&f[0].1, Some(Fact::TemplateStatus { template, event, reason: Some(r), recommendation: Some(_), .. })
            if *template == order && event == "REJECTED" && r == "PROMOTIONAL")
        );
        assert!(
            matches!(&f[1].1, Some(Fact::TemplateStatus { reason: None, info_title: Some(t), .. }) if t == "FIRST_PAUSE")
        );
        assert!(
            matches!(&f[2].1, Some(Fact::TemplateQuality { score, previous: Some(p), template, .. })
            if score == "RED" && p == "GREEN" && template.id.as_deref() == Some("7"))
        );
        assert!(
            matches!(&f[3].1, Some(Fact::TemplateCategory { correct_category: Some(c), update_at: Some(1_751_500_000), .. }) if c == "MARKETING")
        );
        // No event: nothing to apply.
        assert_eq!(f[4].1, None);
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
                violation_type: None,
                volume_tier: None,
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

    /// Meta's documented payloads of the fields whose every part lands in status.
    #[test]
    fn alerts_capabilities_violations_tiers_throughput_and_pin_resets_from_metas_examples() {
        let f = parse(
            r#"{ "object": "whatsapp_business_account", "entry": [ { "id": "102290129340398", "time": 1745612159, "changes": [
            { "field": "account_alerts", "value": { "entity_type": "BUSINESS", "entity_id": "506914307656634",
                "alert_info": { "alert_severity": "WARNING", "alert_status": "ACTIVE",
                  "alert_type": "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED",
                  "alert_description": "Limits cannot be increased for your business ..." } } },
            { "field": "business_capability_update", "value": { "max_daily_conversation_per_phone": 2000,
                "max_daily_conversations_per_business": "TIER_UNLIMITED",
                "max_phone_numbers_per_business": 2, "max_phone_numbers_per_waba": "25" } },
            { "field": "account_update", "value": { "event": "ACCOUNT_VIOLATION", "violation_info": { "violation_type": "ADULT" } } },
            { "field": "account_update", "value": { "volume_tier_info": { "tier_update_time": 1743451903,
                "pricing_category": "UTILITY", "tier": "25000001:50000000", "effective_month": "2025-11",
                "region": "India" }, "event": "VOLUME_BASED_PRICING_TIER_UPDATE" } },
            { "field": "phone_number_quality_update", "value": { "display_phone_number": "15550783881",
                "event": "THROUGHPUT_UPGRADE", "old_limit": "TIER_10K", "current_limit": "TIER_UNLIMITED",
                "max_daily_conversations_per_business": "TIER_2K" } },
            { "field": "security", "value": { "display_phone_number": "15550783881", "event": "PIN_RESET_REQUEST", "requester": "1234" } }
        ] } ] }"#,
        );
        let waba_id = "102290129340398".to_string();
        assert_eq!(
            f[0].1,
            Some(Fact::AccountAlert {
                waba_id: waba_id.clone(),
                alert_type: "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED".into(),
                severity: "WARNING".into(),
                status: "ACTIVE".into(),
                entity_type: Some("BUSINESS".into()),
                entity_id: Some("506914307656634".into()),
                description: Some("Limits cannot be increased for your business ...".into()),
            })
        );
        assert_eq!(
            f[1].1,
            Some(Fact::Capability {
                waba_id: waba_id.clone(),
                limit: Some(MessagingLimit::Unlimited),
                max_phone_numbers_per_waba: Some(25),
                max_phone_numbers_per_business: Some(2),
            })
        );
        assert!(
            matches!(&f[2].1, Some(Fact::AccountUpdate { event, violation_type: Some(v), volume_tier: None, .. }) if event == "ACCOUNT_VIOLATION" && v == "ADULT")
        );
        assert_eq!(
            f[3].1,
            Some(Fact::AccountUpdate {
                waba_id: waba_id.clone(),
                event: "VOLUME_BASED_PRICING_TIER_UPDATE".into(),
                restrictions: None,
                ban_state: None,
                violation_type: None,
                volume_tier: Some(VolumeTier {
                    pricing_category: Some("UTILITY".into()),
                    region: Some("India".into()),
                    tier: Some("25000001:50000000".into()),
                    effective_month: Some("2025-11".into()),
                    tier_update_time: Some(1_743_451_903),
                }),
            })
        );
        assert_eq!(
            f[4].1,
            Some(Fact::QualityUpdate {
                waba_id: waba_id.clone(),
                digits: "15550783881".into(),
                event: "THROUGHPUT_UPGRADE".into(),
                current_limit: Some(MessagingLimit::Unlimited),
                old_limit: Some(MessagingLimit::Tier(10_000)),
                portfolio_limit: Some(MessagingLimit::Tier(2_000)),
            })
        );
        assert!(
            matches!(&f[5].1, Some(Fact::Security { event, .. }) if event == "PIN_RESET_REQUEST")
        );
    }

    /// Details of an unexpected shape are left out, never a reason to drop the notice.
    #[test]
    fn odd_details_are_left_out_and_the_notice_kept() {
        let f = parse(
            r#"{ "object": "whatsapp_business_account", "entry": [ { "id": "1", "changes": [
            { "field": "account_alerts", "value": { "entity_type": 7, "alert_info": { "alert_type": "OBA_APPROVED" } } },
            { "field": "account_update", "value": { "event": "VOLUME_BASED_PRICING_TIER_UPDATE", "volume_tier_info": "UTILITY" } },
            { "field": "account_update", "value": { "event": "ACCOUNT_VIOLATION", "violation_info": ["ADULT"] } },
            { "field": "business_capability_update", "value": { "max_phone_numbers_per_waba": {"n": 25} } }
        ] } ] }"#,
        );
        assert_eq!(
            f[0].1,
            Some(Fact::AccountAlert {
                waba_id: "1".into(),
                alert_type: "OBA_APPROVED".into(),
                severity: String::new(),
                status: String::new(),
                entity_type: Some("7".into()),
                entity_id: None,
                description: None,
            })
        );
        assert!(matches!(
            &f[1].1,
            Some(Fact::AccountUpdate {
                volume_tier: None,
                ..
            })
        ));
        assert!(matches!(
            &f[2].1,
            Some(Fact::AccountUpdate {
                violation_type: None,
                ..
            })
        ));
        assert!(matches!(
            &f[3].1,
            Some(Fact::Capability {
                limit: None,
                max_phone_numbers_per_waba: None,
                ..
            })
        ));
    }

    /// A notice recorded in an inbox by a version without the newer details reads back and
    /// serialises as it was, so it keeps the key it is stored (and removed) under.
    #[test]
    fn notices_recorded_before_the_new_details_keep_their_key() {
        let recorded = [
            r#"{"fact":{"kind":"accountAlert","wabaId":"1","alertType":"OBA_REJECTED","severity":"WARNING","status":"ACTIVE"},"at":5}"#,
            r#"{"fact":{"kind":"capability","wabaId":"1","limit":"TIER_2K"},"at":5}"#,
            r#"{"fact":{"kind":"accountUpdate","wabaId":"1","event":"DISABLED_UPDATE","restrictions":null,"banState":"DISABLE"},"at":5}"#,
            r#"{"fact":{"kind":"qualityUpdate","wabaId":"1","digits":"15550783881","event":"FLAGGED","currentLimit":"TIER_2K"},"at":5}"#,
        ];
        for json in recorded {
            let notice: Notice = serde_json::from_str(json).unwrap();
            assert_eq!(serde_json::to_string(&notice).unwrap(), json);
        }
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
