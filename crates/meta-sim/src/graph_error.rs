//! Meta's error envelope and the HTTP status Graph pairs with each error code.

use axum::http::StatusCode;
use serde_json::{Value, json};

/// One Graph API error, serialised as `{"error": {...}}` exactly like Meta does. Boxed so the
/// many `Result<_, GraphError>` stay small.
#[derive(Clone, Debug, PartialEq)]
pub struct GraphError(Box<GraphErrorBody>);

#[derive(Clone, Debug, PartialEq)]
pub struct GraphErrorBody {
    pub code: i64,
    pub subcode: Option<i64>,
    pub message: String,
    pub details: Option<String>,
    pub kind: String,
    pub user_title: Option<String>,
    pub user_msg: Option<String>,
    pub is_transient: Option<bool>,
    pub http: StatusCode,
}

impl std::ops::Deref for GraphError {
    type Target = GraphErrorBody;
    fn deref(&self) -> &GraphErrorBody {
        &self.0
    }
}

impl std::ops::DerefMut for GraphError {
    fn deref_mut(&mut self) -> &mut GraphErrorBody {
        &mut self.0
    }
}

impl GraphError {
    /// An `OAuthException` with Meta's `(#code) message` prefix and the code's usual status.
    pub fn new(code: i64, message: &str) -> Self {
        Self::raw(code, format!("(#{code}) {message}"))
    }

    /// An `OAuthException` whose message is used verbatim (Meta omits the prefix for some codes).
    pub fn raw(code: i64, message: String) -> Self {
        Self(Box::new(GraphErrorBody {
            code,
            subcode: None,
            message,
            details: None,
            kind: "OAuthException".to_owned(),
            user_title: None,
            user_msg: None,
            is_transient: None,
            http: status_for_code(code),
        }))
    }

    pub fn details(mut self, details: impl Into<String>) -> Self {
        self.details = Some(details.into());
        self
    }

    pub fn subcode(mut self, subcode: i64) -> Self {
        self.subcode = Some(subcode);
        self
    }

    pub fn user(mut self, title: &str, msg: &str) -> Self {
        self.user_title = Some(title.to_owned());
        self.user_msg = Some(msg.to_owned());
        self
    }

    pub fn transient(mut self) -> Self {
        self.is_transient = Some(true);
        self
    }

    pub fn status(mut self, http: StatusCode) -> Self {
        self.http = http;
        self
    }

    pub fn body(&self, fbtrace_id: &str) -> Value {
        let mut error = json!({
            "message": self.message,
            "type": self.kind,
            "code": self.code,
            "fbtrace_id": fbtrace_id,
        });
        let Some(obj) = error.as_object_mut() else {
            return json!({ "error": error });
        };
        if let Some(subcode) = self.subcode {
            obj.insert("error_subcode".into(), json!(subcode));
        }
        if let Some(details) = &self.details {
            obj.insert(
                "error_data".into(),
                json!({ "messaging_product": "whatsapp", "details": details }),
            );
        }
        if let Some(title) = &self.user_title {
            obj.insert("error_user_title".into(), json!(title));
        }
        if let Some(msg) = &self.user_msg {
            obj.insert("error_user_msg".into(), json!(msg));
        }
        if let Some(transient) = self.is_transient {
            obj.insert("is_transient".into(), json!(transient));
        }
        json!({ "error": error })
    }

    /// Graph's answer for ids it cannot see or methods a node does not support.
    pub fn unsupported(method: &str, id: &str) -> Self {
        let mut err = Self::raw(
            100,
            format!(
                "Unsupported {} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
                method.to_ascii_lowercase()
            ),
        )
        .subcode(33);
        err.kind = "GraphMethodException".to_owned();
        err
    }

    pub fn unknown_path(rest: &str) -> Self {
        Self::raw(2500, format!("Unknown path components: {rest}"))
    }

    pub fn missing_param(name: &str) -> Self {
        Self::new(100, &format!("The parameter {name} is required."))
    }

    pub fn invalid_param(message: &str) -> Self {
        Self::new(100, message)
    }

    pub fn nonexisting_field(field: &str, node_type: &str) -> Self {
        Self::new(
            100,
            &format!("Tried accessing nonexisting field ({field}) on node type ({node_type})"),
        )
    }
}

/// HTTP status Meta uses for an error code (reference table of error codes).
pub fn status_for_code(code: i64) -> StatusCode {
    match code {
        0 | 190 => StatusCode::UNAUTHORIZED,
        10 | 200..=299 | 368 | 131031 | 130497 => StatusCode::FORBIDDEN,
        1 | 3 | 133000 | 131045 | 131057 => StatusCode::INTERNAL_SERVER_ERROR,
        2 | 133004 => StatusCode::SERVICE_UNAVAILABLE,
        _ => StatusCode::BAD_REQUEST,
    }
}

/// The error a fault with only an HTTP status produces, chosen to match what Graph sends
/// alongside such statuses.
pub fn for_http_status(http: StatusCode) -> GraphError {
    let err = if http == StatusCode::TOO_MANY_REQUESTS {
        GraphError::new(4, "Application request limit reached").transient()
    } else if http.is_server_error() {
        GraphError::raw(
            2,
            "An unexpected error has occurred. Please retry your request later.".to_owned(),
        )
        .transient()
    } else if http == StatusCode::UNAUTHORIZED {
        GraphError::raw(
            190,
            "Invalid OAuth access token - Cannot parse access token".to_owned(),
        )
    } else {
        GraphError::raw(1, "An unknown error occurred".to_owned())
    };
    err.status(http)
}
