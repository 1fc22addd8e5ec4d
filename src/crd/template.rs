use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{AccountRef, Management, SyncStatus};

/// One message template (one name in one language) of a WABA at Meta.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "whatsapp-operator.io",
    version = "v1alpha1",
    kind = "WhatsAppMessageTemplate",
    plural = "whatsappmessagetemplates",
    shortname = "wamt",
    category = "whatsapp",
    namespaced,
    status = "WhatsAppMessageTemplateStatus",
    doc = "A WhatsApp message template (one name in one language) of a WABA, submitted to Meta and watched by whatsapp-operator.",
    printcolumn(
        name = "Template",
        type_ = "string",
        json_path = ".spec.name",
        description = "Template name at Meta"
    ),
    printcolumn(
        name = "Language",
        type_ = "string",
        json_path = ".spec.language",
        description = "Template language"
    ),
    printcolumn(
        name = "Category",
        type_ = "string",
        json_path = ".status.category",
        description = "Category at Meta (MARKETING, UTILITY, AUTHENTICATION)"
    ),
    printcolumn(
        name = "Status",
        type_ = "string",
        json_path = ".status.status",
        description = "Meta's review status (APPROVED, PENDING, REJECTED, PAUSED...)"
    ),
    printcolumn(
        name = "Quality",
        type_ = "string",
        json_path = ".status.qualityScore",
        description = "Meta's quality score (GREEN, YELLOW, RED, UNKNOWN)"
    ),
    printcolumn(
        name = "Ready",
        type_ = "string",
        json_path = ".status.conditions[?(@.type==\"Ready\")].status",
        description = "Ready condition"
    ),
    printcolumn(
        name = "Age",
        type_ = "date",
        json_path = ".metadata.creationTimestamp"
    )
)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppMessageTemplateSpec {
    /// The WhatsAppBusinessAccount (same namespace) whose WABA holds the template. Cannot be
    /// changed once set.
    #[x_kube(validation = Rule::new("self == oldSelf").message("accountRef is immutable: a template cannot move to another account through this resource"))]
    pub account_ref: AccountRef,

    /// The template's name at Meta: lowercase letters, digits and underscores. Cannot be changed
    /// once set (Meta does not rename templates).
    #[x_kube(validation = Rule::new("self == oldSelf").message("name is immutable: Meta cannot rename a template; create a new WhatsAppMessageTemplate"))]
    #[schemars(length(min = 1, max = 512))]
    pub name: String,

    /// Language and locale code, e.g. en_US, pt_BR or es. Cannot be changed once set.
    #[x_kube(validation = Rule::new("self == oldSelf").message("language is immutable: each language is its own template at Meta; create a new WhatsAppMessageTemplate"))]
    #[schemars(length(min = 2, max = 16))]
    pub language: String,

    /// MARKETING, UTILITY or AUTHENTICATION. Meta may re-categorise a template; status shows
    /// Meta's current category.
    pub category: TemplateCategory,

    /// How variables are written: POSITIONAL ({{1}}, {{2}}) or NAMED ({{order_id}}).
    #[serde(default)]
    pub parameter_format: ParameterFormat,

    /// The template's content.
    pub components: TemplateComponents,

    /// Seconds Meta keeps trying to deliver a message sent with this template (Meta's
    /// message_send_ttl_seconds); Meta's default when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_send_ttl_seconds: Option<i64>,

    /// Managed: the operator creates and edits the template. ObserveOnly: it adopts a template
    /// made elsewhere (by name and language) and only reports; it never writes to Meta.
    #[serde(default)]
    pub management: Management,

    /// What deleting the resource does at Meta. Orphan (default) leaves the template; Delete
    /// deletes this language of it (Meta keeps the name reserved for 30 days).
    #[serde(default)]
    pub deletion_policy: TemplateDeletionPolicy,
}

/// Meta's template categories.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TemplateCategory {
    Marketing,
    Utility,
    Authentication,
}

impl TemplateCategory {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Marketing => "MARKETING",
            Self::Utility => "UTILITY",
            Self::Authentication => "AUTHENTICATION",
        }
    }
}

/// How a template writes its variables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ParameterFormat {
    #[default]
    Positional,
    Named,
}

impl ParameterFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Positional => "POSITIONAL",
            Self::Named => "NAMED",
        }
    }
}

/// What deleting a template resource does at Meta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum TemplateDeletionPolicy {
    #[default]
    Orphan,
    Delete,
}

/// The parts of a template: an optional header, the body, an optional footer and buttons.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateComponents {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<TemplateHeader>,
    pub body: TemplateBody,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub footer: Option<TemplateFooter>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10))]
    pub buttons: Vec<TemplateButton>,
}

/// Header formats.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum HeaderFormat {
    #[default]
    Text,
    Image,
    Video,
    Document,
    Location,
}

impl HeaderFormat {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Text => "TEXT",
            Self::Image => "IMAGE",
            Self::Video => "VIDEO",
            Self::Document => "DOCUMENT",
            Self::Location => "LOCATION",
        }
    }
}

/// A variable's name and example value (NAMED parameter format).
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NamedExample {
    /// The variable's name as written between braces, e.g. order_id for {{order_id}}.
    #[schemars(length(min = 1, max = 128))]
    pub name: String,
    /// An example value Meta's reviewers see.
    #[schemars(length(min = 1, max = 1024))]
    pub example: String,
}

/// The header: text (at most one variable) or media (with an example handle) or a location.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateHeader {
    /// TEXT (default), IMAGE, VIDEO, DOCUMENT or LOCATION.
    #[serde(default)]
    pub format: HeaderFormat,
    /// The header text (TEXT only), at most 60 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub text: Option<String>,
    /// Example value of the header's variable (POSITIONAL).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub example: Option<String>,
    /// Example of the header's variable (NAMED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub named_example: Option<NamedExample>,
    /// Handle of a sample media file uploaded with Meta's resumable upload API (IMAGE, VIDEO,
    /// DOCUMENT).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub example_handle: Option<String>,
}

/// The body: the message text with examples for every variable.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateBody {
    /// The message text, at most 1024 characters. Authentication templates have no text: Meta
    /// writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 8192))]
    pub text: Option<String>,
    /// Example values of {{1}}, {{2}}... in order (POSITIONAL).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100), inner(length(min = 1, max = 1024)))]
    pub examples: Vec<String>,
    /// Example values of each named variable (NAMED).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 100))]
    pub named_examples: Vec<NamedExample>,
    /// Authentication templates: add "For your security, do not share this code."
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub add_security_recommendation: Option<bool>,
}

/// The footer: text, or (authentication) the code's expiry.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateFooter {
    /// Footer text, at most 60 characters, without variables.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub text: Option<String>,
    /// Authentication templates: minutes the code is valid, 1 to 90.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_expiration_minutes: Option<i64>,
}

/// Button kinds Meta documents.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ButtonType {
    QuickReply,
    Url,
    PhoneNumber,
    CopyCode,
    Otp,
    Flow,
    Catalog,
    Mpm,
    VoiceCall,
}

impl ButtonType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::QuickReply => "QUICK_REPLY",
            Self::Url => "URL",
            Self::PhoneNumber => "PHONE_NUMBER",
            Self::CopyCode => "COPY_CODE",
            Self::Otp => "OTP",
            Self::Flow => "FLOW",
            Self::Catalog => "CATALOG",
            Self::Mpm => "MPM",
            Self::VoiceCall => "VOICE_CALL",
        }
    }
}

/// How an authentication template's code button works.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum OtpType {
    CopyCode,
    OneTap,
    ZeroTap,
}

impl OtpType {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::CopyCode => "COPY_CODE",
            Self::OneTap => "ONE_TAP",
            Self::ZeroTap => "ZERO_TAP",
        }
    }
}

/// One button. Which fields apply depends on `type`.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TemplateButton {
    /// QUICK_REPLY, URL, PHONE_NUMBER, COPY_CODE, OTP, FLOW, CATALOG, MPM or VOICE_CALL.
    #[serde(rename = "type")]
    pub type_: ButtonType,
    /// The button's label, at most 25 characters (OTP: Meta's default when left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 1024))]
    pub text: Option<String>,
    /// URL: the address, https, at most 2000 characters, optionally ending in one {{1}}.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub url: Option<String>,
    /// URL: an example of the whole address with its variable filled in. COPY_CODE: an example
    /// code (at most 15 characters).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 4096))]
    pub example: Option<String>,
    /// PHONE_NUMBER: the number to call, with its country code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub phone_number: Option<String>,
    /// OTP: COPY_CODE, ONE_TAP or ZERO_TAP.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub otp_type: Option<OtpType>,
    /// OTP one-tap and zero-tap: the Android apps that receive the code.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 5))]
    pub supported_apps: Vec<SupportedApp>,
    /// OTP zero-tap: the user accepted Meta's zero-tap terms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub zero_tap_terms_accepted: Option<bool>,
    /// FLOW: the Flow's ID at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 64))]
    pub flow_id: Option<String>,
    /// FLOW: navigate or data_exchange.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 32))]
    pub flow_action: Option<String>,
    /// FLOW: the first screen, for the navigate action.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 128))]
    pub navigate_screen: Option<String>,
}

/// An Android app that receives one-tap or zero-tap codes.
#[derive(KubeSchema, Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SupportedApp {
    /// The app's package name, e.g. com.example.bank.
    #[schemars(length(min = 1, max = 224))]
    pub package_name: String,
    /// The app's 11-character signing key hash.
    #[schemars(length(min = 11, max = 11))]
    pub signature_hash: String,
}

/// Meta's view of the template plus the operator's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppMessageTemplateStatus {
    /// Generation of the spec the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready (APPROVED and sendable), Synced and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Meta's template ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_id: Option<String>,

    /// Meta's status, verbatim: APPROVED, PENDING, REJECTED, PAUSED, DISABLED, IN_APPEAL,
    /// LIMIT_EXCEEDED, ARCHIVED, PENDING_DELETION, DELETED...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,

    /// Meta's current category (it may differ from the spec's when Meta re-categorised it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,

    /// The category before Meta's last change, when Meta changed it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_category: Option<String>,

    /// A category change Meta announced (template_category_update): the category it moves to
    /// and when.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category_change: Option<CategoryChange>,

    /// Meta's quality score: GREEN, YELLOW, RED or UNKNOWN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_score: Option<String>,

    /// Why Meta rejected the template, with its recommendation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejection: Option<TemplateRejection>,

    /// Why Meta paused the template (FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pause: Option<TemplatePause>,

    /// When Meta disabled the template (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disabled_at: Option<Time>,

    /// The operator's writes of this template: what it submitted, its edits and the write in
    /// flight. Survives restarts so a template is never created twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<TemplateSubmission>,

    /// Sync bookkeeping.
    #[serde(default, flatten)]
    pub sync: SyncStatus,

    /// Webhook notices waiting and the delivery times of those applied.
    #[serde(default, flatten)]
    pub webhook: super::WebhookRecord,
}

/// An announced category change.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CategoryChange {
    /// The category Meta will give the template.
    pub correct_category: String,
    /// When Meta will change it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// Meta's rejection of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateRejection {
    /// Meta's reason: ABUSIVE_CONTENT, INCORRECT_CATEGORY, INVALID_FORMAT, PROMOTIONAL, SCAM,
    /// TAG_CONTENT_MISMATCH...
    pub reason: String,
    /// Meta's recommendation, when it gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recommendation: Option<String>,
}

/// Meta's pause of a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplatePause {
    /// FIRST_PAUSE, SECOND_PAUSE, RATE_LIMITING_PAUSE...
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Meta's description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When it was paused (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// What the operator wrote to Meta for this template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateSubmission {
    /// Fingerprint of the content last submitted (category, format, components), so a rejected
    /// template is submitted again only once its spec changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// When it was created at Meta by the operator (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created_at: Option<Time>,
    /// When content was last sent to Meta (create or edit, RFC 3339): a read older than this
    /// cannot show it yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submitted_at: Option<Time>,
    /// Edits of the approved template (RFC 3339), newest last, kept 30 days: Meta allows one per
    /// 24 hours and ten per 30 days.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub edits: Vec<Time>,
    /// The write in flight: its intent is in status, Meta's answer not yet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<TemplateWriteInFlight>,
    /// No write before this time (RFC 3339): Meta's limits or a failure's backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Time>,
    /// Consecutive failed writes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 0))]
    pub failures: Option<u32>,
    /// What the last failed write said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// A write whose call to Meta has left and not been answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TemplateWriteInFlight {
    /// create, edit or delete.
    pub action: String,
    /// Fingerprint of the content sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_hash: Option<String>,
    /// When its intent was written (RFC 3339).
    pub started_at: Time,
}
