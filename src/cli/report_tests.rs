//! `status` from fixtures with a fixed clock: the facts, the plan, the text and the document.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::Outcome;
use super::events::EventEntry;
use super::render::{render, wrap};
use super::report::{StatusReport, account_report, channel_report, template_report};
use super::status::outcome;
use crate::crd::{WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppMessageTemplate};

const NOW: &str = "2026-12-01T10:00:00Z";

fn now() -> Timestamp {
    NOW.parse().unwrap()
}

fn condition(type_: &str, status: &str, reason: &str, message: &str) -> Value {
    json!({"type": type_, "status": status, "reason": reason, "message": message,
           "lastTransitionTime": "2026-12-01T09:55:00Z"})
}

fn channel(spec_extra: Value, status: Value) -> WhatsAppChannel {
    let mut spec = json!({"accountRef": {"name": "acme"}, "phoneNumber": "+1 555-078-3881"});
    if let (Some(s), Some(extra)) = (spec.as_object_mut(), spec_extra.as_object()) {
        s.extend(extra.clone());
    }
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1", "kind": "WhatsAppChannel",
        "metadata": {"name": "acme-support", "namespace": "messaging", "generation": 1},
        "spec": spec, "status": status
    }))
    .unwrap()
}

fn connected() -> WhatsAppChannel {
    channel(
        json!({}),
        json!({
            "observedGeneration": 1, "phase": "Connected", "e164": "+15550783881",
            "phoneNumberId": "106540352242922", "status": "CONNECTED", "qualityRating": "GREEN",
            "messagingLimit": "TIER_2K", "verifiedName": "Acme Support", "nameStatus": "APPROVED",
            "health": {"canSendMessage": "AVAILABLE", "entities": [
                {"entityType": "PHONE_NUMBER", "id": "106540352242922", "canSendMessage": "AVAILABLE"}]},
            "conditions": [
                condition("Ready", "True", "NumberConnected", "The number can send messages."),
                condition("Synced", "True", "SyncSucceeded", "Synced with Meta.")]
        }),
    )
}

fn account(annotations: Value, status: Value) -> WhatsAppBusinessAccount {
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1", "kind": "WhatsAppBusinessAccount",
        "metadata": {"name": "acme", "namespace": "messaging", "annotations": annotations},
        "spec": {"businessAccountId": "102290129340398",
                 "credentialsSecretRef": {"name": "acme-graph-token", "key": "token"},
                 "syncInterval": "10m"},
        "status": status
    }))
    .unwrap()
}

fn ready_account() -> WhatsAppBusinessAccount {
    account(
        json!({}),
        json!({"name": "Acme", "health": {"canSendMessage": "AVAILABLE"},
               "conditions": [condition("Ready", "True", "Available", "The WABA can send.")]}),
    )
}

fn event(reason: &str, time: &str, count: i32) -> EventEntry {
    EventEntry {
        time: Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
            time.parse().unwrap(),
        )),
        type_: "Normal".into(),
        reason: reason.into(),
        message: format!("{reason} message"),
        count,
    }
}

fn text(r: &StatusReport) -> String {
    render(r, 100, now())
}

#[test]
fn a_connected_channel_is_ready_and_says_when_meta_is_read_next() {
    let acc = ready_account();
    let events = vec![event("Registered", "2026-12-01T09:50:00Z", 2)];
    let r = channel_report(&connected(), Some(&acc), events, now());
    assert_eq!(outcome(&r), Outcome::Done);
    let t = text(&r);
    for fragment in [
        "WhatsAppChannel messaging/acme-support  Ready=True (NumberConnected)\n",
        "  number       +1 555-078-3881, E.164 +15550783881, Meta id 106540352242922\n",
        "  phase        Connected; Meta CONNECTED, quality GREEN, limit TIER_2K, health AVAILABLE\n",
        "  name         Acme Support (APPROVED)\n",
        "  account      waba/acme, Ready=True, WABA 102290129340398, health AVAILABLE\n",
        "\nHealth errors\n  none\n",
        "  Ready        True    NumberConnected, since 2026-12-01T09:55:00Z (5m ago)\n    The number can send messages.\n",
        "Events (last 1, newest last)\n  2026-12-01T09:50:00Z (10m ago)  Normal Registered (x2)\n    Registered message\n",
        "  - next read of Meta with waba/acme: every 10m (webhooks trigger syncs in between)\n",
        "  - registration budget: 3 of 3 attempts left in the moving 72 h\n",
    ] {
        assert!(t.contains(fragment), "missing {fragment:?} in\n{t}");
    }
}

#[test]
fn a_channel_waiting_for_its_code_is_not_ready_and_names_the_secret() {
    let ch = channel(
        json!({"registration": {"verificationCodeSecretRef": {"name": "acme-sales-otp", "key": "code"}}}),
        json!({"phase": "AwaitingVerificationCode",
               "registration": {"codeRequestedAt": "2026-12-01T09:58:00Z",
                                "attempts": ["2026-11-30T10:00:00Z"]},
               "conditions": [
                   condition("Ready", "False", "NotRegistered", "Not registered yet."),
                   condition("Registered", "False", "AwaitingVerificationCode", "Put the code in Secret messaging/acme-sales-otp key \"code\".")]}),
    );
    let r = channel_report(&ch, Some(&ready_account()), vec![], now());
    assert_eq!(outcome(&r), Outcome::NotDone);
    let t = text(&r);
    assert!(t.contains("Ready=False (NotRegistered)"), "{t}");
    assert!(t.contains(
        "  - waiting for the verification code Meta sent at 2026-12-01T09:58:00Z (2m ago): `kubectl whatsapp\n    verify wac/acme-support CODE` writes it into Secret acme-sales-otp key \"code\"\n"
    ), "{t}");
    assert!(t.contains("registration budget: 2 of 3 attempts left in the moving 72 h; the next frees up at\n    2026-12-03T10:00:00Z (in 2d)"), "{t}");
    let doc = serde_json::to_value(&r).unwrap();
    assert_eq!(
        doc["next"]["awaitingCodeIn"],
        json!({"name": "acme-sales-otp", "key": "code"})
    );
    assert_eq!(doc["next"]["codeRequestedAt"], "2026-12-01T09:58:00Z");
    assert_eq!(doc["next"]["budget"]["left"], 2);
    assert_eq!(doc["ready"], "False");
}

#[test]
fn waits_in_the_future_are_planned_and_those_past_are_not() {
    let ch = channel(
        json!({}),
        json!({"phase": "Stalled", "failedSyncAttempts": 3, "nextAttemptTime": "2026-12-01T10:04:00Z",
               "registration": {"retryAt": "2026-12-01T09:00:00Z", "blockedUntil": "2026-12-02T10:00:00Z",
                                "inFlight": {"step": "register", "startedAt": "2026-12-01T09:59:30Z"}},
               "conditions": [condition("Stalled", "True", "RegistrationBudgetExhausted", "Wait.")]}),
    );
    let r = channel_report(&ch, Some(&ready_account()), vec![], now());
    let plan = r.next.plan.join("\n");
    for line in [
        "stalled (RegistrationBudgetExhausted): a person must act, as the Stalled condition says",
        "after 3 failed syncs, the next call to Meta is at 2026-12-01T10:04:00Z (in 4m)",
        "register sent to Meta at 2026-12-01T09:59:30Z (30s ago): waiting for its answer",
        "Meta refuses register and deregister attempts until 2026-12-02T10:00:00Z (in 1d)",
        "registration budget: 0 of 3 attempts left in the moving 72 h; Meta refuses attempts until",
    ] {
        assert!(plan.contains(line), "missing {line:?} in\n{plan}");
    }
    assert!(!plan.contains("not before"), "retryAt is past: {plan}");
    assert!(r.next.retry_at.is_none());
    assert!(!plan.contains("next read of Meta"), "held back: {plan}");
    assert_eq!(outcome(&r), Outcome::NotDone, "no Ready condition");
    assert_eq!(r.ready, "Unknown");
}

#[test]
fn health_errors_show_metas_codes_and_solutions() {
    let ch = channel(
        json!({"management": "ObserveOnly"}),
        json!({"health": {"canSendMessage": "BLOCKED", "entities": [
            {"entityType": "PHONE_NUMBER", "canSendMessage": "AVAILABLE"},
            {"entityType": "WABA", "id": "102290129340398", "canSendMessage": "BLOCKED",
             "errors": [{"code": 141006, "description": "A payment method problem.",
                         "possibleSolution": "Add a valid payment method."}]}]}}),
    );
    let r = channel_report(&ch, Some(&ready_account()), vec![], now());
    assert_eq!(r.health.len(), 1, "only the entity with errors");
    let t = text(&r);
    assert!(t.contains(
        "\nHealth errors\n  WABA 102290129340398: BLOCKED\n    141006: A payment method problem.\n      solution: Add a valid payment method.\n"
    ), "{t}");
    assert!(
        r.next.budget.is_none(),
        "ObserveOnly numbers are never registered"
    );
    assert!(!t.contains("registration budget"), "{t}");
}

#[test]
fn a_missing_account_is_named() {
    let r = channel_report(&connected(), None, vec![], now());
    let t = text(&r);
    assert!(t.contains("  account      waba/acme: not found\n"), "{t}");
    assert!(
        t.contains("waits for its account waba/acme, which does not exist"),
        "{t}"
    );
    assert_eq!(serde_json::to_value(&r).unwrap()["account"]["found"], false);
}

#[test]
fn a_paused_account_says_how_to_resume() {
    let acc = account(
        json!({"whatsapp-operator.io/paused": "true"}),
        json!({"conditions": [
            condition("Ready", "True", "Available", "The WABA can send."),
            condition("Synced", "False", "Paused", "Paused by the annotation.")]}),
    );
    let r = account_report(&acc, vec![], now());
    assert_eq!(outcome(&r), Outcome::Done, "Ready is Ready, paused or not");
    assert!(r.next.paused);
    assert_eq!(
        r.next.plan,
        ["paused: no call to Meta until `kubectl whatsapp resume waba/acme`"]
    );
    let t = text(&r);
    assert!(
        t.starts_with("WhatsAppBusinessAccount messaging/acme  Ready=True (Available)\n"),
        "{t}"
    );
    assert!(
        t.contains("  credentials  Secret acme-graph-token key \"token\"\n"),
        "{t}"
    );
}

#[test]
fn an_account_reports_its_facts_and_interval() {
    let acc = account(
        json!({}),
        json!({"name": "Acme", "accountReviewStatus": "APPROVED", "messagingLimit": "TIER_2K",
               "phoneNumberCount": 3, "webhookSubscribed": true,
               "credentialsExpireAt": "2026-12-21T10:00:00Z",
               "health": {"canSendMessage": "AVAILABLE"}}),
    );
    let r = account_report(&acc, vec![], now());
    let t = text(&r);
    for fragment in [
        "  WABA         102290129340398, name Acme, review APPROVED\n",
        "  sending      health AVAILABLE, limit TIER_2K, numbers at Meta 3\n",
        "  webhooks     subscribed\n",
        "expires at 2026-12-21T10:00:00Z (in 20d)\n",
        "\nConditions\n  none\n",
        "\nEvents\n  none\n",
        "  - next read of Meta: every 10m (webhooks trigger syncs in between)\n",
    ] {
        assert!(t.contains(fragment), "missing {fragment:?} in\n{t}");
    }
}

#[test]
fn the_budget_counts_the_accounts_history_of_the_number_once() {
    let ch = channel(
        json!({}),
        json!({"registration": {"attempts": ["2026-11-30T10:00:00Z"]}}),
    );
    let acc = account(
        json!({}),
        json!({"registrationHistory": {"15550783881": ["2026-11-29T10:00:00Z", "2026-11-30T10:00:00Z"],
                                        "4400000000": ["2026-11-30T11:00:00Z"]}}),
    );
    let r = channel_report(&ch, Some(&acc), vec![], now());
    let b = r.next.budget.unwrap();
    assert_eq!(b.attempts.len(), 2, "{b:?}");
    assert_eq!(b.left, 1);
}

#[test]
fn an_unhandled_generation_is_shown() {
    let mut ch = connected();
    ch.metadata.generation = Some(2);
    let t = text(&channel_report(&ch, Some(&ready_account()), vec![], now()));
    assert!(
        t.contains("  generation   2, status is of 1 (not yet handled)\n"),
        "{t}"
    );
}

#[test]
fn long_messages_wrap_to_the_width_and_keep_every_word() {
    let message = "word ".repeat(60);
    let ch = channel(
        json!({}),
        json!({"conditions": [condition("Stalled", "True", "PinMismatch", &message)]}),
    );
    let r = channel_report(&ch, Some(&ready_account()), vec![], now());
    let t = render(&r, 50, now());
    let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("    word")).collect();
    assert!(lines.len() > 5, "{t}");
    assert!(lines.iter().all(|l| l.chars().count() <= 50), "{t}");
    let words: usize = lines.iter().map(|l| l.split_whitespace().count()).sum();
    assert_eq!(words, 60);
}

#[test]
fn wrap_keeps_an_overlong_word_whole() {
    assert_eq!(wrap("a bb ccc", "- ", "  ", 6), "- a bb\n  ccc\n");
    assert_eq!(wrap("abcdefghij x", "", "", 4), "abcdefghij\nx\n");
    assert_eq!(wrap("", "  ", "  ", 10), "  \n");
}

#[test]
fn the_json_document_holds_the_same_facts() {
    let r = channel_report(
        &connected(),
        Some(&ready_account()),
        vec![event("Registered", NOW, 1)],
        now(),
    );
    let doc: Value = serde_json::from_str(
        &super::output::document(&r, super::args::Output::Json)
            .unwrap()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(doc["kind"], "WhatsAppChannel");
    assert_eq!(doc["ready"], "True");
    assert_eq!(doc["channel"]["phase"], "Connected");
    assert_eq!(doc["channel"]["status"], "CONNECTED");
    assert_eq!(doc["account"]["name"], "acme");
    assert_eq!(doc["conditions"][0]["type"], "Ready");
    assert_eq!(
        doc["conditions"][0]["message"],
        "The number can send messages."
    );
    assert_eq!(doc["events"][0]["reason"], "Registered");
    assert_eq!(doc["next"]["syncInterval"], "10m");
    assert!(
        doc["next"]["plan"][0]
            .as_str()
            .unwrap()
            .starts_with("next read of Meta")
    );
}

#[test]
fn conditions_read_verdict_first() {
    let ch = channel(
        json!({}),
        json!({"conditions": [
            condition("Synced", "True", "SyncSucceeded", ""),
            condition("Reconciling", "False", "Idle", ""),
            condition("Ready", "False", "Pending", ""),
            condition("Stalled", "False", "NoActionNeeded", "")]}),
    );
    let r = channel_report(&ch, Some(&ready_account()), vec![], now());
    let order: Vec<&str> = r.conditions.iter().map(|c| c.type_.as_str()).collect();
    assert_eq!(order, ["Ready", "Stalled", "Synced", "Reconciling"]);
}

fn template(status: Value) -> WhatsAppMessageTemplate {
    serde_json::from_value(json!({
        "apiVersion": "whatsapp-operator.io/v1alpha1", "kind": "WhatsAppMessageTemplate",
        "metadata": {"name": "order-update", "namespace": "messaging", "generation": 2},
        "spec": {"accountRef": {"name": "acme"}, "name": "order_update", "language": "pt_BR",
                 "category": "UTILITY", "components": {"body": {"text": "Oi {{1}}, pedido enviado", "examples": ["Ana"]}}},
        "status": status
    }))
    .unwrap()
}

#[test]
fn a_rejected_template_is_not_ready_and_says_why_and_what_waits() {
    let t = template(json!({
        "observedGeneration": 2, "templateId": "900", "status": "REJECTED", "category": "MARKETING",
        "rejection": {"reason": "INCORRECT_CATEGORY", "recommendation": "Use MARKETING"},
        "submission": {"retryAt": "2026-12-01T11:00:00Z", "lastError": "create_template failed (throttled)"},
        "conditions": [
            condition("Ready", "False", "Rejected", "Meta rejected the template: INCORRECT_CATEGORY"),
            condition("Stalled", "True", "Rejected", "change the spec and it is submitted again")]
    }));
    let r = template_report(&t, Some(&ready_account()), Vec::new(), now());
    assert_eq!(outcome(&r), Outcome::NotDone);
    let text = text(&r);
    for fragment in [
        "WhatsAppMessageTemplate messaging/order-update  Ready=False (Rejected)\n",
        "  template     order_update, language pt_BR, Meta id 900\n",
        "  meta         REJECTED, category MARKETING\n",
        "  rejected     INCORRECT_CATEGORY (Use MARKETING)\n",
        "  account      waba/acme, Ready=True, WABA 102290129340398, health AVAILABLE\n",
        "stalled (Rejected): a person must act",
        "next write to Meta not before 2026-12-01T11:00:00Z",
    ] {
        assert!(text.contains(fragment), "missing {fragment:?} in\n{text}");
    }
    let doc: Value = serde_json::to_value(&r).unwrap();
    assert_eq!(doc["template"]["status"], "REJECTED");
    assert_eq!(doc["template"]["specCategory"], "UTILITY");
}
