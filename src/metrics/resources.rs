//! Per-resource series, built at each scrape from the watch caches.
//!
//! Reading the stores at scrape time (rather than setting gauges from reconciles) means the
//! series are exactly the resources that exist: no prune pass, no ghosts after a deletion that
//! no reconcile saw, no lost update. The status in a store trails the reconcile that wrote it by
//! the watch's latency (milliseconds), far below any scrape interval.
//!
//! Enum states (Meta's status, quality rating, messaging limit tier and health, the phase, the
//! account's review status) come in one of two shapes, chosen by `--metrics-state-sets`
//! ([`StateSets`]):
//!
//! - `current` (the default): one series per resource whose label is the current value, with
//!   value 1. Conditions, which alerts test most, get a 0/1 series for both True and False (and
//!   one for Unknown while the condition is Unknown), so `status="True"} == 0` reads "not
//!   True". A Managed channel so has 15 series at steady state: /metrics grows with the fleet,
//!   and this keeps it as small as the alerts allow.
//! - `full`: kube-state-metrics' StateSet, one series per known value of the enum (from the
//!   enums of `meta::model` and `crd`), 1 for the current value and 0 for the others, and
//!   conditions with True, False and Unknown always. That is about 35 more series per channel
//!   (11 statuses, 11 phases, 5 ratings, 9 tiers, 3 health values), for dashboards and queries
//!   that want a 0 rather than an absent series.
//!
//! In both, Meta's values this operator does not know appear verbatim, as 1, and a field status
//! does not hold yet (a channel Meta has not been read for) has no series at all: a 0 would
//! claim Meta said "not this" when it said nothing. Alerts compare with `== 1`, so they read
//! both shapes alike.
//!
//! Only ids Meta assigns (WABA id, phone number id) and spec enums appear as labels: never a
//! token, a PIN, a verification code or anything read from a Secret.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::ResourceExt;
use kube::runtime::reflector::Store;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, MetricEncoder};
use prometheus_client::metrics::MetricType;

use crate::crd::{
    DeletionPolicy, Management, Phase, RegistrationProgress, WhatsAppBusinessAccount,
    WhatsAppChannel, WhatsAppMessageTemplate, condition, find_condition,
};
use crate::decide::{self, ConditionStatus};
use crate::meta::model::{
    CanSendMessage, MessagingLimit, NumberStatus, QualityRating, ReviewStatus,
};

/// The resources of one watch scope, as a scrape sees them.
pub trait WatchScope: Send + Sync {
    /// What the scope's stores hold now; `None` once the scope stopped (its controllers ended
    /// with the leadership or the process), so a stopped scope reports nothing rather than its
    /// last state forever.
    fn snapshot(&self) -> Option<ScopeSnapshot>;
}

/// The accounts and channels of a scope at one scrape.
#[derive(Default)]
pub struct ScopeSnapshot {
    pub accounts: Vec<AccountView>,
    pub channels: Vec<Arc<WhatsAppChannel>>,
    pub templates: Vec<Arc<WhatsAppMessageTemplate>>,
}

/// An account with what this process knows beyond its status.
pub struct AccountView {
    pub account: Arc<WhatsAppBusinessAccount>,
    /// This process's last successful read of Meta for the account: a read that changed
    /// nothing is not written to status, so status alone can be older.
    pub last_sync: Option<Time>,
}

/// Bare stores (tests, tools): what status says is all there is.
impl WatchScope for (Store<WhatsAppBusinessAccount>, Store<WhatsAppChannel>) {
    fn snapshot(&self) -> Option<ScopeSnapshot> {
        Some(ScopeSnapshot {
            accounts: self
                .0
                .state()
                .into_iter()
                .map(|account| AccountView {
                    account,
                    last_sync: None,
                })
                .collect(),
            channels: self.1.state(),
            templates: Vec::new(),
        })
    }
}

/// Which values of each enum state a scrape writes out (`--metrics-state-sets`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum StateSets {
    /// The current value only, as 1: the smallest /metrics.
    #[default]
    Current,
    /// Every known value, 1 for the current one and 0 for the others (kube-state-metrics'
    /// StateSet), plus the current value when it is not a known one.
    Full,
}

/// The collector registered in the operator's registry.
pub struct Resources {
    scopes: Arc<RwLock<Vec<Arc<dyn WatchScope>>>>,
    state_sets: StateSets,
}

impl Resources {
    pub fn new(scopes: Arc<RwLock<Vec<Arc<dyn WatchScope>>>>, state_sets: StateSets) -> Self {
        Self { scopes, state_sets }
    }
}

impl fmt::Debug for Resources {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Resources").finish_non_exhaustive()
    }
}

/// Version of this build.
const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Collector for Resources {
    fn encode(&self, mut enc: DescriptorEncoder) -> fmt::Result {
        let scopes: Vec<Arc<dyn WatchScope>> = self
            .scopes
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        // Each family's samples must be contiguous, so the stores are read once and every
        // family then walks the same snapshot.
        let snapshots: Vec<ScopeSnapshot> = scopes.iter().filter_map(|s| s.snapshot()).collect();
        let accounts: Vec<&AccountView> = snapshots.iter().flat_map(|s| &s.accounts).collect();
        let channels: Vec<&WhatsAppChannel> = snapshots
            .iter()
            .flat_map(|s| s.channels.iter().map(AsRef::as_ref))
            .collect();
        gauge(
            &mut enc,
            "build_info",
            "Always 1; the version of the running operator as a label",
            |m| m.sample(&[("version", VERSION)], 1.0),
        )?;
        encode_accounts(&mut enc, &accounts, self.state_sets)?;
        encode_channels(
            &mut enc,
            &channels,
            &accounts,
            self.state_sets,
            Timestamp::now(),
        )?;
        let templates: Vec<&WhatsAppMessageTemplate> = snapshots
            .iter()
            .flat_map(|s| s.templates.iter().map(AsRef::as_ref))
            .collect();
        encode_templates(&mut enc, &templates, self.state_sets)
    }
}

/// Writes one gauge family: its descriptor, then whatever samples `f` adds (none is fine).
fn gauge(
    enc: &mut DescriptorEncoder,
    name: &'static str,
    help: &str,
    f: impl FnOnce(&mut Samples<'_, '_>) -> fmt::Result,
) -> fmt::Result {
    let mut metric = enc.encode_descriptor(name, help, None, MetricType::Gauge)?;
    f(&mut Samples(&mut metric))
}

struct Samples<'a, 'b>(&'b mut MetricEncoder<'a>);

impl Samples<'_, '_> {
    fn sample(&mut self, labels: &impl EncodeLabelSet, value: f64) -> fmt::Result {
        self.0.encode_family(labels)?.encode_gauge(&value)
    }

    /// The state series of `value` (label `key`), when there is a value: one per `known` value
    /// (1 for `value`, 0 for the others), and `value` itself as 1 when it is not among them.
    fn state(
        &mut self,
        ns: &str,
        name: &str,
        key: &str,
        value: Option<&str>,
        known: &[String],
    ) -> fmt::Result {
        let Some(value) = value else {
            return Ok(());
        };
        for k in known {
            let v = if k == value { 1.0 } else { 0.0 };
            self.sample(&[("namespace", ns), ("name", name), (key, k.as_str())], v)?;
        }
        if known.iter().any(|k| k == value) {
            return Ok(());
        }
        self.sample(&[("namespace", ns), ("name", name), (key, value)], 1.0)
    }

    /// The statuses in `always` as 0/1 for each condition, and its status as 1 when it is
    /// not among them (Unknown in the `current` shape, anything outside the three).
    fn conditions(
        &mut self,
        ns: &str,
        name: &str,
        conditions: &[Condition],
        always: &[&str],
    ) -> fmt::Result {
        for c in conditions {
            for status in always {
                let value = if c.status == *status { 1.0 } else { 0.0 };
                self.sample(&condition_labels(ns, name, &c.type_, status), value)?;
            }
            if !always.contains(&c.status.as_str()) {
                self.sample(&condition_labels(ns, name, &c.type_, &c.status), 1.0)?;
            }
        }
        Ok(())
    }

    /// The reason of a True Stalled condition.
    fn stalled(&mut self, ns: &str, name: &str, conditions: &[Condition]) -> fmt::Result {
        match find_condition(conditions, condition::STALLED).filter(|c| c.status == "True") {
            Some(c) => self.sample(
                &[("namespace", ns), ("name", name), ("reason", &c.reason)],
                1.0,
            ),
            None => Ok(()),
        }
    }

    fn timestamp(&mut self, ns: &str, name: &str, at: Option<&Time>) -> fmt::Result {
        match at {
            Some(t) => self.sample(&[("namespace", ns), ("name", name)], seconds(t)),
            None => Ok(()),
        }
    }
}

fn condition_labels<'a>(
    ns: &'a str,
    name: &'a str,
    type_: &'a str,
    status: &'a str,
) -> [(&'static str, &'a str); 4] {
    [
        ("namespace", ns),
        ("name", name),
        ("condition", type_),
        ("status", status),
    ]
}

fn seconds(t: &Time) -> f64 {
    t.0.as_millisecond() as f64 / 1000.0
}

/// Namespace, name and status of a resource, for the closures of each family.
fn id<K: kube::Resource>(r: &K) -> (String, String) {
    (r.namespace().unwrap_or_default(), r.name_any())
}

/// Each object with its namespace, name and status (`empty` while it has none).
fn rows_of<'a, K: kube::Resource, S>(
    objects: &[&'a K],
    status: fn(&'a K) -> Option<&'a S>,
    empty: &'a S,
) -> Vec<(String, String, &'a K, &'a S)> {
    objects
        .iter()
        .map(|o| {
            let (ns, name) = id(*o);
            (ns, name, *o, status(o).unwrap_or(empty))
        })
        .collect()
}

/// A per-resource family of an enum state: the current value as a label (nothing while status
/// has none), and in the `full` shape every known value too.
struct StateFamily<S> {
    name: &'static str,
    help: &'static str,
    label: &'static str,
    value: fn(&S) -> Option<&str>,
    /// The enum's known values, as status spells them.
    known: fn() -> Vec<String>,
}

/// Status spellings of a Meta enum's known values.
fn spellings<T>(all: &[T], as_str: fn(&T) -> &str) -> Vec<String> {
    all.iter().map(|v| as_str(v).to_string()).collect()
}

fn known_tiers() -> Vec<String> {
    MessagingLimit::known()
        .iter()
        .map(MessagingLimit::canonical)
        .collect()
}

fn known_health() -> Vec<String> {
    spellings(CanSendMessage::ALL, CanSendMessage::as_str)
}

type AccountStatus = crate::crd::WhatsAppBusinessAccountStatus;
type ChannelStatus = crate::crd::WhatsAppChannelStatus;

const ACCOUNT_STATES: [StateFamily<AccountStatus>; 3] = [
    StateFamily {
        name: "account_review_status",
        help: "1 for the account's review status at Meta (label status: APPROVED, PENDING, REJECTED...)",
        label: "status",
        value: |s| s.account_review_status.as_deref(),
        known: || spellings(ReviewStatus::ALL, ReviewStatus::as_str),
    },
    StateFamily {
        name: "account_messaging_limit_tier",
        help: "1 for the business portfolio's messaging limit (label tier: TIER_250 ... TIER_UNLIMITED)",
        label: "tier",
        value: |s| s.messaging_limit.as_deref(),
        known: known_tiers,
    },
    StateFamily {
        name: "account_health",
        help: "1 for Meta's can_send_message of the WABA, its business and the app (AVAILABLE, LIMITED, BLOCKED)",
        label: "can_send_message",
        value: |s| {
            s.health
                .as_ref()
                .and_then(|h| h.can_send_message.as_deref())
        },
        known: known_health,
    },
];

const CHANNEL_STATES: [StateFamily<ChannelStatus>; 5] = [
    StateFamily {
        name: "channel_phase",
        help: "1 for the channel's phase (Pending, Adding, AwaitingVerificationCode, Registering, Connected, Degraded, Blocked, NotFound, Stalled...)",
        label: "phase",
        value: |s| Some(phase_str(s.phase)),
        known: || {
            Phase::KNOWN
                .iter()
                .map(|p| phase_str(*p).to_string())
                .collect()
        },
    },
    StateFamily {
        name: "channel_status",
        help: "1 for Meta's status of the number (CONNECTED, PENDING, FLAGGED, RESTRICTED, BANNED...)",
        label: "status",
        value: |s| s.status.as_deref(),
        known: || spellings(NumberStatus::ALL, NumberStatus::as_str),
    },
    StateFamily {
        name: "channel_quality",
        help: "1 for Meta's quality rating of the number (label rating: GREEN, YELLOW, RED, or NA/UNKNOWN when not rated)",
        label: "rating",
        value: |s| s.quality_rating.as_deref(),
        known: || spellings(QualityRating::ALL, QualityRating::as_str),
    },
    StateFamily {
        name: "channel_messaging_limit_tier",
        help: "1 for the number's messaging limit (label tier: TIER_250 ... TIER_UNLIMITED)",
        label: "tier",
        value: |s| s.messaging_limit.as_deref(),
        known: known_tiers,
    },
    StateFamily {
        name: "channel_health",
        help: "1 for Meta's can_send_message of the number, its WABA, business and app (AVAILABLE, LIMITED, BLOCKED)",
        label: "can_send_message",
        value: |s| {
            s.health
                .as_ref()
                .and_then(|h| h.can_send_message.as_deref())
        },
        known: known_health,
    },
];

type TemplateStatus = crate::crd::WhatsAppMessageTemplateStatus;

/// Meta's template statuses (its list filter's values and those only webhooks carry).
const TEMPLATE_STATUSES: &[&str] = &[
    "APPROVED",
    "PENDING",
    "REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
    "PENDING_DELETION",
    "DELETED",
    "FLAGGED",
    "LOCKED",
];

const TEMPLATE_STATES: [StateFamily<TemplateStatus>; 2] = [
    StateFamily {
        name: "template_status",
        help: "1 for Meta's status of the template (APPROVED, PENDING, REJECTED, PAUSED, DISABLED...)",
        label: "status",
        value: |s| s.status.as_deref(),
        known: || TEMPLATE_STATUSES.iter().map(|s| s.to_string()).collect(),
    },
    StateFamily {
        name: "template_quality",
        help: "1 for Meta's quality score of the template (label score: GREEN, YELLOW, RED, UNKNOWN)",
        label: "score",
        value: |s| s.quality_score.as_deref(),
        known: || {
            ["GREEN", "YELLOW", "RED", "UNKNOWN"]
                .iter()
                .map(|s| s.to_string())
                .collect()
        },
    },
];

fn encode_templates(
    enc: &mut DescriptorEncoder,
    templates: &[&WhatsAppMessageTemplate],
    state_sets: StateSets,
) -> fmt::Result {
    let empty = TemplateStatus::default();
    let rows = rows_of(templates, |t| t.status.as_ref(), &empty);
    gauge(
        enc,
        "template_info",
        "Always 1 per WhatsAppMessageTemplate; joins its account, template name, language, Meta's category and template id to namespace and name",
        |m| {
            rows.iter().try_for_each(|(ns, name, t, s)| {
                let labels = [
                    ("namespace", ns.as_str()),
                    ("name", name.as_str()),
                    ("account", t.spec.account_ref.name.as_str()),
                    ("template", t.spec.name.as_str()),
                    ("language", t.spec.language.as_str()),
                    (
                        "category",
                        s.category.as_deref().unwrap_or(t.spec.category.as_str()),
                    ),
                    ("template_id", s.template_id.as_deref().unwrap_or("")),
                ];
                m.sample(&labels, 1.0)
            })
        },
    )?;
    let plain: Vec<_> = rows
        .iter()
        .map(|(ns, name, _, s)| (ns.as_str(), name.as_str(), *s))
        .collect();
    let conditions: fn(&TemplateStatus) -> &[Condition] = |s| &s.conditions;
    encode_states(
        enc,
        "template",
        &TEMPLATE_STATES,
        &plain,
        conditions,
        state_sets,
    )
}

/// The state families, conditions and stall reasons of one kind.
fn encode_states<S>(
    enc: &mut DescriptorEncoder,
    kind: &'static str,
    families: &[StateFamily<S>],
    rows: &[(&str, &str, &S)],
    conditions: fn(&S) -> &[Condition],
    state_sets: StateSets,
) -> fmt::Result {
    for f in families {
        let known = match state_sets {
            StateSets::Current => Vec::new(),
            StateSets::Full => (f.known)(),
        };
        gauge(enc, f.name, f.help, |m| {
            rows.iter()
                .try_for_each(|(ns, name, s)| m.state(ns, name, f.label, (f.value)(s), &known))
        })?;
    }
    let all: Vec<&str> = ConditionStatus::ALL.iter().map(|c| c.as_str()).collect();
    let always: &[&str] = match state_sets {
        StateSets::Current => &all[..2],
        StateSets::Full => &all,
    };
    let (condition_name, stalled_name) = match kind {
        "account" => ("account_condition", "account_stalled_info"),
        "template" => ("template_condition", "template_stalled_info"),
        _ => ("channel_condition", "channel_stalled_info"),
    };
    gauge(
        enc,
        condition_name,
        &format!(
            "Conditions of the {kind}: 1 for the current status, 0 for the others of True and False (and Unknown with --metrics-state-sets=full)"
        ),
        |m| {
            rows.iter()
                .try_for_each(|(ns, name, s)| m.conditions(ns, name, conditions(s), always))
        },
    )?;
    gauge(
        enc,
        stalled_name,
        &format!("1 while the {kind} is Stalled, with the condition's reason"),
        |m| {
            rows.iter()
                .try_for_each(|(ns, name, s)| m.stalled(ns, name, conditions(s)))
        },
    )
}

fn encode_accounts(
    enc: &mut DescriptorEncoder,
    accounts: &[&AccountView],
    state_sets: StateSets,
) -> fmt::Result {
    let empty = AccountStatus::default();
    let rows: Vec<AccountRow<'_>> = accounts
        .iter()
        .map(|a| {
            let (ns, name) = id(a.account.as_ref());
            (ns, name, *a, a.account.status.as_ref().unwrap_or(&empty))
        })
        .collect();
    gauge(
        enc,
        "account_info",
        "Always 1 per WhatsAppBusinessAccount; joins its WABA id to namespace and name",
        |m| {
            rows.iter().try_for_each(|(ns, name, a, _)| {
                let waba = a.account.spec.business_account_id.as_str();
                m.sample(
                    &[
                        ("namespace", ns.as_str()),
                        ("name", name.as_str()),
                        ("waba_id", waba),
                    ],
                    1.0,
                )
            })
        },
    )?;
    let plain: Vec<_> = rows
        .iter()
        .map(|(ns, name, _, s)| (ns.as_str(), name.as_str(), *s))
        .collect();
    let conditions: fn(&AccountStatus) -> &[Condition] = |s| &s.conditions;
    encode_states(
        enc,
        "account",
        &ACCOUNT_STATES,
        &plain,
        conditions,
        state_sets,
    )?;
    encode_account_times(enc, &rows)
}

/// Account rows: namespace, name, the view and its status.
type AccountRow<'a> = (String, String, &'a AccountView, &'a AccountStatus);

/// When the account's token expires and when Meta was last read for it.
fn encode_account_times(enc: &mut DescriptorEncoder, rows: &[AccountRow<'_>]) -> fmt::Result {
    gauge(
        enc,
        "account_credentials_expiry_timestamp_seconds",
        "When the account's access token expires, from Meta's debug_token; absent when it never does",
        |m| {
            rows.iter().try_for_each(|(ns, name, _, s)| {
                m.timestamp(ns, name, s.credentials_expire_at.as_ref())
            })
        },
    )?;
    gauge(
        enc,
        "account_last_successful_sync_timestamp_seconds",
        "When Meta was last read successfully for the account and its channels",
        |m| {
            rows.iter().try_for_each(|(ns, name, a, s)| {
                let last = match (&a.last_sync, &s.sync.last_sync_time) {
                    (Some(mem), Some(st)) => Some(if mem.0 > st.0 { mem } else { st }),
                    (mem, st) => mem.as_ref().or(st.as_ref()),
                };
                m.timestamp(ns, name, last)
            })
        },
    )
}

fn encode_channels(
    enc: &mut DescriptorEncoder,
    channels: &[&WhatsAppChannel],
    accounts: &[&AccountView],
    state_sets: StateSets,
    now: Timestamp,
) -> fmt::Result {
    let empty = ChannelStatus::default();
    let rows = rows_of(channels, |c| c.status.as_ref(), &empty);
    gauge(
        enc,
        "channel_info",
        "Always 1 per WhatsAppChannel; joins its account, Meta's phone number id and its spec's management and deletion policy to namespace and name",
        |m| {
            rows.iter().try_for_each(|(ns, name, ch, s)| {
                let labels = [
                    ("namespace", ns.as_str()),
                    ("name", name.as_str()),
                    ("account", ch.spec.account_ref.name.as_str()),
                    (
                        "phone_number_id",
                        s.phone_number_id.as_deref().unwrap_or(""),
                    ),
                    ("management", management_str(ch.spec.management)),
                    (
                        "deletion_policy",
                        deletion_policy_str(ch.spec.deletion_policy),
                    ),
                ];
                m.sample(&labels, 1.0)
            })
        },
    )?;
    let plain: Vec<_> = rows
        .iter()
        .map(|(ns, name, _, s)| (ns.as_str(), name.as_str(), *s))
        .collect();
    let conditions: fn(&ChannelStatus) -> &[Condition] = |s| &s.conditions;
    encode_states(
        enc,
        "channel",
        &CHANNEL_STATES,
        &plain,
        conditions,
        state_sets,
    )?;
    encode_attempts_remaining(enc, &rows, accounts, now)
}

/// Register and deregister calls left per Managed channel, its account's history counted.
fn encode_attempts_remaining(
    enc: &mut DescriptorEncoder,
    rows: &[(String, String, &WhatsAppChannel, &ChannelStatus)],
    accounts: &[&AccountView],
    now: Timestamp,
) -> fmt::Result {
    let by_name: HashMap<(String, String), &WhatsAppBusinessAccount> = accounts
        .iter()
        .map(|a| (id(a.account.as_ref()), a.account.as_ref()))
        .collect();
    gauge(
        enc,
        "channel_registration_attempts_remaining",
        "Register and deregister calls the operator still allows for the number in the moving 72-hour window (Managed channels); 0 while Meta refuses further attempts",
        |m| {
            rows.iter().try_for_each(|(ns, name, ch, s)| {
                if ch.spec.management != Management::Managed {
                    return Ok(());
                }
                let mut progress: RegistrationProgress = s.registration.clone().unwrap_or_default();
                let account = by_name.get(&(ns.to_string(), ch.spec.account_ref.name.clone()));
                if let Some(history) = account.and_then(|a| number_history(ch, a)) {
                    decide::merge_history(&mut progress, history, now);
                }
                let left = decide::attempts_remaining(&progress, now);
                m.sample(
                    &[("namespace", ns.as_str()), ("name", name.as_str())],
                    left as f64,
                )
            })
        },
    )
}

/// The attempts the account keeps for the channel's number (those of deleted channels too).
fn number_history<'a>(
    ch: &WhatsAppChannel,
    account: &'a WhatsAppBusinessAccount,
) -> Option<&'a [Time]> {
    let number = ch.spec.phone_number.parsed().ok()?;
    account
        .status
        .as_ref()?
        .registration_history
        .get(number.digits())
        .map(Vec::as_slice)
}

/// Spellings as in the resources' YAML; exhaustive, so a new variant cannot go unlabelled.
fn phase_str(phase: Phase) -> &'static str {
    match phase {
        Phase::Pending => "Pending",
        Phase::Adding => "Adding",
        Phase::AwaitingDisplayName => "AwaitingDisplayName",
        Phase::AwaitingVerificationCode => "AwaitingVerificationCode",
        Phase::Registering => "Registering",
        Phase::Connected => "Connected",
        Phase::Degraded => "Degraded",
        Phase::Blocked => "Blocked",
        Phase::NotFound => "NotFound",
        Phase::Stalled => "Stalled",
        Phase::Deleting => "Deleting",
        Phase::Other => "Other",
    }
}

fn management_str(m: Management) -> &'static str {
    match m {
        Management::Managed => "Managed",
        Management::ObserveOnly => "ObserveOnly",
    }
}

fn deletion_policy_str(p: DeletionPolicy) -> &'static str {
    match p {
        DeletionPolicy::Orphan => "Orphan",
        DeletionPolicy::Deregister => "Deregister",
    }
}

#[cfg(test)]
mod tests;
