//! When to call Meta next: the polling interval, forced syncs, and backoff after failures.

use std::time::Duration;

use jiff::Timestamp;

use super::time::{parse_time, until};
use crate::crd::SyncStatus;

/// Wait after throttling when Meta gives no hint.
pub const DEFAULT_THROTTLE_WAIT: Duration = Duration::from_secs(5 * 60);

/// Backoff after failed syncs: 30 s, 1 min, 2 min ... up to 30 min.
pub const FAILURE_BACKOFF: Backoff = Backoff {
    base: Duration::from_secs(30),
    cap: Duration::from_secs(30 * 60),
};

/// Exponential backoff with deterministic jitter.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// Wait before attempt `failures + 1`: `min(base * 2^(failures-1), cap)`, shortened by up to
    /// 20 % of jitter. The jitter is a hash of `key` and `failures` rather than randomness, so
    /// decide stays a pure function while objects failing together still spread their retries.
    /// Whole seconds, because the next attempt time is stored at second precision.
    pub fn delay(&self, failures: u32, key: &str) -> Duration {
        let base = self.base.as_secs().max(1);
        let cap = self.cap.as_secs().max(base);
        let exponent = failures.saturating_sub(1).min(63);
        let full = base.saturating_mul(1u64 << exponent).min(cap);
        let per_mille = fnv1a(key.as_bytes(), failures) % 1000;
        let jitter = full.saturating_mul(per_mille) / 5000;
        Duration::from_secs((full - jitter).max(1))
    }
}

/// FNV-1a: stable across Rust releases, unlike `DefaultHasher`.
fn fnv1a(bytes: &[u8], salt: u32) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .chain(salt.to_le_bytes().iter())
        .fold(OFFSET, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}

/// Whether to read Meta now (`None`) or how long nothing is due (`Some`; the runtime requeues).
///
/// A pending `nextAttemptTime` (after a failure or throttling) wins over every other trigger,
/// including spec changes and the reconcile annotation, so Meta's rate limits are honoured; once
/// it has passed, the retry is due. Otherwise a sync is due when the spec generation changed,
/// when the reconcile annotation differs from `lastHandledReconcileAt`, when there was never a
/// successful sync, or when `interval` has elapsed since `lastSyncTime`.
pub fn needs_sync(
    status: Option<&SyncStatus>,
    generation: Option<i64>,
    observed_generation: Option<i64>,
    interval: Duration,
    requested_at: Option<&str>,
    now: Timestamp,
) -> Option<Duration> {
    let status = status?;
    if let Some(next) = status.next_attempt_time.as_ref().and_then(parse_time) {
        return if next > now {
            Some(until(now, next))
        } else {
            None
        };
    }
    if generation != observed_generation {
        return None;
    }
    if requested_at.is_some() && requested_at != status.last_handled_reconcile_at.as_deref() {
        return None;
    }
    let last = status.last_sync_time.as_ref().and_then(parse_time)?;
    let wait = interval.saturating_sub(until(last, now));
    // A clock that went backwards must not postpone the sync beyond one interval.
    let wait = wait.min(interval);
    if wait.is_zero() { None } else { Some(wait) }
}

/// How long a pending `nextAttemptTime` (a failure's backoff, or Meta's throttling, which the
/// client's spent hourly budget also sets) still holds; `None` when none is pending any more.
/// Triggers that skip the interval (a webhook naming the account) still wait for it.
pub fn retry_wait(status: Option<&SyncStatus>, now: Timestamp) -> Option<Duration> {
    let next = status?.next_attempt_time.as_ref().and_then(parse_time)?;
    (next > now).then(|| until(now, next))
}

/// Restores the previous `lastSyncTime` when the status would otherwise be unchanged, so a
/// sync that found nothing new writes nothing.
pub fn keep_sync_time_when_unchanged<S: Clone + PartialEq>(
    new: &mut S,
    previous: &S,
    sync: impl Fn(&mut S) -> &mut SyncStatus,
) {
    let mut candidate = new.clone();
    let previous_time = sync(&mut previous.clone()).last_sync_time.clone();
    sync(&mut candidate).last_sync_time = previous_time;
    if candidate == *previous {
        *new = candidate;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::at;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    const MIN10: Duration = Duration::from_secs(600);

    #[test]
    fn backoff_doubles_and_stays_within_jitter_bounds() {
        for failures in 1..=6u32 {
            let full = 30u64 << (failures - 1);
            let delay = FAILURE_BACKOFF.delay(failures, "102290129340398").as_secs();
            assert!(delay <= full, "attempt {failures}: {delay} > {full}");
            assert!(
                delay * 5 >= full * 4,
                "attempt {failures}: {delay} < 80% of {full}"
            );
        }
        let d1 = FAILURE_BACKOFF.delay(1, "acme").as_secs();
        let d4 = FAILURE_BACKOFF.delay(4, "acme").as_secs();
        assert!(d4 > d1 * 4, "{d4} vs {d1}");
    }

    #[test]
    fn backoff_is_capped_even_for_huge_counters() {
        for failures in [7, 8, 20, 64, 65, u32::MAX] {
            let delay = FAILURE_BACKOFF.delay(failures, "acme");
            assert!(delay <= FAILURE_BACKOFF.cap, "{failures}: {delay:?}");
            assert!(
                delay >= FAILURE_BACKOFF.cap * 4 / 5,
                "{failures}: {delay:?}"
            );
        }
    }

    #[test]
    fn jitter_is_deterministic_and_spreads_keys() {
        assert_eq!(
            FAILURE_BACKOFF.delay(5, "waba-1"),
            FAILURE_BACKOFF.delay(5, "waba-1")
        );
        let delays: std::collections::HashSet<_> = (0..20)
            .map(|i| FAILURE_BACKOFF.delay(8, &format!("waba-{i}")))
            .collect();
        assert!(delays.len() > 5, "{delays:?}");
    }

    #[test]
    fn zero_failures_waits_the_base() {
        let b = Backoff {
            base: Duration::from_secs(10),
            cap: Duration::from_secs(100),
        };
        assert!(b.delay(0, "k") <= Duration::from_secs(10));
        assert!(b.delay(0, "k") >= Duration::from_secs(8));
    }

    fn synced_at(time: &str) -> SyncStatus {
        SyncStatus {
            last_sync_time: Some(at(time)),
            ..Default::default()
        }
    }

    /// Name, status, generation, annotation, expected answer.
    type Case<'a> = (
        &'static str,
        Option<&'a SyncStatus>,
        Option<i64>,
        Option<&'static str>,
        Option<Duration>,
    );

    #[test]
    fn needs_sync_cases() {
        let now = t("2026-01-01T12:00:00Z");
        let recent = synced_at("2026-01-01T11:55:00Z");
        let old = synced_at("2026-01-01T11:50:00Z");
        let older = synced_at("2026-01-01T10:00:00Z");
        let handled = SyncStatus {
            last_handled_reconcile_at: Some("token-1".into()),
            ..recent.clone()
        };
        let backing_off = SyncStatus {
            failed_sync_attempts: 2,
            next_attempt_time: Some(at("2026-01-01T12:01:00Z")),
            ..recent.clone()
        };
        let retry_due = SyncStatus {
            failed_sync_attempts: 2,
            next_attempt_time: Some(at("2026-01-01T11:59:59Z")),
            ..recent.clone()
        };
        let empty = SyncStatus::default();
        let future = synced_at("2026-01-01T13:00:00Z");
        let five_min = Some(Duration::from_secs(300));
        let cases: Vec<Case> = vec![
            ("never synced", None, Some(1), None, None),
            ("no sync time", Some(&empty), Some(1), None, None),
            ("within interval", Some(&recent), Some(1), None, five_min),
            ("interval elapsed exactly", Some(&old), Some(1), None, None),
            ("interval long past", Some(&older), Some(1), None, None),
            ("generation changed", Some(&recent), Some(2), None, None),
            (
                "annotation new",
                Some(&recent),
                Some(1),
                Some("token-1"),
                None,
            ),
            (
                "annotation handled",
                Some(&handled),
                Some(1),
                Some("token-1"),
                five_min,
            ),
            (
                "annotation changed",
                Some(&handled),
                Some(1),
                Some("token-2"),
                None,
            ),
            (
                "backoff pending",
                Some(&backing_off),
                Some(1),
                None,
                Some(Duration::from_secs(60)),
            ),
            (
                "backoff beats generation",
                Some(&backing_off),
                Some(2),
                None,
                Some(Duration::from_secs(60)),
            ),
            (
                "backoff beats annotation",
                Some(&backing_off),
                Some(1),
                Some("x"),
                Some(Duration::from_secs(60)),
            ),
            (
                "retry due within interval",
                Some(&retry_due),
                Some(1),
                None,
                None,
            ),
            (
                "sync time in the future",
                Some(&future),
                Some(1),
                None,
                Some(MIN10),
            ),
        ];
        for (name, status, generation, requested, expected) in cases {
            assert_eq!(
                needs_sync(status, generation, Some(1), MIN10, requested, now),
                expected,
                "{name}"
            );
        }
    }

    /// What "an unparseable sync time means: sync now" protected against cannot be stored any
    /// more: a status time that is not RFC 3339 does not deserialize (and the CRD refuses it).
    #[test]
    fn an_unparseable_sync_time_is_refused_before_decide() {
        let raw = serde_json::json!({"lastSyncTime": "not a time"});
        assert!(serde_json::from_value::<SyncStatus>(raw).is_err());
    }

    #[test]
    fn a_pending_retry_holds_until_its_time() {
        let now = t("2026-01-01T12:00:00Z");
        let backing_off = SyncStatus {
            failed_sync_attempts: 1,
            next_attempt_time: Some(at("2026-01-01T12:00:30Z")),
            ..synced_at("2026-01-01T11:59:00Z")
        };
        assert_eq!(
            retry_wait(Some(&backing_off), now),
            Some(Duration::from_secs(30))
        );
        let passed = t("2026-01-01T12:00:30Z");
        assert_eq!(retry_wait(Some(&backing_off), passed), None);
        assert_eq!(
            retry_wait(Some(&synced_at("2026-01-01T11:59:00Z")), now),
            None
        );
        assert_eq!(retry_wait(None, now), None);
    }

    #[test]
    fn only_a_time_change_is_dropped() {
        let prev = SyncStatus {
            last_sync_time: Some(at("2026-01-01T00:00:01Z")),
            ..Default::default()
        };
        let mut new = SyncStatus {
            last_sync_time: Some(at("2026-01-01T00:00:02Z")),
            ..Default::default()
        };
        keep_sync_time_when_unchanged(&mut new, &prev, |s| s);
        assert_eq!(
            new.last_sync_time.as_ref(),
            Some(&at("2026-01-01T00:00:01Z"))
        );

        let mut changed = SyncStatus {
            last_sync_time: Some(at("2026-01-01T00:00:02Z")),
            failed_sync_attempts: 1,
            ..Default::default()
        };
        keep_sync_time_when_unchanged(&mut changed, &prev, |s| s);
        assert_eq!(
            changed.last_sync_time.as_ref(),
            Some(&at("2026-01-01T00:00:02Z"))
        );
    }
}
