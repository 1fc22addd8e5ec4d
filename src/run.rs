//! `whatsapp-operator run`: wires Kubernetes, Graph, metrics, HTTP and leader election together.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use clap::{Args, ValueEnum};
use futures::channel::mpsc;
use thiserror::Error;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::controller::{self, ControllerConfig, WebhookSettings};
use crate::graph::{GraphClient, GraphConfig, GraphError};
use crate::http::{self, HttpError, Readiness};
use crate::metrics::{Metrics, StateSets};
use crate::webhook::{self, WebhookConfig, WebhookSecrets};

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

/// Flags of `run`; each also reads an environment variable.
#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// Base URL of Meta's Graph API (the simulator's URL for local runs).
    #[arg(
        long,
        env = "WAO_GRAPH_BASE_URL",
        default_value = "https://graph.facebook.com"
    )]
    pub graph_base_url: String,
    /// Graph API version.
    #[arg(long, env = "WAO_GRAPH_VERSION", default_value = "v24.0")]
    pub graph_version: String,
    /// Graph requests allowed per WABA per rolling hour (Meta's default budget is 200).
    #[arg(long, env = "WAO_GRAPH_HOURLY_BUDGET", default_value_t = 200)]
    pub graph_hourly_budget: u32,
    /// Timeout of one Graph request, in seconds.
    #[arg(long, env = "WAO_GRAPH_TIMEOUT_SECONDS", default_value_t = 20)]
    pub graph_timeout_seconds: u64,
    /// Namespaces to watch, comma separated; all namespaces when empty.
    #[arg(long, env = "WAO_NAMESPACES", value_delimiter = ',')]
    pub namespaces: Vec<String>,
    /// Reconciles running at once per controller.
    #[arg(long, env = "WAO_CONCURRENCY", default_value_t = 8)]
    pub concurrency: u16,
    /// Address of /metrics, /healthz and /readyz.
    #[arg(long, env = "WAO_METRICS_ADDR", default_value = "0.0.0.0:8080")]
    pub metrics_addr: SocketAddr,
    /// Enum states in /metrics: `current` writes each resource's current value only (as 1);
    /// `full` writes every known value, 1 for the current one and 0 for the others, like
    /// kube-state-metrics' StateSet (about 35 more series per channel).
    #[arg(
        long,
        env = "WAO_METRICS_STATE_SETS",
        value_enum,
        default_value = "current"
    )]
    pub metrics_state_sets: StateSets,
    /// Log format.
    #[arg(long, env = "WAO_LOG_FORMAT", value_enum, default_value = "text")]
    pub log_format: LogFormat,
    /// Elect a leader through a Lease so only one replica reconciles.
    #[arg(long, env = "WAO_LEADER_ELECTION", default_value_t = false)]
    pub leader_election: bool,
    /// Namespace of the leader election Lease.
    #[arg(long, env = "WAO_LEASE_NAMESPACE", default_value = "default")]
    pub lease_namespace: String,
    /// Name of the leader election Lease.
    #[arg(long, env = "WAO_LEASE_NAME", default_value = "whatsapp-operator")]
    pub lease_name: String,
    /// Identity of this replica in events and the Lease (the pod name).
    #[arg(long, env = "POD_NAME", default_value = "whatsapp-operator")]
    pub pod_name: String,
    /// Address of the Meta webhook endpoint, apart from /metrics; no receiver when empty.
    #[arg(long, env = "WAO_WEBHOOK_ADDR", default_value = "")]
    pub webhook_addr: String,
    /// Path of the Meta webhook endpoint (the callback URL's path).
    #[arg(long, env = "WAO_WEBHOOK_PATH", default_value = "/webhook")]
    pub webhook_path: String,
    /// Largest webhook body accepted, in bytes; larger ones get 413 (Meta documents payloads
    /// of up to 3 MB).
    #[arg(long, env = "WAO_WEBHOOK_MAX_BODY", default_value_t = 3 * 1024 * 1024)]
    pub webhook_max_body: usize,
    /// Seconds a webhook body has to arrive in full; slower ones get 408.
    #[arg(long, env = "WAO_WEBHOOK_BODY_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_body_timeout_seconds: u64,
    /// Webhook bodies over 64 KiB (or of unannounced length) read at once; more get 503.
    #[arg(long, env = "WAO_WEBHOOK_MAX_LARGE_BODIES", default_value_t = 4)]
    pub webhook_max_large_bodies: usize,
    /// Connections the webhook receiver serves at once; more get 503 and are closed unread.
    #[arg(long, env = "WAO_WEBHOOK_MAX_CONNECTIONS", default_value_t = 256)]
    pub webhook_max_connections: usize,
    /// Seconds a client has to send a request's headers, counted from the connection's start or
    /// its previous response (so an idle kept-alive connection is closed after as long).
    #[arg(long, env = "WAO_WEBHOOK_HEADER_TIMEOUT_SECONDS", default_value_t = 10)]
    pub webhook_header_timeout_seconds: u64,
    /// Namespace of the Secret holding the Meta app secret and the verify token.
    #[arg(long, env = "WAO_WEBHOOK_SECRET_NAMESPACE", default_value = "default")]
    pub webhook_secret_namespace: String,
    /// Name of that Secret.
    #[arg(
        long,
        env = "WAO_WEBHOOK_SECRET_NAME",
        default_value = "whatsapp-operator-webhook"
    )]
    pub webhook_secret_name: String,
    /// Key of the Meta app secret (signs deliveries) in that Secret.
    #[arg(long, env = "WAO_WEBHOOK_APP_SECRET_KEY", default_value = "app-secret")]
    pub webhook_app_secret_key: String,
    /// Key of the verify token (Meta's handshake) in that Secret.
    #[arg(
        long,
        env = "WAO_WEBHOOK_VERIFY_TOKEN_KEY",
        default_value = "verify-token"
    )]
    pub webhook_verify_token_key: String,
    /// How often the webhook Secret is read again, in seconds.
    #[arg(long, env = "WAO_WEBHOOK_SECRET_REFRESH_SECONDS", default_value_t = 30)]
    pub webhook_secret_refresh_seconds: u64,
    /// A webhook-triggered sync reads Meta again only if the last read is older than this many
    /// seconds; otherwise it applies the delivery's facts to the last read.
    #[arg(
        long,
        env = "WAO_WEBHOOK_MIN_READ_SPACING_SECONDS",
        default_value_t = 5
    )]
    pub webhook_min_read_spacing_seconds: u64,
    /// Hours between checks of a webhook subscription that status says is in place.
    #[arg(
        long,
        env = "WAO_WEBHOOK_SUBSCRIPTION_RECHECK_HOURS",
        default_value_t = 6
    )]
    pub webhook_subscription_recheck_hours: u64,
}

#[derive(Debug, Error)]
pub enum RunError {
    #[error("connecting to Kubernetes: {0}")]
    Kube(#[source] kube::Error),
    #[error("building the Graph client: {0}")]
    Graph(#[source] GraphError),
    #[error(transparent)]
    Http(#[from] HttpError),
    #[error("leader election: {0}")]
    Lease(#[source] kube_lease_manager::LeaseManagerError),
    #[error(transparent)]
    WebhookArgs(#[from] WebhookArgsError),
    #[error("the controllers stopped without being asked to")]
    ControllersEnded,
}

#[derive(Debug, Error)]
pub enum WebhookArgsError {
    #[error("--webhook-addr {addr:?} is not an address like 0.0.0.0:8443: {source}")]
    Addr {
        addr: String,
        #[source]
        source: std::net::AddrParseError,
    },
    #[error("--webhook-path {0:?} must start with /")]
    Path(String),
}

pub fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,kube=warn,hyper=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only for a person at a terminal: log collectors store escape codes verbatim.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

/// A log line at start, and the metric, for the Graph API version's retirement.
fn announce_graph_version(version: &str, metrics: &Metrics) {
    use crate::meta::versions;
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    if let Some(retires) = versions::retirement(version)
        && let Ok(at) = retires.to_zoned(jiff::tz::TimeZone::UTC)
    {
        metrics.graph_version_retires(version, at.timestamp().as_second());
    }
    match versions::standing(version, today).warning(version) {
        Some(warning) => warn!(%warning, "Graph API version"),
        None => info!(version, "Graph API version supported"),
    }
}

pub async fn run(args: RunArgs) -> Result<(), RunError> {
    let shutdown = CancellationToken::new();
    spawn_signal_handler(shutdown.clone());

    let client = kube::Client::try_default().await.map_err(RunError::Kube)?;
    let metrics = Arc::new(Metrics::with_state_sets(args.metrics_state_sets));
    let graph = GraphClient::new(GraphConfig {
        base_url: args.graph_base_url.clone(),
        version: args.graph_version.clone(),
        hourly_budget_per_waba: args.graph_hourly_budget,
        timeout: Duration::from_secs(args.graph_timeout_seconds),
        observer: Some(metrics.clone()),
        ..GraphConfig::default()
    })
    .map_err(RunError::Graph)?;
    announce_graph_version(&args.graph_version, &metrics);
    let ready = Arc::new(Readiness::default());

    let listener = http::bind(args.metrics_addr).await?;
    info!(addr = %args.metrics_addr, "serving /metrics, /healthz, /readyz");
    let server = tokio::spawn(http::serve(
        listener,
        http::router(metrics.clone(), ready.clone()),
        shutdown.clone(),
    ));
    let active = Arc::new(AtomicBool::new(false));
    let facts = start_webhook_receiver(&args, &client, &metrics, &active, &shutdown).await?;
    let controllers = Controllers {
        client,
        graph,
        metrics,
        config: controller_config(&args),
        facts,
        active,
    };
    let result = if args.leader_election {
        run_as_leader(&args, controllers, ready, shutdown.clone()).await
    } else {
        ready.set(true);
        controllers.metrics.set_leader(true);
        controllers.run(shutdown.clone()).await;
        ended_early(&shutdown)
    };
    shutdown.cancel();
    match server.await {
        Ok(res) => res?,
        Err(err) => error!(error = %err, "HTTP server task failed"),
    }
    info!("stopped");
    result
}

/// Controllers that return before a shutdown was asked for have stopped reconciling: the
/// process must end (and be restarted) rather than look alive.
fn ended_early(shutdown: &CancellationToken) -> Result<(), RunError> {
    if shutdown.is_cancelled() {
        Ok(())
    } else {
        error!("the controllers stopped on their own; exiting");
        Err(RunError::ControllersEnded)
    }
}

/// The Meta webhook endpoint on its own port, when configured; its facts for the controllers.
async fn start_webhook_receiver(
    args: &RunArgs,
    client: &kube::Client,
    metrics: &Arc<Metrics>,
    active: &Arc<AtomicBool>,
    shutdown: &CancellationToken,
) -> Result<Option<mpsc::UnboundedReceiver<crate::webhook::Delivery>>, RunError> {
    let Some(cfg) = webhook_config(args)? else {
        return Ok(None);
    };
    let listener = http::bind(cfg.addr).await?;
    info!(addr = %cfg.addr, path = %cfg.path, "serving the Meta webhook endpoint");
    let secrets = Arc::new(WebhookSecrets::default());
    let (sink, facts) = mpsc::unbounded();
    let router = webhook::router(
        &cfg.path,
        cfg.bodies,
        secrets.clone(),
        webhook::Sink {
            facts: sink,
            active: active.clone(),
        },
        metrics.clone(),
    );
    tokio::spawn(webhook::server::serve(
        listener,
        router,
        cfg.connections,
        metrics.clone(),
        shutdown.clone(),
    ));
    tokio::spawn(webhook::refresh_secrets(
        client.clone(),
        cfg,
        secrets,
        Duration::from_secs(args.webhook_secret_refresh_seconds.max(1)),
        shutdown.clone(),
    ));
    Ok(Some(facts))
}

fn controller_config(args: &RunArgs) -> ControllerConfig {
    ControllerConfig {
        namespaces: args
            .namespaces
            .iter()
            .filter(|n| !n.is_empty())
            .cloned()
            .collect(),
        concurrency: args.concurrency,
        instance: args.pod_name.clone(),
        webhooks: WebhookSettings {
            min_read_spacing: Duration::from_secs(args.webhook_min_read_spacing_seconds),
            subscription_recheck: Duration::from_secs(
                args.webhook_subscription_recheck_hours.max(1) * 3600,
            ),
        },
    }
}

/// Everything the controllers run with.
struct Controllers {
    client: kube::Client,
    graph: GraphClient,
    metrics: Arc<Metrics>,
    config: ControllerConfig,
    facts: Option<mpsc::UnboundedReceiver<crate::webhook::Delivery>>,
    /// Set while the controllers run: the webhook receiver accepts deliveries only then.
    active: Arc<AtomicBool>,
}

impl Controllers {
    async fn run(self, stop: CancellationToken) {
        let executor = Arc::new(controller::GraphExecutor(self.graph.clone()));
        let active = self.active.clone();
        active.store(true, Ordering::Release);
        let _inactive = Inactive(active);
        controller::run(
            self.client,
            self.graph,
            executor,
            self.metrics,
            self.config,
            self.facts,
            stop,
        )
        .await;
    }
}

/// Clears the receiver's `active` flag when the controllers stop, however they stop.
struct Inactive(Arc<AtomicBool>);

impl Drop for Inactive {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// Reconciles only while holding the Lease; losing it stops the controllers and the process
/// exits so a restart competes again from a clean state.
async fn run_as_leader(
    args: &RunArgs,
    controllers: Controllers,
    ready: Arc<Readiness>,
    shutdown: CancellationToken,
) -> Result<(), RunError> {
    let manager =
        kube_lease_manager::LeaseManagerBuilder::new(controllers.client.clone(), &args.lease_name)
            .with_namespace(&args.lease_namespace)
            .with_identity(&args.pod_name)
            .with_duration(15)
            .with_grace(5)
            .build()
            .await
            .map_err(RunError::Lease)?;
    let (mut leader, lease_task) = manager.watch().await;
    ready.set(true);
    info!(lease = %args.lease_name, "waiting for leadership");
    if !wait_for_leadership(&mut leader, &shutdown).await {
        return Ok(());
    }
    info!("acquired leadership");
    let metrics = controllers.metrics.clone();
    metrics.set_leader(true);
    let lost = CancellationToken::new();
    let mut running = tokio::spawn(controllers.run(lost.clone()));
    let mut result = Ok(());
    tokio::select! {
        _ = shutdown.cancelled() => {}
        _ = async { while *leader.borrow_and_update() { if leader.changed().await.is_err() { break; } } } => {
            warn!("lost leadership; stopping");
        }
        // A leader that reconciles nothing must not keep the lease.
        ended = &mut running => {
            if let Err(err) = ended {
                error!(error = %err, "controller task failed");
            }
            result = ended_early(&shutdown);
        }
    }
    lost.cancel();
    metrics.set_leader(false);
    if !running.is_finished()
        && let Err(err) = running.await
    {
        error!(error = %err, "controller task failed");
    }
    drop(leader);
    release(lease_task).await;
    result
}

/// True once this process holds the Lease; false on shutdown or when the lease manager ended.
async fn wait_for_leadership(
    leader: &mut tokio::sync::watch::Receiver<bool>,
    shutdown: &CancellationToken,
) -> bool {
    loop {
        if *leader.borrow_and_update() {
            return true;
        }
        tokio::select! {
            changed = leader.changed() => if changed.is_err() { return false; },
            _ = shutdown.cancelled() => return false,
        }
    }
}

async fn release<E: std::fmt::Display>(
    lease_task: tokio::task::JoinHandle<Result<kube_lease_manager::LeaseManager, E>>,
) {
    match lease_task.await {
        Ok(Ok(manager)) => {
            if let Err(err) = manager.release().await {
                warn!(error = %err, "cannot release the lease");
            }
        }
        Ok(Err(err)) => warn!(error = %err, "lease manager failed"),
        Err(err) => warn!(error = %err, "lease task failed"),
    }
}

fn webhook_config(args: &RunArgs) -> Result<Option<WebhookConfig>, WebhookArgsError> {
    let raw = args.webhook_addr.trim();
    if raw.is_empty() {
        return Ok(None);
    }
    let addr = raw.parse().map_err(|source| WebhookArgsError::Addr {
        addr: raw.to_string(),
        source,
    })?;
    if !args.webhook_path.starts_with('/') {
        return Err(WebhookArgsError::Path(args.webhook_path.clone()));
    }
    Ok(Some(WebhookConfig {
        addr,
        path: args.webhook_path.clone(),
        // Zero would refuse every delivery or stall every connection: one is the floor.
        bodies: webhook::BodyLimits {
            max_bytes: args.webhook_max_body,
            timeout: Duration::from_secs(args.webhook_body_timeout_seconds.max(1)),
            max_large: args.webhook_max_large_bodies.max(1),
        },
        connections: webhook::ConnectionLimits {
            max_connections: args.webhook_max_connections.max(1),
            header_timeout: Duration::from_secs(args.webhook_header_timeout_seconds.max(1)),
        },
        secret_namespace: args.webhook_secret_namespace.clone(),
        secret_name: args.webhook_secret_name.clone(),
        app_secret_key: args.webhook_app_secret_key.clone(),
        verify_token_key: args.webhook_verify_token_key.clone(),
    }))
}

fn spawn_signal_handler(shutdown: CancellationToken) {
    tokio::spawn(async move {
        let term = async {
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(mut s) => {
                    s.recv().await;
                }
                Err(err) => {
                    error!(error = %err, "cannot install SIGTERM handler");
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::select! {
            _ = term => info!("SIGTERM received, shutting down"),
            _ = tokio::signal::ctrl_c() => info!("SIGINT received, shutting down"),
        }
        shutdown.cancel();
    });
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        run: RunArgs,
    }

    fn args(extra: &[&str]) -> RunArgs {
        let mut argv = vec!["test"];
        argv.extend_from_slice(extra);
        Cli::parse_from(argv).run
    }

    #[test]
    fn webhook_receiver_is_off_without_an_address() {
        assert!(matches!(webhook_config(&args(&[])), Ok(None)));
    }

    #[test]
    fn webhook_flags_make_the_receiver_config() {
        let cfg = webhook_config(&args(&[
            "--webhook-addr",
            "127.0.0.1:8443",
            "--webhook-path",
            "/meta",
            "--webhook-secret-name",
            "hooks",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(cfg.addr.port(), 8443);
        assert_eq!(cfg.path, "/meta");
        assert_eq!(cfg.bodies, webhook::BodyLimits::default());
        assert_eq!(cfg.bodies.max_bytes, 3 * 1024 * 1024);
        assert_eq!(cfg.connections, webhook::ConnectionLimits::default());
        assert_eq!(cfg.secret_name, "hooks");
        assert_eq!(cfg.app_secret_key, "app-secret");
        assert_eq!(cfg.verify_token_key, "verify-token");
    }

    #[test]
    fn state_sets_are_current_unless_asked_for_in_full() {
        assert_eq!(args(&[]).metrics_state_sets, StateSets::Current);
        let full = args(&["--metrics-state-sets", "full"]);
        assert_eq!(full.metrics_state_sets, StateSets::Full);
        assert!(Cli::try_parse_from(["test", "--metrics-state-sets", "all"]).is_err());
    }

    #[test]
    fn webhook_limit_flags_reach_the_receiver() {
        let cfg = webhook_config(&args(&[
            "--webhook-addr",
            "127.0.0.1:8443",
            "--webhook-max-body",
            "2048",
            "--webhook-body-timeout-seconds",
            "3",
            "--webhook-max-large-bodies",
            "0",
            "--webhook-max-connections",
            "17",
            "--webhook-header-timeout-seconds",
            "0",
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(
            cfg.bodies,
            webhook::BodyLimits {
                max_bytes: 2048,
                timeout: Duration::from_secs(3),
                max_large: 1,
            }
        );
        assert_eq!(
            cfg.connections,
            webhook::ConnectionLimits {
                max_connections: 17,
                header_timeout: Duration::from_secs(1),
            }
        );
    }

    #[test]
    fn bad_webhook_flags_are_refused() {
        assert!(matches!(
            webhook_config(&args(&["--webhook-addr", "nowhere"])),
            Err(WebhookArgsError::Addr { .. })
        ));
        assert!(matches!(
            webhook_config(&args(&[
                "--webhook-addr",
                "0.0.0.0:1",
                "--webhook-path",
                "hook"
            ])),
            Err(WebhookArgsError::Path(_))
        ));
    }
}
