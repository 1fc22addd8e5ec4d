//! Graph errors as the transport sees them: Meta's error envelope parsed into a
//! [`GraphError`], and the client's own failures (transport, decoding, the local budget).
//! What the errors mean is decided in `crate::meta::error`.

use serde_json::Value;

use crate::meta::{ErrorClass, GraphError, Refusal};
use std::time::Duration;

impl GraphError {
    pub(crate) fn bare(class: ErrorClass, endpoint: &'static str, message: String) -> Self {
        Self {
            class,
            endpoint,
            http_status: None,
            code: None,
            subcode: None,
            message,
            details: None,
            fbtrace_id: None,
            retry_after: None,
            refusal: None,
        }
    }

    /// An error the client raised before or instead of talking to Meta.
    pub(crate) fn local(
        class: ErrorClass,
        endpoint: &'static str,
        message: impl Into<String>,
    ) -> Self {
        Self::bare(class, endpoint, message.into())
    }

    /// The local limiter refused to send.
    pub(crate) fn budget_spent(endpoint: &'static str, retry_after: Duration) -> Self {
        let mut err = Self::bare(
            ErrorClass::Throttled,
            endpoint,
            "hourly Graph call budget of this WhatsApp Business Account is spent; call not sent"
                .to_owned(),
        );
        err.retry_after = Some(retry_after);
        err
    }

    /// A transport failure. The URL is never part of the text: a `debug_token` URL carries the
    /// token it inspects.
    pub(crate) fn transport(endpoint: &'static str, err: &reqwest::Error) -> Self {
        let what = if err.is_timeout() {
            "request timed out"
        } else if err.is_connect() {
            "connection to Graph failed"
        } else if err.is_body() || err.is_decode() {
            "reading the response body failed"
        } else {
            "HTTP transport error"
        };
        Self::bare(ErrorClass::Transient, endpoint, what.to_owned())
    }

    /// A success status whose body is not the JSON the call expects.
    pub(crate) fn decode(
        endpoint: &'static str,
        http_status: u16,
        err: &serde_json::Error,
    ) -> Self {
        let mut e = Self::bare(
            ErrorClass::Transient,
            endpoint,
            format!(
                "malformed Graph response body ({} at line {} column {})",
                match err.classify() {
                    serde_json::error::Category::Eof => "truncated",
                    serde_json::error::Category::Syntax => "not JSON",
                    _ => "unexpected shape",
                },
                err.line(),
                err.column()
            ),
        );
        e.http_status = Some(http_status);
        e
    }

    /// Parses an error response. Works on any body: a missing or broken envelope leaves the
    /// HTTP status to classify it.
    pub fn from_response(endpoint: &'static str, http_status: u16, body: &[u8]) -> Self {
        let envelope = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("error").cloned())
            .filter(Value::is_object);
        let Some(error) = envelope else {
            let mut e = Self::bare(
                ErrorClass::classify(Some(http_status), None, None),
                endpoint,
                format!("HTTP {http_status} without a Graph error body"),
            );
            e.http_status = Some(http_status);
            return e;
        };
        let int = |key: &str| {
            error.get(key).and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.trim().parse().ok()))
            })
        };
        let text = |v: Option<&Value>| v.and_then(Value::as_str).map(str::to_owned);
        let code = int("code");
        let subcode = int("error_subcode");
        let details = match error.get("error_data") {
            Some(Value::Object(data)) => text(data.get("details")),
            // Graph sometimes sends error_data as a JSON-encoded string.
            Some(Value::String(raw)) => serde_json::from_str::<Value>(raw)
                .ok()
                .and_then(|v| text(v.get("details"))),
            _ => None,
        };
        let message =
            text(error.get("message")).unwrap_or_else(|| format!("HTTP {http_status} Graph error"));
        let mut class = ErrorClass::classify(Some(http_status), code, subcode);
        if class == ErrorClass::Other && error.get("is_transient") == Some(&Value::Bool(true)) {
            class = ErrorClass::Transient;
        }
        Self {
            class,
            endpoint,
            http_status: Some(http_status),
            code,
            subcode,
            refusal: Refusal::of(code, subcode, &message, details.as_deref()),
            message,
            details,
            fbtrace_id: text(error.get("fbtrace_id")),
            retry_after: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body(code: i64, subcode: Option<i64>, message: &str) -> Vec<u8> {
        let mut error = serde_json::json!({
            "message": message, "type": "OAuthException", "code": code,
            "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam",
        });
        if let Some(s) = subcode {
            error["error_subcode"] = s.into();
        }
        serde_json::to_vec(&serde_json::json!({ "error": error })).unwrap()
    }

    #[test]
    fn parses_metas_documented_error_object() {
        let raw = br#"{ "error": { "message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429,
             "error_data": { "messaging_product": "whatsapp", "details": "Message failed to send because there were too many messages sent from this phone number in a short period of time" },
             "error_subcode": 2494055, "fbtrace_id": "Az8or2yhqkZfEZ-_4Qn_Bam" } }"#;
        let e = GraphError::from_response("read_number", 400, raw);
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(e.code, Some(130429));
        assert_eq!(e.subcode, Some(2494055));
        assert_eq!(e.message, "(#130429) Rate limit hit");
        assert!(
            e.details
                .as_deref()
                .unwrap()
                .starts_with("Message failed to send")
        );
        assert_eq!(e.fbtrace_id.as_deref(), Some("Az8or2yhqkZfEZ-_4Qn_Bam"));
        assert_eq!(e.http_status, Some(400));
        for text in [e.to_string(), e.status_message()] {
            assert!(!text.contains("Az8or2yhqkZfEZ"), "{text}");
            assert!(text.contains("130429"), "{text}");
            assert!(text.contains("Rate limit hit"), "{text}");
            assert!(text.contains("too many messages"), "{text}");
        }
    }

    #[test]
    fn classification_table() {
        use ErrorClass::*;
        let cases: &[(u16, i64, Option<i64>, ErrorClass)] = &[
            (401, 0, None, Auth),
            (500, 3, None, Auth),
            (403, 10, None, Auth),
            (401, 190, Some(463), Auth),
            (403, 200, Some(1349174), Auth),
            (403, 299, None, Auth),
            (400, 4, Some(2446079), Throttled),
            (429, 4, None, Throttled),
            (400, 80007, None, Throttled),
            (400, 130429, None, Throttled),
            (400, 131056, None, Throttled),
            (400, 133016, None, RegistrationBudget),
            (400, 133005, None, PinMismatch),
            (400, 133008, None, PinMismatch),
            (400, 133009, None, PinMismatch),
            (400, 100, Some(2388001), NotReady),
            (400, 136024, None, AlreadyVerified),
            (400, 100, None, InvalidRequest),
            (400, 100, Some(33), InvalidRequest),
            (500, 1, None, Transient),
            (503, 2, None, Transient),
            (500, 131057, None, Transient),
            (503, 133004, None, Transient),
            (503, 99999, None, Throttled),
            (429, 99999, None, Throttled),
            (502, 99999, None, Transient),
            (403, 368, None, Other),
            (403, 131031, None, Other),
            (400, 133010, None, Other),
        ];
        for &(http, code, sub, want) in cases {
            let e = GraphError::from_response("register", http, &body(code, sub, "(#x) msg"));
            assert_eq!(e.class, want, "HTTP {http} code {code} subcode {sub:?}");
            assert_eq!(e.code, Some(code));
        }
    }

    #[test]
    fn bodies_without_an_envelope_fall_back_to_the_status() {
        let e = GraphError::from_response("read_waba", 503, b"<html>Service Unavailable</html>");
        assert_eq!(e.class, ErrorClass::Throttled);
        assert_eq!(e.code, None);
        assert_eq!(
            GraphError::from_response("read_waba", 502, b"").class,
            ErrorClass::Transient
        );
        assert_eq!(
            GraphError::from_response("read_waba", 401, b"{}").class,
            ErrorClass::Auth
        );
        assert_eq!(
            GraphError::from_response("read_waba", 404, b"{\"error\":\"x\"}").class,
            ErrorClass::Other
        );
    }

    #[test]
    fn unknown_transient_codes_and_string_error_data() {
        let raw = br#"{"error":{"message":"hiccup","code":1234,"is_transient":true,
            "error_data":"{\"details\":\"try again\"}"}}"#;
        let e = GraphError::from_response("read_waba", 400, raw);
        assert_eq!(e.class, ErrorClass::Transient);
        assert_eq!(e.details.as_deref(), Some("try again"));
    }

    #[test]
    fn decode_errors_are_transient() {
        let err = serde_json::from_slice::<Value>(b"{\"id\":\"1065").unwrap_err();
        let e = GraphError::decode("read_number", 200, &err);
        assert_eq!(e.class, ErrorClass::Transient);
        assert!(e.message.contains("truncated"), "{}", e.message);
        let err = serde_json::from_slice::<Value>(b"<html>").unwrap_err();
        assert!(
            GraphError::decode("read_number", 200, &err)
                .message
                .contains("not JSON")
        );
    }

    #[test]
    fn status_message_is_stable_across_repeats() {
        let a = GraphError::from_response(
            "read_waba",
            401,
            &body(
                190,
                Some(463),
                "Error validating access token: Session has expired on Monday, 23-Nov-26 10:00:00 UTC. The current time is Monday, 23-Nov-26 11:00:01 UTC.",
            ),
        );
        let mut b = GraphError::from_response(
            "read_waba",
            401,
            &body(
                190,
                Some(463),
                "Error validating access token: Session has expired on Monday, 23-Nov-26 10:00:00 UTC. The current time is Monday, 23-Nov-26 11:07:42 UTC.",
            ),
        );
        b.fbtrace_id = Some("another-trace".into());
        b.retry_after = Some(Duration::from_secs(90));
        assert_eq!(a.status_message(), b.status_message());
        assert!(a.status_message().contains("Session has expired on Monday"));
        assert!(!a.status_message().contains("current time"));
        assert!(b.to_string().contains("retry after 90s"));
        assert!(!b.status_message().contains("retry"));
    }

    #[test]
    fn scrub_removes_echoed_secrets() {
        let e = GraphError::from_response(
            "register",
            400,
            &body(100, None, "(#100) Param pin 654321 is not valid"),
        )
        .scrub(&["654321"]);
        assert!(!e.to_string().contains("654321"));
        assert!(!format!("{e:?}").contains("654321"));
    }

    #[test]
    fn labels_are_bounded_snake_case() {
        use ErrorClass::*;
        for c in [
            Auth,
            Throttled,
            RegistrationBudget,
            PinMismatch,
            NotReady,
            AlreadyVerified,
            InvalidRequest,
            Transient,
            Other,
        ] {
            assert!(
                c.as_str()
                    .chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch == '_')
            );
        }
    }
}
