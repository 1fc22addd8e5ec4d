//! How nodes look on the wire: Graph field views of numbers, WABAs, businesses and apps, and
//! the computed `health_status`.

use serde::Serialize;
use serde_json::{Map, Value, json};

use super::state::templates::TEMPLATE_PRIVATE_KEYS;
use super::state::{Health, NUMBER_PRIVATE_KEYS, Number, State, Template, WABA_PRIVATE_KEYS, Waba};

pub const NUMBER_TYPE: &str = "WhatsAppBusinessPhoneNumber";
pub const WABA_TYPE: &str = "WhatsAppBusinessAccount";
/// Graph's node type of a message template (the reference page's name; UNCONFIRMED).
pub const TEMPLATE_TYPE: &str = "WhatsAppBusinessHSM";

/// Message-template fields Meta documents; requested ones without a value are omitted.
pub const TEMPLATE_KNOWN: &[&str] = &[
    "id",
    "name",
    "language",
    "status",
    "category",
    "previous_category",
    "correct_category",
    "sub_category",
    "parameter_format",
    "components",
    "quality_score",
    "rejected_reason",
    "message_send_ttl_seconds",
    "cta_url_link_tracking_opted_out",
    "library_template_name",
    "is_primary_device_delivery_only",
];

/// Default fields of a template, alone or in a list, without `fields`.
pub const TEMPLATE_DEFAULT: &[&str] = &[
    "name",
    "parameter_format",
    "components",
    "language",
    "status",
    "category",
    "sub_category",
    "id",
];

/// Phone-number fields Meta documents; requested ones without a value are simply omitted.
pub const NUMBER_KNOWN: &[&str] = &[
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "quality_score",
    "status",
    "messaging_limit_tier",
    "whatsapp_business_manager_messaging_limit",
    "name_status",
    "new_name_status",
    "certificate",
    "new_certificate",
    "code_verification_status",
    "is_pin_enabled",
    "account_mode",
    "platform_type",
    "throughput",
    "is_official_business_account",
    "is_on_biz_app",
    "last_onboarded_time",
    "health_status",
    "webhook_configuration",
    "search_visibility",
    "eligibility_for_api_business_global_search",
    "conversational_automation",
    "is_preverified_number",
    "new_display_name",
];

/// Default fields of `GET /{phone-number-id}` without `fields`.
pub const NUMBER_DEFAULT: &[&str] = &[
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
];

/// Default fields of `GET /{waba-id}/phone_numbers` without `fields`.
pub const NUMBER_LIST_DEFAULT: &[&str] = &[
    "id",
    "verified_name",
    "code_verification_status",
    "display_phone_number",
    "quality_rating",
    "platform_type",
    "throughput",
    "webhook_configuration",
];

pub const WABA_KNOWN: &[&str] = &[
    "id",
    "name",
    "account_review_status",
    "business_verification_status",
    "health_status",
    "whatsapp_business_manager_messaging_limit",
    "ownership_type",
    "on_behalf_of_business_info",
    "owner_business_info",
    "owner_business",
    "message_template_namespace",
    "currency",
    "timezone_id",
    "country",
    "primary_business_location",
    "primary_funding_id",
    "purchase_order_number",
    "status",
    "auth_international_rate_eligibility",
    "is_enabled_for_insights",
    "is_shared_with_partners",
    "template_auto_archival_enabled",
    "disable_marketing_messages_on_cloud_api",
    "marketing_messages_lite_api_status",
    "marketing_messages_onboarding_status",
    "creation_time",
    "phone_numbers",
    "message_templates",
];

pub const WABA_DEFAULT: &[&str] = &["id", "name", "timezone_id", "message_template_namespace"];

fn object_without<T: Serialize>(entity: &T, private: &[&str]) -> Map<String, Value> {
    let mut map = match serde_json::to_value(entity) {
        Ok(Value::Object(map)) => map,
        _ => Map::new(),
    };
    for key in private {
        map.remove(*key);
    }
    map
}

fn entity(kind: &str, id: &str, health: &Health) -> Value {
    let mut e =
        json!({ "entity_type": kind, "id": id, "can_send_message": health.can_send_message });
    if let Some(obj) = e.as_object_mut() {
        if !health.errors.is_empty() {
            obj.insert("errors".into(), json!(health.errors));
        }
        if !health.additional_info.is_empty() {
            obj.insert("additional_info".into(), json!(health.additional_info));
        }
        if let Some(sip) = &health.can_receive_call_sip {
            obj.insert("can_receive_call_sip".into(), json!(sip));
        }
    }
    e
}

fn rank(can_send: &str) -> u8 {
    match can_send {
        "BLOCKED" => 2,
        "LIMITED" => 1,
        _ => 0,
    }
}

/// `health_status` of a WABA or of one of its numbers (when `number` is given), with the APP
/// entity of the calling token's app.
pub fn health_status(
    state: &State,
    waba: &Waba,
    number: Option<&Number>,
    app_id: Option<&str>,
) -> Value {
    let mut entities = Vec::new();
    if let Some(n) = number {
        entities.push(entity("PHONE_NUMBER", &n.id, &n.health));
    }
    entities.push(entity("WABA", &waba.id, &waba.health));
    if let Some(b) = state.business(&waba.owner_business_id) {
        entities.push(entity("BUSINESS", &b.id, &b.health));
    }
    if let Some(app) = app_id.and_then(|id| state.app(id)) {
        entities.push(entity("APP", &app.id, &app.health));
    }
    let overall = entities
        .iter()
        .filter_map(|e| e["can_send_message"].as_str())
        .max_by_key(|s| rank(s))
        .unwrap_or("AVAILABLE")
        .to_owned();
    json!({ "can_send_message": overall, "entities": entities })
}

pub fn number_view(
    state: &State,
    waba: &Waba,
    number: &Number,
    app_id: Option<&str>,
) -> Map<String, Value> {
    let mut view = object_without(number, NUMBER_PRIVATE_KEYS);
    view.insert(
        "health_status".into(),
        health_status(state, waba, Some(number), app_id),
    );
    for (key, value) in &number.served_as {
        match value {
            Value::Null => view.remove(key),
            other => view.insert(key.clone(), other.clone()),
        };
    }
    view
}

/// A template as Graph serves it (bookkeeping left out).
pub fn template_view(template: &Template) -> Map<String, Value> {
    object_without(template, TEMPLATE_PRIVATE_KEYS)
}

/// WABA fields without the `phone_numbers` edge, which needs paging and is built separately.
pub fn waba_view(state: &State, waba: &Waba, app_id: Option<&str>) -> Map<String, Value> {
    let mut view = object_without(waba, WABA_PRIVATE_KEYS);
    if let Some(b) = state.business(&waba.owner_business_id) {
        view.insert(
            "owner_business_info".into(),
            json!({ "id": b.id, "name": b.name }),
        );
    }
    view.insert(
        "health_status".into(),
        health_status(state, waba, None, app_id),
    );
    view
}

/// Business and app nodes: enough for `?fields=id,name,health_status`.
pub fn simple_node_view(id: &str, name: &str, kind: &str, health: &Health) -> Map<String, Value> {
    let mut view = Map::new();
    view.insert("id".into(), json!(id));
    view.insert("name".into(), json!(name));
    let overall = health.can_send_message.clone();
    view.insert(
        "health_status".into(),
        json!({ "can_send_message": overall, "entities": [entity(kind, id, health)] }),
    );
    view
}

/// Fields a caller may ask for on a node: Meta's documented ones plus any extra ones the
/// state carries.
pub fn known_fields<'a>(base: &'a [&'a str], view: &'a Map<String, Value>) -> Vec<&'a str> {
    base.iter()
        .copied()
        .chain(view.keys().map(String::as_str))
        .collect()
}
