//! Node and edge handlers behind the Graph front door: WABAs, phone numbers, businesses, apps.

use axum::http::Method;
use rand::Rng;
use serde_json::{Map, Value, json};

use super::fields::{self, DEFAULT_PAGE_SIZE, FieldSel, PageRequest};
use super::graph_auth::{Caller, check_permission};
use super::graph_error::GraphError;
use super::graph_routes::GraphRequest;
use super::graph_templates;
use super::rules::{self, Params, param};
use super::server::Sim;
use super::state::Waba;
use super::views;

pub(super) fn parse_fields(req: &GraphRequest) -> Result<Option<Vec<FieldSel>>, GraphError> {
    match param(&req.params, "fields") {
        Some(f) if !f.trim().is_empty() => Ok(Some(fields::parse(&f)?)),
        _ => Ok(None),
    }
}

pub(super) fn defaults(names: &[&str]) -> Vec<FieldSel> {
    names
        .iter()
        .map(|n| FieldSel {
            name: (*n).to_owned(),
            modifiers: Vec::new(),
            children: None,
        })
        .collect()
}

pub(super) fn serve_simple_node(
    sim: &Sim,
    req: &GraphRequest,
    caller: &Caller,
    id: &str,
) -> Result<Value, GraphError> {
    let is_business = sim.state.business(id).is_some();
    match req.segments.get(1).map(String::as_str) {
        None => {}
        Some("owned_whatsapp_business_accounts" | "client_whatsapp_business_accounts")
            if is_business && req.method == Method::GET =>
        {
            return business_wabas(sim, req, caller, id);
        }
        Some("owned_whatsapp_business_accounts" | "client_whatsapp_business_accounts")
            if is_business =>
        {
            return Err(GraphError::unsupported(req.method.as_str(), id));
        }
        Some(other) => return Err(GraphError::unknown_path(&format!("/{other}"))),
    }
    if req.method != Method::GET {
        return Err(GraphError::unsupported(req.method.as_str(), id));
    }
    let (mut view, node_type) = if let Some(b) = sim.state.business(id) {
        let mut view = views::simple_node_view(&b.id, &b.name, "BUSINESS", &b.health);
        if let Some(status) = &b.verification_status {
            view.insert("verification_status".into(), json!(status));
        }
        (view, "Business")
    } else if let Some(a) = sim.state.app(id) {
        (
            views::simple_node_view(&a.id, &a.name, "APP", &a.health),
            "Application",
        )
    } else {
        return Err(GraphError::unsupported("GET", id));
    };
    view.retain(|_, v| !v.is_null());
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(&["id", "name"]));
    let known = ["id", "name", "health_status", "verification_status"];
    Ok(Value::Object(fields::select_node(
        &view, &sels, &known, node_type,
    )?))
}

/// `GET /{business-id}/owned_whatsapp_business_accounts`: the business's WABAs the token may
/// see. Shared (client) WABAs are not modelled, so that edge is always empty.
fn business_wabas(
    sim: &Sim,
    req: &GraphRequest,
    caller: &Caller,
    business_id: &str,
) -> Result<Value, GraphError> {
    let owned = req
        .segments
        .get(1)
        .is_some_and(|e| e == "owned_whatsapp_business_accounts");
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(&["id", "name"]));
    if let Some(edge) = sels
        .iter()
        .find(|s| s.name == "phone_numbers" || s.name == "message_templates")
    {
        return Err(GraphError::invalid_param(&format!(
            "Expand {} on the WhatsApp Business Account itself.",
            edge.name
        )));
    }
    let items = sim
        .state
        .wabas
        .iter()
        .filter(|w| owned && w.owner_business_id == business_id)
        .filter(|w| check_permission(&caller.token, &w.id).is_ok())
        .map(|w| {
            let view = views::waba_view(&sim.state, w, Some(&caller.token.app_id));
            let known = views::known_fields(views::WABA_KNOWN, &view);
            fields::select_node(&view, &sels, &known, views::WABA_TYPE).map(Value::Object)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let limit = page_limit(param(&req.params, "limit"))?;
    let after = param(&req.params, "after");
    let before = param(&req.params, "before");
    let page = PageRequest {
        limit,
        after: after.as_deref(),
        before: before.as_deref(),
    };
    let edge = req.segments.get(1).cloned().unwrap_or_default();
    fields::page(items, &page, |key, cursor| {
        next_link(req, &format!("{business_id}/{edge}"), limit, key, cursor)
    })
}

/// Absolute link to another page of a list edge: the original query with the cursor replaced.
pub(super) fn next_link(
    req: &GraphRequest,
    edge_path: &str,
    limit: usize,
    key: &str,
    cursor: &str,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    let mut has_limit = false;
    for (k, v) in &req.query {
        if k == "after" || k == "before" {
            continue;
        }
        has_limit |= k == "limit";
        q.append_pair(k, v);
    }
    if !has_limit {
        q.append_pair("limit", &limit.to_string());
    }
    q.append_pair(key, cursor);
    format!(
        "{}/{}/{edge_path}?{}",
        req.base_url,
        req.version(),
        q.finish()
    )
}

pub(super) fn serve_waba(
    sim: &mut Sim,
    req: &GraphRequest,
    caller: &Caller,
    waba_id: &str,
) -> Result<Value, GraphError> {
    let edge = req.segments.get(1).map(String::as_str);
    let method = &req.method;
    match (edge, method.as_str()) {
        (None, "GET") => get_waba(sim, req, caller, waba_id),
        (Some("phone_numbers"), "GET") => list_numbers(sim, req, caller, waba_id),
        (Some("phone_numbers"), "POST") => {
            let id = new_id(sim);
            rules::add_number(&mut sim.state, waba_id, &req.params, id)
        }
        (Some("subscribed_apps"), "GET") => Ok(subscribed_apps(sim, waba_id)),
        (Some("subscribed_apps"), "POST") => subscribe(sim, req, caller, waba_id),
        (Some("subscribed_apps"), "DELETE") => {
            let waba = waba_mut(sim, waba_id)?;
            waba.subscribed_apps
                .retain(|s| s.app_id != caller.token.app_id);
            Ok(json!({ "success": true }))
        }
        (Some("message_templates"), "GET") => graph_templates::list(sim, req, waba_id),
        (Some("message_templates"), "POST") => {
            let id = new_id(sim);
            graph_templates::create(sim, req, waba_id, id)
        }
        (Some("message_templates"), "DELETE") => graph_templates::delete(sim, req, waba_id),
        (None | Some("phone_numbers" | "subscribed_apps" | "message_templates"), m) => {
            Err(GraphError::unsupported(m, waba_id))
        }
        (Some(other), _) => Err(GraphError::unknown_path(&format!("/{other}"))),
    }
}

fn waba_mut<'a>(sim: &'a mut Sim, waba_id: &str) -> Result<&'a mut Waba, GraphError> {
    sim.state
        .waba_mut(waba_id)
        .ok_or_else(|| GraphError::unsupported("POST", waba_id))
}

pub(super) fn new_id(sim: &Sim) -> String {
    loop {
        let id = rand::rng()
            .random_range(100_000_000_000_000u64..1_000_000_000_000_000)
            .to_string();
        if !sim.state.id_taken(&id) {
            return id;
        }
    }
}

fn get_waba(
    sim: &Sim,
    req: &GraphRequest,
    caller: &Caller,
    waba_id: &str,
) -> Result<Value, GraphError> {
    let waba = sim
        .state
        .waba(waba_id)
        .ok_or_else(|| GraphError::unsupported("GET", waba_id))?;
    let view = views::waba_view(&sim.state, waba, Some(&caller.token.app_id));
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(views::WABA_DEFAULT));
    let known = views::known_fields(views::WABA_KNOWN, &view);
    let mut out = fields::select_node(&view, &sels, &known, views::WABA_TYPE)?;
    for sel in &sels {
        let value = match sel.name.as_str() {
            "phone_numbers" => expand(req, waba_id, sel, views::NUMBER_LIST_DEFAULT, |c| {
                number_items(sim, waba, c, caller, &Params::new())
            })?,
            "message_templates" => expand(req, waba_id, sel, views::TEMPLATE_DEFAULT, |c| {
                graph_templates::template_items(waba, c, &Params::new())
            })?,
            _ => continue,
        };
        out.insert(sel.name.clone(), value);
    }
    Ok(Value::Object(out))
}

/// An edge expanded in the WABA read (`edge.limit(N){fields}`, also `.after()`/`.before()`):
/// one page, whose `next`/`previous` links go to `/{waba-id}/{edge}` with the same fields.
fn expand(
    req: &GraphRequest,
    waba_id: &str,
    sel: &FieldSel,
    default_children: &[&str],
    items: impl FnOnce(&[FieldSel]) -> Result<Vec<Value>, GraphError>,
) -> Result<Value, GraphError> {
    let children = sel
        .children
        .clone()
        .unwrap_or_else(|| defaults(default_children));
    let limit = page_limit(sel.modifier("limit").map(str::to_owned))?;
    let page = PageRequest {
        limit,
        after: sel.modifier("after"),
        before: sel.modifier("before"),
    };
    let link_fields = fields::join(&children);
    let token_in_query = param(&req.params, "access_token");
    let link = |key: &str, cursor: &str| {
        let mut q = url::form_urlencoded::Serializer::new(String::new());
        if let Some(t) = &token_in_query {
            q.append_pair("access_token", t);
        }
        q.append_pair("fields", &link_fields);
        q.append_pair("limit", &limit.to_string());
        q.append_pair(key, cursor);
        format!(
            "{}/{}/{waba_id}/{}?{}",
            req.base_url,
            req.version(),
            sel.name,
            q.finish()
        )
    };
    fields::page(items(&children)?, &page, link)
}

pub(super) fn page_limit(raw: Option<String>) -> Result<usize, GraphError> {
    match raw {
        None => Ok(DEFAULT_PAGE_SIZE),
        Some(s) => {
            s.trim().parse::<usize>().map(|n| n.min(1000)).map_err(|_| {
                GraphError::invalid_param("Param limit must be a non-negative integer")
            })
        }
    }
}

/// Number views for a list, after Meta's `filtering` and `sort` parameters.
fn number_items(
    sim: &Sim,
    waba: &Waba,
    sels: &[FieldSel],
    caller: &Caller,
    params: &Params,
) -> Result<Vec<Value>, GraphError> {
    let filters = list_filters(params)?;
    let mut views: Vec<Map<String, Value>> = waba
        .phone_numbers
        .iter()
        .map(|n| views::number_view(&sim.state, waba, n, Some(&caller.token.app_id)))
        .filter(|v| filters.iter().all(|f| f.keeps(v)))
        .collect();
    match param(params, "sort")
        .as_deref()
        .map(|s| s.trim_matches(|c| "[]\"' ".contains(c)))
    {
        Some("last_onboarded_time_ascending") => views.sort_by_key(onboarded),
        Some("last_onboarded_time_descending") => {
            views.sort_by_key(|v| std::cmp::Reverse(onboarded(v)))
        }
        _ => {}
    }
    views
        .iter()
        .map(|v| {
            let known = views::known_fields(views::NUMBER_KNOWN, v);
            fields::select_node(v, sels, &known, views::NUMBER_TYPE).map(Value::Object)
        })
        .collect()
}

fn onboarded(view: &Map<String, Value>) -> String {
    view.get("last_onboarded_time")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned()
}

struct ListFilter {
    field: String,
    equal: bool,
    value: Value,
}

impl ListFilter {
    fn keeps(&self, view: &Map<String, Value>) -> bool {
        (view.get(&self.field) == Some(&self.value)) == self.equal
    }
}

fn list_filters(params: &Params) -> Result<Vec<ListFilter>, GraphError> {
    let Some(raw) = params.get("filtering") else {
        return Ok(Vec::new());
    };
    let parsed = match raw {
        Value::String(s) => serde_json::from_str::<Value>(s)
            .map_err(|_| GraphError::invalid_param("Param filtering must be a JSON array"))?,
        other => other.clone(),
    };
    let invalid =
        || GraphError::invalid_param("Param filtering[] must be {field, operator, value}");
    let Value::Array(items) = parsed else {
        return Err(invalid());
    };
    items
        .iter()
        .map(|item| {
            let field = item
                .get("field")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            let operator = item
                .get("operator")
                .and_then(Value::as_str)
                .ok_or_else(invalid)?;
            let value = item.get("value").cloned().ok_or_else(invalid)?;
            let equal = match operator {
                "EQUAL" => true,
                "NOT_EQUAL" => false,
                _ => return Err(invalid()),
            };
            Ok(ListFilter {
                field: field.to_owned(),
                equal,
                value,
            })
        })
        .collect()
}

fn list_numbers(
    sim: &Sim,
    req: &GraphRequest,
    caller: &Caller,
    waba_id: &str,
) -> Result<Value, GraphError> {
    let waba = sim
        .state
        .waba(waba_id)
        .ok_or_else(|| GraphError::unsupported("GET", waba_id))?;
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(views::NUMBER_LIST_DEFAULT));
    let limit = page_limit(param(&req.params, "limit"))?;
    let after = param(&req.params, "after");
    let before = param(&req.params, "before");
    let page = PageRequest {
        limit,
        after: after.as_deref(),
        before: before.as_deref(),
    };
    let edge_path = format!("{waba_id}/phone_numbers");
    let link = |key: &str, cursor: &str| next_link(req, &edge_path, limit, key, cursor);
    let items = number_items(sim, waba, &sels, caller, &req.params)?;
    fields::page(items, &page, link)
}

fn subscribed_apps(sim: &Sim, waba_id: &str) -> Value {
    let Some(waba) = sim.state.waba(waba_id) else {
        return json!({ "data": [] });
    };
    let data: Vec<Value> = waba
        .subscribed_apps
        .iter()
        .map(|s| {
            let name = sim
                .state
                .app(&s.app_id)
                .map(|a| a.name.clone())
                .unwrap_or_default();
            let mut entry = json!({
                "whatsapp_business_api_data": {
                    "id": s.app_id,
                    "link": format!("https://www.facebook.com/games/?app_id={}", s.app_id),
                    "name": name,
                }
            });
            if let (Some(uri), Some(obj)) = (&s.override_callback_uri, entry.as_object_mut()) {
                obj.insert("override_callback_uri".into(), json!(uri));
            }
            entry
        })
        .collect();
    json!({ "data": data })
}

fn subscribe(
    sim: &mut Sim,
    req: &GraphRequest,
    caller: &Caller,
    waba_id: &str,
) -> Result<Value, GraphError> {
    let uri = param(&req.params, "override_callback_uri").filter(|u| !u.is_empty());
    let verify_token = param(&req.params, "verify_token").filter(|t| !t.is_empty());
    if let Some(u) = &uri {
        if u.chars().count() > 200 {
            return Err(GraphError::invalid_param(
                "Param override_callback_uri must be at most 200 characters long.",
            ));
        }
        if verify_token.is_none() {
            return Err(GraphError::missing_param("verify_token"));
        }
        if let Some(Err(reason)) = &req.override_verification {
            return Err(GraphError::new(
                2200,
                &format!("Callback verification failed with the following errors: {reason}"),
            ));
        }
    }
    let app_id = caller.token.app_id.clone();
    let waba = waba_mut(sim, waba_id)?;
    waba.subscribed_apps.retain(|s| s.app_id != app_id);
    waba.subscribed_apps.push(super::state::Subscription {
        app_id,
        override_callback_uri: uri,
        verify_token: verify_token.map(super::state::SimSecret::new),
    });
    Ok(json!({ "success": true }))
}

pub(super) fn serve_number(
    sim: &mut Sim,
    req: &GraphRequest,
    caller: &Caller,
    id: &str,
) -> Result<Value, GraphError> {
    let edge = req.segments.get(1).map(String::as_str);
    let now = sim.clock.now();
    if (edge, req.method.as_str()) == (None, "GET") {
        return get_number(sim, req, caller, id);
    }
    if (edge, req.method.as_str()) == (Some("whatsapp_business_profile"), "GET") {
        let (_, number) = sim
            .state
            .number(id)
            .ok_or_else(|| GraphError::unsupported("GET", id))?;
        let wanted: Option<Vec<String>> = param(&req.params, "fields")
            .map(|f| f.split(',').map(|s| s.trim().to_owned()).collect());
        return Ok(rules::business_profile(number, wanted.as_deref()));
    }
    let code = format!("{:06}", rand::rng().random_range(0..1_000_000u32));
    let number = sim
        .state
        .number_mut(id)
        .ok_or_else(|| GraphError::unsupported(req.method.as_str(), id))?;
    match (edge, req.method.as_str()) {
        (None, "POST") => rules::update_number(number, &req.params, now),
        (Some("request_code"), "POST") => rules::request_code(number, &req.params, now, code),
        (Some("verify_code"), "POST") => rules::verify_code(number, &req.params, now),
        (Some("register"), "POST") => rules::register(number, &req.params, now),
        (Some("deregister"), "POST") => rules::deregister(number, now),
        (Some("whatsapp_business_profile"), "POST") => {
            rules::update_business_profile(number, &req.params)
        }
        (
            None
            | Some(
                "request_code"
                | "verify_code"
                | "register"
                | "deregister"
                | "whatsapp_business_profile",
            ),
            m,
        ) => Err(GraphError::unsupported(m, id)),
        (Some(other), _) => Err(GraphError::unknown_path(&format!("/{other}"))),
    }
}

fn get_number(
    sim: &Sim,
    req: &GraphRequest,
    caller: &Caller,
    id: &str,
) -> Result<Value, GraphError> {
    let (waba, number) = sim
        .state
        .number(id)
        .ok_or_else(|| GraphError::unsupported("GET", id))?;
    let view = views::number_view(&sim.state, waba, number, Some(&caller.token.app_id));
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(views::NUMBER_DEFAULT));
    let known = views::known_fields(views::NUMBER_KNOWN, &view);
    Ok(Value::Object(fields::select_node(
        &view,
        &sels,
        &known,
        views::NUMBER_TYPE,
    )?))
}
