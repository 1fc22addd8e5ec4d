//! `/_sim/` admin API for reviews and the webhooks the simulator sends on its own: the review
//! rules, deciding a display-name review now, and the log of sent webhooks.

use axum::Json;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde_json::{Value, json};

use super::admin_routes::{fail, ok};
use super::display_name;
use super::server::Shared;
use super::state::Decision;
use super::state::reviews::ReviewsPatch;

pub async fn get_reviews(AxState(ctx): AxState<Shared>) -> Response {
    ok(json!(ctx.lock().state.reviews))
}

/// Replaces the rules given (`display_name`, `templates`), keeps the others; reviews already
/// running follow the new rules from the next tick.
pub async fn set_reviews(AxState(ctx): AxState<Shared>, Json(body): Json<Value>) -> Response {
    let patch: ReviewsPatch = match serde_json::from_value(body) {
        Ok(p) => p,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let mut sim = ctx.lock();
    sim.state.reviews.apply(patch);
    ok(json!(sim.state.reviews))
}

/// A decision taken now, whatever the rules say.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecideNow {
    pub decision: Decision,
    #[serde(default)]
    pub rejection_reason: Option<String>,
}

impl DecideNow {
    /// `Some(true)` to approve, `Some(false)` to reject, `None` for `manual` (not a decision).
    pub fn approves(&self) -> Option<bool> {
        match self.decision {
            Decision::Approved => Some(true),
            Decision::Rejected => Some(false),
            Decision::Manual => None,
        }
    }
}

/// `POST /_sim/numbers/{id}/name_review`: Meta decides the requested display name now and
/// sends `phone_number_name_update`.
pub async fn review_name(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    Json(body): Json<DecideNow>,
) -> Response {
    let Some(approve) = body.approves() else {
        return fail(
            StatusCode::BAD_REQUEST,
            "decision must be APPROVED or REJECTED",
        );
    };
    let value = {
        let mut sim = ctx.lock();
        let now = sim.clock.now();
        let Some(waba_id) = sim.state.number(&id).map(|(w, _)| w.id.clone()) else {
            return fail(StatusCode::NOT_FOUND, format!("no phone number {id}"));
        };
        let Some(number) = sim.state.number_mut(&id) else {
            return fail(StatusCode::NOT_FOUND, format!("no phone number {id}"));
        };
        if !display_name::in_review(number) {
            return fail(
                StatusCode::CONFLICT,
                "no display name of this number is under review (POST /{phone-number-id} with new_display_name first)",
            );
        }
        let value = display_name::decide(number, approve, body.rejection_reason.as_deref());
        sim.outbox
            .push(&waba_id, display_name::WEBHOOK_FIELD, value.clone(), now);
        value
    };
    ctx.wake();
    ok(json!({
        "success": true,
        "webhook": { "field": display_name::WEBHOOK_FIELD, "value": value },
    }))
}

pub async fn get_sent_webhooks(AxState(ctx): AxState<Shared>) -> Response {
    ok(ctx.lock().outbox.report())
}

pub async fn reset_sent_webhooks(AxState(ctx): AxState<Shared>) -> Response {
    ctx.lock().outbox.reset_log();
    ok(json!({ "success": true }))
}
