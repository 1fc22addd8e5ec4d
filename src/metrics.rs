//! Prometheus metrics: operator health and Meta's view of every channel and account.
//!
//! Per-resource series are keyed by namespace and name only (never tokens or numbers' PINs) and
//! are removed when the resource is deleted, so dashboards never show ghosts.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use crate::crd::{
    WhatsAppBusinessAccountStatus, WhatsAppChannelStatus, condition, condition_is_true,
};
use crate::meta::model::{CanSendMessage, MessagingLimit, QualityRating};

type GaugeF = Gauge<f64, AtomicU64>;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResourceLabels {
    pub namespace: String,
    pub name: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct StateLabels {
    pub namespace: String,
    pub name: String,
    pub state: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReconcileLabels {
    pub controller: String,
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ControllerLabels {
    pub controller: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct GraphLabels {
    pub endpoint: String,
    pub outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct UsageLabels {
    pub waba_id: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    pub reason: String,
    pub r#type: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    pub field: String,
    pub result: String,
}

/// Families of one resource kind's state gauges.
struct StateFamilies {
    quality: Family<ResourceLabels, GaugeF>,
    meta_status: Family<StateLabels, GaugeF>,
    messaging_limit: Family<ResourceLabels, GaugeF>,
    can_send_message: Family<ResourceLabels, GaugeF>,
    ready: Family<ResourceLabels, GaugeF>,
}

impl StateFamilies {
    fn register(registry: &mut Registry, kind: &str) -> Self {
        let s = Self {
            quality: Family::default(),
            meta_status: Family::default(),
            messaging_limit: Family::default(),
            can_send_message: Family::default(),
            ready: Family::default(),
        };
        if kind == "channel" {
            registry.register(
                format!("{kind}_quality_rating"),
                "Meta quality rating: 3 GREEN, 2 YELLOW, 1 RED, 0 not rated",
                s.quality.clone(),
            );
        }
        registry.register(
            format!("{kind}_meta_status"),
            "1 for the resource's current Meta status (label state); for accounts the review status",
            s.meta_status.clone(),
        );
        registry.register(
            format!("{kind}_messaging_limit"),
            "Messaging limit in unique users per 24 h (+Inf when unlimited)",
            s.messaging_limit.clone(),
        );
        registry.register(
            format!("{kind}_can_send_message"),
            "Meta health: 2 AVAILABLE, 1 LIMITED, 0 BLOCKED",
            s.can_send_message.clone(),
        );
        registry.register(
            format!("{kind}_ready"),
            "1 when the Ready condition is True",
            s.ready.clone(),
        );
        s
    }

    fn remove(&self, labels: &ResourceLabels, state: Option<String>) {
        self.quality.remove(labels);
        self.messaging_limit.remove(labels);
        self.can_send_message.remove(labels);
        self.ready.remove(labels);
        if let Some(state) = state {
            self.meta_status.remove(&StateLabels {
                namespace: labels.namespace.clone(),
                name: labels.name.clone(),
                state,
            });
        }
    }
}

/// Current state values of one resource, as exported.
struct StateValues<'a> {
    quality: Option<&'a str>,
    meta_status: Option<&'a str>,
    limit: Option<&'a str>,
    can_send: Option<&'a str>,
    ready: bool,
}

pub struct Metrics {
    registry: Registry,
    channels: StateFamilies,
    accounts: StateFamilies,
    /// Last exported Meta status label per resource, so a change removes the old series.
    last_state: Mutex<HashMap<(&'static str, ResourceLabels), String>>,
    /// Resources that have series, per kind.
    known: Mutex<std::collections::HashSet<(&'static str, ResourceLabels)>>,
    op: Operational,
}

/// The operator's own series (not per resource).
struct Operational {
    reconciles: Family<ReconcileLabels, Counter>,
    reconcile_duration: Family<ControllerLabels, Histogram>,
    graph_requests: Family<GraphLabels, Counter>,
    graph_usage: Family<UsageLabels, GaugeF>,
    events: Family<EventLabels, Counter>,
    webhook_deliveries: Family<WebhookLabels, Counter>,
    webhook_signature_failures: Counter,
    webhook_ack_seconds: Histogram,
    leader: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("whatsapp_operator");
        let channels = StateFamilies::register(&mut registry, "channel");
        let accounts = StateFamilies::register(&mut registry, "account");
        let op = Operational::register(&mut registry);
        Self {
            registry,
            channels,
            accounts,
            last_state: Mutex::default(),
            known: Mutex::default(),
            op,
        }
    }

    /// Prometheus text exposition of every metric.
    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }

    pub fn reconciled(&self, controller: &str, result: &str, took: Duration) {
        self.op
            .reconciles
            .get_or_create(&ReconcileLabels {
                controller: controller.into(),
                result: result.into(),
            })
            .inc();
        self.op
            .reconcile_duration
            .get_or_create(&ControllerLabels {
                controller: controller.into(),
            })
            .observe(took.as_secs_f64());
    }

    pub fn graph_request(&self, endpoint: &str, outcome: &str) {
        self.op
            .graph_requests
            .get_or_create(&GraphLabels {
                endpoint: endpoint.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// `ratio` in 0..=1 for each usage kind (call_count, total_cputime, total_time).
    pub fn graph_usage(&self, waba_id: &str, kind: &str, ratio: f64) {
        self.op
            .graph_usage
            .get_or_create(&UsageLabels {
                waba_id: waba_id.into(),
                kind: kind.into(),
            })
            .set(ratio);
    }

    pub fn event_published(&self, reason: &str, type_: &str) {
        self.op
            .events
            .get_or_create(&EventLabels {
                reason: reason.into(),
                r#type: type_.into(),
            })
            .inc();
    }

    pub fn webhook_delivery(&self, field: &str, result: &str) {
        self.op
            .webhook_deliveries
            .get_or_create(&WebhookLabels {
                field: field.into(),
                result: result.into(),
            })
            .inc();
    }

    pub fn webhook_signature_failure(&self) {
        self.op.webhook_signature_failures.inc();
    }

    pub fn webhook_acknowledged(&self, took: Duration) {
        self.op.webhook_ack_seconds.observe(took.as_secs_f64());
    }

    pub fn set_leader(&self, leader: bool) {
        self.op.leader.set(i64::from(leader));
    }

    pub fn set_channel(&self, namespace: &str, name: &str, status: &WhatsAppChannelStatus) {
        let values = StateValues {
            quality: status.quality_rating.as_deref(),
            meta_status: status.status.as_deref(),
            limit: status.messaging_limit.as_deref(),
            can_send: status
                .health
                .as_ref()
                .and_then(|h| h.can_send_message.as_deref()),
            ready: condition_is_true(&status.conditions, condition::READY),
        };
        self.set_state("channel", &self.channels, namespace, name, &values);
    }

    pub fn set_account(&self, namespace: &str, name: &str, status: &WhatsAppBusinessAccountStatus) {
        let values = StateValues {
            quality: None,
            meta_status: status.account_review_status.as_deref(),
            limit: status.messaging_limit.as_deref(),
            can_send: status
                .health
                .as_ref()
                .and_then(|h| h.can_send_message.as_deref()),
            ready: condition_is_true(&status.conditions, condition::READY),
        };
        self.set_state("account", &self.accounts, namespace, name, &values);
    }

    pub fn remove_channel(&self, namespace: &str, name: &str) {
        self.remove_state("channel", &self.channels, namespace, name);
    }

    pub fn remove_account(&self, namespace: &str, name: &str) {
        self.remove_state("account", &self.accounts, namespace, name);
    }

    /// Removes the series of accounts and channels for which `account_exists` or
    /// `channel_exists` is false: deleted while no reconcile saw them go (accounts and most
    /// channels carry no finalizer).
    pub fn prune(
        &self,
        account_exists: impl Fn(&str, &str) -> bool,
        channel_exists: impl Fn(&str, &str) -> bool,
    ) {
        let gone: Vec<(&'static str, ResourceLabels)> = self
            .known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .filter(|(kind, l)| match *kind {
                "account" => !account_exists(&l.namespace, &l.name),
                "channel" => !channel_exists(&l.namespace, &l.name),
                _ => false,
            })
            .cloned()
            .collect();
        for (kind, l) in gone {
            match kind {
                "account" => self.remove_account(&l.namespace, &l.name),
                _ => self.remove_channel(&l.namespace, &l.name),
            }
        }
    }

    fn set_state(
        &self,
        kind: &'static str,
        families: &StateFamilies,
        namespace: &str,
        name: &str,
        values: &StateValues<'_>,
    ) {
        let labels = ResourceLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((kind, labels.clone()));
        if let Some(q) = values.quality {
            let rank = QualityRating::parse(q).rank().unwrap_or(0);
            families.quality.get_or_create(&labels).set(f64::from(rank));
        }
        match values.limit.and_then(|l| MessagingLimit::parse(l).as_f64()) {
            Some(limit) => {
                families.messaging_limit.get_or_create(&labels).set(limit);
            }
            None => {
                families.messaging_limit.remove(&labels);
            }
        }
        match values.can_send.map(CanSendMessage::parse) {
            Some(c) => {
                let v = 2 - c.severity();
                families
                    .can_send_message
                    .get_or_create(&labels)
                    .set(f64::from(v));
            }
            None => {
                families.can_send_message.remove(&labels);
            }
        }
        families
            .ready
            .get_or_create(&labels)
            .set(if values.ready { 1.0 } else { 0.0 });

        self.set_meta_status(kind, families, labels, values.meta_status);
    }

    /// One `meta_status{state}` series per resource: the one of the previous state goes.
    fn set_meta_status(
        &self,
        kind: &'static str,
        families: &StateFamilies,
        labels: ResourceLabels,
        state: Option<&str>,
    ) {
        let mut last = self
            .last_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let with_state = |state: &str| StateLabels {
            namespace: labels.namespace.clone(),
            name: labels.name.clone(),
            state: state.to_string(),
        };
        let key = (kind, labels.clone());
        let new_state = state.map(str::to_string);
        if let Some(old) = last.get(&key)
            && Some(old) != new_state.as_ref()
        {
            families.meta_status.remove(&with_state(old));
        }
        match new_state {
            Some(state) => {
                families
                    .meta_status
                    .get_or_create(&with_state(&state))
                    .set(1.0);
                last.insert(key, state);
            }
            None => {
                last.remove(&key);
            }
        }
    }

    fn remove_state(
        &self,
        kind: &'static str,
        families: &StateFamilies,
        namespace: &str,
        name: &str,
    ) {
        let labels = ResourceLabels {
            namespace: namespace.into(),
            name: name.into(),
        };
        self.known
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(kind, labels.clone()));
        let state = self
            .last_state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(kind, labels.clone()));
        families.remove(&labels, state);
    }
}

impl crate::graph::GraphObserver for Metrics {
    fn request_finished(&self, endpoint: &'static str, outcome: &str) {
        self.graph_request(endpoint, outcome);
    }

    fn usage_updated(&self, waba_id: &str, usage: &crate::graph::Usage) {
        if let Some(buc) = &usage.business_use_case {
            self.graph_usage(waba_id, "call_count", f64::from(buc.call_count) / 100.0);
            self.graph_usage(
                waba_id,
                "total_cputime",
                f64::from(buc.total_cputime) / 100.0,
            );
            self.graph_usage(waba_id, "total_time", f64::from(buc.total_time) / 100.0);
        }
        if let Some(app) = &usage.app {
            self.graph_usage(waba_id, "app_call_count", f64::from(app.call_count) / 100.0);
        }
    }
}

impl Operational {
    fn register(r: &mut Registry) -> Self {
        let reconciles = registered(
            r,
            "reconciles",
            "Reconciles by controller and result",
            Family::<ReconcileLabels, Counter>::default(),
        );
        let reconcile_duration = registered(
            r,
            "reconcile_duration_seconds",
            "Reconcile duration by controller",
            Family::<ControllerLabels, Histogram>::new_with_constructor(|| {
                Histogram::new(exponential_buckets(0.005, 2.0, 14))
            }),
        );
        let graph_requests = registered(
            r,
            "graph_requests",
            "Meta Graph API requests by endpoint and outcome",
            Family::<GraphLabels, Counter>::default(),
        );
        let graph_usage = registered(
            r,
            "graph_usage_ratio",
            "Meta rate-limit usage per WABA (0-1) from X-Business-Use-Case-Usage",
            Family::<UsageLabels, GaugeF>::default(),
        );
        let (events, webhook_deliveries, webhook_signature_failures, webhook_ack_seconds) =
            Self::register_events_and_webhooks(r);
        let leader = registered(
            r,
            "leader",
            "1 when this replica reconciles",
            Gauge::default(),
        );
        Self {
            reconciles,
            reconcile_duration,
            graph_requests,
            graph_usage,
            events,
            webhook_deliveries,
            webhook_signature_failures,
            webhook_ack_seconds,
            leader,
        }
    }

    #[allow(clippy::type_complexity)]
    fn register_events_and_webhooks(
        r: &mut Registry,
    ) -> (
        Family<EventLabels, Counter>,
        Family<WebhookLabels, Counter>,
        Counter,
        Histogram,
    ) {
        let events = registered(
            r,
            "events_published",
            "Kubernetes events published by reason",
            Family::<EventLabels, Counter>::default(),
        );
        let webhook_deliveries = registered(
            r,
            "webhook_deliveries",
            "Meta webhook deliveries by field and result",
            Family::<WebhookLabels, Counter>::default(),
        );
        let webhook_signature_failures = registered(
            r,
            "webhook_signature_failures",
            "Meta webhook deliveries rejected for a missing or wrong X-Hub-Signature-256",
            Counter::default(),
        );
        let webhook_ack_seconds = registered(
            r,
            "webhook_ack_seconds",
            "Time to acknowledge a Meta webhook delivery",
            Histogram::new(exponential_buckets(0.0005, 2.0, 14)),
        );
        (
            events,
            webhook_deliveries,
            webhook_signature_failures,
            webhook_ack_seconds,
        )
    }
}

/// Registers `metric` under `name` and hands it back for updating.
fn registered<M>(registry: &mut Registry, name: &str, help: &str, metric: M) -> M
where
    M: prometheus_client::registry::Metric + Clone,
{
    registry.register(name, help, metric.clone());
    metric
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::HealthSummary;

    fn channel_status(status: &str, quality: &str) -> WhatsAppChannelStatus {
        WhatsAppChannelStatus {
            status: Some(status.into()),
            quality_rating: Some(quality.into()),
            messaging_limit: Some("TIER_2K".into()),
            health: Some(HealthSummary {
                can_send_message: Some("LIMITED".into()),
                entities: vec![],
            }),
            ..Default::default()
        }
    }

    #[test]
    fn channel_series_follow_status_and_vanish_on_delete() {
        let m = Metrics::new();
        m.set_channel("ns", "sales", &channel_status("CONNECTED", "GREEN"));
        let text = m.encode().unwrap();
        assert!(
            text.contains(
                r#"whatsapp_operator_channel_quality_rating{namespace="ns",name="sales"} 3"#
            ),
            "{text}"
        );
        assert!(text.contains(
            r#"whatsapp_operator_channel_messaging_limit{namespace="ns",name="sales"} 2000"#
        ));
        assert!(text.contains(
            r#"whatsapp_operator_channel_can_send_message{namespace="ns",name="sales"} 1"#
        ));
        assert!(text.contains(r#"whatsapp_operator_channel_meta_status{namespace="ns",name="sales",state="CONNECTED"} 1"#));

        m.set_channel("ns", "sales", &channel_status("FLAGGED", "RED"));
        let text = m.encode().unwrap();
        assert!(
            !text.contains(r#"state="CONNECTED""#),
            "old state series must go: {text}"
        );
        assert!(text.contains(r#"state="FLAGGED"} 1"#));
        assert!(text.contains(
            r#"whatsapp_operator_channel_quality_rating{namespace="ns",name="sales"} 1"#
        ));

        m.remove_channel("ns", "sales");
        let text = m.encode().unwrap();
        assert!(!text.contains(r#"name="sales""#), "{text}");
    }

    #[test]
    fn resources_that_no_longer_exist_are_pruned() {
        let m = Metrics::new();
        let status = WhatsAppBusinessAccountStatus {
            account_review_status: Some("APPROVED".into()),
            ..Default::default()
        };
        m.set_account("ns", "kept", &status);
        m.set_account("ns", "gone", &status);
        m.set_channel("ns", "kept-ch", &channel_status("CONNECTED", "GREEN"));
        m.set_channel("ns", "gone-ch", &channel_status("CONNECTED", "GREEN"));
        m.prune(|_, name| name == "kept", |_, name| name == "kept-ch");
        let text = m.encode().unwrap();
        assert!(text.contains(r#"name="kept""#));
        assert!(text.contains(r#"name="kept-ch""#));
        assert!(!text.contains(r#"name="gone""#), "{text}");
        assert!(!text.contains(r#"name="gone-ch""#), "{text}");
    }

    #[test]
    fn unlimited_limit_is_infinite() {
        let m = Metrics::new();
        let mut s = channel_status("CONNECTED", "GREEN");
        s.messaging_limit = Some("TIER_UNLIMITED".into());
        m.set_channel("ns", "a", &s);
        let text = m.encode().unwrap();
        assert!(
            text.contains(
                r#"whatsapp_operator_channel_messaging_limit{namespace="ns",name="a"} inf"#
            ),
            "{text}"
        );
    }
}
