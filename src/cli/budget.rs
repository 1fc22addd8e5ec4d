//! A number's registration budget: register and deregister attempts in the moving window, from
//! the channel's `status.registration` and its account's `status.registrationHistory` (attempts
//! of channels deleted before this one), counted once each.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use serde::Serialize;

use super::Outcome;
use super::args::BudgetArgs;
use super::connect::Connection;
use super::error::CliError;
use super::objects;
use super::output::document;
use super::render::wrap;
use super::timefmt::when;
use crate::crd::{RegistrationProgress, WhatsAppBusinessAccount, WhatsAppChannel};
use crate::decide::{
    MAX_REGISTRATION_ATTEMPTS, REGISTRATION_WINDOW, attempts_in_window, attempts_remaining,
    merge_history, next_attempt_allowed, status_time,
};

/// The budget at one instant.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Budget {
    /// The operator's cap per window (Meta's own limit is 10).
    pub limit: usize,
    pub window_hours: u64,
    /// Attempts inside the window, oldest first.
    pub attempts: Vec<Time>,
    /// Attempts the operator may still make now (none while Meta refuses them).
    pub left: usize,
    /// When the oldest attempt leaves the window, giving one back.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_frees_at: Option<Time>,
    /// When an attempt is allowed again, if not now.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_attempt_at: Option<Time>,
    /// Meta refused further attempts (133016) until then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<Time>,
}

/// The budget of a number with the channel's progress and the account's history of its digits.
pub fn budget(progress: Option<&RegistrationProgress>, history: &[Time], now: Timestamp) -> Budget {
    let mut all = progress.cloned().unwrap_or_default();
    merge_history(&mut all, history, now);
    let attempts = attempts_in_window(&all, now);
    let blocked_until = all.blocked_until.clone().filter(|t| t.0 > now);
    Budget {
        limit: MAX_REGISTRATION_ATTEMPTS,
        window_hours: REGISTRATION_WINDOW.as_secs() / 3600,
        next_frees_at: attempts
            .first()
            .map(|t| status_time(crate::decide::add_time(*t, REGISTRATION_WINDOW))),
        left: attempts_remaining(&all, now),
        next_attempt_at: next_attempt_allowed(&all, now).map(status_time),
        attempts: attempts.into_iter().map(status_time).collect(),
        blocked_until,
    }
}

/// The history the account keeps for the channel's number (its E.164 digits).
pub fn account_history<'a>(
    channel: &WhatsAppChannel,
    account: Option<&'a WhatsAppBusinessAccount>,
) -> &'a [Time] {
    let digits = channel.spec.phone_number.digits();
    account
        .and_then(|a| a.status.as_ref())
        .zip(digits)
        .and_then(|(s, d)| s.registration_history.get(&d))
        .map_or(&[], Vec::as_slice)
}

/// One line: "2 of 3 attempts left in the moving 72 h; the next frees up at ...".
pub fn summary(b: &Budget, now: Timestamp) -> String {
    let mut line = format!(
        "{} of {} attempts left in the moving {} h",
        b.left, b.limit, b.window_hours
    );
    if let Some(t) = &b.blocked_until {
        line.push_str(&format!("; Meta refuses attempts until {}", when(t.0, now)));
    } else if let (Some(t), true) = (&b.next_frees_at, b.left < b.limit) {
        line.push_str(&format!("; the next frees up at {}", when(t.0, now)));
    }
    line
}

/// The `budget` command's text, lines at most `width` wide.
pub fn render(target: &str, number: &str, b: &Budget, width: usize, now: Timestamp) -> String {
    let head = format!(
        "{target} ({number}): registration budget {}",
        summary(b, now)
    );
    let mut out = wrap(&head, "", "  ", width);
    if b.attempts.is_empty() {
        out.push_str("  no register or deregister attempt in the window\n");
    } else {
        let title = "attempts in the window (register and deregister, oldest first):";
        out.push_str(&wrap(title, "  ", "  ", width));
        for t in &b.attempts {
            let leaves = crate::decide::add_time(t.0, REGISTRATION_WINDOW);
            let line = format!(
                "{}, leaves the window at {}",
                when(t.0, now),
                when(leaves, now)
            );
            out.push_str(&wrap(&line, "    ", "      ", width));
        }
    }
    if let (Some(t), None) = (&b.next_attempt_at, &b.blocked_until) {
        out.push_str(&format!("  next attempt allowed at {}\n", when(t.0, now)));
    }
    let cap = format!(
        "The operator makes at most {} attempts per {} h; Meta allows 10 and then blocks the \
         number for 72 h.",
        b.limit, b.window_hours
    );
    out.push_str(&wrap(&cap, "  ", "  ", width));
    out
}

/// The `budget` command's document for `-o json|yaml`.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct BudgetReport {
    pub namespace: String,
    pub name: String,
    pub phone_number: String,
    #[serde(flatten)]
    pub budget: Budget,
}

pub async fn run(conn: &Connection, args: &BudgetArgs, width: usize) -> Result<Outcome, CliError> {
    let now = Timestamp::now();
    let ch = objects::channel(conn, &args.target).await?;
    let account = objects::account_opt(conn, &ch.spec.account_ref.name).await?;
    let progress = ch.status.as_ref().and_then(|s| s.registration.as_ref());
    let report = BudgetReport {
        namespace: conn.namespace.clone(),
        name: args.target.name.clone(),
        phone_number: ch.spec.phone_number.display(),
        budget: budget(progress, account_history(&ch, account.as_ref()), now),
    };
    let text = match document(&report, args.output)? {
        Some(doc) => doc,
        None => render(
            &args.target.to_string(),
            &report.phone_number,
            &report.budget,
            width,
            now,
        ),
    };
    print!("{text}");
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + h * 3600).unwrap()
    }

    fn progress(hours: &[i64]) -> RegistrationProgress {
        RegistrationProgress {
            attempts: hours.iter().map(|h| status_time(at(*h))).collect(),
            ..Default::default()
        }
    }

    #[test]
    fn counts_the_union_of_channel_and_account_once() {
        let p = progress(&[10, 20]);
        // The account keeps the channel's attempt at hour 20 too, and one of a deleted channel.
        let history = [status_time(at(5)), status_time(at(20))];
        let b = budget(Some(&p), &history, at(30));
        assert_eq!(
            b.attempts,
            vec![status_time(at(5)), status_time(at(10)), status_time(at(20))]
        );
        assert_eq!(b.left, 0);
        assert_eq!(b.next_frees_at, Some(status_time(at(77))), "hour 5 + 72 h");
        assert_eq!(b.next_attempt_at, Some(status_time(at(77))));
    }

    #[test]
    fn attempts_older_than_the_window_do_not_count() {
        let p = progress(&[0, 50]);
        let b = budget(Some(&p), &[status_time(at(1))], at(73));
        assert_eq!(b.attempts, vec![status_time(at(50))]);
        assert_eq!(b.left, 2);
        assert_eq!(b.next_frees_at, Some(status_time(at(122))));
        assert_eq!(b.next_attempt_at, None, "an attempt is allowed now");
        let none = budget(None, &[], at(0));
        assert_eq!((none.left, none.next_frees_at), (3, None));
    }

    #[test]
    fn metas_refusal_leaves_nothing() {
        let mut p = progress(&[0]);
        p.blocked_until = Some(status_time(at(72)));
        let b = budget(Some(&p), &[], at(1));
        assert_eq!(b.left, 0);
        assert_eq!(b.blocked_until, Some(status_time(at(72))));
        assert!(
            summary(&b, at(1))
                .contains("Meta refuses attempts until 2026-01-04T00:00:00Z (in 2d23h)")
        );
        // Once it passed, the refusal is no longer reported.
        assert_eq!(budget(Some(&p), &[], at(73)).blocked_until, None);
    }

    #[test]
    fn renders_the_attempts_and_when_they_free_up() {
        let b = budget(Some(&progress(&[0, 1])), &[], at(2));
        let text = render("wac/sales", "+4915123456789", &b, 200, at(2));
        assert!(text.starts_with(
            "wac/sales (+4915123456789): registration budget 1 of 3 attempts left in the moving 72 h; \
             the next frees up at 2026-01-04T00:00:00Z (in 2d22h)\n"
        ), "{text}");
        assert!(text.contains(
            "    2026-01-01T01:00:00Z (1h ago), leaves the window at 2026-01-04T01:00:00Z (in 2d23h)\n"
        ), "{text}");
        assert!(!text.contains("next attempt allowed"), "{text}");
        let empty = render("wac/sales", "+1", &budget(None, &[], at(0)), 200, at(0));
        let narrow = render("wac/sales", "+1", &b, 60, at(2));
        assert!(narrow.lines().all(|l| l.chars().count() <= 60), "{narrow}");
        assert!(
            empty.contains("registration budget 3 of 3 attempts left"),
            "{empty}"
        );
        assert!(
            empty.contains("no register or deregister attempt in the window"),
            "{empty}"
        );
    }
}
