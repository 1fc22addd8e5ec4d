use kube::api::{Patch, PatchParams};
use kube::runtime::events::{Event, EventType};
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{info, warn};

use super::{Context, Error, FIELD_MANAGER};
use crate::decide::EventSpec;

/// Applies `status` with server-side apply unless it equals what the object already has.
/// Returns whether a write happened.
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
    let kind = K::kind(&()).to_string();
    let namespace = obj
        .namespace()
        .ok_or_else(|| Error::NotNamespaced { kind: kind.clone() })?;
    let name = obj.name_any();
    let serialize = |s: &S| {
        serde_json::to_value(s).map_err(|source| Error::SerializeStatus {
            kind: kind.clone(),
            namespace: namespace.clone(),
            name: name.clone(),
            source,
        })
    };
    let new = serialize(status)?;
    if let Some(prev) = previous
        && serialize(prev)? == new
    {
        return Ok(false);
    }
    patch_status(ctx, obj, new, None).await?;
    Ok(true)
}

/// Applies `status` only if the object is still at the resourceVersion `ch` was read at: the
/// intent of a registration step. Of two processes that planned the same step on the same
/// object, one wins and calls Meta; the other gets `Error::StepConflict` and re-plans from what
/// the winner wrote.
pub async fn apply_intent(
    ctx: &Context,
    ch: &crate::crd::WhatsAppChannel,
    status: &crate::crd::WhatsAppChannelStatus,
) -> Result<(), Error> {
    let new = serde_json::to_value(status).map_err(|source| Error::SerializeStatus {
        kind: "WhatsAppChannel".into(),
        namespace: ch.namespace().unwrap_or_default(),
        name: ch.name_any(),
        source,
    })?;
    match patch_status(ctx, ch, new, ch.metadata.resource_version.as_deref()).await {
        Err(Error::ApplyStatus { source, .. }) if matches!(source.as_ref(), kube::Error::Api(e) if e.code == 409) => {
            Err(Error::StepConflict {
                namespace: ch.namespace().unwrap_or_default(),
                name: ch.name_any(),
            })
        }
        other => other,
    }
}

/// Server-side-applies `status` (already JSON), with `resource_version` as a precondition when
/// given.
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
    api.patch_status(
        &name,
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&patch),
    )
    .await
    .map_err(|source| Error::ApplyStatus {
        kind,
        namespace,
        name,
        source: Box::new(source),
    })?;
    Ok(())
}

/// Publishes decided events. A failure to publish is logged, not retried: the status that
/// carries the transition is already written, so a retry would duplicate nothing but lose order.
pub async fn publish_events<K>(ctx: &Context, obj: &K, events: &[EventSpec])
where
    K: Resource<DynamicType = ()>,
{
    let reference = obj.object_ref(&());
    for ev in events {
        let label = match ev.type_ {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        };
        let event = Event {
            type_: ev.type_,
            reason: ev.reason.to_string(),
            note: Some(truncate(&ev.note, 1000)),
            action: ev.reason.to_string(),
            secondary: None,
        };
        match ctx.recorder.publish(&event, &reference).await {
            Ok(()) => {
                ctx.metrics.event_published(ev.reason, label);
                info!(reason = ev.reason, note = %ev.note, "event published");
            }
            Err(err) => warn!(reason = ev.reason, error = %err, "cannot publish event"),
        }
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s[..end].to_string()
}
