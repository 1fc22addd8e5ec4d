//! Publication of decided events, exactly once per transition.
//!
//! An event is published before the status that records its transition is applied, under a
//! name derived from the object, the status the transition was decided from, its reason and
//! its place among the events of that reason. A process killed after applying a status would
//! otherwise lose its events (the next decision sees no transition); killed after publishing
//! and before applying, it decides the same transition again from the same status, and finds
//! the events already there (the create answers 409), so nothing is published twice either.
//! The same holds for a status decided on a stale copy: it is decided on what is stored.

use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;
use kube::api::{ObjectMeta, PostParams};
use kube::runtime::events::EventType;
use kube::{Api, Resource, ResourceExt};
use serde::Serialize;
use sha2::{Digest, Sha256};
use tracing::{debug, info, warn};

use super::Context;
use crate::decide::EventSpec;

/// What events are published under: the controller and this process.
#[derive(Clone, Debug)]
pub struct Reporter {
    pub controller: String,
    pub instance: String,
}

/// Publishes `events`, decided on `obj` whose status was `basis` (as stored, before the write
/// that records the transition). A failure to publish is logged: the next decision on the same
/// stored status publishes what is missing, and nothing else retries.
pub async fn publish<K, S>(ctx: &Context, obj: &K, basis: Option<&S>, events: &[EventSpec])
where
    K: Resource<DynamicType = ()>,
    S: Serialize,
{
    if events.is_empty() {
        return;
    }
    let Some(namespace) = obj.namespace() else {
        return;
    };
    let basis = basis
        .and_then(|s| super::apply::serialize(obj, s).ok())
        .map(|v| v.to_string())
        .unwrap_or_default();
    let api: Api<Event> = Api::namespaced(ctx.client.clone(), &namespace);
    let reference = obj.object_ref(&());
    for (ordinal, ev) in ordinals(events) {
        let name = event_name(obj, &basis, ev.reason, ordinal);
        let event = kube_event(&ctx.reporter, &reference, &namespace, name, ev);
        let label = type_label(ev.type_);
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                ctx.metrics.event_published(ev.reason, label);
                info!(reason = ev.reason, note = %ev.note, "event published");
            }
            Err(kube::Error::Api(e)) if e.code == 409 => {
                debug!(
                    reason = ev.reason,
                    "event already published for this transition"
                );
            }
            Err(err) => warn!(reason = ev.reason, error = %err, "cannot publish event"),
        }
    }
}

/// Each event with its place among the events of the same reason.
fn ordinals(events: &[EventSpec]) -> impl Iterator<Item = (usize, &EventSpec)> {
    events.iter().enumerate().map(move |(i, ev)| {
        let before = events[..i].iter().filter(|e| e.reason == ev.reason).count();
        (before, ev)
    })
}

/// `<object>.<16 hex>`: the object's name (shortened to leave room, and ending in a letter or
/// digit as a DNS subdomain must) and a digest of the object's uid, the basis, the reason and
/// the ordinal.
fn event_name<K: Resource<DynamicType = ()>>(
    obj: &K,
    basis: &str,
    reason: &str,
    ordinal: usize,
) -> String {
    let mut digest = Sha256::new();
    for part in [
        K::kind(&()).as_ref(),
        obj.meta().uid.as_deref().unwrap_or_default(),
        basis,
        reason,
        &ordinal.to_string(),
    ] {
        digest.update(part.as_bytes());
        digest.update([0]);
    }
    let hash = hex::encode(&digest.finalize()[..8]);
    format!("{}.{hash}", prefix(&obj.name_any()))
}

/// At most 236 characters of `name`, so that the event's name stays within 253.
fn prefix(name: &str) -> &str {
    let mut end = name.len().min(236);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].trim_end_matches(|c: char| !c.is_ascii_alphanumeric())
}

fn type_label(t: EventType) -> &'static str {
    match t {
        EventType::Normal => "Normal",
        EventType::Warning => "Warning",
    }
}

fn kube_event(
    reporter: &Reporter,
    reference: &k8s_openapi::api::core::v1::ObjectReference,
    namespace: &str,
    name: String,
    ev: &EventSpec,
) -> Event {
    Event {
        metadata: ObjectMeta {
            name: Some(name),
            namespace: Some(namespace.to_string()),
            ..ObjectMeta::default()
        },
        action: Some(ev.reason.to_string()),
        reason: Some(ev.reason.to_string()),
        note: Some(ev.note.clone()),
        type_: Some(type_label(ev.type_).to_string()),
        event_time: Some(MicroTime(jiff::Timestamp::now())),
        regarding: Some(reference.clone()),
        reporting_controller: Some(reporter.controller.clone()),
        reporting_instance: Some(reporter.instance.clone()),
        ..Event::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{WhatsAppChannel, WhatsAppChannelSpec};

    fn channel(name: &str, uid: &str) -> WhatsAppChannel {
        let spec: WhatsAppChannelSpec = serde_json::from_value(serde_json::json!({
            "accountRef": {"name": "acme"},
            "phoneNumber": "+15551234567",
        }))
        .expect("spec");
        let mut ch = WhatsAppChannel::new(name, spec);
        ch.metadata.uid = Some(uid.into());
        ch
    }

    #[test]
    fn the_same_transition_decided_again_gets_the_same_name() {
        let ch = channel("support", "u1");
        let a = event_name(&ch, "{\"phase\":\"Pending\"}", "Registered", 0);
        assert_eq!(
            a,
            event_name(&ch, "{\"phase\":\"Pending\"}", "Registered", 0)
        );
        assert!(a.starts_with("support."), "{a}");
        assert_eq!(a.len(), "support.".len() + 16);
    }

    #[test]
    fn another_basis_reason_place_or_object_gets_another_name() {
        let ch = channel("support", "u1");
        let a = event_name(&ch, "{}", "Registered", 0);
        assert_ne!(a, event_name(&ch, "{\"x\":1}", "Registered", 0));
        assert_ne!(a, event_name(&ch, "{}", "Connected", 0));
        assert_ne!(a, event_name(&ch, "{}", "Registered", 1));
        assert_ne!(
            a,
            event_name(&channel("support", "u2"), "{}", "Registered", 0)
        );
    }

    #[test]
    fn ordinals_count_within_a_reason() {
        let events = [
            EventSpec::normal("A", "1"),
            EventSpec::normal("B", "2"),
            EventSpec::normal("A", "3"),
        ];
        let got: Vec<(usize, &str)> = ordinals(&events).map(|(n, e)| (n, e.reason)).collect();
        assert_eq!(got, vec![(0, "A"), (0, "B"), (1, "A")]);
    }

    #[test]
    fn long_names_are_shortened_to_a_valid_prefix() {
        let long = format!("{}-{}", "a".repeat(235), "b".repeat(10));
        assert_eq!(prefix(&long), "a".repeat(235));
        assert_eq!(prefix("ok"), "ok");
        let name = event_name(&channel(&long, "u"), "", "R", 0);
        assert!(name.len() <= 253, "{}", name.len());
    }
}
