//! Forgets what this process keeps in memory for accounts and channels that were deleted, so
//! a long-running operator does not grow with every resource it ever saw. Accounts have no
//! finalizer: the watch's delete event is the sign (or, for deletions while the watch was down,
//! their absence from the next complete listing).

use std::collections::HashSet;

use kube::ResourceExt;
use kube::runtime::reflector::ObjectRef;

use super::Context;
use super::stores;
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};

/// Which resources still exist, as far as forgetting is concerned.
pub trait Liveness {
    fn has_account(&self, namespace: &str, name: &str) -> bool;
    fn has_channel(&self, namespace: &str, name: &str) -> bool;
    fn has_template(&self, namespace: &str, name: &str) -> bool;
    fn has_uid(&self, uid: &str) -> bool;
}

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
        let accounts = ctx
            .stores
            .accounts
            .state()
            .into_iter()
            .filter_map(|a| a.uid());
        let channels = ctx
            .stores
            .channels
            .state()
            .into_iter()
            .filter_map(|c| c.uid());
        let templates = ctx
            .stores
            .templates
            .state()
            .into_iter()
            .filter_map(|t| t.uid());
        Self {
            ctx,
            uids: accounts.chain(channels).chain(templates).collect(),
        }
    }
}

impl Liveness for Live<'_> {
    /// Resources of other scopes are not this scope's to forget: a relisting of one scope
    /// must not judge the other's.
    fn has_account(&self, namespace: &str, name: &str) -> bool {
        outside(self.ctx, namespace) || account_uid(self.ctx, namespace, name).is_some()
    }

    fn has_channel(&self, namespace: &str, name: &str) -> bool {
        outside(self.ctx, namespace) || channel_uid(self.ctx, namespace, name).is_some()
    }

    fn has_template(&self, namespace: &str, name: &str) -> bool {
        outside(self.ctx, namespace) || template_uid(self.ctx, namespace, name).is_some()
    }

    /// Whether an account or a channel with this UID existed when the pass began.
    fn has_uid(&self, uid: &str) -> bool {
        self.uids.contains(uid)
    }
}

/// Everything lives but one deleted resource (unless a new one already took its name).
pub struct Deleted<'a> {
    ctx: &'a Context,
    gone: stores::Deleted,
}

impl<'a> Deleted<'a> {
    pub fn new(ctx: &'a Context, gone: stores::Deleted) -> Self {
        Self { ctx, gone }
    }

    fn is_gone(&self, kind: &str, namespace: &str, name: &str, now: Option<String>) -> bool {
        self.gone.kind == kind
            && self.gone.namespace == namespace
            && self.gone.name == name
            && now.is_none_or(|uid| uid == self.gone.uid)
    }
}

impl Liveness for Deleted<'_> {
    fn has_account(&self, namespace: &str, name: &str) -> bool {
        let kind = <WhatsAppBusinessAccount as kube::Resource>::kind(&());
        !self.is_gone(
            &kind,
            namespace,
            name,
            account_uid(self.ctx, namespace, name),
        )
    }

    fn has_channel(&self, namespace: &str, name: &str) -> bool {
        let kind = <WhatsAppChannel as kube::Resource>::kind(&());
        !self.is_gone(
            &kind,
            namespace,
            name,
            channel_uid(self.ctx, namespace, name),
        )
    }

    fn has_template(&self, namespace: &str, name: &str) -> bool {
        let kind = <WhatsAppMessageTemplate as kube::Resource>::kind(&());
        !self.is_gone(
            &kind,
            namespace,
            name,
            template_uid(self.ctx, namespace, name),
        )
    }

    fn has_uid(&self, uid: &str) -> bool {
        uid != self.gone.uid
    }
}

fn outside(ctx: &Context, namespace: &str) -> bool {
    outside_scope(ctx.stores.namespace.as_deref(), namespace)
}

/// Whether `namespace` is outside the watch scope `scope` (`None`: every namespace).
fn outside_scope(scope: Option<&str>, namespace: &str) -> bool {
    scope.is_some_and(|s| s != namespace)
}

fn account_uid(ctx: &Context, namespace: &str, name: &str) -> Option<String> {
    let r = ObjectRef::<WhatsAppBusinessAccount>::new(name).within(namespace);
    ctx.stores
        .accounts
        .get(&r)
        .map(|a| a.uid().unwrap_or_default())
}

fn channel_uid(ctx: &Context, namespace: &str, name: &str) -> Option<String> {
    let r = ObjectRef::<WhatsAppChannel>::new(name).within(namespace);
    ctx.stores
        .channels
        .get(&r)
        .map(|c| c.uid().unwrap_or_default())
}

fn template_uid(ctx: &Context, namespace: &str, name: &str) -> Option<String> {
    let r = ObjectRef::<WhatsAppMessageTemplate>::new(name).within(namespace);
    ctx.stores
        .templates
        .get(&r)
        .map(|t| t.uid().unwrap_or_default())
}

impl Context {
    /// Drops every in-memory entry of resources missing from `live` (metric series need
    /// nothing: they are read from the stores at each scrape).
    pub(super) fn forget_deleted(&self, live: &impl Liveness) {
        self.model
            .snapshots
            .retain(|ns, name| live.has_account(ns, name));
        self.model
            .account_statuses
            .retain(|ns, name| live.has_account(ns, name));
        self.model.webhooks.retain(live);
        self.model.memory.retain(|uid| live.has_uid(uid));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_scope_only_judges_its_own_namespace() {
        assert!(outside_scope(Some("a"), "b"));
        assert!(!outside_scope(Some("a"), "a"));
        assert!(!outside_scope(None, "b"));
    }
}
