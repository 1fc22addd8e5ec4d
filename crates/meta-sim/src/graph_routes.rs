//! Graph API front door: version prefix, request log, faults, auth, BUC budget, then dispatch
//! to the node and edge handlers.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::State as AxState;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use rand::Rng;
use rand::distr::Alphanumeric;
use serde_json::Value;

use super::budget::Usage;
use super::faults::Fault;
use super::graph_auth::{authenticate, check_permission, debug_token, me};
use super::graph_error::{self, GraphError};
use super::graph_nodes::{serve_number, serve_simple_node, serve_waba};
use super::graph_templates::serve_template;
use super::rules::{Params, param};
use super::server::{Shared, Sim};
use super::webhook;

/// Version used in `next` links and headers when the caller used an unversioned path.
const DEFAULT_VERSION: &str = "v25.0";
/// How long a `timeout` fault holds a request when the fault does not say.
const DEFAULT_HOLD_MS: u64 = 300_000;

pub(super) struct GraphRequest {
    pub(super) method: Method,
    pub(super) version: Option<String>,
    pub(super) segments: Vec<String>,
    pub(super) params: Params,
    pub(super) query: Vec<(String, String)>,
    pub(super) token: Option<String>,
    pub(super) base_url: String,
    /// Outcome of the handshake Meta performs before accepting an override callback URL.
    pub(super) override_verification: Option<Result<(), String>>,
}

impl GraphRequest {
    pub(super) fn version(&self) -> &str {
        self.version.as_deref().unwrap_or(DEFAULT_VERSION)
    }
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
        let seq = sim
            .recorder
            .record(method.as_str(), &path, bearer(&headers), now);
        (seq, sim.faults.take(method.as_str(), &path, &bare_path))
    };
    tracing::debug!(%method, path = %path, seq, "graph request");

    let mut response = None;
    let answer_delay = fault.as_ref().and_then(|f| f.answer_delay_ms);
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
            let (reply, queued) = {
                let mut sim = ctx.lock();
                let reply = serve(&mut sim, &req);
                (reply, sim.outbox.has_queued())
            };
            if queued {
                ctx.wake();
            }
            let response = render(reply, req.version());
            if let Some(ms) = answer_delay {
                tokio::select! {
                    () = tokio::time::sleep(Duration::from_millis(ms)) => {}
                    () = ctx.shutdown.cancelled() => {}
                }
            }
            response
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

fn base_headers(response: &mut Response, version: &str, trace: &str) {
    let headers = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(trace) {
        headers.insert("x-fb-trace-id", v.clone());
        headers.insert("x-fb-request-id", v);
    }
    if let Ok(v) = HeaderValue::from_str(version) {
        headers.insert("facebook-api-version", v);
    }
}

fn error_response(err: &GraphError, version: &str) -> Response {
    let trace = trace_id();
    let body = err.body(&trace);
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
    base_headers(&mut response, version, &trace);
    response
}

fn render(reply: Reply, version: &str) -> Response {
    let mut response = match reply.result {
        Ok(body) => {
            let mut r = (StatusCode::OK, axum::Json(body)).into_response();
            base_headers(&mut r, version, &trace_id());
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
        base_headers(&mut r, version, &trace_id());
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

/// What a path's first segment names; numbers and templates carry the WABA whose budget they
/// spend.
enum Node {
    Waba(String),
    Number { waba: String },
    Template { waba: String },
    Other,
}

fn resolve(sim: &Sim, id: &str) -> Option<Node> {
    let state = &sim.state;
    if state.waba(id).is_some() {
        Some(Node::Waba(id.to_owned()))
    } else if let Some((waba, _)) = state.number(id) {
        Some(Node::Number {
            waba: waba.id.clone(),
        })
    } else if let Some((waba, _)) = state.template(id) {
        Some(Node::Template {
            waba: waba.id.clone(),
        })
    } else if state.business(id).is_some() || state.app(id).is_some() {
        Some(Node::Other)
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
    if id == "me" && req.segments.len() == 1 && req.method == Method::GET {
        return plain(Ok(me(&caller)));
    }
    let Some(node) = resolve(sim, &id) else {
        return plain(Err(GraphError::unsupported(req.method.as_str(), &id)));
    };
    let waba_id = match &node {
        Node::Waba(w) | Node::Number { waba: w } | Node::Template { waba: w } => w.clone(),
        Node::Other => return plain(serve_simple_node(sim, req, &caller, &id)),
    };
    if let Err(e) = check_permission(&caller.token, &waba_id) {
        return plain(Err(e));
    }
    let now = sim.clock.now();
    let budget = sim
        .state
        .waba(&waba_id)
        .map_or(super::state::DEFAULT_HOURLY_BUDGET, |w| w.hourly_budget);
    let result = sim
        .budgets
        .spend(&waba_id, budget, now)
        .and_then(|()| match node {
            Node::Number { .. } => serve_number(sim, req, &caller, &id),
            Node::Template { .. } => serve_template(sim, req, &id),
            _ => serve_waba(sim, req, &caller, &waba_id),
        });
    let now = sim.clock.now();
    Reply {
        result,
        usage: Some(sim.budgets.usage(&waba_id, budget, now)),
    }
}
