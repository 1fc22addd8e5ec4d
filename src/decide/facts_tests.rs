use super::*;
use crate::crd::{Management, RegistrationProgress};
use crate::decide::fixtures::*;
use crate::decide::{ChannelObservation, decide_channel};
use crate::meta::model::MessagingLimit;
use crate::meta::{Restriction, VolumeTier};

const NOW: &str = "2026-11-23T10:00:00Z";
const LATER: &str = "2026-11-23T10:10:00Z";

/// Notices of deliveries that gave no time (applied in the order given).
fn untimed(facts: &[Fact]) -> Vec<Notice> {
    facts.iter().cloned().map(Notice::from).collect()
}

fn restriction_fact(types: &[(&str, i64)]) -> Fact {
    Fact::AccountUpdate {
        waba_id: "1".into(),
        event: "ACCOUNT_RESTRICTION".into(),
        restrictions: Some(
            types
                .iter()
                .map(|(t, e)| Restriction {
                    restriction_type: (*t).into(),
                    expiration: Some(*e),
                })
                .collect(),
        ),
        ban_state: None,
        violation_type: None,
        volume_tier: None,
    }
}

fn ban(state: &str) -> Fact {
    Fact::AccountUpdate {
        waba_id: "1".into(),
        event: "DISABLED_UPDATE".into(),
        restrictions: None,
        ban_state: Some(state.into()),
        violation_type: None,
        volume_tier: None,
    }
}

fn quality(event: &str) -> Fact {
    Fact::QualityUpdate {
        waba_id: "1".into(),
        digits: "15550783881".into(),
        event: event.into(),
        current_limit: None,
        old_limit: None,
        portfolio_limit: None,
    }
}

fn name(decision: &str, reason: Option<&str>) -> Fact {
    Fact::NameUpdate {
        waba_id: "1".into(),
        digits: "15550783881".into(),
        decision: decision.into(),
        rejection_reason: reason.map(Into::into),
    }
}

fn pin_changed() -> Fact {
    Fact::Security {
        waba_id: "1".into(),
        digits: "15550783881".into(),
        event: "PIN_CHANGED".into(),
    }
}

/// One account reconcile: facts on the previous status, then the events.
fn account_step(
    previous: &WhatsAppBusinessAccountStatus,
    facts: &[Fact],
    now: &str,
) -> (WhatsAppBusinessAccountStatus, Vec<&'static str>) {
    let mut next = previous.clone();
    apply_account_facts(&mut next, &untimed(facts), ts(now));
    let events = account_fact_events("1", Some(previous), &next)
        .into_iter()
        .map(|e| e.reason)
        .collect();
    (next, events)
}

fn future() -> i64 {
    ts(NOW).as_second() + 86_400
}

#[test]
fn restriction_is_recorded_once_and_redelivery_is_silent() {
    let start = WhatsAppBusinessAccountStatus::default();
    let fact = restriction_fact(&[
        ("RESTRICTED_BIZ_INITIATED_MESSAGING", future()),
        ("RESTRICTED_ADD_PHONE_NUMBER_ACTION", future()),
    ]);
    let (s1, e1) = account_step(&start, std::slice::from_ref(&fact), NOW);
    assert_eq!(e1, vec![reason::ACCOUNT_RESTRICTED]);
    assert_eq!(s1.restrictions.len(), 2);
    assert_eq!(
        s1.restrictions[0].type_, "RESTRICTED_ADD_PHONE_NUMBER_ACTION",
        "sorted for stable status"
    );
    assert_eq!(
        s1.restrictions[1].expiration.as_ref(),
        Some(&at("2026-11-24T10:00:00Z"))
    );
    let (s2, e2) = account_step(&s1, &[fact], NOW);
    assert!(e2.is_empty());
    assert_eq!(s2, s1);
}

#[test]
fn expired_restrictions_are_dropped_without_an_event() {
    let start = WhatsAppBusinessAccountStatus::default();
    let soon = ts(NOW).as_second() + 60;
    let (s1, _) = account_step(
        &start,
        &[restriction_fact(&[(
            "RESTRICTED_BIZ_INITIATED_MESSAGING",
            soon,
        )])],
        NOW,
    );
    assert_eq!(s1.restrictions.len(), 1);
    let (s2, e2) = account_step(&s1, &[], LATER);
    assert!(s2.restrictions.is_empty());
    assert!(e2.is_empty());
    // Meta's own example has an expiration in the past: nothing to record.
    let (s3, e3) = account_step(
        &start,
        &[restriction_fact(&[(
            "RESTRICTED_BIZ_INITIATED_MESSAGING",
            1_641_330_498,
        )])],
        NOW,
    );
    assert!(s3.restrictions.is_empty() && e3.is_empty());
}

#[test]
fn ban_states_give_disabled_then_reinstated_once_each() {
    let start = WhatsAppBusinessAccountStatus::default();
    let (s1, e1) = account_step(&start, &[ban("DISABLE")], NOW);
    assert_eq!(s1.ban_state.as_deref(), Some("DISABLE"));
    assert_eq!(e1, vec![reason::ACCOUNT_DISABLED]);
    let (s2, e2) = account_step(&s1, &[ban("DISABLE")], NOW);
    assert!(e2.is_empty());
    let (s3, e3) = account_step(&s2, &[ban("REINSTATE")], NOW);
    assert_eq!(e3, vec![reason::ACCOUNT_REINSTATED]);
    let (_, e4) = account_step(&s3, &[ban("REINSTATE")], NOW);
    assert!(e4.is_empty());
    // Reinstated without ever being disabled is no news.
    let (_, e5) = account_step(&start, &[ban("REINSTATE")], NOW);
    assert!(e5.is_empty());
    let (_, e6) = account_step(&start, &[ban("SCHEDULE_FOR_DISABLE")], NOW);
    assert_eq!(e6, vec![reason::ACCOUNT_DISABLED]);
}

#[test]
fn disabled_account_decides_not_ready() {
    let mut previous = WhatsAppBusinessAccountStatus::default();
    apply_account_facts(&mut previous, &untimed(&[ban("DISABLE")]), ts(NOW));
    let d = crate::decide::decide_account(
        &account_spec(),
        Some(1),
        Some(&previous),
        &crate::decide::AccountObservation::Synced {
            waba: waba(),
            webhook_subscribed: None,
            token_expires_at: None,
        },
        None,
        ts(NOW),
    );
    let ready = find_condition(&d.status.conditions, condition::READY).unwrap();
    assert_eq!(
        (ready.status.as_str(), ready.reason.as_str()),
        ("False", "Disabled")
    );
    assert_eq!(d.status.ban_state.as_deref(), Some("DISABLE"));
}

/// One channel reconcile as the runtime runs it.
fn channel_step(
    previous: Option<&WhatsAppChannelStatus>,
    facts: &[Fact],
    observed: PhoneNumber,
    now: &str,
) -> (WhatsAppChannelStatus, Vec<&'static str>) {
    timed_channel_step(previous, &untimed(facts), observed, now)
}

/// `channel_step` with the notices' delivery times.
fn timed_channel_step(
    previous: Option<&WhatsAppChannelStatus>,
    notices: &[Notice],
    observed: PhoneNumber,
    now: &str,
) -> (WhatsAppChannelStatus, Vec<&'static str>) {
    let mut base = previous.cloned().unwrap_or_default();
    apply_number_facts(&mut base, notices, Some(1), ts(now));
    let mut observed = observed;
    overlay_number(&mut base, &mut observed, Some(1), ts(now));
    let obs = ChannelObservation::Number { number: observed };
    let d = decide_channel(
        &channel_spec(Management::Managed),
        Some(1),
        Some(&base),
        &obs,
        std::time::Duration::from_secs(600),
        None,
        ts(now),
    );
    let mut status = d.status;
    let mut events: Vec<&'static str> = d.events.iter().map(|e| e.reason).collect();
    settle_pin(previous, &mut status, Some(1), ts(now));
    events.extend(
        number_fact_events(previous, &status)
            .iter()
            .map(|e| e.reason),
    );
    (status, events)
}

fn cond_reason(s: &WhatsAppChannelStatus, type_: &str) -> Option<(String, String)> {
    find_condition(&s.conditions, type_).map(|c| (c.status.clone(), c.reason.clone()))
}

#[test]
fn flagged_webhook_flags_a_connected_number_until_unflagged() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    assert_eq!(s0.status.as_deref(), Some("CONNECTED"));

    let (s1, e1) = channel_step(Some(&s0), &[quality("FLAGGED")], number(), NOW);
    assert_eq!(s1.status.as_deref(), Some("FLAGGED"));
    assert_eq!(e1, vec![reason::NUMBER_FLAGGED]);
    assert_eq!(
        cond_reason(&s1, fact_condition::QUALITY_FLAGGED),
        Some(("True".into(), fact_reason::FLAGGED_BY_WEBHOOK.into()))
    );

    // A redelivery and a poll where Graph still says CONNECTED change nothing.
    let (s2, e2) = channel_step(Some(&s1), &[quality("FLAGGED")], number(), LATER);
    assert!(e2.is_empty(), "{e2:?}");
    assert_eq!(s2.status.as_deref(), Some("FLAGGED"));
    let (s3, e3) = channel_step(Some(&s2), &[], number(), LATER);
    assert!(e3.is_empty());
    assert_eq!(s3.conditions, s2.conditions);

    let (s4, e4) = channel_step(Some(&s3), &[quality("UNFLAGGED")], number(), LATER);
    assert_eq!(s4.status.as_deref(), Some("CONNECTED"));
    assert_eq!(e4, vec![reason::NUMBER_UNFLAGGED]);
    let (_, e5) = channel_step(Some(&s4), &[quality("UNFLAGGED")], number(), LATER);
    assert!(e5.is_empty());
}

#[test]
fn a_flag_graph_confirmed_ends_when_graph_lifts_it() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let flagged = || {
        let mut n = number();
        n.status = Some(NumberStatus::Flagged);
        n
    };
    let (s1, e1) = channel_step(Some(&s0), &[quality("FLAGGED")], flagged(), NOW);
    assert_eq!(e1, vec![reason::NUMBER_FLAGGED]);
    assert_eq!(
        cond_reason(&s1, fact_condition::QUALITY_FLAGGED).map(|c| c.1),
        Some(fact_reason::FLAGGED_CONFIRMED.into())
    );
    let (s2, e2) = channel_step(Some(&s1), &[], number(), LATER);
    assert_eq!(s2.status.as_deref(), Some("CONNECTED"));
    assert_eq!(e2, vec![reason::NUMBER_UNFLAGGED]);
}

#[test]
fn polled_flag_without_webhook_behaves_as_before() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let mut n = number();
    n.status = Some(NumberStatus::Flagged);
    let (s1, e1) = channel_step(Some(&s0), &[], n, NOW);
    assert_eq!(e1, vec![reason::NUMBER_FLAGGED]);
    let (_, e2) = channel_step(Some(&s1), &[], number(), LATER);
    assert_eq!(e2, vec![reason::NUMBER_UNFLAGGED]);
}

#[test]
fn name_rejection_is_recorded_and_held_while_graph_lags() {
    let pending = || {
        let mut n = number();
        n.name_status = Some(NameStatus::PendingReview);
        n
    };
    let (s0, _) = channel_step(None, &[], pending(), NOW);
    let (s1, e1) = channel_step(
        Some(&s0),
        &[name("REJECTED", Some("NAME_FORMAT_UNACCEPTABLE"))],
        pending(),
        NOW,
    );
    assert_eq!(e1, vec![reason::NAME_REJECTED]);
    assert_eq!(
        s1.name_rejection_reason.as_deref(),
        Some("NAME_FORMAT_UNACCEPTABLE")
    );
    assert_eq!(s1.name_status.as_deref(), Some("DECLINED"));
    let (s2, e2) = channel_step(
        Some(&s1),
        &[name("REJECTED", Some("NAME_FORMAT_UNACCEPTABLE"))],
        pending(),
        NOW,
    );
    assert!(e2.is_empty());
    assert_eq!(s2, s1);
    // Graph catches up: still nothing new.
    let mut declined = number();
    declined.name_status = Some(NameStatus::Declined);
    let (s3, e3) = channel_step(Some(&s2), &[], declined, LATER);
    assert!(e3.is_empty());
    assert_eq!(s3.name_rejection_reason, s2.name_rejection_reason);
    // Approved later: the reason goes, NameApproved once Graph shows it.
    let (s4, e4) = channel_step(Some(&s3), &[name("APPROVED", None)], number(), LATER);
    assert_eq!(e4, vec![reason::NAME_APPROVED]);
    assert_eq!(s4.name_rejection_reason, None);
}

#[test]
fn rejection_without_reason_and_new_name_requests() {
    let mut n = number();
    n.new_name_status = Some(NameStatus::PendingReview);
    let (s0, _) = channel_step(None, &[], n.clone(), NOW);
    let (s1, e1) = channel_step(Some(&s0), &[name("REJECTED", None)], n, NOW);
    assert_eq!(e1, vec![reason::NAME_REJECTED]);
    assert_eq!(s1.new_name_status.as_deref(), Some("DECLINED"));
    assert_eq!(s1.name_status.as_deref(), Some("APPROVED"));
    assert_eq!(s1.name_rejection_reason.as_deref(), Some("UNKNOWN"));
}

#[test]
fn pin_changed_warns_once_and_clears_when_a_pin_is_applied() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let (s1, e1) = channel_step(Some(&s0), &[pin_changed()], number(), NOW);
    assert_eq!(e1, vec![reason::PIN_CHANGED]);
    assert_eq!(
        cond_reason(&s1, fact_condition::PIN_STALE),
        Some(("True".into(), fact_reason::PIN_CHANGED_AT_META.into()))
    );
    let (s2, e2) = channel_step(Some(&s1), &[pin_changed()], number(), NOW);
    assert!(e2.is_empty());
    assert_eq!(s2, s1);
    // The registration flow applies the PIN from the Secret again.
    let mut applied = s2.clone();
    applied.registration = Some(RegistrationProgress {
        applied_pin: Some("uid/42".into()),
        ..Default::default()
    });
    settle_pin(Some(&s2), &mut applied, Some(1), ts(LATER));
    assert_eq!(
        cond_reason(&applied, fact_condition::PIN_STALE).map(|c| c.0),
        Some("False".into())
    );
}

fn standing(ban: Option<&str>, restrictions: &[(&str, Option<&str>)]) -> AccountStanding {
    AccountStanding {
        ban_state: ban.map(Into::into),
        restrictions: restrictions
            .iter()
            .map(|(t, e)| AccountRestriction {
                type_: (*t).into(),
                expiration: e.map(at),
            })
            .collect(),
        ..AccountStanding::default()
    }
}

fn standing_step(
    previous: &WhatsAppChannelStatus,
    s: &AccountStanding,
    now: &str,
) -> (WhatsAppChannelStatus, Vec<&'static str>) {
    let mut next = previous.clone();
    let events = apply_account_standing("acme", Some(previous), &mut next, s, Some(1), ts(now));
    (next, events.iter().map(|e| e.reason).collect())
}

#[test]
fn account_standing_reaches_channels_once_per_transition() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    // Never restricted: no condition at all.
    let (same, none) = standing_step(&s0, &AccountStanding::default(), NOW);
    assert_eq!(same, s0);
    assert!(none.is_empty());

    let restricted = standing(
        None,
        &[(
            "RESTRICTED_BIZ_INITIATED_MESSAGING",
            Some("2026-11-24T10:00:00Z"),
        )],
    );
    let (s1, e1) = standing_step(&s0, &restricted, NOW);
    assert_eq!(e1, vec![reason::ACCOUNT_RESTRICTED]);
    assert_eq!(s1.phase, Phase::Degraded);
    let (_, again) = standing_step(&s1, &restricted, NOW);
    assert!(again.is_empty());

    let (s2, e2) = standing_step(&s1, &standing(Some("DISABLE"), &[]), NOW);
    assert_eq!(e2, vec![reason::ACCOUNT_DISABLED]);
    assert_eq!(
        cond_reason(&s2, condition::READY),
        Some(("False".into(), "Disabled".into()))
    );
    assert_eq!(s2.phase, Phase::Blocked);

    let (s3, e3) = standing_step(&s2, &standing(Some("REINSTATE"), &[]), NOW);
    assert_eq!(e3, vec![reason::ACCOUNT_REINSTATED]);
    assert_eq!(
        cond_reason(&s3, fact_condition::ACCOUNT_RESTRICTED).map(|c| c.0),
        Some("False".into())
    );
    // An expired restriction is no restriction.
    let old = standing(
        None,
        &[(
            "RESTRICTED_BIZ_INITIATED_MESSAGING",
            Some("2026-11-23T09:00:00Z"),
        )],
    );
    let (_, e4) = standing_step(&s3, &old, NOW);
    assert!(e4.is_empty());
}

fn sent_at(fact: Fact, at: &str) -> Notice {
    Notice::new(fact, Some(ts(at).as_second()))
}

/// A FLAGGED delivered late (Meta retried it) after the UNFLAGGED that followed it, or replayed,
/// changes nothing: facts about the number's quality apply in delivery order.
#[test]
fn a_stale_flag_redelivered_after_the_unflag_changes_nothing() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let flag = sent_at(quality("FLAGGED"), "2026-11-23T09:00:00Z");
    let unflag = sent_at(quality("UNFLAGGED"), "2026-11-23T09:30:00Z");
    let (s1, _) = timed_channel_step(Some(&s0), std::slice::from_ref(&flag), number(), NOW);
    let (s2, e2) = timed_channel_step(Some(&s1), &[unflag], number(), NOW);
    assert_eq!(e2, vec![reason::NUMBER_UNFLAGGED]);
    let (s3, e3) = timed_channel_step(Some(&s2), std::slice::from_ref(&flag), number(), LATER);
    assert!(e3.is_empty(), "{e3:?}");
    assert_eq!(s3.status.as_deref(), Some("CONNECTED"));
    assert_eq!(s3.conditions, s2.conditions);
    // Both in one batch, newest first: still applied oldest first.
    let both = [sent_at(quality("UNFLAGGED"), "2026-11-23T09:30:00Z"), flag];
    let (s4, _) = timed_channel_step(Some(&s0), &both, number(), NOW);
    assert_eq!(s4.status.as_deref(), Some("CONNECTED"));
    assert_eq!(
        s4.webhook.fact_times.get("quality"),
        Some(&at("2026-11-23T09:30:00Z"))
    );
}

/// A flag only a webhook reported, which Graph keeps contradicting, is lifted after the longest
/// flag period instead of holding the number at FLAGGED forever.
#[test]
fn a_webhook_only_flag_graph_contradicts_ends_after_seven_days() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let (s1, _) = channel_step(Some(&s0), &[quality("FLAGGED")], number(), NOW);
    let (s2, e2) = channel_step(Some(&s1), &[], number(), "2026-11-29T10:00:00Z");
    assert!(e2.is_empty(), "six days: still flagged: {e2:?}");
    assert_eq!(s2.status.as_deref(), Some("FLAGGED"));
    let (s3, e3) = channel_step(Some(&s2), &[], number(), "2026-11-30T10:00:01Z");
    assert_eq!(s3.status.as_deref(), Some("CONNECTED"));
    assert_eq!(e3, vec![reason::NUMBER_UNFLAGGED]);
    assert_eq!(
        cond_reason(&s3, fact_condition::QUALITY_FLAGGED),
        Some(("False".into(), fact_reason::FLAG_EXPIRED.into()))
    );
}

/// A DISABLE known only from a webhook is dropped once Graph has shown the WABA able to send for
/// a day since; before that, and while Graph agrees, it holds.
#[test]
fn a_webhook_only_ban_graph_contradicts_for_a_day_is_lifted() {
    let disable = sent_at(ban("DISABLE"), NOW);
    let mut status = WhatsAppBusinessAccountStatus::default();
    apply_account_facts(&mut status, &[disable], ts(NOW));
    assert_eq!(status.ban_state.as_deref(), Some("DISABLE"));
    let mut blocked = waba();
    blocked.health_status = Some(waba_health(
        CanSendMessage::Blocked,
        CanSendMessage::Available,
        CanSendMessage::Available,
    ));
    blocked.health_status.as_mut().unwrap().can_send_message = CanSendMessage::Blocked;
    settle_ban(&mut status, &blocked, ts("2026-11-25T10:00:00Z"));
    assert_eq!(status.ban_state.as_deref(), Some("DISABLE"), "Graph agrees");
    settle_ban(&mut status, &waba(), ts("2026-11-24T09:59:59Z"));
    assert_eq!(
        status.ban_state.as_deref(),
        Some("DISABLE"),
        "not a day yet"
    );
    let before = status.clone();
    settle_ban(&mut status, &waba(), ts("2026-11-24T10:00:00Z"));
    assert_eq!(status.ban_state.as_deref(), Some(CONTRADICTED_BY_GRAPH));
    let events: Vec<_> = account_fact_events("1", Some(&before), &status)
        .into_iter()
        .map(|e| e.reason)
        .collect();
    assert_eq!(events, vec![reason::ACCOUNT_REINSTATED]);
}

/// `account_step` with the notices' delivery times.
fn timed_account_step(
    previous: &WhatsAppBusinessAccountStatus,
    notices: &[Notice],
    now: &str,
) -> (WhatsAppBusinessAccountStatus, Vec<&'static str>) {
    let mut next = previous.clone();
    apply_account_facts(&mut next, notices, ts(now));
    let events = account_fact_events("1", Some(previous), &next)
        .into_iter()
        .map(|e| e.reason)
        .collect();
    (next, events)
}

fn alert(alert_type: &str, entity_id: &str, status: &str) -> Fact {
    Fact::AccountAlert {
        waba_id: "1".into(),
        alert_type: alert_type.into(),
        severity: "WARNING".into(),
        status: status.into(),
        entity_type: Some("BUSINESS".into()),
        entity_id: Some(entity_id.into()),
        description: Some("Limits cannot be increased for your business".into()),
    }
}

const DEFERRED: &str = "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED";

/// An ACTIVE alert is listed and announced once per alert type and entity; Meta's NONE keeps
/// it listed with that status and announces the end once; late and replayed notices change
/// nothing.
#[test]
fn account_alerts_are_kept_per_type_and_entity_and_announced_once() {
    let start = WhatsAppBusinessAccountStatus::default();
    let raised = sent_at(
        alert(DEFERRED, "506914307656634", "ACTIVE"),
        "2026-11-23T09:00:00Z",
    );
    let (s1, e1) = timed_account_step(&start, std::slice::from_ref(&raised), NOW);
    assert_eq!(e1, vec![reason::ACCOUNT_ALERT]);
    assert_eq!(s1.alerts.len(), 1);
    let a = &s1.alerts[0];
    assert_eq!(
        (a.type_.as_str(), a.status.as_str(), a.severity.as_deref()),
        (DEFERRED, "ACTIVE", Some("WARNING"))
    );
    assert_eq!(
        (a.entity_type.as_deref(), a.entity_id.as_deref()),
        (Some("BUSINESS"), Some("506914307656634"))
    );
    assert_eq!(a.since.as_ref(), Some(&at("2026-11-23T09:00:00Z")));
    assert!(
        a.description
            .as_deref()
            .unwrap()
            .contains("cannot be increased")
    );
    let (s2, e2) = timed_account_step(&s1, std::slice::from_ref(&raised), LATER);
    assert!(e2.is_empty(), "{e2:?}");
    assert_eq!(s2, s1);
    // Without a delivery time the same alert is no news either.
    let (s2b, e2b) = account_step(&s1, &[alert(DEFERRED, "506914307656634", "ACTIVE")], LATER);
    assert!(e2b.is_empty());
    assert_eq!(s2b.alerts, s1.alerts);

    // The same alert about another entity is another alert.
    let other = sent_at(alert(DEFERRED, "42", "ACTIVE"), "2026-11-23T09:10:00Z");
    let (s3, e3) = timed_account_step(&s2, &[other], NOW);
    assert_eq!(e3, vec![reason::ACCOUNT_ALERT]);
    assert_eq!(s3.alerts.len(), 2);

    let resolved = sent_at(
        alert(DEFERRED, "506914307656634", "NONE"),
        "2026-11-23T09:30:00Z",
    );
    let (s4, e4) = timed_account_step(&s3, std::slice::from_ref(&resolved), NOW);
    assert_eq!(e4, vec![reason::ACCOUNT_ALERT_RESOLVED]);
    let first = |s: &WhatsAppBusinessAccountStatus| {
        s.alerts
            .iter()
            .find(|a| a.entity_id.as_deref() == Some("506914307656634"))
            .cloned()
            .unwrap()
    };
    assert_eq!(first(&s4).status, "NONE", "kept with Meta's status");
    assert_eq!(first(&s4).since.as_ref(), Some(&at("2026-11-23T09:30:00Z")));
    // The ACTIVE delivered again late (Meta retried it) does not raise the alert again.
    let (s5, e5) = timed_account_step(&s4, &[raised, resolved], LATER);
    assert!(e5.is_empty(), "{e5:?}");
    assert_eq!(s5, s4);
    // Raised again later: announced again.
    let again = sent_at(
        alert(DEFERRED, "506914307656634", "ACTIVE"),
        "2026-11-23T10:05:00Z",
    );
    let (s6, e6) = timed_account_step(&s5, &[again], LATER);
    assert_eq!(e6, vec![reason::ACCOUNT_ALERT]);
    assert_eq!(first(&s6).status, "ACTIVE");
}

/// Alerts no longer active make room for new ones, oldest first, so status stays bounded.
#[test]
fn resolved_alerts_are_dropped_oldest_first_beyond_the_cap() {
    let mut status = WhatsAppBusinessAccountStatus::default();
    let base = ts(NOW).as_second();
    let notices: Vec<Notice> = (0..70)
        .map(|i| {
            let state = if i == 0 { "ACTIVE" } else { "NONE" };
            Notice::new(alert(DEFERRED, &format!("{i:03}"), state), Some(base + i))
        })
        .collect();
    apply_account_facts(&mut status, &notices, ts(LATER));
    assert_eq!(status.alerts.len(), 64);
    let ids: Vec<&str> = status
        .alerts
        .iter()
        .filter_map(|a| a.entity_id.as_deref())
        .collect();
    assert!(ids.contains(&"000"), "the active alert stays, however old");
    for dropped in ["001", "002", "003", "004", "005", "006"] {
        assert!(
            !ids.contains(&dropped),
            "{dropped} is among the oldest resolved"
        );
    }
    assert!(ids.contains(&"007") && ids.contains(&"069"));
}

fn capability(
    limit: Option<MessagingLimit>,
    per_waba: Option<i64>,
    per_business: Option<i64>,
) -> Fact {
    Fact::Capability {
        waba_id: "1".into(),
        limit,
        max_phone_numbers_per_waba: per_waba,
        max_phone_numbers_per_business: per_business,
    }
}

/// Capability updates merge (Meta sends the caps apart) and a move of the portfolio limit is
/// announced once, measured from the limit Graph showed before the first update.
#[test]
fn capability_updates_merge_and_announce_portfolio_limit_moves() {
    let start = WhatsAppBusinessAccountStatus {
        messaging_limit: Some("TIER_2K".into()),
        ..Default::default()
    };
    let up = sent_at(
        capability(Some(MessagingLimit::Tier(10_000)), None, None),
        "2026-11-23T09:00:00Z",
    );
    let (s1, e1) = timed_account_step(&start, std::slice::from_ref(&up), NOW);
    assert_eq!(e1, vec![reason::PORTFOLIO_LIMIT_INCREASED]);
    let caps = s1.capabilities.clone().unwrap();
    assert_eq!(caps.messaging_limit.as_deref(), Some("TIER_10K"));
    assert_eq!(caps.max_phone_numbers_per_waba, None);
    let (s2, e2) = timed_account_step(&s1, std::slice::from_ref(&up), LATER);
    assert!(e2.is_empty());
    assert_eq!(s2, s1);

    let per_waba = sent_at(capability(None, Some(25), None), "2026-11-23T09:10:00Z");
    let (s3, e3) = timed_account_step(&s2, &[per_waba], NOW);
    assert!(e3.is_empty());
    let per_business = sent_at(capability(None, None, Some(2)), "2026-11-23T09:20:00Z");
    let (s4, _) = timed_account_step(&s3, &[per_business], NOW);
    let caps = s4.capabilities.clone().unwrap();
    assert_eq!(
        (
            caps.messaging_limit.as_deref(),
            caps.max_phone_numbers_per_waba,
            caps.max_phone_numbers_per_business
        ),
        (Some("TIER_10K"), Some(25), Some(2))
    );

    // An older update delivered late changes nothing; a newer lower limit is announced.
    let (s5, e5) = timed_account_step(&s4, &[up], LATER);
    assert!(e5.is_empty() && s5 == s4);
    let down = sent_at(
        capability(Some(MessagingLimit::Tier(2_000)), None, None),
        "2026-11-23T09:40:00Z",
    );
    let (s6, e6) = timed_account_step(&s5, &[down], LATER);
    assert_eq!(e6, vec![reason::PORTFOLIO_LIMIT_DECREASED]);
    assert_eq!(
        s6.capabilities.unwrap().messaging_limit.as_deref(),
        Some("TIER_2K")
    );

    // What Graph already shows is no news.
    let (_, e7) = account_step(
        &start,
        &[capability(Some(MessagingLimit::Tier(2_000)), None, None)],
        NOW,
    );
    assert!(e7.is_empty());
}

fn account_update(event: &str, violation: Option<&str>, tier: Option<VolumeTier>) -> Fact {
    Fact::AccountUpdate {
        waba_id: "1".into(),
        event: event.into(),
        restrictions: None,
        ban_state: None,
        violation_type: violation.map(Into::into),
        volume_tier: tier,
    }
}

/// Each violation type is recorded and announced once, however often Meta reports it.
#[test]
fn violations_are_recorded_and_announced_once_per_type() {
    let start = WhatsAppBusinessAccountStatus::default();
    let adult = sent_at(
        account_update("ACCOUNT_VIOLATION", Some("ADULT"), None),
        "2026-11-23T09:00:00Z",
    );
    let (s1, e1) = timed_account_step(&start, std::slice::from_ref(&adult), NOW);
    assert_eq!(e1, vec![reason::ACCOUNT_VIOLATION]);
    assert_eq!(s1.violations.len(), 1);
    assert_eq!(s1.violations[0].type_, "ADULT");
    assert_eq!(
        s1.violations[0].since.as_ref(),
        Some(&at("2026-11-23T09:00:00Z"))
    );
    let (s2, e2) = timed_account_step(&s1, &[adult], LATER);
    assert!(e2.is_empty() && s2 == s1);
    let reported_again = sent_at(
        account_update("ACCOUNT_VIOLATION", Some("ADULT"), None),
        "2026-11-23T09:50:00Z",
    );
    let (s3, e3) = timed_account_step(&s2, &[reported_again], LATER);
    assert!(e3.is_empty(), "{e3:?}");
    assert_eq!(s3.violations, s1.violations, "first reported time kept");
    // Another type, even delivered before the newest ADULT, is another violation.
    let scam = sent_at(
        account_update("ACCOUNT_VIOLATION", Some("SCAM"), None),
        "2026-11-23T08:00:00Z",
    );
    let (s4, e4) = timed_account_step(&s3, &[scam], LATER);
    assert_eq!(e4, vec![reason::ACCOUNT_VIOLATION]);
    let types: Vec<&str> = s4.violations.iter().map(|v| v.type_.as_str()).collect();
    assert_eq!(types, vec!["ADULT", "SCAM"]);
    // Without a violation type there is nothing to record.
    let (s5, e5) = account_step(
        &s4,
        &[account_update("ACCOUNT_VIOLATION", None, None)],
        LATER,
    );
    assert!(e5.is_empty() && s5 == s4);
}

fn volume_tier(region: &str, tier: &str, updated: Option<i64>) -> VolumeTier {
    VolumeTier {
        pricing_category: Some("UTILITY".into()),
        region: Some(region.into()),
        tier: Some(tier.into()),
        effective_month: Some("2025-11".into()),
        tier_update_time: updated,
    }
}

/// Pricing tiers are kept per pricing category and region, the newest notice winning, without
/// events.
#[test]
fn pricing_tiers_are_kept_per_category_and_region() {
    const TIER: &str = "VOLUME_BASED_PRICING_TIER_UPDATE";
    let start = WhatsAppBusinessAccountStatus::default();
    let india = |tier: &str, at: &str| {
        sent_at(
            account_update(
                TIER,
                None,
                Some(volume_tier("INDIA", tier, Some(1_743_451_903))),
            ),
            at,
        )
    };
    let first = india("25000001:50000000", "2026-11-23T09:00:00Z");
    let (s1, e1) = timed_account_step(&start, std::slice::from_ref(&first), NOW);
    assert!(e1.is_empty());
    assert_eq!(s1.pricing_tiers.len(), 1);
    let t = &s1.pricing_tiers[0];
    assert_eq!(
        (
            t.pricing_category.as_deref(),
            t.region.as_deref(),
            t.tier.as_deref(),
            t.effective_month.as_deref()
        ),
        (
            Some("UTILITY"),
            Some("INDIA"),
            Some("25000001:50000000"),
            Some("2025-11")
        )
    );
    assert_eq!(
        t.updated_at.as_ref(),
        Some(&status_time(Timestamp::from_second(1_743_451_903).unwrap())),
        "Meta's tier_update_time"
    );
    let (s2, _) = timed_account_step(&s1, std::slice::from_ref(&first), LATER);
    assert_eq!(s2, s1);
    let higher = india("50000001:100000000", "2026-11-23T09:30:00Z");
    let (s3, e3) = timed_account_step(&s2, &[higher], LATER);
    assert!(e3.is_empty());
    assert_eq!(s3.pricing_tiers.len(), 1);
    assert_eq!(
        s3.pricing_tiers[0].tier.as_deref(),
        Some("50000001:100000000")
    );
    // The first one delivered again late does not take the tier back.
    let (s4, _) = timed_account_step(&s3, &[first], LATER);
    assert_eq!(s4, s3);
    // Another market is another tier; without Meta's time the delivery time is recorded.
    let brazil = sent_at(
        account_update(TIER, None, Some(volume_tier("BRAZIL", "1:250000", None))),
        "2026-11-23T08:00:00Z",
    );
    let (s5, _) = timed_account_step(&s4, &[brazil], LATER);
    let regions: Vec<_> = s5
        .pricing_tiers
        .iter()
        .map(|t| t.region.as_deref())
        .collect();
    assert_eq!(regions, vec![Some("BRAZIL"), Some("INDIA")]);
    assert_eq!(
        s5.pricing_tiers[0].updated_at.as_ref(),
        Some(&at("2026-11-23T08:00:00Z"))
    );
}

fn quality_update(event: &str, portfolio: Option<MessagingLimit>) -> Fact {
    Fact::QualityUpdate {
        waba_id: "1".into(),
        digits: "15550783881".into(),
        event: event.into(),
        current_limit: Some(MessagingLimit::Unlimited),
        old_limit: None,
        portfolio_limit: portfolio,
    }
}

/// Meta's current phone_number_quality_update (THROUGHPUT_UPGRADE, ONBOARDING) is recorded with
/// the portfolio limit it carries, without touching the legacy flag; a legacy FLAGGED is
/// recorded too and still flags the number.
#[test]
fn throughput_upgrade_is_recorded_with_the_portfolio_limit() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let upgrade = sent_at(
        quality_update("THROUGHPUT_UPGRADE", Some(MessagingLimit::Unlimited)),
        "2026-11-23T09:00:00Z",
    );
    let (s1, e1) = timed_channel_step(Some(&s0), std::slice::from_ref(&upgrade), number(), NOW);
    assert!(e1.is_empty(), "{e1:?}");
    let last = s1.last_quality_update.clone().unwrap();
    assert_eq!(last.event, "THROUGHPUT_UPGRADE");
    assert_eq!(last.portfolio_limit.as_deref(), Some("TIER_UNLIMITED"));
    assert_eq!(last.current_limit.as_deref(), Some("TIER_UNLIMITED"));
    assert_eq!(last.old_limit, None);
    assert_eq!(last.at.as_ref(), Some(&at("2026-11-23T09:00:00Z")));
    assert_eq!(
        find_condition(&s1.conditions, fact_condition::QUALITY_FLAGGED),
        None
    );
    assert_eq!(s1.status.as_deref(), Some("CONNECTED"));
    let (s2, e2) = timed_channel_step(Some(&s1), &[upgrade], number(), NOW);
    assert!(e2.is_empty() && s2 == s1);
    // An ONBOARDING sent before it, delivered late, does not replace it.
    let onboarding = sent_at(quality_update("ONBOARDING", None), "2026-11-23T08:00:00Z");
    let (s3, _) = timed_channel_step(Some(&s2), &[onboarding], number(), NOW);
    assert_eq!(s3, s2);
    // Without a delivery time, the same update again keeps its recorded time.
    let (s4, _) = channel_step(
        Some(&s3),
        &[quality_update(
            "THROUGHPUT_UPGRADE",
            Some(MessagingLimit::Unlimited),
        )],
        number(),
        NOW,
    );
    assert_eq!(s4, s3);

    let flagged = sent_at(quality("FLAGGED"), "2026-11-23T09:30:00Z");
    let (s5, e5) = timed_channel_step(Some(&s4), &[flagged], number(), LATER);
    assert_eq!(e5, vec![reason::NUMBER_FLAGGED]);
    assert_eq!(s5.status.as_deref(), Some("FLAGGED"));
    let last = s5.last_quality_update.unwrap();
    assert_eq!(
        (last.event.as_str(), last.portfolio_limit),
        ("FLAGGED", None)
    );
}

fn security(event: &str) -> Fact {
    Fact::Security {
        waba_id: "1".into(),
        digits: "15550783881".into(),
        event: event.into(),
    }
}

/// Every security event is recorded, the last of each kind; a PIN reset request warns once per
/// request, and PIN_CHANGED keeps its stale-PIN condition.
#[test]
fn pin_reset_requests_warn_once_each_and_every_security_event_is_recorded() {
    let (s0, _) = channel_step(None, &[], number(), NOW);
    let reset = sent_at(security("PIN_RESET_REQUEST"), "2026-11-23T09:00:00Z");
    let (s1, e1) = timed_channel_step(Some(&s0), std::slice::from_ref(&reset), number(), NOW);
    assert_eq!(e1, vec![reason::PIN_RESET_REQUESTED]);
    assert_eq!(s1.security_events.len(), 1);
    assert_eq!(s1.security_events[0].event, "PIN_RESET_REQUEST");
    assert_eq!(
        s1.security_events[0].at.as_ref(),
        Some(&at("2026-11-23T09:00:00Z"))
    );
    assert_eq!(
        find_condition(&s1.conditions, fact_condition::PIN_STALE),
        None
    );
    let (s2, e2) = timed_channel_step(Some(&s1), std::slice::from_ref(&reset), number(), NOW);
    assert!(e2.is_empty() && s2 == s1);
    let (s2b, e2b) = channel_step(Some(&s2), &[security("PIN_RESET_REQUEST")], number(), NOW);
    assert!(e2b.is_empty() && s2b == s2, "untimed: same request");

    let success = sent_at(security("PIN_REQUEST_SUCCESS"), "2026-11-23T09:05:00Z");
    let changed = sent_at(pin_changed(), "2026-11-23T09:10:00Z");
    let (s3, e3) = timed_channel_step(Some(&s2), &[changed, success], number(), LATER);
    assert_eq!(e3, vec![reason::PIN_CHANGED]);
    assert_eq!(
        cond_reason(&s3, fact_condition::PIN_STALE).map(|c| c.0),
        Some("True".into())
    );
    let events: Vec<&str> = s3
        .security_events
        .iter()
        .map(|e| e.event.as_str())
        .collect();
    assert_eq!(
        events,
        vec!["PIN_CHANGED", "PIN_REQUEST_SUCCESS", "PIN_RESET_REQUEST"]
    );

    // The first request delivered late is old news; a new request warns again.
    let (s4, e4) = timed_channel_step(Some(&s3), &[reset], number(), LATER);
    assert!(e4.is_empty() && s4 == s3);
    let another = sent_at(security("PIN_RESET_REQUEST"), "2026-11-23T10:05:00Z");
    let (s5, e5) = timed_channel_step(Some(&s4), &[another], number(), LATER);
    assert_eq!(e5, vec![reason::PIN_RESET_REQUESTED]);
    assert_eq!(
        s5.security_events[2].at.as_ref(),
        Some(&at("2026-11-23T10:05:00Z"))
    );
}

/// Facets are per record key: a late notice about one alert, violation or pricing market is
/// not refused because of a newer one about another.
#[test]
fn facets_follow_the_record_keys() {
    let facet = |f: Fact| f.facet();
    assert_eq!(
        facet(alert(DEFERRED, "5", "ACTIVE")).as_deref(),
        Some("alert/INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED/BUSINESS/5")
    );
    assert_eq!(
        facet(account_update("ACCOUNT_VIOLATION", Some("SCAM"), None)).as_deref(),
        Some("violation/SCAM")
    );
    assert_eq!(
        facet(account_update(
            "VOLUME_BASED_PRICING_TIER_UPDATE",
            None,
            Some(volume_tier("INDIA", "1:2", None))
        ))
        .as_deref(),
        Some("pricingTier/UTILITY/INDIA")
    );
    assert_eq!(facet(account_update("ACCOUNT_VIOLATION", None, None)), None);
    assert_eq!(facet(account_update("PARTNER_ADDED", None, None)), None);
    // PIN_CHANGED keeps the facet recorded by earlier versions.
    assert_eq!(facet(pin_changed()).as_deref(), Some("security"));
    assert_eq!(
        facet(security("PIN_RESET_REQUEST")).as_deref(),
        Some("security/PIN_RESET_REQUEST")
    );
    assert_eq!(
        facet(quality_update("THROUGHPUT_UPGRADE", None)).as_deref(),
        Some("quality")
    );
}
