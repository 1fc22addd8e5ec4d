//! Indexes kept from watch events, so that a lookup by relation never scans a store: the
//! channels of an account (with their numbers' digits, parsed once) and the accounts of a WABA.
//! A relisting rebuilds an index from scratch when it completes, so it never keeps an object
//! deleted while the watch was down.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash;
use std::sync::{PoisonError, RwLock};

use kube::Resource;
use kube::runtime::watcher;

use super::claims::{Claimant, NumberClaim};
use crate::crd::{WhatsAppChannel, WhatsAppMessageTemplate};

/// An object by namespace and name.
pub type ObjectKey = (String, String);

/// Objects grouped by a key derived from each object, with a value kept per object.
pub struct Grouped<G, T> {
    state: RwLock<State<G, T>>,
}

struct State<G, T> {
    live: Table<G, T>,
    /// Filled during a relisting, swapped in when it completes.
    relist: Option<Table<G, T>>,
}

struct Table<G, T> {
    groups_of: HashMap<ObjectKey, G>,
    members: HashMap<G, BTreeMap<ObjectKey, T>>,
}

impl<G, T> Default for Table<G, T> {
    fn default() -> Self {
        Self {
            groups_of: HashMap::new(),
            members: HashMap::new(),
        }
    }
}

impl<G, T> Default for Grouped<G, T> {
    fn default() -> Self {
        Self {
            state: RwLock::new(State {
                live: Table::default(),
                relist: None,
            }),
        }
    }
}

impl<G: Clone + Eq + Hash, T: Clone> Table<G, T> {
    fn insert(&mut self, key: ObjectKey, group: G, value: T) {
        self.remove(&key);
        self.groups_of.insert(key.clone(), group.clone());
        self.members.entry(group).or_default().insert(key, value);
    }

    fn remove(&mut self, key: &ObjectKey) {
        let Some(group) = self.groups_of.remove(key) else {
            return;
        };
        if let Some(members) = self.members.get_mut(&group) {
            members.remove(key);
            if members.is_empty() {
                self.members.remove(&group);
            }
        }
    }
}

impl<G: Clone + Eq + Hash, T: Clone> Grouped<G, T> {
    /// Applies one watch event; `of` gives an object's group and value.
    pub fn observe<K: Resource>(&self, event: &watcher::Event<K>, of: impl Fn(&K) -> (G, T)) {
        let mut state = self.state.write().unwrap_or_else(PoisonError::into_inner);
        match event {
            watcher::Event::Init => state.relist = Some(Table::default()),
            watcher::Event::InitApply(obj) => {
                let (group, value) = of(obj);
                let table = state.relist.get_or_insert_with(Table::default);
                table.insert(key_of(obj), group, value);
            }
            watcher::Event::InitDone => {
                if let Some(table) = state.relist.take() {
                    state.live = table;
                }
            }
            watcher::Event::Apply(obj) => {
                let (group, value) = of(obj);
                state.live.insert(key_of(obj), group, value);
            }
            watcher::Event::Delete(obj) => state.live.remove(&key_of(obj)),
        }
    }

    /// The group of the object `key`.
    pub fn group_of(&self, key: &ObjectKey) -> Option<G> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state.live.groups_of.get(key).cloned()
    }

    /// The members of `group`, in name order.
    pub fn members(&self, group: &G) -> Vec<(ObjectKey, T)> {
        let state = self.state.read().unwrap_or_else(PoisonError::into_inner);
        state
            .live
            .members
            .get(group)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
            .unwrap_or_default()
    }
}

fn key_of<K: Resource>(obj: &K) -> ObjectKey {
    let meta = obj.meta();
    (
        meta.namespace.clone().unwrap_or_default(),
        meta.name.clone().unwrap_or_default(),
    )
}

/// Channels by their account (namespace, account name), with their numbers' digits (None when
/// the spec's number does not parse).
pub type ChannelsByAccount = Grouped<ObjectKey, Option<String>>;

/// Accounts by WABA id, with their claims on it.
pub type AccountsByWaba = Grouped<String, Claimant>;

/// Channels by their numbers' digits (None when the spec's number does not parse), with their
/// claims on them.
pub type ChannelsByNumber = Grouped<Option<String>, NumberClaim>;

/// A template's entry under its account: its claim, and the name and language it claims.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TemplateEntry {
    pub claimant: Claimant,
    pub name: String,
    pub language: String,
}

/// Templates by their account (namespace, account name).
pub type TemplatesByAccount = Grouped<ObjectKey, TemplateEntry>;

pub fn template_entry(t: &WhatsAppMessageTemplate) -> (ObjectKey, TemplateEntry) {
    let namespace = t.metadata.namespace.clone().unwrap_or_default();
    let entry = TemplateEntry {
        claimant: Claimant::of(t),
        name: t.spec.name.clone(),
        language: t.spec.language.clone(),
    };
    ((namespace, t.spec.account_ref.name.clone()), entry)
}

pub fn channel_entry(ch: &WhatsAppChannel) -> (ObjectKey, Option<String>) {
    let namespace = ch.metadata.namespace.clone().unwrap_or_default();
    let digits = ch.spec.phone_number.digits();
    ((namespace, ch.spec.account_ref.name.clone()), digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel(name: &str, account: &str, number: &str) -> WhatsAppChannel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": {"name": name, "namespace": "ns"},
            "spec": {"accountRef": {"name": account}, "phoneNumber": number}
        }))
        .unwrap()
    }

    fn names(index: &ChannelsByAccount, account: &str) -> Vec<(String, Option<String>)> {
        index
            .members(&("ns".into(), account.into()))
            .into_iter()
            .map(|((_, n), d)| (n, d))
            .collect()
    }

    #[test]
    fn follows_applies_deletes_and_relistings() {
        let index = ChannelsByAccount::default();
        let a = channel("a", "acme", "+1 555-078-3881");
        let b = channel("b", "acme", "not a number");
        let c = channel("c", "other", "+55 11 98765-4321");
        for ch in [&a, &b, &c] {
            index.observe(&watcher::Event::Apply(ch.clone()), channel_entry);
        }
        assert_eq!(
            names(&index, "acme"),
            vec![("a".into(), Some("15550783881".into())), ("b".into(), None)]
        );
        index.observe(&watcher::Event::Delete(a.clone()), channel_entry);
        assert_eq!(names(&index, "acme"), vec![("b".into(), None)]);

        // A relisting that lacks b (deleted while the watch was down) forgets it when it
        // completes, and not before.
        index.observe(&watcher::Event::<WhatsAppChannel>::Init, channel_entry);
        index.observe(&watcher::Event::InitApply(c.clone()), channel_entry);
        assert_eq!(names(&index, "acme"), vec![("b".into(), None)]);
        index.observe(&watcher::Event::<WhatsAppChannel>::InitDone, channel_entry);
        assert_eq!(names(&index, "acme"), Vec::new());
        assert_eq!(
            names(&index, "other"),
            vec![("c".into(), Some("5511987654321".into()))]
        );
    }
}
