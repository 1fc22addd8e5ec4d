//! Meta's message-template rules: create (checks, duplicate and deleted names, creation cap),
//! edit (which statuses, which fields, the edit caps of approved templates), delete (by name,
//! by id, `PENDING_DELETION`) and unpause. Pure functions over a WABA so they can be tested
//! without HTTP; the webhooks they cause are returned to the caller.

use serde_json::{Value, json};

use super::graph_error::GraphError;
use super::rules::{Params, param};
use super::state::{DeletedName, Template, Waba};
use super::template_checks::{self as checks, refused};
use super::template_events;

/// A deleted name can't be used again for 30 days; `PENDING_DELETION` lasts as long.
pub const RESERVATION_SECS: i64 = 30 * 24 * 3600;
pub const CREATION_WINDOW_SECS: i64 = 3600;
pub const EDIT_DAY_SECS: i64 = 24 * 3600;
pub const EDIT_MONTH_SECS: i64 = 30 * 24 * 3600;
pub const EDITS_PER_DAY: usize = 1;
pub const EDITS_PER_MONTH: usize = 10;
/// A (name, language) that already exists (subcode seen in third-party code; UNCONFIRMED).
pub const EXISTS_SUBCODE: i64 = 2388024;
/// A name deleted less than 30 days ago (subcode seen in third-party code; UNCONFIRMED).
pub const DELETED_NAME_SUBCODE: i64 = 2388023;
/// The creation cap's throttle (a WhatsApp Business Management rate-limit code).
pub const CREATION_THROTTLE_CODE: i64 = 80008;

fn required(params: &Params, name: &str) -> Result<String, GraphError> {
    param(params, name)
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| GraphError::missing_param(name))
}

/// `POST /{waba-id}/message_templates`: a new `PENDING` template under review.
pub fn create(waba: &mut Waba, params: &Params, id: String, now: i64) -> Result<Value, GraphError> {
    let name = required(params, "name")?;
    let language = required(params, "language")?;
    let category = checks::check_category(&required(params, "category")?)?;
    checks::check_name(&name)?;
    let parameter_format = checks::check_parameter_format(param(params, "parameter_format"))?;
    let components = checks::parse_components(params)?;
    checks::check_components(&components, &category, &parameter_format)?;
    let ttl = checks::parse_ttl(params)?;

    waba.template_creations
        .retain(|&t| t > now - CREATION_WINDOW_SECS);
    if waba.template_creations.len() >= waba.template_creation_per_hour as usize {
        return Err(GraphError::new(
            CREATION_THROTTLE_CODE,
            "There have been too many message template creations for this WhatsApp Business Account. Wait a bit and try again.",
        )
        .details(format!(
            "At most {} message templates can be created per WhatsApp Business Account in an hour.",
            waba.template_creation_per_hour
        ))
        .transient());
    }
    waba.deleted_template_names
        .retain(|d| d.deleted_at > now - RESERVATION_SECS);
    if waba.deleted_template_names.iter().any(|d| d.name == name) {
        return Err(refused(
            "Message template name is being deleted",
            &format!(
                "The name {name} was deleted less than 30 days ago: a deleted template's name can't be used for 30 days after deletion. Try again later or use another name."
            ),
        )
        .subcode(DELETED_NAME_SUBCODE));
    }
    if waba
        .message_templates
        .iter()
        .any(|t| t.name == name && t.language == language)
    {
        return Err(refused(
            "Message template already exists",
            &format!(
                "There is already {language} content for the template {name}: it already exists in this WhatsApp Business Account. Edit it, or create a template with another name."
            ),
        )
        .subcode(EXISTS_SUBCODE));
    }

    let mut template: Template = serde_json::from_value(json!({
        "id": id,
        "name": name,
        "language": language,
        "status": "PENDING",
        "category": category,
        "parameter_format": parameter_format,
    }))
    .map_err(|e| GraphError::raw(1, format!("An unknown error occurred: {e}")))?;
    template.components = components;
    template.sub_category = param(params, "sub_category");
    template.message_send_ttl_seconds = ttl;
    template.created_at = Some(now);
    template.review_started_at = Some(now);
    waba.message_templates.push(template);
    waba.template_creations.push(now);
    Ok(json!({ "id": id, "status": "PENDING", "category": category }))
}

/// `POST /{template-id}`: new components, category or TTL; the template is reviewed again.
pub fn edit(t: &mut Template, params: &Params, now: i64) -> Result<Value, GraphError> {
    for fixed in ["name", "language"] {
        if params.contains_key(fixed) {
            return Err(GraphError::invalid_param(&format!(
                "Param {fixed} can't be edited: only category, components and message_send_ttl_seconds can."
            )));
        }
    }
    let components = params
        .contains_key("components")
        .then(|| checks::parse_components(params))
        .transpose()?;
    let category = param(params, "category")
        .map(|c| checks::check_category(&c))
        .transpose()?;
    let ttl = checks::parse_ttl(params)?;
    if components.is_none() && category.is_none() && ttl.is_none() {
        return Err(GraphError::invalid_param(
            "Give components, category or message_send_ttl_seconds to edit a template.",
        ));
    }
    if !matches!(t.status.as_str(), "APPROVED" | "REJECTED" | "PAUSED") {
        return Err(refused(
            "Message template can't be edited",
            &format!(
                "Only templates that are APPROVED, REJECTED or PAUSED can be edited; this one is {}.",
                t.status
            ),
        ));
    }
    let approved = t.status == "APPROVED";
    if approved && category.as_ref().is_some_and(|c| *c != t.category) {
        return Err(refused(
            "Category can't be edited",
            "The category of an approved template can't be edited.",
        ));
    }
    if approved {
        t.edits.retain(|&e| e > now - EDIT_MONTH_SECS);
        let today = t.edits.iter().filter(|&&e| e > now - EDIT_DAY_SECS).count();
        if today >= EDITS_PER_DAY || t.edits.len() >= EDITS_PER_MONTH {
            return Err(refused(
                "Message template edit limit reached",
                "Approved templates can be edited up to 10 times in a 30-day window, or 1 time in a 24-hour window.",
            ));
        }
    }
    let new_category = category.unwrap_or_else(|| t.category.clone());
    if let Some(components) = &components {
        checks::check_components(components, &new_category, &t.parameter_format)?;
    }
    if approved {
        t.edits.push(now);
    }
    if let Some(components) = components {
        t.components = components;
    }
    t.category = new_category;
    if ttl.is_some() {
        t.message_send_ttl_seconds = ttl;
    }
    t.status = "PENDING".to_owned();
    t.rejected_reason = "NONE".to_owned();
    t.review_started_at = Some(now);
    Ok(json!({ "success": true }))
}

/// `POST /{template-id}/unpause`.
pub fn unpause(t: &mut Template) -> Result<Value, GraphError> {
    template_events::unpause(t, template_events::DEFAULT_UNPAUSE_DESCRIPTION)
        .map_err(|e| refused("Message template can't be unpaused", &e))
}

fn ids_param(params: &Params) -> Result<Option<Vec<String>>, GraphError> {
    let Some(raw) = params.get("hsm_ids") else {
        return Ok(None);
    };
    let value = match raw {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| GraphError::invalid_param("Param hsm_ids must be a JSON array of ids"))?,
        other => other.clone(),
    };
    let Value::Array(items) = value else {
        return Err(GraphError::invalid_param(
            "Param hsm_ids must be a JSON array of ids",
        ));
    };
    items
        .iter()
        .map(|v| match v {
            Value::String(s) => Ok(s.clone()),
            Value::Number(n) => Ok(n.to_string()),
            _ => Err(GraphError::invalid_param(
                "Param hsm_ids must be a JSON array of ids",
            )),
        })
        .collect::<Result<Vec<_>, _>>()
        .map(Some)
}

/// `DELETE /{waba-id}/message_templates`: `name` (every language), `name` + `hsm_id` (one), or
/// `hsm_ids` (several; one unknown id fails the request). Templates that could be sent go to
/// `PENDING_DELETION` (still listed for 30 days), the others are removed; the names are
/// reserved for 30 days. Returns the answer and the webhook values.
pub fn delete(
    waba: &mut Waba,
    params: &Params,
    now: i64,
) -> Result<(Value, Vec<Value>), GraphError> {
    let name = param(params, "name").filter(|n| !n.is_empty());
    let hsm_id = param(params, "hsm_id").filter(|n| !n.is_empty());
    let selected: Vec<usize> = match (ids_param(params)?, hsm_id, name) {
        (Some(ids), _, _) => {
            if ids.is_empty() || ids.len() > 100 {
                return Err(GraphError::invalid_param(
                    "Param hsm_ids must list between 1 and 100 ids",
                ));
            }
            ids.iter()
                .map(|id| {
                    waba.message_templates
                        .iter()
                        .position(|t| &t.id == id)
                        .ok_or_else(|| not_found(&format!("no template with id {id}")))
                })
                .collect::<Result<_, _>>()?
        }
        (None, Some(id), Some(name)) => {
            let at = waba
                .message_templates
                .iter()
                .position(|t| t.id == id)
                .ok_or_else(|| not_found(&format!("no template with id {id}")))?;
            if waba.message_templates[at].name != name {
                return Err(not_found(&format!("template {id} is not named {name}")));
            }
            vec![at]
        }
        (None, Some(_), None) => return Err(GraphError::missing_param("name")),
        (None, None, Some(name)) => {
            let all: Vec<usize> = (0..waba.message_templates.len())
                .filter(|&i| waba.message_templates[i].name == name)
                .collect();
            if all.is_empty() {
                return Err(not_found(&format!("no template named {name}")));
            }
            all
        }
        (None, None, None) => return Err(GraphError::missing_param("name")),
    };
    if selected
        .iter()
        .any(|&i| waba.message_templates[i].status == "DISABLED")
    {
        return Err(refused(
            "Message template can't be deleted",
            "Disabled message templates can't be deleted.",
        ));
    }
    let mut events = Vec::new();
    let mut remove = Vec::new();
    for &i in &selected {
        let t = &mut waba.message_templates[i];
        if t.status == "PENDING_DELETION" {
            continue;
        }
        if !waba.deleted_template_names.iter().any(|d| d.name == t.name) {
            waba.deleted_template_names.push(DeletedName {
                name: t.name.clone(),
                deleted_at: now,
            });
        }
        if matches!(t.status.as_str(), "APPROVED" | "PAUSED") {
            t.status = "PENDING_DELETION".to_owned();
            t.deleted_at = Some(now);
            t.review_started_at = None;
            events.push(template_events::deleted(t, "PENDING_DELETION"));
        } else {
            events.push(template_events::deleted(t, "DELETED"));
            remove.push(t.id.clone());
        }
    }
    waba.message_templates.retain(|t| !remove.contains(&t.id));
    Ok((json!({ "success": true }), events))
}

fn not_found(what: &str) -> GraphError {
    refused(
        "Message template not found",
        &format!("Message template not found: {what} in this WhatsApp Business Account."),
    )
}

/// The list filters `name`, `language`, `status`, `category` (exact match).
pub fn keeps(t: &Template, params: &Params) -> bool {
    let matches = |key: &str, value: &str| param(params, key).is_none_or(|want| want == value);
    matches("name", &t.name)
        && matches("language", &t.language)
        && matches("status", &t.status)
        && matches("category", &t.category)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waba() -> Waba {
        serde_json::from_value(json!({"id": "9", "owner_business_id": "8"})).unwrap()
    }

    fn params(v: Value) -> Params {
        v.as_object().unwrap().clone()
    }

    fn create_params(name: &str, language: &str) -> Params {
        params(json!({
            "name": name, "language": language, "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Your order {{1}} has shipped.", "example": {"body_text": [["42"]]}}],
        }))
    }

    fn err_of(r: Result<Value, GraphError>) -> (i64, Option<i64>) {
        let e = r.unwrap_err();
        (e.code, e.subcode)
    }

    #[test]
    fn create_answers_pending_and_starts_a_review() {
        let mut w = waba();
        let out = create(
            &mut w,
            &create_params("order_shipped", "en_US"),
            "11".into(),
            100,
        )
        .unwrap();
        assert_eq!(
            out,
            json!({"id": "11", "status": "PENDING", "category": "UTILITY"})
        );
        let t = &w.message_templates[0];
        assert_eq!(
            (t.status.as_str(), t.rejected_reason.as_str()),
            ("PENDING", "NONE")
        );
        assert_eq!(t.review_started_at, Some(100));
        assert_eq!(t.parameter_format, "POSITIONAL");
        assert_eq!(
            err_of(create(
                &mut w,
                &create_params("order_shipped", "en_US"),
                "12".into(),
                101
            )),
            (100, Some(EXISTS_SUBCODE))
        );
        assert!(
            create(
                &mut w,
                &create_params("order_shipped", "pt_BR"),
                "13".into(),
                102
            )
            .is_ok()
        );
        assert_eq!(
            err_of(create(
                &mut w,
                &create_params("Bad", "en_US"),
                "14".into(),
                103
            ))
            .0,
            100
        );
        let mut missing = create_params("x", "en_US");
        missing.remove("components");
        assert_eq!(err_of(create(&mut w, &missing, "15".into(), 103)).0, 100);
    }

    #[test]
    fn creation_cap_is_a_moving_hour() {
        let mut w = waba();
        w.template_creation_per_hour = 2;
        create(&mut w, &create_params("a", "en_US"), "1".into(), 1000).unwrap();
        create(&mut w, &create_params("b", "en_US"), "2".into(), 1500).unwrap();
        let e = create(&mut w, &create_params("c", "en_US"), "3".into(), 1600).unwrap_err();
        assert_eq!(
            (e.code, e.is_transient),
            (CREATION_THROTTLE_CODE, Some(true))
        );
        // Refused creations don't count; the first one leaves the window at 4600.
        assert!(create(&mut w, &create_params("c", "en_US"), "3".into(), 4599).is_err());
        assert!(create(&mut w, &create_params("c", "en_US"), "3".into(), 4600).is_ok());
    }

    #[test]
    fn delete_by_name_reserves_it_for_30_days() {
        let mut w = waba();
        create(&mut w, &create_params("promo", "en_US"), "1".into(), 0).unwrap();
        create(&mut w, &create_params("promo", "es"), "2".into(), 0).unwrap();
        w.message_templates[0].status = "APPROVED".into();
        let (out, events) = delete(&mut w, &params(json!({"name": "promo"})), 10).unwrap();
        assert_eq!(out, json!({"success": true}));
        assert_eq!(events.len(), 2);
        assert_eq!(events[0]["event"], json!("PENDING_DELETION"));
        assert_eq!(events[1]["event"], json!("DELETED"));
        assert_eq!(w.message_templates.len(), 1);
        assert_eq!(w.message_templates[0].status, "PENDING_DELETION");
        let again = create(
            &mut w,
            &create_params("promo", "fr"),
            "3".into(),
            10 + RESERVATION_SECS - 1,
        );
        assert_eq!(err_of(again), (100, Some(DELETED_NAME_SUBCODE)));
        w.message_templates.clear();
        assert!(
            create(
                &mut w,
                &create_params("promo", "fr"),
                "3".into(),
                10 + RESERVATION_SECS
            )
            .is_ok()
        );
    }

    #[test]
    fn delete_one_or_several_and_never_a_disabled_one() {
        let mut w = waba();
        for (i, lang) in ["en_US", "es", "fr"].iter().enumerate() {
            create(&mut w, &create_params("t", lang), (i + 1).to_string(), 0).unwrap();
        }
        assert!(delete(&mut w, &params(json!({"hsm_id": "2"})), 1).is_err());
        assert!(delete(&mut w, &params(json!({"hsm_id": "2", "name": "u"})), 1).is_err());
        delete(&mut w, &params(json!({"hsm_id": "2", "name": "t"})), 1).unwrap();
        assert_eq!(w.message_templates.len(), 2);
        w.message_templates[0].status = "DISABLED".into();
        let e = delete(&mut w, &params(json!({"name": "t"})), 2).unwrap_err();
        assert!(
            e.details
                .as_deref()
                .unwrap_or_default()
                .contains("Disabled")
        );
        assert_eq!(w.message_templates.len(), 2);
        assert!(delete(&mut w, &params(json!({"hsm_ids": "[3, 99]"})), 2).is_err());
        delete(&mut w, &params(json!({"hsm_ids": ["3"]})), 2).unwrap();
        assert_eq!(w.message_templates.len(), 1);
        assert!(delete(&mut w, &params(json!({"name": "nope"})), 2).is_err());
    }

    #[test]
    fn edits_of_approved_templates_are_capped() {
        let mut w = waba();
        create(&mut w, &create_params("t", "en_US"), "1".into(), 0).unwrap();
        let t = &mut w.message_templates[0];
        let body = params(
            json!({"components": [{"type": "BODY", "text": "Order {{1}} is on its way.", "example": {"body_text": [["7"]]}}]}),
        );
        let e = edit(t, &body, 1).unwrap_err();
        assert!(e.details.as_deref().unwrap_or_default().contains("PENDING"));
        t.status = "APPROVED".into();
        assert!(edit(t, &params(json!({"category": "MARKETING"})), 1).is_err());
        assert!(edit(t, &params(json!({"name": "u"})), 1).is_err());
        assert!(edit(t, &params(json!({})), 1).is_err());
        let day = EDIT_DAY_SECS;
        for i in 0..10 {
            t.status = "APPROVED".into();
            edit(t, &body, i * day).unwrap();
            assert_eq!(t.status, "PENDING");
            assert_eq!(t.review_started_at, Some(i * day));
            t.status = "APPROVED".into();
            let e = edit(t, &body, i * day + day - 1).unwrap_err();
            assert!(e.details.as_deref().unwrap_or_default().contains("24-hour"));
        }
        // Ten edits in 30 days: the eleventh waits until the first leaves the window.
        assert!(edit(t, &body, 10 * day).is_err());
        assert!(edit(t, &body, EDIT_MONTH_SECS).is_ok());
        // Rejected and paused templates: no cap, and the category may change.
        for i in 0..20 {
            t.status = if i % 2 == 0 { "REJECTED" } else { "PAUSED" }.into();
            edit(t, &body, EDIT_MONTH_SECS + 1 + i).unwrap();
        }
        t.status = "REJECTED".into();
        edit(
            t,
            &params(json!({"category": "marketing"})),
            EDIT_MONTH_SECS + 100,
        )
        .unwrap();
        assert_eq!(t.category, "MARKETING");
    }

    #[test]
    fn list_filters_are_exact() {
        let mut w = waba();
        create(&mut w, &create_params("order", "en_US"), "1".into(), 0).unwrap();
        let t = &w.message_templates[0];
        assert!(keeps(
            t,
            &params(json!({"name": "order", "status": "PENDING"}))
        ));
        assert!(!keeps(t, &params(json!({"name": "ord"}))));
        assert!(!keeps(t, &params(json!({"category": "MARKETING"}))));
    }
}
