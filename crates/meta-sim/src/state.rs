//! The simulator's world: apps, tokens, businesses, WABAs and their phone numbers.
//!
//! The same types are the state file format, so every key documented in `crates/meta-sim/README.md`
//! maps onto a field here. Enum-like Meta values stay plain strings on purpose: tests need to
//! put values into the simulator that the operator may not know yet.

use std::fmt;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub mod reviews;
pub mod templates;

pub use reviews::{Decision, NameReviewRule, Reviews, TemplateReviewRule};
pub use templates::{Component, DeletedName, Template};

/// Default hourly call budget per WABA (Meta's documented default before a number is registered).
pub const DEFAULT_HOURLY_BUDGET: u32 = 200;

/// Default number of message templates a WABA may create in a moving hour (a BSP figure; Meta
/// does not publish one).
pub const DEFAULT_TEMPLATE_CREATION_PER_HOUR: u32 = 100;

/// A secret held by the simulator (token, app secret, PIN, verification code).
///
/// It serialises as the plain string because `GET /_sim/state` must show it to tests, but it
/// never shows up in `Debug` output or logs.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct SimSecret(String);

impl SimSecret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SimSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SimSecret(<redacted>)")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StateError {
    #[error("state file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("state JSON is invalid: {0}")]
    Parse(#[from] serde_json::Error),
    #[error("state is inconsistent: {0}")]
    Invalid(String),
}

/// Messaging health of one entity, as Meta reports it inside `health_status.entities[]`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Health {
    #[serde(default = "available")]
    pub can_send_message: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthError>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<String>,
    /// Calling health (`can_receive_call_sip`), served on the entity only when set: Meta gives it
    /// for PHONE_NUMBER and APP entities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_receive_call_sip: Option<String>,
}

impl Default for Health {
    fn default() -> Self {
        Self {
            can_send_message: available(),
            errors: Vec::new(),
            additional_info: Vec::new(),
            can_receive_call_sip: None,
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct HealthError {
    pub error_code: i64,
    #[serde(default)]
    pub error_description: String,
    #[serde(default)]
    pub possible_solution: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct App {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub secret: SimSecret,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<SimSecret>,
    #[serde(flatten)]
    pub health: Health,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct GranularScope {
    pub scope: String,
    #[serde(default)]
    pub target_ids: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Token {
    pub token: SimSecret,
    pub app_id: String,
    #[serde(default = "system_user", rename = "type")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub granular_scopes: Vec<GranularScope>,
    /// Unix seconds on the sim clock; 0 means the token never expires (Meta's convention).
    #[serde(default)]
    pub expires_at: i64,
    #[serde(default)]
    pub data_access_expires_at: i64,
    /// Revoked by a human (password change, system user removed): 190 without subcode 463.
    #[serde(default)]
    pub invalidated: bool,
}

impl Token {
    pub fn is_expired(&self, now: i64) -> bool {
        self.expires_at != 0 && now >= self.expires_at
    }

    /// WABA ids the token may manage; `None` when the token is not restricted per asset.
    pub fn management_targets(&self) -> Option<&[String]> {
        self.granular_scopes
            .iter()
            .find(|g| g.scope == "whatsapp_business_management")
            .map(|g| g.target_ids.as_slice())
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Business {
    pub id: String,
    #[serde(default)]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_status: Option<String>,
    #[serde(flatten)]
    pub health: Health,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Subscription {
    pub app_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_callback_uri: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<SimSecret>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Waba {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub owner_business_id: String,
    #[serde(default = "approved")]
    pub account_review_status: String,
    #[serde(default = "verified")]
    pub business_verification_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_manager_messaging_limit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_namespace: Option<String>,
    #[serde(default = "default_budget")]
    pub hourly_budget: u32,
    #[serde(default)]
    pub subscribed_apps: Vec<Subscription>,
    #[serde(default)]
    pub phone_numbers: Vec<Number>,
    #[serde(default)]
    pub message_templates: Vec<Template>,
    #[serde(default = "default_template_rate")]
    pub template_creation_per_hour: u32,
    /// Sim-clock times of templates created through Graph (the moving hour of the creation cap).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub template_creations: Vec<i64>,
    /// Deleted template names, reserved for 30 days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deleted_template_names: Vec<DeletedName>,
    #[serde(flatten)]
    pub health: Health,
    /// Any further Graph field (e.g. `country`, `status`) served verbatim when requested.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Keys of [`Waba`] that are simulator bookkeeping, never served as Graph fields.
pub const WABA_PRIVATE_KEYS: &[&str] = &[
    "owner_business_id",
    "hourly_budget",
    "subscribed_apps",
    "phone_numbers",
    "message_templates",
    "template_creation_per_hour",
    "template_creations",
    "deleted_template_names",
    "can_send_message",
    "errors",
    "additional_info",
    "can_receive_call_sip",
];

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct QualityScore {
    pub score: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<i64>,
    #[serde(default)]
    pub reasons: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Throughput {
    pub level: String,
}

impl Default for Throughput {
    fn default() -> Self {
        Self {
            level: "NOT_APPLICABLE".to_owned(),
        }
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct PendingCode {
    pub code: SimSecret,
    pub expires_at: i64,
    #[serde(default)]
    pub code_method: String,
    #[serde(default)]
    pub language: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Number {
    pub id: String,
    pub display_phone_number: String,
    #[serde(default)]
    pub verified_name: String,
    #[serde(default = "pending")]
    pub status: String,
    #[serde(default = "unknown")]
    pub quality_rating: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<QualityScore>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit_tier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub whatsapp_business_manager_messaging_limit: Option<String>,
    #[serde(default = "pending_review")]
    pub name_status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name_status: Option<String>,
    #[serde(default = "not_verified")]
    pub code_verification_status: String,
    #[serde(default = "not_applicable")]
    pub platform_type: String,
    #[serde(default)]
    pub throughput: Throughput,
    #[serde(default = "live")]
    pub account_mode: String,
    #[serde(default)]
    pub is_on_biz_app: bool,
    #[serde(default)]
    pub is_pin_enabled: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_onboarded_time: Option<String>,
    #[serde(flatten)]
    pub health: Health,
    // Simulator-private fields below.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<SimSecret>,
    /// Display-name provisioning finished; `false` makes `/register` fail with 2388001.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_ready: Option<bool>,
    #[serde(default)]
    pub in_use_on_app: bool,
    #[serde(default)]
    pub owned_by_other_business: bool,
    #[serde(default)]
    pub business_profile: Map<String, Value>,
    /// Sim-clock times of register and deregister requests (Meta counts both in one 72 h window).
    #[serde(default)]
    pub registration_attempts: Vec<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code: Option<PendingCode>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_display_name: Option<String>,
    /// Sim-clock time the review of `requested_display_name` started (timed reviews).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_review_started_at: Option<i64>,
    /// A new name Meta approved; it becomes `verified_name` at the next successful register.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approved_display_name: Option<String>,
    /// Fault: fields Graph serves for this number in place of the simulated ones, verbatim (a
    /// wrong shape), and `null` to leave a field out: Meta's responses the operator must survive.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub served_as: Map<String, Value>,
    /// Any further Graph field (e.g. `webhook_configuration`) served verbatim when requested.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// Keys of [`Number`] that are simulator bookkeeping, never served as Graph fields.
pub const NUMBER_PRIVATE_KEYS: &[&str] = &[
    "can_send_message",
    "errors",
    "additional_info",
    "can_receive_call_sip",
    "pin",
    "name_ready",
    "in_use_on_app",
    "owned_by_other_business",
    "business_profile",
    "registration_attempts",
    "verification_code",
    "requested_display_name",
    "name_review_started_at",
    "approved_display_name",
    "served_as",
];

impl Number {
    /// Whether Meta has finished provisioning the display name, so `/register` can succeed.
    pub fn name_is_ready(&self) -> bool {
        let status_allows = !matches!(self.name_status.as_str(), "NONE" | "EXPIRED" | "NON_EXISTS");
        self.name_ready.unwrap_or(true) && status_allows
    }

    pub fn digits(&self) -> String {
        digits_of(&self.display_phone_number)
    }
}

/// A phone number that exists outside the simulated WABAs (on the consumer app, or in another
/// business's account); consulted when a number is added with `POST /{waba-id}/phone_numbers`.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct OutsideNumber {
    pub phone_number: String,
    #[serde(default)]
    pub in_use_on_app: bool,
    #[serde(default)]
    pub owned_by_other_business: bool,
}

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct State {
    /// Sim clock at start-up (Unix seconds); real time when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clock: Option<i64>,
    #[serde(default)]
    pub apps: Vec<App>,
    #[serde(default)]
    pub tokens: Vec<Token>,
    #[serde(default)]
    pub businesses: Vec<Business>,
    #[serde(default)]
    pub wabas: Vec<Waba>,
    #[serde(default)]
    pub outside_numbers: Vec<OutsideNumber>,
    /// Fields merged into every number created through `POST /{waba-id}/phone_numbers`.
    #[serde(default)]
    pub new_number_defaults: Map<String, Value>,
    /// How display-name and template reviews decide (all `manual` when absent).
    #[serde(default)]
    pub reviews: Reviews,
}

impl State {
    pub fn from_json(text: &str) -> Result<Self, StateError> {
        let state: State = serde_json::from_str(text)?;
        state.validate()?;
        Ok(state)
    }

    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, StateError> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| StateError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::from_json(&text)
    }

    /// Checks the references between entities so handlers can rely on them.
    pub fn validate(&self) -> Result<(), StateError> {
        let mut ids = std::collections::HashSet::new();
        let all_ids = self
            .apps
            .iter()
            .map(|a| &a.id)
            .chain(self.businesses.iter().map(|b| &b.id))
            .chain(self.wabas.iter().map(|w| &w.id))
            .chain(
                self.wabas
                    .iter()
                    .flat_map(|w| w.phone_numbers.iter().map(|n| &n.id)),
            )
            .chain(
                self.wabas
                    .iter()
                    .flat_map(|w| w.message_templates.iter().map(|t| &t.id)),
            );
        for id in all_ids {
            if !ids.insert(id.as_str()) {
                return Err(StateError::Invalid(format!("id {id} is used twice")));
            }
        }
        for token in &self.tokens {
            if self.app(&token.app_id).is_none() {
                return Err(StateError::Invalid(format!(
                    "a token refers to unknown app {}",
                    token.app_id
                )));
            }
        }
        for waba in &self.wabas {
            if self.business(&waba.owner_business_id).is_none() {
                return Err(StateError::Invalid(format!(
                    "WABA {} refers to unknown business {}",
                    waba.id, waba.owner_business_id
                )));
            }
            let mut pairs = std::collections::HashSet::new();
            for t in &waba.message_templates {
                if !pairs.insert((t.name.as_str(), t.language.as_str())) {
                    return Err(StateError::Invalid(format!(
                        "WABA {} has two templates {} in {}",
                        waba.id, t.name, t.language
                    )));
                }
            }
        }
        Ok(())
    }

    /// Whether any entity already uses `id`.
    pub fn id_taken(&self, id: &str) -> bool {
        self.waba(id).is_some()
            || self.number(id).is_some()
            || self.template(id).is_some()
            || self.business(id).is_some()
            || self.app(id).is_some()
    }

    pub fn app(&self, id: &str) -> Option<&App> {
        self.apps.iter().find(|a| a.id == id)
    }

    pub fn business(&self, id: &str) -> Option<&Business> {
        self.businesses.iter().find(|b| b.id == id)
    }

    pub fn waba(&self, id: &str) -> Option<&Waba> {
        self.wabas.iter().find(|w| w.id == id)
    }

    pub fn waba_mut(&mut self, id: &str) -> Option<&mut Waba> {
        self.wabas.iter_mut().find(|w| w.id == id)
    }

    pub fn token(&self, value: &str) -> Option<&Token> {
        self.tokens.iter().find(|t| t.token.expose() == value)
    }

    /// The WABA holding a phone number, with the number.
    pub fn number(&self, id: &str) -> Option<(&Waba, &Number)> {
        self.wabas
            .iter()
            .find_map(|w| w.phone_numbers.iter().find(|n| n.id == id).map(|n| (w, n)))
    }

    pub fn number_mut(&mut self, id: &str) -> Option<&mut Number> {
        self.wabas
            .iter_mut()
            .find_map(|w| w.phone_numbers.iter_mut().find(|n| n.id == id))
    }

    /// The WABA holding a message template, with the template.
    pub fn template(&self, id: &str) -> Option<(&Waba, &Template)> {
        self.wabas.iter().find_map(|w| {
            w.message_templates
                .iter()
                .find(|t| t.id == id)
                .map(|t| (w, t))
        })
    }

    pub fn template_mut(&mut self, id: &str) -> Option<&mut Template> {
        self.wabas
            .iter_mut()
            .find_map(|w| w.message_templates.iter_mut().find(|t| t.id == id))
    }
}

/// Merges a JSON object into a typed entity, keeping its `id`.
pub fn merge_fields<T: Serialize + DeserializeOwned>(
    target: &mut T,
    patch: &Map<String, Value>,
) -> Result<(), String> {
    let mut value = serde_json::to_value(&*target).map_err(|e| e.to_string())?;
    let Some(object) = value.as_object_mut() else {
        return Err("entity is not a JSON object".to_owned());
    };
    for (key, new) in patch {
        if key == "id" && object.get("id") != Some(new) {
            return Err("the id of an entity cannot be changed".to_owned());
        }
        object.insert(key.clone(), new.clone());
    }
    *target = serde_json::from_value(value).map_err(|e| e.to_string())?;
    Ok(())
}

pub fn digits_of(text: &str) -> String {
    text.chars().filter(char::is_ascii_digit).collect()
}

fn available() -> String {
    "AVAILABLE".to_owned()
}
fn system_user() -> String {
    "SYSTEM_USER".to_owned()
}
fn approved() -> String {
    "APPROVED".to_owned()
}
fn verified() -> String {
    "verified".to_owned()
}
fn default_budget() -> u32 {
    DEFAULT_HOURLY_BUDGET
}
fn default_template_rate() -> u32 {
    DEFAULT_TEMPLATE_CREATION_PER_HOUR
}
fn pending() -> String {
    "PENDING".to_owned()
}
fn unknown() -> String {
    "UNKNOWN".to_owned()
}
fn pending_review() -> String {
    "PENDING_REVIEW".to_owned()
}
fn not_verified() -> String {
    "NOT_VERIFIED".to_owned()
}
fn not_applicable() -> String {
    "NOT_APPLICABLE".to_owned()
}
fn live() -> String {
    "LIVE".to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_state_round_trips() {
        let text = include_str!("../examples/state.json");
        let state = State::from_json(text).unwrap();
        let waba = state.waba("102290129340398").unwrap();
        assert_eq!(waba.phone_numbers.len(), 4);
        assert_eq!(waba.hourly_budget, 200);
        let again = State::from_json(&serde_json::to_string(&state).unwrap()).unwrap();
        assert_eq!(
            serde_json::to_value(&again).unwrap(),
            serde_json::to_value(&state).unwrap()
        );
    }

    #[test]
    fn rejects_broken_references_and_typos() {
        let dup = r#"{"apps":[{"id":"1","secret":"s"}],"businesses":[{"id":"1"}]}"#;
        assert!(matches!(State::from_json(dup), Err(StateError::Invalid(_))));
        let orphan = r#"{"tokens":[{"token":"t","app_id":"9"}]}"#;
        assert!(matches!(
            State::from_json(orphan),
            Err(StateError::Invalid(_))
        ));
        let typo = r#"{"wabaz":[]}"#;
        assert!(matches!(State::from_json(typo), Err(StateError::Parse(_))));
    }

    #[test]
    fn merge_keeps_id_and_validates() {
        let mut n: Number =
            serde_json::from_value(serde_json::json!({"id": "1", "display_phone_number": "1"}))
                .unwrap();
        let patch = |v: Value| v.as_object().unwrap().clone();
        merge_fields(&mut n, &patch(serde_json::json!({"status": "FLAGGED", "webhook_configuration": {"application": "x"}}))).unwrap();
        assert_eq!(n.status, "FLAGGED");
        assert!(n.extra.contains_key("webhook_configuration"));
        assert!(merge_fields(&mut n, &patch(serde_json::json!({"id": "2"}))).is_err());
        assert!(
            merge_fields(&mut n, &patch(serde_json::json!({"is_pin_enabled": "yes"}))).is_err()
        );
        assert_eq!(n.status, "FLAGGED");
    }
}
