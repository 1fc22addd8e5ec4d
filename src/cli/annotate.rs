//! `sync`, `pause` and `resume`: the operator's two annotations, and waiting until the
//! operator has acted on them.

use std::time::Duration;

use serde_json::{Value, json};

use super::args::{PauseArgs, WaitArgs};
use super::connect::Connection;
use super::error::CliError;
use super::objects::{self, Object};
use super::target::Target;
use super::{Outcome, say};
use crate::crd::{PAUSED_ANNOTATION, RECONCILE_REQUESTED_AT, condition, find_condition, is_paused};
use crate::decide::condition_reason;

/// How often a wait reads the resource again.
const POLL: Duration = Duration::from_millis(500);

/// A token never used before: the time with nanoseconds, RFC 3339.
pub fn fresh_token(now: jiff::Timestamp) -> String {
    now.to_string()
}

/// Whether the operator reports the pause (`paused`) or its end (`!paused`).
pub fn reports_paused(object: &Object, paused: bool) -> bool {
    let reported = find_condition(object.conditions(), condition::SYNCED)
        .is_some_and(|c| c.reason == condition_reason::PAUSED);
    reported == paused
}

/// Reads the resource every half second until `done` holds; whether it did within `timeout`.
async fn wait_until(
    conn: &Connection,
    target: &Target,
    timeout: Duration,
    done: impl Fn(&Object) -> bool,
) -> Result<bool, CliError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if done(&objects::get(conn, target).await?) {
            return Ok(true);
        }
        if tokio::time::Instant::now() + POLL > deadline {
            return Ok(false);
        }
        tokio::time::sleep(POLL).await;
    }
}

fn timed_out(target: &Target, timeout: Duration, what: &str) -> Outcome {
    eprintln!(
        "timed out after {}s waiting for the operator to {what} {target}: is it running and \
         watching this namespace? (kubectl whatsapp check)",
        timeout.as_secs()
    );
    Outcome::NotDone
}

pub async fn sync(conn: &Connection, args: &WaitArgs) -> Result<Outcome, CliError> {
    let target = &args.target;
    let token = fresh_token(jiff::Timestamp::now());
    objects::annotate(conn, target, json!({ RECONCILE_REQUESTED_AT: token })).await?;
    say(&format!(
        "asked the operator to reconcile {target} ({RECONCILE_REQUESTED_AT}={token})"
    ));
    let handled = wait_until(conn, target, args.timeout, |o| {
        o.last_handled() == Some(token.as_str())
    })
    .await?;
    if !handled {
        return Ok(timed_out(target, args.timeout, "handle the request of"));
    }
    let object = objects::get(conn, target).await?;
    let paused = if is_paused(object.meta()) {
        " (paused: without calling Meta)"
    } else {
        ""
    };
    println!(
        "handled{paused}: kubectl whatsapp status {target} -n {}",
        conn.namespace
    );
    Ok(Outcome::Done)
}

/// `pause` (true) or `resume` (false).
pub async fn pause(conn: &Connection, args: &PauseArgs, paused: bool) -> Result<Outcome, CliError> {
    let target = &args.target;
    let object = objects::get(conn, target).await?;
    if is_paused(object.meta()) == paused {
        let state = if paused {
            "already paused"
        } else {
            "not paused"
        };
        println!("{target} is {state}");
    } else {
        let value = if paused {
            Value::from("true")
        } else {
            Value::Null
        };
        objects::annotate(conn, target, json!({ PAUSED_ANNOTATION: value })).await?;
        say(&pause_message(target, paused));
    }
    if !args.wait {
        return Ok(Outcome::Done);
    }
    if !wait_until(conn, target, args.timeout, |o| reports_paused(o, paused)).await? {
        let what = if paused {
            "report the pause of"
        } else {
            "resume"
        };
        return Ok(timed_out(target, args.timeout, what));
    }
    let reported = if paused {
        "Synced=False reason Paused"
    } else {
        "no longer Paused"
    };
    say(&format!("the operator reports {target} {reported}"));
    Ok(Outcome::Done)
}

pub fn pause_message(target: &Target, paused: bool) -> String {
    if paused {
        format!(
            "paused {target}: the operator makes no call to Meta for it (no read, no write) and \
             reports Synced=False reason Paused; undo with kubectl whatsapp resume {target}"
        )
    } else {
        format!("resumed {target}: the operator reads Meta again at its next reconcile")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{
        WhatsAppBusinessAccount, WhatsAppBusinessAccountSpec, WhatsAppBusinessAccountStatus,
    };
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

    fn account_synced(reason: &str) -> Object {
        let spec: WhatsAppBusinessAccountSpec = serde_json::from_value(json!({
            "businessAccountId": "1",
            "credentialsSecretRef": {"name": "t", "key": "token"}
        }))
        .unwrap();
        let mut acc = WhatsAppBusinessAccount::new("acme", spec);
        acc.status = Some(WhatsAppBusinessAccountStatus {
            conditions: vec![Condition {
                type_: "Synced".into(),
                status: if reason == "Paused" { "False" } else { "True" }.into(),
                reason: reason.into(),
                message: String::new(),
                observed_generation: None,
                last_transition_time: Time("2026-12-01T00:00:00Z".parse().unwrap()),
            }],
            ..Default::default()
        });
        Object::Account(Box::new(acc))
    }

    #[test]
    fn waits_for_the_operator_to_report_the_pause_and_its_end() {
        let held = account_synced("Paused");
        let running = account_synced("SyncSucceeded");
        assert!(reports_paused(&held, true));
        assert!(!reports_paused(&running, true));
        assert!(reports_paused(&running, false));
        assert!(!reports_paused(&held, false));
    }

    #[test]
    fn tokens_differ_within_a_second() {
        let a: jiff::Timestamp = "2026-12-01T10:00:00.1Z".parse().unwrap();
        let b: jiff::Timestamp = "2026-12-01T10:00:00.2Z".parse().unwrap();
        assert_ne!(fresh_token(a), fresh_token(b));
        assert_eq!(fresh_token(a), "2026-12-01T10:00:00.1Z");
    }

    #[test]
    fn the_pause_message_says_how_to_undo_it() {
        let t: Target = "waba/acme".parse().unwrap();
        let m = pause_message(&t, true);
        assert!(m.contains("Synced=False reason Paused"), "{m}");
        assert!(m.contains("kubectl whatsapp resume waba/acme"), "{m}");
    }
}
