//! The controllers' own status writes, so that their watch events do not reconcile again.
//!
//! A status the operator has just applied was decided from everything that reconcile saw;
//! deciding it again when the watch brings it back changes nothing, and at cold start such
//! echoes were about a third of all reconciles. Whatever else changes an object (its spec, an
//! annotation, the receiver's inbox, another process) comes with another resourceVersion and
//! is reconciled as before; the store applies every event, echo or not.

use std::collections::HashMap;
use std::sync::Mutex;

use kube::Resource;

/// Writes remembered per object until their echo arrives; older ones are dropped beyond this
/// (an echo the watch never delivers, after a relist, must not pile up).
const PER_OBJECT: usize = 4;

/// Resource versions of the operator's own status writes, by object UID, oldest first.
#[derive(Default)]
pub struct OwnWrites {
    written: Mutex<HashMap<String, Vec<String>>>,
}

impl OwnWrites {
    /// Notes that the operator's write left `obj` at its (new) resourceVersion.
    pub fn record<K: Resource>(&self, obj: &K) {
        let meta = obj.meta();
        let (Some(uid), Some(rv)) = (meta.uid.clone(), meta.resource_version.clone()) else {
            return;
        };
        let Ok(mut written) = self.written.lock() else {
            return;
        };
        let versions = written.entry(uid).or_default();
        versions.push(rv);
        if versions.len() > PER_OBJECT {
            versions.remove(0);
        }
    }

    /// Whether a watch event of `obj` is the echo of an own write; writes older than it are
    /// forgotten (their echoes, if ever delivered, come before it).
    pub fn is_echo<K: Resource>(&self, obj: &K) -> bool {
        let meta = obj.meta();
        let (Some(uid), Some(rv)) = (meta.uid.as_deref(), meta.resource_version.as_deref()) else {
            return false;
        };
        let Ok(mut written) = self.written.lock() else {
            return false;
        };
        let Some(versions) = written.get_mut(uid) else {
            return false;
        };
        let Some(at) = versions.iter().position(|v| v == rv) else {
            return false;
        };
        versions.drain(..=at);
        if versions.is_empty() {
            written.remove(uid);
        }
        true
    }

    /// Forgets an object the watch reported deleted.
    pub fn forget(&self, uid: &str) {
        if let Ok(mut written) = self.written.lock() {
            written.remove(uid);
        }
    }

    /// Objects with a write whose echo has not arrived.
    #[cfg(test)]
    fn len(&self) -> usize {
        self.written.lock().map(|w| w.len()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use k8s_openapi::api::core::v1::ConfigMap;
    use kube::api::ObjectMeta;

    use super::*;

    fn at(uid: &str, rv: &str) -> ConfigMap {
        ConfigMap {
            metadata: ObjectMeta {
                uid: Some(uid.into()),
                resource_version: Some(rv.into()),
                ..ObjectMeta::default()
            },
            ..ConfigMap::default()
        }
    }

    #[test]
    fn only_the_own_write_is_an_echo_and_only_once() {
        let own = OwnWrites::default();
        own.record(&at("a", "10"));
        assert!(
            !own.is_echo(&at("a", "9")),
            "an older version is someone's change"
        );
        assert!(!own.is_echo(&at("b", "10")), "another object");
        assert!(own.is_echo(&at("a", "10")));
        assert!(
            !own.is_echo(&at("a", "10")),
            "delivered again after a relist: reconciled"
        );
        assert_eq!(own.len(), 0);
    }

    #[test]
    fn an_intent_and_its_outcome_are_both_echoes_and_a_later_echo_forgets_earlier_ones() {
        let own = OwnWrites::default();
        own.record(&at("a", "10"));
        own.record(&at("a", "11"));
        own.record(&at("a", "12"));
        assert!(own.is_echo(&at("a", "11")), "the echo of 10 was never seen");
        assert!(!own.is_echo(&at("a", "10")));
        assert!(own.is_echo(&at("a", "12")));
        assert_eq!(own.len(), 0);
    }

    #[test]
    fn unseen_echoes_are_bounded_and_forgotten_with_the_object() {
        let own = OwnWrites::default();
        for rv in 0..10 {
            own.record(&at("a", &rv.to_string()));
        }
        assert!(!own.is_echo(&at("a", "5")), "dropped beyond the bound");
        own.forget("a");
        assert!(!own.is_echo(&at("a", "9")));
        assert_eq!(own.len(), 0);
    }
}
