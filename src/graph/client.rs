//! Transport: URL building, the bearer header, usage headers, the local budget and retries.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde_json::Value;
use url::Url;

use super::config::{GraphConfig, GraphObserver, RetryPolicy};
use super::limiter::Limiter;
use super::session::WabaSession;
use super::usage::{self, Usage};
use crate::meta::{ErrorClass, GraphError};

/// HTTP verb of a Graph call. Only `Get` is ever retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    Post,
    Delete,
}

/// A parameter value; secrets stay wrapped until the request is put on the wire.
#[derive(Debug)]
pub(crate) enum Param {
    Plain(Value),
    Secret(SecretString),
}

impl Param {
    pub(crate) fn text(s: &str) -> Self {
        Self::Plain(Value::String(s.to_owned()))
    }

    fn exposed(&self) -> Value {
        match self {
            Self::Plain(v) => v.clone(),
            Self::Secret(s) => Value::String(s.expose_secret().to_owned()),
        }
    }

    fn query_text(&self) -> String {
        match self.exposed() {
            Value::String(s) => s,
            other => other.to_string(),
        }
    }
}

/// Where a call goes: a path under `/<version>/`, or a paging link Meta returned.
#[derive(Debug)]
pub(crate) enum Target {
    Path(String),
    Link(Url),
}

/// One Graph request. Its `Debug` shows no secret: they are [`Param::Secret`].
#[derive(Debug)]
pub(crate) struct Call {
    pub endpoint: &'static str,
    pub verb: Verb,
    pub target: Target,
    pub query: Vec<(&'static str, Param)>,
    pub body: Option<Vec<(String, Param)>>,
    /// Whether the call spends the WABA's hourly budget (Meta does not count `debug_token`).
    pub budgeted: bool,
}

impl Call {
    pub(crate) fn new(endpoint: &'static str, verb: Verb, path: String) -> Self {
        Self {
            endpoint,
            verb,
            target: Target::Path(path),
            query: Vec::new(),
            body: None,
            budgeted: true,
        }
    }

    pub(crate) fn query(mut self, key: &'static str, value: Param) -> Self {
        self.query.push((key, value));
        self
    }

    pub(crate) fn body(mut self, key: impl Into<String>, value: Param) -> Self {
        self.body
            .get_or_insert_with(Vec::new)
            .push((key.into(), value));
        self
    }

    fn secrets(&self) -> impl Iterator<Item = &SecretString> {
        self.query
            .iter()
            .map(|(_, p)| p)
            .chain(self.body.iter().flatten().map(|(_, p)| p))
            .filter_map(|p| match p {
                Param::Secret(s) => Some(s),
                Param::Plain(_) => None,
            })
    }
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    version: String,
    budget: u32,
    retry: RetryPolicy,
    observer: Option<Arc<dyn GraphObserver>>,
    limiter: Mutex<Limiter>,
    usage: Mutex<HashMap<String, Usage>>,
}

/// Typed client of Meta's Graph API. Cheap to clone; clones share the budget and usage.
#[derive(Clone)]
pub struct GraphClient {
    inner: Arc<Inner>,
}

impl fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphClient")
            .field("base_url", &self.inner.base.as_str())
            .field("version", &self.inner.version)
            .field("hourly_budget_per_waba", &self.inner.budget)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The guarded maps stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

impl GraphClient {
    /// The Graph API version the client calls, e.g. `v24.0`.
    pub fn version(&self) -> &str {
        &self.inner.version
    }

    pub fn new(cfg: GraphConfig) -> Result<Self, GraphError> {
        let invalid = |what: String| GraphError::local(ErrorClass::InvalidRequest, "config", what);
        let mut base = Url::parse(cfg.base_url.trim())
            .map_err(|e| invalid(format!("invalid Graph base URL: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("Graph base URL must be http(s)".to_owned()));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let version = cfg.version.trim().trim_matches('/').to_owned();
        if version.is_empty() || version.contains(['/', '?', '#']) {
            return Err(invalid("Graph version must look like v24.0".to_owned()));
        }
        if cfg.retry.max_attempts == 0 {
            return Err(invalid("retry.max_attempts must be at least 1".to_owned()));
        }
        let http = reqwest::Client::builder()
            .timeout(cfg.timeout)
            // Paging links are followed explicitly after an origin check; a redirect must not
            // carry the bearer token elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("whatsapp-operator/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|_| invalid("cannot build the HTTP client".to_owned()))?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                version,
                budget: cfg.hourly_budget_per_waba,
                retry: cfg.retry,
                observer: cfg.observer,
                limiter: Mutex::new(Limiter::new(cfg.hourly_budget_per_waba)),
                usage: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// All calls about one WABA, made with `token`, spending that WABA's budget.
    pub fn session(&self, waba_id: &str, token: SecretString) -> WabaSession {
        WabaSession::new(self.clone(), waba_id.to_owned(), token)
    }

    /// What Meta last reported about `waba_id`'s call budget.
    pub fn usage(&self, waba_id: &str) -> Option<Usage> {
        lock(&self.inner.usage).get(waba_id).cloned()
    }

    /// Calls this client sent (or is about to send) for `waba_id` in the last rolling hour.
    pub fn calls_in_last_hour(&self, waba_id: &str) -> usize {
        lock(&self.inner.limiter).used(waba_id, Instant::now())
    }

    pub(crate) fn observe(&self, endpoint: &'static str, outcome: &str) {
        if let Some(o) = &self.inner.observer {
            o.request_finished(endpoint, outcome);
        }
    }

    /// Whether a paging link may receive the token: same origin and under the base path.
    pub(crate) fn trusted_link(&self, raw: &str) -> Option<Url> {
        let mut url = Url::parse(raw).ok()?;
        let base = &self.inner.base;
        let same = url.scheme() == base.scheme()
            && url.host_str() == base.host_str()
            && url.port_or_known_default() == base.port_or_known_default()
            && url.path().starts_with(base.path());
        if !same {
            return None;
        }
        // Links can embed the caller's access_token; the header carries it instead.
        let kept: Vec<(String, String)> = url
            .query_pairs()
            .filter(|(k, _)| k != "access_token")
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        url.set_query(None);
        if !kept.is_empty() {
            url.query_pairs_mut().extend_pairs(kept);
        }
        Some(url)
    }

    fn url_for(&self, call: &Call) -> Result<Url, GraphError> {
        let mut url = match &call.target {
            Target::Link(url) => url.clone(),
            Target::Path(path) => self
                .inner
                .base
                .join(&format!("{}/{}", self.inner.version, path))
                .map_err(|_| {
                    GraphError::local(
                        ErrorClass::InvalidRequest,
                        call.endpoint,
                        "invalid request path",
                    )
                })?,
        };
        if !call.query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (k, v) in &call.query {
                pairs.append_pair(k, &v.query_text());
            }
        }
        Ok(url)
    }

    /// Sends `call` for `waba_id` and decodes the success body as `T`, retrying GETs on
    /// transient failures.
    pub(crate) async fn execute<T: DeserializeOwned>(
        &self,
        waba_id: &str,
        token: &SecretString,
        call: &Call,
    ) -> Result<T, GraphError> {
        let secrets: Vec<&str> = std::iter::once(token)
            .chain(call.secrets())
            .map(|s| s.expose_secret())
            .collect();
        let mut retry = 0u32;
        loop {
            let result = self.attempt(waba_id, token, call).await;
            let err = match result {
                Ok(value) => return Ok(value),
                Err(e) => e.scrub(&secrets),
            };
            let retryable = call.verb == Verb::Get
                && err.class == ErrorClass::Transient
                && retry + 1 < self.inner.retry.max_attempts;
            if !retryable {
                return Err(err);
            }
            let delay = self.inner.retry.delay(retry, rand::random::<f64>());
            tracing::debug!(endpoint = call.endpoint, retry, ?delay, error = %err, "retrying Graph read");
            tokio::time::sleep(delay).await;
            retry += 1;
        }
    }

    async fn attempt<T: DeserializeOwned>(
        &self,
        waba_id: &str,
        token: &SecretString,
        call: &Call,
    ) -> Result<T, GraphError> {
        let endpoint = call.endpoint;
        if call.budgeted {
            let refused = lock(&self.inner.limiter).acquire(waba_id, Instant::now());
            if let Err(wait) = refused {
                return Err(GraphError::budget_spent(endpoint, wait));
            }
        }
        let request = self.request(token, call)?;
        let response = request
            .send()
            .await
            .map_err(|e| GraphError::transport(endpoint, &e))?;
        let status = response.status().as_u16();
        let regain = self.record_usage(waba_id, response.headers());
        let retry_header = retry_after_header(response.headers());
        let bytes = response
            .bytes()
            .await
            .map_err(|e| GraphError::transport(endpoint, &e))?;
        tracing::debug!(endpoint, status, "Graph response");
        if (200..300).contains(&status) {
            return match serde_json::from_slice::<T>(&bytes) {
                Ok(v) => Ok(v),
                Err(e) => {
                    if let Ok(Value::Object(obj)) = serde_json::from_slice::<Value>(&bytes)
                        && obj.get("error").is_some_and(Value::is_object)
                    {
                        Err(self.failure(waba_id, endpoint, status, &bytes, regain, retry_header))
                    } else {
                        Err(GraphError::decode(endpoint, status, &e))
                    }
                }
            };
        }
        Err(self.failure(waba_id, endpoint, status, &bytes, regain, retry_header))
    }

    /// The HTTP request of `call`, with the bearer token marked sensitive.
    fn request(
        &self,
        token: &SecretString,
        call: &Call,
    ) -> Result<reqwest::RequestBuilder, GraphError> {
        let url = self.url_for(call)?;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                GraphError::local(
                    ErrorClass::Auth,
                    call.endpoint,
                    "token is not a valid header value",
                )
            })?;
        auth.set_sensitive(true);
        let request = match call.verb {
            Verb::Get => self.inner.http.get(url),
            Verb::Post => self.inner.http.post(url),
            Verb::Delete => self.inner.http.delete(url),
        }
        .header(AUTHORIZATION, auth);
        Ok(if let Some(body) = &call.body {
            let map: serde_json::Map<String, Value> =
                body.iter().map(|(k, v)| (k.clone(), v.exposed())).collect();
            request.json(&map)
        } else if call.verb == Verb::Post {
            request.json(&serde_json::Map::new())
        } else {
            request
        })
    }

    fn failure(
        &self,
        waba_id: &str,
        endpoint: &'static str,
        status: u16,
        body: &[u8],
        regain: Option<Duration>,
        retry_header: Option<Duration>,
    ) -> GraphError {
        let mut err = GraphError::from_response(endpoint, status, body);
        if err.class == ErrorClass::Throttled {
            err.retry_after = regain.or(retry_header);
            if let Some(after) = err.retry_after {
                lock(&self.inner.limiter).block_until(waba_id, Instant::now() + after);
            }
        }
        err
    }

    /// Stores the usage headers and returns Meta's regain estimate for this WABA.
    fn record_usage(&self, waba_id: &str, headers: &HeaderMap) -> Option<Duration> {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let buc = text("x-business-use-case-usage")
            .map(usage::parse_business_use_case)
            .unwrap_or_default();
        let app = text("x-app-usage").and_then(usage::parse_app_usage);
        if buc.is_empty() && app.is_none() {
            return None;
        }
        // Meta may key the header by the owning business rather than the WABA; the longest
        // regain estimate of the response then applies to this WABA.
        let regain = buc
            .get(waba_id)
            .and_then(|u| u.regain_access)
            .or_else(|| buc.values().filter_map(|u| u.regain_access).max());
        let mut updated: HashSet<String> = HashSet::new();
        let snapshot: Vec<(String, Usage)> = {
            let mut map = lock(&self.inner.usage);
            for (id, entry) in buc {
                map.entry(id.clone()).or_default().business_use_case = Some(entry);
                updated.insert(id);
            }
            if let Some(app) = app {
                map.entry(waba_id.to_owned()).or_default().app = Some(app);
                updated.insert(waba_id.to_owned());
            }
            updated
                .into_iter()
                .filter_map(|id| map.get(&id).cloned().map(|u| (id, u)))
                .collect()
        };
        if let Some(o) = &self.inner.observer {
            for (id, u) in &snapshot {
                o.usage_updated(id, u);
            }
        }
        regain
    }
}

/// `Retry-After` in seconds (the HTTP-date form is not used by Graph).
fn retry_after_header(headers: &HeaderMap) -> Option<Duration> {
    let secs: u64 = headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    (secs > 0).then(|| Duration::from_secs(secs.min(24 * 3600)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(base: &str) -> GraphClient {
        GraphClient::new(GraphConfig {
            base_url: base.to_owned(),
            ..GraphConfig::default()
        })
        .unwrap()
    }

    #[test]
    fn urls_carry_version_and_query() {
        let c = client("http://127.0.0.1:9/prefix");
        let call = Call::new("read_number", Verb::Get, "123".into())
            .query("fields", Param::text("id,status"));
        let url = c.url_for(&call).unwrap();
        assert_eq!(
            url.as_str(),
            "http://127.0.0.1:9/prefix/v24.0/123?fields=id%2Cstatus"
        );
    }

    #[test]
    fn paging_links_must_stay_on_the_base_origin_and_lose_the_token() {
        let c = client("http://127.0.0.1:9");
        let link = c
            .trusted_link(
                "http://127.0.0.1:9/v24.0/1/phone_numbers?access_token=SECRET&limit=25&after=abc",
            )
            .unwrap();
        assert_eq!(
            link.as_str(),
            "http://127.0.0.1:9/v24.0/1/phone_numbers?limit=25&after=abc"
        );
        assert!(
            c.trusted_link("http://evil.example/v24.0/1/phone_numbers?after=abc")
                .is_none()
        );
        assert!(
            c.trusted_link("http://127.0.0.1:10/v24.0/1/phone_numbers")
                .is_none()
        );
        assert!(
            c.trusted_link("https://127.0.0.1:9/v24.0/1/phone_numbers")
                .is_none()
        );
        let prefixed = client("http://127.0.0.1:9/graph");
        assert!(
            prefixed
                .trusted_link("http://127.0.0.1:9/other/v24.0/1")
                .is_none()
        );
    }

    #[test]
    fn bad_config_is_rejected() {
        for base in ["not a url", "ftp://x", "mailto:a@b"] {
            let e = GraphClient::new(GraphConfig {
                base_url: base.into(),
                ..GraphConfig::default()
            })
            .unwrap_err();
            assert_eq!(e.class, ErrorClass::InvalidRequest, "{base}");
        }
        let e = GraphClient::new(GraphConfig {
            version: "v24.0/../x?".into(),
            ..GraphConfig::default()
        })
        .unwrap_err();
        assert_eq!(e.endpoint, "config");
    }

    #[test]
    fn requests_and_clients_never_debug_print_secrets() {
        let call = Call::new("register", Verb::Post, "1/register".into())
            .body("messaging_product", Param::text("whatsapp"))
            .body("pin", Param::Secret(SecretString::from("918273")))
            .query(
                "input_token",
                Param::Secret(SecretString::from("EAAGtokenvalue")),
            );
        let shown = format!("{call:?}");
        assert!(!shown.contains("918273"), "{shown}");
        assert!(!shown.contains("EAAGtokenvalue"), "{shown}");
        assert!(shown.contains("messaging_product"));

        let c = client("http://127.0.0.1:9");
        let session = c.session("42", SecretString::from("EAAGtokenvalue"));
        for shown in [
            format!("{c:?}"),
            format!("{session:?}"),
            format!("{session:#?}"),
        ] {
            assert!(!shown.contains("EAAGtokenvalue"), "{shown}");
        }
    }
}
