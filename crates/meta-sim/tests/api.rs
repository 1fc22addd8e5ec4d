//! meta-sim over real HTTP on 127.0.0.1: one test per modelled Meta rule.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use hmac::{Hmac, KeyInit, Mac};
use meta_sim::{self as sim, SimHandle, State};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::Sha256;

const WABA: &str = "102290129340398";
const TOKEN: &str = "sim-system-user-token";
const SHORT_TOKEN: &str = "sim-short-lived-token";
const APP: &str = "670843887433847";
const BUSINESS: &str = "506914307656634";
const SALES: &str = "106540352242922";
const SALES_PIN: &str = "581063";
const PENDING: &str = "106540352242925";

fn example_state() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/state.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn loopback() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn start_with(state: Value) -> SimHandle {
    let state = State::from_json(&state.to_string()).unwrap();
    sim::start(state, loopback()).unwrap()
}

async fn start() -> SimHandle {
    start_with(example_state()).await
}

fn client() -> reqwest::Client {
    reqwest::Client::builder().no_proxy().build().unwrap()
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

async fn graph(
    h: &SimHandle,
    method: Method,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut req = client().request(method, format!("{}{path}", h.base_url()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.unwrap();
    let body = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(h: &SimHandle, path: &str) -> Reply {
    graph(h, Method::GET, path, Some(TOKEN), None).await
}

async fn post(h: &SimHandle, path: &str, body: Value) -> Reply {
    graph(h, Method::POST, path, Some(TOKEN), Some(body)).await
}

async fn admin(h: &SimHandle, method: Method, path: &str, body: Option<Value>) -> Value {
    let mut req = client().request(method, format!("{}/_sim{path}", h.base_url()));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert!(
        resp.status().is_success(),
        "admin {path} failed: {}",
        resp.status()
    );
    resp.json().await.unwrap()
}

async fn admin_status(h: &SimHandle, path: &str, body: Value) -> StatusCode {
    client()
        .post(format!("{}/_sim{path}", h.base_url()))
        .json(&body)
        .send()
        .await
        .unwrap()
        .status()
}

async fn sim_number(h: &SimHandle, id: &str) -> Value {
    let number = admin(h, Method::GET, &format!("/numbers/{id}"), None).await;
    // The per-number view and the full dump must agree.
    let state = admin(h, Method::GET, "/state", None).await;
    let from_dump = state["wabas"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|w| w["phone_numbers"].as_array().unwrap().iter())
        .find(|n| n["id"] == id)
        .cloned()
        .unwrap();
    assert_eq!(number, from_dump);
    number
}

fn assert_graph_error(r: &Reply, http: u16, code: i64) {
    assert_eq!(r.status.as_u16(), http, "body: {}", r.body);
    assert_eq!(r.body["error"]["code"], code, "body: {}", r.body);
    assert!(r.body["error"]["message"].is_string());
    assert!(r.body["error"]["type"].is_string());
    assert!(r.body["error"]["fbtrace_id"].is_string());
}

async fn verify_pending(h: &SimHandle, id: &str) {
    let r = post(
        h,
        &format!("/v24.0/{id}/request_code"),
        json!({"code_method": "SMS", "language": "en_US"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let code = sim_number(h, id).await["verification_code"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = post(
        h,
        &format!("/v24.0/{id}/verify_code"),
        json!({"code": code}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
}

#[tokio::test]
async fn lifecycle_from_added_number_to_connected() {
    let h = start().await;
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/phone_numbers"),
        json!({"cc": "1", "phone_number": "5550100200", "verified_name": "Acme New"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let id = r.body["id"].as_str().unwrap().to_owned();

    let fields = "status,code_verification_status,name_status,platform_type,is_pin_enabled,display_phone_number";
    let n = get(&h, &format!("/v24.0/{id}?fields={fields}")).await.body;
    assert_eq!(n["status"], "PENDING");
    assert_eq!(n["code_verification_status"], "NOT_VERIFIED");
    assert_eq!(n["name_status"], "PENDING_REVIEW");
    assert_eq!(n["platform_type"], "NOT_APPLICABLE");
    assert_eq!(n["display_phone_number"], "+1 555-010-0200");

    // Query-string parameters, as in Meta's own example.
    let r = graph(
        &h,
        Method::POST,
        &format!("/v24.0/{id}/request_code?code_method=VOICE&language=pt_BR"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
    let pending = sim_number(&h, &id).await["verification_code"].clone();
    assert_eq!(pending["code_method"], "VOICE");
    assert_eq!(pending["code"].as_str().unwrap().len(), 6);
    let r = post(
        &h,
        &format!("/v24.0/{id}/verify_code"),
        json!({"code": pending["code"]}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));

    let r = post(
        &h,
        &format!("/v24.0/{id}/register"),
        json!({"messaging_product": "whatsapp", "pin": "246810"}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
    let n = get(&h, &format!("/v24.0/{id}?fields={fields}")).await.body;
    assert_eq!(n["status"], "CONNECTED");
    assert_eq!(n["code_verification_status"], "VERIFIED");
    assert_eq!(n["platform_type"], "CLOUD_API");
    assert_eq!(n["is_pin_enabled"], true);
    assert_eq!(sim_number(&h, &id).await["pin"], "246810");
}

#[tokio::test]
async fn register_before_the_display_name_is_ready_is_2388001() {
    let h = start().await;
    verify_pending(&h, PENDING).await;
    admin(
        &h,
        Method::POST,
        &format!("/numbers/{PENDING}"),
        Some(json!({"name_ready": false})),
    )
    .await;
    let r = post(
        &h,
        &format!("/v25.0/{PENDING}/register"),
        json!({"messaging_product": "whatsapp", "pin": "123456"}),
    )
    .await;
    assert_graph_error(&r, 400, 100);
    assert_eq!(r.body["error"]["error_subcode"], 2388001);
    assert_eq!(
        r.body["error"]["error_user_title"],
        "Cannot Create Certificate"
    );
    assert_eq!(
        r.body["error"]["error_data"]["messaging_product"],
        "whatsapp"
    );
    assert_eq!(sim_number(&h, PENDING).await["status"], "PENDING");

    admin(
        &h,
        Method::POST,
        &format!("/numbers/{PENDING}"),
        Some(json!({"name_ready": true, "name_status": "NONE"})),
    )
    .await;
    let r = post(
        &h,
        &format!("/v25.0/{PENDING}/register"),
        json!({"messaging_product": "whatsapp", "pin": "123456"}),
    )
    .await;
    assert_eq!(
        r.body["error"]["error_subcode"], 2388001,
        "name_status NONE cannot register"
    );
}

#[tokio::test]
async fn request_code_on_a_verified_number_is_136024() {
    let h = start().await;
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/request_code"),
        json!({"code_method": "SMS", "language": "en_US"}),
    )
    .await;
    assert_graph_error(&r, 400, 136024);
    assert!(
        sim_number(&h, SALES)
            .await
            .get("verification_code")
            .is_none()
    );
}

#[tokio::test]
async fn wrong_and_expired_codes_are_rejected_with_136025() {
    let h = start().await;
    post(
        &h,
        &format!("/v24.0/{PENDING}/request_code"),
        json!({"code_method": "SMS", "language": "en_US"}),
    )
    .await;
    let code = sim_number(&h, PENDING).await["verification_code"]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let r = post(
        &h,
        &format!("/v24.0/{PENDING}/verify_code"),
        json!({"code": wrong}),
    )
    .await;
    assert_graph_error(&r, 400, 136025);
    assert_eq!(
        r.body["error"]["message"],
        "(#136025) Code couldn't be verified"
    );
    assert_eq!(
        sim_number(&h, PENDING).await["code_verification_status"],
        "NOT_VERIFIED"
    );

    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 601})),
    )
    .await;
    let r = post(
        &h,
        &format!("/v24.0/{PENDING}/verify_code"),
        json!({"code": code}),
    )
    .await;
    assert_graph_error(&r, 400, 136025);
    assert!(
        r.body["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_eq!(
        sim_number(&h, PENDING).await["code_verification_status"],
        "NOT_VERIFIED"
    );
}

#[tokio::test]
async fn eleventh_register_or_deregister_in_72h_is_133016_until_the_window_moves() {
    let h = start().await;
    let register = json!({"messaging_product": "whatsapp", "pin": SALES_PIN});
    for _ in 0..5 {
        assert_eq!(
            post(&h, &format!("/v24.0/{SALES}/deregister"), json!({}))
                .await
                .status,
            StatusCode::OK
        );
        assert_eq!(
            post(&h, &format!("/v24.0/{SALES}/register"), register.clone())
                .await
                .status,
            StatusCode::OK
        );
    }
    let r = post(&h, &format!("/v24.0/{SALES}/deregister"), json!({})).await;
    assert_graph_error(&r, 400, 133016);
    assert_eq!(
        sim_number(&h, SALES).await["status"],
        "CONNECTED",
        "a refused deregister changes nothing"
    );

    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 72 * 3600})),
    )
    .await;
    let r = post(&h, &format!("/v24.0/{SALES}/deregister"), json!({})).await;
    assert_eq!(r.body, json!({"success": true}));
    let n = get(&h, &format!("/v24.0/{SALES}?fields=status,platform_type"))
        .await
        .body;
    assert_eq!(n["status"], "DISCONNECTED");
    assert_eq!(n["platform_type"], "NOT_APPLICABLE");
}

#[tokio::test]
async fn wrong_pin_on_a_two_step_number_is_133005() {
    let h = start().await;
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/register"),
        json!({"messaging_product": "whatsapp", "pin": "000001"}),
    )
    .await;
    assert_graph_error(&r, 400, 133005);
    assert_eq!(sim_number(&h, SALES).await["pin"], SALES_PIN);

    // Changing the PIN through POST /{id} makes the new one the one register expects.
    assert_eq!(
        post(&h, &format!("/v24.0/{SALES}"), json!({"pin": "000001"}))
            .await
            .body,
        json!({"success": true})
    );
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/register"),
        json!({"messaging_product": "whatsapp", "pin": "000001"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn expired_or_unknown_tokens_are_190() {
    let h = start().await;
    let path = format!("/v24.0/{WABA}?fields=name");
    assert_eq!(
        graph(&h, Method::GET, &path, Some(SHORT_TOKEN), None)
            .await
            .status,
        StatusCode::OK
    );

    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 24 * 3600})),
    )
    .await;
    let r = graph(&h, Method::GET, &path, Some(SHORT_TOKEN), None).await;
    assert_graph_error(&r, 401, 190);
    assert_eq!(r.body["error"]["error_subcode"], 463);
    assert_eq!(r.body["error"]["type"], "OAuthException");
    assert!(r.headers.contains_key("www-authenticate"));

    let r = graph(&h, Method::GET, &path, Some("not-a-token"), None).await;
    assert_graph_error(&r, 401, 190);

    // access_token in the query works like the header.
    let r = graph(
        &h,
        Method::GET,
        &format!("{path}&access_token={TOKEN}"),
        None,
        None,
    )
    .await;
    assert_eq!(r.body["name"], "Acme");
    admin(&h, Method::POST, &format!("/tokens/{TOKEN}/expire"), None).await;
    let r = get(&h, &path).await;
    assert_graph_error(&r, 401, 190);

    admin(
        &h,
        Method::POST,
        "/tokens",
        Some(json!({"token": "fresh", "app_id": APP, "scopes": ["whatsapp_business_management"]})),
    )
    .await;
    let r = graph(
        &h,
        Method::GET,
        &format!("/v24.0/debug_token?input_token={TOKEN}"),
        Some("fresh"),
        None,
    )
    .await;
    assert_eq!(r.body["data"]["is_valid"], false);
    assert_eq!(r.body["data"]["error"]["subcode"], 463);
    assert_eq!(r.body["data"]["app_id"], APP);
}

#[tokio::test]
async fn debug_token_reports_scopes_and_expiry() {
    let h = start().await;
    let r = graph(
        &h,
        Method::GET,
        &format!("/v24.0/debug_token?input_token={SHORT_TOKEN}"),
        Some(TOKEN),
        None,
    )
    .await;
    let d = &r.body["data"];
    assert_eq!(d["is_valid"], true);
    assert_eq!(d["expires_at"], 1_767_312_000);
    assert_eq!(d["application"], "Acme Operator");
    assert_eq!(d["granular_scopes"][0]["target_ids"], json!([WABA]));
    assert!(
        d["scopes"]
            .as_array()
            .unwrap()
            .contains(&json!("whatsapp_business_management"))
    );
    // An app token (app_id|secret) may debug tokens too.
    let app_token = format!("{APP}|sim-app-secret-change-me");
    let r = graph(
        &h,
        Method::GET,
        "/v24.0/debug_token?input_token=nope",
        Some(&app_token),
        None,
    )
    .await;
    assert_eq!(r.body["data"]["is_valid"], false);
    assert_eq!(r.body["data"]["error"]["code"], 190);
}

fn usage(r: &Reply) -> Value {
    let raw = r
        .headers
        .get("x-business-use-case-usage")
        .expect("BUC header")
        .to_str()
        .unwrap();
    let v: Value = serde_json::from_str(raw).unwrap();
    v[WABA][0].clone()
}

#[tokio::test]
async fn hourly_budget_exhaustion_is_80007_with_the_usage_header() {
    let h = start().await;
    admin(
        &h,
        Method::POST,
        &format!("/wabas/{WABA}"),
        Some(json!({"hourly_budget": 4})),
    )
    .await;
    let first = get(&h, &format!("/v24.0/{WABA}")).await;
    assert_eq!(usage(&first)["type"], "whatsapp");
    assert_eq!(usage(&first)["call_count"], 25);
    assert_eq!(usage(&first)["estimated_time_to_regain_access"], 0);
    // Calls on the WABA's numbers count against the same WABA budget.
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 600})),
    )
    .await;
    get(&h, &format!("/v24.0/{SALES}")).await;
    get(&h, &format!("/v24.0/{WABA}/phone_numbers")).await;
    let fourth = get(&h, &format!("/v24.0/{SALES}/whatsapp_business_profile")).await;
    assert_eq!(fourth.status, StatusCode::OK);
    assert_eq!(usage(&fourth)["call_count"], 100);

    let refused = get(&h, &format!("/v24.0/{WABA}?fields=name")).await;
    assert_graph_error(&refused, 400, 80007);
    let u = usage(&refused);
    assert_eq!(u["call_count"], 100);
    assert_eq!(u["total_time"], 100);
    assert_eq!(
        u["estimated_time_to_regain_access"], 50,
        "the first call leaves the window in 50 minutes"
    );

    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 3000})),
    )
    .await;
    let r = get(&h, &format!("/v24.0/{WABA}?fields=name")).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(usage(&r)["call_count"], 100);
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().unwrap().keys().cloned().collect();
    k.sort();
    k
}

#[tokio::test]
async fn field_expansion_returns_only_requested_fields() {
    let h = start().await;
    let r = get(&h, &format!("/v24.0/{WABA}?fields=name,owner_business_info,phone_numbers{{status,quality_score{{score}}}}")).await;
    assert_eq!(
        keys(&r.body),
        ["id", "name", "owner_business_info", "phone_numbers"]
    );
    assert_eq!(
        r.body["owner_business_info"],
        json!({"id": BUSINESS, "name": "Acme Inc."})
    );
    let numbers = r.body["phone_numbers"]["data"].as_array().unwrap();
    assert_eq!(numbers.len(), 4);
    assert_eq!(keys(&numbers[0]), ["id", "quality_score", "status"]);
    assert_eq!(numbers[0]["quality_score"], json!({"score": "GREEN"}));
    assert!(r.body["phone_numbers"]["paging"]["cursors"]["after"].is_string());

    let r = get(&h, &format!("/v24.0/{SALES}")).await;
    assert_eq!(
        keys(&r.body),
        [
            "display_phone_number",
            "id",
            "quality_rating",
            "verified_name"
        ]
    );
    assert_eq!(r.body["display_phone_number"], "+1 555-078-3881");

    // Sim-private fields are not Graph fields.
    let r = get(&h, &format!("/v24.0/{SALES}?fields=pin")).await;
    assert_graph_error(&r, 400, 100);
    // A documented field without a value is just absent.
    let r = get(&h, &format!("/v24.0/{SALES}?fields=webhook_configuration")).await;
    assert_eq!(keys(&r.body), ["id"]);
}

#[tokio::test]
async fn pagination_walks_more_than_25_numbers() {
    let mut state = example_state();
    let numbers = state["wabas"][0]["phone_numbers"].as_array_mut().unwrap();
    for i in 0..26 {
        numbers.push(json!({"id": format!("2000000000000{i:02}"), "display_phone_number": format!("+1 555-020-{i:04}"), "status": "CONNECTED"}));
    }
    let h = start_with(state).await;
    let first = get(&h, &format!("/v24.0/{WABA}/phone_numbers?fields=id,status"))
        .await
        .body;
    assert_eq!(first["data"].as_array().unwrap().len(), 25);
    let next = first["paging"]["next"].as_str().unwrap().to_owned();
    assert!(next.starts_with(&format!("{}/v24.0/{WABA}/phone_numbers?", h.base_url())));
    let second: Value = client()
        .get(&next)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let rest = second["data"].as_array().unwrap();
    assert_eq!(rest.len(), 5);
    assert_eq!(keys(&rest[0]), ["id", "status"]);
    assert!(second["paging"].get("next").is_none());
    assert!(second["paging"]["previous"].is_string());
    let mut ids: Vec<&str> = first["data"]
        .as_array()
        .unwrap()
        .iter()
        .chain(rest)
        .map(|n| n["id"].as_str().unwrap())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 30);

    let r = get(
        &h,
        &format!("/v24.0/{WABA}?fields=phone_numbers.limit(10){{id}}"),
    )
    .await
    .body;
    assert_eq!(r["phone_numbers"]["data"].as_array().unwrap().len(), 10);
    let next = r["phone_numbers"]["paging"]["next"].as_str().unwrap();
    assert!(next.contains("limit=10"));
}

#[tokio::test]
async fn health_status_is_the_worst_entity() {
    let h = start().await;
    admin(&h, Method::POST, &format!("/businesses/{BUSINESS}"), Some(json!({"can_send_message": "LIMITED", "additional_info": ["Business verification pending"]}))).await;
    let r = get(&h, &format!("/v24.0/{WABA}?fields=health_status"))
        .await
        .body;
    assert_eq!(r["health_status"]["can_send_message"], "LIMITED");
    let types: Vec<&str> = r["health_status"]["entities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["entity_type"].as_str().unwrap())
        .collect();
    assert_eq!(types, ["WABA", "BUSINESS", "APP"]);
    assert_eq!(
        r["health_status"]["entities"][1]["additional_info"][0],
        "Business verification pending"
    );

    let error = json!({"error_code": 141006, "error_description": "Payment method error", "possible_solution": "Add a payment method"});
    admin(
        &h,
        Method::POST,
        &format!("/numbers/{SALES}"),
        Some(json!({"can_send_message": "BLOCKED", "errors": [error]})),
    )
    .await;
    let r = get(&h, &format!("/v24.0/{SALES}?fields=health_status"))
        .await
        .body;
    assert_eq!(r["health_status"]["can_send_message"], "BLOCKED");
    let entities = r["health_status"]["entities"].as_array().unwrap();
    assert_eq!(entities.len(), 4);
    assert_eq!(entities[0]["entity_type"], "PHONE_NUMBER");
    assert_eq!(entities[0]["errors"][0]["error_code"], 141006);
    assert_eq!(entities[3]["id"], APP);
    // Other numbers stay LIMITED through the business.
    let other = get(
        &h,
        "/v24.0/106540352242923?fields=health_status{can_send_message}",
    )
    .await
    .body;
    assert_eq!(
        other["health_status"],
        json!({"can_send_message": "LIMITED"})
    );
}

/// Calling health is served on the entities it is set on, in a number's read and in the WABA's
/// expansion of its numbers, and never as a field of its own.
#[tokio::test]
async fn calling_health_is_served_on_the_entities_that_have_it() {
    let h = start().await;
    admin(
        &h,
        Method::POST,
        &format!("/numbers/{SALES}"),
        Some(json!({"can_receive_call_sip": "LIMITED"})),
    )
    .await;
    let r = get(&h, &format!("/v24.0/{SALES}?fields=health_status"))
        .await
        .body;
    let entities = r["health_status"]["entities"].as_array().unwrap();
    assert_eq!(entities[0]["entity_type"], "PHONE_NUMBER");
    assert_eq!(entities[0]["can_receive_call_sip"], "LIMITED");
    assert!(entities[1].get("can_receive_call_sip").is_none(), "{r}");
    let all = get(&h, &format!("/v24.0/{SALES}")).await.body;
    assert!(all.get("can_receive_call_sip").is_none(), "{all}");
    let r = get(
        &h,
        &format!("/v24.0/{WABA}?fields=phone_numbers{{id,health_status}}"),
    )
    .await
    .body;
    let sales = r["phone_numbers"]["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["id"] == SALES)
        .unwrap()
        .clone();
    assert_eq!(
        sales["health_status"]["entities"][0]["can_receive_call_sip"],
        "LIMITED"
    );
}

#[tokio::test]
async fn faults_fail_delay_or_garble_the_next_requests() {
    let h = start().await;
    admin(&h, Method::POST, "/faults", Some(json!({"path_prefix": format!("/{WABA}"), "method": "GET", "count": 2, "http_status": 503}))).await;
    for _ in 0..2 {
        let r = get(&h, &format!("/v25.0/{WABA}")).await;
        assert_graph_error(&r, 503, 2);
        assert_eq!(r.body["error"]["is_transient"], true);
    }
    assert_eq!(
        get(&h, &format!("/v25.0/{WABA}")).await.status,
        StatusCode::OK
    );

    admin(&h, Method::POST, "/faults", Some(json!({"path_prefix": format!("/v24.0/{SALES}/register"), "count": 1, "graph_error": {"code": 133004, "message": "(#133004) Server temporarily unavailable", "details": "Try again later"}}))).await;
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/register"),
        json!({"messaging_product": "whatsapp", "pin": SALES_PIN}),
    )
    .await;
    assert_graph_error(&r, 503, 133004);
    assert_eq!(r.body["error"]["error_data"]["details"], "Try again later");
    // A faulted request never reached the rules: no registration attempt was spent.
    assert_eq!(
        sim_number(&h, SALES).await["registration_attempts"],
        json!([])
    );

    admin(
        &h,
        Method::POST,
        "/faults",
        Some(json!({"count": 1, "latency_ms": 50})),
    )
    .await;
    assert_eq!(
        get(&h, &format!("/v24.0/{SALES}")).await.status,
        StatusCode::OK
    );
    assert_eq!(
        admin(&h, Method::GET, "/faults", None).await["faults"],
        json!([])
    );

    // A held answer: the client gives up, yet Meta did register the number.
    admin(&h, Method::POST, "/faults", Some(json!({"path_prefix": format!("/{SALES}/register"), "count": 1, "answer_delay_ms": 2000}))).await;
    let gave_up = client()
        .post(format!("{}/v24.0/{SALES}/register", h.base_url()))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product": "whatsapp", "pin": SALES_PIN}))
        .timeout(Duration::from_millis(200))
        .send()
        .await;
    assert!(gave_up.is_err_and(|e| e.is_timeout()));
    assert_eq!(
        sim_number(&h, SALES).await["registration_attempts"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "the request took effect although its answer never arrived"
    );

    admin(
        &h,
        Method::POST,
        "/faults",
        Some(json!({"count": 1, "malformed_body": true})),
    )
    .await;
    let resp = client()
        .get(format!("{}/v24.0/{SALES}", h.base_url()))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert!(serde_json::from_str::<Value>(&resp.text().await.unwrap()).is_err());

    admin(
        &h,
        Method::POST,
        "/faults",
        Some(json!({"count": 1, "timeout": true, "timeout_ms": 10})),
    )
    .await;
    let broken = async {
        let resp = client()
            .get(format!("{}/v24.0/{SALES}", h.base_url()))
            .bearer_auth(TOKEN)
            .send()
            .await?;
        resp.bytes().await
    };
    assert!(
        broken.await.is_err(),
        "a timeout fault must end without a complete response"
    );

    admin(
        &h,
        Method::POST,
        "/faults",
        Some(json!({"http_status": 500})),
    )
    .await;
    admin(&h, Method::DELETE, "/faults", None).await;
    assert_eq!(
        get(&h, &format!("/v24.0/{SALES}")).await.status,
        StatusCode::OK
    );
}

type Seen = Arc<Mutex<Vec<(Option<String>, Vec<u8>)>>>;

async fn receiver() -> (String, Seen, tokio::task::JoinHandle<()>) {
    use axum::extract::{Query, State as S};
    use axum::http::HeaderMap;
    use std::collections::HashMap;
    let seen: Seen = Arc::default();
    async fn on_post(
        S(seen): S<Seen>,
        headers: HeaderMap,
        body: axum::body::Bytes,
    ) -> &'static str {
        let sig = headers
            .get("x-hub-signature-256")
            .map(|v| v.to_str().unwrap().to_owned());
        seen.lock().unwrap().push((sig, body.to_vec()));
        "EVENT_RECEIVED"
    }
    async fn on_get(Query(q): Query<HashMap<String, String>>) -> (axum::http::StatusCode, String) {
        if q.get("hub.mode").map(String::as_str) == Some("subscribe")
            && q.get("hub.verify_token").map(String::as_str) == Some("sim-verify-token")
        {
            (axum::http::StatusCode::OK, q["hub.challenge"].clone())
        } else {
            (axum::http::StatusCode::FORBIDDEN, String::new())
        }
    }
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(on_post).get(on_get))
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, seen, task)
}

#[tokio::test]
async fn webhooks_are_signed_with_the_app_secret() {
    let h = start().await;
    let (url, seen, task) = receiver().await;
    admin(
        &h,
        Method::POST,
        &format!("/apps/{APP}"),
        Some(json!({"webhook_url": url})),
    )
    .await;

    let delivery = json!({"app_id": APP, "waba_id": WABA, "field": "account_update", "value": {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE", "waba_ban_date": "April 17, 2025"}}});
    assert_eq!(
        admin_status(&h, "/webhooks/deliver", delivery.clone()).await,
        StatusCode::CONFLICT,
        "Meta only delivers to subscribed apps"
    );
    assert_eq!(
        post(&h, &format!("/v24.0/{WABA}/subscribed_apps"), json!({}))
            .await
            .body,
        json!({"success": true})
    );
    let subs = get(&h, &format!("/v24.0/{WABA}/subscribed_apps"))
        .await
        .body;
    assert_eq!(subs["data"][0]["whatsapp_business_api_data"]["id"], APP);

    let out = admin(&h, Method::POST, "/webhooks/deliver", Some(delivery)).await;
    assert_eq!(out, json!({"status": 200, "body": "EVENT_RECEIVED"}));
    let (sig, body) = seen.lock().unwrap()[0].clone();
    let mut mac = Hmac::<Sha256>::new_from_slice(b"sim-app-secret-change-me").unwrap();
    mac.update(&body);
    assert_eq!(
        sig.unwrap(),
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    );
    let payload: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(payload["object"], "whatsapp_business_account");
    assert_eq!(payload["entry"][0]["id"], WABA);
    assert_eq!(payload["entry"][0]["changes"][0]["field"], "account_update");
    assert_eq!(
        payload["entry"][0]["changes"][0]["value"]["ban_info"]["waba_ban_state"],
        "DISABLE"
    );
    assert!(payload["entry"][0]["time"].is_i64());

    // A full payload is sent byte-for-byte as given, still signed.
    let raw = json!({"object": "whatsapp_business_account", "entry": []});
    admin(
        &h,
        Method::POST,
        "/webhooks/deliver",
        Some(json!({"app_id": APP, "payload": raw})),
    )
    .await;
    assert_eq!(
        serde_json::from_slice::<Value>(&seen.lock().unwrap()[1].1).unwrap(),
        raw
    );

    let verify = admin(
        &h,
        Method::POST,
        "/webhooks/verify",
        Some(json!({"app_id": APP})),
    )
    .await;
    assert_eq!(verify["challenge_echoed"], true);
    assert_eq!(verify["verified"], true);
    admin(
        &h,
        Method::POST,
        &format!("/apps/{APP}"),
        Some(json!({"verify_token": "other"})),
    )
    .await;
    let verify = admin(
        &h,
        Method::POST,
        "/webhooks/verify",
        Some(json!({"app_id": APP})),
    )
    .await;
    assert_eq!(verify["verified"], false);
    assert_eq!(verify["status"], 403);

    admin(
        &h,
        Method::POST,
        &format!("/apps/{APP}"),
        Some(json!({"webhook_url": "http://192.0.2.1/hook"})),
    )
    .await;
    let status = admin_status(
        &h,
        "/webhooks/deliver",
        json!({"app_id": APP, "payload": {}}),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::BAD_REQUEST,
        "non-loopback targets are refused"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
    task.abort();
}

#[tokio::test]
async fn requests_are_counted_per_route() {
    let h = start().await;
    get(&h, &format!("/v24.0/{WABA}")).await;
    get(&h, &format!("/v24.0/{WABA}?fields=name")).await;
    post(&h, &format!("/v24.0/{SALES}"), json!({"pin": "111111"})).await;
    admin(&h, Method::GET, "/clock", None).await;
    let report = admin(&h, Method::GET, "/requests", None).await;
    assert_eq!(report["total"], 3);
    let routes = report["by_route"].as_array().unwrap();
    let count = |method: &str, path: &str| {
        routes
            .iter()
            .find(|r| r["method"] == method && r["path"] == path)
            .map(|r| r["count"].clone())
    };
    assert_eq!(count("GET", &format!("/v24.0/{WABA}")), Some(json!(2)));
    assert_eq!(count("POST", &format!("/v24.0/{SALES}")), Some(json!(1)));
    let log = report["log"].as_array().unwrap();
    assert_eq!(log.len(), 3);
    assert_eq!(log[2]["method"], "POST");
    assert!(log[0]["seq"].as_u64() < log[1]["seq"].as_u64());
    let now = admin(&h, Method::GET, "/clock", None).await["now"]
        .as_i64()
        .unwrap();
    assert!(log.iter().all(|e| e["at"].as_i64().unwrap() <= now));
    assert_eq!(log[2]["path"], format!("/v24.0/{SALES}"));

    admin(&h, Method::DELETE, "/requests", None).await;
    assert_eq!(admin(&h, Method::GET, "/requests", None).await["total"], 0);
}

#[tokio::test]
async fn numbers_graph_refuses_to_add() {
    let h = start().await;
    let add =
        |cc: &str, number: &str| json!({"cc": cc, "phone_number": number, "verified_name": "X"});
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/phone_numbers"),
        add("1", "5550783881"),
    )
    .await;
    assert_graph_error(&r, 400, 100);
    assert!(
        r.body["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("already")
    );
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/phone_numbers"),
        add("1", "5550109999"),
    )
    .await;
    assert_graph_error(&r, 400, 100);
    assert!(
        r.body["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("another business")
    );

    // A number still on the consumer app can be added but never gets a code or registers.
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/phone_numbers"),
        add("55", "11912345678"),
    )
    .await;
    let id = r.body["id"].as_str().unwrap().to_owned();
    let r = post(
        &h,
        &format!("/v24.0/{id}/request_code"),
        json!({"code_method": "SMS", "language": "pt_BR"}),
    )
    .await;
    assert_graph_error(&r, 400, 100);
    assert!(
        r.body["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("WhatsApp app")
    );
}

#[tokio::test]
async fn unknown_nodes_edges_and_methods_look_like_graph() {
    let h = start().await;
    let r = get(&h, "/v24.0/999999").await;
    assert_graph_error(&r, 400, 100);
    assert_eq!(r.body["error"]["error_subcode"], 33);
    assert_eq!(r.body["error"]["type"], "GraphMethodException");
    let r = get(&h, &format!("/v24.0/{WABA}/nope")).await;
    assert_graph_error(&r, 400, 2500);
    let r = graph(
        &h,
        Method::DELETE,
        &format!("/v24.0/{SALES}/register"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_graph_error(&r, 400, 100);
    let r = graph(&h, Method::GET, &format!("/v24.0/{WABA}"), None, None).await;
    assert_graph_error(&r, 400, 104);
    let r = admin_status(&h, "/nothing-here", json!({})).await;
    assert_eq!(r, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn business_profile_reads_and_merges() {
    let h = start().await;
    let r = get(
        &h,
        &format!("/v24.0/{SALES}/whatsapp_business_profile?fields=about,vertical"),
    )
    .await
    .body;
    assert_eq!(
        r,
        json!({"data": [{"about": "Acme sales line", "vertical": "RETAIL", "messaging_product": "whatsapp"}]})
    );
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/whatsapp_business_profile"),
        json!({"about": "New"}),
    )
    .await;
    assert_graph_error(&r, 400, 100);
    let r = post(
        &h,
        &format!("/v24.0/{SALES}/whatsapp_business_profile"),
        json!({"messaging_product": "whatsapp", "about": "New", "description": "Shop"}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
    let r = get(&h, &format!("/v24.0/{SALES}/whatsapp_business_profile"))
        .await
        .body;
    assert_eq!(r["data"][0]["about"], "New");
    assert_eq!(r["data"][0]["description"], "Shop");
    assert_eq!(r["data"][0]["email"], "sales@acme.test");
}

#[tokio::test]
async fn subscribed_apps_override_is_verified_then_stored() {
    let h = start().await;
    let (url, _seen, task) = receiver().await;
    let path = format!("/v24.0/{WABA}/subscribed_apps");
    let r = post(&h, &path, json!({"override_callback_uri": url})).await;
    assert_graph_error(&r, 400, 100);
    let r = post(
        &h,
        &path,
        json!({"override_callback_uri": url, "verify_token": "wrong"}),
    )
    .await;
    assert_graph_error(&r, 400, 2200);
    assert_eq!(get(&h, &path).await.body, json!({"data": []}));
    let r = post(
        &h,
        &path,
        json!({"override_callback_uri": url, "verify_token": "sim-verify-token"}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
    let subs = get(&h, &path).await.body;
    assert_eq!(subs["data"][0]["override_callback_uri"], url.as_str());
    assert_eq!(
        subs["data"][0]["whatsapp_business_api_data"]["name"],
        "Acme Operator"
    );
    let verify = admin(
        &h,
        Method::POST,
        "/webhooks/verify",
        Some(json!({"app_id": APP, "waba_id": WABA})),
    )
    .await;
    assert_eq!(verify["verified"], true);

    let r = graph(&h, Method::DELETE, &path, Some(TOKEN), None).await;
    assert_eq!(r.body, json!({"success": true}));
    assert_eq!(get(&h, &path).await.body, json!({"data": []}));
    task.abort();
}

#[test]
fn start_outside_a_runtime_fails_and_shutdown_stops_serving() {
    assert!(sim::start(State::default(), loopback()).is_err());
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let h = start().await;
        let url = h.base_url();
        h.shutdown().await.unwrap();
        assert!(
            client()
                .get(format!("{url}/_sim/clock"))
                .send()
                .await
                .is_err()
        );
    });
}

#[test]
fn binary_prints_its_listening_line() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};
    let state = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/state.json");
    let mut child = Command::new(env!("CARGO_BIN_EXE_meta-sim"))
        .args(["--listen", "127.0.0.1:0", "--state", state])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line
        .trim_end()
        .strip_prefix("meta-sim listening on ")
        .unwrap_or_else(|| panic!("unexpected line {line:?}"))
        .to_owned();
    let port: u16 = url
        .strip_prefix("http://127.0.0.1:")
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(port, 0);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let now: Value = rt.block_on(async {
        client()
            .get(format!("{url}/_sim/clock"))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    });
    assert_eq!(now["now"].as_i64().unwrap() / 1000, 1_767_225_600 / 1000);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn binary_refuses_a_broken_state_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.json");
    std::fs::write(
        &path,
        r#"{"wabas": [{"id": "1", "owner_business_id": "missing"}]}"#,
    )
    .unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_meta-sim"))
        .args(["--listen", "127.0.0.1:0", "--state"])
        .arg(&path)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown business"));
}

#[tokio::test]
async fn business_lists_its_wabas() {
    let h = start().await;
    let r = get(&h, &format!("/v24.0/{BUSINESS}/owned_whatsapp_business_accounts?fields=id,name,account_review_status")).await;
    assert_eq!(
        r.body["data"],
        json!([{"id": WABA, "name": "Acme", "account_review_status": "APPROVED"}])
    );
    let r = get(
        &h,
        &format!("/v24.0/{BUSINESS}/client_whatsapp_business_accounts"),
    )
    .await;
    assert_eq!(r.body, json!({"data": []}));
    let r = get(&h, &format!("/v24.0/{BUSINESS}?fields=name,health_status")).await;
    assert_eq!(r.body["name"], "Acme Inc.");
    assert_eq!(
        r.body["health_status"]["entities"][0]["entity_type"],
        "BUSINESS"
    );
}

#[tokio::test]
async fn only_override_capable_fields_follow_the_waba_override() {
    let h = start().await;
    let (app_url, app_seen, app_task) = receiver().await;
    let (waba_url, waba_seen, waba_task) = receiver().await;
    admin(
        &h,
        Method::POST,
        &format!("/apps/{APP}"),
        Some(json!({"webhook_url": app_url})),
    )
    .await;
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/subscribed_apps"),
        json!({"override_callback_uri": waba_url, "verify_token": "sim-verify-token"}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));

    let deliver = |field: &str| json!({"app_id": APP, "waba_id": WABA, "field": field, "value": {"messaging_product": "whatsapp"}});
    admin(
        &h,
        Method::POST,
        "/webhooks/deliver",
        Some(deliver("messages")),
    )
    .await;
    admin(
        &h,
        Method::POST,
        "/webhooks/deliver",
        Some(deliver("account_update")),
    )
    .await;
    admin(
        &h,
        Method::POST,
        "/webhooks/deliver",
        Some(deliver("message_template_status_update")),
    )
    .await;
    assert_eq!(
        waba_seen.lock().unwrap().len(),
        1,
        "messages honour the WABA override"
    );
    assert_eq!(
        app_seen.lock().unwrap().len(),
        2,
        "account and template fields go to the app URL"
    );
    let body: Value = serde_json::from_slice(&waba_seen.lock().unwrap()[0].1).unwrap();
    assert_eq!(body["entry"][0]["changes"][0]["field"], "messages");
    app_task.abort();
    waba_task.abort();
}

#[tokio::test]
async fn error_trace_ids_match_the_header() {
    let h = start().await;
    let r = get(&h, "/v24.0/404404").await;
    let header = r.headers.get("x-fb-trace-id").unwrap().to_str().unwrap();
    assert_eq!(r.body["error"]["fbtrace_id"], header);
    assert_eq!(r.headers.get("facebook-api-version").unwrap(), "v24.0");
    let r = get(&h, "/v25.0/me").await;
    assert_eq!(r.body["id"], "10222270944537964");
}

#[tokio::test]
async fn new_number_defaults_and_form_bodies() {
    let mut state = example_state();
    state["new_number_defaults"] = json!({"name_status": "NONE", "name_ready": false});
    let h = start_with(state).await;
    // Form-encoded body on an unversioned path, token as a parameter: all accepted by Graph.
    let resp = client()
        .post(format!("{}/{WABA}/phone_numbers", h.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!(
            "cc=44&phone_number=7700900456&verified_name=Acme%20Two&access_token={TOKEN}"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    let id = resp.json::<Value>().await.unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let n = sim_number(&h, &id).await;
    assert_eq!(n["name_status"], "NONE");
    assert_eq!(n["name_ready"], false);
    assert_eq!(n["display_phone_number"], "+44 7700900456");

    // PUT /_sim/state swaps the world and resets counters.
    admin(&h, Method::PUT, "/state", Some(example_state())).await;
    assert_eq!(
        get(&h, &format!("/v24.0/{id}")).await.body["error"]["code"],
        100
    );
    assert_eq!(admin(&h, Method::GET, "/requests", None).await["total"], 1);
}

// --- Timed reviews and message templates -----------------------------------------------------

/// A sim of the example world whose app delivers to a fresh receiver and is subscribed to the
/// WABA (Meta only sends WABA webhooks to subscribed apps).
async fn start_subscribed(mut state: Value) -> (SimHandle, Seen, tokio::task::JoinHandle<()>) {
    let (url, seen, task) = receiver().await;
    state["apps"][0]["webhook_url"] = json!(url);
    state["wabas"][0]["subscribed_apps"] = json!([{"app_id": APP}]);
    (start_with(state).await, seen, task)
}

/// Waits until the simulator has delivered `n` of its own webhooks; returns its log.
async fn delivered(h: &SimHandle, n: u64) -> Value {
    for _ in 0..100 {
        let sent = admin(h, Method::GET, "/webhooks/sent", None).await;
        if sent["delivered"].as_u64() >= Some(n) {
            return sent;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "fewer than {n} webhooks delivered: {}",
        admin(h, Method::GET, "/webhooks/sent", None).await
    );
}

/// The `changes[0]` of every envelope the receiver got, in order.
fn changes(seen: &Seen) -> Vec<Value> {
    seen.lock()
        .unwrap()
        .iter()
        .map(|(_, body)| {
            let payload: Value = serde_json::from_slice(body).unwrap();
            payload["entry"][0]["changes"][0].clone()
        })
        .collect()
}

fn template_body(name: &str, text: &str) -> Value {
    json!({
        "name": name, "language": "en_US", "category": "UTILITY",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Your order"},
            {"type": "BODY", "text": text, "example": {"body_text": [["Ann", "42"]]}},
            {"type": "FOOTER", "text": "Acme"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Thanks"}]}
        ]
    })
}

async fn create_template(h: &SimHandle, name: &str) -> String {
    let r = post(
        h,
        &format!("/v24.0/{WABA}/message_templates"),
        template_body(name, "Hi {{1}}, order {{2}} has shipped."),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    r.body["id"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn a_timed_name_review_sends_a_signed_webhook_and_the_name_applies_at_register() {
    let mut state = example_state();
    state["reviews"] = json!({"display_name": {"decision": "APPROVED", "after_seconds": 3600}});
    let (h, seen, task) = start_subscribed(state).await;
    let r = post(
        &h,
        &format!("/v24.0/{SALES}"),
        json!({"new_display_name": "Acme Deals", "messaging_product": "whatsapp"}),
    )
    .await;
    assert_eq!(r.body, json!({"success": true}));
    tokio::time::sleep(Duration::from_millis(500)).await;
    let n = get(
        &h,
        &format!("/v24.0/{SALES}?fields=new_name_status,verified_name"),
    )
    .await;
    assert_eq!(n.body["new_name_status"], "PENDING_REVIEW");
    assert!(seen.lock().unwrap().is_empty());

    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    let sent = delivered(&h, 1).await;
    assert_eq!(sent["log"][0]["field"], "phone_number_name_update");
    assert_eq!(sent["log"][0]["outcome"], "delivered");
    let (sig, body) = seen.lock().unwrap()[0].clone();
    assert_eq!(
        sig.unwrap(),
        sim::signature_header(b"sim-app-secret-change-me", &body)
    );
    assert_eq!(
        changes(&seen)[0],
        json!({"field": "phone_number_name_update", "value": {
            "display_phone_number": "15550783881", "decision": "APPROVED",
            "requested_verified_name": "Acme Deals", "rejection_reason": null}})
    );
    let n = get(
        &h,
        &format!("/v24.0/{SALES}?fields=new_name_status,verified_name"),
    )
    .await;
    assert_eq!(n.body["new_name_status"], "APPROVED");
    assert_eq!(
        n.body["verified_name"], "Acme Sales",
        "not before the next register"
    );
    post(
        &h,
        &format!("/v24.0/{SALES}/register"),
        json!({"messaging_product": "whatsapp", "pin": SALES_PIN}),
    )
    .await;
    let n = get(&h, &format!("/v24.0/{SALES}?fields=verified_name")).await;
    assert_eq!(n.body["verified_name"], "Acme Deals");
    task.abort();
}

#[tokio::test]
async fn manual_name_reviews_wait_for_the_admin_decision() {
    let (h, seen, task) = start_subscribed(example_state()).await;
    assert_eq!(
        admin_status(
            &h,
            &format!("/numbers/{SALES}/name_review"),
            json!({"decision": "REJECTED"})
        )
        .await,
        StatusCode::CONFLICT,
        "nothing requested yet"
    );
    post(
        &h,
        &format!("/v24.0/{SALES}"),
        json!({"new_display_name": "CHEAP!!!"}),
    )
    .await;
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 864000})),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        seen.lock().unwrap().is_empty(),
        "manual: nothing on its own"
    );
    let out = admin(
        &h,
        Method::POST,
        &format!("/numbers/{SALES}/name_review"),
        Some(json!({"decision": "REJECTED", "rejection_reason": "NAME_NOT_CONSISTENT"})),
    )
    .await;
    assert_eq!(out["webhook"]["value"]["decision"], "REJECTED");
    delivered(&h, 1).await;
    assert_eq!(
        changes(&seen)[0]["value"]["rejection_reason"],
        "NAME_NOT_CONSISTENT"
    );
    let n = get(&h, &format!("/v24.0/{SALES}?fields=new_name_status")).await;
    assert_eq!(n.body["new_name_status"], "DECLINED");
    task.abort();
}

#[tokio::test]
async fn failed_deliveries_are_retried_and_logged() {
    use std::sync::atomic::{AtomicU32, Ordering};
    let calls = Arc::new(AtomicU32::new(0));
    let counter = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            async move {
                if n < 2 {
                    axum::http::StatusCode::INTERNAL_SERVER_ERROR
                } else {
                    axum::http::StatusCode::OK
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let mut state = example_state();
    state["apps"][0]["webhook_url"] = json!(url);
    state["wabas"][0]["subscribed_apps"] = json!([{"app_id": APP}]);
    let h = start_with(state).await;
    post(
        &h,
        &format!("/v24.0/{SALES}"),
        json!({"new_display_name": "Acme Deals"}),
    )
    .await;
    admin(
        &h,
        Method::POST,
        &format!("/numbers/{SALES}/name_review"),
        Some(json!({"decision": "APPROVED"})),
    )
    .await;
    let sent = delivered(&h, 1).await;
    assert_eq!(sent["log"][0]["attempts"], 3);
    assert_eq!(sent["log"][0]["status"], 200);
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    admin(&h, Method::DELETE, "/webhooks/sent", None).await;
    assert_eq!(
        admin(&h, Method::GET, "/webhooks/sent", None).await["total"],
        0
    );
    task.abort();
}

#[tokio::test]
async fn templates_are_created_listed_and_expanded_like_phone_numbers() {
    let h = start().await;
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(create_template(&h, &format!("order_{i}")).await);
    }
    // A form body carries components as a JSON string.
    let form = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("name", "welcome")
        .append_pair("language", "pt_BR")
        .append_pair("category", "marketing")
        .append_pair(
            "components",
            r#"[{"type":"BODY","text":"Welcome to Acme!"}]"#,
        )
        .append_pair("access_token", TOKEN)
        .finish();
    let resp = client()
        .post(format!("{}/v24.0/{WABA}/message_templates", h.base_url()))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(form)
        .send()
        .await
        .unwrap();
    let created: Value = resp.json().await.unwrap();
    assert_eq!(created["status"], "PENDING");
    assert_eq!(created["category"], "MARKETING");

    let page = get(
        &h,
        &format!("/v24.0/{WABA}/message_templates?fields=name,status&limit=2"),
    )
    .await;
    assert_eq!(page.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        page.body["data"][0],
        json!({"id": ids[0], "name": "order_0", "status": "PENDING"})
    );
    let next = page.body["paging"]["next"].as_str().unwrap();
    let rest: Value = client()
        .get(next)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"].as_array().unwrap().len(), 2);
    assert!(rest["paging"].get("next").is_none());

    let filtered = get(
        &h,
        &format!("/v24.0/{WABA}/message_templates?language=pt_BR"),
    )
    .await;
    assert_eq!(filtered.body["data"].as_array().unwrap().len(), 1);
    let t = &filtered.body["data"][0];
    for key in [
        "name",
        "parameter_format",
        "components",
        "language",
        "status",
        "category",
        "id",
    ] {
        assert!(t.get(key).is_some(), "default field {key} in {t}");
    }
    assert!(t.get("quality_score").is_none());

    // One read of the WABA expands the templates, with next links into the edge.
    let w = get(
        &h,
        &format!("/v24.0/{WABA}?fields=id,name,phone_numbers.limit(1){{id}},message_templates.limit(3){{id,name,quality_score,rejected_reason}}"),
    )
    .await;
    assert_eq!(w.status, StatusCode::OK, "{}", w.body);
    let mt = &w.body["message_templates"];
    assert_eq!(mt["data"].as_array().unwrap().len(), 3);
    assert_eq!(mt["data"][0]["quality_score"], json!({"score": "UNKNOWN"}));
    assert_eq!(mt["data"][0]["rejected_reason"], "NONE");
    let next = mt["paging"]["next"].as_str().unwrap();
    assert!(
        next.contains(&format!("/v24.0/{WABA}/message_templates?")),
        "{next}"
    );
    assert!(
        next.contains("fields=id%2Cname%2Cquality_score%2Crejected_reason"),
        "{next}"
    );
    let rest: Value = client()
        .get(next)
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest["data"].as_array().unwrap().len(), 1);
    assert_eq!(rest["data"][0]["name"], "welcome");
    assert_eq!(w.body["phone_numbers"]["data"].as_array().unwrap().len(), 1);

    let bad = get(
        &h,
        &format!("/v24.0/{WABA}?fields=message_templates{{id,pin}}"),
    )
    .await;
    assert_eq!(bad.body["error"]["code"], 100);
    let one = get(
        &h,
        &format!(
            "/v24.0/{}?fields=name,language,status,components{{type}}",
            ids[1]
        ),
    )
    .await;
    assert_eq!(one.body["name"], "order_1");
    assert_eq!(one.body["components"][0], json!({"type": "HEADER"}));
    assert_eq!(
        get(&h, &format!("/v24.0/{}?fields=created_at", ids[1]))
            .await
            .body["error"]["code"],
        100
    );

    // Template calls are counted, spend the WABA's budget and carry its usage header.
    let log = admin(&h, Method::GET, "/requests", None).await;
    let routes = log["by_route"].as_array().unwrap();
    let count = |method: &str, path: String| {
        routes
            .iter()
            .filter(|r| r["method"] == method && r["path"] == path)
            .map(|r| r["count"].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!(count("POST", format!("/v24.0/{WABA}/message_templates")), 4);
    assert_eq!(count("GET", format!("/v24.0/{}", ids[1])), 2);
    assert!(one.headers.contains_key("x-business-use-case-usage"));
}

#[tokio::test]
async fn template_creation_errors_follow_meta() {
    let mut state = example_state();
    state["wabas"][0]["template_creation_per_hour"] = json!(3);
    let h = start_with(state).await;
    let path = format!("/v24.0/{WABA}/message_templates");
    create_template(&h, "order_shipped").await;
    let dup = post(
        &h,
        &path,
        template_body("order_shipped", "Hi {{1}}, order {{2}} has shipped."),
    )
    .await;
    assert_eq!(dup.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        (
            dup.body["error"]["code"].as_i64(),
            dup.body["error"]["error_subcode"].as_i64()
        ),
        (Some(100), Some(2388024))
    );
    assert!(
        dup.body["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains("already exists")
    );

    let dangling = post(&h, &path, template_body("dangling", "{{1}} and {{2}}")).await;
    assert_eq!(dangling.body["error"]["error_subcode"], 2388299);
    let no_example = post(
        &h,
        &path,
        json!({"name": "x", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "BODY", "text": "Hi {{1}}, hello."}]}),
    )
    .await;
    assert!(
        no_example.body["error"]["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("examples")
    );
    let long_header = post(&h, &path, json!({"name": "x", "language": "en_US", "category": "UTILITY",
        "components": [{"type": "HEADER", "format": "TEXT", "text": "h".repeat(61)}, {"type": "BODY", "text": "b"}]})).await;
    assert_eq!(long_header.body["error"]["code"], 100);

    // Deleted: the name is reserved for 30 days of sim clock.
    let del = graph(
        &h,
        Method::DELETE,
        &format!("{path}?name=order_shipped"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(del.body, json!({"success": true}));
    let again = post(
        &h,
        &path,
        template_body("order_shipped", "Hi {{1}}, order {{2}} is on its way."),
    )
    .await;
    assert_eq!(again.body["error"]["error_subcode"], 2388023);
    assert!(
        again.body["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains("30 days")
    );

    // Three creations an hour: the fourth is throttled until the hour moves on.
    create_template(&h, "second").await;
    create_template(&h, "third").await;
    let throttled = post(
        &h,
        &path,
        template_body("fourth", "Hi {{1}}, order {{2}} has shipped."),
    )
    .await;
    assert_eq!(throttled.body["error"]["code"], 80008);
    assert_eq!(throttled.body["error"]["is_transient"], true);
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 3600})),
    )
    .await;
    create_template(&h, "fourth").await;
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 30 * 86400})),
    )
    .await;
    create_template(&h, "order_shipped").await;
}

#[tokio::test]
async fn template_reviews_follow_the_rules_on_the_sim_clock() {
    let (h, seen, task) = start_subscribed(example_state()).await;
    let rules = admin(
        &h,
        Method::POST,
        "/reviews",
        Some(json!({"templates": {"decision": "APPROVED", "after_seconds": 600, "reject_when_body_contains": ["free"]}})),
    )
    .await;
    assert_eq!(rules["display_name"]["decision"], "manual");
    let ok_id = create_template(&h, "order_shipped").await;
    let r = post(
        &h,
        &format!("/v24.0/{WABA}/message_templates"),
        template_body("promo", "Hi {{1}}, order {{2}} ships FREE today."),
    )
    .await;
    let promo_id = r.body["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(400)).await;
    assert!(seen.lock().unwrap().is_empty());
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 600})),
    )
    .await;
    delivered(&h, 2).await;
    let got = changes(&seen);
    assert_eq!(got[0]["field"], "message_template_status_update");
    assert_eq!(
        got[0]["value"],
        json!({"event": "APPROVED", "message_template_id": ok_id.parse::<u64>().unwrap(),
            "message_template_name": "order_shipped", "message_template_language": "en_US",
            "message_template_category": "UTILITY", "reason": "NONE"})
    );
    assert_eq!(got[1]["value"]["event"], "REJECTED");
    assert_eq!(got[1]["value"]["reason"], "PROMOTIONAL");
    assert_eq!(got[1]["value"]["rejection_info"]["reason"], "PROMOTIONAL");
    let promo = get(
        &h,
        &format!("/v24.0/{promo_id}?fields=status,rejected_reason"),
    )
    .await;
    assert_eq!(
        (
            promo.body["status"].as_str(),
            promo.body["rejected_reason"].as_str()
        ),
        (Some("REJECTED"), Some("PROMOTIONAL"))
    );

    // A rejected template can be edited (unlimited) and is reviewed again.
    let edit = post(&h, &format!("/v24.0/{promo_id}"), json!({"components": template_body("promo", "Hi {{1}}, order {{2}} ships today.")["components"]})).await;
    assert_eq!(edit.body, json!({"success": true}));
    assert_eq!(
        get(&h, &format!("/v24.0/{promo_id}?fields=status"))
            .await
            .body["status"],
        "PENDING"
    );
    admin(
        &h,
        Method::POST,
        "/clock/advance",
        Some(json!({"seconds": 600})),
    )
    .await;
    delivered(&h, 3).await;
    assert_eq!(
        get(&h, &format!("/v24.0/{promo_id}?fields=status"))
            .await
            .body["status"],
        "APPROVED"
    );
    task.abort();
}

#[tokio::test]
async fn template_edits_deletes_and_lifecycle_events() {
    let (h, seen, task) = start_subscribed(example_state()).await;
    let added = admin(
        &h,
        Method::POST,
        &format!("/wabas/{WABA}/message_templates"),
        Some(
            json!({"name": "made_elsewhere", "language": "en_US", "category": "MARKETING",
            "components": [{"type": "BODY", "text": "Our sale starts now."}]}),
        ),
    )
    .await;
    let id = added["id"].as_str().unwrap().to_owned();
    let stored = admin(&h, Method::GET, &format!("/templates/{id}"), None).await;
    assert_eq!(stored["status"], "APPROVED");

    let body = json!({"components": [{"type": "BODY", "text": "Our summer sale starts now."}]});
    let no_category = post(&h, &format!("/v24.0/{id}"), json!({"category": "UTILITY"})).await;
    assert!(
        no_category.body["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains("category")
    );
    assert_eq!(
        post(&h, &format!("/v24.0/{id}"), body.clone()).await.body,
        json!({"success": true})
    );
    let pending = post(&h, &format!("/v24.0/{id}"), body.clone()).await;
    assert!(
        pending.body["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains("PENDING")
    );
    admin(
        &h,
        Method::POST,
        &format!("/templates/{id}/review"),
        Some(json!({"decision": "APPROVED"})),
    )
    .await;
    let capped = post(&h, &format!("/v24.0/{id}"), body.clone()).await;
    assert!(
        capped.body["error"]["error_user_msg"]
            .as_str()
            .unwrap()
            .contains("24-hour")
    );

    // Meta's own events change state and send their webhooks.
    admin(
        &h,
        Method::POST,
        &format!("/templates/{id}/quality"),
        Some(json!({"score": "RED"})),
    )
    .await;
    admin(&h, Method::POST, &format!("/templates/{id}/pause"), None).await;
    let unpause = post(&h, &format!("/v24.0/{id}/unpause"), json!({})).await;
    assert_eq!(unpause.body, json!({"success": true}));
    assert_eq!(
        post(&h, &format!("/v24.0/{id}/unpause"), json!({}))
            .await
            .body["error"]["code"],
        100
    );
    admin(
        &h,
        Method::POST,
        &format!("/templates/{id}/announce_category"),
        Some(json!({"correct_category": "UTILITY"})),
    )
    .await;
    admin(
        &h,
        Method::POST,
        &format!("/templates/{id}/apply_category"),
        None,
    )
    .await;
    delivered(&h, 6).await;
    let got = changes(&seen);
    let fields: Vec<&str> = got.iter().map(|c| c["field"].as_str().unwrap()).collect();
    assert_eq!(
        fields,
        [
            "message_template_status_update",
            "message_template_quality_update",
            "message_template_status_update",
            "message_template_status_update",
            "template_category_update",
            "template_category_update",
        ]
    );
    assert_eq!(got[1]["value"]["previous_quality_score"], "UNKNOWN");
    assert_eq!(got[1]["value"]["new_quality_score"], "RED");
    assert_eq!(got[2]["value"]["event"], "PAUSED");
    assert_eq!(got[2]["value"]["other_info"]["title"], "FIRST_PAUSE");
    assert_eq!(got[3]["value"]["other_info"]["title"], "UNPAUSE");
    assert_eq!(got[4]["value"]["new_category"], "MARKETING");
    assert_eq!(got[4]["value"]["correct_category"], "UTILITY");
    assert_eq!(got[5]["value"]["previous_category"], "MARKETING");
    assert_eq!(got[5]["value"]["new_category"], "UTILITY");
    let t = get(
        &h,
        &format!("/v24.0/{id}?fields=category,previous_category,quality_score,status"),
    )
    .await;
    assert_eq!(t.body["category"], "UTILITY");
    assert_eq!(t.body["previous_category"], "MARKETING");
    assert_eq!(t.body["quality_score"]["score"], "RED");

    // Deleted while APPROVED: PENDING_DELETION, still listed; a disabled one can't be deleted.
    let del = graph(
        &h,
        Method::DELETE,
        &format!("/v24.0/{WABA}/message_templates?name=made_elsewhere&hsm_id={id}"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(del.body, json!({"success": true}));
    let list = get(
        &h,
        &format!("/v24.0/{WABA}/message_templates?fields=name,status"),
    )
    .await;
    assert_eq!(list.body["data"][0]["status"], "PENDING_DELETION");
    let other = create_template(&h, "other").await;
    admin(
        &h,
        Method::POST,
        &format!("/templates/{other}/disable"),
        None,
    )
    .await;
    let refused = graph(
        &h,
        Method::DELETE,
        &format!("/v24.0/{WABA}/message_templates?name=other"),
        Some(TOKEN),
        None,
    )
    .await;
    assert_eq!(refused.body["error"]["code"], 100);
    assert_eq!(
        get(&h, &format!("/v24.0/{other}?fields=status")).await.body["status"],
        "DISABLED"
    );
    let deletes = admin(&h, Method::GET, "/requests", None).await["log"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["method"] == "DELETE")
        .count();
    assert_eq!(deletes, 2);
    task.abort();
}
