//! Client settings and the hook through which callers observe requests and usage.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use super::usage::Usage;

/// Meta's public Graph endpoint.
pub const DEFAULT_BASE_URL: &str = "https://graph.facebook.com";
/// Health fields and the portfolio messaging limit need v24.0 or later.
pub const DEFAULT_VERSION: &str = "v24.0";
/// Meta's default business-use-case budget per app and WABA for a rolling hour.
pub const DEFAULT_HOURLY_BUDGET: u32 = 200;

/// Receives one callback per logical call and one per usage header read.
pub trait GraphObserver: Send + Sync {
    /// `endpoint` is a bounded label such as `read_waba`; `outcome` is `ok` or an
    /// [`ErrorClass`](super::ErrorClass) label. Called once per logical call, after retries,
    /// including calls the local limiter refused.
    fn request_finished(&self, endpoint: &'static str, outcome: &str);
    /// Called whenever a response carried usage; `waba_id` is the id Meta keyed it by (the WABA,
    /// or its owning business when Meta reports it that way).
    fn usage_updated(&self, waba_id: &str, usage: &Usage);
}

/// Backoff for idempotent reads that failed transiently.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Total attempts including the first one; 1 disables retries.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: 3,
            base_delay: Duration::from_millis(200),
            max_delay: Duration::from_secs(2),
        }
    }
}

impl RetryPolicy {
    /// Upper bound of the delay before retry number `retry` (0 = first retry): the base doubled
    /// per retry, capped.
    pub fn ceiling(&self, retry: u32) -> Duration {
        let factor = 2u32.checked_pow(retry.min(31)).unwrap_or(u32::MAX);
        self.base_delay
            .checked_mul(factor)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }

    /// The delay before retry number `retry`, jittered within the upper half of the ceiling so
    /// that concurrent clients spread out yet still back off. `unit` is a random value in
    /// `[0, 1)`.
    pub fn delay(&self, retry: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(retry);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        ceiling / 2 + (ceiling / 2).mul_f64(unit)
    }
}

/// Settings of a [`GraphClient`](super::GraphClient).
#[derive(Clone)]
pub struct GraphConfig {
    /// Scheme and host (and optional path prefix) without the version, e.g. the simulator's URL
    /// in tests.
    pub base_url: String,
    /// Graph version segment such as `v24.0`.
    pub version: String,
    /// Calls the client sends per WABA in a rolling hour before it refuses locally.
    pub hourly_budget_per_waba: u32,
    /// Whole-request timeout of one HTTP attempt.
    pub timeout: Duration,
    pub retry: RetryPolicy,
    pub observer: Option<Arc<dyn GraphObserver>>,
}

impl Default for GraphConfig {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            version: DEFAULT_VERSION.to_owned(),
            hourly_budget_per_waba: DEFAULT_HOURLY_BUDGET,
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            observer: None,
        }
    }
}

impl fmt::Debug for GraphConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GraphConfig")
            .field("base_url", &self.base_url)
            .field("version", &self.version)
            .field("hourly_budget_per_waba", &self.hourly_budget_per_waba)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .field("observer", &self.observer.as_ref().map(|_| "<observer>"))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_doubles_and_is_capped() {
        let p = RetryPolicy::default();
        assert_eq!(p.ceiling(0), Duration::from_millis(200));
        assert_eq!(p.ceiling(1), Duration::from_millis(400));
        assert_eq!(p.ceiling(3), Duration::from_millis(1600));
        assert_eq!(p.ceiling(4), Duration::from_secs(2));
        assert_eq!(p.ceiling(200), Duration::from_secs(2));
    }

    #[test]
    fn jittered_delay_stays_within_half_and_full_ceiling() {
        let p = RetryPolicy::default();
        for retry in 0..40 {
            let ceiling = p.ceiling(retry);
            for unit in [0.0, 0.25, 0.5, 0.999_999, 1.0, f64::NAN, -3.0, 7.0] {
                let d = p.delay(retry, unit);
                assert!(d >= ceiling / 2, "{d:?} below half of {ceiling:?}");
                assert!(d <= ceiling, "{d:?} above {ceiling:?}");
                assert!(d <= p.max_delay);
            }
        }
        assert_eq!(p.delay(1, 0.0), Duration::from_millis(200));
        assert_eq!(p.delay(1, 1.0), Duration::from_millis(400));
    }
}
