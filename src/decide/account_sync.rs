//! An account's whole decision in one pure call: the observation of Meta (or of why Meta was not
//! called), the webhook facts not yet in status and the previous status go in as one
//! [`AccountInput`]; the new status, its events and when to look again come out.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::AccountObservation;
use super::account::{AccountDecision, decide_account};
use super::backoff::keep_sync_time_when_unchanged;
use super::facts;
use crate::crd::{WhatsAppBusinessAccountSpec, WhatsAppBusinessAccountStatus};
use crate::meta::Notice;
use crate::meta::versions::VersionStanding;

/// Everything one account decision depends on.
#[derive(Clone, Debug)]
pub struct AccountInput<'a> {
    pub spec: &'a WhatsAppBusinessAccountSpec,
    pub generation: Option<i64>,
    pub previous: Option<&'a WhatsAppBusinessAccountStatus>,
    pub observation: &'a AccountObservation,
    /// Webhook facts about the WABA not yet in status.
    pub facts: &'a [Notice],
    /// The `reconcile-requested-at` annotation.
    pub requested_at: Option<&'a str>,
    /// The Graph API version the operator calls, and where it stands towards retirement.
    pub api_version: (&'a str, &'a VersionStanding),
    pub now: Timestamp,
}

/// The decision, and when this sync really read Meta.
#[derive(Clone, Debug, PartialEq)]
pub struct AccountPlan {
    pub decision: AccountDecision,
    /// The time of this successful read, for memory: status keeps the previous one when a sync
    /// changed nothing else, so that steady state writes nothing.
    pub synced_at: Option<Time>,
}

/// Decides one account.
pub fn plan_account(input: AccountInput<'_>) -> AccountPlan {
    let mut base = input.previous.cloned().unwrap_or_default();
    facts::apply_account_facts(&mut base, input.facts, input.now);
    if let AccountObservation::Synced { waba, .. } = input.observation {
        facts::settle_ban(&mut base, waba, input.now);
    }
    let seen_before = input.previous.is_some() || !input.facts.is_empty();
    let mut decision = decide_account(
        input.spec,
        input.generation,
        seen_before.then_some(&base),
        input.observation,
        input.requested_at,
        input.now,
    );
    let before = input
        .previous
        .map(|p| p.conditions.as_slice())
        .unwrap_or(&[]);
    let kind = "WhatsAppBusinessAccount";
    decision.events.extend(super::pause::pause_event(
        before,
        &decision.status.conditions,
        kind,
    ));
    decision.events.extend(facts::account_fact_events(
        &input.spec.business_account_id,
        input.previous,
        &decision.status,
    ));
    decision
        .events
        .extend(super::guidance::apply_account_guidance(
            &mut decision.status,
            input.previous,
            input.generation,
            input.now,
        ));
    set_version_condition(&mut decision.status, &input);
    let synced_at = matches!(input.observation, AccountObservation::Synced { .. })
        .then(|| decision.status.sync.last_sync_time.clone())
        .flatten();
    if let Some(prev) = input.previous {
        keep_sync_time_when_unchanged(&mut decision.status, prev, |s| &mut s.sync);
    }
    AccountPlan {
        decision,
        synced_at,
    }
}

/// Condition `GraphApiVersion`: False while the version retires within 90 days, has retired or
/// is unknown; True again once that is over. Accounts never warned carry no such condition.
fn set_version_condition(status: &mut WhatsAppBusinessAccountStatus, input: &AccountInput<'_>) {
    use super::conditions::{ConditionStatus, set_condition};
    let (version, standing) = input.api_version;
    let (state, message) = match standing.warning(version) {
        Some(warning) => (ConditionStatus::False, warning),
        None if crate::crd::find_condition(&status.conditions, API_VERSION).is_some() => (
            ConditionStatus::True,
            format!("Graph API {version} is supported"),
        ),
        None => return,
    };
    set_condition(
        &mut status.conditions,
        API_VERSION,
        state,
        standing.reason(),
        message,
        input.generation,
        input.now,
    );
}

/// Condition type of the Graph API version's standing.
pub const API_VERSION: &str = "GraphApiVersion";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decide::fixtures::{account_spec, at, ts, waba};
    use crate::decide::{FailureClass, SyncFailure};

    fn synced() -> AccountObservation {
        AccountObservation::Synced {
            waba: waba(),
            webhook_subscribed: None,
            token_expires_at: None,
        }
    }

    fn input<'a>(
        spec: &'a WhatsAppBusinessAccountSpec,
        previous: Option<&'a WhatsAppBusinessAccountStatus>,
        observation: &'a AccountObservation,
        now: &str,
    ) -> AccountInput<'a> {
        AccountInput {
            spec,
            generation: Some(1),
            previous,
            observation,
            facts: &[],
            requested_at: None,
            api_version: ("v24.0", &CURRENT),
            now: ts(now),
        }
    }

    use crate::crd::find_condition;

    const CURRENT: VersionStanding = VersionStanding::Current {
        retires: jiff::civil::date(2028, 2, 18),
    };

    /// A version about to retire warns on the account; the warning goes once it no longer
    /// applies, and an account never warned carries no such condition.
    #[test]
    fn a_version_retiring_soon_warns_on_the_account_until_it_is_moved() {
        let spec = account_spec();
        let seen = synced();
        let quiet = plan_account(input(&spec, None, &seen, "2026-01-01T00:00:00Z"));
        assert!(find_condition(&quiet.decision.status.conditions, API_VERSION).is_none());
        let soon = VersionStanding::RetiresSoon {
            retires: jiff::civil::date(2026, 2, 18),
            days_left: 48,
        };
        let mut warned_input = input(&spec, None, &seen, "2026-01-01T00:00:00Z");
        warned_input.api_version = ("v24.0", &soon);
        let warned = plan_account(warned_input).decision.status;
        let c = find_condition(&warned.conditions, API_VERSION).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("False", "RetiresSoon")
        );
        assert!(c.message.contains("retires on 2026-02-18"), "{}", c.message);
        let moved = plan_account(input(&spec, Some(&warned), &seen, "2026-01-01T00:10:00Z"));
        let c = find_condition(&moved.decision.status.conditions, API_VERSION).unwrap();
        assert_eq!(
            (c.status.as_str(), c.reason.as_str()),
            ("True", "Supported")
        );
    }

    #[test]
    fn a_second_identical_read_keeps_status_and_remembers_its_time() {
        let spec = account_spec();
        let seen = synced();
        let first = plan_account(input(&spec, None, &seen, "2026-01-01T00:00:00Z"));
        assert_eq!(first.synced_at.as_ref(), Some(&at("2026-01-01T00:00:00Z")));
        let status = first.decision.status;
        let second = plan_account(input(&spec, Some(&status), &seen, "2026-01-01T00:10:00Z"));
        assert_eq!(second.decision.status, status);
        assert_eq!(second.decision.events, Vec::new());
        assert_eq!(second.synced_at.as_ref(), Some(&at("2026-01-01T00:10:00Z")));
    }

    #[test]
    fn a_failed_read_is_no_sync() {
        let spec = account_spec();
        let failed = AccountObservation::Failed(SyncFailure {
            class: FailureClass::Transient,
            message: "read_waba failed (transient)".into(),
            retry_after: None,
        });
        let plan = plan_account(input(&spec, None, &failed, "2026-01-01T00:00:00Z"));
        assert_eq!(plan.synced_at, None);
    }

    #[test]
    fn an_account_whose_waba_is_owned_elsewhere_stalls_once_and_calls_nothing() {
        let spec = account_spec();
        let claimed = AccountObservation::ClaimedElsewhere {
            owner: "tenant-a/acme".into(),
        };
        let plan = plan_account(input(&spec, None, &claimed, "2026-01-01T00:00:00Z"));
        assert!(!plan.decision.call_meta);
        assert_eq!(plan.synced_at, None);
        let reasons: Vec<_> = plan.decision.events.iter().map(|e| e.reason).collect();
        assert_eq!(reasons, vec![crate::decide::reason::WABA_CLAIMED_ELSEWHERE]);
        let status = plan.decision.status;
        let stalled = crate::crd::find_condition(&status.conditions, "Stalled").unwrap();
        assert_eq!(stalled.reason, "WabaClaimedElsewhere");
        assert!(stalled.message.contains("tenant-a/acme"));
        let again = plan_account(input(
            &spec,
            Some(&status),
            &claimed,
            "2026-01-01T00:10:00Z",
        ));
        assert_eq!(again.decision.events, Vec::new());
        assert_eq!(again.decision.status, status);
    }
}
