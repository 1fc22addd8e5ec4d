//! Who is calling: access tokens, permissions and `debug_token`.

use axum::http::Method;
use serde_json::{Value, json};

use super::graph_error::GraphError;
use super::graph_routes::GraphRequest;
use super::rules::param;
use super::server::Sim;
use super::state::Token;

/// The identity behind a valid token.
pub(super) struct Caller {
    pub(super) token: Token,
}

pub(super) fn authenticate(sim: &Sim, req: &GraphRequest) -> Result<Caller, GraphError> {
    let Some(value) = req
        .token
        .clone()
        .or_else(|| param(&req.params, "access_token"))
    else {
        return Err(GraphError::raw(
            104,
            "An access token is required to request this resource.".to_owned(),
        ));
    };
    let now = sim.clock.now();
    let token = sim.state.token(&value).ok_or_else(|| {
        GraphError::raw(
            190,
            "Invalid OAuth access token - Cannot parse access token".to_owned(),
        )
    })?;
    if token.invalidated {
        return Err(GraphError::raw(
            190,
            "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.".to_owned(),
        )
        .subcode(460));
    }
    if token.is_expired(now) {
        return Err(expired_error(token.expires_at, now));
    }
    Ok(Caller {
        token: token.clone(),
    })
}

pub(super) fn expired_error(expires_at: i64, now: i64) -> GraphError {
    let fmt = |t: i64| {
        jiff::Timestamp::from_second(t)
            .map(|ts| ts.strftime("%A, %d-%b-%y %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    };
    GraphError::raw(
        190,
        format!(
            "Error validating access token: Session has expired on {}. The current time is {}.",
            fmt(expires_at),
            fmt(now)
        ),
    )
    .subcode(463)
}

pub(super) fn check_permission(token: &Token, waba_id: &str) -> Result<(), GraphError> {
    if !token
        .scopes
        .iter()
        .any(|s| s == "whatsapp_business_management")
    {
        return Err(GraphError::new(
            200,
            "Requires whatsapp_business_management permission to manage the object",
        ));
    }
    if let Some(targets) = token.management_targets()
        && !targets.iter().any(|t| t == waba_id)
    {
        return Err(GraphError::new(200, "Permissions error").details(
            "The access token has not been granted access to this WhatsApp Business Account.",
        ));
    }
    Ok(())
}

/// `GET /debug_token?input_token=...`: callable with any valid token or an app token
/// (`app_id|app_secret`).
pub(super) fn debug_token(sim: &Sim, req: &GraphRequest) -> Result<Value, GraphError> {
    if req.method != Method::GET {
        return Err(GraphError::unsupported(req.method.as_str(), "debug_token"));
    }
    let caller = req
        .token
        .clone()
        .or_else(|| param(&req.params, "access_token"));
    let app_token_ok = caller
        .as_deref()
        .and_then(|t| t.split_once('|'))
        .is_some_and(|(app, secret)| {
            sim.state
                .app(app)
                .is_some_and(|a| a.secret.expose() == secret)
        });
    if !app_token_ok {
        authenticate(sim, req)?;
    }
    let input = param(&req.params, "input_token")
        .ok_or_else(|| GraphError::missing_param("input_token"))?;
    let now = sim.clock.now();
    let Some(token) = sim.state.token(&input) else {
        return Ok(json!({ "data": {
            "error": { "code": 190, "message": "Invalid OAuth access token - Cannot parse access token" },
            "is_valid": false,
            "scopes": [],
        }}));
    };
    let application = sim
        .state
        .app(&token.app_id)
        .map(|a| a.name.clone())
        .unwrap_or_default();
    let mut data = json!({
        "app_id": token.app_id,
        "type": token.kind,
        "application": application,
        "data_access_expires_at": token.data_access_expires_at,
        "expires_at": token.expires_at,
        "is_valid": !token.invalidated && !token.is_expired(now),
        "scopes": token.scopes,
        "granular_scopes": token.granular_scopes,
    });
    if let Some(obj) = data.as_object_mut() {
        if let Some(user) = &token.user_id {
            obj.insert("user_id".into(), json!(user));
        }
        if token.is_expired(now) {
            let err = expired_error(token.expires_at, now);
            obj.insert(
                "error".into(),
                json!({ "code": 190, "message": err.message, "subcode": 463 }),
            );
        } else if token.invalidated {
            obj.insert(
                "error".into(),
                json!({ "code": 190, "message": "The session has been invalidated.", "subcode": 460 }),
            );
        }
    }
    Ok(json!({ "data": data }))
}

/// `GET /me`: the user (system user) behind the token, as Graph answers it without `fields`.
pub(super) fn me(caller: &Caller) -> Value {
    let id = caller.token.user_id.clone().unwrap_or_default();
    json!({ "id": id, "name": format!("System user {id}") })
}
