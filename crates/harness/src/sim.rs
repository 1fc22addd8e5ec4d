//! The Meta simulator as the integration tests drive it: started in-process on loopback from
//! the example state, changed and read through its admin API over real HTTP.

use meta_sim::{self as sim, SimHandle, State};
use serde_json::Value;

/// The example world of `crates/meta-sim/examples/state.json`, as JSON to adjust before starting.
pub fn example_state() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../meta-sim/examples/state.json"
    );
    let text = std::fs::read_to_string(path).expect("read the example state");
    serde_json::from_str(&text).expect("example state is JSON")
}

/// A simulator seeded with the example world.
pub fn start_sim() -> SimHandle {
    start_sim_with(&example_state())
}

/// A simulator seeded with `state`.
pub fn start_sim_with(state: &Value) -> SimHandle {
    let state = State::from_json(&state.to_string()).expect("simulator state");
    sim::start(state, "127.0.0.1:0".parse().expect("loopback")).expect("start meta-sim")
}

/// A simulator of the example world whose app delivers its webhooks to `callback_url`.
pub fn start_sim_delivering_to(callback_url: &str) -> SimHandle {
    let mut state = example_state();
    state["apps"][0]["webhook_url"] = Value::from(callback_url);
    start_sim_with(&state)
}

/// POSTs to the admin API; a non-2xx answer fails the test. Returns the answer's JSON (Null
/// when it has none).
pub async fn sim_post(sim: &SimHandle, path: &str, body: Value) -> Value {
    let resp = reqwest::Client::new()
        .post(format!("{}{path}", sim.base_url()))
        .json(&body)
        .send()
        .await
        .expect("admin request");
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    assert!(status.is_success(), "{path}: {status} {body}");
    body
}

pub async fn sim_get(sim: &SimHandle, path: &str) -> Value {
    reqwest::get(format!("{}{path}", sim.base_url()))
        .await
        .expect("admin request")
        .json()
        .await
        .expect("admin JSON")
}

/// Graph requests (method, path without version) in arrival order.
pub async fn requests(sim: &SimHandle) -> Vec<(String, String)> {
    let log = sim_get(sim, "/_sim/requests").await;
    log["log"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|r| {
            let path = r["path"].as_str().unwrap_or_default();
            let path = path.split_once("/v24.0").map_or(path, |(_, p)| p);
            (
                r["method"].as_str().unwrap_or_default().to_string(),
                path.to_string(),
            )
        })
        .collect()
}

/// POSTs whose path ends with `suffix`.
pub async fn posts(sim: &SimHandle, suffix: &str) -> usize {
    requests(sim)
        .await
        .iter()
        .filter(|(m, p)| m == "POST" && p.ends_with(suffix))
        .count()
}

/// Every Graph request that is not a read.
pub async fn writes(sim: &SimHandle) -> Vec<(String, String)> {
    requests(sim)
        .await
        .into_iter()
        .filter(|(m, _)| m != "GET")
        .collect()
}

/// GETs of the object `/{id}` so far, from the simulator's counters.
pub async fn reads_of(sim: &SimHandle, id: &str) -> u64 {
    let requests = sim_get(sim, "/_sim/requests").await;
    requests["by_route"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| {
            r["method"] == "GET"
                && r["path"]
                    .as_str()
                    .is_some_and(|p| p.ends_with(&format!("/{id}")))
        })
        .map(|r| r["count"].as_u64().unwrap_or(0))
        .sum()
}

/// Graph requests of any kind so far.
pub async fn graph_requests(sim: &SimHandle) -> u64 {
    sim_get(sim, "/_sim/requests").await["total"]
        .as_u64()
        .unwrap_or(0)
}
