use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::memory::Memory;
use crate::crd::SyncStatus;

/// When each account last synced successfully is kept in memory because a sync that changed
/// nothing is not written to status (zero writes at steady state). Status keeps the time of the
/// last sync that changed something; after a restart the first sync rebuilds this.
pub fn record(memory: &Memory, uid: &str, time: Option<Time>) {
    memory.with(uid, |e| e.last_sync = time);
}

/// `status` with `lastSyncTime` replaced by the remembered one when that is newer.
pub fn effective(memory: &Memory, uid: &str, status: &SyncStatus) -> SyncStatus {
    let mut s = status.clone();
    if let Some(Some(t)) = memory.read(uid, |e| e.last_sync.clone())
        && s.last_sync_time.as_ref().is_none_or(|old| t > *old)
    {
        s.last_sync_time = Some(t);
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remembered_time_wins_only_when_newer() {
        let l = Memory::default();
        let at = |s: &str| Time(s.parse().unwrap());
        let status = SyncStatus {
            last_sync_time: Some(at("2026-01-01T00:10:00Z")),
            ..Default::default()
        };
        assert_eq!(effective(&l, "a", &status), status);
        record(&l, "a", Some(at("2026-01-01T00:20:00Z")));
        assert_eq!(
            effective(&l, "a", &status).last_sync_time,
            Some(at("2026-01-01T00:20:00Z"))
        );
        record(&l, "a", Some(at("2026-01-01T00:05:00Z")));
        assert_eq!(effective(&l, "a", &status), status);
    }
}
