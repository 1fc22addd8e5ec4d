use std::collections::HashMap;
use std::sync::{Arc, RwLock};

use crate::graph::model::WabaSnapshot;

/// The latest successful read of each account's WABA, keyed by (namespace, account name).
/// Channels take their observation from here and never call Graph for reads.
#[derive(Default)]
pub struct Snapshots {
    inner: RwLock<HashMap<(String, String), Arc<WabaSnapshot>>>,
}

impl Snapshots {
    pub fn get(&self, namespace: &str, account: &str) -> Option<Arc<WabaSnapshot>> {
        self.inner
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&(namespace.to_string(), account.to_string()))
            .cloned()
    }

    pub fn put(&self, namespace: &str, account: &str, snapshot: WabaSnapshot) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(
                (namespace.to_string(), account.to_string()),
                Arc::new(snapshot),
            );
    }

    pub fn remove(&self, namespace: &str, account: &str) {
        self.inner
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&(namespace.to_string(), account.to_string()));
    }
}
