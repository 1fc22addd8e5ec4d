//! The paused annotation's events, from the previous Synced condition versus the new one: one
//! `Paused` when a resource becomes paused, one `Resumed` when it no longer is.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::conditions::condition_reason as cr;
use super::events::{EventSpec, reason};
use crate::crd::{PAUSED_ANNOTATION, condition, find_condition};

fn paused(conditions: &[Condition]) -> bool {
    find_condition(conditions, condition::SYNCED).is_some_and(|c| c.reason == cr::PAUSED)
}

/// The Synced message of a paused resource: `what` it is and `holds`, what stays as it was.
pub fn paused_message(what: &str, holds: &str) -> String {
    format!(
        "paused by the annotation {PAUSED_ANNOTATION}: the operator makes no call to Meta for \
         {what}{holds}; remove the annotation to resume"
    )
}

/// The event of a pause or a resume of `kind`, if its status just changed between them.
pub fn pause_event(previous: &[Condition], current: &[Condition], kind: &str) -> Option<EventSpec> {
    match (paused(previous), paused(current)) {
        (false, true) => Some(EventSpec::normal(
            reason::PAUSED,
            format!(
                "{kind} paused by the annotation {PAUSED_ANNOTATION}: no call to Meta until it \
                 is removed"
            ),
        )),
        (true, false) => Some(EventSpec::normal(
            reason::RESUMED,
            format!("{kind} resumed: the annotation {PAUSED_ANNOTATION} is gone"),
        )),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::conditions::{ConditionStatus, set_condition};
    use crate::decide::fixtures::ts;

    fn synced(reason_: &str) -> Vec<Condition> {
        let mut c = Vec::new();
        let status = if reason_ == cr::PAUSED {
            ConditionStatus::False
        } else {
            ConditionStatus::True
        };
        set_condition(
            &mut c,
            condition::SYNCED,
            status,
            reason_,
            "m",
            Some(1),
            ts("2026-12-01T00:00:00Z"),
        );
        c
    }

    #[test]
    fn one_event_when_paused_and_one_when_resumed() {
        let ok = synced(cr::SYNC_SUCCEEDED);
        let held = synced(cr::PAUSED);
        let reason_of = |e: Option<EventSpec>| e.map(|e| e.reason);
        assert_eq!(
            reason_of(pause_event(&ok, &held, "channel")),
            Some(reason::PAUSED)
        );
        assert_eq!(reason_of(pause_event(&held, &held, "channel")), None);
        assert_eq!(
            reason_of(pause_event(&held, &ok, "channel")),
            Some(reason::RESUMED)
        );
        assert_eq!(reason_of(pause_event(&ok, &ok, "channel")), None);
        assert_eq!(
            reason_of(pause_event(&[], &held, "channel")),
            Some(reason::PAUSED)
        );
    }
}
