//! A template's content: the spec in Meta's wire format, its fingerprint, and whether Meta's
//! copy says the same thing.
//!
//! Meta answers with more than it was sent (generated authentication texts, media URLs for
//! example handles, default button labels), so "the same" means: the same components and
//! buttons in the same order, and every field the spec sets has the spec's value at Meta.
//! Fields only Meta has never cause an edit, which keeps edits from looping.

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::crd::{
    ButtonType, HeaderFormat, NamedExample, ParameterFormat, TemplateBody, TemplateButton,
    TemplateFooter, TemplateHeader, WhatsAppMessageTemplateSpec,
};
use crate::meta::template::TemplateContent;

/// The spec's content as a create or an edit sends it.
pub fn content_of(spec: &WhatsAppMessageTemplateSpec) -> TemplateContent {
    let named = spec.parameter_format == ParameterFormat::Named;
    let c = &spec.components;
    let mut components = Vec::new();
    if let Some(h) = &c.header {
        components.push(header(h, named));
    }
    components.push(body(&c.body, named));
    if let Some(f) = &c.footer {
        components.push(footer(f));
    }
    if !c.buttons.is_empty() {
        let buttons: Vec<Value> = c.buttons.iter().map(button).collect();
        components.push(json!({"type": "BUTTONS", "buttons": buttons}));
    }
    TemplateContent {
        category: spec.category.as_str().to_owned(),
        parameter_format: spec.parameter_format.as_str().to_owned(),
        components,
        message_send_ttl_seconds: spec.message_send_ttl_seconds,
    }
}

/// A short stable fingerprint of the content (hex of the first 12 bytes of its SHA-256).
pub fn content_hash(content: &TemplateContent) -> String {
    let bytes = serde_json::to_vec(content).unwrap_or_default();
    hex::encode(&Sha256::digest(&bytes)[..12])
}

fn object(pairs: Vec<(&str, Option<Value>)>) -> Value {
    let map: Map<String, Value> = pairs
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_owned(), v)))
        .collect();
    Value::Object(map)
}

fn named_params(examples: &[NamedExample]) -> Value {
    Value::Array(
        examples
            .iter()
            .map(|e| json!({"param_name": e.name, "example": e.example}))
            .collect(),
    )
}

fn header(h: &TemplateHeader, named: bool) -> Value {
    let example = match h.format {
        HeaderFormat::Text if named => h
            .named_example
            .as_ref()
            .map(|e| json!({"header_text_named_params": named_params(std::slice::from_ref(e))})),
        HeaderFormat::Text => h.example.as_ref().map(|e| json!({"header_text": [e]})),
        HeaderFormat::Location => None,
        _ => h
            .example_handle
            .as_ref()
            .map(|e| json!({"header_handle": [e]})),
    };
    object(vec![
        ("type", Some(json!("HEADER"))),
        ("format", Some(json!(h.format.as_str()))),
        ("text", h.text.as_ref().map(|t| json!(t))),
        ("example", example),
    ])
}

fn body(b: &TemplateBody, named: bool) -> Value {
    let example = if named && !b.named_examples.is_empty() {
        Some(json!({"body_text_named_params": named_params(&b.named_examples)}))
    } else if !named && !b.examples.is_empty() {
        Some(json!({"body_text": [b.examples]}))
    } else {
        None
    };
    object(vec![
        ("type", Some(json!("BODY"))),
        ("text", b.text.as_ref().map(|t| json!(t))),
        ("example", example),
        (
            "add_security_recommendation",
            b.add_security_recommendation.map(Value::Bool),
        ),
    ])
}

fn footer(f: &TemplateFooter) -> Value {
    object(vec![
        ("type", Some(json!("FOOTER"))),
        ("text", f.text.as_ref().map(|t| json!(t))),
        (
            "code_expiration_minutes",
            f.code_expiration_minutes.map(Value::from),
        ),
    ])
}

fn button(b: &TemplateButton) -> Value {
    let example = match b.type_ {
        ButtonType::Url => b.example.as_ref().map(|e| json!([e])),
        _ => b.example.as_ref().map(|e| json!(e)),
    };
    let apps = (!b.supported_apps.is_empty()).then(|| {
        Value::Array(
            b.supported_apps
                .iter()
                .map(
                    |a| json!({"package_name": a.package_name, "signature_hash": a.signature_hash}),
                )
                .collect(),
        )
    });
    object(vec![
        ("type", Some(json!(b.type_.as_str()))),
        ("text", b.text.as_ref().map(|t| json!(t))),
        ("url", b.url.as_ref().map(|t| json!(t))),
        ("phone_number", b.phone_number.as_ref().map(|t| json!(t))),
        ("example", example),
        ("otp_type", b.otp_type.map(|o| json!(o.as_str()))),
        ("supported_apps", apps),
        (
            "zero_tap_terms_accepted",
            b.zero_tap_terms_accepted.map(Value::Bool),
        ),
        ("flow_id", b.flow_id.as_ref().map(|t| json!(t))),
        ("flow_action", b.flow_action.as_ref().map(|t| json!(t))),
        (
            "navigate_screen",
            b.navigate_screen.as_ref().map(|t| json!(t)),
        ),
    ])
}

/// Fields compared with Meta's copy; examples are left out (Meta turns a media handle into a
/// URL, and reviewers' samples are not content).
const COMPARED: &[&str] = &[
    "type",
    "format",
    "text",
    "url",
    "phone_number",
    "otp_type",
    "add_security_recommendation",
    "code_expiration_minutes",
    "flow_id",
    "flow_action",
    "navigate_screen",
];

/// Whether Meta's components say what the spec's say (see the module's comment).
pub fn same_components(wanted: &[Value], at_meta: &[Value]) -> bool {
    wanted.len() == at_meta.len()
        && wanted
            .iter()
            .zip(at_meta)
            .all(|(w, m)| same_part(w, m) && same_buttons(w, m))
}

fn same_part(wanted: &Value, at_meta: &Value) -> bool {
    COMPARED.iter().all(|key| match wanted.get(*key) {
        None => true,
        Some(w) => at_meta.get(*key).is_some_and(|m| same_value(w, m)),
    })
}

/// Meta's enums compared without regard to case; everything else exactly.
fn same_value(wanted: &Value, at_meta: &Value) -> bool {
    match (wanted, at_meta) {
        (Value::String(w), Value::String(m)) => w == m || w.eq_ignore_ascii_case(m),
        _ => wanted == at_meta,
    }
}

fn same_buttons(wanted: &Value, at_meta: &Value) -> bool {
    let list = |v: &Value| v.get("buttons").and_then(Value::as_array).cloned();
    match (list(wanted), list(at_meta)) {
        (None, _) => true,
        (Some(w), Some(m)) => w.len() == m.len() && w.iter().zip(&m).all(|(a, b)| same_part(a, b)),
        (Some(_), None) => false,
    }
}
