//! The Meta simulator as the tests drive it: started in-process on loopback from the example
//! state, changed and read through its admin API (`/_sim/…`, see `crates/meta-sim/README.md`)
//! over real HTTP, with one typed method per admin call a test makes.

use std::time::Duration;

use meta_sim::{self as sim, SimHandle};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub use meta_sim::state::{Number, State, Template, Waba};

/// The Graph API version the operator and the tests use; stripped from logged paths.
const GRAPH_VERSION_PREFIX: &str = "/v24.0";

/// The example world of `crates/meta-sim/examples/state.json`, as JSON to adjust before starting.
pub fn example_state() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../meta-sim/examples/state.json"
    );
    let text = std::fs::read_to_string(path).expect("read the example state");
    serde_json::from_str(&text).expect("example state is JSON")
}

/// A running simulator and a client of its admin API. A non-2xx answer to an admin call fails
/// the test, with the simulator's error in the message. Dropping it stops the simulator.
pub struct Sim {
    handle: SimHandle,
    http: reqwest::Client,
}

/// `GET /_sim/requests`: every Graph request so far (admin calls are not counted).
#[derive(Debug, Clone, Deserialize)]
pub struct RequestLog {
    pub total: u64,
    pub by_route: Vec<RouteCount>,
    pub log: Vec<LoggedRequest>,
}

/// Requests per concrete path (version included, no query string) and method.
#[derive(Debug, Clone, Deserialize)]
pub struct RouteCount {
    pub method: String,
    pub path: String,
    pub count: u64,
}

/// One Graph request in arrival order.
#[derive(Debug, Clone, Deserialize)]
pub struct LoggedRequest {
    pub seq: u64,
    pub method: String,
    pub path: String,
    /// Sim-clock time of arrival.
    pub at: i64,
    /// Absent while the request is in flight.
    pub status: Option<u16>,
    /// The bearer token the request carried.
    #[serde(default)]
    pub token: Option<String>,
}

/// A Graph request as the tests compare them: method and path without the version prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphCall {
    pub method: String,
    pub path: String,
}

/// What the receiver answered to a webhook the simulator delivered.
#[derive(Debug, Clone, Deserialize)]
pub struct Delivery {
    pub status: u16,
    pub body: String,
}

/// `GET /_sim/webhooks/sent`: the webhooks the simulator sent on its own (review decisions,
/// template lifecycle), one entry per event and subscribed app.
#[derive(Debug, Clone, Deserialize)]
pub struct SentWebhooks {
    pub total: u64,
    /// Entries whose receiver answered 2xx.
    pub delivered: u64,
    pub log: Vec<SentWebhook>,
}

/// One delivery of one event to one app.
#[derive(Debug, Clone, Deserialize)]
pub struct SentWebhook {
    pub seq: u64,
    /// Sim-clock time of the event (`entry[].time`).
    pub at: i64,
    pub waba_id: String,
    pub field: String,
    pub value: Value,
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub url: Option<String>,
    pub attempts: u32,
    #[serde(default)]
    pub status: Option<u16>,
    /// `pending`, `delivered`, `failed` or `not_sent`.
    pub outcome: String,
    #[serde(default)]
    pub error: Option<String>,
}

/// The outcome of Meta's verification handshake against a callback URL.
#[derive(Debug, Clone, Deserialize)]
pub struct Handshake {
    pub status: u16,
    pub body: String,
    pub challenge: String,
    pub challenge_echoed: bool,
    pub verified: bool,
}

/// A fault rule for `POST /_sim/faults`: built from [`Fault::any`] or [`Fault::on`], and only
/// the keys that were set are sent.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Fault {
    #[serde(skip_serializing_if = "Option::is_none")]
    path_prefix: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    count: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    http_status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    graph_error: Option<FaultError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    answer_delay_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    timeout: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    timeout_ms: Option<u64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    malformed_body: bool,
}

/// The Graph error a fault answers with (Meta's envelope, `message` used verbatim).
#[derive(Debug, Clone, Serialize)]
pub struct FaultError {
    pub code: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_subcode: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Fault {
    /// A fault on every Graph request, forever, until narrowed down.
    pub fn any() -> Self {
        Self::default()
    }

    /// A fault on requests under `path_prefix` (whole segments, with or without the version).
    pub fn on(path_prefix: impl Into<String>) -> Self {
        Self::any().path(path_prefix)
    }

    pub fn path(mut self, path_prefix: impl Into<String>) -> Self {
        self.path_prefix = Some(path_prefix.into());
        self
    }

    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_owned());
        self
    }

    /// Only the next `n` matching requests; then the fault is gone.
    pub fn count(mut self, n: u32) -> Self {
        self.count = Some(n);
        self
    }

    /// Fail with this HTTP status (and the Graph error Meta sends with it, unless one is set).
    pub fn http_status(mut self, status: u16) -> Self {
        self.http_status = Some(status);
        self
    }

    /// Fail with this Graph error.
    pub fn graph_error(mut self, error: FaultError) -> Self {
        self.graph_error = Some(error);
        self
    }

    /// Fail with Graph error `code` and `message`.
    pub fn error(self, code: i64, message: &str) -> Self {
        self.graph_error(FaultError::new(code).message(message))
    }

    /// Delay the request, which then goes on (and takes effect) only afterwards.
    pub fn latency(mut self, delay: Duration) -> Self {
        self.latency_ms = Some(millis(delay));
        self
    }

    /// Serve the request at once but hold its answer this long.
    pub fn answer_delay(mut self, delay: Duration) -> Self {
        self.answer_delay_ms = Some(millis(delay));
        self
    }

    /// Hold the request this long, then drop the connection without an answer.
    pub fn timeout(mut self, hold: Duration) -> Self {
        self.timeout = true;
        self.timeout_ms = Some(millis(hold));
        self
    }

    /// Answer 200 with a truncated JSON body.
    pub fn malformed_body(mut self) -> Self {
        self.malformed_body = true;
        self
    }
}

impl FaultError {
    pub fn new(code: i64) -> Self {
        Self {
            code,
            error_subcode: None,
            message: None,
            details: None,
        }
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.error_subcode = Some(subcode);
        self
    }

    pub fn message(mut self, message: &str) -> Self {
        self.message = Some(message.to_owned());
        self
    }

    pub fn details(mut self, details: &str) -> Self {
        self.details = Some(details.to_owned());
        self
    }
}

impl Sim {
    /// A simulator seeded with the example world. Must be called inside a Tokio runtime.
    pub fn start() -> Self {
        Self::start_with(&example_state())
    }

    /// A simulator seeded with `state` (the state-file format).
    pub fn start_with(state: &Value) -> Self {
        let state = State::from_json(&state.to_string()).expect("simulator state");
        let handle =
            sim::start(state, "127.0.0.1:0".parse().expect("loopback")).expect("start meta-sim");
        let http = reqwest::Client::builder()
            .no_proxy()
            .build()
            .expect("admin HTTP client");
        Self { handle, http }
    }

    /// A simulator of the example world whose app delivers its webhooks to `callback_url`.
    pub fn delivering_to(callback_url: &str) -> Self {
        let mut state = example_state();
        state["apps"][0]["webhook_url"] = Value::from(callback_url);
        Self::start_with(&state)
    }

    /// `http://127.0.0.1:PORT`: Graph paths go below it (with or without `/v24.0`).
    pub fn base_url(&self) -> String {
        self.handle.base_url()
    }

    pub fn handle(&self) -> &SimHandle {
        &self.handle
    }

    async fn send(&self, request: reqwest::RequestBuilder, what: &str) -> Value {
        let resp = request.send().await.expect("admin request");
        let status = resp.status();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        assert!(status.is_success(), "{what}: {status} {body}");
        body
    }

    fn url(&self, path: &str) -> String {
        format!("{}/_sim/{path}", self.base_url())
    }

    async fn post(&self, path: &str, body: Value) -> Value {
        self.send(self.http.post(self.url(path)).json(&body), path)
            .await
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let body = self.send(self.http.get(self.url(path)), path).await;
        serde_json::from_value(body.clone())
            .unwrap_or_else(|e| panic!("/_sim/{path} answered {body}, not the expected shape: {e}"))
    }

    // --- The world --------------------------------------------------------------------------

    /// `GET /_sim/state`: everything, secrets included, with the sim clock.
    pub async fn state(&self) -> State {
        self.get("state").await
    }

    /// `GET /_sim/numbers/{id}`: the number as stored, sim-private fields included.
    pub async fn number(&self, id: &str) -> Number {
        self.get(&format!("numbers/{id}")).await
    }

    /// `GET /_sim/wabas/{id}`: the WABA as stored, with its numbers and subscriptions.
    pub async fn waba(&self, id: &str) -> Waba {
        self.get(&format!("wabas/{id}")).await
    }

    /// `POST /_sim/numbers/{id}`: merges top-level fields into the number.
    pub async fn update_number(&self, id: &str, fields: Value) {
        self.post(&format!("numbers/{id}"), fields).await;
    }

    /// Fault: Graph serves these fields of the number verbatim (a wrong shape), and leaves out
    /// those given as `null` (a missing field).
    pub async fn serve_number_as(&self, id: &str, fields: Value) {
        self.update_number(id, json!({ "served_as": fields })).await;
    }

    /// The number's `quality_rating` (`GREEN`, `YELLOW`, `RED`, …).
    pub async fn set_quality_rating(&self, id: &str, rating: &str) {
        self.update_number(id, json!({ "quality_rating": rating }))
            .await;
    }

    /// The number's rating and Meta's `quality_score` behind it: `score`, the `reasons` given
    /// and the date it was calculated (the sim clock's now), as Meta serves them.
    pub async fn set_quality_score(&self, id: &str, score: &str, reasons: &[&str]) {
        let date = self.now().await;
        self.update_number(
            id,
            json!({
                "quality_rating": score,
                "quality_score": { "score": score, "date": date, "reasons": reasons },
            }),
        )
        .await;
    }

    /// The number's Meta `status` (`CONNECTED`, `FLAGGED`, `BANNED`, …).
    pub async fn set_number_status(&self, id: &str, status: &str) {
        self.update_number(id, json!({ "status": status })).await;
    }

    /// The portfolio messaging limit as the number reports it.
    pub async fn set_number_messaging_limit(&self, id: &str, limit: &str) {
        self.update_number(
            id,
            json!({ "whatsapp_business_manager_messaging_limit": limit }),
        )
        .await;
    }

    /// `POST /_sim/wabas/{id}`: merges top-level fields (not `phone_numbers`) into the WABA.
    pub async fn update_waba(&self, id: &str, fields: Value) {
        self.post(&format!("wabas/{id}"), fields).await;
    }

    /// The portfolio messaging limit as the WABA reports it.
    pub async fn set_waba_messaging_limit(&self, id: &str, limit: &str) {
        self.update_waba(
            id,
            json!({ "whatsapp_business_manager_messaging_limit": limit }),
        )
        .await;
    }

    /// `POST /_sim/wabas/{id}/phone_numbers`: seeds a complete number without spending budget;
    /// returns its id.
    pub async fn add_number(&self, waba: &str, number: Value) -> String {
        let out = self
            .post(&format!("wabas/{waba}/phone_numbers"), number)
            .await;
        out["id"]
            .as_str()
            .unwrap_or_else(|| panic!("seeding a number answered {out}"))
            .to_owned()
    }

    /// `POST /_sim/businesses/{id}`: merges fields (health) into the business portfolio.
    pub async fn update_business(&self, id: &str, fields: Value) {
        self.post(&format!("businesses/{id}"), fields).await;
    }

    // --- Codes and tokens -------------------------------------------------------------------

    /// The verification code Meta last "sent" to the number, if one was requested.
    pub async fn last_code(&self, id: &str) -> Option<String> {
        self.number(id)
            .await
            .verification_code
            .map(|c| c.code.expose().to_owned())
    }

    /// `POST /_sim/tokens`: adds (or replaces) a token; `token` is in the state-file format.
    pub async fn add_token(&self, token: Value) {
        self.post("tokens", token).await;
    }

    /// `POST /_sim/tokens/{token}/expire`: the token expires now; returns its `expires_at`.
    pub async fn expire_token(&self, token: &str) -> i64 {
        let out = self
            .post(&format!("tokens/{token}/expire"), json!({}))
            .await;
        out["expires_at"].as_i64().unwrap_or_default()
    }

    // --- Faults -----------------------------------------------------------------------------

    /// `POST /_sim/faults`: adds a fault rule (checked after the ones already there).
    pub async fn add_fault(&self, fault: Fault) {
        let body = serde_json::to_value(&fault).expect("fault as JSON");
        self.post("faults", body).await;
    }

    /// `DELETE /_sim/faults`: Meta works normally again.
    pub async fn clear_faults(&self) {
        self.send(self.http.delete(self.url("faults")), "faults")
            .await;
    }

    // --- Clock ------------------------------------------------------------------------------

    /// `GET /_sim/clock`: the sim clock, Unix seconds.
    pub async fn now(&self) -> i64 {
        let out: Value = self.get("clock").await;
        out["now"].as_i64().expect("clock.now")
    }

    /// `POST /_sim/clock/advance`: moves the sim clock forward; returns the new time.
    pub async fn advance_clock(&self, by: Duration) -> i64 {
        let out = self
            .post("clock/advance", json!({ "seconds": by.as_secs() }))
            .await;
        out["now"].as_i64().expect("clock.now")
    }

    // --- Request counters -------------------------------------------------------------------

    /// `GET /_sim/requests`.
    pub async fn request_log(&self) -> RequestLog {
        self.get("requests").await
    }

    /// `DELETE /_sim/requests`: counters and log start again from zero.
    pub async fn reset_requests(&self) {
        self.send(self.http.delete(self.url("requests")), "requests")
            .await;
    }

    /// Graph requests of any kind so far.
    pub async fn graph_requests(&self) -> u64 {
        self.request_log().await.total
    }

    /// Graph requests (method, path without the version) in arrival order.
    pub async fn requests(&self) -> Vec<GraphCall> {
        self.request_log()
            .await
            .log
            .into_iter()
            .map(|r| {
                let path = r
                    .path
                    .split_once(GRAPH_VERSION_PREFIX)
                    .map_or(r.path.as_str(), |(_, p)| p)
                    .to_owned();
                GraphCall {
                    method: r.method,
                    path,
                }
            })
            .collect()
    }

    /// Graph requests made with the bearer token `token`, as (method, path) in arrival order.
    pub async fn requests_with_token(&self, token: &str) -> Vec<(String, String)> {
        self.request_log()
            .await
            .log
            .into_iter()
            .filter(|r| r.token.as_deref() == Some(token))
            .map(|r| (r.method, r.path))
            .collect()
    }

    /// Every Graph request that is not a read.
    pub async fn writes(&self) -> Vec<GraphCall> {
        self.requests()
            .await
            .into_iter()
            .filter(|c| c.method != "GET")
            .collect()
    }

    /// POSTs whose path (without the version) ends with `suffix`.
    pub async fn posts(&self, suffix: &str) -> usize {
        self.requests()
            .await
            .iter()
            .filter(|c| c.method == "POST" && c.path.ends_with(suffix))
            .count()
    }

    /// GETs of the object `/{id}` so far, from the simulator's counters.
    pub async fn reads_of(&self, id: &str) -> u64 {
        let object = format!("/{id}");
        self.request_log()
            .await
            .by_route
            .iter()
            .filter(|r| r.method == "GET" && r.path.ends_with(&object))
            .map(|r| r.count)
            .sum()
    }

    /// Requests with `method` on exactly `path` (version included, no query string).
    pub async fn requests_to(&self, method: &str, path: &str) -> u64 {
        self.request_log()
            .await
            .by_route
            .iter()
            .filter(|r| r.method == method && r.path == path)
            .map(|r| r.count)
            .sum()
    }

    // --- Webhooks ---------------------------------------------------------------------------

    /// `POST /_sim/webhooks/deliver`: Meta's envelope for one change of `field` on the WABA,
    /// signed with the app's secret and posted to its callback; returns the receiver's answer.
    /// Like Meta, only delivered when the app is subscribed to the WABA.
    pub async fn deliver(&self, app: &str, waba: &str, field: &str, value: Value) -> Delivery {
        let out = self
            .post(
                "webhooks/deliver",
                json!({"app_id": app, "waba_id": waba, "field": field, "value": value}),
            )
            .await;
        serde_json::from_value(out.clone())
            .unwrap_or_else(|e| panic!("webhooks/deliver answered {out}: {e}"))
    }

    /// `POST /_sim/webhooks/deliver` with a whole envelope, signed and sent as given (its
    /// `entry[].time` included) to the app's default callback URL: what Meta sends again when
    /// it retries a delivery.
    pub async fn deliver_payload(&self, app: &str, payload: Value) -> Delivery {
        let out = self
            .post(
                "webhooks/deliver",
                json!({"app_id": app, "payload": payload}),
            )
            .await;
        serde_json::from_value(out.clone())
            .unwrap_or_else(|e| panic!("webhooks/deliver answered {out}: {e}"))
    }

    /// `GET /_sim/webhooks/sent`.
    pub async fn sent_webhooks(&self) -> SentWebhooks {
        self.get("webhooks/sent").await
    }

    /// `DELETE /_sim/webhooks/sent`: the log starts again from zero.
    pub async fn reset_sent_webhooks(&self) {
        self.send(self.http.delete(self.url("webhooks/sent")), "webhooks/sent")
            .await;
    }

    // --- Reviews and templates --------------------------------------------------------------

    /// `POST /_sim/reviews`: replaces the given review rules (`display_name`, `templates`);
    /// returns all rules.
    pub async fn set_reviews(&self, rules: Value) -> Value {
        self.post("reviews", rules).await
    }

    /// `POST /_sim/numbers/{id}/name_review`: Meta decides the requested display name now
    /// (`APPROVED` or `REJECTED`) and sends `phone_number_name_update`.
    pub async fn decide_name(&self, id: &str, decision: &str, rejection_reason: Option<&str>) {
        let mut body = json!({ "decision": decision });
        if let Some(reason) = rejection_reason {
            body["rejection_reason"] = Value::from(reason);
        }
        self.post(&format!("numbers/{id}/name_review"), body).await;
    }

    /// `POST /_sim/wabas/{id}/message_templates`: a template made elsewhere (state-file
    /// format, `APPROVED` unless it says otherwise); returns its id.
    pub async fn add_template(&self, waba: &str, template: Value) -> String {
        let out = self
            .post(&format!("wabas/{waba}/message_templates"), template)
            .await;
        out["id"]
            .as_str()
            .unwrap_or_else(|| panic!("adding a template answered {out}"))
            .to_owned()
    }

    /// `GET /_sim/templates/{id}`: the template as stored, bookkeeping included.
    pub async fn template(&self, id: &str) -> Template {
        self.get(&format!("templates/{id}")).await
    }

    /// `POST /_sim/templates/{id}`: merges top-level fields (no webhook).
    pub async fn update_template(&self, id: &str, fields: Value) {
        self.post(&format!("templates/{id}"), fields).await;
    }

    /// `POST /_sim/templates/{id}/{action}` (`review`, `quality`, `pause`, `unpause`,
    /// `disable`, `announce_category`, `apply_category`): what Meta does, with its webhook;
    /// returns the admin answer (`webhook`, `template`).
    pub async fn template_event(&self, id: &str, action: &str, body: Value) -> Value {
        self.post(&format!("templates/{id}/{action}"), body).await
    }

    /// `POST /_sim/webhooks/verify`: Meta's verification handshake against the app's callback.
    /// An error (e.g. the receiver is not listening yet) is returned, not a failed test.
    pub async fn verify_webhook(&self, app: &str) -> Result<Handshake, String> {
        let resp = self
            .http
            .post(self.url("webhooks/verify"))
            .json(&json!({ "app_id": app }))
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = resp.status();
        let body: Value = resp.json().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            return Err(format!("{status} {body}"));
        }
        serde_json::from_value(body).map_err(|e| e.to_string())
    }
}
