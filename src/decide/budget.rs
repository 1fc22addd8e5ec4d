//! Register and deregister attempts per number: Meta allows 10 in a moving 72-hour window and
//! blocks the number for 72 hours beyond that (133016); the operator stays well below, at 3.

use std::time::Duration;

use jiff::Timestamp;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::time::{parse_time, status_time};
use crate::crd::RegistrationProgress;

/// Moving window of Meta's registration limit.
pub const REGISTRATION_WINDOW: Duration = Duration::from_secs(72 * 3600);
/// The operator's own cap per window (Meta's is 10).
pub const MAX_REGISTRATION_ATTEMPTS: usize = 3;

/// Attempts still inside the window at `now`, oldest first.
pub fn attempts_in_window(progress: &RegistrationProgress, now: Timestamp) -> Vec<Timestamp> {
    let mut v: Vec<Timestamp> = progress
        .attempts
        .iter()
        .filter_map(parse_time)
        .filter(|t| within_window(*t, now))
        .collect();
    v.sort();
    v
}

fn within_window(t: Timestamp, now: Timestamp) -> bool {
    now.duration_since(t).unsigned_abs() < REGISTRATION_WINDOW || t > now
}

fn plus(t: Timestamp, d: Duration) -> Timestamp {
    t.checked_add(jiff::SignedDuration::try_from(d).unwrap_or(jiff::SignedDuration::MAX))
        .unwrap_or(Timestamp::MAX)
}

/// `None` when an attempt is allowed now, else the earliest time one is.
pub fn next_attempt_allowed(progress: &RegistrationProgress, now: Timestamp) -> Option<Timestamp> {
    let blocked = progress
        .blocked_until
        .as_ref()
        .and_then(parse_time)
        .filter(|t| *t > now);
    let attempts = attempts_in_window(progress, now);
    let capped = (attempts.len() >= MAX_REGISTRATION_ATTEMPTS).then(|| {
        plus(
            attempts[attempts.len() - MAX_REGISTRATION_ATTEMPTS],
            REGISTRATION_WINDOW,
        )
    });
    match (blocked, capped) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

/// Attempts still allowed in the window at `now` (the operator's cap minus those made); none
/// while Meta refuses further attempts (133016).
pub fn attempts_remaining(progress: &RegistrationProgress, now: Timestamp) -> usize {
    let blocked = progress
        .blocked_until
        .as_ref()
        .and_then(parse_time)
        .is_some_and(|t| t > now);
    if blocked {
        return 0;
    }
    MAX_REGISTRATION_ATTEMPTS.saturating_sub(attempts_in_window(progress, now).len())
}

/// Records an attempt made at `now`, forgetting those that left the window.
pub fn record_attempt(progress: &mut RegistrationProgress, now: Timestamp) {
    let mut kept: Vec<Time> = attempts_in_window(progress, now)
        .into_iter()
        .map(status_time)
        .collect();
    kept.push(status_time(now));
    progress.attempts = kept;
}

/// Merges the number's attempts kept on its account (those of channels deleted before this
/// one) into `progress`; whether that added any. A re-created channel so starts from the
/// number's history, not from zero.
pub fn merge_history(
    progress: &mut RegistrationProgress,
    history: &[Time],
    now: Timestamp,
) -> bool {
    let mut all = attempts_in_window(progress, now);
    let before = all.len();
    for t in history.iter().filter_map(parse_time) {
        if within_window(t, now) && !all.contains(&t) {
            all.push(t);
        }
    }
    if all.len() == before {
        return false;
    }
    all.sort();
    progress.attempts = all.into_iter().map(status_time).collect();
    true
}

/// Meta answered 133016: no attempt until the window has passed.
pub fn record_meta_refusal(progress: &mut RegistrationProgress, now: Timestamp) {
    progress.blocked_until = Some(status_time(plus(now, REGISTRATION_WINDOW)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(h: i64) -> Timestamp {
        Timestamp::from_second(1_767_225_600 + h * 3600).unwrap()
    }

    #[test]
    fn the_history_of_a_number_counts_for_its_new_channel() {
        let mut old = RegistrationProgress::default();
        for h in [0, 1] {
            record_attempt(&mut old, at(h));
        }
        let mut new = RegistrationProgress::default();
        assert!(merge_history(&mut new, &old.attempts, at(2)));
        assert!(
            !merge_history(&mut new, &old.attempts, at(2)),
            "merged once"
        );
        record_attempt(&mut new, at(2));
        assert_eq!(next_attempt_allowed(&new, at(3)), Some(at(72)));
        // Attempts that left the window add nothing.
        let mut later = RegistrationProgress::default();
        assert!(!merge_history(&mut later, &old.attempts, at(80)));
        assert!(later.attempts.is_empty());
    }

    #[test]
    fn three_attempts_per_72_hours() {
        let mut p = RegistrationProgress::default();
        for h in [0, 1, 2] {
            assert_eq!(next_attempt_allowed(&p, at(h)), None);
            record_attempt(&mut p, at(h));
        }
        // The fourth waits until the first leaves the window.
        assert_eq!(next_attempt_allowed(&p, at(3)), Some(at(72)));
        assert_eq!(next_attempt_allowed(&p, at(72)), None);
        record_attempt(&mut p, at(72));
        assert_eq!(p.attempts.len(), 3, "the attempt at hour 0 left the window");
        assert_eq!(next_attempt_allowed(&p, at(72)), Some(at(73)));
        assert_eq!(attempts_remaining(&p, at(72)), 0);
        assert_eq!(attempts_remaining(&p, at(73)), 1);
    }

    #[test]
    fn metas_refusal_blocks_for_a_full_window() {
        let mut p = RegistrationProgress::default();
        record_attempt(&mut p, at(0));
        record_meta_refusal(&mut p, at(1));
        assert_eq!(next_attempt_allowed(&p, at(2)), Some(at(73)));
        assert_eq!(next_attempt_allowed(&p, at(73)), None);
        assert_eq!(attempts_remaining(&p, at(2)), 0, "none while Meta refuses");
        assert_eq!(attempts_remaining(&p, at(73)), 3);
    }
}
