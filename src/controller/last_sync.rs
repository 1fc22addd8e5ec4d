use super::memory::Memory;
use crate::crd::SyncStatus;

/// When each account last synced successfully is kept in memory because a sync that changed
/// nothing is not written to status (zero writes at steady state). Status keeps the time of the
/// last sync that changed something; after a restart the first sync rebuilds this.
pub fn record(memory: &Memory, uid: &str, time: Option<String>) {
    memory.with(uid, |e| e.last_sync = time);
}

/// `status` with `lastSyncTime` replaced by the remembered one when that is newer.
pub fn effective(memory: &Memory, uid: &str, status: &SyncStatus) -> SyncStatus {
    let mut s = status.clone();
    if let Some(Some(t)) = memory.read(uid, |e| e.last_sync.clone())
        && s.last_sync_time
            .as_deref()
            .is_none_or(|old| t.as_str() > old)
    {
        // RFC 3339 in UTC with whole seconds compares correctly as text.
        s.last_sync_time = Some(t);
    }
    s
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
        let l = Memory::default();
        let status = SyncStatus {
            last_sync_time: Some("2026-01-01T00:10:00Z".into()),
            ..Default::default()
        };
        assert_eq!(effective(&l, "a", &status), status);
        record(&l, "a", Some("2026-01-01T00:20:00Z".into()));
        assert_eq!(
            effective(&l, "a", &status).last_sync_time.as_deref(),
            Some("2026-01-01T00:20:00Z")
        );
        record(&l, "a", Some("2026-01-01T00:05:00Z".into()));
        assert_eq!(effective(&l, "a", &status), status);
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
