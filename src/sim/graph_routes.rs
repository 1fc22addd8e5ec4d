//! Graph API front door: version prefix, request log, faults, auth, BUC budget, then dispatch
//! to the node and edge handlers.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::{Map, Value, json};

use super::budget::Usage;
use super::faults::Fault;
use super::fields::{self, DEFAULT_PAGE_SIZE, FieldSel, PageRequest};
use super::graph_error::{self, GraphError};
use super::rules::{self, Params, param};
use super::server::{Shared, Sim};
use super::state::{Token, Waba};
use super::views;
use super::webhook;

/// Version used in `next` links and headers when the caller used an unversioned path.
const DEFAULT_VERSION: &str = "v25.0";
/// How long a `timeout` fault holds a request when the fault does not say.
const DEFAULT_HOLD_MS: u64 = 300_000;

struct GraphRequest {
    method: Method,
    version: Option<String>,
    segments: Vec<String>,
    params: Params,
    query: Vec<(String, String)>,
    token: Option<String>,
    base_url: String,
    /// Outcome of the handshake Meta performs before accepting an override callback URL.
    override_verification: Option<Result<(), String>>,
}

impl GraphRequest {
    fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(DEFAULT_VERSION)
    }
}

/// The identity behind a valid token.
struct Caller {
    token: Token,
}

struct Reply {
    result: Result<Value, GraphError>,
    usage: Option<Usage>,
}

pub async fn handle(
    AxState(ctx): AxState<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let path = uri.path().to_owned();
    let (version, segments) = split_version(&path);
    let bare_path = format!("/{}", segments.join("/"));
    let (seq, fault) = {
        let mut sim = ctx.lock();
        let now = sim.clock.now();
        let seq = sim.recorder.record(method.as_str(), &path, now);
        (seq, sim.faults.take(method.as_str(), &path, &bare_path))
    };
    tracing::debug!(%method, path = %path, seq, "graph request");

    let mut response = None;
    if let Some(fault) = fault {
        response = apply_fault(&ctx, &fault, version.as_deref()).await;
    }
    let response = match response {
        Some(r) => r,
        None => {
            let mut req = GraphRequest {
                token: bearer(&headers),
                params: params(&uri, &headers, &body, &method),
                query: query_pairs(&uri),
                base_url: base_url(&headers, &ctx),
                method,
                version,
                segments,
                override_verification: None,
            };
            req.override_verification = verify_override(&ctx, &req).await;
            let reply = {
                let mut sim = ctx.lock();
                serve(&mut sim, &req)
            };
            render(reply, req.version())
        }
    };
    ctx.lock().recorder.finish(seq, response.status().as_u16());
    response
}

/// Meta calls an override callback URL (hub.mode=subscribe) before storing it; the handshake
/// runs here, outside the state lock, and `subscribe` turns a failure into error 2200.
async fn verify_override(ctx: &Shared, req: &GraphRequest) -> Option<Result<(), String>> {
    let is_subscribe = req.method == Method::POST
        && req.segments.get(1).is_some_and(|e| e == "subscribed_apps")
        && req.segments.len() == 2;
    if !is_subscribe {
        return None;
    }
    let uri = param(&req.params, "override_callback_uri").filter(|u| !u.is_empty())?;
    let verify_token = param(&req.params, "verify_token").filter(|t| !t.is_empty())?;
    let authorised = {
        let sim = ctx.lock();
        authenticate(&sim, req).is_ok()
    };
    if !authorised {
        return None;
    }
    let url = match webhook::check_loopback(&uri) {
        Ok(url) => url,
        Err(e) => return Some(Err(format!("HTTP Status Code = 0; HTTP Message = {e}"))),
    };
    let challenge = rand::rng()
        .random_range(100_000_000u64..1_000_000_000)
        .to_string();
    Some(
        match webhook::handshake(&ctx.http, url, &verify_token, &challenge).await {
            Ok(out) if out.status == 200 && out.body == challenge => Ok(()),
            Ok(out) => Err(format!(
                "HTTP Status Code = {}; HTTP Message = the response was not the challenge",
                out.status
            )),
            Err(e) => Err(format!("HTTP Status Code = 0; HTTP Message = {e}")),
        },
    )
}

fn split_version(path: &str) -> (Option<String>, Vec<String>) {
    let mut segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let is_version = segments.first().is_some_and(|s| {
        s.strip_prefix('v').is_some_and(|rest| {
            let mut parts = rest.splitn(2, '.');
            let major = parts.next().unwrap_or_default();
            let minor = parts.next().unwrap_or("0");
            !major.is_empty()
                && major.chars().all(|c| c.is_ascii_digit())
                && minor.chars().all(|c| c.is_ascii_digit())
        })
    });
    let version = if is_version {
        Some(segments.remove(0))
    } else {
        None
    };
    (version, segments)
}

fn bearer(headers: &HeaderMap) -> Option<String> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    (scheme.eq_ignore_ascii_case("bearer") || scheme.eq_ignore_ascii_case("oauth"))
        .then(|| token.trim().to_owned())
}

fn query_pairs(uri: &Uri) -> Vec<(String, String)> {
    url::form_urlencoded::parse(uri.query().unwrap_or_default().as_bytes())
        .into_owned()
        .collect()
}

/// Graph takes parameters from the query string and from a JSON or form body alike.
fn params(uri: &Uri, headers: &HeaderMap, body: &Bytes, method: &Method) -> Params {
    let mut params: Params = query_pairs(uri)
        .into_iter()
        .map(|(k, v)| (k, Value::String(v)))
        .collect();
    if *method == Method::GET || body.is_empty() {
        return params;
    }
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if content_type.starts_with("application/x-www-form-urlencoded") {
        for (k, v) in url::form_urlencoded::parse(body).into_owned() {
            params.insert(k, Value::String(v));
        }
    } else if let Ok(Value::Object(map)) = serde_json::from_slice::<Value>(body) {
        params.extend(map);
    }
    params
}

fn base_url(headers: &HeaderMap, ctx: &Shared) -> String {
    headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|host| format!("http://{host}"))
        .unwrap_or_else(|| format!("http://{}", ctx.addr))
}

fn trace_id() -> String {
    rand::rng()
        .sample_iter(&Alphanumeric)
        .take(23)
        .map(char::from)
        .collect()
}

fn base_headers(response: &mut Response, version: &str) {
    let headers = response.headers_mut();
    let trace = trace_id();
    if let Ok(v) = HeaderValue::from_str(&trace) {
        headers.insert("x-fb-trace-id", v.clone());
        headers.insert("x-fb-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("facebook-api-version", v);
    }
}

fn error_response(err: &GraphError, version: &str) -> Response {
    let body = err.body(&trace_id());
    let mut response = (err.http, axum::Json(body)).into_response();
    let kind = if err.code == 190 {
        "invalid_token"
    } else {
        "invalid_request"
    };
    let challenge = format!("OAuth \"Facebook Platform\" \"{kind}\" \"{}\"", err.message);
    if let Ok(v) = HeaderValue::from_str(&challenge) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    base_headers(&mut response, version);
    response
}

fn render(reply: Reply, version: &str) -> Response {
    let mut response = match reply.result {
        Ok(body) => {
            let mut r = (StatusCode::OK, axum::Json(body)).into_response();
            base_headers(&mut r, version);
            r
        }
        Err(err) => error_response(&err, version),
    };
    if let Some(usage) = reply.usage
        && let Ok(v) = HeaderValue::from_str(&usage.header_value())
    {
        response
            .headers_mut()
            .insert("x-business-use-case-usage", v);
    }
    response
}

async fn apply_fault(ctx: &Shared, fault: &Fault, version: Option<&str>) -> Option<Response> {
    let version = version.unwrap_or(DEFAULT_VERSION);
    if let Some(ms) = fault.latency_ms {
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ms)) => {}
            () = ctx.shutdown.cancelled() => {}
        }
    }
    if fault.timeout {
        let hold = Duration::from_millis(fault.timeout_ms.unwrap_or(DEFAULT_HOLD_MS));
        tokio::select! {
            () = tokio::time::sleep(hold) => {}
            () = ctx.shutdown.cancelled() => {}
        }
        // A body that fails makes the server abort the connection instead of answering.
        let broken = futures::stream::once(async {
            Err::<Bytes, std::io::Error>(std::io::Error::other("meta-sim timeout fault"))
        });
        return Some(Response::new(Body::from_stream(broken)));
    }
    if fault.malformed_body {
        let mut r = Response::new(Body::from("{\"id\":\"1065"));
        r.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json; charset=UTF-8"),
        );
        base_headers(&mut r, version);
        return Some(r);
    }
    let http = fault.http_status.and_then(|s| StatusCode::from_u16(s).ok());
    let err = match (&fault.graph_error, http) {
        (Some(g), http) => {
            let message = g
                .message
                .clone()
                .unwrap_or_else(|| "An unknown error occurred".to_owned());
            let mut err = GraphError::raw(g.code, message);
            if let Some(sub) = g.error_subcode {
                err = err.subcode(sub);
            }
            if let Some(details) = &g.details {
                err = err.details(details.clone());
            }
            if let Some(kind) = &g.kind {
                err.kind = kind.clone();
            }
            if let Some(http) = http {
                err = err.status(http);
            }
            err
        }
        (None, Some(http)) => graph_error::for_http_status(http),
        (None, None) => return None,
    };
    Some(error_response(&err, version))
}

/// What a path's first segment names.
enum Node {
    Waba(String),
    Number { waba: String },
    Business,
    App,
}

fn resolve(sim: &Sim, id: &str) -> Option<Node> {
    let state = &sim.state;
    if state.waba(id).is_some() {
        Some(Node::Waba(id.to_owned()))
    } else if let Some((waba, _)) = state.number(id) {
        Some(Node::Number {
            waba: waba.id.clone(),
        })
    } else if state.business(id).is_some() {
        Some(Node::Business)
    } else if state.app(id).is_some() {
        Some(Node::App)
    } else {
        None
    }
}

fn serve(sim: &mut Sim, req: &GraphRequest) -> Reply {
    let plain = |result| Reply {
        result,
        usage: None,
    };
    let Some(id) = req.segments.first().cloned() else {
        return plain(Err(GraphError::unsupported(req.method.as_str(), "")));
    };
    if req.segments.len() > 2 {
        return plain(Err(GraphError::unknown_path(&format!(
            "/{}",
            req.segments[2..].join("/")
        ))));
    }
    if id == "debug_token" && req.segments.len() == 1 {
        return plain(debug_token(sim, req));
    }
    let caller = match authenticate(sim, req) {
        Ok(c) => c,
        Err(e) => return plain(Err(e)),
    };
    let Some(node) = resolve(sim, &id) else {
        return plain(Err(GraphError::unsupported(req.method.as_str(), &id)));
    };
    let waba_id = match &node {
        Node::Waba(w) => Some(w.clone()),
        Node::Number { waba } => Some(waba.clone()),
        Node::Business | Node::App => None,
    };
    let Some(waba_id) = waba_id else {
        return plain(serve_simple_node(sim, req, &caller, &id));
    };
    if let Err(e) = check_permission(&caller.token, &waba_id) {
        return plain(Err(e));
    }
    let now = sim.clock.now();
    let budget = sim
        .state
        .waba(&waba_id)
        .map_or(super::state::DEFAULT_HOURLY_BUDGET, |w| w.hourly_budget);
    let spent = sim.budgets.spend(&waba_id, budget, now);
    let result = match spent {
        Err(e) => Err(e),
        Ok(()) => match node {
            Node::Waba(_) => serve_waba(sim, req, &caller, &waba_id),
            Node::Number { .. } => serve_number(sim, req, &caller, &id),
            Node::Business | Node::App => Err(GraphError::unsupported(req.method.as_str(), &id)),
        },
    };
    let now = sim.clock.now();
    Reply {
        result,
        usage: Some(sim.budgets.usage(&waba_id, budget, now)),
    }
}

fn authenticate(sim: &Sim, req: &GraphRequest) -> Result<Caller, GraphError> {
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

fn expired_error(expires_at: i64, now: i64) -> GraphError {
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

fn check_permission(token: &Token, waba_id: &str) -> Result<(), GraphError> {
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

fn parse_fields(req: &GraphRequest) -> Result<Option<Vec<FieldSel>>, GraphError> {
    match param(&req.params, "fields") {
        Some(f) if !f.trim().is_empty() => Ok(Some(fields::parse(&f)?)),
        _ => Ok(None),
    }
}

fn defaults(names: &[&str]) -> Vec<FieldSel> {
    names
        .iter()
        .map(|n| FieldSel {
            name: (*n).to_owned(),
            modifiers: Vec::new(),
            children: None,
        })
        .collect()
}

fn serve_simple_node(
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
    let view = if let Some(b) = sim.state.business(id) {
        views::simple_node_view(&b.id, &b.name, "BUSINESS", &b.health)
    } else if let Some(a) = sim.state.app(id) {
        views::simple_node_view(&a.id, &a.name, "APP", &a.health)
    } else {
        return Err(GraphError::unsupported("GET", id));
    };
    let sels = parse_fields(req)?.unwrap_or_else(|| defaults(&["id", "name"]));
    let known = ["id", "name", "health_status"];
    Ok(Value::Object(fields::select_node(
        &view, &sels, &known, "Node",
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
    if sels.iter().any(|s| s.name == "phone_numbers") {
        return Err(GraphError::invalid_param(
            "Expand phone_numbers on the WhatsApp Business Account itself.",
        ));
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
fn next_link(req: &GraphRequest, edge_path: &str, limit: usize, key: &str, cursor: &str) -> String {
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

fn serve_waba(
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
        (Some("message_templates"), "GET") => Ok(json!({ "data": [] })),
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

fn new_id(sim: &Sim) -> String {
    loop {
        let id = rand::rng()
            .random_range(100_000_000_000_000u64..1_000_000_000_000_000)
            .to_string();
        if sim.state.waba(&id).is_none() && sim.state.number(&id).is_none() {
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
    for sel in sels.iter().filter(|s| s.name == "phone_numbers") {
        let children = sel
            .children
            .clone()
            .unwrap_or_else(|| defaults(views::NUMBER_LIST_DEFAULT));
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
                "{}/{}/{waba_id}/phone_numbers?{}",
                req.base_url,
                req.version(),
                q.finish()
            )
        };
        let items = number_items(sim, waba, &children, caller, &Params::new())?;
        out.insert("phone_numbers".into(), fields::page(items, &page, link)?);
    }
    Ok(Value::Object(out))
}

fn page_limit(raw: Option<String>) -> Result<usize, GraphError> {
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

fn serve_number(
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
        (None, "POST") => rules::update_number(number, &req.params),
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

/// `GET /debug_token?input_token=...`: callable with any valid token or an app token
/// (`app_id|app_secret`).
fn debug_token(sim: &Sim, req: &GraphRequest) -> Result<Value, GraphError> {
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
