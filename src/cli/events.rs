//! The last Events of one object, newest last, read as core/v1 Events (which also shows those
//! the operator publishes through events.k8s.io/v1).

use jiff::Timestamp;
use k8s_openapi::api::core::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::ListParams;
use kube::{Api, Client};
use serde::Serialize;

use super::error::CliError;

/// One event as the plugin shows it.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EventEntry {
    /// When it last happened.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<Time>,
    /// Normal or Warning.
    #[serde(rename = "type")]
    pub type_: String,
    pub reason: String,
    pub message: String,
    /// How many times it happened (a series counts its repeats).
    pub count: i32,
}

/// When an event last happened: the series' last occurrence, then the deprecated last
/// timestamp, the event time, the first timestamp, and its creation as the last resort.
fn last_seen(e: &Event) -> Option<Timestamp> {
    let series = e
        .series
        .as_ref()
        .and_then(|s| s.last_observed_time.as_ref());
    series
        .map(|t| t.0)
        .or(e.last_timestamp.as_ref().map(|t| t.0))
        .or(e.event_time.as_ref().map(|t| t.0))
        .or(e.first_timestamp.as_ref().map(|t| t.0))
        .or(e.metadata.creation_timestamp.as_ref().map(|t| t.0))
}

/// The `last` newest events, oldest of them first.
pub fn newest_last(events: Vec<Event>, last: usize) -> Vec<EventEntry> {
    let mut entries: Vec<EventEntry> = events
        .into_iter()
        .map(|e| EventEntry {
            time: last_seen(&e).map(Time),
            count: e
                .series
                .as_ref()
                .and_then(|s| s.count)
                .or(e.count)
                .unwrap_or(1),
            type_: e.type_.unwrap_or_default(),
            reason: e.reason.unwrap_or_default(),
            message: e.message.unwrap_or_default(),
        })
        .collect();
    // Stable: events of the same second keep the apiserver's order.
    entries.sort_by_key(|e| e.time.as_ref().map(|t| t.0));
    let skip = entries.len().saturating_sub(last);
    entries.split_off(skip)
}

/// The object's events, by kind, name and UID, as `kubectl describe` selects them (a
/// re-created object with the same name does not inherit the old one's events).
pub async fn fetch(
    client: &Client,
    namespace: &str,
    kind: &str,
    name: &str,
    uid: Option<&str>,
) -> Result<Vec<Event>, CliError> {
    let mut selector = format!("involvedObject.kind={kind},involvedObject.name={name}");
    if let Some(uid) = uid {
        selector.push_str(&format!(",involvedObject.uid={uid}"));
    }
    let api: Api<Event> = Api::namespaced(client.clone(), namespace);
    let list = api
        .list(&ListParams::default().fields(&selector))
        .await
        .map_err(CliError::api(format!(
            "listing the events of {kind} {namespace}/{name}"
        )))?;
    Ok(list.items)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::EventSeries;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn event(reason: &str, time: &str) -> Event {
        Event {
            reason: Some(reason.into()),
            type_: Some("Normal".into()),
            message: Some(format!("{reason} happened")),
            event_time: Some(MicroTime(time.parse().unwrap())),
            ..Default::default()
        }
    }

    #[test]
    fn keeps_the_newest_and_puts_them_last() {
        let mut repeated = event("Flagged", "2026-12-01T09:00:00Z");
        repeated.series = Some(EventSeries {
            count: Some(4),
            last_observed_time: Some(MicroTime("2026-12-01T12:00:00Z".parse().unwrap())),
        });
        let events = vec![
            event("Registered", "2026-12-01T11:00:00Z"),
            repeated,
            event("NumberAdded", "2026-12-01T10:00:00Z"),
            event("Old", "2026-11-01T10:00:00Z"),
        ];
        let got = newest_last(events, 3);
        let reasons: Vec<&str> = got.iter().map(|e| e.reason.as_str()).collect();
        assert_eq!(reasons, ["NumberAdded", "Registered", "Flagged"]);
        assert_eq!(got[2].count, 4, "a series counts its repeats");
        assert_eq!(got[0].count, 1);
        assert_eq!(
            serde_json::to_value(&got[0]).unwrap()["time"],
            "2026-12-01T10:00:00Z"
        );
    }

    #[test]
    fn a_core_event_without_event_time_uses_its_last_timestamp() {
        let e = Event {
            reason: Some("Created".into()),
            count: Some(2),
            first_timestamp: Some(Time("2026-12-01T08:00:00Z".parse().unwrap())),
            last_timestamp: Some(Time("2026-12-01T09:00:00Z".parse().unwrap())),
            ..Default::default()
        };
        let got = newest_last(vec![e], 10);
        assert_eq!(
            got[0].time,
            Some(Time("2026-12-01T09:00:00Z".parse().unwrap()))
        );
        assert_eq!(got[0].count, 2);
    }
}
