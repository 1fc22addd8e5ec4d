//! Outgoing webhooks: Meta's envelope, the `X-Hub-Signature-256` signature, delivery and the
//! verification handshake. Targets are restricted to loopback so the simulator can never be
//! turned into a tool that posts to other machines.

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("webhook URL is not valid: {0}")]
    BadUrl(String),
    #[error(
        "webhook URL {0} is not a loopback address; meta-sim only calls 127.0.0.1, ::1 or localhost"
    )]
    NotLoopback(String),
    #[error("webhook request to {url} failed: {source}")]
    Request { url: String, source: reqwest::Error },
}

/// `sha256=<hex HMAC-SHA256(body, app secret)>`, the value of Meta's `X-Hub-Signature-256`.
pub fn signature_header(app_secret: &[u8], body: &[u8]) -> String {
    // HMAC accepts keys of any length, so this cannot fail; an empty tag would only mean a
    // signature the receiver rejects.
    let tag = Hmac::<Sha256>::new_from_slice(app_secret)
        .map(|mut mac| {
            mac.update(body);
            hex::encode(mac.finalize().into_bytes())
        })
        .unwrap_or_default();
    format!("sha256={tag}")
}

pub fn check_loopback(raw: &str) -> Result<url::Url, WebhookError> {
    let url = url::Url::parse(raw).map_err(|e| WebhookError::BadUrl(e.to_string()))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(WebhookError::BadUrl(format!(
            "unsupported scheme {}",
            url.scheme()
        )));
    }
    let loopback = match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    };
    if loopback {
        Ok(url)
    } else {
        Err(WebhookError::NotLoopback(raw.to_owned()))
    }
}

/// `{"object":"whatsapp_business_account","entry":[{"id","time","changes":[{field,value}]}]}`.
pub fn envelope(waba_id: &str, field: &str, value: Value, now: i64) -> Value {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{
            "id": waba_id,
            "time": now,
            "changes": [{ "field": field, "value": value }],
        }],
    })
}

/// Fields for which Meta honours WABA/phone-number callback overrides; all others (account and
/// template fields) always go to the app's default callback URL.
pub fn honours_override(field: &str) -> bool {
    matches!(
        field,
        "messages"
            | "message_echoes"
            | "calls"
            | "consumer_profile"
            | "messaging_handovers"
            | "smb_message_echoes"
            | "smb_app_state_sync"
            | "history"
            | "account_settings_update"
    ) || field.starts_with("group_")
}

pub struct Outcome {
    pub status: u16,
    pub body: String,
}

pub async fn deliver(
    http: &reqwest::Client,
    url: url::Url,
    body: Vec<u8>,
    signature: String,
) -> Result<Outcome, WebhookError> {
    let target = url.to_string();
    let response = http
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "facebookexternalua")
        .header("x-hub-signature-256", signature)
        .body(body)
        .send()
        .await
        .map_err(|source| WebhookError::Request {
            url: target.clone(),
            source,
        })?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|source| WebhookError::Request {
            url: target,
            source,
        })?;
    Ok(Outcome { status, body })
}

pub async fn handshake(
    http: &reqwest::Client,
    mut url: url::Url,
    verify_token: &str,
    challenge: &str,
) -> Result<Outcome, WebhookError> {
    url.query_pairs_mut()
        .append_pair("hub.mode", "subscribe")
        .append_pair("hub.verify_token", verify_token)
        .append_pair("hub.challenge", challenge);
    let target = format!(
        "{}://{}{}",
        url.scheme(),
        url.host_str().unwrap_or_default(),
        url.path()
    );
    let response = http
        .get(url)
        .header(
            "user-agent",
            "facebookplatform/1.0 (+http://developers.facebook.com)",
        )
        .send()
        .await
        .map_err(|source| WebhookError::Request {
            url: target.clone(),
            source,
        })?;
    let status = response.status().as_u16();
    let body = response
        .text()
        .await
        .map_err(|source| WebhookError::Request {
            url: target,
            source,
        })?;
    Ok(Outcome { status, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_known_vector() {
        // RFC 4231 test case 2.
        let sig = signature_header(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            sig,
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn only_loopback_targets() {
        assert!(check_loopback("http://127.0.0.1:8080/webhook").is_ok());
        assert!(check_loopback("http://localhost/webhook").is_ok());
        assert!(check_loopback("http://[::1]:9/x").is_ok());
        assert!(check_loopback("https://example.com/webhook").is_err());
        assert!(check_loopback("http://10.0.0.1/webhook").is_err());
        assert!(check_loopback("file:///etc/passwd").is_err());
    }
}
