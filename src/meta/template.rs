//! A message template as Graph serves it (`GET /{waba-id}/message_templates`, or the
//! `message_templates` expansion of the WABA read). Meta's enums are kept verbatim: a status
//! or category this version does not know is still shown and compared, never refused.

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::Value;

/// Fields read for every template in the account's one read.
pub const TEMPLATE_FIELDS: &str = "id,name,language,status,category,previous_category,\
parameter_format,components,quality_score,rejected_reason,message_send_ttl_seconds";

/// One template (one name in one language).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageTemplate {
    pub id: String,
    pub name: String,
    pub language: String,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default)]
    pub previous_category: Option<String>,
    #[serde(default)]
    pub parameter_format: Option<String>,
    /// Meta's components, verbatim; compared with the spec after normalisation.
    #[serde(default)]
    pub components: Vec<Value>,
    /// `{"score": "GREEN", "date": ...}`, or a bare string in some answers.
    #[serde(default, deserialize_with = "quality")]
    pub quality_score: Option<String>,
    /// "NONE" when not rejected.
    #[serde(default)]
    pub rejected_reason: Option<String>,
    #[serde(default)]
    pub message_send_ttl_seconds: Option<i64>,
}

impl MessageTemplate {
    /// Meta's rejection reason, when there is one ("NONE" is none).
    pub fn rejection_reason(&self) -> Option<&str> {
        self.rejected_reason
            .as_deref()
            .filter(|r| !r.is_empty() && !r.eq_ignore_ascii_case("NONE"))
    }

    /// Whether this is the template of `name` in `language` (Meta's codes compared exactly,
    /// as Meta does).
    pub fn is(&self, name: &str, language: &str) -> bool {
        self.name == name && self.language == language
    }
}

fn quality<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match Option::<Value>::deserialize(d)? {
        Some(Value::String(s)) => Some(s),
        Some(Value::Object(o)) => o.get("score").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    })
}

/// A template record that did not decode: reported on the resource naming it, never taken for
/// absent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MalformedTemplate {
    pub name: Option<String>,
    pub language: Option<String>,
    pub error: String,
}

/// Decodes each template on its own: a record of an unexpected shape lands in the second list.
pub fn decode_templates(raw: Vec<Value>) -> (Vec<MessageTemplate>, Vec<MalformedTemplate>) {
    let mut templates = Vec::new();
    let mut malformed = Vec::new();
    for value in raw {
        match MessageTemplate::deserialize(&value) {
            Ok(t) => templates.push(t),
            Err(e) => malformed.push(MalformedTemplate {
                name: value.get("name").and_then(Value::as_str).map(str::to_owned),
                language: value
                    .get("language")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                error: e.to_string(),
            }),
        }
    }
    (templates, malformed)
}

/// What a create or an edit sends: the template's content in Meta's wire format.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateContent {
    pub category: String,
    pub parameter_format: String,
    pub components: Vec<Value>,
    pub message_send_ttl_seconds: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn quality_is_read_from_an_object_or_a_string_and_bad_records_are_set_aside() {
        let (ok, bad) = decode_templates(vec![
            json!({"id": "1", "name": "a", "language": "en_US", "status": "APPROVED",
                   "quality_score": {"score": "GREEN", "date": 1}, "rejected_reason": "NONE"}),
            json!({"id": "2", "name": "b", "language": "pt_BR", "quality_score": "RED",
                   "status": "SOMETHING_NEW"}),
            json!({"id": 3, "name": "c", "language": "es"}),
        ]);
        assert_eq!(ok.len(), 2);
        assert_eq!(ok[0].quality_score.as_deref(), Some("GREEN"));
        assert_eq!(ok[0].rejection_reason(), None);
        assert_eq!(ok[1].quality_score.as_deref(), Some("RED"));
        assert_eq!(ok[1].status.as_deref(), Some("SOMETHING_NEW"));
        assert_eq!(bad.len(), 1);
        assert_eq!(bad[0].name.as_deref(), Some("c"));
        assert!(ok[1].is("b", "pt_BR") && !ok[1].is("b", "pt_PT"));
    }
}
