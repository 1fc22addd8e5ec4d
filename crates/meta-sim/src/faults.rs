//! Fault injection: rules that make matching Graph requests slow, fail, hang or return garbage.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct FaultGraphError {
    pub code: i64,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub details: Option<String>,
    #[serde(default, rename = "type")]
    pub kind: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Fault {
    #[serde(default)]
    pub path_prefix: Option<String>,
    #[serde(default)]
    pub method: Option<String>,
    /// Applies to the next N matching requests; unlimited when absent.
    #[serde(default)]
    pub count: Option<u32>,
    /// Probability (0..=1) that a matching request is affected.
    #[serde(default)]
    pub ratio: Option<f64>,
    #[serde(default)]
    pub http_status: Option<u16>,
    #[serde(default)]
    pub graph_error: Option<FaultGraphError>,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    /// The request takes effect at once but its answer is held this long: a client that dies
    /// or gives up meanwhile never learns that Meta did what it asked.
    #[serde(default)]
    pub answer_delay_ms: Option<u64>,
    #[serde(default)]
    pub timeout: bool,
    /// How long a `timeout` fault holds the request before dropping the connection.
    #[serde(default)]
    pub timeout_ms: Option<u64>,
    #[serde(default)]
    pub malformed_body: bool,
}

impl Fault {
    pub fn validate(&self) -> Result<(), String> {
        if let Some(ratio) = self.ratio
            && !(0.0..=1.0).contains(&ratio)
        {
            return Err("ratio must be between 0 and 1".to_owned());
        }
        if let Some(status) = self.http_status
            && !(100..=599).contains(&status)
        {
            return Err("http_status must be a valid HTTP status".to_owned());
        }
        if self.count == Some(0) {
            return Err("count must be at least 1".to_owned());
        }
        Ok(())
    }

    fn matches(&self, method: &str, full_path: &str, bare_path: &str) -> bool {
        let method_ok = self
            .method
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(method));
        let path_ok = self
            .path_prefix
            .as_deref()
            .is_none_or(|p| has_prefix(full_path, p) || has_prefix(bare_path, p));
        method_ok && path_ok
    }
}

/// Prefix match on whole path segments, so `/123` does not catch `/1234`.
fn has_prefix(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    if prefix.is_empty() {
        return true;
    }
    path == prefix
        || path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.starts_with('/'))
}

#[derive(Debug, Default)]
pub struct Faults {
    rules: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        self.rules.push(fault);
    }

    pub fn clear(&mut self) {
        self.rules.clear();
    }

    pub fn list(&self) -> &[Fault] {
        &self.rules
    }

    /// The first rule that applies to this request, consuming one of its uses.
    pub fn take(&mut self, method: &str, full_path: &str, bare_path: &str) -> Option<Fault> {
        let index = self.rules.iter().position(|f| {
            f.matches(method, full_path, bare_path)
                && f.ratio.is_none_or(|r| rand::random::<f64>() < r)
        })?;
        let fault = self.rules[index].clone();
        if let Some(count) = self.rules[index].count.as_mut() {
            *count -= 1;
            if *count == 0 {
                self.rules.remove(index);
            }
        }
        Some(fault)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fault(prefix: &str, count: u32) -> Fault {
        serde_json::from_value(
            serde_json::json!({"path_prefix": prefix, "count": count, "http_status": 503}),
        )
        .unwrap()
    }

    #[test]
    fn matches_with_or_without_version_and_runs_out() {
        let mut f = Faults::default();
        f.add(fault("/123", 2));
        assert!(f.take("GET", "/v24.0/1234", "/1234").is_none());
        assert!(
            f.take("GET", "/v24.0/123/register", "/123/register")
                .is_some()
        );
        assert!(f.take("POST", "/v25.0/123", "/123").is_some());
        assert!(f.take("GET", "/v25.0/123", "/123").is_none());
        f.add(fault("/v24.0/9", 1));
        assert!(f.take("GET", "/v25.0/9", "/9").is_none());
        assert!(f.take("GET", "/v24.0/9", "/9").is_some());
    }

    #[test]
    fn ratio_zero_never_fires_and_one_always_does() {
        let mut f = Faults::default();
        let rule = |ratio: f64| -> Fault {
            serde_json::from_value(serde_json::json!({"ratio": ratio, "latency_ms": 1})).unwrap()
        };
        f.add(rule(0.0));
        assert!((0..50).all(|_| f.take("GET", "/v24.0/1", "/1").is_none()));
        f.clear();
        f.add(rule(1.0));
        assert!((0..50).all(|_| f.take("GET", "/v24.0/1", "/1").is_some()));
        assert!(rule(1.5).validate().is_err());
    }
}
