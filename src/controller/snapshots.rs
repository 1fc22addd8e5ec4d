use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use jiff::Timestamp;

use crate::crd::{WhatsAppBusinessAccount, WhatsAppBusinessAccountStatus};
use crate::meta::model::WabaSnapshot;

/// The latest successful read of each account's WABA, keyed by (namespace, account name).
/// Channels take their observation from here and never call Graph for reads.
#[derive(Default)]
pub struct Snapshots {
    inner: RwLock<HashMap<Key, (Arc<WabaSnapshot>, Timestamp)>>,
}

/// (namespace, account name).
type Key = (String, String);

impl Snapshots {
    pub fn get(&self, namespace: &str, account: &str) -> Option<Arc<WabaSnapshot>> {
        self.get_with_read_at(namespace, account).map(|(s, _)| s)
    }

    /// The snapshot with the time its read started, taken together: a snapshot and the time of
    /// a newer one would make a stale view look fresh.
    pub fn get_with_read_at(
        &self,
        namespace: &str,
        account: &str,
    ) -> Option<(Arc<WabaSnapshot>, Timestamp)> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(namespace.to_string(), account.to_string()))
            .map(|(s, at)| (s.clone(), *at))
    }

    /// Stores a snapshot whose read started now.
    pub fn put(&self, namespace: &str, account: &str, snapshot: WabaSnapshot) {
        self.put_read_at(namespace, account, snapshot, Timestamp::now());
    }

    /// Stores a snapshot whose read started at `read_at`.
    pub fn put_read_at(
        &self,
        namespace: &str,
        account: &str,
        snapshot: WabaSnapshot,
        read_at: Timestamp,
    ) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (namespace.to_string(), account.to_string()),
                (Arc::new(snapshot), read_at),
            );
    }

    /// Keeps only the accounts for which `keep(namespace, name)` holds.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(ns, name), _| keep(ns, name));
    }
}

/// The status this process last decided for each account, keyed like `Snapshots`. Channels are
/// triggered right after an account sync, before the watch delivers the account's new status to
/// the store; judging them against the store's older status would leave them stale until their
/// next requeue.
#[derive(Default)]
pub struct AccountStatuses {
    inner: RwLock<HashMap<(String, String), WhatsAppBusinessAccountStatus>>,
}

impl AccountStatuses {
    pub fn put(&self, namespace: &str, account: &str, status: WhatsAppBusinessAccountStatus) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert((namespace.to_string(), account.to_string()), status);
    }

    /// Keeps only the accounts for which `keep(namespace, name)` holds.
    pub fn retain(&self, keep: impl Fn(&str, &str) -> bool) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .retain(|(ns, name), _| keep(ns, name));
    }

    /// `account` from the store with this process's latest status for it, when there is one
    /// (the store's `registrationHistory` kept).
    pub fn freshest(
        &self,
        namespace: &str,
        account: Arc<WhatsAppBusinessAccount>,
    ) -> Arc<WhatsAppBusinessAccount> {
        let name = account.metadata.name.clone().unwrap_or_default();
        let latest = self
            .inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(namespace.to_string(), name))
            .cloned();
        // The number histories are the channel controller's: the store always has the latest.
        let latest = latest.map(|mut status| {
            status.registration_history = account
                .status
                .as_ref()
                .map(|s| s.registration_history.clone())
                .unwrap_or_default();
            status
        });
        match latest {
            Some(status) if account.status.as_ref() != Some(&status) => {
                let mut fresh = (*account).clone();
                fresh.status = Some(status);
                Arc::new(fresh)
            }
            _ => account,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retain_forgets_only_the_accounts_that_are_gone() {
        let statuses = AccountStatuses::default();
        for (ns, name) in [("a", "kept"), ("a", "gone"), ("b", "kept")] {
            statuses.put(ns, name, WhatsAppBusinessAccountStatus::default());
        }
        statuses.retain(|ns, name| name == "kept" && ns != "b");
        let left: Vec<_> = statuses.inner.read().unwrap().keys().cloned().collect();
        assert_eq!(left, [("a".to_string(), "kept".to_string())]);
    }
}
