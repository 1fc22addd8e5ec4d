//! Forgets what this process keeps in memory for accounts and channels that were deleted.
//! Accounts have no finalizer, so the only sign of their deletion is their absence from the
//! store; a long-running operator must not grow with every resource it ever saw.

use std::collections::HashSet;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::Context;
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel};

/// The resources of one watch scope that exist now. Names are looked up in the stores at the
/// moment of asking: the runtime puts an object in its store before reconciling it, so no entry
/// of a resource created during a pass can be judged orphaned. UIDs come from one listing per
/// pass; an entry of a resource newer than that listing may be dropped, which costs at most one
/// repeated Graph read.
pub struct Live<'a> {
    ctx: &'a Context,
    uids: HashSet<String>,
}

impl<'a> Live<'a> {
    pub fn of(ctx: &'a Context) -> Self {
        let accounts = ctx.accounts.state().into_iter().filter_map(|a| a.uid());
        let channels = ctx.channels.state().into_iter().filter_map(|c| c.uid());
        Self {
            ctx,
            uids: accounts.chain(channels).collect(),
        }
    }

    pub fn has_account(&self, namespace: &str, name: &str) -> bool {
        let r = ObjectRef::<WhatsAppBusinessAccount>::new(name).within(namespace);
        self.ctx.accounts.get(&r).is_some()
    }

    pub fn has_channel(&self, namespace: &str, name: &str) -> bool {
        let r = ObjectRef::<WhatsAppChannel>::new(name).within(namespace);
        self.ctx.channels.get(&r).is_some()
    }

    /// Whether an account or a channel with this UID existed when the pass began.
    pub fn has_uid(&self, uid: &str) -> bool {
        self.uids.contains(uid)
    }
}

impl Context {
    /// Drops every in-memory entry and metric series of resources missing from `live`.
    pub(super) fn forget_deleted(&self, live: &Live<'_>) {
        self.metrics.prune(
            |ns, name| live.has_account(ns, name),
            |ns, name| live.has_channel(ns, name),
        );
        self.snapshots.retain(|ns, name| live.has_account(ns, name));
        self.account_statuses
            .retain(|ns, name| live.has_account(ns, name));
        self.webhooks.retain(live);
        self.last_syncs.retain(|uid| live.has_uid(uid));
        self.token_infos.retain(|uid| live.has_uid(uid));
        lock(&self.forced_syncs).retain(|uid| live.has_uid(uid));
        lock(&self.rejected_credentials).retain(|uid, _| live.has_uid(uid));
        lock(&self.profile_checks).retain(|uid, _| live.has_uid(uid));
        lock(&self.error_counts).retain(|uid, _| live.has_uid(uid));
    }
}

fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
