//! The webhook receiver over real HTTP on 127.0.0.1: signatures, limits, malformed bodies.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use futures::channel::mpsc;
use proptest::prelude::*;
use secrecy::SecretString;
use whatsapp_operator::meta::Fact;
use whatsapp_operator::metrics::Metrics;
use whatsapp_operator::webhook::{self, WebhookSecrets, signature};

const SECRET: &str = "test-app-secret";
const LIMIT: usize = 64 * 1024;

struct Receiver {
    url: String,
    /// The facts of every delivery the receiver handed to the controllers.
    facts: mpsc::UnboundedReceiver<Fact>,
    /// Whether the stand-in controllers answer that recording failed.
    refuse_records: Arc<AtomicBool>,
    metrics: Arc<Metrics>,
    /// Whether the receiver's process runs the controllers (leader, or no election).
    active: Arc<AtomicBool>,
    _server: tokio::task::JoinHandle<()>,
}

async fn start() -> Receiver {
    let secrets = Arc::new(WebhookSecrets::default());
    secrets.set(
        Some(SecretString::from(SECRET)),
        Some(SecretString::from("verify-me")),
    );
    let (tx, deliveries) = mpsc::unbounded();
    let refuse_records = Arc::new(AtomicBool::new(false));
    let rx = record_deliveries(deliveries, refuse_records.clone());
    let metrics = Arc::new(Metrics::new());
    let active = Arc::new(AtomicBool::new(true));
    let sink = webhook::Sink {
        facts: tx,
        active: active.clone(),
    };
    let app = webhook::router("/webhook", LIMIT, secrets, sink, metrics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(async move {
        axum::serve(listener, app).await.unwrap();
    });
    Receiver {
        url: format!("http://{addr}/webhook"),
        facts: rx,
        refuse_records,
        metrics,
        active,
        _server: server,
    }
}

/// Stands in for the controllers: passes each delivery's facts on and answers that they were
/// recorded (or, when `refuse` is set, that they could not be).
fn record_deliveries(
    mut deliveries: mpsc::UnboundedReceiver<webhook::Delivery>,
    refuse: Arc<AtomicBool>,
) -> mpsc::UnboundedReceiver<Fact> {
    let (tx, rx) = mpsc::unbounded();
    tokio::spawn(async move {
        while let Some(delivery) = deliveries.next().await {
            for notice in delivery.notices {
                let _ = tx.unbounded_send(notice.fact);
            }
            let answer = if refuse.load(Ordering::Acquire) {
                Err("the apiserver refused the write".to_string())
            } else {
                Ok(())
            };
            let _ = delivery.recorded.send(answer);
        }
    });
    rx
}

fn sign(body: &[u8]) -> String {
    signature::sign(&SecretString::from(SECRET), body)
}

const QUALITY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","time":1748454394,"changes":[{"field":"phone_number_quality_update","value":{"display_phone_number":"15550783881","event":"FLAGGED","current_limit":"TIER_10K"}}]}]}"#;

async fn post(url: &str, body: Vec<u8>, signature: Option<String>) -> u16 {
    let mut req = reqwest::Client::new().post(url).body(body);
    if let Some(sig) = signature {
        req = req.header("X-Hub-Signature-256", sig);
    }
    req.send().await.unwrap().status().as_u16()
}

/// A delivery whose facts could not be recorded is refused with a 5xx, so that Meta delivers it
/// again, never acknowledged and lost.
#[tokio::test]
async fn a_delivery_not_recorded_is_refused_so_that_meta_retries() {
    let mut r = start().await;
    r.refuse_records.store(true, Ordering::Release);
    let body = QUALITY.as_bytes().to_vec();
    let status = post(&r.url, body.clone(), Some(sign(&body))).await;
    assert_eq!(status, 503);
    assert!(r.facts.next().await.is_some(), "the facts were handed over");
    r.refuse_records.store(false, Ordering::Release);
    assert_eq!(post(&r.url, body.clone(), Some(sign(&body))).await, 200);
}

#[tokio::test]
async fn a_signed_delivery_is_acknowledged_and_enqueued() {
    let mut r = start().await;
    let status = post(
        &r.url,
        QUALITY.as_bytes().to_vec(),
        Some(sign(QUALITY.as_bytes())),
    )
    .await;
    assert_eq!(status, 200);
    let fact = r.facts.next().await.unwrap();
    assert!(
        matches!(fact, Fact::QualityUpdate { ref event, ref digits, .. } if event == "FLAGGED" && digits == "15550783881")
    );
    let text = r.metrics.encode().unwrap();
    assert!(text.contains(r#"whatsapp_operator_webhook_deliveries_total{field="phone_number_quality_update",result="accepted"} 1"#), "{text}");
}

/// A standby replica never answers 200 for a fact it would drop: Meta delivers again, and
/// the load balancer's next pick may be the leader.
#[tokio::test]
async fn a_standby_refuses_deliveries_so_that_meta_retries() {
    let mut r = start().await;
    r.active.store(false, Ordering::Release);
    let signature = Some(sign(QUALITY.as_bytes()));
    let status = post(&r.url, QUALITY.as_bytes().to_vec(), signature.clone()).await;
    assert_eq!(status, 503);
    assert!(r.facts.try_recv().is_err(), "nothing was enqueued");
    r.active.store(true, Ordering::Release);
    assert_eq!(
        post(&r.url, QUALITY.as_bytes().to_vec(), signature).await,
        200
    );
    assert!(r.facts.next().await.is_some());
}

#[tokio::test]
async fn security_table() {
    let mut r = start().await;
    let reserialised =
        serde_json::to_vec_pretty(&serde_json::from_str::<serde_json::Value>(QUALITY).unwrap())
            .unwrap();
    let oversized = {
        let mut b = br#"{"object":"whatsapp_business_account","entry":[],"pad":""#.to_vec();
        b.extend(std::iter::repeat_n(b'x', LIMIT + 1));
        b.extend(br#""}"#);
        b
    };
    let truncated = QUALITY.as_bytes()[..QUALITY.len() / 2].to_vec();
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000)).into_bytes();
    let huge_array = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{}]}}"#,
        vec![r#"{"id":"1","changes":[]}"#; 2_000].join(",")
    )
    .into_bytes();
    let invalid_utf8 = vec![b'{', b'"', 0xff, 0xfe, b'"', b'}'];
    let cases: Vec<(&str, Vec<u8>, Option<String>, u16)> = vec![
        ("no signature", QUALITY.into(), None, 401),
        (
            "wrong signature",
            QUALITY.into(),
            Some("sha256=".to_string() + &"00".repeat(32)),
            401,
        ),
        ("not hex", QUALITY.into(), Some("sha256=nothex".into()), 401),
        (
            "sha1 header",
            QUALITY.into(),
            Some("sha1=abcdef".into()),
            401,
        ),
        (
            "signature over a re-serialised body",
            reserialised.clone(),
            Some(sign(QUALITY.as_bytes())),
            401,
        ),
        (
            "wrong app secret",
            QUALITY.into(),
            Some(signature::sign(
                &SecretString::from("another-secret"),
                QUALITY.as_bytes(),
            )),
            401,
        ),
        (
            "oversized body",
            oversized.clone(),
            Some(sign(&oversized)),
            413,
        ),
        (
            "truncated JSON",
            truncated.clone(),
            Some(sign(&truncated)),
            400,
        ),
        ("deeply nested JSON", deep.clone(), Some(sign(&deep)), 400),
        (
            "invalid UTF-8",
            invalid_utf8.clone(),
            Some(sign(&invalid_utf8)),
            400,
        ),
        (
            "huge array, nothing to route",
            huge_array.clone(),
            Some(sign(&huge_array)),
            200,
        ),
    ];
    for (name, body, sig, expected) in cases {
        assert_eq!(post(&r.url, body, sig).await, expected, "{name}");
    }
    // None of them produced a fact.
    assert!(r.facts.try_recv().is_err(), "no fact may be enqueued");
    let text = r.metrics.encode().unwrap();
    assert!(
        text.contains("whatsapp_operator_webhook_signature_failures_total 6"),
        "{text}"
    );
}

#[tokio::test]
async fn handshake_echoes_the_challenge_only_for_the_right_token() {
    let r = start().await;
    let client = reqwest::Client::new();
    let ok = client
        .get(format!(
            "{}?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=1158201444",
            r.url
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status().as_u16(), 200);
    assert_eq!(ok.text().await.unwrap(), "1158201444");
    for query in [
        "hub.mode=subscribe&hub.verify_token=wrong&hub.challenge=1",
        "hub.mode=unsubscribe&hub.verify_token=verify-me&hub.challenge=1",
        "hub.mode=subscribe&hub.challenge=1",
    ] {
        let resp = client
            .get(format!("{}?{query}", r.url))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status().as_u16(), 403, "{query}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]
    /// Random bodies and signature headers never crash the receiver and never enqueue a fact
    /// unless the signature is right.
    #[test]
    fn random_bodies_and_headers(body in proptest::collection::vec(any::<u8>(), 0..2048), header in proptest::option::of("[ -~]{0,80}"), sign_it in any::<bool>()) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            let mut r = start().await;
            let sig = if sign_it { Some(sign(&body)) } else { header };
            let signed = sign_it;
            let status = post(&r.url, body, sig).await;
            prop_assert!([200u16, 400, 401].contains(&status), "status {}", status);
            if !signed {
                prop_assert_eq!(status, 401);
                prop_assert!(r.facts.try_recv().is_err());
            }
            Ok(())
        })?;
    }
}

/// Sends only the head of a POST announcing `length` bytes, and returns the status line the
/// receiver answers with before any of the body is sent (None if it waits for the body).
async fn answer_before_body(url: &str, length: usize, signature: Option<&str>) -> Option<String> {
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
    let rest = url.strip_prefix("http://").unwrap();
    let (addr, path) = rest.split_once('/').unwrap();
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "POST /{path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n"
    );
    if let Some(sig) = signature {
        head.push_str(&format!("X-Hub-Signature-256: {sig}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let mut line = String::new();
    let mut reader = BufReader::new(stream);
    let read = reader.read_line(&mut line);
    match tokio::time::timeout(std::time::Duration::from_secs(2), read).await {
        Ok(Ok(n)) if n > 0 => Some(line.trim().to_string()),
        _ => None,
    }
}

/// The port is open to anyone: a POST without a well-formed signature is answered before its
/// body is read, so a flood of unsigned uploads costs no memory; a signed-looking one is read.
#[tokio::test]
async fn unsigned_posts_are_refused_before_their_body_is_read() {
    let r = start().await;
    for sig in [None, Some("sha256=nothex"), Some("md5=00")] {
        let line = answer_before_body(&r.url, 1 << 20, sig).await;
        assert_eq!(
            line.as_deref(),
            Some("HTTP/1.1 401 Unauthorized"),
            "{sig:?}"
        );
    }
    let well_formed = "sha256=".to_string() + &"ab".repeat(32);
    // A well-formed signature gets its body read: nothing is answered before the body comes.
    assert_eq!(
        answer_before_body(&r.url, 100, Some(&well_formed)).await,
        None
    );
    assert!(r.metrics.encode().unwrap().contains("bad_signature"));
}
