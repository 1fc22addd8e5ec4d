use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use super::interval::Interval;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::{HealthSummary, SecretKeyRef, SyncStatus};

/// One WhatsApp Business Account (WABA) at Meta: where its access token lives, how its webhooks
/// are subscribed and how often the operator reads it.
#[derive(CustomResource, KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "whatsapp-operator.io",
    version = "v1alpha1",
    kind = "WhatsAppBusinessAccount",
    plural = "whatsappbusinessaccounts",
    shortname = "waba",
    category = "whatsapp",
    namespaced,
    status = "WhatsAppBusinessAccountStatus",
    doc = "A WhatsApp Business Account (WABA) at Meta, synced into status by whatsapp-operator.",
    printcolumn(
        name = "WABA ID",
        type_ = "string",
        json_path = ".spec.businessAccountId",
        description = "Meta's WhatsApp Business Account ID"
    ),
    printcolumn(
        name = "Name",
        type_ = "string",
        json_path = ".status.name",
        description = "Name of the WABA at Meta"
    ),
    printcolumn(
        name = "Health",
        type_ = "string",
        json_path = ".status.health.canSendMessage",
        description = "Whether the WABA can send messages (AVAILABLE, LIMITED, BLOCKED)"
    ),
    printcolumn(
        name = "Limit",
        type_ = "string",
        json_path = ".status.messagingLimit",
        description = "Business portfolio messaging limit"
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
pub struct WhatsAppBusinessAccountSpec {
    /// Meta's WhatsApp Business Account ID (digits only). Cannot be changed once set.
    #[x_kube(validation = Rule::new("self.matches('^[0-9]+$')").message("businessAccountId must contain digits only, e.g. \"102290129340398\" (find it in WhatsApp Manager > Account tools)"))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("businessAccountId is immutable: create a new WhatsAppBusinessAccount for another WABA"))]
    #[schemars(length(min = 1, max = 32))]
    pub business_account_id: String,

    /// Secret key holding a Graph API access token (a system user token) with the
    /// whatsapp_business_management permission on this WABA.
    pub credentials_secret_ref: SecretKeyRef,

    /// Subscription of the Meta app to this WABA's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhooks: Option<WebhookSubscription>,

    /// How often Meta is polled for this account and its channels, as a duration such as "10m" or
    /// "1h". Webhooks trigger syncs in between. Minimum 1m.
    #[serde(default = "default_sync_interval")]
    #[x_kube(validation = Rule::new("self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$')").message("syncInterval must be a duration such as \"30s\", \"10m\" or \"1h30m\""))]
    #[x_kube(validation = Rule::new("!self.matches('^([0-9]+(\\\\.[0-9]+)?(ms|s|m|h))+$') || duration(self) >= duration('1m')").message("syncInterval must be at least 1m: Meta allows about 200 requests per hour per WABA"))]
    #[schemars(length(max = 32))]
    pub sync_interval: Interval,
}

fn default_sync_interval() -> Interval {
    "10m".into()
}

/// Webhook subscription settings (`POST /{waba-id}/subscribed_apps`).
#[derive(KubeSchema, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookSubscription {
    /// Subscribe the app to this WABA's webhooks and repair the subscription when it goes missing.
    #[serde(default = "default_true")]
    pub enabled: bool,

    /// Callback URL that overrides the app's default for this WABA (https, at most 200 characters).
    /// Account and template webhooks always go to the app's default callback URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[x_kube(validation = Rule::new("self.matches('^https://')").message("overrideCallbackUri must be an https:// URL"))]
    #[schemars(length(max = 200))]
    pub override_callback_uri: Option<String>,

    /// Secret key holding the verify token Meta sends when the override callback is set.
    /// Required with overrideCallbackUri; the Secret must be labelled
    /// `whatsapp-operator.io/webhook-verify-token: "true"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token_secret_ref: Option<SecretKeyRef>,
}

fn default_true() -> bool {
    true
}

/// Meta's view of the account.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WhatsAppBusinessAccountStatus {
    /// Generation of the spec the status reflects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,

    /// Ready (the WABA can send), Synced (the last sync worked) and Stalled (a human must act).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["type"]))]
    pub conditions: Vec<Condition>,

    /// Register and deregister attempts per number (E.164 digits), newest last, pruned after 72
    /// hours. Kept on the account rather than the channel, so deleting and re-creating a channel
    /// cannot multiply Meta's budget of 3 attempts per 72 hours. Written by the channel
    /// controller (merge patch, its own field manager); the account controller never applies it.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub registration_history: std::collections::BTreeMap<String, Vec<Time>>,

    /// Name of the WABA at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,

    /// Meta's account review status (PENDING, APPROVED, REJECTED, DEFERRED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_review_status: Option<String>,

    /// Verification status of the owning business portfolio (verified, pending, rejected...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_verification_status: Option<String>,

    /// Ownership of the WABA (e.g. CLIENT_OWNED, ON_BEHALF_OF, SELF).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ownership_type: Option<String>,

    /// The business portfolio that owns the WABA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_business: Option<OwnerBusiness>,

    /// Business portfolio messaging limit (TIER_250, TIER_2K, TIER_10K, TIER_100K, TIER_UNLIMITED).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,

    /// Health of the WABA, its business portfolio and the app.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health: Option<HealthSummary>,

    /// Number of phone numbers in the WABA at Meta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    // Kubernetes knows int32/int64 formats, not uint32.
    #[schemars(with = "Option<i32>", range(min = 0))]
    pub phone_number_count: Option<u32>,

    /// Whether the app is subscribed to this WABA's webhooks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_subscribed: Option<bool>,

    /// Restrictions Meta placed on the account (from account_update webhooks).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub restrictions: Vec<AccountRestriction>,

    /// Ban state from account_update DISABLED_UPDATE webhooks (DISABLE, SCHEDULE_FOR_DISABLE, REINSTATE).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban_state: Option<String>,

    /// When the operator recorded the current ban state (RFC 3339, the operator's clock).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ban_state_since: Option<Time>,

    /// Meta's account alerts (account_alerts webhooks), one per alert type and entity, sorted.
    /// An alert Meta no longer reports as ACTIVE stays with the status Meta gave it (NONE,
    /// RESOLVED...) until Meta reports that alert again, so the list shows Meta's last word on
    /// each; the event AccountAlert announces an ACTIVE one, AccountAlertResolved its end.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub alerts: Vec<AccountAlert>,

    /// The capabilities of the WABA and its business portfolio from business_capability_update
    /// webhooks. Meta reports the caps in separate updates: each value is the last one given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capabilities: Option<AccountCapabilities>,

    /// Policy or terms violations Meta reported (account_update ACCOUNT_VIOLATION), one per
    /// violation type, sorted. Meta sends no notice when a violation ends, so they stay listed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub violations: Vec<AccountViolation>,

    /// Volume-based pricing tiers the WABA reached (account_update
    /// VOLUME_BASED_PRICING_TIER_UPDATE), one per pricing category and region, sorted.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pricing_tiers: Vec<PricingTier>,

    /// When the access token expires, from Meta's debug_token (RFC 3339); absent for tokens that never expire.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_expire_at: Option<Time>,

    /// Sync bookkeeping.
    #[serde(default, flatten)]
    pub sync: SyncStatus,

    /// Webhook notices waiting and the delivery times of those applied.
    #[serde(default, flatten)]
    pub webhook: super::WebhookRecord,
}

/// The business portfolio owning a WABA.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct OwnerBusiness {
    /// Business portfolio ID.
    pub id: String,
    /// Business portfolio name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One restriction from an ACCOUNT_RESTRICTION webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountRestriction {
    /// Meta's restriction type, e.g. RESTRICTED_BIZ_INITIATED_MESSAGING.
    #[serde(rename = "type")]
    pub type_: String,
    /// When the restriction ends (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expiration: Option<Time>,
}

/// One alert from an account_alerts webhook.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountAlert {
    /// Meta's alert type, e.g. INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED, OBA_REJECTED.
    #[serde(rename = "type")]
    pub type_: String,
    /// What the alert is about: BUSINESS, PHONE_NUMBER... (Meta's entity_type).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_type: Option<String>,
    /// Meta's ID of that entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity_id: Option<String>,
    /// CRITICAL, WARNING or INFORMATIONAL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    /// Meta's alert status, verbatim: ACTIVE while it holds, another value (NONE...) once not.
    pub status: String,
    /// Meta's description of the alert.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// When Meta sent the notice that put the alert in its current state (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// What business_capability_update webhooks said of the WABA and its business portfolio.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountCapabilities {
    /// The business portfolio's messaging limit (max_daily_conversations_per_business), in the
    /// spelling of status.messagingLimit (TIER_2K, TIER_UNLIMITED...). A change raises
    /// PortfolioLimitIncreased or PortfolioLimitDecreased.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit: Option<String>,
    /// How many phone numbers the WABA may have (max_phone_numbers_per_waba).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_phone_numbers_per_waba: Option<i64>,
    /// How many phone numbers the business portfolio may have (max_phone_numbers_per_business;
    /// Meta gives it while the portfolio limit is 250).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_phone_numbers_per_business: Option<i64>,
}

/// One violation type from account_update ACCOUNT_VIOLATION webhooks.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AccountViolation {
    /// Meta's violation type (violation_info.violation_type), e.g. ADULT or SCAM.
    #[serde(rename = "type")]
    pub type_: String,
    /// When Meta first reported it (RFC 3339, the notice's delivery time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<Time>,
}

/// The volume tier of one pricing category in one market, from account_update
/// VOLUME_BASED_PRICING_TIER_UPDATE webhooks (volume_tier_info).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct PricingTier {
    /// The template category the tier's rates apply to (UTILITY, AUTHENTICATION...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pricing_category: Option<String>,
    /// The market, as Meta names it (e.g. INDIA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// The tier, Meta's range of delivered messages (e.g. 25000001:50000000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    /// The month the tier's rates apply from (YYYY-MM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_month: Option<String>,
    /// When the WABA reached the tier (RFC 3339; Meta's tier_update_time, else the notice's
    /// delivery time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<Time>,
}
