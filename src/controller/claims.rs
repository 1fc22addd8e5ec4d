//! Who owns a WABA id and a number, across every watch scope of the process.
//!
//! The oldest `WhatsAppBusinessAccount` naming a WABA id owns it, and among the channels of that
//! account the oldest naming a number owns the number (creation time, then UID). Every other
//! claim makes no call to Meta. Ownership is computed from the indexes the watches keep, at the
//! moment of asking, so an owner going away hands over on the next claimant's reconcile with no
//! state to clean up. A hostile later claim can never take a number away: it is younger.

use std::sync::{Arc, PoisonError, RwLock};

use jiff::Timestamp;
use kube::Resource;

use super::index::{AccountsByWaba, ChannelsByNumber, ObjectKey};
use super::stores::Readiness;
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel};

/// One object that claims something, ordered oldest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claimant {
    pub key: ObjectKey,
    pub uid: String,
    /// `None` (never from a real apiserver) sorts after every time.
    pub created: Option<Timestamp>,
}

impl Claimant {
    pub fn of<K: Resource>(obj: &K) -> Self {
        let meta = obj.meta();
        Self {
            key: (
                meta.namespace.clone().unwrap_or_default(),
                meta.name.clone().unwrap_or_default(),
            ),
            uid: meta.uid.clone().unwrap_or_default(),
            created: meta.creation_timestamp.as_ref().map(|t| t.0),
        }
    }

    pub(super) fn order(&self) -> (bool, Option<Timestamp>, &str) {
        (self.created.is_none(), self.created, &self.uid)
    }

    /// `namespace/name`, as people read it.
    pub fn display(&self) -> String {
        format!("{}/{}", self.key.0, self.key.1)
    }
}

/// A channel's claim on a number: the channel and the account it names.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NumberClaim {
    pub channel: Claimant,
    pub account: ObjectKey,
}

/// The indexes of one watch scope and whether both of its stores hold their first listing.
pub struct ScopeClaims {
    pub accounts: Arc<AccountsByWaba>,
    pub channels: Arc<ChannelsByNumber>,
    pub accounts_ready: Readiness,
    pub channels_ready: Readiness,
}

/// Every scope's claims; scopes register before any reconcile runs.
#[derive(Default)]
pub struct Claims {
    scopes: RwLock<Vec<Arc<ScopeClaims>>>,
}

fn oldest<'a>(claimants: impl Iterator<Item = &'a Claimant>) -> Option<&'a Claimant> {
    claimants.min_by(|a, b| a.order().cmp(&b.order()))
}

impl Claims {
    pub fn register(&self, scope: ScopeClaims) {
        self.scopes
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Arc::new(scope));
    }

    fn scopes(&self) -> Vec<Arc<ScopeClaims>> {
        self.scopes
            .read()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// Waits until every scope's stores are filled: before that a claim could look uncontested
    /// only because its elder is not listed yet. False on shutdown.
    pub async fn ready(&self) -> bool {
        for scope in self.scopes() {
            if !(scope.accounts_ready.wait().await && scope.channels_ready.wait().await) {
                return false;
            }
        }
        true
    }

    /// Every account naming `waba_id`, in every scope.
    pub fn accounts_of_waba(&self, waba_id: &str) -> Vec<Claimant> {
        let waba = waba_id.to_string();
        self.scopes()
            .iter()
            .flat_map(|s| s.accounts.members(&waba))
            .map(|(_, c)| c)
            .collect()
    }

    /// The account that owns `waba_id`.
    pub fn waba_owner(&self, waba_id: &str) -> Option<Claimant> {
        oldest(self.accounts_of_waba(waba_id).iter()).cloned()
    }

    /// The owner of the account's WABA id when it is another account.
    pub fn waba_claimed_elsewhere(&self, acc: &WhatsAppBusinessAccount) -> Option<Claimant> {
        let me = Claimant::of(acc);
        self.waba_owner(&acc.spec.business_account_id)
            .filter(|owner| owner.uid != me.uid)
    }

    fn waba_of(&self, account: &ObjectKey) -> Option<String> {
        self.scopes()
            .iter()
            .find_map(|s| s.accounts.group_of(account))
    }

    /// Every channel naming these digits in the WABA `waba_id` (whichever account it names).
    fn claims_in_waba(&self, waba_id: &str, digits: &str) -> Vec<NumberClaim> {
        let digits = Some(digits.to_string());
        self.scopes()
            .iter()
            .flat_map(|s| s.channels.members(&digits))
            .map(|(_, claim)| claim)
            .filter(|claim| self.waba_of(&claim.account).as_deref() == Some(waba_id))
            .collect()
    }

    /// The channel that owns the channel's number when it is another channel. Only claims made
    /// through the account that owns the WABA count, so a channel behind a stalled account can
    /// never hold a number away from its rightful owner.
    pub fn number_claimed_elsewhere(&self, ch: &WhatsAppChannel) -> Option<Claimant> {
        let me = Claimant::of(ch);
        let digits = ch.spec.phone_number.digits()?;
        let account = (me.key.0.clone(), ch.spec.account_ref.name.clone());
        let waba = self.waba_of(&account)?;
        let owner_account = self.waba_owner(&waba)?.key;
        if owner_account != account {
            // The account's own stall (WabaClaimedElsewhere) says why nothing happens.
            return None;
        }
        let claims = self.claims_in_waba(&waba, &digits);
        let contenders = claims
            .iter()
            .filter(|c| c.account == owner_account)
            .map(|c| &c.channel);
        oldest(contenders)
            .filter(|owner| owner.uid != me.uid)
            .cloned()
    }

    /// Other channels that name the same number in the same WABA, whether or not they own it:
    /// while one exists, deleting this channel must not deregister the number.
    pub fn other_claims(&self, ch: &WhatsAppChannel) -> Vec<Claimant> {
        let me = Claimant::of(ch);
        let Some(digits) = ch.spec.phone_number.digits() else {
            return Vec::new();
        };
        let account = (me.key.0.clone(), ch.spec.account_ref.name.clone());
        let Some(waba) = self.waba_of(&account) else {
            return Vec::new();
        };
        self.claims_in_waba(&waba, &digits)
            .into_iter()
            .map(|c| c.channel)
            .filter(|c| c.uid != me.uid)
            .collect()
    }
}

/// The index entry of a channel's claim: its number's digits (None: not a number).
pub fn number_claim_entry(ch: &WhatsAppChannel) -> (Option<String>, NumberClaim) {
    let channel = Claimant::of(ch);
    let account = (channel.key.0.clone(), ch.spec.account_ref.name.clone());
    (
        ch.spec.phone_number.digits(),
        NumberClaim { channel, account },
    )
}

/// The index entry of an account's claim on its WABA id.
pub fn waba_claim_entry(acc: &WhatsAppBusinessAccount) -> (String, Claimant) {
    (acc.spec.business_account_id.clone(), Claimant::of(acc))
}

#[cfg(test)]
mod tests {
    use kube::runtime::watcher::Event;

    use super::*;
    use crate::controller::stores::Readiness;

    fn meta(namespace: &str, name: &str, created: &str) -> serde_json::Value {
        serde_json::json!({
            "name": name, "namespace": namespace, "uid": format!("{namespace}-{name}"),
            "creationTimestamp": created
        })
    }

    fn account(namespace: &str, name: &str, waba: &str, created: &str) -> WhatsAppBusinessAccount {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppBusinessAccount",
            "metadata": meta(namespace, name, created),
            "spec": {"businessAccountId": waba, "credentialsSecretRef": {"name": "t", "key": "t"}}
        }))
        .unwrap()
    }

    fn channel(
        namespace: &str,
        name: &str,
        account: &str,
        number: &str,
        created: &str,
    ) -> WhatsAppChannel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": meta(namespace, name, created),
            "spec": {"accountRef": {"name": account}, "phoneNumber": number}
        }))
        .unwrap()
    }

    /// Claims over two scopes, with the given objects in the scope of their namespace.
    fn claims(accounts: &[&WhatsAppBusinessAccount], channels: &[&WhatsAppChannel]) -> Claims {
        let claims = Claims::default();
        for ns in ["a", "b"] {
            let by_waba = Arc::new(AccountsByWaba::default());
            let by_number = Arc::new(ChannelsByNumber::default());
            for acc in accounts
                .iter()
                .filter(|a| a.metadata.namespace.as_deref() == Some(ns))
            {
                by_waba.observe(&Event::Apply((*acc).clone()), waba_claim_entry);
            }
            for ch in channels
                .iter()
                .filter(|c| c.metadata.namespace.as_deref() == Some(ns))
            {
                by_number.observe(&Event::Apply((*ch).clone()), number_claim_entry);
            }
            claims.register(ScopeClaims {
                accounts: by_waba,
                channels: by_number,
                accounts_ready: Readiness::ready(),
                channels_ready: Readiness::ready(),
            });
        }
        claims
    }

    const T1: &str = "2026-01-01T00:00:00Z";
    const T2: &str = "2026-01-02T00:00:00Z";

    #[test]
    fn the_oldest_account_owns_a_waba_id_across_scopes() {
        let owner = account("b", "acme", "1", T1);
        let later = account("a", "acme", "1", T2);
        let elsewhere = account("a", "other", "2", T2);
        let c = claims(&[&owner, &later, &elsewhere], &[]);
        assert_eq!(c.waba_claimed_elsewhere(&owner), None);
        assert_eq!(
            c.waba_claimed_elsewhere(&later).map(|o| o.display()),
            Some("b/acme".to_string())
        );
        assert_eq!(c.waba_claimed_elsewhere(&elsewhere), None);
    }

    #[test]
    fn the_same_creation_time_is_decided_by_uid() {
        let x = account("a", "x", "1", T1);
        let y = account("a", "y", "1", T1);
        let c = claims(&[&x, &y], &[]);
        // UIDs "a-x" < "a-y".
        assert_eq!(c.waba_claimed_elsewhere(&x), None);
        assert!(c.waba_claimed_elsewhere(&y).is_some());
    }

    #[test]
    fn the_oldest_channel_of_the_owning_account_owns_a_number() {
        let acme = account("a", "acme", "1", T1);
        let squatter = account("b", "acme", "1", T2);
        let first = channel("a", "first", "acme", "+1 555 078 3881", T2);
        let second = channel(
            "a",
            "second",
            "acme",
            "+15550783881",
            T2.replace("02T", "03T").as_str(),
        );
        // Older than both, but behind an account that does not own the WABA.
        let grab = channel("b", "grab", "acme", "+1 555 078 3881", T1);
        let other_number = channel("a", "other", "acme", "+1 555 078 3882", T2);
        let c = claims(
            &[&acme, &squatter],
            &[&first, &second, &grab, &other_number],
        );
        assert_eq!(c.number_claimed_elsewhere(&first), None);
        assert_eq!(
            c.number_claimed_elsewhere(&second).map(|o| o.display()),
            Some("a/first".to_string())
        );
        // Its account's stall speaks for it; it can never take the number either way.
        assert_eq!(c.number_claimed_elsewhere(&grab), None);
        assert_eq!(c.number_claimed_elsewhere(&other_number), None);
        // Every other claim in the WABA keeps the number from being deregistered.
        let others: Vec<_> = c
            .other_claims(&first)
            .iter()
            .map(Claimant::display)
            .collect();
        assert_eq!(others, vec!["a/second".to_string(), "b/grab".to_string()]);
        assert_eq!(c.other_claims(&other_number), Vec::new());
    }
}
