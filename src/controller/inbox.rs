//! A resource's webhook inbox (`status.webhookInbox`): the receiver records each notice there
//! before Meta gets its 200, the reconcile applies the notices and then removes them. Both
//! write with their own field manager and a merge patch, so neither takes the other's fields
//! and the controllers' status applies never touch the inbox.

use std::collections::BTreeMap;

use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::de::DeserializeOwned;
use tracing::warn;

use super::Context;
use crate::meta::Notice;

/// Field manager of the inbox (never the controllers').
const INBOX_MANAGER: &str = "whatsapp-operator-webhook";

/// Records `notices` in the inbox of `namespace/name`. A resource that is gone has nothing to
/// record: that is not a failure.
pub async fn record<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    notices: &[Notice],
) -> Result<(), String>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let entries: serde_json::Map<String, serde_json::Value> = notices
        .iter()
        .map(|n| (n.key(), serde_json::to_value(n).unwrap_or_default()))
        .collect();
    let patch = serde_json::json!({ "status": { "webhookInbox": entries } });
    match merge_status::<K>(ctx, namespace, name, &patch).await {
        Ok(()) => Ok(()),
        Err(kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(err) => Err(format!(
            "recording webhook notices on {} {namespace}/{name}: {err}",
            K::kind(&())
        )),
    }
}

/// The notices to apply: those this process handed over and those in the object's inbox, once
/// each.
pub fn gather(handed: Vec<Notice>, inbox: &BTreeMap<String, Notice>) -> Vec<Notice> {
    let mut all: BTreeMap<String, Notice> = inbox.clone();
    for notice in handed {
        all.entry(notice.key()).or_insert(notice);
    }
    all.into_values().collect()
}

/// Removes applied notices from the object's inbox. A failure only leaves them to be applied
/// again, which changes nothing (they are not newer than what they recorded).
pub async fn clear<K>(ctx: &Context, obj: &K, applied: &[Notice])
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    if applied.is_empty() {
        return;
    }
    let entries: serde_json::Map<String, serde_json::Value> = applied
        .iter()
        .map(|n| (n.key(), serde_json::Value::Null))
        .collect();
    let patch = serde_json::json!({ "status": { "webhookInbox": entries } });
    let namespace = obj.namespace().unwrap_or_default();
    if let Err(err) = merge_status::<K>(ctx, &namespace, &obj.name_any(), &patch).await {
        warn!(error = %err, "cannot remove applied webhook notices from the inbox");
    }
}

async fn merge_status<K>(
    ctx: &Context,
    namespace: &str,
    name: &str,
    patch: &serde_json::Value,
) -> Result<(), kube::Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), namespace);
    let params = PatchParams {
        field_manager: Some(INBOX_MANAGER.into()),
        ..PatchParams::default()
    };
    api.patch_status(name, &params, &Patch::Merge(patch))
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::Fact;

    fn security(event: &str, at: i64) -> Notice {
        Notice::new(
            Fact::Security {
                waba_id: "1".into(),
                digits: "15550783881".into(),
                event: event.into(),
            },
            Some(at),
        )
    }

    #[test]
    fn a_notice_both_handed_over_and_in_the_inbox_is_applied_once() {
        let a = security("PIN_CHANGED", 10);
        let b = security("PIN_RESET_REQUEST", 11);
        let inbox = BTreeMap::from([(a.key(), a.clone())]);
        let all = gather(vec![a.clone(), b.clone()], &inbox);
        assert_eq!(all.len(), 2);
        assert!(all.contains(&a) && all.contains(&b));
        assert_eq!(gather(Vec::new(), &BTreeMap::new()), Vec::<Notice>::new());
    }
}
