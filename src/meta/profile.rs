//! The WhatsApp business profile of a phone number (`/<PHONE_NUMBER_ID>/whatsapp_business_profile`).

use serde::{Deserialize, Serialize};

use super::model::meta_enum;

meta_enum! {
    /// `vertical` (industry) of a business profile.
    Vertical {
        Undefined => ["UNDEFINED"],
        OtherIndustry => ["OTHER"],
        Auto => ["AUTO"],
        Beauty => ["BEAUTY"],
        Apparel => ["APPAREL"],
        Edu => ["EDU"],
        Entertain => ["ENTERTAIN"],
        EventPlan => ["EVENT_PLAN"],
        Finance => ["FINANCE"],
        Grocery => ["GROCERY"],
        Govt => ["GOVT"],
        Hotel => ["HOTEL"],
        Health => ["HEALTH"],
        Nonprofit => ["NONPROFIT"],
        ProfServices => ["PROF_SERVICES"],
        Retail => ["RETAIL"],
        Travel => ["TRAVEL"],
        Restaurant => ["RESTAURANT"],
        NotABiz => ["NOT_A_BIZ"],
    }
}

/// Fields the profile GET asks for.
pub const PROFILE_FIELDS: &str =
    "about,address,description,email,profile_picture_url,websites,vertical";

/// A business profile as read, and as an update: on update only the `Some` fields are sent
/// (`profile_picture_url` is read-only; set a picture with `profile_picture_handle`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct BusinessProfileData {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub about: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub websites: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<Vertical>,
    #[serde(default, skip_serializing)]
    pub profile_picture_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile_picture_handle: Option<String>,
}

impl BusinessProfileData {
    /// The POST body: the set fields plus `messaging_product`.
    pub fn update_body(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut body = match serde_json::to_value(self) {
            Ok(serde_json::Value::Object(map)) => map,
            _ => serde_json::Map::new(),
        };
        body.insert("messaging_product".into(), "whatsapp".into());
        body
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_a_profile_and_keeps_unknown_verticals() {
        let p: BusinessProfileData = serde_json::from_str(
            r#"{"about":"Hi","address":"1 Main St","description":"Plants","email":"a@b.c",
                "profile_picture_url":"https://x/y.jpg","websites":["https://a.example"],
                "vertical":"RETAIL","messaging_product":"whatsapp"}"#,
        )
        .unwrap();
        assert_eq!(p.vertical, Some(Vertical::Retail));
        assert_eq!(
            p.websites.as_deref(),
            Some(&["https://a.example".to_owned()][..])
        );
        let p: BusinessProfileData =
            serde_json::from_str(r#"{"vertical":"SPACE_TRAVEL"}"#).unwrap();
        assert_eq!(p.vertical, Some(Vertical::Other("SPACE_TRAVEL".into())));
        assert_eq!(Vertical::parse("OTHER"), Vertical::OtherIndustry);
    }

    #[test]
    fn update_sends_only_set_fields_and_never_the_picture_url() {
        let p = BusinessProfileData {
            about: Some("Hello".into()),
            vertical: Some(Vertical::Hotel),
            profile_picture_url: Some("https://x/y.jpg".into()),
            ..Default::default()
        };
        let body = p.update_body();
        assert_eq!(body["about"], "Hello");
        assert_eq!(body["vertical"], "HOTEL");
        assert_eq!(body["messaging_product"], "whatsapp");
        assert!(!body.contains_key("profile_picture_url"));
        assert!(!body.contains_key("email"));
    }
}
