use jiff::Timestamp;
use serde_json::json;

use super::*;
use crate::crd::{WhatsAppMessageTemplateSpec, condition, find_condition};
use crate::meta::{ErrorClass, Fact, GraphError, TemplateRef};

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

fn spec(body: &str) -> WhatsAppMessageTemplateSpec {
    serde_json::from_value(json!({
        "accountRef": {"name": "acme"},
        "name": "order_update",
        "language": "pt_BR",
        "category": "UTILITY",
        "components": {
            "body": {"text": body, "examples": ["Ana"]},
            "buttons": [{"type": "QUICK_REPLY", "text": "Parar"}]
        }
    }))
    .unwrap()
}

/// Meta's copy of `spec`, with what Meta adds (examples reshaped, extra fields).
fn at_meta(spec: &WhatsAppMessageTemplateSpec, status: &str) -> MessageTemplate {
    let mut components = content_of(spec).components;
    for c in &mut components {
        c.as_object_mut()
            .unwrap()
            .insert("extra".into(), json!("meta adds this"));
    }
    MessageTemplate {
        id: "900".into(),
        name: spec.name.clone(),
        language: spec.language.clone(),
        status: Some(status.into()),
        category: Some("UTILITY".into()),
        previous_category: None,
        parameter_format: Some("POSITIONAL".into()),
        components,
        quality_score: Some("GREEN".into()),
        rejected_reason: Some(
            if status == "REJECTED" {
                "PROMOTIONAL"
            } else {
                "NONE"
            }
            .into(),
        ),
        message_send_ttl_seconds: None,
    }
}

fn plan(
    spec: &WhatsAppMessageTemplateSpec,
    previous: Option<&WhatsAppMessageTemplateStatus>,
    found: Option<MessageTemplate>,
    read_at: &str,
    facts: &[Notice],
    now: &str,
) -> TemplatePlan {
    plan_template(TemplateInput {
        spec,
        generation: Some(1),
        previous,
        observation: TemplateObservation::Read {
            found,
            malformed: None,
            read_at: ts(read_at),
        },
        facts,
        requested_at: None,
        now: ts(now),
    })
}

fn reasons(p: &TemplatePlan) -> Vec<&'static str> {
    p.events.iter().map(|e| e.reason).collect()
}

fn cond<'a>(s: &'a WhatsAppMessageTemplateStatus, t: &str) -> (&'a str, &'a str) {
    let c = find_condition(&s.conditions, t).unwrap();
    (c.status.as_str(), c.reason.as_str())
}

/// Runs a write through its intent and Meta's answer, as the runtime does.
fn written(
    p: &TemplatePlan,
    result: Result<(), GraphError>,
    now: &str,
) -> WhatsAppMessageTemplateStatus {
    let mut status = p.status.clone();
    let w = p.write.clone().expect("a write");
    record_intent(&mut status, &w, ts(now));
    record_outcome(&mut status, &w, &result, ts(now));
    status
}

#[test]
fn a_missing_template_is_created_once_and_a_read_older_than_the_create_changes_nothing() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let first = plan(
        &s,
        None,
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert!(matches!(first.write, Some(TemplateWrite::Create { .. })));
    let after = written(&first, Ok(()), "2026-12-01T10:00:02Z");
    assert_eq!(after.status.as_deref(), Some("PENDING"));
    // Decided again on the same (older) read: no second create, no event.
    let again = plan(
        &s,
        Some(&after),
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:03Z",
    );
    assert_eq!(again.write, None);
    assert!(again.needs_read);
    assert_eq!(again.status.status.as_deref(), Some("PENDING"));
    // Status keeps times to the second: a read begun later within the write's second is not
    // known to show it either.
    let same_second = plan(
        &s,
        Some(&after),
        None,
        "2026-12-01T10:00:02.600Z",
        &[],
        "2026-12-01T10:00:03Z",
    );
    assert_eq!(same_second.write, None);
    let later = plan(
        &s,
        Some(&after),
        None,
        "2026-12-01T10:00:04Z",
        &[],
        "2026-12-01T10:00:05Z",
    );
    assert!(
        matches!(later.write, Some(TemplateWrite::Create { .. })),
        "a read after the create that lacks it: created again"
    );
    // The events come from the status before the create versus after it, once.
    let events = report::template_events(Some(&first.status), &after);
    assert_eq!(
        events.iter().map(|e| e.reason).collect::<Vec<_>>(),
        vec![reason::TEMPLATE_SUBMITTED]
    );
    assert!(reasons(&again).is_empty(), "{:?}", again.events);
}

#[test]
fn approval_is_ready_once_and_a_steady_state_changes_nothing() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let approved = plan(
        &s,
        None,
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert_eq!(
        approved.write, None,
        "Meta's extra fields are no reason to edit"
    );
    assert_eq!(
        cond(&approved.status, condition::READY),
        ("True", "Approved")
    );
    assert_eq!(reasons(&approved), vec![reason::TEMPLATE_APPROVED]);
    let steady = plan(
        &s,
        Some(&approved.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T11:00:00Z",
        &[],
        "2026-12-01T11:00:01Z",
    );
    assert_eq!(steady.status, approved.status);
    assert!(steady.events.is_empty());
    assert_eq!(steady.write, None);
}

#[test]
fn a_rejection_stalls_until_the_spec_changes_and_then_the_template_is_edited() {
    let s = spec("Compre já {{1}}, promoção");
    let rejected = plan(
        &s,
        None,
        Some(at_meta(&s, "REJECTED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert_eq!(rejected.write, None);
    assert_eq!(
        cond(&rejected.status, condition::STALLED),
        ("True", "Rejected")
    );
    assert!(
        find_condition(&rejected.status.conditions, condition::STALLED)
            .unwrap()
            .message
            .contains("PROMOTIONAL")
    );
    assert_eq!(reasons(&rejected), vec![reason::TEMPLATE_REJECTED]);
    let fixed = spec("Olá {{1}}, seu pedido saiu");
    let edit = plan(
        &fixed,
        Some(&rejected.status),
        Some(at_meta(&s, "REJECTED")),
        "2026-12-01T10:05:00Z",
        &[],
        "2026-12-01T10:05:01Z",
    );
    match &edit.write {
        Some(TemplateWrite::Edit {
            template_id,
            approved,
            ..
        }) => {
            assert_eq!(template_id, "900");
            assert!(!approved, "edits of a rejected template are not counted");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn an_approved_template_is_edited_at_most_once_a_day_and_waits_saying_until_when() {
    let old = spec("Olá {{1}}, seu pedido saiu");
    let approved = plan(
        &old,
        None,
        Some(at_meta(&old, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let new = spec("Olá {{1}}, seu pedido foi enviado");
    let first = plan(
        &new,
        Some(&approved.status),
        Some(at_meta(&old, "APPROVED")),
        "2026-12-01T10:01:00Z",
        &[],
        "2026-12-01T10:01:01Z",
    );
    assert!(matches!(
        first.write,
        Some(TemplateWrite::Edit { approved: true, .. })
    ));
    let edited = written(&first, Ok(()), "2026-12-01T10:01:02Z");
    assert_eq!(edited.submission.as_ref().unwrap().edits.len(), 1);
    // Meta auto-approves the edit; the spec changes again an hour later.
    let newer = spec("Oi {{1}}, pedido enviado");
    let mut meta = at_meta(&new, "APPROVED");
    meta.id = "900".into();
    let second = plan(
        &newer,
        Some(&edited),
        Some(meta),
        "2026-12-01T11:00:00Z",
        &[],
        "2026-12-01T11:00:01Z",
    );
    assert_eq!(second.write, None);
    let (state, why) = cond(&second.status, condition::RECONCILING);
    assert_eq!((state, why), ("True", "Waiting"));
    let message = &find_condition(&second.status.conditions, condition::RECONCILING)
        .unwrap()
        .message;
    assert!(message.contains("2026-12-02T10:01:02Z"), "{message}");
    assert!(second.requeue_after > std::time::Duration::from_secs(60));
}

#[test]
fn ten_edits_in_thirty_days_wait_for_the_oldest_to_leave_the_window() {
    let now = ts("2026-12-20T00:00:00Z");
    let edits = (0..10)
        .map(|d| {
            crate::decide::status_time(
                ts("2026-12-01T00:00:00Z") + jiff::SignedDuration::from_hours(36 * d),
            )
        })
        .collect();
    let submission = crate::crd::TemplateSubmission {
        edits,
        ..Default::default()
    };
    assert_eq!(
        edit_allowed_at(&submission, now),
        Some(ts("2026-12-31T00:00:00Z"))
    );
    let few = crate::crd::TemplateSubmission {
        edits: vec![crate::decide::status_time(ts("2026-12-18T00:00:00Z"))],
        ..Default::default()
    };
    assert_eq!(edit_allowed_at(&few, now), None);
}

#[test]
fn observe_only_never_writes_and_reports_a_missing_template() {
    let mut s = spec("Olá {{1}}");
    s.management = Management::ObserveOnly;
    let p = plan(
        &s,
        None,
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert_eq!(p.write, None);
    assert_eq!(cond(&p.status, condition::READY), ("False", "NotFound"));
    let found = plan(
        &s,
        None,
        Some(at_meta(&spec("something else {{1}} here"), "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert_eq!(
        found.write, None,
        "ObserveOnly never edits, even when content differs"
    );
    assert_eq!(found.status.template_id.as_deref(), Some("900"));
}

fn notice(fact: Fact, at: &str) -> Notice {
    Notice::new(fact, Some(ts(at).as_second()))
}

fn status_fact(event: &str, title: Option<&str>) -> Fact {
    Fact::TemplateStatus {
        waba_id: "w".into(),
        template: TemplateRef {
            id: Some("900".into()),
            name: Some("order_update".into()),
            language: Some("pt_BR".into()),
        },
        event: event.into(),
        category: Some("UTILITY".into()),
        reason: None,
        recommendation: None,
        info_title: title.map(str::to_owned),
        info_description: None,
        disable_date: None,
    }
}

#[test]
fn a_pause_notice_newer_than_the_read_wins_and_an_older_one_is_ignored() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let approved = plan(
        &s,
        None,
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let paused = plan(
        &s,
        Some(&approved.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[notice(
            status_fact("PAUSED", Some("FIRST_PAUSE")),
            "2026-12-01T10:30:00Z",
        )],
        "2026-12-01T10:30:01Z",
    );
    assert_eq!(paused.status.status.as_deref(), Some("PAUSED"));
    assert_eq!(
        paused.status.pause.as_ref().unwrap().title.as_deref(),
        Some("FIRST_PAUSE")
    );
    assert_eq!(cond(&paused.status, condition::READY), ("False", "Paused"));
    assert_eq!(reasons(&paused), vec![reason::TEMPLATE_PAUSED]);
    // A read that started before the notice does not undo it; a late APPROVED older than the
    // pause is ignored.
    let late = plan(
        &s,
        Some(&paused.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:20:00Z",
        &[notice(
            status_fact("APPROVED", None),
            "2026-12-01T10:10:00Z",
        )],
        "2026-12-01T10:31:00Z",
    );
    assert_eq!(late.status.status.as_deref(), Some("PAUSED"));
    assert!(late.events.is_empty());
    // A later read that shows it approved again: unpaused, once.
    let back = plan(
        &s,
        Some(&late.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T14:00:00Z",
        &[],
        "2026-12-01T14:00:01Z",
    );
    assert_eq!(reasons(&back), vec![reason::TEMPLATE_UNPAUSED]);
}

#[test]
fn quality_and_category_changes_raise_one_event_each() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let approved = plan(
        &s,
        None,
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let template = TemplateRef {
        id: Some("900".into()),
        ..Default::default()
    };
    let facts = [
        notice(
            Fact::TemplateQuality {
                waba_id: "w".into(),
                template: template.clone(),
                score: "RED".into(),
                previous: Some("GREEN".into()),
            },
            "2026-12-01T11:00:00Z",
        ),
        notice(
            Fact::TemplateCategory {
                waba_id: "w".into(),
                template: template.clone(),
                new_category: "UTILITY".into(),
                previous_category: None,
                correct_category: Some("MARKETING".into()),
                update_at: Some(ts("2026-12-02T11:00:00Z").as_second()),
            },
            "2026-12-01T11:00:01Z",
        ),
    ];
    let changed = plan(
        &s,
        Some(&approved.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &facts,
        "2026-12-01T11:00:02Z",
    );
    assert_eq!(
        reasons(&changed),
        vec![
            reason::TEMPLATE_QUALITY_DEGRADED,
            reason::TEMPLATE_CATEGORY_CHANGING
        ]
    );
    assert!(
        changed.events[1].note.contains("2026-12-02T11:00:00Z"),
        "{}",
        changed.events[1].note
    );
    let applied = [notice(
        Fact::TemplateCategory {
            waba_id: "w".into(),
            template,
            new_category: "MARKETING".into(),
            previous_category: Some("UTILITY".into()),
            correct_category: None,
            update_at: None,
        },
        "2026-12-02T11:00:00Z",
    )];
    let done = plan(
        &s,
        Some(&changed.status),
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &applied,
        "2026-12-02T11:00:01Z",
    );
    assert_eq!(reasons(&done), vec![reason::TEMPLATE_CATEGORY_CHANGED]);
    assert_eq!(done.status.category.as_deref(), Some("MARKETING"));
    assert_eq!(done.status.category_change, None);
    assert_eq!(
        done.write, None,
        "Meta's category change is never fought with an edit"
    );
}

#[test]
fn a_create_whose_answer_was_lost_is_adopted_from_the_next_read_not_sent_again() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let first = plan(
        &s,
        None,
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let mut crashed = first.status.clone();
    record_intent(
        &mut crashed,
        first.write.as_ref().unwrap(),
        ts("2026-12-01T10:00:02Z"),
    );
    // Restarted within the hold: nothing sent.
    let held = plan(
        &s,
        Some(&crashed),
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:10Z",
    );
    assert_eq!(held.write, None);
    assert!(held.needs_read, "the read began before the intent");
    // A read after the intent that does not show it yet: held until the hold ends, without
    // asking for more reads (no loop against Meta).
    let fresh = plan(
        &s,
        Some(&crashed),
        None,
        "2026-12-01T10:00:05Z",
        &[],
        "2026-12-01T10:00:10Z",
    );
    assert_eq!(fresh.write, None);
    assert!(!fresh.needs_read);
    let after_hold = plan(
        &s,
        Some(&crashed),
        None,
        "2026-12-01T10:00:40Z",
        &[],
        "2026-12-01T10:00:41Z",
    );
    assert!(
        matches!(after_hold.write, Some(TemplateWrite::Create { .. })),
        "lost before it reached Meta: planned again"
    );
    assert_eq!(
        after_hold.status.submission.as_ref().unwrap().in_flight,
        None
    );
    // A read after the intent shows the template: adopted.
    let adopted = plan(
        &s,
        Some(&crashed),
        Some(at_meta(&s, "PENDING")),
        "2026-12-01T10:01:00Z",
        &[],
        "2026-12-01T10:01:01Z",
    );
    assert_eq!(adopted.write, None);
    assert_eq!(adopted.status.template_id.as_deref(), Some("900"));
    let submission = adopted.status.submission.as_ref().unwrap();
    assert_eq!(submission.in_flight, None);
    assert!(submission.created_at.is_some());
    assert_eq!(reasons(&adopted), vec![reason::TEMPLATE_SUBMITTED]);
    // Meta answering "already exists" to a create clears the failure and waits for the read.
    let mut status = first.status.clone();
    let exists = GraphError {
        refusal: Some(crate::meta::Refusal::TemplateExists),
        ..GraphError::local(ErrorClass::InvalidRequest, "create_template", "exists")
    };
    record_outcome(
        &mut status,
        first.write.as_ref().unwrap(),
        &Err(exists),
        ts("2026-12-01T10:00:03Z"),
    );
    assert_eq!(status.submission.as_ref().unwrap().last_error, None);
}

#[test]
fn a_throttled_create_waits_and_a_refused_one_stalls_until_the_spec_changes() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let first = plan(
        &s,
        None,
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let throttled = GraphError {
        retry_after: Some(std::time::Duration::from_secs(600)),
        ..GraphError::local(ErrorClass::Throttled, "create_template", "too many")
    };
    let waiting = written(&first, Err(throttled), "2026-12-01T10:00:02Z");
    let again = plan(
        &s,
        Some(&waiting),
        None,
        "2026-12-01T10:01:00Z",
        &[],
        "2026-12-01T10:01:01Z",
    );
    assert_eq!(again.write, None);
    assert_eq!(
        cond(&again.status, condition::RECONCILING),
        ("True", "Waiting")
    );
    let later = plan(
        &s,
        Some(&waiting),
        None,
        "2026-12-01T10:11:00Z",
        &[],
        "2026-12-01T10:11:01Z",
    );
    assert!(
        matches!(later.write, Some(TemplateWrite::Create { .. })),
        "the same content is sent again after the wait"
    );

    let refused = GraphError::local(
        ErrorClass::InvalidRequest,
        "create_template",
        "Invalid parameter",
    );
    let stalled_status = written(&first, Err(refused), "2026-12-01T10:00:02Z");
    let stalled = plan(
        &s,
        Some(&stalled_status),
        None,
        "2026-12-01T10:01:00Z",
        &[],
        "2026-12-01T10:01:01Z",
    );
    assert_eq!(stalled.write, None);
    assert_eq!(
        cond(&stalled.status, condition::STALLED),
        ("True", "MetaRefused")
    );
    let fixed = spec("Olá {{1}}, seu pedido foi enviado");
    let retried = plan(
        &fixed,
        Some(&stalled_status),
        None,
        "2026-12-01T10:02:00Z",
        &[],
        "2026-12-01T10:02:01Z",
    );
    assert!(matches!(retried.write, Some(TemplateWrite::Create { .. })));
}

#[test]
fn content_comparison_ignores_what_only_meta_adds_and_sees_real_changes() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let wanted = content_of(&s).components;
    let meta = at_meta(&s, "APPROVED").components;
    assert!(same_components(&wanted, &meta));
    let other = content_of(&spec("Olá {{1}}, outro texto")).components;
    assert!(!same_components(&other, &meta));
    let mut no_buttons = meta.clone();
    no_buttons.pop();
    assert!(!same_components(&wanted, &no_buttons));
    assert_ne!(
        content_hash(&content_of(&s)),
        content_hash(&content_of(&spec("x {{1}} y")))
    );
}

#[test]
fn deletion_follows_the_policy_and_meta_s_rules() {
    let mut s = spec("Olá {{1}}");
    let found = at_meta(&s, "APPROVED");
    assert_eq!(
        plan_deletion(&s, None, Some(&found), true),
        DeletionStep::Release(None)
    );
    s.deletion_policy = TemplateDeletionPolicy::Delete;
    assert_eq!(
        plan_deletion(&s, None, Some(&found), true),
        DeletionStep::Delete {
            name: "order_update".into(),
            template_id: "900".into()
        }
    );
    assert!(matches!(
        plan_deletion(&s, None, Some(&found), false),
        DeletionStep::Release(Some(_))
    ));
    let disabled = at_meta(&s, "DISABLED");
    assert!(
        matches!(plan_deletion(&s, None, Some(&disabled), true), DeletionStep::Release(Some(e)) if e.note.contains("DISABLED"))
    );
    assert_eq!(
        plan_deletion(&s, None, None, true),
        DeletionStep::Release(None)
    );
}

#[test]
fn a_disabled_template_stalls_and_a_reserved_name_waits_saying_when() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let disabled = plan(
        &s,
        None,
        Some(at_meta(&s, "DISABLED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    assert_eq!(disabled.write, None);
    assert_eq!(
        cond(&disabled.status, condition::STALLED),
        ("True", "Disabled")
    );
    assert_eq!(
        cond(&disabled.status, condition::READY),
        ("False", "Disabled")
    );

    let first = plan(
        &s,
        None,
        None,
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let reserved = GraphError {
        refusal: Some(crate::meta::Refusal::TemplateNameReserved),
        ..GraphError::local(
            ErrorClass::InvalidRequest,
            "create_template",
            "name deleted",
        )
    };
    let after = written(&first, Err(reserved), "2026-12-01T10:00:02Z");
    let waiting = plan(
        &s,
        Some(&after),
        None,
        "2026-12-01T10:00:05Z",
        &[],
        "2026-12-01T10:00:06Z",
    );
    assert_eq!(waiting.write, None);
    let (state, why) = cond(&waiting.status, condition::STALLED);
    assert_eq!((state, why), ("True", "NameReserved"));
    let message = &find_condition(&waiting.status.conditions, condition::STALLED)
        .unwrap()
        .message;
    assert!(
        message.contains("30 days") && message.contains("2026-12-01T11:00:02Z"),
        "{message}"
    );
    // An hour later it is tried again, not stalled for good.
    let retry = plan(
        &s,
        Some(&after),
        None,
        "2026-12-01T11:00:05Z",
        &[],
        "2026-12-01T11:00:06Z",
    );
    assert!(matches!(retry.write, Some(TemplateWrite::Create { .. })));
}

#[test]
fn a_new_reconcile_request_is_echoed_and_asks_for_a_fresh_read_once() {
    let s = spec("Olá {{1}}, seu pedido saiu");
    let approved = plan(
        &s,
        None,
        Some(at_meta(&s, "APPROVED")),
        "2026-12-01T10:00:00Z",
        &[],
        "2026-12-01T10:00:01Z",
    );
    let input = |previous| TemplateInput {
        spec: &s,
        generation: Some(1),
        previous,
        observation: TemplateObservation::Read {
            found: Some(at_meta(&s, "APPROVED")),
            malformed: None,
            read_at: ts("2026-12-01T10:00:00Z"),
        },
        facts: &[],
        requested_at: Some("token-1"),
        now: ts("2026-12-01T10:01:00Z"),
    };
    let asked = plan_template(input(Some(&approved.status)));
    assert!(asked.needs_read);
    assert_eq!(
        asked.status.sync.last_handled_reconcile_at.as_deref(),
        Some("token-1")
    );
    let again = plan_template(input(Some(&asked.status)));
    assert!(!again.needs_read, "handled once");
}
