//! What a scrape reads of a watch scope: its stores, and the last successful read of each
//! account that only this process's memory holds (see `last_sync`).

use std::sync::{Arc, Weak};

use kube::ResourceExt;

use super::Context;
use crate::metrics::{AccountView, ScopeSnapshot, WatchScope};

/// A scope as the metrics see it. Weak, so the metrics (which the context holds) never keep a
/// stopped scope alive, and a stopped scope reports nothing.
pub struct ScopeView(Weak<Context>);

impl ScopeView {
    pub fn of(ctx: &Arc<Context>) -> Arc<Self> {
        Arc::new(Self(Arc::downgrade(ctx)))
    }
}

impl WatchScope for ScopeView {
    fn snapshot(&self) -> Option<ScopeSnapshot> {
        let ctx = self.0.upgrade()?;
        let accounts = ctx
            .stores
            .accounts
            .state()
            .into_iter()
            .map(|account| {
                let last_sync = account.uid().and_then(|uid| {
                    ctx.model
                        .memory
                        .read(&uid, |e| e.last_sync.clone())
                        .flatten()
                });
                AccountView { account, last_sync }
            })
            .collect();
        Some(ScopeSnapshot {
            accounts,
            channels: ctx.stores.channels.state(),
            templates: ctx.stores.templates.state(),
        })
    }
}
