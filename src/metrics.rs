//! Prometheus metrics: operator health and Meta's view of every channel and account.
//!
//! Per-resource series are built at each scrape from the watch caches of every watch scope
//! (`resources`), so they always match the resources that exist: a deleted resource is gone from
//! its store and its series with it, with nothing to prune. They carry namespace and name, and
//! Meta's ids where they help to join (never tokens, PINs or codes). Operator series (reconciles,
//! Graph requests, webhooks, events) are counted as things happen.

mod resources;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub use resources::{AccountView, ScopeSnapshot, StateSets, WatchScope};

type GaugeF = Gauge<f64, std::sync::atomic::AtomicU64>;

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

pub struct Metrics {
    registry: Registry,
    /// The watch scopes whose resources each scrape reports (shared with the collector).
    scopes: Arc<RwLock<Vec<Arc<dyn WatchScope>>>>,
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
    graph_version_retirement: Family<VersionLabels, Gauge>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VersionLabels {
    pub version: String,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// The metrics with enum states as their current value only (`StateSets::Current`).
    pub fn new() -> Self {
        Self::with_state_sets(StateSets::default())
    }

    pub fn with_state_sets(state_sets: StateSets) -> Self {
        let mut registry = Registry::with_prefix("whatsapp_operator");
        let op = Operational::register(&mut registry);
        let scopes: Arc<RwLock<Vec<Arc<dyn WatchScope>>>> = Arc::default();
        let resources = resources::Resources::new(scopes.clone(), state_sets);
        registry.register_collector(Box::new(resources));
        Self {
            registry,
            scopes,
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

    /// The retirement time (Unix seconds) of the Graph API version in use.
    pub fn graph_version_retires(&self, version: &str, at_seconds: i64) {
        self.op
            .graph_version_retirement
            .get_or_create(&VersionLabels {
                version: version.into(),
            })
            .set(at_seconds);
    }

    /// Reports the resources of a watch scope at every scrape from now on, while the scope
    /// runs (see `WatchScope::snapshot`).
    pub fn register_scope(&self, scope: Arc<dyn WatchScope>) {
        self.scopes
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(scope);
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
        let graph_version_retirement = registered(
            r,
            "graph_api_version_retirement_timestamp_seconds",
            "When Meta retires the Graph API version the operator calls (absent when unknown)",
            Family::<VersionLabels, Gauge>::default(),
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
            graph_version_retirement,
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
