use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A key of a Secret in the resource's own namespace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SecretKeyRef {
    /// Name of the Secret, in the same namespace as this resource.
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// Key inside the Secret's data.
    #[schemars(length(min = 1, max = 253))]
    pub key: String,
}

/// Meta's `health_status` of a node, as the operator last saw it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthSummary {
    /// Overall ability to send messages: AVAILABLE, LIMITED or BLOCKED (Meta's value, verbatim).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_send_message: Option<String>,
    /// Whether the number can receive calls over SIP: can_receive_call_sip of the PHONE_NUMBER
    /// entity, verbatim (AVAILABLE, LIMITED, BLOCKED...). Only a number's health has it, and
    /// only when Meta reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_receive_call_sip: Option<String>,
    /// Health of each entity Meta checks (PHONE_NUMBER, WABA, BUSINESS, APP), with errors and
    /// Meta's suggested solutions.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub entities: Vec<HealthEntityStatus>,
}

/// Health of one entity (the number, its WABA, the business portfolio or the app).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthEntityStatus {
    /// PHONE_NUMBER, WABA, BUSINESS or APP.
    pub entity_type: String,
    /// Meta's ID of the entity.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// AVAILABLE, LIMITED or BLOCKED.
    pub can_send_message: String,
    /// Whether the entity can receive calls over SIP (PHONE_NUMBER and APP entities), verbatim,
    /// when Meta reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub can_receive_call_sip: Option<String>,
    /// Why the entity is blocked, with Meta's suggested fix.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<HealthErrorStatus>,
    /// Why the entity is limited.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub additional_info: Vec<String>,
}

/// One health error reported by Meta.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct HealthErrorStatus {
    /// Meta's error code, e.g. 141006 for a payment method problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    /// Meta's description of the problem.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Meta's suggested solution.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub possible_solution: Option<String>,
}

/// Sync bookkeeping shared by both resources.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SyncStatus {
    /// When the last successful read of Meta that changed this status happened (RFC 3339). A
    /// read that finds nothing new is not written (no writes at steady state), so this can be
    /// older than the last read; the metric
    /// whatsapp_operator_account_last_successful_sync_timestamp_seconds has the last read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sync_time: Option<Time>,
    /// Value of the `whatsapp-operator.io/reconcile-requested-at` annotation last acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_handled_reconcile_at: Option<String>,
    /// Consecutive failed syncs; drives the per-object exponential backoff.
    #[serde(default, skip_serializing_if = "is_zero")]
    #[schemars(with = "i32", range(min = 0))]
    pub failed_sync_attempts: u32,
    /// When the last sync failed (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_failure_time: Option<Time>,
    /// Earliest time the operator calls Meta again for this object after a failure or throttling (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_attempt_time: Option<Time>,
}

fn is_zero(n: &u32) -> bool {
    *n == 0
}

/// The condition of `type_`, if present.
pub fn find_condition<'a>(conditions: &'a [Condition], type_: &str) -> Option<&'a Condition> {
    conditions.iter().find(|c| c.type_ == type_)
}

/// True when the condition exists with status "True".
pub fn condition_is_true(conditions: &[Condition], type_: &str) -> bool {
    find_condition(conditions, type_).is_some_and(|c| c.status == "True")
}

/// Condition types.
pub mod condition {
    /// The number (or account) can be used to send messages.
    pub const READY: &str = "Ready";
    /// The last sync with Meta succeeded.
    pub const SYNCED: &str = "Synced";
    /// The operator cannot make progress without a human; the message says what to do.
    pub const STALLED: &str = "Stalled";
    /// The number is registered on the Cloud API.
    pub const REGISTERED: &str = "Registered";
    /// The operator is working towards the spec (adding, registering): kstatus's
    /// "in progress", so GitOps tools wait instead of judging the resource.
    pub const RECONCILING: &str = "Reconciling";
    /// A requested display-name change: Unknown while Meta reviews it, True once approved,
    /// False when rejected.
    pub const NAME_REVIEWED: &str = "NameReviewed";
}

/// What Meta's webhooks told a resource, kept in its status.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WebhookRecord {
    /// Webhook notices received and not yet applied, by a stable name of each notice. The
    /// receiver writes them here (its own field manager, a merge patch) before it answers Meta,
    /// so a delivery acknowledged is never lost to a restart; the reconcile applies and removes
    /// them.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    #[schemars(schema_with = "inbox_schema")]
    pub webhook_inbox: std::collections::BTreeMap<String, crate::meta::Notice>,
    /// Delivery time (RFC 3339) of the newest webhook notice applied, per part of the status it
    /// speaks about (quality, name, security, restrictions, banState..., and one per alert,
    /// violation type, pricing tier and security event, e.g. violation/ADULT): an older notice,
    /// redelivered or late, never overrides a newer one.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub fact_times: std::collections::BTreeMap<String, Time>,
}

/// Notices are kept as the receiver wrote them: the schema does not follow each kind of fact.
fn inbox_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "object",
        "additionalProperties": {
            "type": "object",
            "x-kubernetes-preserve-unknown-fields": true
        }
    })
}
