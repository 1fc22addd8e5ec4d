//! The polling interval, from `spec.syncInterval` (read by `crd::Interval`).

use std::time::Duration;

use crate::crd::WhatsAppBusinessAccountSpec;

/// Used when `spec.syncInterval` is unusable; admission validation normally prevents that.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(600);

/// Meta allows about 200 requests per hour per WABA before a number is registered.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_secs(60);

/// The account's polling interval: `spec.syncInterval`, never below [`MIN_SYNC_INTERVAL`], and
/// [`DEFAULT_SYNC_INTERVAL`] when it does not parse (admission normally rejects that).
pub fn sync_interval(spec: &WhatsAppBusinessAccountSpec) -> Duration {
    spec.sync_interval
        .duration()
        .unwrap_or(DEFAULT_SYNC_INTERVAL)
        .max(MIN_SYNC_INTERVAL)
}
