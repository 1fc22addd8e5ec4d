//! Meta's `health_status` in status form, and sentences that explain it.

use crate::crd::{HealthEntityStatus, HealthErrorStatus, HealthSummary};
use crate::meta::model::{CanSendMessage, HealthEntityType, HealthStatus};

/// Meta's health, every entity with its errors and additional information. The number's
/// calling health sits beside the overall messaging health, since a number's read is where
/// Meta gives it (its PHONE_NUMBER entity).
pub(crate) fn summarize(health: &HealthStatus) -> HealthSummary {
    HealthSummary {
        can_send_message: Some(health.can_send_message.as_str().to_string()),
        can_receive_call_sip: health
            .entity(&HealthEntityType::PhoneNumber)
            .and_then(|e| e.can_receive_call_sip.clone()),
        entities: health
            .entities
            .iter()
            .map(|e| HealthEntityStatus {
                entity_type: e.entity_type.as_str().to_string(),
                id: e.id.clone(),
                can_send_message: e.can_send_message.as_str().to_string(),
                can_receive_call_sip: e.can_receive_call_sip.clone(),
                errors: e
                    .errors
                    .iter()
                    .map(|err| HealthErrorStatus {
                        code: err.error_code,
                        description: err.error_description.clone(),
                        possible_solution: err.possible_solution.clone(),
                    })
                    .collect(),
                additional_info: e.additional_info.clone(),
            })
            .collect(),
    }
}

/// Overall `can_send_message` of a stored summary.
pub(crate) fn overall(health: Option<&HealthSummary>) -> Option<CanSendMessage> {
    health
        .and_then(|h| h.can_send_message.as_deref())
        .map(CanSendMessage::parse)
}

/// The stored entity of `entity_type` (PHONE_NUMBER, WABA, BUSINESS, APP).
pub(crate) fn entity<'a>(
    health: Option<&'a HealthSummary>,
    entity_type: &str,
) -> Option<&'a HealthEntityStatus> {
    health?
        .entities
        .iter()
        .find(|e| e.entity_type == entity_type)
}

/// `can_send_message` of the stored entity of `entity_type`.
pub(crate) fn entity_state(
    health: Option<&HealthSummary>,
    entity_type: &str,
) -> Option<CanSendMessage> {
    entity(health, entity_type).map(|e| CanSendMessage::parse(&e.can_send_message))
}

/// "WABA 102290129340398 is BLOCKED: 141006 There is an error with the payment method.
/// Solution: Please add a new payment method."
pub(crate) fn describe_entity(e: &HealthEntityStatus) -> String {
    let mut out = e.entity_type.clone();
    if let Some(id) = &e.id {
        out.push(' ');
        out.push_str(id);
    }
    out.push_str(" is ");
    out.push_str(&e.can_send_message);
    let mut details: Vec<String> = e.errors.iter().map(describe_error).collect();
    details.extend(e.additional_info.iter().cloned());
    details.retain(|d| !d.is_empty());
    if !details.is_empty() {
        out.push_str(": ");
        out.push_str(&details.join("; "));
    }
    out
}

fn describe_error(err: &HealthErrorStatus) -> String {
    let mut parts = Vec::new();
    if let Some(code) = err.code {
        parts.push(code.to_string());
    }
    if let Some(description) = err.description.as_deref().filter(|d| !d.is_empty()) {
        parts.push(description.trim().to_string());
    }
    if let Some(solution) = err.possible_solution.as_deref().filter(|s| !s.is_empty()) {
        parts.push(format!("Solution: {}", solution.trim()));
    }
    parts.join(" ")
}

/// Explains why health is at `level`: every entity at that level, described; Meta's overall
/// value alone when no entity explains it.
pub(crate) fn explain(health: &HealthSummary, level: &CanSendMessage) -> String {
    let lines: Vec<String> = health
        .entities
        .iter()
        .filter(|e| CanSendMessage::parse(&e.can_send_message) == *level)
        .map(describe_entity)
        .collect();
    if lines.is_empty() {
        format!("Meta reports messaging as {level}")
    } else {
        lines.join(". ")
    }
}

/// A change of `can_send_message` worth an event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum HealthChange {
    Blocked,
    Limited,
    Available,
}

/// Entering BLOCKED or LIMITED is reported even on the first observation (it needs attention);
/// AVAILABLE only as a recovery from BLOCKED or LIMITED. Unknown values report nothing.
pub(crate) fn change(
    previous: Option<&CanSendMessage>,
    current: Option<&CanSendMessage>,
) -> Option<HealthChange> {
    match current? {
        CanSendMessage::Blocked if previous != Some(&CanSendMessage::Blocked) => {
            Some(HealthChange::Blocked)
        }
        CanSendMessage::Limited if previous != Some(&CanSendMessage::Limited) => {
            Some(HealthChange::Limited)
        }
        CanSendMessage::Available
            if matches!(
                previous,
                Some(CanSendMessage::Blocked | CanSendMessage::Limited)
            ) =>
        {
            Some(HealthChange::Available)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::model::{HealthEntity, HealthEntityType, HealthError};

    fn blocked_waba() -> HealthStatus {
        HealthStatus {
            can_send_message: CanSendMessage::Blocked,
            entities: vec![
                HealthEntity {
                    entity_type: HealthEntityType::PhoneNumber,
                    id: Some("106540352242922".into()),
                    can_send_message: CanSendMessage::Available,
                    can_receive_call_sip: None,
                    errors: vec![],
                    additional_info: vec![],
                },
                HealthEntity {
                    entity_type: HealthEntityType::Waba,
                    id: Some("102290129340398".into()),
                    can_send_message: CanSendMessage::Blocked,
                    can_receive_call_sip: None,
                    errors: vec![HealthError {
                        error_code: Some(141006),
                        error_description: Some(
                            "There is an error with the payment method.".into(),
                        ),
                        possible_solution: Some("Add a new payment method.".into()),
                    }],
                    additional_info: vec![],
                },
                HealthEntity {
                    entity_type: HealthEntityType::Business,
                    id: Some("506914307656634".into()),
                    can_send_message: CanSendMessage::Limited,
                    can_receive_call_sip: None,
                    errors: vec![],
                    additional_info: vec!["Business is not verified.".into()],
                },
            ],
        }
    }

    #[test]
    fn changes_worth_an_event() {
        use CanSendMessage::*;
        let other = Other("PAUSED".into());
        let cases = [
            (None, Some(Blocked), Some(HealthChange::Blocked)),
            (None, Some(Limited), Some(HealthChange::Limited)),
            (None, Some(Available), None),
            (Some(Available), Some(Blocked), Some(HealthChange::Blocked)),
            (Some(Limited), Some(Blocked), Some(HealthChange::Blocked)),
            (Some(Blocked), Some(Limited), Some(HealthChange::Limited)),
            (
                Some(Blocked),
                Some(Available),
                Some(HealthChange::Available),
            ),
            (
                Some(Limited),
                Some(Available),
                Some(HealthChange::Available),
            ),
            (Some(Blocked), Some(Blocked), None),
            (Some(Available), Some(Available), None),
            (Some(Blocked), None, None),
            (Some(other.clone()), Some(Available), None),
            (Some(Available), Some(other), None),
        ];
        for (prev, cur, expected) in cases {
            assert_eq!(
                change(prev.as_ref(), cur.as_ref()),
                expected,
                "{prev:?} -> {cur:?}"
            );
        }
    }

    #[test]
    fn summary_keeps_every_entity_error_and_info() {
        let summary = summarize(&blocked_waba());
        assert_eq!(summary.can_send_message.as_deref(), Some("BLOCKED"));
        assert_eq!(summary.entities.len(), 3);
        let waba = entity(Some(&summary), "WABA").unwrap();
        assert_eq!(waba.errors[0].code, Some(141006));
        assert_eq!(
            waba.errors[0].possible_solution.as_deref(),
            Some("Add a new payment method.")
        );
        assert_eq!(
            entity_state(Some(&summary), "BUSINESS"),
            Some(CanSendMessage::Limited)
        );
        assert_eq!(entity_state(Some(&summary), "APP"), None);
        assert_eq!(overall(Some(&summary)), Some(CanSendMessage::Blocked));
    }

    /// The number's calling health is kept beside its messaging health, and per entity; a
    /// WABA's health has no number, so no calling health of its own.
    #[test]
    fn calling_health_of_the_number_sits_beside_messaging_health() {
        let mut health = blocked_waba();
        health.entities[0].can_receive_call_sip = Some("LIMITED".into());
        health.entities.push(HealthEntity {
            entity_type: HealthEntityType::App,
            id: Some("3".into()),
            can_send_message: CanSendMessage::Available,
            can_receive_call_sip: Some("AVAILABLE".into()),
            errors: vec![],
            additional_info: vec![],
        });
        let summary = summarize(&health);
        assert_eq!(summary.can_receive_call_sip.as_deref(), Some("LIMITED"));
        assert_eq!(
            entity(Some(&summary), "APP").and_then(|e| e.can_receive_call_sip.as_deref()),
            Some("AVAILABLE")
        );
        assert_eq!(
            entity(Some(&summary), "WABA").unwrap().can_receive_call_sip,
            None
        );
        health.entities.remove(0);
        assert_eq!(summarize(&health).can_receive_call_sip, None);
    }

    #[test]
    fn explanations_name_the_entities_at_that_level() {
        let summary = summarize(&blocked_waba());
        assert_eq!(
            explain(&summary, &CanSendMessage::Blocked),
            "WABA 102290129340398 is BLOCKED: 141006 There is an error with the payment method. \
             Solution: Add a new payment method."
        );
        assert_eq!(
            explain(&summary, &CanSendMessage::Limited),
            "BUSINESS 506914307656634 is LIMITED: Business is not verified."
        );
        let bare = HealthSummary {
            can_send_message: Some("BLOCKED".into()),
            entities: vec![],
            ..HealthSummary::default()
        };
        assert_eq!(
            explain(&bare, &CanSendMessage::Blocked),
            "Meta reports messaging as BLOCKED"
        );
    }
}
