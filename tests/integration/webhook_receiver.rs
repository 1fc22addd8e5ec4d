//! The webhook receiver over real HTTP on 127.0.0.1: signatures, limits, malformed bodies,
//! and clients that try to hold the port (slow heads, slow bodies, floods).

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use futures::StreamExt;
use futures::channel::mpsc;
use proptest::prelude::*;
use secrecy::SecretString;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use whatsapp_operator::meta::Fact;
use whatsapp_operator::metrics::Metrics;
use whatsapp_operator::webhook::{self, BodyLimits, ConnectionLimits, WebhookSecrets, signature};

const SECRET: &str = "test-app-secret";
const LIMIT: usize = 64 * 1024;

struct Receiver {
    url: String,
    addr: SocketAddr,
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
    let bodies = BodyLimits {
        max_bytes: LIMIT,
        ..BodyLimits::default()
    };
    start_with(bodies, ConnectionLimits::default()).await
}

/// The receiver as `run` serves it, with these limits.
async fn start_with(bodies: BodyLimits, connections: ConnectionLimits) -> Receiver {
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
    let app = webhook::router("/webhook", bodies, secrets, sink, metrics.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(webhook::server::serve(
        listener,
        app,
        connections,
        metrics.clone(),
        CancellationToken::new(),
    ));
    Receiver {
        url: format!("http://{addr}/webhook"),
        addr,
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

/// Far longer than any limit set below: the assertions are about the connection being closed at
/// all, never about how fast.
const BOUND: Duration = Duration::from_secs(30);

/// Reads until the receiver closes the connection and returns what it sent; `None` when the
/// connection is still open after `BOUND`.
async fn until_closed(mut reader: impl tokio::io::AsyncRead + Unpin) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let read_all = async {
        let mut buf = [0u8; 4096];
        loop {
            match reader.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => received.extend_from_slice(&buf[..n]),
            }
        }
    };
    tokio::time::timeout(BOUND, read_all).await.ok()?;
    Some(received)
}

/// Writes `bytes` one at a time, `every` apart, until they run out or the peer is gone.
async fn drip(mut writer: impl tokio::io::AsyncWrite + Unpin, bytes: Vec<u8>, every: Duration) {
    for byte in bytes {
        if writer.write_all(&[byte]).await.is_err() {
            return;
        }
        tokio::time::sleep(every).await;
    }
}

fn quick(header_timeout: Duration) -> ConnectionLimits {
    ConnectionLimits {
        header_timeout,
        ..ConnectionLimits::default()
    }
}

fn well_formed_signature() -> String {
    "sha256=".to_string() + &"ab".repeat(32)
}

/// Slowloris: a client that keeps sending its headers a byte every 100 ms never finishes them;
/// the header timeout counts the whole head, so the receiver closes the connection anyway.
#[tokio::test]
async fn a_head_sent_byte_by_byte_is_cut_off() {
    let r = start_with(BodyLimits::default(), quick(Duration::from_secs(2))).await;
    let stream = TcpStream::connect(r.addr).await.unwrap();
    let (reader, writer) = stream.into_split();
    let mut head = b"POST /webhook HTTP/1.1\r\nHost: receiver\r\nX-Padding: ".to_vec();
    head.extend(std::iter::repeat_n(b'a', 100_000));
    let dripping = tokio::spawn(drip(writer, head, Duration::from_millis(100)));
    let answer = until_closed(reader).await;
    dripping.abort();
    let answer = answer.expect("the receiver closed the slow connection");
    assert!(
        !String::from_utf8_lossy(&answer).contains(" 200 "),
        "{answer:?}"
    );
}

/// A connection that sends nothing, and a kept-alive one that went idle after its request, are
/// closed too: neither can hold one of the receiver's connection slots.
#[tokio::test]
async fn silent_and_idle_connections_are_closed() {
    let r = start_with(BodyLimits::default(), quick(Duration::from_secs(2))).await;
    let silent = TcpStream::connect(r.addr).await.unwrap();
    assert_eq!(until_closed(silent).await, Some(Vec::new()));

    let mut kept = TcpStream::connect(r.addr).await.unwrap();
    let request = "GET /webhook?hub.mode=subscribe&hub.verify_token=verify-me&hub.challenge=42 HTTP/1.1\r\nHost: receiver\r\n\r\n";
    kept.write_all(request.as_bytes()).await.unwrap();
    let answer = until_closed(kept)
        .await
        .expect("the idle connection is closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 200 OK"), "{answer}");
    assert!(
        !answer.contains("connection: close"),
        "kept alive: {answer}"
    );
}

/// A request head larger than Meta's ever is gets 431 and the connection is closed.
#[tokio::test]
async fn an_oversized_head_is_refused() {
    let r = start().await;
    let mut stream = TcpStream::connect(r.addr).await.unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: receiver\r\nX-Padding: {}\r\n\r\n",
        "a".repeat(webhook::server::MAX_HEAD_BYTES)
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let answer = until_closed(stream)
        .await
        .expect("the connection is closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 431"), "{answer}");
}

/// A body gets a total time to arrive, not a time per chunk: one dripped a byte every 100 ms
/// is refused with 408 although bytes keep coming.
#[tokio::test]
async fn a_body_sent_byte_by_byte_times_out() {
    let bodies = BodyLimits {
        timeout: Duration::from_secs(2),
        ..BodyLimits::default()
    };
    let r = start_with(bodies, ConnectionLimits::default()).await;
    let stream = TcpStream::connect(r.addr).await.unwrap();
    let (reader, mut writer) = stream.into_split();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: receiver\r\nContent-Length: 1000\r\nX-Hub-Signature-256: {}\r\n\r\n",
        well_formed_signature()
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    let dripping = tokio::spawn(drip(writer, vec![b' '; 1000], Duration::from_millis(100)));
    let answer = until_closed(reader).await;
    dripping.abort();
    let answer = String::from_utf8_lossy(&answer.expect("the slow body is cut off")).into_owned();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
    assert!(
        r.metrics
            .encode()
            .unwrap()
            .contains(r#"result="slow_body"} 1"#)
    );
}

/// Connections over the cap get 503 at once and are closed without a byte being read; once the
/// holders go, deliveries are served again.
#[tokio::test]
async fn connections_over_the_cap_are_refused_at_once() {
    let limits = ConnectionLimits {
        max_connections: 4,
        header_timeout: Duration::from_secs(60),
    };
    let mut r = start_with(BodyLimits::default(), limits).await;
    let mut holders = Vec::new();
    for _ in 0..4 {
        holders.push(TcpStream::connect(r.addr).await.unwrap());
    }
    // The receiver accepts in order: by the time this one answers, the four hold their slots.
    let mut extra = TcpStream::connect(r.addr).await.unwrap();
    let _ = extra.write_all(b"POST /webhook HTTP/1.1\r\n").await;
    let answer = until_closed(extra)
        .await
        .expect("the extra connection is closed");
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    drop(holders);
    let signature = Some(sign(QUALITY.as_bytes()));
    let mut status = 0;
    for _ in 0..100 {
        status = match reqwest::Client::new()
            .post(&r.url)
            .header("X-Hub-Signature-256", signature.clone().unwrap())
            .body(QUALITY)
            .send()
            .await
        {
            Ok(resp) => resp.status().as_u16(),
            Err(_) => 0,
        };
        if status == 200 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200, "served again once the slots are free");
    assert!(r.facts.next().await.is_some());
    assert!(r.metrics.encode().unwrap().contains(r#"result="busy""#));
}

/// Writes the head of a POST announcing `length` bytes with a well-formed signature and `first`
/// bytes of its body, and keeps the connection open.
async fn large_upload(addr: SocketAddr, length: usize, first: usize) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = format!(
        "POST /webhook HTTP/1.1\r\nHost: receiver\r\nContent-Length: {length}\r\nX-Hub-Signature-256: {}\r\n\r\n",
        well_formed_signature()
    );
    stream.write_all(head.as_bytes()).await.unwrap();
    stream.write_all(&vec![b' '; first]).await.unwrap();
    stream
}

/// Large bodies have their own small cap, so uploads of a megabyte cannot starve Meta's notices
/// of a kilobyte; a body announced over the size limit is refused before any of it is read.
#[tokio::test]
async fn large_bodies_are_capped_apart_from_small_ones() {
    let bodies = BodyLimits {
        max_bytes: 2 << 20,
        timeout: Duration::from_secs(60),
        max_large: 1,
    };
    let mut r = start_with(bodies, ConnectionLimits::default()).await;
    let _holder = large_upload(r.addr, 1 << 20, 4096).await;
    // The holder's request reaches the handler first (its permit is taken) before the next one.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let signature = well_formed_signature();
    assert_eq!(
        answer_before_body(&r.url, 1 << 20, Some(&signature))
            .await
            .as_deref(),
        Some("HTTP/1.1 503 Service Unavailable"),
        "a second large body waits for none"
    );
    assert_eq!(
        answer_before_body(&r.url, (2 << 20) + 1, Some(&signature))
            .await
            .as_deref(),
        Some("HTTP/1.1 413 Payload Too Large"),
    );
    let status = post(
        &r.url,
        QUALITY.as_bytes().to_vec(),
        Some(sign(QUALITY.as_bytes())),
    )
    .await;
    assert_eq!(
        status, 200,
        "a notice is read while the large upload holds its permit"
    );
    assert!(r.facts.next().await.is_some());
}

/// The operator's resident memory, from /proc.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("the operator runs");
    let kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS");
    kib * 1024
}

/// One hostile client: uploads of a MiB sent 16 KiB every 100 ms (with or without a signature
/// of the right shape), a new one as soon as the receiver drops the last, until `stop`.
async fn slow_uploads(addr: SocketAddr, signed: bool, stop: CancellationToken) {
    let chunk = vec![b' '; 16 * 1024];
    while !stop.is_cancelled() {
        let Ok(mut stream) = TcpStream::connect(addr).await else {
            tokio::time::sleep(Duration::from_millis(500)).await;
            continue;
        };
        let mut head = format!(
            "POST /webhooks/meta HTTP/1.1\r\nHost: receiver\r\nContent-Length: {}\r\n",
            1 << 20
        );
        if signed {
            head.push_str(&format!(
                "X-Hub-Signature-256: {}\r\n",
                well_formed_signature()
            ));
        }
        head.push_str("\r\n");
        let mut sent = stream.write_all(head.as_bytes()).await;
        while sent.is_ok() && !stop.is_cancelled() {
            tokio::time::sleep(Duration::from_millis(100)).await;
            sent = stream.write_all(&chunk).await;
        }
        // Refused or answered: wait a little before the next upload, as a real flood must.
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// 200 clients uploading a MiB slowly, first with a signature of the right shape and then
/// without, against the operator binary: its memory grows by less than 64 MiB, Meta's signed
/// deliveries are still acknowledged and applied, and a requested sync still reaches status.
#[tokio::test]
async fn a_flood_of_slow_uploads_costs_little_memory_and_stops_nothing() {
    const PATH: &str = "/webhooks/meta";
    const WAIT: Duration = Duration::from_secs(120);
    const SUPPORT_DIGITS: &str = "15550783881";
    const BRASIL_ID: &str = "106540352242924";
    let port = harness::operator::free_port();
    let sim = harness::sim::Sim::delivering_to(&format!("http://127.0.0.1:{port}{PATH}"));
    let mut w = harness::World::with_sim("wh-flood", sim)
        .await
        .with_timeout(WAIT);
    w.apply_example("account.yaml").await;
    w.apply_example("channel-adopt.yaml").await;
    w.create_secret(
        "whatsapp-operator-webhook",
        &[
            ("app-secret", "sim-app-secret-change-me"),
            ("verify-token", "sim-verify-token"),
        ],
    )
    .await;
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
    let ns = w.ns.clone();
    w.start_operator(&[
        "--webhook-addr",
        &addr.to_string(),
        "--webhook-path",
        PATH,
        "--webhook-secret-namespace",
        &ns,
    ]);
    let ready = |s: &whatsapp_operator::crd::WhatsAppChannelStatus| {
        whatsapp_operator::crd::condition_is_true(&s.conditions, "Ready")
    };
    w.wait_channel("acme-support", "Ready", ready).await;
    w.wait_channel("acme-brasil", "Ready", ready).await;
    harness::operator::eventually("Meta's handshake", WAIT, || async {
        let app = "670843887433847";
        w.sim
            .verify_webhook(app)
            .await
            .is_ok_and(|h| h.verified)
            .then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    let pid = w.operator().pid().unwrap();
    let baseline = rss_bytes(pid);
    let peak = Arc::new(std::sync::atomic::AtomicU64::new(baseline));
    let sampling = CancellationToken::new();
    let sampler = {
        let (peak, sampling) = (peak.clone(), sampling.clone());
        tokio::spawn(async move {
            while !sampling.is_cancelled() {
                peak.fetch_max(rss_bytes(pid), Ordering::Relaxed);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };

    let rounds = [(true, "FLAGGED", "YELLOW"), (false, "UNFLAGGED", "GREEN")];
    for (signed, event, quality) in rounds {
        let started = std::time::Instant::now();
        let stop = CancellationToken::new();
        let flood: Vec<_> = (0..200)
            .map(|_| tokio::spawn(slow_uploads(addr, signed, stop.clone())))
            .collect();
        tokio::time::sleep(Duration::from_secs(3)).await;

        let fact = serde_json::json!({"display_phone_number": SUPPORT_DIGITS, "event": event, "current_limit": "TIER_2K"});
        let out = w
            .sim
            .deliver(
                app_id(),
                "102290129340398",
                "phone_number_quality_update",
                fact,
            )
            .await;
        assert_eq!(out.status, 200, "signed={signed}: {out:?}");
        let expected = if event == "FLAGGED" {
            "FLAGGED"
        } else {
            "CONNECTED"
        };
        w.wait_channel("acme-support", event, |s| {
            s.status.as_deref() == Some(expected)
        })
        .await;
        w.sim.set_quality_rating(BRASIL_ID, quality).await;
        w.force_sync("acme", &format!("flood-{event}")).await;
        w.wait_channel("acme-brasil", quality, |s| {
            s.quality_rating.as_deref() == Some(quality)
        })
        .await;
        // Long enough for the uploads that get a permit to send their whole MiB.
        tokio::time::sleep(Duration::from_secs(12).saturating_sub(started.elapsed())).await;

        stop.cancel();
        for client in flood {
            client.await.unwrap();
        }
    }
    sampling.cancel();
    sampler.await.unwrap();
    let metrics = w.operator().metrics().await;
    for (result, at_least) in [("busy", 200), ("bad_signature", 200)] {
        let refused = delivery_count(&metrics, result);
        assert!(
            refused >= at_least,
            "{refused} deliveries refused as {result}"
        );
    }
    let growth = peak.load(Ordering::Relaxed).saturating_sub(baseline);
    eprintln!(
        "operator RSS {} KiB before the flood, peak growth {} KiB",
        baseline >> 10,
        growth >> 10
    );
    assert!(
        growth < 64 << 20,
        "RSS grew by {} MiB during the flood (from {} MiB)",
        growth >> 20,
        baseline >> 20
    );
}

/// `whatsapp_operator_webhook_deliveries_total` of unparsed deliveries refused as `result`.
fn delivery_count(metrics: &str, result: &str) -> u64 {
    let series = format!(
        r#"whatsapp_operator_webhook_deliveries_total{{field="unknown",result="{result}"}} "#
    );
    metrics
        .lines()
        .find_map(|l| l.strip_prefix(series.as_str()))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

fn app_id() -> &'static str {
    "670843887433847"
}
