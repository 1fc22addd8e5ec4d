//! The Graph client against meta-sim over real HTTP on 127.0.0.1: every call, every error
//! class, retries, budgets and secrecy.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use harness::sim::{Fault, FaultError, Sim};
use secrecy::SecretString;
use serde_json::{Value, json};
use whatsapp_operator::graph::{
    BusinessProfileData, ErrorClass, GraphClient, GraphConfig, GraphError, GraphObserver,
    RetryPolicy, Usage, Vertical, WabaSession,
};
use whatsapp_operator::meta::model::{
    CanSendMessage, HealthEntityType, MessagingLimit, NumberStatus, PlatformType, QualityRating,
    ReviewStatus,
};

const WABA: &str = "102290129340398";
const TOKEN: &str = "sim-system-user-token";
const SHORT_TOKEN: &str = "sim-short-lived-token";
const APP: &str = "670843887433847";
const BUSINESS: &str = "506914307656634";
const SALES: &str = "106540352242922";
const SALES_PIN: &str = "581063";
const PENDING: &str = "106540352242925";

#[derive(Default)]
struct Recorder {
    finished: Mutex<Vec<(String, String)>>,
    usage: Mutex<Vec<(String, Usage)>>,
}

impl GraphObserver for Recorder {
    fn request_finished(&self, endpoint: &'static str, outcome: &str) {
        self.finished
            .lock()
            .unwrap()
            .push((endpoint.to_owned(), outcome.to_owned()));
    }
    fn usage_updated(&self, waba_id: &str, usage: &Usage) {
        self.usage
            .lock()
            .unwrap()
            .push((waba_id.to_owned(), usage.clone()));
    }
}

impl Recorder {
    fn finished(&self) -> Vec<(String, String)> {
        self.finished.lock().unwrap().clone()
    }
}

fn config(sim: &Sim) -> GraphConfig {
    GraphConfig {
        base_url: sim.base_url(),
        version: "v24.0".into(),
        timeout: Duration::from_secs(10),
        // Tiny delays keep the retry tests quick; the policy itself is unit-tested.
        retry: RetryPolicy {
            max_attempts: 3,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(5),
        },
        ..GraphConfig::default()
    }
}

struct Fixture {
    sim: Sim,
    client: GraphClient,
    session: WabaSession,
    recorder: Arc<Recorder>,
}

fn fixture_with(sim: Sim, adjust: impl FnOnce(&mut GraphConfig)) -> Fixture {
    let recorder = Arc::new(Recorder::default());
    let mut cfg = config(&sim);
    cfg.observer = Some(recorder.clone());
    adjust(&mut cfg);
    let client = GraphClient::new(cfg).unwrap();
    let session = client.session(WABA, SecretString::from(TOKEN));
    Fixture {
        sim,
        client,
        session,
        recorder,
    }
}

fn fixture() -> Fixture {
    fixture_with(Sim::start(), |_| {})
}

fn pin(p: &str) -> SecretString {
    SecretString::from(p)
}

#[tokio::test]
async fn read_waba_returns_every_number_across_pages_in_one_logical_call() {
    let f = fixture();
    for i in 0..30 {
        f.sim
            .add_number(
                WABA,
                json!({"id": format!("2000000000000{i:02}"), "display_phone_number": format!("+1 555-020-00{i:02}"),
                       "verified_name": "Extra", "status": "CONNECTED"}),
            )
            .await;
    }
    f.sim.reset_requests().await;

    let snapshot = f.session.read_waba().await.unwrap();

    assert_eq!(snapshot.id, WABA);
    assert_eq!(snapshot.name.as_deref(), Some("Acme"));
    assert_eq!(snapshot.account_review_status, Some(ReviewStatus::Approved));
    assert_eq!(
        snapshot.whatsapp_business_manager_messaging_limit,
        Some(MessagingLimit::Tier(2_000))
    );
    assert_eq!(snapshot.owner_business_info.as_ref().unwrap().id, BUSINESS);
    let health = snapshot.health_status.as_ref().unwrap();
    assert!(health.entity(&HealthEntityType::Waba).is_some());
    assert_eq!(snapshot.phone_numbers.len(), 34);
    let mut ids: Vec<&str> = snapshot
        .phone_numbers
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 34, "no number twice");
    let sales = snapshot.number_by_digits("15550783881").unwrap();
    assert_eq!(sales.status, Some(NumberStatus::Connected));
    assert_eq!(sales.platform_type, Some(PlatformType::CloudApi));
    assert_eq!(sales.is_pin_enabled, Some(true));
    assert!(
        sales
            .health_status
            .as_ref()
            .unwrap()
            .entity(&HealthEntityType::PhoneNumber)
            .is_some()
    );

    // The WABA node with the first page, then the second page: two requests, one call.
    assert_eq!(f.sim.graph_requests().await, 2);
    assert_eq!(
        f.sim
            .requests_to("GET", &format!("/v24.0/{WABA}/phone_numbers"))
            .await,
        1
    );
    assert_eq!(
        f.recorder.finished(),
        vec![("read_waba".to_owned(), "ok".to_owned())]
    );
    assert_eq!(f.client.calls_in_last_hour(WABA), 2);
    let usage = f.client.usage(WABA).unwrap();
    assert_eq!(usage.business_use_case.as_ref().unwrap().call_count, 1);
    assert!(!f.recorder.usage.lock().unwrap().is_empty());
}

#[tokio::test]
async fn read_number_parses_fields_and_health() {
    let f = fixture();
    f.sim.update_number(
        SALES,
        json!({"quality_rating": "YELLOW", "can_send_message": "BLOCKED",
               "errors": [{"error_code": 141006, "error_description": "There is an error with the payment method.",
                           "possible_solution": "Add a new payment method."}]}),
    )
    .await;
    let n = f.session.read_number(SALES).await.unwrap();
    assert_eq!(n.id, SALES);
    assert_eq!(n.quality_rating, Some(QualityRating::Yellow));
    assert_eq!(n.messaging_limit_tier, Some(MessagingLimit::Tier(1_000)));
    let health = n.health_status.unwrap();
    assert_eq!(health.can_send_message, CanSendMessage::Blocked);
    let entity = health.entity(&HealthEntityType::PhoneNumber).unwrap();
    assert_eq!(entity.errors[0].error_code, Some(141006));
}

#[tokio::test]
async fn onboarding_add_request_verify_register_deregister() {
    let f = fixture();
    let id = f
        .session
        .add_number("1", "5550142424", "Acme Support")
        .await
        .unwrap();
    let n = f.session.read_number(&id).await.unwrap();
    assert_eq!(n.status, Some(NumberStatus::Pending));

    f.session.request_code(&id, "SMS", "en_US").await.unwrap();
    let code = f.sim.last_code(&id).await.unwrap();
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let err = f.session.verify_code(&id, &pin(wrong)).await.unwrap_err();
    assert_eq!(err.code, Some(136025));
    assert_eq!(err.endpoint, "verify_code");
    f.session.verify_code(&id, &pin(&code)).await.unwrap();

    let err = f
        .session
        .request_code(&id, "VOICE", "en_US")
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::AlreadyVerified);
    assert_eq!(err.code, Some(136024));

    f.session.register(&id, &pin("246810")).await.unwrap();
    let n = f.session.read_number(&id).await.unwrap();
    assert_eq!(n.status, Some(NumberStatus::Connected));
    assert_eq!(n.platform_type, Some(PlatformType::CloudApi));

    f.session.deregister(&id).await.unwrap();
    let n = f.session.read_number(&id).await.unwrap();
    assert_eq!(n.status, Some(NumberStatus::Disconnected));

    let endpoints: Vec<String> = f.recorder.finished().into_iter().map(|(e, _)| e).collect();
    for e in [
        "add_number",
        "request_code",
        "verify_code",
        "register",
        "deregister",
        "read_number",
    ] {
        assert!(endpoints.iter().any(|x| x == e), "{e} not observed");
    }
}

#[tokio::test]
async fn request_code_refuses_unknown_methods_without_sending() {
    let f = fixture();
    let err = f
        .session
        .request_code(PENDING, "PIGEON", "en_US")
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::InvalidRequest);
    assert_eq!(f.sim.graph_requests().await, 0);
}

#[tokio::test]
async fn register_errors_are_classified() {
    let f = fixture();
    let err = f.session.register(SALES, &pin("000000")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::PinMismatch);
    assert_eq!(err.code, Some(133005));

    f.sim
        .update_number(
            PENDING,
            json!({"code_verification_status": "VERIFIED", "name_ready": false}),
        )
        .await;
    let err = f
        .session
        .register(PENDING, &pin("135790"))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::NotReady);
    assert_eq!((err.code, err.subcode), (Some(100), Some(2388001)));

    let now = f.sim.now().await;
    f.sim
        .update_number(SALES, json!({"registration_attempts": vec![now - 60; 10]}))
        .await;
    let err = f
        .session
        .register(SALES, &pin(SALES_PIN))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::RegistrationBudget);
    assert_eq!(err.code, Some(133016));

    let outcomes: Vec<String> = f.recorder.finished().into_iter().map(|(_, o)| o).collect();
    assert_eq!(
        outcomes,
        ["pin_mismatch", "not_ready", "registration_budget"]
    );
}

#[tokio::test]
async fn set_pin_changes_the_pin_register_then_needs() {
    let f = fixture();
    f.session.set_pin(SALES, &pin("864209")).await.unwrap();
    assert_eq!(
        f.sim.number(SALES).await.pin.as_ref().map(|p| p.expose()),
        Some("864209")
    );
    let err = f
        .session
        .register(SALES, &pin(SALES_PIN))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::PinMismatch);
    f.session.register(SALES, &pin("864209")).await.unwrap();
}

#[tokio::test]
async fn business_profile_round_trip() {
    let f = fixture();
    let p = f.session.business_profile(SALES).await.unwrap();
    assert_eq!(p.about.as_deref(), Some("Acme sales line"));
    assert_eq!(p.vertical, Some(Vertical::Retail));
    let update = BusinessProfileData {
        about: Some("Open 9-5".into()),
        websites: Some(vec!["https://acme.test/support".into()]),
        ..Default::default()
    };
    f.session
        .update_business_profile(SALES, &update)
        .await
        .unwrap();
    let p = f.session.business_profile(SALES).await.unwrap();
    assert_eq!(p.about.as_deref(), Some("Open 9-5"));
    assert_eq!(p.email.as_deref(), Some("sales@acme.test"), "untouched");
    assert_eq!(
        p.websites.as_deref(),
        Some(&["https://acme.test/support".to_owned()][..])
    );
    let endpoints: Vec<String> = f.recorder.finished().into_iter().map(|(e, _)| e).collect();
    assert_eq!(endpoints, ["get_profile", "update_profile", "get_profile"]);
}

/// A webhook receiver that answers Meta's verification handshake.
async fn echo_server() -> (String, tokio::task::JoinHandle<()>) {
    use axum::extract::Query;
    use std::collections::HashMap;
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::get(|Query(q): Query<HashMap<String, String>>| async move {
            q.get("hub.challenge").cloned().unwrap_or_default()
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    (url, task)
}

#[tokio::test]
async fn subscribed_apps_list_subscribe_override_unsubscribe() {
    let f = fixture();
    assert!(f.session.subscribed_apps().await.unwrap().is_empty());

    f.session.subscribe_app(None).await.unwrap();
    let apps = f.session.subscribed_apps().await.unwrap();
    assert_eq!(apps.len(), 1);
    assert_eq!(apps[0].app_id(), Some(APP));
    assert_eq!(apps[0].override_callback_uri, None);

    let (url, server) = echo_server().await;
    let verify = SecretString::from("override-verify-secret");
    f.session
        .subscribe_app(Some((&url, &verify)))
        .await
        .unwrap();
    let apps = f.session.subscribed_apps().await.unwrap();
    assert_eq!(apps[0].override_callback_uri.as_deref(), Some(url.as_str()));

    f.session.unsubscribe_app().await.unwrap();
    assert!(f.session.subscribed_apps().await.unwrap().is_empty());
    server.abort();
}

#[tokio::test]
async fn debug_token_inspects_the_session_token_outside_the_budget() {
    let f = fixture();
    let info = f.session.debug_token().await.unwrap();
    assert!(info.is_valid);
    assert_eq!(info.app_id.as_deref(), Some(APP));
    assert_eq!(info.token_type.as_deref(), Some("SYSTEM_USER"));
    assert_eq!(info.expires(), None);
    assert!(info.grants("whatsapp_business_management", WABA));
    assert!(!info.grants("whatsapp_business_management", "999"));
    assert_eq!(f.client.calls_in_last_hour(WABA), 0);
    assert_eq!(f.sim.requests_to("GET", "/v24.0/debug_token").await, 1);
}

#[tokio::test]
async fn expired_token_is_auth_and_status_message_is_stable() {
    let f = fixture();
    let session = f.client.session(WABA, SecretString::from(SHORT_TOKEN));
    session.read_number(SALES).await.unwrap();
    f.sim.expire_token(SHORT_TOKEN).await;
    let first = session.read_number(SALES).await.unwrap_err();
    assert_eq!(first.class, ErrorClass::Auth);
    assert_eq!((first.code, first.subcode), (Some(190), Some(463)));
    assert_eq!(first.http_status, Some(401));
    let trace = first.fbtrace_id.clone().unwrap();
    assert!(!first.to_string().contains(&trace));
    assert!(!first.status_message().contains(&trace));
    // Auth errors are not retried.
    assert_eq!(
        f.sim.requests_to("GET", &format!("/v24.0/{SALES}")).await,
        2
    );
    f.sim.advance_clock(Duration::from_secs(120)).await;
    let second = session.read_number(SALES).await.unwrap_err();
    assert_ne!(first.fbtrace_id, second.fbtrace_id);
    assert_eq!(first.status_message(), second.status_message());
}

#[tokio::test]
async fn get_is_retried_after_503_and_succeeds() {
    let f = fixture();
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("GET")
                .count(2)
                .http_status(503),
        )
        .await;
    let n = f.session.read_number(SALES).await.unwrap();
    assert_eq!(n.id, SALES);
    assert_eq!(
        f.sim.requests_to("GET", &format!("/v24.0/{SALES}")).await,
        3
    );
    assert_eq!(
        f.recorder.finished(),
        vec![("read_number".to_owned(), "ok".to_owned())]
    );
}

#[tokio::test]
async fn get_retries_stop_after_the_configured_attempts() {
    let f = fixture();
    f.sim
        .add_fault(Fault::on(format!("/{WABA}")).method("GET").http_status(500))
        .await;
    let err = f.session.subscribed_apps().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(err.http_status, Some(500));
    assert_eq!(f.sim.graph_requests().await, 3);
}

#[tokio::test]
async fn register_is_never_resent_after_503() {
    let f = fixture();
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}/register"))
                .count(1)
                .http_status(503),
        )
        .await;
    let err = f
        .session
        .register(SALES, &pin(SALES_PIN))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(err.http_status, Some(503));
    assert_eq!(
        f.sim
            .requests_to("POST", &format!("/v24.0/{SALES}/register"))
            .await,
        1
    );
    assert_eq!(
        f.recorder.finished(),
        vec![("register".to_owned(), "transient".to_owned())]
    );
}

#[tokio::test]
async fn posts_are_not_retried_on_transient_graph_codes() {
    let f = fixture();
    for (path, code) in [("deregister", 133004), ("request_code", 131057)] {
        f.sim
            .add_fault(
                Fault::on(format!("/{PENDING}/{path}"))
                    .count(1)
                    .error(code, "busy"),
            )
            .await;
    }
    let err = f.session.deregister(PENDING).await.unwrap_err();
    assert_eq!((err.class, err.code), (ErrorClass::Transient, Some(133004)));
    let err = f
        .session
        .request_code(PENDING, "SMS", "en_US")
        .await
        .unwrap_err();
    assert_eq!((err.class, err.code), (ErrorClass::Transient, Some(131057)));
    assert_eq!(f.sim.graph_requests().await, 2);
}

#[tokio::test]
async fn every_error_class_from_graph_codes() {
    let f = fixture();
    let cases: &[(FaultError, ErrorClass)] = &[
        (FaultError::new(190).subcode(463), ErrorClass::Auth),
        (FaultError::new(10), ErrorClass::Auth),
        (FaultError::new(200), ErrorClass::Auth),
        (FaultError::new(0), ErrorClass::Auth),
        (FaultError::new(4), ErrorClass::Throttled),
        (FaultError::new(80007), ErrorClass::Throttled),
        (FaultError::new(130429), ErrorClass::Throttled),
        (FaultError::new(131056), ErrorClass::Throttled),
        (FaultError::new(133016), ErrorClass::RegistrationBudget),
        (FaultError::new(133005), ErrorClass::PinMismatch),
        (FaultError::new(133008), ErrorClass::PinMismatch),
        (FaultError::new(133009), ErrorClass::PinMismatch),
        (FaultError::new(100).subcode(2388001), ErrorClass::NotReady),
        (FaultError::new(136024), ErrorClass::AlreadyVerified),
        (FaultError::new(100), ErrorClass::InvalidRequest),
        (FaultError::new(1), ErrorClass::Transient),
        (FaultError::new(2), ErrorClass::Transient),
        (FaultError::new(131057), ErrorClass::Transient),
        (FaultError::new(133004), ErrorClass::Transient),
        (FaultError::new(368), ErrorClass::Other),
        (FaultError::new(131031), ErrorClass::Other),
    ];
    for (graph_error, want) in cases {
        let graph_error = graph_error
            .clone()
            .message("(#x) injected")
            .details("injected details");
        f.sim
            .add_fault(
                Fault::on(format!("/{SALES}"))
                    .method("POST")
                    .count(1)
                    .graph_error(graph_error.clone()),
            )
            .await;
        let err = f.session.set_pin(SALES, &pin("123456")).await.unwrap_err();
        assert_eq!(err.class, *want, "{graph_error:?}");
        assert_eq!(err.code, Some(graph_error.code));
        assert_eq!(err.details.as_deref(), Some("injected details"));
        assert_eq!(err.endpoint, "set_pin");
        assert!(err.fbtrace_id.is_some());
        assert!(!err.to_string().contains(err.fbtrace_id.as_deref().unwrap()));
    }
    // POSTs are never retried, whatever the class.
    assert_eq!(f.sim.graph_requests().await, cases.len() as u64);
    let outcomes: Vec<String> = f.recorder.finished().into_iter().map(|(_, o)| o).collect();
    let want: Vec<&str> = cases.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(outcomes, want);
}

#[tokio::test]
async fn http_statuses_without_known_codes_classify_by_status() {
    let f = fixture();
    // A bare 429 comes with code 4 (throttled, not retried); a 503 with an unknown code is
    // capacity throttling.
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("GET")
                .count(1)
                .http_status(429),
        )
        .await;
    let err = f.session.read_number(SALES).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("GET")
                .count(1)
                .http_status(503)
                .error(99999, "capacity"),
        )
        .await;
    let err = f.session.read_number(SALES).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(err.http_status, Some(503));
    assert_eq!(f.sim.graph_requests().await, 2);
}

#[tokio::test]
async fn meta_budget_exhaustion_is_throttled_with_metas_regain_time() {
    let f = fixture();
    f.sim.update_waba(WABA, json!({"hourly_budget": 2})).await;
    f.session.read_number(SALES).await.unwrap();
    f.session.subscribed_apps().await.unwrap();
    let err = f.session.read_number(SALES).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(err.code, Some(80007));
    let usage = f.client.usage(WABA).unwrap();
    let buc = usage.business_use_case.as_ref().unwrap();
    assert_eq!(buc.call_count, 100);
    let regain = usage.regain_access().unwrap();
    assert_eq!(err.retry_after, Some(regain));
    assert!(regain > Duration::ZERO && regain <= Duration::from_secs(3600));
    // 80007 is not retried even though Meta flags it transient.
    assert_eq!(f.sim.graph_requests().await, 3);

    // Meta said when access comes back: until then the client does not send.
    let err = f.session.read_waba().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(err.code, None);
    assert!(err.retry_after.unwrap() <= regain);
    assert_eq!(f.sim.graph_requests().await, 3);
}

#[tokio::test]
async fn local_budget_refuses_without_sending() {
    let f = fixture_with(Sim::start(), |cfg| cfg.hourly_budget_per_waba = 3);
    f.session.read_number(SALES).await.unwrap();
    f.session.business_profile(SALES).await.unwrap();
    f.session.subscribed_apps().await.unwrap();
    assert_eq!(f.sim.graph_requests().await, 3);

    let err = f
        .session
        .register(SALES, &pin(SALES_PIN))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Throttled);
    assert_eq!(err.code, None);
    assert_eq!(err.http_status, None);
    let after = err.retry_after.unwrap();
    assert!(after > Duration::ZERO && after <= Duration::from_secs(3600));
    assert_eq!(f.sim.graph_requests().await, 3, "nothing sent");
    assert_eq!(
        f.recorder.finished().last().unwrap(),
        &("register".to_owned(), "throttled".to_owned())
    );

    // The budget is per WABA: another WABA's session still sends (and gets Meta's answer).
    let other = f.client.session("999999999", SecretString::from(TOKEN));
    let err = other.subscribed_apps().await.unwrap_err();
    assert_ne!(err.code, None);
    assert_eq!(f.sim.graph_requests().await, 4);
}

#[tokio::test]
async fn malformed_bodies_are_transient_retried_on_get_only() {
    let f = fixture();
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("GET")
                .count(1)
                .malformed_body(),
        )
        .await;
    let n = f.session.read_number(SALES).await.unwrap();
    assert_eq!(n.id, SALES);
    assert_eq!(f.sim.graph_requests().await, 2);

    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("POST")
                .count(1)
                .malformed_body(),
        )
        .await;
    let err = f.session.set_pin(SALES, &pin("123456")).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert_eq!(err.http_status, Some(200));
    assert!(err.message.contains("malformed"), "{}", err.message);
    assert_eq!(f.sim.graph_requests().await, 3);
}

#[tokio::test]
async fn timeouts_are_transient_and_retried_on_get_only() {
    let f = fixture_with(Sim::start(), |cfg| cfg.timeout = Duration::from_millis(300));
    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}"))
                .method("GET")
                .count(1)
                .timeout(Duration::from_millis(5000)),
        )
        .await;
    let n = f.session.read_number(SALES).await.unwrap();
    assert_eq!(n.id, SALES);
    assert_eq!(
        f.sim.requests_to("GET", &format!("/v24.0/{SALES}")).await,
        2
    );

    f.sim
        .add_fault(
            Fault::on(format!("/{SALES}/deregister"))
                .count(1)
                .timeout(Duration::from_millis(5000)),
        )
        .await;
    let err = f.session.deregister(SALES).await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    assert!(err.message.contains("timed out"), "{}", err.message);
    assert_eq!(
        f.sim
            .requests_to("POST", &format!("/v24.0/{SALES}/deregister"))
            .await,
        1
    );
    assert_eq!(f.sim.number(SALES).await.status, "CONNECTED");
}

#[tokio::test]
async fn connection_errors_are_transient_and_never_show_the_url() {
    // A port that was free a moment ago and is closed now.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = GraphClient::new(GraphConfig {
        base_url: format!("http://127.0.0.1:{port}"),
        retry: RetryPolicy {
            max_attempts: 2,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(2),
        },
        ..GraphConfig::default()
    })
    .unwrap();
    let token = "EAAG-connection-secret";
    let session = client.session(WABA, SecretString::from(token));
    let err = session.debug_token().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Transient);
    for text in [err.to_string(), format!("{err:?}"), err.status_message()] {
        assert!(!text.contains(token), "{text}");
        assert!(!text.contains("127.0.0.1"), "{text}");
    }
}

/// Collects everything the crate logs, at every level.
#[derive(Clone, Default)]
struct LogSink(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogSink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The process-wide log capture: a global subscriber, so that no callsite's interest can be
/// cached off by Graph clients that other scenarios run on other threads (a thread-local one
/// lost events that way). Only this crate's events, at every level.
fn captured_logs() -> &'static LogSink {
    static CAPTURE: std::sync::OnceLock<LogSink> = std::sync::OnceLock::new();
    CAPTURE.get_or_init(|| {
        use tracing_subscriber::layer::SubscriberExt;
        let sink = LogSink::default();
        let writer = sink.clone();
        let subscriber = tracing_subscriber::registry()
            .with(
                tracing_subscriber::fmt::layer()
                    .with_writer(move || writer.clone())
                    .with_ansi(false),
            )
            .with(
                tracing_subscriber::filter::Targets::new()
                    .with_target("whatsapp_operator", tracing::Level::TRACE),
            );
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber");
        sink
    })
}

#[tokio::test]
async fn secrets_never_reach_errors_debug_output_or_logs() {
    let sink = captured_logs();
    let f = fixture();
    let wrong_pin = "918273";
    let code = "564738";
    let verify = "override-verify-secret-42";
    let mut shown = Vec::new();

    let err = f
        .session
        .register(SALES, &pin(wrong_pin))
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::PinMismatch);
    shown.push(err.to_string());
    shown.push(format!("{err:?}"));
    shown.push(err.status_message());

    f.session
        .request_code(PENDING, "SMS", "en_US")
        .await
        .unwrap();
    let err = f
        .session
        .verify_code(PENDING, &pin(code))
        .await
        .unwrap_err();
    shown.push(err.to_string());
    shown.push(format!("{err:#?}"));

    // Meta refuses the override: the error must not echo the verify token.
    let err = f
        .session
        .subscribe_app(Some((
            "http://127.0.0.1:1/nowhere",
            &SecretString::from(verify),
        )))
        .await
        .unwrap_err();
    shown.push(err.to_string());
    shown.push(format!("{err:?}"));

    f.sim
        .add_fault(Fault::on("/debug_token").count(1).http_status(503))
        .await;
    let info = f.session.debug_token().await.unwrap();
    assert!(info.is_valid);

    let expired = f.client.session(WABA, SecretString::from(SHORT_TOKEN));
    f.sim.expire_token(SHORT_TOKEN).await;
    let err: GraphError = expired.debug_token().await.unwrap_err();
    assert_eq!(err.class, ErrorClass::Auth);
    shown.push(err.to_string());
    shown.push(format!("{err:?}"));
    shown.push(format!("{:?}", f.session));
    shown.push(format!("{expired:?}"));
    shown.push(format!("{:?}", f.client));

    let logs = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("Graph response"), "log capture works: {logs}");
    assert!(logs.contains("retrying Graph read"), "{logs}");
    shown.push(logs);
    for text in &shown {
        for secret in [TOKEN, SHORT_TOKEN, wrong_pin, code, verify] {
            assert!(!text.contains(secret), "{secret} leaked into: {text}");
        }
    }
}

/// What the hand-written Graph stub below saw.
#[derive(Default)]
struct StubSeen {
    queries: Mutex<Vec<String>>,
    auth: Mutex<Vec<String>>,
}

/// A paging link to another origin must not receive the token: the client asks the configured
/// base for the same cursor instead. The stub also sends the usage headers the simulator does
/// not (app usage, BUC keyed by the owning business).
#[tokio::test]
async fn foreign_paging_links_fall_back_to_cursors_and_usage_headers_are_read() {
    use axum::extract::{RawQuery, State as AxState};
    use axum::http::HeaderMap;
    use axum::response::IntoResponse;

    let seen = Arc::new(StubSeen::default());
    async fn waba(
        AxState(seen): AxState<Arc<StubSeen>>,
        headers: HeaderMap,
        RawQuery(q): RawQuery,
    ) -> impl IntoResponse {
        seen.queries.lock().unwrap().push(q.unwrap_or_default());
        seen.auth
            .lock()
            .unwrap()
            .push(headers["authorization"].to_str().unwrap().to_owned());
        let body = json!({"id": WABA, "name": "Stub", "phone_numbers": {
            "data": [{"id": "1", "status": "CONNECTED"}],
            "paging": {"cursors": {"after": "c1"},
                       "next": format!("http://127.0.0.2:9/v24.0/{WABA}/phone_numbers?after=c1&access_token=x")}}});
        (
            [
                (
                    "x-app-usage",
                    r#"{"call_count":28,"total_time":25,"total_cputime":25}"#.to_owned(),
                ),
                (
                    "x-business-use-case-usage",
                    format!(
                        r#"{{"{BUSINESS}":[{{"type":"whatsapp","call_count":7,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":0}}]}}"#
                    ),
                ),
            ],
            axum::Json(body),
        )
    }
    async fn numbers(
        AxState(seen): AxState<Arc<StubSeen>>,
        RawQuery(q): RawQuery,
    ) -> axum::Json<Value> {
        seen.queries.lock().unwrap().push(q.unwrap_or_default());
        axum::Json(json!({"data": [{"id": "2", "status": "PENDING"}]}))
    }
    let app = axum::Router::new()
        .route(&format!("/v24.0/{WABA}"), axum::routing::get(waba))
        .route(
            &format!("/v24.0/{WABA}/phone_numbers"),
            axum::routing::get(numbers),
        )
        .with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let recorder = Arc::new(Recorder::default());
    let client = GraphClient::new(GraphConfig {
        base_url: base,
        observer: Some(recorder.clone()),
        ..GraphConfig::default()
    })
    .unwrap();
    let snapshot = client
        .session(WABA, SecretString::from(TOKEN))
        .read_waba()
        .await
        .unwrap();
    let ids: Vec<&str> = snapshot
        .phone_numbers
        .iter()
        .map(|n| n.id.as_str())
        .collect();
    assert_eq!(ids, ["1", "2"]);

    let queries = seen.queries.lock().unwrap().clone();
    assert_eq!(queries.len(), 2);
    assert!(queries[0].contains("phone_numbers%7B"), "{}", queries[0]);
    assert!(queries[1].contains("after=c1"), "{}", queries[1]);
    assert!(queries[1].contains("health_status"), "{}", queries[1]);
    assert!(queries.iter().all(|q| !q.contains("access_token")));
    assert_eq!(seen.auth.lock().unwrap()[0], format!("Bearer {TOKEN}"));

    let own = client.usage(WABA).unwrap();
    assert_eq!(own.app.as_ref().unwrap().call_count, 28);
    assert_eq!(own.percent(), 28);
    let business = client.usage(BUSINESS).unwrap();
    assert_eq!(business.business_use_case.as_ref().unwrap().call_count, 7);
    let reported: Vec<String> = recorder
        .usage
        .lock()
        .unwrap()
        .iter()
        .map(|(id, _)| id.clone())
        .collect();
    assert!(reported.contains(&WABA.to_owned()) && reported.contains(&BUSINESS.to_owned()));
    server.abort();
}

/// A pager that keeps linking to the same page must not spin the client forever.
#[tokio::test]
async fn a_paging_loop_is_cut_short() {
    use axum::extract::State as AxState;
    let hits = Arc::new(Mutex::new(0u32));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let next = format!("{base}/v24.0/{WABA}/phone_numbers?after=same");
    let page =
        json!({"data": [{"id": "1"}], "paging": {"cursors": {"after": "same"}, "next": next}});
    let first = json!({"id": WABA, "phone_numbers": page.clone()});
    let app = axum::Router::new()
        .route(
            &format!("/v24.0/{WABA}"),
            axum::routing::get(move |AxState(hits): AxState<Arc<Mutex<u32>>>| async move {
                *hits.lock().unwrap() += 1;
                axum::Json(first)
            }),
        )
        .route(
            &format!("/v24.0/{WABA}/phone_numbers"),
            axum::routing::get(move |AxState(hits): AxState<Arc<Mutex<u32>>>| async move {
                *hits.lock().unwrap() += 1;
                axum::Json(page)
            }),
        )
        .with_state(hits.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let client = GraphClient::new(GraphConfig {
        base_url: base,
        ..GraphConfig::default()
    })
    .unwrap();
    let err = client
        .session(WABA, SecretString::from(TOKEN))
        .read_waba()
        .await
        .unwrap_err();
    assert_eq!(err.class, ErrorClass::Other);
    assert!(err.message.contains("paging"), "{}", err.message);
    assert_eq!(*hits.lock().unwrap(), 2);
    server.abort();
}
