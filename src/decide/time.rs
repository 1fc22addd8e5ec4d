//! Timestamps as status stores them: Kubernetes `Time` (RFC 3339 in UTC, whole seconds).
//!
//! Sub-second precision is dropped on purpose: `metav1.Time` is written at seconds, so a status
//! computed with nanoseconds would never compare equal to what was read back.

use std::time::Duration;

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// `now` cut to whole seconds.
pub(crate) fn truncate(ts: Timestamp) -> Timestamp {
    // A whole-second value of an existing timestamp is always in range.
    Timestamp::from_second(ts.as_second()).unwrap_or(ts)
}

/// `ts` as status keeps it.
pub fn status_time(ts: Timestamp) -> Time {
    Time(truncate(ts))
}

/// "2026-11-23T16:41:03Z", for messages.
pub fn format_time(ts: Timestamp) -> String {
    truncate(ts).to_string()
}

/// The instant of a status time.
pub fn parse_time(t: &Time) -> Option<Timestamp> {
    Some(t.0)
}

/// Time from `now` until `later`, zero when `later` is not in the future.
pub(crate) fn until(now: Timestamp, later: Timestamp) -> Duration {
    Duration::try_from(now.duration_until(later)).unwrap_or(Duration::ZERO)
}

/// `ts + d`, saturating at the end of jiff's range rather than failing.
pub(crate) fn add(ts: Timestamp, d: Duration) -> Timestamp {
    ts.saturating_add(d).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_whole_seconds_in_utc() {
        let ts: Timestamp = "2026-11-23T16:41:03.987654321Z".parse().unwrap();
        assert_eq!(format_time(ts), "2026-11-23T16:41:03Z");
        let kept = status_time(ts);
        assert_eq!(parse_time(&kept), Some(truncate(ts)));
        assert_eq!(serde_json::to_value(kept).unwrap(), "2026-11-23T16:41:03Z");
    }

    #[test]
    fn until_is_never_negative() {
        let a: Timestamp = "2026-11-23T16:00:00Z".parse().unwrap();
        let b: Timestamp = "2026-11-23T16:00:30Z".parse().unwrap();
        assert_eq!(until(a, b), Duration::from_secs(30));
        assert_eq!(until(b, a), Duration::ZERO);
        assert_eq!(add(a, Duration::from_secs(30)), b);
    }
}
