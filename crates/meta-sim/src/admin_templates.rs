//! `/_sim/` admin API for message templates: add one made "elsewhere" (WhatsApp Manager),
//! read and merge fields, and trigger what Meta does on its own (review decisions, quality
//! changes, pause, unpause, disable, category changes) with the webhook Meta sends for it.

use axum::body::Bytes;
use axum::extract::{Path, State as AxState};
use axum::http::StatusCode;
use axum::response::Response;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use super::admin_reviews::DecideNow;
use super::admin_routes::{Patch, fail, ok};
use super::graph_nodes::new_id;
use super::server::Shared;
use super::state::{Template, merge_fields};
use super::template_events::{self as events, CATEGORY_FIELD, QUALITY_FIELD, STATUS_FIELD};
use super::timed_reviews::{self, Verdict};

/// `POST /_sim/wabas/{id}/message_templates`: a template in the state-file format (`id`
/// optional; `status` defaults to `APPROVED`). No Graph budget is spent and nothing is checked
/// but the shape and uniqueness.
pub async fn add_template(
    AxState(ctx): AxState<Shared>,
    Path(waba_id): Path<String>,
    body: Bytes,
) -> Response {
    let mut body: Map<String, Value> = match serde_json::from_slice(&body) {
        Ok(b) => b,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    let mut sim = ctx.lock();
    if !body.contains_key("id") {
        body.insert("id".into(), json!(new_id(&sim)));
    }
    let mut template: Template = match serde_json::from_value(Value::Object(body)) {
        Ok(t) => t,
        Err(e) => return fail(StatusCode::BAD_REQUEST, e.to_string()),
    };
    if sim.state.id_taken(&template.id) {
        return fail(
            StatusCode::CONFLICT,
            format!("id {} already exists", template.id),
        );
    }
    let now = sim.clock.now();
    let Some(waba) = sim.state.waba_mut(&waba_id) else {
        return fail(StatusCode::NOT_FOUND, format!("no WABA {waba_id}"));
    };
    if waba
        .message_templates
        .iter()
        .any(|t| t.name == template.name && t.language == template.language)
    {
        return fail(
            StatusCode::CONFLICT,
            format!(
                "WABA {waba_id} already has {} in {}",
                template.name, template.language
            ),
        );
    }
    template.created_at.get_or_insert(now);
    if template.status == "PENDING" {
        template.review_started_at.get_or_insert(now);
    }
    let id = template.id.clone();
    waba.message_templates.push(template);
    ok(json!({ "id": id }))
}

/// `GET /_sim/templates/{id}`: the template as stored, bookkeeping included.
pub async fn get_template(AxState(ctx): AxState<Shared>, Path(id): Path<String>) -> Response {
    let sim = ctx.lock();
    match sim.state.template(&id) {
        Some((_, t)) => ok(json!(t)),
        None => fail(StatusCode::NOT_FOUND, format!("no template {id}")),
    }
}

/// `POST /_sim/templates/{id}`: merges top-level fields (no webhook is sent).
pub async fn merge_template(
    AxState(ctx): AxState<Shared>,
    Path(id): Path<String>,
    axum::Json(patch): Patch,
) -> Response {
    let mut sim = ctx.lock();
    let Some((waba, current)) = sim.state.template(&id) else {
        return fail(StatusCode::NOT_FOUND, format!("no template {id}"));
    };
    let mut merged = current.clone();
    if let Err(e) = merge_fields(&mut merged, &patch) {
        return fail(StatusCode::BAD_REQUEST, e);
    }
    let clash = waba
        .message_templates
        .iter()
        .any(|t| t.id != id && t.name == merged.name && t.language == merged.language);
    if clash {
        return fail(
            StatusCode::BAD_REQUEST,
            format!("another template is {} in {}", merged.name, merged.language),
        );
    }
    if let Some(t) = sim.state.template_mut(&id) {
        *t = merged;
    }
    ok(json!({ "success": true }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Quality {
    score: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Pause {
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Described {
    #[serde(default)]
    description: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Announce {
    correct_category: String,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct Apply {
    #[serde(default)]
    new_category: Option<String>,
}

fn parse<T: DeserializeOwned>(body: &Bytes) -> Result<T, Response> {
    let text = if body.iter().all(u8::is_ascii_whitespace) {
        &b"{}"[..]
    } else {
        &body[..]
    };
    serde_json::from_slice(text).map_err(|e| fail(StatusCode::BAD_REQUEST, e.to_string()))
}

/// What an action does to the template: its webhook field and value, or why it can't be done.
type Outcome = Result<(&'static str, Value), Response>;

fn act(t: &mut Template, action: &str, body: &Bytes, now: i64) -> Outcome {
    let conflict = |e: String| fail(StatusCode::CONFLICT, e);
    match action {
        "review" => {
            let decide: DecideNow = parse(body)?;
            let Some(approve) = decide.approves() else {
                return Err(fail(
                    StatusCode::BAD_REQUEST,
                    "decision must be APPROVED or REJECTED",
                ));
            };
            if t.status != "PENDING" {
                return Err(conflict(format!(
                    "only a PENDING template is under review; it is {}",
                    t.status
                )));
            }
            let verdict = if approve {
                Verdict::Approve
            } else {
                let reason = decide
                    .rejection_reason
                    .unwrap_or_else(|| timed_reviews::REJECTED_REASON.to_owned());
                Verdict::Reject(reason)
            };
            Ok((STATUS_FIELD, timed_reviews::decide_template(t, &verdict)))
        }
        "quality" => {
            let q: Quality = parse(body)?;
            Ok((QUALITY_FIELD, events::quality(t, &q.score, now)))
        }
        "pause" => {
            let p: Pause = parse(body)?;
            let title = p.title.as_deref().unwrap_or("FIRST_PAUSE");
            let description = p
                .description
                .as_deref()
                .unwrap_or(events::DEFAULT_PAUSE_DESCRIPTION);
            events::pause(t, title, description)
                .map(|v| (STATUS_FIELD, v))
                .map_err(conflict)
        }
        "unpause" => {
            let d: Described = parse(body)?;
            let description = d
                .description
                .as_deref()
                .unwrap_or(events::DEFAULT_UNPAUSE_DESCRIPTION);
            events::unpause(t, description)
                .map(|v| (STATUS_FIELD, v))
                .map_err(conflict)
        }
        "disable" => {
            let d: Described = parse(body)?;
            let description = d
                .description
                .as_deref()
                .unwrap_or(events::DEFAULT_DISABLE_DESCRIPTION);
            events::disable(t, description, now)
                .map(|v| (STATUS_FIELD, v))
                .map_err(conflict)
        }
        "announce_category" => {
            let a: Announce = parse(body)?;
            Ok((
                CATEGORY_FIELD,
                events::announce_category(t, &a.correct_category, now),
            ))
        }
        "apply_category" => {
            let a: Apply = parse(body)?;
            events::apply_category(t, a.new_category.as_deref())
                .map(|v| (CATEGORY_FIELD, v))
                .map_err(conflict)
        }
        other => Err(fail(
            StatusCode::NOT_FOUND,
            format!(
                "unknown template action {other}: review, quality, pause, unpause, disable, announce_category, apply_category"
            ),
        )),
    }
}

/// `POST /_sim/templates/{id}/{action}`: changes the template as Meta would and queues the
/// webhook Meta sends with it (delivered at once by the background task).
pub async fn template_event(
    AxState(ctx): AxState<Shared>,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let answer = {
        let mut sim = ctx.lock();
        let now = sim.clock.now();
        let Some(waba_id) = sim.state.template(&id).map(|(w, _)| w.id.clone()) else {
            return fail(StatusCode::NOT_FOUND, format!("no template {id}"));
        };
        let Some(t) = sim.state.template_mut(&id) else {
            return fail(StatusCode::NOT_FOUND, format!("no template {id}"));
        };
        let (field, value) = match act(t, &action, &body, now) {
            Ok(out) => out,
            Err(response) => return response,
        };
        let template = json!(t);
        sim.outbox.push(&waba_id, field, value.clone(), now);
        json!({
            "success": true,
            "webhook": { "field": field, "value": value },
            "template": template,
        })
    };
    ctx.wake();
    ok(answer)
}
