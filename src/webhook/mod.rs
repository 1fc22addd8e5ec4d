//! Meta webhook receiver: verifies, parses and hands each delivery's notices to the
//! controllers, and answers 200 only once they are recorded in the apiserver (in the status of
//! the resources they concern), so an acknowledged delivery survives a restart; it never waits
//! on Graph.

mod body;
pub mod payload;
pub mod server;
pub mod signature;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{Query, Request, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures::channel::mpsc;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use tokio::sync::oneshot;

use crate::meta::Notice;
use crate::metrics::Metrics;
pub use body::{BodyLimits, SMALL_BODY_BYTES};
pub use server::ConnectionLimits;

/// The notices of one delivery, and where to say whether they were recorded.
#[derive(Debug)]
pub struct Delivery {
    pub notices: Vec<Notice>,
    /// `Ok` once every notice is recorded in the status of each resource it concerns (or
    /// concerns none of ours); `Err` with why otherwise.
    pub recorded: oneshot::Sender<Result<(), String>>,
}

/// How long a delivery waits for its notices to be recorded before it is refused (Meta then
/// delivers it again).
pub const RECORD_WAIT: Duration = Duration::from_secs(5);

/// Where the receiver listens, what a request may cost, and where its secrets live.
#[derive(Clone, Debug)]
pub struct WebhookConfig {
    pub addr: SocketAddr,
    pub path: String,
    pub bodies: BodyLimits,
    pub connections: ConnectionLimits,
    pub secret_namespace: String,
    pub secret_name: String,
    pub app_secret_key: String,
    pub verify_token_key: String,
}

/// The app secret and verify token, refreshed from their Secret in the background so requests
/// never wait on the apiserver.
#[derive(Default)]
pub struct WebhookSecrets {
    app_secret: RwLock<Option<SecretString>>,
    verify_token: RwLock<Option<SecretString>>,
}

impl WebhookSecrets {
    pub fn set(&self, app_secret: Option<SecretString>, verify_token: Option<SecretString>) {
        *self
            .app_secret
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = app_secret;
        *self
            .verify_token
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = verify_token;
    }

    fn app_secret(&self) -> Option<SecretString> {
        self.app_secret
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    fn verify_token(&self) -> Option<SecretString> {
        self.verify_token
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

#[derive(Clone)]
struct ReceiverState {
    secrets: Arc<WebhookSecrets>,
    sink: mpsc::UnboundedSender<Delivery>,
    metrics: Arc<Metrics>,
    /// The port is open to anyone, so bodies are read within limits.
    bodies: Arc<body::BodyReader>,
    /// Whether this process's controllers are running (it is the leader, or no election):
    /// a standby answers 503 so that Meta delivers again, never 200 for a fact it drops.
    active: Arc<AtomicBool>,
}

/// Where the receiver's facts go: the controllers' queue, and whether they are running.
pub struct Sink {
    pub facts: mpsc::UnboundedSender<Delivery>,
    pub active: Arc<AtomicBool>,
}

pub fn router(
    path: &str,
    limits: BodyLimits,
    secrets: Arc<WebhookSecrets>,
    sink: Sink,
    metrics: Arc<Metrics>,
) -> Router {
    let state = ReceiverState {
        secrets,
        sink: sink.facts,
        metrics,
        bodies: Arc::new(body::BodyReader::new(limits)),
        active: sink.active,
    };
    Router::new()
        .route(path, get(handshake).post(delivery))
        .with_state(state)
}

#[derive(Deserialize)]
struct HubQuery {
    #[serde(rename = "hub.mode")]
    mode: Option<String>,
    #[serde(rename = "hub.verify_token")]
    verify_token: Option<String>,
    #[serde(rename = "hub.challenge")]
    challenge: Option<String>,
}

/// Meta's verification handshake: echo `hub.challenge` when the verify token matches.
async fn handshake(State(state): State<ReceiverState>, Query(q): Query<HubQuery>) -> Response {
    let Some(expected) = state.secrets.verify_token() else {
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "verify token not configured",
        )
            .into_response();
    };
    let token_ok = q
        .verify_token
        .as_deref()
        .is_some_and(|t| constant_time_eq(t.as_bytes(), expected.expose_secret().as_bytes()));
    match (q.mode.as_deref(), token_ok, q.challenge) {
        (Some("subscribe"), true, Some(challenge)) => (StatusCode::OK, challenge).into_response(),
        _ => StatusCode::FORBIDDEN.into_response(),
    }
}

async fn delivery(State(state): State<ReceiverState>, request: Request) -> Response {
    let started = Instant::now();
    if !state.active.load(Ordering::Acquire) {
        state.metrics.webhook_delivery("unknown", "standby");
        return (
            StatusCode::SERVICE_UNAVAILABLE,
            "standby replica, retry later",
        )
            .into_response();
    }
    let (parts, body) = request.into_parts();
    let read = state
        .bodies
        .read(&parts.headers, body, &state.metrics)
        .await;
    let response = match read {
        Ok(bytes) => accept(&state, &parts.headers, &bytes).await,
        Err(refused) => refused,
    };
    state.metrics.webhook_acknowledged(started.elapsed());
    response
}

async fn accept(state: &ReceiverState, headers: &HeaderMap, body: &[u8]) -> Response {
    let Some(app_secret) = state.secrets.app_secret() else {
        // Meta retries for 7 days, so answering "unavailable" loses nothing.
        state.metrics.webhook_delivery("unknown", "not_configured");
        return (StatusCode::SERVICE_UNAVAILABLE, "app secret not configured").into_response();
    };
    let header = headers
        .get("x-hub-signature-256")
        .and_then(|v| v.to_str().ok());
    if !signature::verify(&app_secret, body, header) {
        state.metrics.webhook_signature_failure();
        state.metrics.webhook_delivery("unknown", "bad_signature");
        return (StatusCode::UNAUTHORIZED, "invalid signature").into_response();
    }
    let envelope: payload::Envelope = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(_) => {
            state.metrics.webhook_delivery("unknown", "malformed");
            return (StatusCode::BAD_REQUEST, "malformed JSON").into_response();
        }
    };
    let mut notices = Vec::new();
    let mut fields = Vec::new();
    for (field, notice) in payload::facts(&envelope) {
        match notice {
            Some(notice) => {
                notices.push(notice);
                fields.push(field);
            }
            None => state.metrics.webhook_delivery(&field, "ignored"),
        }
    }
    let outcome = if notices.is_empty() {
        "accepted"
    } else {
        match record(state, notices).await {
            Ok(()) => "accepted",
            Err(why) => {
                warn!(%why, "webhook notices not recorded; Meta delivers them again");
                for field in &fields {
                    state.metrics.webhook_delivery(field, "unrecorded");
                }
                return (StatusCode::SERVICE_UNAVAILABLE, "not recorded, retry later")
                    .into_response();
            }
        }
    };
    for field in &fields {
        state.metrics.webhook_delivery(field, outcome);
    }
    (StatusCode::OK, "EVENT_RECEIVED").into_response()
}

/// Hands the notices to the controllers and waits, at most [`RECORD_WAIT`], until they are
/// recorded.
async fn record(state: &ReceiverState, notices: Vec<Notice>) -> Result<(), String> {
    let (recorded, answer) = oneshot::channel();
    state
        .sink
        .unbounded_send(Delivery { notices, recorded })
        .map_err(|_| "the operator is shutting down".to_string())?;
    match tokio::time::timeout(RECORD_WAIT, answer).await {
        Ok(Ok(result)) => result,
        Ok(Err(_)) => Err("the controllers dropped the delivery".into()),
        Err(_) => Err(format!("not recorded within {RECORD_WAIT:?}")),
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Keeps `secrets` in step with the configured Secret (one `get` every `every`; never lists).
pub async fn refresh_secrets(
    client: kube::Client,
    config: WebhookConfig,
    secrets: Arc<WebhookSecrets>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let api: Api<Secret> = Api::namespaced(client, &config.secret_namespace);
    loop {
        match api.get_opt(&config.secret_name).await {
            Ok(Some(secret)) => {
                let read = |key: &str| {
                    secret
                        .data
                        .as_ref()
                        .and_then(|d| d.get(key))
                        .and_then(|b| String::from_utf8(b.0.clone()).ok())
                        .map(|s| SecretString::from(s.trim().to_string()))
                        .filter(|s| !s.expose_secret().is_empty())
                };
                secrets.set(read(&config.app_secret_key), read(&config.verify_token_key));
                debug!("webhook secrets refreshed");
            }
            Ok(None) => {
                warn!(namespace = %config.secret_namespace, name = %config.secret_name, "webhook Secret not found; deliveries are refused until it exists");
                secrets.set(None, None);
            }
            Err(err) => {
                warn!(error = %err, "cannot read the webhook Secret; keeping the last values")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
    }
}
