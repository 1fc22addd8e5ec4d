use kube::api::{Patch, PatchParams};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Context, Error, FIELD_MANAGER};

/// Applies `status` with server-side apply unless it equals what the object already has, on
/// condition that the object is still at the resourceVersion it was read at: a status decided on
/// a stale copy (the watch cache lagging behind a newer write) would erase what that write
/// recorded and publish its events again. Such a write fails with `Error::Conflict`, and the
/// object is decided again once fresh. Returns whether a write happened.
pub async fn apply_status<K, S>(
    ctx: &Context,
    obj: &K,
    previous: Option<&S>,
    status: &S,
) -> Result<bool, Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    let new = serialize(obj, status)?;
    if let Some(prev) = previous
        && serialize(obj, prev)? == new
    {
        return Ok(false);
    }
    patch_status(ctx, obj, new, obj.meta().resource_version.as_deref()).await?;
    Ok(true)
}

/// Applies the intent of a registration step, on the same condition as `apply_status` but
/// always (an intent changes the status): of two processes that planned the same step on the
/// same object, one wins and calls Meta; the other gets `Error::Conflict` and plans again from
/// what the winner wrote.
pub async fn apply_intent<K, S>(ctx: &Context, obj: &K, status: &S) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    let new = serialize(obj, status)?;
    patch_status(ctx, obj, new, obj.meta().resource_version.as_deref()).await
}

/// Applies what Meta answered to a step whose intent this reconcile wrote: unconditionally,
/// because the object changed with that intent, and the answer must not be lost to a
/// concurrent metadata edit.
pub async fn apply_outcome<K, S>(ctx: &Context, obj: &K, status: &S) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    S: Serialize,
{
    patch_status(ctx, obj, serialize(obj, status)?, None).await
}

/// The status as the controllers apply it: without the webhook inbox, which belongs to the
/// receiver's field manager (applying a copy of it would take it over, or bring back notices
/// already removed).
pub(super) fn serialize<K, S>(obj: &K, status: &S) -> Result<serde_json::Value, Error>
where
    K: Resource<DynamicType = ()>,
    S: Serialize,
{
    let mut value = serde_json::to_value(status).map_err(|source| Error::SerializeStatus {
        kind: K::kind(&()).to_string(),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
        source,
    })?;
    if let Some(fields) = value.as_object_mut() {
        fields.remove("webhookInbox");
    }
    Ok(value)
}

/// Server-side-applies `status` (already JSON), with `resource_version` as a precondition when
/// given; a failed precondition is `Error::Conflict`.
async fn patch_status<K>(
    ctx: &Context,
    obj: &K,
    status: serde_json::Value,
    resource_version: Option<&str>,
) -> Result<(), Error>
where
    K: Resource<DynamicType = (), Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
{
    let kind = K::kind(&()).to_string();
    let namespace = obj
        .namespace()
        .ok_or_else(|| Error::NotNamespaced { kind: kind.clone() })?;
    let name = obj.name_any();
    let mut patch = serde_json::json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": status,
    });
    if let Some(rv) = resource_version {
        patch["metadata"] = serde_json::json!({ "resourceVersion": rv });
    }
    let api: Api<K> = Api::namespaced(ctx.client.clone(), &namespace);
    let result = api
        .patch_status(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&patch),
        )
        .await;
    match result {
        Ok(written) => {
            ctx.own_writes.record(&written);
            Ok(())
        }
        Err(kube::Error::Api(e)) if e.code == 409 => Err(Error::Conflict {
            kind,
            namespace,
            name,
        }),
        Err(source) => Err(Error::ApplyStatus {
            kind,
            namespace,
            name,
            source: Box::new(source),
        }),
    }
}
