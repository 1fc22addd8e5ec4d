//! What this process remembers between reconciles, per resource UID, in one map: every entry
//! is an optimisation or a wait that status cannot hold without a write (a sync that changed
//! nothing, a Secret version Meta refused, when the profile was compared).
//! Losing it all (a restart, another replica) costs at most a repeated read, never a write to
//! Meta. It is forgotten with the resource (see `forget`).

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Instant;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

/// One resource's memory; accounts use the account fields, channels the channel ones.
#[derive(Debug, Default)]
pub struct Entry {
    /// Consecutive reconcile errors (Kubernetes API failures), for `error_policy`'s backoff.
    pub errors: u32,
    /// The account reads Meta on its next reconcile regardless of its interval.
    pub forced_sync: bool,
    /// The last successful sync, newer than status when nothing changed since.
    pub last_sync: Option<Time>,
    /// The Secret resourceVersion Meta rejected: no Graph call until it changes.
    pub rejected_credentials: Option<String>,
    /// The channel's generation and when its business profile was last compared with Meta.
    pub profile_check: Option<(Option<i64>, Instant)>,
    /// The account's last Graph read (webhook-forced syncs right after one reuse it).
    pub last_read: Option<Instant>,
    /// When the account's webhook subscription was last checked at Meta.
    pub subscription_check: Option<Instant>,
    /// When the apiserver last refused to create the channel's empty verification-code Secret.
    pub code_secret_refused: Option<Instant>,
}

#[derive(Debug, Default)]
pub struct Memory(Mutex<HashMap<String, Entry>>);

impl Memory {
    /// Runs `f` on the entry of `uid`, creating it.
    pub fn with<R>(&self, uid: &str, f: impl FnOnce(&mut Entry) -> R) -> R {
        let mut map = self.lock();
        match map.get_mut(uid) {
            Some(entry) => f(entry),
            None => f(map.entry(uid.to_string()).or_default()),
        }
    }

    /// Runs `f` on the entry of `uid` when there is one.
    pub fn update<R>(&self, uid: &str, f: impl FnOnce(&mut Entry) -> R) -> Option<R> {
        self.lock().get_mut(uid).map(f)
    }

    /// Reads the entry of `uid` without creating it.
    pub fn read<R>(&self, uid: &str, f: impl FnOnce(&Entry) -> R) -> Option<R> {
        self.lock().get(uid).map(f)
    }

    /// Keeps only the entries whose UID satisfies `keep`.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|uid, _| keep(uid));
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Entry>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_are_created_on_write_only_and_forgotten_by_retain() {
        let memory = Memory::default();
        assert_eq!(memory.read("a", |e| e.errors), None);
        assert_eq!(memory.update("a", |e| e.errors += 1), None);
        assert_eq!(memory.read("a", |e| e.errors), None);
        memory.with("a", |e| e.errors += 1);
        memory.with("a", |e| e.errors += 1);
        memory.with("b", |e| e.forced_sync = true);
        assert_eq!(memory.read("a", |e| e.errors), Some(2));
        memory.retain(|uid| uid != "a");
        assert_eq!(memory.read("a", |e| e.errors), None);
        assert_eq!(memory.read("b", |e| e.forced_sync), Some(true));
    }
}
