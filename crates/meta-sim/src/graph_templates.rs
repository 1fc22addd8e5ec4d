//! Graph's message-template endpoints: the WABA's `message_templates` edge (list, create,
//! delete), the template node (read, edit) and its `unpause` edge.

use serde_json::{Value, json};

use super::fields::{self, FieldSel, PageRequest};
use super::graph_error::GraphError;
use super::graph_nodes::{defaults, next_link, page_limit, parse_fields};
use super::graph_routes::GraphRequest;
use super::rules::{Params, param};
use super::server::Sim;
use super::state::{Template, Waba};
use super::template_events::STATUS_FIELD;
use super::template_rules;
use super::views;

/// Template views of a WABA for a list, after the `name`, `language`, `status` and `category`
/// filters in `params`.
pub(super) fn template_items(
    waba: &Waba,
    sels: &[FieldSel],
    params: &Params,
) -> Result<Vec<Value>, GraphError> {
    waba.message_templates
        .iter()
        .filter(|t| template_rules::keeps(t, params))
        .map(|t| select(t, sels).map(Value::Object))
        .collect()
}

fn select(t: &Template, sels: &[FieldSel]) -> Result<serde_json::Map<String, Value>, GraphError> {
    let view = views::template_view(t);
    let known = views::known_fields(views::TEMPLATE_KNOWN, &view);
    fields::select_node(&view, sels, &known, views::TEMPLATE_TYPE)
}

fn waba<'a>(sim: &'a Sim, waba_id: &str, method: &str) -> Result<&'a Waba, GraphError> {
    sim.state
        .waba(waba_id)
        .ok_or_else(|| GraphError::unsupported(method, waba_id))
}

/// `GET /{waba-id}/message_templates?fields=&limit=&after=&before=&name=&language=&status=&category=`.
pub(super) fn list(sim: &Sim, req: &GraphRequest, waba_id: &str) -> Result<Value, GraphError> {
    let waba = waba(sim, waba_id, "GET")?;
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(views::TEMPLATE_DEFAULT));
    let limit = page_limit(param(&req.params, "limit"))?;
    let after = param(&req.params, "after");
    let before = param(&req.params, "before");
    let page = PageRequest {
        limit,
        after: after.as_deref(),
        before: before.as_deref(),
    };
    let edge_path = format!("{waba_id}/message_templates");
    let link = |key: &str, cursor: &str| next_link(req, &edge_path, limit, key, cursor);
    fields::page(template_items(waba, &sels, &req.params)?, &page, link)
}

/// `POST /{waba-id}/message_templates`.
pub(super) fn create(
    sim: &mut Sim,
    req: &GraphRequest,
    waba_id: &str,
    id: String,
) -> Result<Value, GraphError> {
    let now = sim.clock.now();
    let waba = sim
        .state
        .waba_mut(waba_id)
        .ok_or_else(|| GraphError::unsupported("POST", waba_id))?;
    template_rules::create(waba, &req.params, id, now)
}

/// `DELETE /{waba-id}/message_templates?name=…[&hsm_id=…]` or `?hsm_ids=[…]`.
pub(super) fn delete(
    sim: &mut Sim,
    req: &GraphRequest,
    waba_id: &str,
) -> Result<Value, GraphError> {
    let now = sim.clock.now();
    let waba = sim
        .state
        .waba_mut(waba_id)
        .ok_or_else(|| GraphError::unsupported("DELETE", waba_id))?;
    let (answer, events) = template_rules::delete(waba, &req.params, now)?;
    for value in events {
        sim.outbox.push(waba_id, STATUS_FIELD, value, now);
    }
    Ok(answer)
}

/// `GET|POST /{template-id}` and `POST /{template-id}/unpause`.
pub(super) fn serve_template(
    sim: &mut Sim,
    req: &GraphRequest,
    id: &str,
) -> Result<Value, GraphError> {
    let edge = req.segments.get(1).map(String::as_str);
    let method = req.method.as_str();
    let now = sim.clock.now();
    let Some((waba, template)) = sim.state.template(id) else {
        return Err(GraphError::unsupported(method, id));
    };
    let waba_id = waba.id.clone();
    match (edge, method) {
        (None, "GET") => {
            let sels = parse_fields(req)?.unwrap_or_else(|| defaults(views::TEMPLATE_DEFAULT));
            select(template, &sels).map(Value::Object)
        }
        (None, "POST") => {
            let t = template_mut(sim, id, method)?;
            template_rules::edit(t, &req.params, now)
        }
        (Some("unpause"), "POST") => {
            let t = template_mut(sim, id, method)?;
            let value = template_rules::unpause(t)?;
            sim.outbox.push(&waba_id, STATUS_FIELD, value, now);
            Ok(json!({ "success": true }))
        }
        (None | Some("unpause"), m) => Err(GraphError::unsupported(m, id)),
        (Some(other), _) => Err(GraphError::unknown_path(&format!("/{other}"))),
    }
}

fn template_mut<'a>(
    sim: &'a mut Sim,
    id: &str,
    method: &str,
) -> Result<&'a mut Template, GraphError> {
    sim.state
        .template_mut(id)
        .ok_or_else(|| GraphError::unsupported(method, id))
}
