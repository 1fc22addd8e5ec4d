//! Webhooks the simulator sends on its own (review decisions, template lifecycle): a queue filled
//! under the state lock, the targets Meta would post to, and the log of every delivery so tests
//! can count them (`GET /_sim/webhooks/sent`).

use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{Value, json};

use super::state::State;
use super::webhook;

/// Oldest log entries are dropped past this many; `total` stays exact.
const LOG_CAP: usize = 10_000;

/// One change Meta announces on a WABA: one `changes[]` element of one envelope.
#[derive(Clone, Debug, PartialEq)]
pub struct Event {
    pub waba_id: String,
    pub field: String,
    pub value: Value,
    pub at: i64,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Queued or being delivered (retries included).
    Pending,
    /// The receiver answered 2xx.
    Delivered,
    /// Every attempt failed (non-2xx answer or no connection).
    Failed,
    /// Meta would not deliver it: no app subscribed, no callback URL, or a non-loopback URL.
    NotSent,
}

/// One delivery of one event to one subscribed app.
#[derive(Clone, Debug, Serialize)]
pub struct Sent {
    pub seq: u64,
    /// Sim-clock time of the event (the envelope's `entry[].time`).
    pub at: i64,
    pub waba_id: String,
    pub field: String,
    pub value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    pub attempts: u32,
    /// The receiver's last HTTP status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// A signed-to-be request for the sender: built under the lock, sent outside it.
pub struct Prepared {
    pub seq: u64,
    pub url: url::Url,
    pub secret: Vec<u8>,
    pub body: Vec<u8>,
}

#[derive(Debug, Default)]
pub struct Outbox {
    queue: Vec<Event>,
    next_seq: u64,
    total: u64,
    log: VecDeque<Sent>,
}

impl Outbox {
    pub fn push(&mut self, waba_id: &str, field: &str, value: Value, at: i64) {
        self.queue.push(Event {
            waba_id: waba_id.to_owned(),
            field: field.to_owned(),
            value,
            at,
        });
    }

    pub fn has_queued(&self) -> bool {
        !self.queue.is_empty()
    }

    /// Drains the queue into deliveries, one per app subscribed to the event's WABA, at the
    /// app's callback URL (its subscription's override only for fields that honour overrides).
    pub fn take(&mut self, state: &State) -> Vec<Prepared> {
        let events = std::mem::take(&mut self.queue);
        let mut out = Vec::new();
        for event in events {
            let payload =
                webhook::envelope(&event.waba_id, &event.field, event.value.clone(), event.at);
            let body = payload.to_string().into_bytes();
            let subscriptions = state
                .waba(&event.waba_id)
                .map(|w| w.subscribed_apps.as_slice())
                .unwrap_or_default();
            if subscriptions.is_empty() {
                self.log(
                    &event,
                    None,
                    None,
                    Err("no app is subscribed to the WABA".into()),
                );
                continue;
            }
            for sub in subscriptions {
                let Some(app) = state.app(&sub.app_id) else {
                    self.log(&event, Some(&sub.app_id), None, Err("unknown app".into()));
                    continue;
                };
                let override_url = sub
                    .override_callback_uri
                    .clone()
                    .filter(|_| webhook::honours_override(&event.field));
                let Some(raw) = override_url.or_else(|| app.webhook_url.clone()) else {
                    self.log(
                        &event,
                        Some(&app.id),
                        None,
                        Err("the app has no webhook_url".into()),
                    );
                    continue;
                };
                match webhook::check_loopback(&raw) {
                    Ok(url) => {
                        let seq = self.log(&event, Some(&app.id), Some(&raw), Ok(()));
                        out.push(Prepared {
                            seq,
                            url,
                            secret: app.secret.expose().as_bytes().to_vec(),
                            body: body.clone(),
                        });
                    }
                    Err(e) => {
                        self.log(&event, Some(&app.id), Some(&raw), Err(e.to_string()));
                    }
                }
            }
        }
        out
    }

    fn log(
        &mut self,
        event: &Event,
        app_id: Option<&str>,
        url: Option<&str>,
        sendable: Result<(), String>,
    ) -> u64 {
        self.next_seq += 1;
        self.total += 1;
        if self.log.len() >= LOG_CAP {
            self.log.pop_front();
        }
        let (outcome, error) = match sendable {
            Ok(()) => (Outcome::Pending, None),
            Err(e) => (Outcome::NotSent, Some(e)),
        };
        self.log.push_back(Sent {
            seq: self.next_seq,
            at: event.at,
            waba_id: event.waba_id.clone(),
            field: event.field.clone(),
            value: event.value.clone(),
            app_id: app_id.map(str::to_owned),
            url: url.map(str::to_owned),
            attempts: 0,
            status: None,
            outcome,
            error,
        });
        self.next_seq
    }

    /// Records how a delivery ended: the receiver's last status, or the transport error.
    pub fn finish(&mut self, seq: u64, attempts: u32, result: Result<u16, String>) {
        let Some(entry) = self.log.iter_mut().rev().find(|e| e.seq == seq) else {
            return;
        };
        entry.attempts = attempts;
        match result {
            Ok(status) => {
                entry.status = Some(status);
                entry.outcome = if (200..300).contains(&status) {
                    Outcome::Delivered
                } else {
                    Outcome::Failed
                };
            }
            Err(e) => {
                entry.outcome = Outcome::Failed;
                entry.error = Some(e);
            }
        }
    }

    pub fn report(&self) -> Value {
        let delivered = self
            .log
            .iter()
            .filter(|e| e.outcome == Outcome::Delivered)
            .count();
        json!({ "total": self.total, "delivered": delivered, "log": self.log })
    }

    /// Forgets the log and whatever is still queued (a new world).
    pub fn clear(&mut self) {
        self.queue.clear();
        self.log.clear();
        self.total = 0;
    }

    /// Forgets the log only.
    pub fn reset_log(&mut self) {
        self.log.clear();
        self.total = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(subscribed: bool, url: &str) -> State {
        let subs = if subscribed {
            json!([{"app_id": "1", "override_callback_uri": "http://127.0.0.1:9/override"}])
        } else {
            json!([])
        };
        State::from_json(
            &json!({
                "apps": [{"id": "1", "secret": "s", "webhook_url": url}],
                "businesses": [{"id": "2"}],
                "wabas": [{"id": "3", "owner_business_id": "2", "subscribed_apps": subs}],
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn only_subscribed_apps_get_it_and_template_fields_ignore_overrides() {
        let mut out = Outbox::default();
        out.push(
            "3",
            "message_template_status_update",
            json!({"event": "APPROVED"}),
            10,
        );
        let prepared = out.take(&state(true, "http://127.0.0.1:9/app"));
        assert_eq!(prepared.len(), 1);
        assert_eq!(prepared[0].url.as_str(), "http://127.0.0.1:9/app");
        let body: Value = serde_json::from_slice(&prepared[0].body).unwrap();
        assert_eq!(body["entry"][0]["time"], json!(10));
        assert_eq!(
            body["entry"][0]["changes"][0]["value"]["event"],
            json!("APPROVED")
        );
        out.push("3", "messages", json!({}), 11);
        let prepared = out.take(&state(true, "http://127.0.0.1:9/app"));
        assert_eq!(prepared[0].url.as_str(), "http://127.0.0.1:9/override");

        out.push("3", "message_template_status_update", json!({}), 12);
        assert!(out.take(&state(false, "http://127.0.0.1:9/app")).is_empty());
        out.push("3", "message_template_status_update", json!({}), 13);
        assert!(out.take(&state(true, "https://example.com/x")).is_empty());
        let report = out.report();
        assert_eq!(report["total"], json!(4));
        assert_eq!(report["log"][2]["outcome"], json!("not_sent"));
        assert_eq!(report["log"][3]["outcome"], json!("not_sent"));
    }

    #[test]
    fn finish_records_the_outcome() {
        let mut out = Outbox::default();
        out.push("3", "message_template_status_update", json!({}), 10);
        out.push("3", "message_template_status_update", json!({}), 10);
        let p = out.take(&state(true, "http://127.0.0.1:9/app"));
        out.finish(p[0].seq, 1, Ok(200));
        out.finish(p[1].seq, 4, Err("connection refused".into()));
        let report = out.report();
        assert_eq!(report["delivered"], json!(1));
        assert_eq!(report["log"][0]["outcome"], json!("delivered"));
        assert_eq!(report["log"][1]["outcome"], json!("failed"));
        assert_eq!(report["log"][1]["attempts"], json!(4));
    }
}
