//! The display-name change of a registered number: a spec change away from the name the number
//! carries requests the new name at Meta; Meta reviews it while the old name keeps working;
//! after approval the number is registered again, within the registration budget, so the new
//! name takes effect; a rejection stalls with Meta's reason until the spec changes.

use super::{Planner, Step, rr};
use crate::crd::{DisplayNameChange, WhatsAppChannelSpec, WhatsAppChannelStatus, condition};
use crate::decide::conditions::ConditionStatus;
use crate::decide::events::{EventSpec, reason};
use crate::decide::time::{add, format_time, parse_time, status_time, until};
use crate::meta::model::NameStatus;

/// Where Meta's review of the requested name stands.
enum Review {
    Pending,
    Approved,
    Rejected(String),
}

impl Planner<'_, '_> {
    /// First sight of a registered number: the name it carries is the spec's, whatever Meta
    /// shows; only a later change of the spec asks Meta for another. Noted before any other
    /// step, so a rename right after the PIN is set is a change, not the first sight.
    pub(super) fn adopt_display_name(&mut self) {
        adopt(self.status, self.input.spec);
    }

    pub(super) fn keep_display_name(&mut self) {
        let Some(wanted) = self.input.spec.display_name.clone() else {
            return;
        };
        let change = self.status.display_name.clone().unwrap_or_default();
        let Some(current) = change.current.clone() else {
            return;
        };
        if current == wanted {
            return;
        }
        if change.requested.as_deref() != Some(wanted.as_str()) {
            return self.write(Step::RequestName { name: wanted });
        }
        match self.review(&change, &wanted) {
            Review::Pending => self.name_reviewed(
                ConditionStatus::Unknown,
                rr::NEW_NAME_IN_REVIEW,
                &format!("Meta is reviewing the display name \"{wanted}\"; \"{current}\" stays in use meanwhile"),
            ),
            Review::Rejected(why) => self.name_rejected(&wanted, &why),
            Review::Approved => self.apply_approved_name(&wanted),
        }
    }

    /// Meta's decision: Graph's `new_name_status` (overlaid with a webhook's rejection), a
    /// webhook's approval, or Graph already showing the new name.
    fn review(&self, change: &DisplayNameChange, wanted: &str) -> Review {
        // A read from before this request still describes the previous review: only the
        // webhook's decision (reset with each request) counts then.
        let fresh = self.read_follows(change);
        let graph = self
            .status
            .new_name_status
            .as_deref()
            .map(NameStatus::parse)
            .filter(|_| fresh);
        let reason = self
            .status
            .name_rejection_reason
            .clone()
            .unwrap_or_else(|| "no reason given".into());
        match (graph, change.decision.as_deref()) {
            (Some(NameStatus::Declined), _) | (_, Some("REJECTED")) => Review::Rejected(reason),
            (Some(NameStatus::Approved), _) | (_, Some("APPROVED")) => Review::Approved,
            _ if fresh && self.status.verified_name.as_deref() == Some(wanted) => Review::Approved,
            _ => Review::Pending,
        }
    }

    /// Whether the Graph read was taken after the name was requested (times in status are cut
    /// to whole seconds, so a read within that second may predate it).
    fn read_follows(&self, change: &DisplayNameChange) -> bool {
        let Some(requested) = change.requested_at.as_ref().and_then(parse_time) else {
            return true;
        };
        let fresh_from = add(requested, std::time::Duration::from_secs(1));
        self.input.snapshot_at.is_some_and(|at| at >= fresh_from)
    }

    fn name_reviewed(&mut self, state: ConditionStatus, why: &str, message: &str) {
        self.set(condition::NAME_REVIEWED, state, why, message);
    }

    fn name_rejected(&mut self, wanted: &str, why: &str) {
        let message = format!(
            "Meta rejected the display name \"{wanted}\" ({why}); the number keeps its current \
             name. Set spec.displayName to a name that follows Meta's display name guidelines \
             (it must match the business's registration)"
        );
        self.name_reviewed(ConditionStatus::False, rr::NEW_NAME_REJECTED, &message);
        let before = self.previous.and_then(|p| {
            crate::decide::conditions::true_reason(&p.conditions, condition::STALLED)
        });
        self.set(
            condition::STALLED,
            ConditionStatus::True,
            rr::NEW_NAME_REJECTED,
            &message,
        );
        if before != Some(rr::NEW_NAME_REJECTED) {
            self.plan
                .events
                .push(EventSpec::warning(reason::REGISTRATION_STALLED, message));
        }
    }

    /// Registers the number again so the approved name takes effect, when the budget allows.
    fn apply_approved_name(&mut self, wanted: &str) {
        let message = format!("Meta approved the display name \"{wanted}\"");
        self.name_reviewed(ConditionStatus::True, rr::NEW_NAME_APPROVED, &message);
        let progress = self.progress();
        if let Some(next) = super::next_attempt_allowed(&progress, self.input.now) {
            let message = format!(
                "the display name \"{wanted}\" is approved; it takes effect once the number is \
                 registered again, which Meta's budget (3 attempts per 72 hours) allows at {}",
                format_time(next)
            );
            self.name_reviewed(ConditionStatus::True, rr::RENAME_BUDGET_WAIT, &message);
            self.requeue(until(self.input.now, next));
            return;
        }
        if let Some(pin) = self.input.pin.fingerprint() {
            let pin = pin.to_string();
            self.write(Step::Register { pin });
        }
    }
}

/// Notes the spec's name as the one a just-registered number carries, unless one is noted.
pub(super) fn adopt(status: &mut WhatsAppChannelStatus, spec: &WhatsAppChannelSpec) {
    let Some(wanted) = spec.display_name.clone() else {
        return;
    };
    let change = status.display_name.get_or_insert_with(Default::default);
    if change.current.is_none() {
        change.current = Some(wanted);
    }
}

/// The intent of a name request: the name and when, any earlier decision forgotten.
pub(super) fn record_request(change: &mut DisplayNameChange, name: &str, now: jiff::Timestamp) {
    change.requested = Some(name.to_string());
    change.requested_at = Some(status_time(now));
    change.decision = None;
    change.applied_at = None;
}

/// After a register that followed an approval: the number carries the requested name.
pub(super) fn record_applied(change: &mut DisplayNameChange, now: jiff::Timestamp) -> bool {
    let approved_request = change.requested.is_some() && change.current != change.requested;
    if approved_request {
        change.current = change.requested.take();
        change.decision = None;
        change.applied_at = Some(status_time(now));
    }
    approved_request
}
