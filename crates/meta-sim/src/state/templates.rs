//! Message templates as a WABA holds them: Meta's wire format for the served fields, plus the
//! simulator's bookkeeping (creation and edit times, the running review), never served.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// One message template (one name in one language) of a WABA.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Template {
    pub id: String,
    pub name: String,
    pub language: String,
    /// Templates put into the state or added with the admin API were made "elsewhere" and are
    /// `APPROVED` unless the state says otherwise; Graph-created ones start `PENDING`.
    #[serde(default = "approved")]
    pub status: String,
    pub category: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub_category: Option<String>,
    #[serde(default = "positional")]
    pub parameter_format: String,
    #[serde(default)]
    pub components: Vec<Component>,
    #[serde(default)]
    pub quality_score: TemplateQuality,
    /// Meta serves `NONE` when the template is not rejected.
    #[serde(default = "none")]
    pub rejected_reason: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_send_ttl_seconds: Option<i64>,
    // Simulator-private fields below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<i64>,
    /// Sim-clock times of the edits made while the template was `APPROVED` (the ones Meta caps).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<i64>,
    /// Set while a review runs (creation or edit); the template is `PENDING` meanwhile.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_started_at: Option<i64>,
    /// When the template went to `PENDING_DELETION`; it leaves the list 30 days later.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<i64>,
    /// A category change Meta announced (`template_category_update`) and has not applied yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_update: Option<CategoryUpdate>,
    /// Any further Graph field (e.g. `cta_url_link_tracking_opted_out`) served verbatim.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Keys of [`Template`] that are simulator bookkeeping, never served as Graph fields.
pub const TEMPLATE_PRIVATE_KEYS: &[&str] = &[
    "created_at",
    "edits",
    "review_started_at",
    "deleted_at",
    "category_update",
];

impl Template {
    /// The text of the template's BODY component, if it has one.
    pub fn body_text(&self) -> Option<&str> {
        self.components
            .iter()
            .find(|c| c.kind == "BODY")
            .and_then(|c| c.text.as_deref())
    }
}

/// A template's `quality_score` as Meta serves it: `{"score": "GREEN", "date": <unix>}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct TemplateQuality {
    #[serde(default = "unknown")]
    pub score: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
}

impl Default for TemplateQuality {
    fn default() -> Self {
        Self {
            score: unknown(),
            date: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct CategoryUpdate {
    pub correct_category: String,
    /// When Meta applies it (`category_update_timestamp`).
    pub at: i64,
}

/// A name deleted from a WABA: it cannot be used again for 30 days.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct DeletedName {
    pub name: String,
    pub deleted_at: i64,
}

/// One element of `components`, in Meta's wire format. Keys the simulator does not model
/// (`cards`, `limited_time_offer`, …) are kept and served as given.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Component {
    /// `HEADER`, `BODY`, `FOOTER` or `BUTTONS`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Header format: `TEXT`, `IMAGE`, `VIDEO`, `DOCUMENT`, `LOCATION`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Example>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub buttons: Vec<Button>,
    /// Authentication BODY.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_security_recommendation: Option<bool>,
    /// Authentication FOOTER.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expiration_minutes: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `example` of a HEADER or BODY component.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct Example {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_text: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_handle: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_text_named_params: Option<Vec<NamedParam>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text: Option<Vec<Vec<String>>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_text_named_params: Option<Vec<NamedParam>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `{"param_name": "first_name", "example": "Jessica"}` of a NAMED template.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct NamedParam {
    pub param_name: String,
    pub example: String,
}

/// One button of a BUTTONS component.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Button {
    /// `QUICK_REPLY`, `URL`, `PHONE_NUMBER`, `OTP`, `COPY_CODE`, `FLOW`, …
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number: Option<String>,
    /// URL buttons: `["https://…/summer2023"]`; COPY_CODE: a string. Kept as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<Value>,
    /// OTP buttons: `COPY_CODE`, `ONE_TAP`, `ZERO_TAP`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_type: Option<String>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

fn approved() -> String {
    "APPROVED".to_owned()
}
fn positional() -> String {
    "POSITIONAL".to_owned()
}
fn none() -> String {
    "NONE".to_owned()
}
fn unknown() -> String {
    "UNKNOWN".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn wire_format_round_trips_and_keeps_unmodelled_keys() {
        let wire = json!({
            "id": "1", "name": "order_update", "language": "en_US", "category": "UTILITY",
            "components": [
                {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["#1"]}},
                {"type": "BODY", "text": "Hi {{1}}, thanks.", "example": {"body_text": [["Ann"]]}},
                {"type": "BUTTONS", "buttons": [{"type": "URL", "text": "Track", "url": "https://x.test/{{1}}", "example": ["https://x.test/1"]}]},
                {"type": "CAROUSEL", "cards": [{"components": []}]}
            ],
            "cta_url_link_tracking_opted_out": true
        });
        let t: Template = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(t.status, "APPROVED");
        assert_eq!(t.rejected_reason, "NONE");
        assert_eq!(t.body_text(), Some("Hi {{1}}, thanks."));
        assert!(t.components[3].extra.contains_key("cards"));
        let back = serde_json::to_value(&t).unwrap();
        assert_eq!(back["components"], wire["components"]);
        assert_eq!(back["cta_url_link_tracking_opted_out"], json!(true));
        assert_eq!(back["quality_score"], json!({"score": "UNKNOWN"}));
    }
}
