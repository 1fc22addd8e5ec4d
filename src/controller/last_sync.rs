use std::collections::HashMap;
use std::sync::Mutex;

use crate::crd::SyncStatus;

/// When each account last synced successfully, kept in memory because a sync that changed
/// nothing is not written to status (zero writes at steady state). Status keeps the time of the
/// last sync that changed something; after a restart the first sync rebuilds this.
#[derive(Default)]
pub struct LastSyncs(Mutex<HashMap<String, String>>);

impl LastSyncs {
    pub fn record(&self, uid: &str, time: Option<String>) {
        let mut map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match time {
            Some(t) => map.insert(uid.to_string(), t),
            None => map.remove(uid),
        };
    }

    /// Keeps only the accounts whose UID satisfies `keep`.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|uid, _| keep(uid));
    }

    /// `status` with `lastSyncTime` replaced by the remembered one when that is newer.
    pub fn effective(&self, uid: &str, status: &SyncStatus) -> SyncStatus {
        let map = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let mut s = status.clone();
        if let Some(t) = map.get(uid)
            && s.last_sync_time
                .as_deref()
                .is_none_or(|old| t.as_str() > old)
        {
            // RFC 3339 in UTC with whole seconds compares correctly as text.
            s.last_sync_time = Some(t.clone());
        }
        s
    }
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

    #[test]
    fn remembered_time_wins_only_when_newer() {
        let l = LastSyncs::default();
        let status = SyncStatus {
            last_sync_time: Some("2026-01-01T00:10:00Z".into()),
            ..Default::default()
        };
        assert_eq!(l.effective("a", &status), status);
        l.record("a", Some("2026-01-01T00:20:00Z".into()));
        assert_eq!(
            l.effective("a", &status).last_sync_time.as_deref(),
            Some("2026-01-01T00:20:00Z")
        );
        l.record("a", Some("2026-01-01T00:05:00Z".into()));
        assert_eq!(l.effective("a", &status), status);
    }

    #[test]
    fn only_a_time_change_is_dropped() {
        let prev = SyncStatus {
            last_sync_time: Some("t1".into()),
            ..Default::default()
        };
        let mut new = SyncStatus {
            last_sync_time: Some("t2".into()),
            ..Default::default()
        };
        keep_sync_time_when_unchanged(&mut new, &prev, |s| s);
        assert_eq!(new.last_sync_time.as_deref(), Some("t1"));

        let mut changed = SyncStatus {
            last_sync_time: Some("t2".into()),
            failed_sync_attempts: 1,
            ..Default::default()
        };
        keep_sync_time_when_unchanged(&mut changed, &prev, |s| s);
        assert_eq!(changed.last_sync_time.as_deref(), Some("t2"));
    }
}
