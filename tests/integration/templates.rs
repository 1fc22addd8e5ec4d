//! Message templates end to end: the operator binary against a real kube-apiserver and
//! meta-sim's templates (timed reviews, Meta's rules and limits, signed template webhooks).

use std::time::Duration;

use harness::sim::Fault;
use harness::{World, example, example_with};
use kube::api::{DeleteParams, Patch, PatchParams};
use serde_json::{Value, json};
use whatsapp_operator::crd::{WhatsAppMessageTemplateStatus, condition_is_true, find_condition};

const WABA: &str = "102290129340398";
const WAIT: Duration = Duration::from_secs(120);
const UTILITY: &str = "order-shipped-pt-br";
const TEMPLATES: &str = "/message_templates";

/// The account (syncing hourly: every read in a scenario comes from a change, a write or a
/// webhook), the webhook Secret, and the operator with its receiver. Templates are reviewed by
/// the simulator `review_after` seconds after each submission.
async fn world(prefix: &str, reviews: Value) -> World {
    receiving_world(prefix, Some(reviews)).await
}

/// The account syncing hourly, the operator with its webhook receiver, and the simulator's
/// template reviews when given; shared with the other scenarios that need the receiver.
pub(super) async fn receiving_world(prefix: &str, reviews: Option<Value>) -> World {
    let (w, url) = World::with_webhook_receiver(prefix).await;
    let mut w = w.with_timeout(WAIT);
    if let Some(reviews) = reviews {
        w.sim.set_reviews(json!({ "templates": reviews })).await;
    }
    w.apply(&example_with(
        "account.yaml",
        &[("syncInterval: 10m", "syncInterval: 1h")],
    ))
    .await;
    w.start_operator_with_receiver(&url, &[]).await;
    w.wait_account("acme", "Ready", |s| {
        condition_is_true(&s.conditions, "Ready")
    })
    .await;
    w
}

fn approve_after(seconds: u64) -> Value {
    json!({"decision": "APPROVED", "after_seconds": seconds, "reject_when_body_contains": ["GRÁTIS"]})
}

fn status_is(s: &WhatsAppMessageTemplateStatus, status: &str) -> bool {
    s.status.as_deref() == Some(status)
}

fn condition<'a>(s: &'a WhatsAppMessageTemplateStatus, t: &str) -> (&'a str, &'a str, &'a str) {
    let c = find_condition(&s.conditions, t).unwrap_or_else(|| panic!("no {t} in {s:?}"));
    (c.status.as_str(), c.reason.as_str(), c.message.as_str())
}

/// Posts that create templates, and edits (`POST /{template-id}`).
async fn creates(w: &World) -> usize {
    w.sim
        .writes()
        .await
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with(TEMPLATES))
        .count()
}

async fn edits(w: &World, id: &str) -> usize {
    w.sim
        .writes()
        .await
        .iter()
        .filter(|c| c.method == "POST" && c.path.ends_with(&format!("/{id}")))
        .count()
}

async fn patch_spec(w: &World, name: &str, spec: Value) {
    w.templates()
        .patch(
            name,
            &PatchParams::default(),
            &Patch::Merge(&json!({"spec": spec})),
        )
        .await
        .unwrap_or_else(|e| panic!("patch {name}: {e}"));
}

#[tokio::test]
async fn a_template_is_created_once_reviewed_and_approved_and_then_costs_nothing() {
    let w = world("tpl-create", approve_after(2)).await;
    w.apply_example("template-utility.yaml").await;
    let pending = w
        .wait_template(UTILITY, "submitted", |s| s.template_id.is_some())
        .await;
    assert!(
        pending
            .submission
            .as_ref()
            .is_some_and(|s| s.created_at.is_some()),
        "{pending:?}"
    );
    let approved = w
        .wait_template(UTILITY, "APPROVED", |s| status_is(s, "APPROVED"))
        .await;
    assert_eq!(condition(&approved, "Ready").0, "True");
    assert_eq!(condition(&approved, "Stalled").0, "False");
    assert_eq!(approved.category.as_deref(), Some("UTILITY"));
    w.wait_events(UTILITY, "TemplateSubmitted", 1).await;
    w.wait_events(UTILITY, "TemplateApproved", 1).await;
    assert_eq!(creates(&w).await, 1, "{:?}", w.sim.writes().await);
    let id = approved.template_id.clone().unwrap();
    let at_meta = w.sim.template(&id).await;
    assert_eq!(
        (at_meta.name.as_str(), at_meta.language.as_str()),
        ("order_shipped", "pt_BR")
    );
    assert_eq!(at_meta.parameter_format, "NAMED");

    // Steady state: once a read has shown the approved template (its quality with it), a
    // forced sync reads the WABA once (templates in the same request), writes nothing to Meta
    // or to the template, and raises no event.
    w.force_sync("acme", "settle").await;
    w.wait_template(UTILITY, "read after the approval", |s| {
        status_is(s, "APPROVED") && s.quality_score.is_some()
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let before = w.template(UTILITY).await;
    let events = w.total_events().await;
    w.sim.reset_requests().await;
    w.force_sync("acme", "steady-1").await;
    tokio::time::sleep(Duration::from_secs(4)).await;
    let log = w.sim.requests().await;
    // The annotation also re-checks the webhook subscription (as documented for accounts); the
    // numbers and the templates come in the one WABA read.
    let reads: Vec<_> = log
        .iter()
        .filter(|c| c.method == "GET" && !c.path.ends_with("/subscribed_apps"))
        .collect();
    assert_eq!(
        reads.len(),
        1,
        "one read for the account and its templates: {log:?}"
    );
    assert!(reads[0].path.ends_with(WABA), "{reads:?}");
    assert!(w.sim.writes().await.is_empty());
    let after = w.template(UTILITY).await;
    assert_eq!(
        after.metadata.resource_version,
        before.metadata.resource_version,
        "no write at steady state:\n{}\n{}",
        serde_json::to_string(&before.status).unwrap(),
        serde_json::to_string(&after.status).unwrap()
    );
    assert_eq!(w.total_events().await, events);
}

#[tokio::test]
async fn a_rejection_stalls_with_metas_reason_and_a_fixed_spec_is_submitted_again() {
    let w = world("tpl-reject", approve_after(1)).await;
    w.apply(&example_with(
        "template-utility.yaml",
        &[("foi enviado e chega em", "foi enviado GRÁTIS e chega em")],
    ))
    .await;
    let rejected = w
        .wait_template(UTILITY, "REJECTED", |s| status_is(s, "REJECTED"))
        .await;
    let (stalled, reason, message) = condition(&rejected, "Stalled");
    assert_eq!((stalled, reason), ("True", "Rejected"));
    assert!(message.contains("PROMOTIONAL"), "{message}");
    assert_eq!(
        rejected.rejection.as_ref().map(|r| r.reason.as_str()),
        Some("PROMOTIONAL")
    );
    w.wait_events(UTILITY, "TemplateRejected", 1).await;
    // Nothing is resubmitted while the spec stays as Meta rejected it.
    let id = rejected.template_id.clone().unwrap();
    w.force_sync("acme", "still-rejected").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(edits(&w, &id).await, 0);
    assert_eq!(creates(&w).await, 1);

    let mut fixed: Value = serde_saphyr::from_str(&example("template-utility.yaml")).unwrap();
    let body = "Olá {{first_name}}, seu pedido {{order_id}} saiu e chega em {{eta}}. Obrigado!";
    fixed["spec"]["components"]["body"]["text"] = json!(body);
    patch_spec(
        &w,
        UTILITY,
        json!({"components": fixed["spec"]["components"]}),
    )
    .await;
    let approved = w
        .wait_template(UTILITY, "APPROVED after the fix", |s| {
            status_is(s, "APPROVED")
        })
        .await;
    assert_eq!(
        approved.template_id.as_deref(),
        Some(id.as_str()),
        "edited in place"
    );
    assert_eq!(edits(&w, &id).await, 1);
    assert_eq!(condition(&approved, "Stalled").0, "False");
    let at_meta = w.sim.template(&id).await;
    let text = serde_json::to_string(&at_meta.components).unwrap();
    assert!(text.contains("saiu e chega"), "{text}");
    w.wait_events(UTILITY, "TemplateApproved", 1).await;
}

/// A template made in WhatsApp Manager, adopted by name and language.
fn made_elsewhere() -> Value {
    json!({
        "name": "welcome", "language": "en_US", "category": "MARKETING", "status": "APPROVED",
        "components": [{"type": "BODY", "text": "Welcome to Acme, {{1}}! Reply STOP to opt out.",
                        "example": {"body_text": [["Ana"]]}}]
    })
}

fn welcome(management: &str, body: &str) -> String {
    format!(
        r#"apiVersion: whatsapp-operator.io/v1alpha1
kind: WhatsAppMessageTemplate
metadata:
  name: welcome-en
spec:
  accountRef:
    name: acme
  name: welcome
  language: en_US
  category: MARKETING
  management: {management}
  components:
    body:
      text: "{body}"
      examples: ["Ana"]
"#
    )
}

#[tokio::test]
async fn an_existing_template_is_adopted_and_observe_only_never_writes() {
    let w = world("tpl-adopt", approve_after(1)).await;
    let id = w.sim.add_template(WABA, made_elsewhere()).await;
    w.apply(&welcome(
        "ObserveOnly",
        "Something else entirely, {{1}} friend.",
    ))
    .await;
    let s = w
        .wait_template("welcome-en", "adopted", |s| s.template_id.is_some())
        .await;
    assert_eq!(s.template_id.as_deref(), Some(id.as_str()));
    assert_eq!(condition(&s, "Ready").0, "True");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert!(
        w.sim
            .writes()
            .await
            .iter()
            .all(|c| !c.path.contains(&id) && !c.path.ends_with(TEMPLATES)),
        "ObserveOnly wrote: {:?}",
        w.sim.writes().await
    );
    // Managed with the same content as Meta's: adopted without an edit.
    w.apply(&welcome(
        "Managed",
        "Welcome to Acme, {{1}}! Reply STOP to opt out.",
    ))
    .await;
    w.force_sync("acme", "managed").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(edits(&w, &id).await, 0);
    assert_eq!(creates(&w).await, 0);
}

#[tokio::test]
async fn metas_lifecycle_webhooks_reach_status_and_raise_one_event_each() {
    let w = world("tpl-lifecycle", approve_after(1)).await;
    let id = w.sim.add_template(WABA, made_elsewhere()).await;
    w.apply(&welcome("ObserveOnly", "x {{1}} y")).await;
    w.wait_template("welcome-en", "approved", |s| status_is(s, "APPROVED"))
        .await;
    let name = "welcome-en";

    w.sim
        .template_event(&id, "quality", json!({"score": "RED"}))
        .await;
    w.wait_template(name, "RED", |s| s.quality_score.as_deref() == Some("RED"))
        .await;
    w.wait_events(name, "TemplateQualityDegraded", 1).await;

    w.sim
        .template_event(&id, "pause", json!({"title": "FIRST_PAUSE"}))
        .await;
    let paused = w
        .wait_template(name, "PAUSED", |s| status_is(s, "PAUSED"))
        .await;
    assert_eq!(
        paused.pause.as_ref().and_then(|p| p.title.as_deref()),
        Some("FIRST_PAUSE")
    );
    assert_eq!(condition(&paused, "Ready").1, "Paused");
    w.wait_events(name, "TemplatePaused", 1).await;

    w.sim.template_event(&id, "unpause", json!({})).await;
    w.wait_template(name, "unpaused", |s| status_is(s, "APPROVED"))
        .await;
    w.wait_events(name, "TemplateUnpaused", 1).await;

    w.sim
        .template_event(&id, "quality", json!({"score": "GREEN"}))
        .await;
    w.wait_events(name, "TemplateQualityRecovered", 1).await;

    w.sim
        .template_event(
            &id,
            "announce_category",
            json!({"correct_category": "UTILITY"}),
        )
        .await;
    let changing = w
        .wait_template(name, "category change announced", |s| {
            s.category_change.is_some()
        })
        .await;
    assert_eq!(
        changing.category_change.as_ref().unwrap().correct_category,
        "UTILITY"
    );
    assert!(changing.category_change.as_ref().unwrap().at.is_some());
    w.wait_events(name, "TemplateCategoryChanging", 1).await;
    w.sim.template_event(&id, "apply_category", json!({})).await;
    let changed = w
        .wait_template(name, "category changed", |s| {
            s.category.as_deref() == Some("UTILITY")
        })
        .await;
    assert_eq!(changed.previous_category.as_deref(), Some("MARKETING"));
    assert_eq!(changed.category_change, None);
    w.wait_events(name, "TemplateCategoryChanged", 1).await;

    w.sim.template_event(&id, "disable", json!({})).await;
    let disabled = w
        .wait_template(name, "DISABLED", |s| status_is(s, "DISABLED"))
        .await;
    assert!(disabled.disabled_at.is_some());
    assert_eq!(condition(&disabled, "Ready").1, "Disabled");
    w.wait_events(name, "TemplateDisabled", 1).await;
    // A forced read of Meta (the same facts) raises nothing again.
    let events = w.total_events().await;
    w.force_sync("acme", "after-lifecycle").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(w.total_events().await, events, "{:?}", w.events().await);
}

#[tokio::test]
async fn an_approved_template_is_edited_once_then_waits_for_metas_daily_limit() {
    let w = world("tpl-edit", approve_after(1)).await;
    w.apply_example("template-utility.yaml").await;
    let first = w
        .wait_template(UTILITY, "APPROVED", |s| status_is(s, "APPROVED"))
        .await;
    let id = first.template_id.clone().unwrap();
    let mut spec: Value = serde_saphyr::from_str(&example("template-utility.yaml")).unwrap();
    let components = &mut spec["spec"]["components"];
    components["footer"] = json!({"text": "Acme Lojas"});
    patch_spec(&w, UTILITY, json!({"components": components.clone()})).await;
    w.wait_template(UTILITY, "edit recorded", |s| {
        s.submission.as_ref().is_some_and(|x| x.edits.len() == 1)
    })
    .await;
    w.wait_template(UTILITY, "approved again", |s| status_is(s, "APPROVED"))
        .await;
    assert_eq!(edits(&w, &id).await, 1);

    components["footer"] = json!({"text": "Acme Lojas Brasil"});
    patch_spec(&w, UTILITY, json!({"components": components.clone()})).await;
    let waiting = w
        .wait_template(UTILITY, "waiting for the daily limit", |s| {
            find_condition(&s.conditions, "Reconciling").is_some_and(|c| c.reason == "Waiting")
        })
        .await;
    let (_, _, message) = condition(&waiting, "Reconciling");
    assert!(message.contains("24 hours"), "{message}");
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(
        edits(&w, &id).await,
        1,
        "the second edit waits for Meta's limit"
    );
    assert_eq!(
        condition(&waiting, "Ready").0,
        "True",
        "the approved content stays sendable"
    );
}

#[tokio::test]
async fn deletion_follows_the_policy_and_delete_removes_only_that_language() {
    let w = world("tpl-delete", approve_after(1)).await;
    w.apply(&example_with(
        "template-utility.yaml",
        &[(
            "category: UTILITY",
            "category: UTILITY\n  deletionPolicy: Delete",
        )],
    ))
    .await;
    let s = w
        .wait_template(UTILITY, "APPROVED", |s| status_is(s, "APPROVED"))
        .await;
    let id = s.template_id.clone().unwrap();
    let other = w
        .sim
        .add_template(WABA, json!({"name": "order_shipped", "language": "en_US", "category": "UTILITY",
            "components": [{"type": "BODY", "text": "Hi {{1}}, shipped.", "example": {"body_text": [["Ana"]]}}]}))
        .await;
    w.templates()
        .delete(UTILITY, &DeleteParams::default())
        .await
        .unwrap();
    w.wait_template_gone(UTILITY).await;
    let deletes: Vec<_> = w
        .sim
        .writes()
        .await
        .into_iter()
        .filter(|c| c.method == "DELETE")
        .collect();
    assert_eq!(deletes.len(), 1, "{deletes:?}");
    assert_eq!(w.sim.template(&id).await.status, "PENDING_DELETION");
    assert_eq!(
        w.sim.template(&other).await.status,
        "APPROVED",
        "the other language stays"
    );
    w.wait_events(UTILITY, "TemplateDeleted", 1).await;

    // The same template applied again within Meta's 30 days: the name is reserved, a person
    // must choose another; nothing is created.
    w.apply_example("template-utility.yaml").await;
    let reserved = w
        .wait_template(UTILITY, "Stalled on the reserved name", |s| {
            find_condition(&s.conditions, "Stalled")
                .is_some_and(|c| c.status == "True" && c.reason == "NameReserved")
        })
        .await;
    assert!(condition(&reserved, "Stalled").2.contains("30 days"));
    assert_eq!(creates(&w).await, 1, "{:?}", w.sim.writes().await);
    w.templates()
        .delete(UTILITY, &DeleteParams::default())
        .await
        .unwrap();
    w.wait_template_gone(UTILITY).await;

    // Orphan (the default): the resource goes, the template stays.
    w.apply(&welcome(
        "Managed",
        "Welcome to Acme, {{1}}! Reply STOP to opt out.",
    ))
    .await;
    let s = w
        .wait_template("welcome-en", "APPROVED", |s| status_is(s, "APPROVED"))
        .await;
    w.templates()
        .delete("welcome-en", &DeleteParams::default())
        .await
        .unwrap();
    w.wait_template_gone("welcome-en").await;
    assert_eq!(
        w.sim
            .writes()
            .await
            .iter()
            .filter(|c| c.method == "DELETE")
            .count(),
        1
    );
    assert_eq!(
        w.sim
            .template(s.template_id.as_deref().unwrap())
            .await
            .status,
        "APPROVED"
    );
}

#[tokio::test]
async fn a_kill_between_the_intent_and_metas_answer_never_creates_a_duplicate() {
    let mut w = world("tpl-kill", json!({"decision": "manual"})).await;
    // Meta creates the template at once and answers 10 s later: the operator is killed while it
    // waits, with the intent in status and no answer.
    w.sim
        .add_fault(
            Fault::on(format!("/{WABA}{TEMPLATES}"))
                .method("POST")
                .count(1)
                .answer_delay(Duration::from_secs(10)),
        )
        .await;
    w.apply_example("template-utility.yaml").await;
    w.wait_template(UTILITY, "create in flight", |s| {
        s.submission.as_ref().is_some_and(|x| x.in_flight.is_some())
    })
    .await;
    w.operator_mut().kill();
    w.operator_mut().restart();
    let adopted = w
        .wait_template(UTILITY, "adopted after the restart", |s| {
            s.template_id.is_some() && s.submission.as_ref().is_some_and(|x| x.in_flight.is_none())
        })
        .await;
    assert_eq!(creates(&w).await, 1, "{:?}", w.sim.writes().await);
    let at_meta = w.sim.waba(WABA).await;
    let same: Vec<_> = at_meta
        .message_templates
        .iter()
        .filter(|t| t.name == "order_shipped" && t.language == "pt_BR")
        .collect();
    assert_eq!(same.len(), 1);
    assert_eq!(adopted.template_id.as_deref(), Some(same[0].id.as_str()));
    assert_eq!(adopted.status.as_deref(), Some("PENDING"));
}
