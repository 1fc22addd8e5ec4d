//! `/_sim/` admin API: lets tests shape the world, inject faults, move the clock, read counters
//! and trigger webhooks. No auth: the simulator only ever listens where tests put it.

use axum::Json;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::faults::Fault;
use super::server::Shared;
use super::state::{Number, State, Token, merge_fields};
use super::webhook;

pub(super) type Patch = Json<Map<String, Value>>;

pub(super) fn fail(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

fn boxed_fail(status: StatusCode, message: impl Into<String>) -> Box<Response> {
    Box::new(fail(status, message))
}

pub(super) fn ok(body: Value) -> Response {
    (StatusCode::OK, Json(body)).into_response()
}

pub async fn not_found() -> Response {
    fail(
        StatusCode::NOT_FOUND,
        "unknown admin endpoint; see crates/meta-sim/README.md",
    )
}

pub async fn get_state(AxState(ctx): AxState<Shared>) -> Response {
    let sim = ctx.lock();
    let mut state = match serde_json::to_value(&sim.state) {
        Ok(v) => v,
        Err(e) => return fail(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    };
    if let Some(obj) = state.as_object_mut() {
        obj.insert("clock".into(), json!(sim.clock.now()));
    }
    ok(state)
}

/// Replaces the whole world (clock excepted); counters, budgets, faults and the log of sent
/// webhooks are reset too.
pub async fn put_state(AxState(ctx): AxState<Shared>, Json(body): Json<Value>) -> Response {
    let state: State = match serde_json::from_value(body) {
        Ok(s) => s,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Err(e) = state.validate() {
        return fail(StatusCode::BAD_REQUEST, e.to_string());
    }
    let mut sim = ctx.lock();
    sim.state = state;
    sim.budgets.clear();
    sim.faults.clear();
    sim.recorder.reset();
    sim.outbox.clear();
    ok(json!({ "success": true }))
}

/// One number as the state holds it, sim-private fields included.
pub async fn get_number(AxState(ctx): AxState<Shared>, Path(id): Path<String>) -> Response {
    let sim = ctx.lock();
    match sim.state.number(&id) {
        Some((_, number)) => ok(json!(number)),
        None => fail(StatusCode::NOT_FOUND, format!("no phone number {id}")),
    }
}

/// One WABA as the state holds it, with its numbers.
pub async fn get_waba(AxState(ctx): AxState<Shared>, Path(id): Path<String>) -> Response {
    let sim = ctx.lock();
    match sim.state.waba(&id) {
        Some(waba) => ok(json!(waba)),
        None => fail(StatusCode::NOT_FOUND, format!("no WABA {id}")),
    }
}

pub async fn merge_number(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(patch): Patch,
) -> Response {
    let mut sim = ctx.lock();
    let Some(number) = sim.state.number_mut(&id) else {
        return fail(StatusCode::NOT_FOUND, format!("no phone number {id}"));
    };
    match merge_fields(number, &patch) {
        Ok(()) => ok(json!({ "success": true })),
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn merge_waba(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(patch): Patch,
) -> Response {
    let mut sim = ctx.lock();
    if patch.contains_key("phone_numbers") {
        return fail(
            StatusCode::BAD_REQUEST,
            "change numbers with /_sim/numbers/{id} or /_sim/wabas/{id}/phone_numbers",
        );
    }
    if patch.contains_key("message_templates") {
        return fail(
            StatusCode::BAD_REQUEST,
            "change templates with /_sim/templates/{id} or /_sim/wabas/{id}/message_templates",
        );
    }
    if let Some(owner) = patch.get("owner_business_id").and_then(Value::as_str)
        && sim.state.business(owner).is_none()
    {
        return fail(StatusCode::BAD_REQUEST, format!("no business {owner}"));
    }
    let Some(waba) = sim.state.waba_mut(&id) else {
        return fail(StatusCode::NOT_FOUND, format!("no WABA {id}"));
    };
    match merge_fields(waba, &patch) {
        Ok(()) => ok(json!({ "success": true })),
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

/// Seeds a complete number into a WABA without going through Graph (and its budget).
pub async fn add_number(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    let number: Number = match serde_json::from_value(body) {
        Ok(n) => n,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let mut sim = ctx.lock();
    if sim.state.number(&number.id).is_some() || sim.state.waba(&number.id).is_some() {
        return fail(
            StatusCode::CONFLICT,
            format!("id {} already exists", number.id),
        );
    }
    let Some(waba) = sim.state.waba_mut(&id) else {
        return fail(StatusCode::NOT_FOUND, format!("no WABA {id}"));
    };
    let new_id = number.id.clone();
    waba.phone_numbers.push(number);
    ok(json!({ "id": new_id }))
}

pub async fn merge_business(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(patch): Patch,
) -> Response {
    let mut sim = ctx.lock();
    let Some(business) = sim.state.businesses.iter_mut().find(|b| b.id == id) else {
        return fail(StatusCode::NOT_FOUND, format!("no business {id}"));
    };
    match merge_fields(business, &patch) {
        Ok(()) => ok(json!({ "success": true })),
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn merge_app(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(patch): Patch,
) -> Response {
    let mut sim = ctx.lock();
    let Some(app) = sim.state.apps.iter_mut().find(|a| a.id == id) else {
        return fail(StatusCode::NOT_FOUND, format!("no app {id}"));
    };
    match merge_fields(app, &patch) {
        Ok(()) => ok(json!({ "success": true })),
        Err(e) => fail(StatusCode::BAD_REQUEST, e),
    }
}

pub async fn add_token(AxState(ctx): AxState<Shared>, Json(body): Json<Value>) -> Response {
    let token: Token = match serde_json::from_value(body) {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let mut sim = ctx.lock();
    if sim.state.app(&token.app_id).is_none() {
        return fail(StatusCode::BAD_REQUEST, format!("no app {}", token.app_id));
    }
    sim.state.tokens.retain(|t| t.token != token.token);
    sim.state.tokens.push(token);
    ok(json!({ "success": true }))
}

pub async fn expire_token(AxState(ctx): AxState<Shared>, Path(token): Path<String>) -> Response {
    let mut sim = ctx.lock();
    let now = sim.clock.now();
    let Some(found) = sim
        .state
        .tokens
        .iter_mut()
        .find(|t| t.token.expose() == token)
    else {
        return fail(StatusCode::NOT_FOUND, "no such token");
    };
    found.expires_at = now;
    ok(json!({ "success": true, "expires_at": now }))
}

pub async fn list_faults(AxState(ctx): AxState<Shared>) -> Response {
    let sim = ctx.lock();
    ok(json!({ "faults": sim.faults.list() }))
}

pub async fn add_fault(AxState(ctx): AxState<Shared>, Json(body): Json<Value>) -> Response {
    let fault: Fault = match serde_json::from_value(body) {
        Ok(f) => f,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if let Err(e) = fault.validate() {
        return fail(StatusCode::BAD_REQUEST, e);
    }
    ctx.lock().faults.add(fault);
    ok(json!({ "success": true }))
}

pub async fn clear_faults(AxState(ctx): AxState<Shared>) -> Response {
    ctx.lock().faults.clear();
    ok(json!({ "success": true }))
}

pub async fn get_requests(AxState(ctx): AxState<Shared>) -> Response {
    ok(ctx.lock().recorder.report())
}

pub async fn reset_requests(AxState(ctx): AxState<Shared>) -> Response {
    ctx.lock().recorder.reset();
    ok(json!({ "success": true }))
}

pub async fn get_clock(AxState(ctx): AxState<Shared>) -> Response {
    ok(json!({ "now": ctx.lock().clock.now() }))
}

#[derive(Deserialize)]
pub struct Advance {
    seconds: i64,
}

pub async fn advance_clock(AxState(ctx): AxState<Shared>, Json(body): Json<Advance>) -> Response {
    if body.seconds < 0 {
        return fail(StatusCode::BAD_REQUEST, "the sim clock only moves forward");
    }
    let mut sim = ctx.lock();
    sim.clock.advance(body.seconds);
    ok(json!({ "now": sim.clock.now() }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    app_id: String,
    #[serde(default)]
    payload: Option<Value>,
    #[serde(default)]
    waba_id: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    value: Option<Value>,
    /// Deliver even when the app is not subscribed to the WABA (Meta would not).
    #[serde(default)]
    force: bool,
}

struct Prepared {
    url: String,
    secret: Vec<u8>,
    body: Vec<u8>,
}

fn prepare_delivery(ctx: &Shared, req: Delivery) -> Result<Prepared, Box<Response>> {
    let sim = ctx.lock();
    let app = sim
        .state
        .app(&req.app_id)
        .ok_or_else(|| boxed_fail(StatusCode::NOT_FOUND, format!("no app {}", req.app_id)))?;
    let default_url = app.webhook_url.clone();
    let (payload, url) = match (req.payload, req.waba_id, req.field) {
        (Some(payload), None, None) => (payload, default_url),
        (None, Some(waba_id), Some(field)) => {
            let waba = sim
                .state
                .waba(&waba_id)
                .ok_or_else(|| boxed_fail(StatusCode::NOT_FOUND, format!("no WABA {waba_id}")))?;
            let subscription = waba.subscribed_apps.iter().find(|s| s.app_id == app.id);
            if subscription.is_none() && !req.force {
                return Err(boxed_fail(
                    StatusCode::CONFLICT,
                    format!(
                        "app {} is not subscribed to WABA {waba_id} (POST /{{waba-id}}/subscribed_apps); Meta would not deliver. Pass \"force\": true to deliver anyway",
                        app.id
                    ),
                ));
            }
            let override_url = subscription
                .and_then(|s| s.override_callback_uri.clone())
                .filter(|_| webhook::honours_override(&field));
            let value = req.value.unwrap_or_else(|| json!({}));
            let payload = webhook::envelope(&waba_id, &field, value, sim.clock.now());
            (payload, override_url.or(default_url))
        }
        _ => {
            return Err(boxed_fail(
                StatusCode::BAD_REQUEST,
                "give either \"payload\" or \"waba_id\" + \"field\" (+ \"value\")",
            ));
        }
    };
    let url = url.ok_or_else(|| {
        boxed_fail(
            StatusCode::CONFLICT,
            format!("app {} has no webhook_url", app.id),
        )
    })?;
    let body = serde_json::to_vec(&payload)
        .map_err(|e| boxed_fail(StatusCode::BAD_REQUEST, e.to_string()))?;
    Ok(Prepared {
        url,
        secret: app.secret.expose().as_bytes().to_vec(),
        body,
    })
}

pub async fn deliver_webhook(AxState(ctx): AxState<Shared>, Json(req): Json<Delivery>) -> Response {
    let prepared = match prepare_delivery(&ctx, req) {
        Ok(p) => p,
        Err(r) => return *r,
    };
    let url = match webhook::check_loopback(&prepared.url) {
        Ok(u) => u,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let signature = webhook::signature_header(&prepared.secret, &prepared.body);
    match webhook::deliver(&ctx.http, url, prepared.body, signature).await {
        Ok(outcome) => ok(json!({ "status": outcome.status, "body": outcome.body })),
        Err(e) => fail(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verify {
    app_id: String,
    /// Verify the WABA-level override of this app's subscription instead of the app URL.
    #[serde(default)]
    waba_id: Option<String>,
}

pub async fn verify_webhook(AxState(ctx): AxState<Shared>, Json(req): Json<Verify>) -> Response {
    let target = {
        let sim = ctx.lock();
        let Some(app) = sim.state.app(&req.app_id) else {
            return fail(StatusCode::NOT_FOUND, format!("no app {}", req.app_id));
        };
        match &req.waba_id {
            None => (app.webhook_url.clone(), app.verify_token.clone()),
            Some(waba_id) => {
                let subscription = sim
                    .state
                    .waba(waba_id)
                    .and_then(|w| w.subscribed_apps.iter().find(|s| s.app_id == app.id));
                match subscription {
                    Some(s) => (s.override_callback_uri.clone(), s.verify_token.clone()),
                    None => {
                        return fail(
                            StatusCode::NOT_FOUND,
                            "the app is not subscribed to that WABA",
                        );
                    }
                }
            }
        }
    };
    let (Some(raw_url), Some(verify_token)) = target else {
        return fail(
            StatusCode::CONFLICT,
            "no callback URL and verify token configured",
        );
    };
    let url = match webhook::check_loopback(&raw_url) {
        Ok(u) => u,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let challenge = rand::rng()
        .random_range(100_000_000u64..1_000_000_000)
        .to_string();
    match webhook::handshake(&ctx.http, url, verify_token.expose(), &challenge).await {
        Ok(outcome) => {
            let echoed = outcome.body == challenge;
            ok(json!({
                "status": outcome.status,
                "body": outcome.body,
                "challenge": challenge,
                "challenge_echoed": echoed,
                "verified": echoed && outcome.status == 200,
            }))
        }
        Err(e) => fail(StatusCode::BAD_GATEWAY, e.to_string()),
    }
}
