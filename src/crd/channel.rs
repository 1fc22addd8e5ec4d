use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HealthSummary, SecretKeyRef, SyncStatus};

/// One WhatsApp Business phone number ("channel") on Meta's Cloud API.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "whatsapp-operator.io",
    version = "v1alpha1",
    kind = "WhatsAppChannel",
    plural = "whatsappchannels",
    shortname = "wac",
    category = "whatsapp",
    namespaced,
    status = "WhatsAppChannelStatus",
    doc = "A WhatsApp Business phone number on Meta's Cloud API, registered and watched by whatsapp-operator.",
    printcolumn(
        name = "Number",
        type_ = "string",
        json_path = ".spec.phoneNumber",
        description = "Phone number as written in spec"
    ),
    printcolumn(
        name = "Phase",
        type_ = "string",
        json_path = ".status.phase",
        description = "Summary of where the number stands"
    ),
    printcolumn(
        name = "Quality",
        type_ = "string",
        json_path = ".status.qualityRating",
        description = "Meta's quality rating (GREEN, YELLOW, RED)"
    ),
    printcolumn(
        name = "Limit",
        type_ = "string",
        json_path = ".status.messagingLimit",
        description = "Messaging limit (business portfolio)"
    ),
    printcolumn(
        name = "Health",
        type_ = "string",
        json_path = ".status.health.canSendMessage",
        description = "Whether the number can send messages (AVAILABLE, LIMITED, BLOCKED)"
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
pub struct WhatsAppChannelSpec {
    /// The WhatsAppBusinessAccount (same namespace) this number belongs to. Cannot be changed once set.
    #[x_kube(validation = Rule::new("self == oldSelf").message("accountRef is immutable: a number cannot move to another account through this resource"))]
    pub account_ref: AccountRef,

    /// The phone number in international format with its country code, in any common formatting:
    /// "+55 11 98765-4321", "+1 (631) 555-5555", "+44.20.7946.0958". Cannot be changed once set.
    #[x_kube(validation = Rule::new("self.matches('^\\\\+[0-9 ().-]+$')").message("phoneNumber must start with + and the country code, then digits with optional spaces, dashes, dots or parentheses, e.g. \"+55 11 98765-4321\""))]
    #[x_kube(validation = Rule::new("self.matches('^[^0-9]*[1-9]')").message("phoneNumber must begin with a country code, which never starts with 0"))]
    #[x_kube(validation = Rule::new("self.matches('^[^0-9]*([0-9][^0-9]*){8,15}$')").message("phoneNumber must have 8 to 15 digits including the country code (E.164)"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("phoneNumber is immutable: create a new WhatsAppChannel for another number"))]
    #[schemars(length(min = 1, max = 32))]
    pub phone_number: crate::phone::SpecNumber,

    /// Display name (verified name) used when the operator adds the number to the WABA. Meta reviews it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 512))]
    pub display_name: Option<String>,

    /// Managed: the operator adds, verifies and registers the number. ObserveOnly: it never writes
    /// to Meta (coexistence numbers on the WhatsApp Business app, imports) and only reports.
    #[serde(default)]
    pub management: Management,

    /// How the number is verified and registered (Managed only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<Registration>,

    /// Business profile fields to keep applied at Meta. Fields left out are not touched.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_profile: Option<BusinessProfile>,

    /// What happens at Meta when this resource is deleted. Orphan (default) leaves the number as
    /// it is; Deregister deregisters it from the Cloud API.
    #[serde(default)]
    pub deletion_policy: DeletionPolicy,
}

/// Reference to a WhatsAppBusinessAccount in the same namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRef {
    /// Name of the WhatsAppBusinessAccount.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
}

/// Whether the operator may write to Meta for this number.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Management {
    #[default]
    Managed,
    ObserveOnly,
}

/// What deleting the resource does at Meta.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum DeletionPolicy {
    #[default]
    Orphan,
    Deregister,
}

/// How Meta sends the one-time verification code.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum VerificationMethod {
    #[default]
    #[serde(rename = "SMS")]
    Sms,
    #[serde(rename = "VOICE")]
    Voice,
}

impl VerificationMethod {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Sms => "SMS",
            Self::Voice => "VOICE",
        }
    }
}

/// Registration settings.
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Registration {
    /// How Meta delivers the verification code: SMS (default) or VOICE.
    #[serde(default)]
    pub verification_method: VerificationMethod,

    /// Language of the verification message, e.g. en_US or pt_BR.
    #[serde(default = "default_language")]
    #[x_kube(validation = Rule::new("self.matches('^[a-z]{2,3}(_[A-Z]{2})?$')").message("language must look like en_US, pt_BR or es"))]
    #[schemars(length(max = 16))]
    pub language: String,

    /// Secret key where a person puts the code Meta sent by SMS or voice. Each distinct code is tried once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification_code_secret_ref: Option<SecretKeyRef>,

    /// Secret key holding the six-digit two-step verification PIN. Used to register the number and
    /// kept applied at Meta when it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_secret_ref: Option<SecretKeyRef>,
}

fn default_language() -> String {
    "en_US".into()
}

/// Meta's business categories for the profile.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Vertical {
    Undefined,
    Other,
    Auto,
    Beauty,
    Apparel,
    Edu,
    Entertain,
    EventPlan,
    Finance,
    Grocery,
    Govt,
    Hotel,
    Health,
    Nonprofit,
    ProfServices,
    Retail,
    Travel,
    Restaurant,
    NotABiz,
}

impl Vertical {
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Undefined => "UNDEFINED",
            Self::Other => "OTHER",
            Self::Auto => "AUTO",
            Self::Beauty => "BEAUTY",
            Self::Apparel => "APPAREL",
            Self::Edu => "EDU",
            Self::Entertain => "ENTERTAIN",
            Self::EventPlan => "EVENT_PLAN",
            Self::Finance => "FINANCE",
            Self::Grocery => "GROCERY",
            Self::Govt => "GOVT",
            Self::Hotel => "HOTEL",
            Self::Health => "HEALTH",
            Self::Nonprofit => "NONPROFIT",
            Self::ProfServices => "PROF_SERVICES",
            Self::Retail => "RETAIL",
            Self::Travel => "TRAVEL",
            Self::Restaurant => "RESTAURANT",
            Self::NotABiz => "NOT_A_BIZ",
        }
    }
}

/// WhatsApp business profile, with Meta's limits.
#[derive(KubeSchema, Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BusinessProfile {
    /// The "About" text, 1 to 139 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) >= 1 && size(self) <= 139").message("about must be 1 to 139 characters (Meta's limit)"))]
    #[schemars(length(max = 1024))]
    pub about: Option<String>,

    /// Business address, at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 256").message("address must be at most 256 characters (Meta's limit)"))]
    #[schemars(length(max = 2048))]
    pub address: Option<String>,

    /// Business description, at most 512 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 512").message("description must be at most 512 characters (Meta's limit)"))]
    #[schemars(length(max = 4096))]
    pub description: Option<String>,

    /// Contact e-mail, at most 128 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 128").message("email must be at most 128 characters (Meta's limit)"))]
    #[x_kube(validation = Rule::new("self.matches('^[^@ ]+@[^@ ]+\\\\.[^@ ]+$')").message("email must be an e-mail address like contact@example.com"))]
    #[schemars(length(max = 1024))]
    pub email: Option<String>,

    /// Up to 2 websites, each an http:// or https:// URL of at most 256 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("size(self) <= 2").message("websites can list at most 2 URLs (Meta's limit)"))]
    #[x_kube(validation = Rule::new("self.all(w, w.matches('^https?://[^ ]+$'))").message("each website must be an http:// or https:// URL"))]
    #[x_kube(validation = Rule::new("self.all(w, size(w) <= 256)").message("each website must be at most 256 characters (Meta's limit)"))]
    #[schemars(length(max = 8), inner(length(max = 2048)))]
    pub websites: Option<Vec<String>>,

    /// Business category, one of Meta's verticals (e.g. RETAIL, FINANCE, HEALTH, OTHER).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertical: Option<Vertical>,
}

/// Where the number stands, for humans and printer columns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Phase {
    /// Not synced yet.
    #[default]
    Pending,
    /// Managed number being added to the WABA.
    Adding,
    /// Waiting for Meta to provision the display name before registration.
    AwaitingDisplayName,
    /// Waiting for a person to put the verification code in the Secret.
    AwaitingVerificationCode,
    /// Verified; being registered on the Cloud API.
    Registering,
    /// Registered and able to send.
    Connected,
    /// Sending with limitations (quality, flagged, limited health, rate limited).
    Degraded,
    /// Cannot send: restricted, banned, disconnected or blocked by health.
    Blocked,
    /// The number is not in the WABA (ObserveOnly) or was deleted at Meta.
    NotFound,
    /// A human must act; see the Stalled condition.
    Stalled,
    /// Being deleted.
    Deleting,
    /// A phase this version does not know (written by a newer operator): status stays
    /// readable, and the next decision replaces it.
    #[serde(other)]
    Other,
}

impl Phase {
    /// Every phase this version writes, in lifecycle order: all but `Other`, which only stands
    /// for a phase a newer operator wrote.
    pub const KNOWN: [Phase; 11] = [
        Phase::Pending,
        Phase::Adding,
        Phase::AwaitingDisplayName,
        Phase::AwaitingVerificationCode,
        Phase::Registering,
        Phase::Connected,
        Phase::Degraded,
        Phase::Blocked,
        Phase::NotFound,
        Phase::Stalled,
        Phase::Deleting,
    ];
}

/// Meta's view of the number plus the operator's progress.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppChannelStatus {
    /// Generation of the spec the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready, Registered, Synced and Stalled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Summary of where the number stands, for people and printer columns (informational:
    /// automation should read the conditions). A plain string in the schema, so that a CRD
    /// from an older release never refuses the status of a newer operator.
    #[serde(default)]
    #[schemars(with = "String")]
    pub phase: Phase,

    /// The number normalised to E.164 ("+5511987654321").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub e164: Option<String>,

    /// Meta's phone number ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,

    /// The number as Meta displays it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_phone_number: Option<String>,

    /// The verified display name at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_name: Option<String>,

    /// Meta's operating status, verbatim (CONNECTED, PENDING, FLAGGED, RESTRICTED, BANNED...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,

    /// Quality rating (GREEN, YELLOW, RED, or NA/UNKNOWN when not rated).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<String>,

    /// Meta's insights behind the quality rating (quality_score): the reasons it gives, verbatim,
    /// and when it calculated the score. The QualityDegraded event and the Ready message say the
    /// reasons in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_insights: Option<QualityInsights>,

    /// Messaging limit of the business portfolio (TIER_250, TIER_2K... TIER_UNLIMITED), falling
    /// back to the legacy per-number tier when Meta does not report the portfolio limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,

    /// Legacy per-number messaging limit tier, when Meta still reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit_tier: Option<String>,

    /// Display name review status (APPROVED, PENDING_REVIEW, DECLINED...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_status: Option<String>,

    /// Review status of a requested display name change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name_status: Option<String>,

    /// Meta's reason for rejecting the display name, from the phone_number_name_update webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_rejection_reason: Option<String>,

    /// A change of the display name: what the number carries, what was requested, Meta's review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<DisplayNameChange>,

    /// Ownership verification (VERIFIED, NOT_VERIFIED, EXPIRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_verification_status: Option<String>,

    /// CLOUD_API, ON_PREMISE or NOT_APPLICABLE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform_type: Option<String>,

    /// Throughput level (STANDARD, HIGH).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub throughput: Option<String>,

    /// SANDBOX or LIVE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_mode: Option<String>,

    /// The number is also on the WhatsApp Business app (coexistence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_on_biz_app: Option<bool>,

    /// A two-step verification PIN is set at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_pin_enabled: Option<bool>,

    /// When the number was last onboarded, as Meta reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_onboarded_time: Option<String>,

    /// Health of the number, its WABA, the business portfolio and the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSummary>,

    /// The last phone_number_quality_update webhook Meta sent for the number: its event
    /// (THROUGHPUT_UPGRADE, ONBOARDING, or the legacy FLAGGED, UNFLAGGED, UPGRADE, DOWNGRADE)
    /// and the limits it carried.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_quality_update: Option<QualityUpdateNotice>,

    /// The security webhooks Meta sent for the number, the last of each event (PIN_CHANGED,
    /// PIN_RESET_REQUEST, PIN_REQUEST_SUCCESS...), sorted by event. A new PIN_RESET_REQUEST
    /// raises the event PinResetRequested; PIN_CHANGED also sets the PinStale condition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub security_events: Vec<SecurityNotice>,

    /// Registration progress; survives operator restarts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registration: Option<RegistrationProgress>,

    /// Sync bookkeeping.
    #[serde(default, flatten)]
    pub sync: SyncStatus,

    /// Webhook notices waiting and the delivery times of those applied.
    #[serde(default, flatten)]
    pub webhook: super::WebhookRecord,
}

/// Meta's quality_score of the number beyond the rating itself.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QualityInsights {
    /// Meta's reason codes (quality_score.reasons), verbatim: Meta does not document their
    /// values, so unknown ones are kept as given.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// When Meta calculated the score (quality_score.date, RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scored_at: Option<Time>,
}

/// A phone_number_quality_update webhook as Meta sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct QualityUpdateNotice {
    /// Meta's event: THROUGHPUT_UPGRADE, ONBOARDING, or a legacy FLAGGED, UNFLAGGED, UPGRADE
    /// or DOWNGRADE.
    pub event: String,
    /// When Meta sent it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
    /// The business portfolio's messaging limit it carried (max_daily_conversations_per_business).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub portfolio_limit: Option<String>,
    /// The number's current_limit it carried (deprecated by Meta).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_limit: Option<String>,
    /// The number's old_limit, for messaging-limit changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub old_limit: Option<String>,
}

/// The last security webhook of one event.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecurityNotice {
    /// Meta's event: PIN_CHANGED, PIN_RESET_REQUEST, PIN_REQUEST_SUCCESS...
    pub event: String,
    /// When Meta sent it (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub at: Option<Time>,
}

/// The display-name change flow of a registered number.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DisplayNameChange {
    /// The spec's display name the number carries (it was onboarded, adopted or re-registered
    /// with it): a spec change away from it requests the new name at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    /// The name requested at Meta (`new_display_name`), until it takes effect.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<String>,
    /// When it was requested (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested_at: Option<Time>,
    /// Meta's decision from the phone_number_name_update webhook (APPROVED, REJECTED), before a
    /// Graph read shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// When the number was registered again so the approved name takes effect (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_at: Option<Time>,
}

/// A registration step whose call to Meta has left and not been answered.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StepInFlight {
    /// The step: add_number, request_code, verify_code, register or set_pin.
    pub step: String,
    /// When its intent was written (RFC 3339).
    pub started_at: Time,
}

/// Progress of the registration flow, persisted so a restart resumes where it stopped.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegistrationProgress {
    /// When the operator added the number to the WABA (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub number_added_at: Option<Time>,
    /// When a verification code was last requested (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_requested_at: Option<Time>,
    /// The write to Meta in flight: its intent is in status, Meta's answer not yet (cleared by
    /// the answer). Every step's intent changes the object this way, so of two processes that
    /// planned the same step one loses the resourceVersion precondition and never calls Meta; a
    /// code request in flight is not sent again (each SMS counts), one lost in a crash is sent
    /// again after two minutes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub in_flight: Option<StepInFlight>,
    /// How many codes were requested since the last successful verification.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 0))]
    pub code_requests: Option<u32>,
    /// Fingerprint of the last code tried (a hash keyed by the Secret's UID), never the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_tried_code: Option<String>,
    /// When the code was verified (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verified_at: Option<Time>,
    /// Register and deregister attempts (RFC 3339), newest last, pruned after 72 hours.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub attempts: Vec<Time>,
    /// Meta refused further attempts (133016) until this time (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Time>,
    /// Fingerprint of the PIN last applied at Meta (a hash keyed by the Secret's UID), never the
    /// PIN.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub applied_pin: Option<String>,
    /// When the number was registered by the operator (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub registered_at: Option<Time>,
    /// When the last code was sent to Meta for verification (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_tried_at: Option<Time>,
    /// Fingerprint of a PIN Secret Meta refused (133005), never the PIN; retried once it changes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected_pin: Option<String>,
    /// Consecutive failed registration calls; drives their backoff.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Option<i32>", range(min = 0))]
    pub failures: Option<u32>,
    /// No registration call to Meta before this time (RFC 3339); a new
    /// `whatsapp-operator.io/reconcile-requested-at` annotation lifts it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_at: Option<Time>,
    /// What the last failed registration call said, without secrets.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}
