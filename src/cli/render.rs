//! `status` as text for a terminal: a header with Ready, the facts, health errors, conditions
//! with their full messages, the last events and what the operator does next.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;

use super::events::EventEntry;
use super::report::{AccountFacts, ChannelFacts, StatusReport, TemplateFacts};
use super::timefmt::when;
use crate::crd::HealthEntityStatus;

/// Width used when the terminal's is unknown.
pub const DEFAULT_WIDTH: usize = 100;

/// The whole report, lines at most `width` wide (but for words longer than that).
pub fn render(r: &StatusReport, width: usize, now: Timestamp) -> String {
    let mut out = String::new();
    let reason = r
        .ready_reason
        .as_ref()
        .map_or(String::new(), |x| format!(" ({x})"));
    out.push_str(&format!(
        "{} {}/{}  Ready={}{reason}\n",
        r.kind, r.namespace, r.name, r.ready
    ));
    if let Some(ch) = &r.channel {
        channel_lines(&mut out, ch);
        fact(&mut out, "account", &account_line(&r.account));
    } else if let Some(t) = &r.template {
        template_lines(&mut out, t);
        fact(&mut out, "account", &account_line(&r.account));
    } else {
        account_lines(&mut out, &r.account, now);
    }
    if let (Some(g), Some(o)) = (r.generation, r.observed_generation)
        && o < g
    {
        fact(
            &mut out,
            "generation",
            &format!("{g}, status is of {o} (not yet handled)"),
        );
    }
    section(&mut out, "Health errors", r.health.is_empty());
    r.health
        .iter()
        .for_each(|e| health_lines(&mut out, e, width));
    section(&mut out, "Conditions", r.conditions.is_empty());
    r.conditions
        .iter()
        .for_each(|c| condition_lines(&mut out, c, width, now));
    let title = match r.events.len() {
        0 => "Events".to_string(),
        n => format!("Events (last {n}, newest last)"),
    };
    section(&mut out, &title, r.events.is_empty());
    r.events
        .iter()
        .for_each(|e| event_lines(&mut out, e, width, now));
    section(&mut out, "Next", r.next.plan.is_empty());
    for line in &r.next.plan {
        out.push_str(&wrap(line, "  - ", "    ", width));
    }
    out
}

fn section(out: &mut String, title: &str, empty: bool) {
    out.push_str(&format!("\n{title}\n"));
    if empty {
        out.push_str("  none\n");
    }
}

fn fact(out: &mut String, label: &str, value: &str) {
    out.push_str(&format!("  {label:<13}{value}\n"));
}

/// `Some` values joined by ", ", each with its label.
fn joined(parts: &[(&str, Option<&str>)]) -> String {
    parts
        .iter()
        .filter_map(|(label, v)| v.map(|v| format!("{label}{v}")))
        .collect::<Vec<_>>()
        .join(", ")
}

fn channel_lines(out: &mut String, ch: &ChannelFacts) {
    let number = joined(&[
        ("", Some(&ch.phone_number)),
        ("E.164 ", ch.e164.as_deref()),
        ("Meta id ", ch.phone_number_id.as_deref()),
    ]);
    fact(out, "number", &number);
    let meta = joined(&[
        ("Meta ", ch.status.as_deref()),
        ("quality ", ch.quality_rating.as_deref()),
        ("limit ", ch.messaging_limit.as_deref()),
        ("health ", ch.can_send_message.as_deref()),
    ]);
    let mut phase = format!("{:?}", ch.phase);
    if !meta.is_empty() {
        phase.push_str("; ");
        phase.push_str(&meta);
    }
    fact(out, "phase", &phase);
    if let Some(name) = &ch.verified_name {
        let review = ch
            .name_status
            .as_ref()
            .map_or(String::new(), |s| format!(" ({s})"));
        fact(out, "name", &format!("{name}{review}"));
    }
    fact(
        out,
        "management",
        &format!(
            "{:?}, deletionPolicy {:?}",
            ch.management, ch.deletion_policy
        ),
    );
}

fn template_lines(out: &mut String, t: &TemplateFacts) {
    let id = joined(&[
        ("", Some(&t.template)),
        ("language ", Some(&t.language)),
        ("Meta id ", t.template_id.as_deref()),
    ]);
    fact(out, "template", &id);
    let meta = joined(&[
        ("", t.status.as_deref().or(Some("not at Meta"))),
        (
            "category ",
            t.category.as_deref().or(Some(&t.spec_category)),
        ),
        ("quality ", t.quality_score.as_deref()),
    ]);
    fact(out, "meta", &meta);
    if let Some(r) = &t.rejection {
        let rec = r
            .recommendation
            .as_deref()
            .map_or(String::new(), |x| format!(" ({x})"));
        fact(out, "rejected", &format!("{}{rec}", r.reason));
    }
    if let Some(c) = &t.category_change {
        let at =
            c.at.as_ref()
                .map_or(String::new(), |t| format!(" on {}", t.0));
        fact(
            out,
            "category",
            &format!("moving to {}{at}", c.correct_category),
        );
    }
    fact(
        out,
        "management",
        &format!("{:?}, deletionPolicy {:?}", t.management, t.deletion_policy),
    );
}

/// A channel's account on one line.
fn account_line(a: &AccountFacts) -> String {
    if !a.found {
        return format!("waba/{}: not found", a.name);
    }
    let ready = a.ready.as_deref().map(|r| format!("Ready={r}"));
    let waba = a
        .business_account_id
        .as_deref()
        .map(|id| format!("WABA {id}"));
    joined(&[
        ("waba/", Some(&a.name)),
        ("", ready.as_deref()),
        ("", waba.as_deref()),
        ("health ", a.can_send_message.as_deref()),
        ("paused", a.paused.then_some("")),
    ])
}

fn account_lines(out: &mut String, a: &AccountFacts, now: Timestamp) {
    let waba = joined(&[
        ("", a.business_account_id.as_deref()),
        ("name ", a.waba_name.as_deref()),
        ("review ", a.account_review_status.as_deref()),
        (
            "business verification ",
            a.business_verification_status.as_deref(),
        ),
    ]);
    fact(out, "WABA", &waba);
    let count = a.phone_number_count.map(|n| n.to_string());
    let sending = joined(&[
        ("health ", a.can_send_message.as_deref()),
        ("limit ", a.messaging_limit.as_deref()),
        ("numbers at Meta ", count.as_deref()),
    ]);
    fact(out, "sending", &sending);
    if let Some(subscribed) = a.webhook_subscribed {
        fact(
            out,
            "webhooks",
            if subscribed {
                "subscribed"
            } else {
                "not subscribed"
            },
        );
    }
    if let Some(secret) = &a.credentials_secret {
        let expiry = a.credentials_expire_at.as_ref().map_or(String::new(), |t| {
            format!(", expires at {}", when(t.0, now))
        });
        fact(
            out,
            "credentials",
            &format!("Secret {} key \"{}\"{expiry}", secret.name, secret.key),
        );
    }
}

fn health_lines(out: &mut String, e: &HealthEntityStatus, width: usize) {
    let id = e.id.as_ref().map_or(String::new(), |id| format!(" {id}"));
    out.push_str(&format!(
        "  {}{id}: {}\n",
        e.entity_type, e.can_send_message
    ));
    for err in &e.errors {
        let code = err.code.map_or(String::new(), |c| format!("{c}: "));
        let text = format!(
            "{code}{}",
            err.description.as_deref().unwrap_or("(no description)")
        );
        out.push_str(&wrap(&text, "    ", "      ", width));
        if let Some(fix) = &err.possible_solution {
            out.push_str(&wrap(
                &format!("solution: {fix}"),
                "      ",
                "      ",
                width,
            ));
        }
    }
    for info in &e.additional_info {
        out.push_str(&wrap(info, "    ", "      ", width));
    }
}

fn condition_lines(out: &mut String, c: &Condition, width: usize, now: Timestamp) {
    out.push_str(&format!(
        "  {:<12} {:<7} {}, since {}\n",
        c.type_,
        c.status,
        c.reason,
        when(c.last_transition_time.0, now)
    ));
    if !c.message.is_empty() {
        out.push_str(&wrap(&c.message, "    ", "    ", width));
    }
}

fn event_lines(out: &mut String, e: &EventEntry, width: usize, now: Timestamp) {
    let time = e.time.as_ref().map_or("-".to_string(), |t| when(t.0, now));
    let count = if e.count > 1 {
        format!(" (x{})", e.count)
    } else {
        String::new()
    };
    out.push_str(&format!("  {time}  {} {}{count}\n", e.type_, e.reason));
    if !e.message.is_empty() {
        out.push_str(&wrap(&e.message, "    ", "    ", width));
    }
}

/// `text` wrapped at word boundaries into lines of at most `width` characters: the first line
/// starts with `first`, the others with `rest`. A word longer than a line gets a line of its own.
pub fn wrap(text: &str, first: &str, rest: &str, width: usize) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        let len = line.chars().count();
        if !empty && len + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}
