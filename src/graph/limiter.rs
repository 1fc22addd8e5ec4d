//! Client-side budget per WABA over a rolling hour, so the operator stays under Meta's
//! business-use-case limit instead of discovering it through 80007 errors.

use std::collections::{HashMap, VecDeque};
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(3600);

#[derive(Debug, Default)]
struct Window {
    sent: VecDeque<Instant>,
    /// Meta said the WABA is throttled until then.
    blocked_until: Option<Instant>,
}

/// Counts calls per WABA. The caller passes the current instant, which keeps the arithmetic
/// testable without waiting.
#[derive(Debug)]
pub struct Limiter {
    budget: u32,
    windows: HashMap<String, Window>,
}

impl Limiter {
    pub fn new(budget: u32) -> Self {
        Self {
            budget,
            windows: HashMap::new(),
        }
    }

    /// Records one call for `waba_id`, or refuses it with how long until a slot frees.
    pub fn acquire(&mut self, waba_id: &str, now: Instant) -> Result<(), Duration> {
        let window = self.windows.entry(waba_id.to_owned()).or_default();
        if let Some(until) = window.blocked_until {
            if until > now {
                return Err(until - now);
            }
            window.blocked_until = None;
        }
        while window
            .sent
            .front()
            .is_some_and(|&t| now.saturating_duration_since(t) >= WINDOW)
        {
            window.sent.pop_front();
        }
        if window.sent.len() >= self.budget as usize {
            let wait = window.sent.front().map_or(WINDOW, |&oldest| {
                (oldest + WINDOW).saturating_duration_since(now)
            });
            return Err(wait);
        }
        window.sent.push_back(now);
        Ok(())
    }

    /// Honours Meta's own estimate of when the WABA regains access.
    pub fn block_until(&mut self, waba_id: &str, until: Instant) {
        let window = self.windows.entry(waba_id.to_owned()).or_default();
        window.blocked_until = Some(window.blocked_until.map_or(until, |u| u.max(until)));
    }

    /// Calls counted for `waba_id` in the hour before `now`.
    pub fn used(&self, waba_id: &str, now: Instant) -> usize {
        self.windows.get(waba_id).map_or(0, |w| {
            w.sent
                .iter()
                .filter(|&&t| now.saturating_duration_since(t) < WINDOW)
                .count()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIN: Duration = Duration::from_secs(60);

    #[test]
    fn refuses_when_spent_until_the_oldest_call_leaves_the_window() {
        let t0 = Instant::now();
        let mut l = Limiter::new(3);
        l.acquire("w", t0).unwrap();
        l.acquire("w", t0 + 10 * MIN).unwrap();
        l.acquire("w", t0 + 20 * MIN).unwrap();
        assert_eq!(l.acquire("w", t0 + 30 * MIN), Err(30 * MIN));
        assert_eq!(l.used("w", t0 + 30 * MIN), 3);
        // Refused calls are not counted.
        assert_eq!(l.acquire("w", t0 + 59 * MIN), Err(MIN));
        // At exactly one hour the first call has left.
        l.acquire("w", t0 + 60 * MIN).unwrap();
        assert_eq!(l.acquire("w", t0 + 61 * MIN), Err(9 * MIN));
        assert_eq!(l.used("w", t0 + 61 * MIN), 3);
    }

    #[test]
    fn budgets_are_per_waba() {
        let t0 = Instant::now();
        let mut l = Limiter::new(1);
        l.acquire("a", t0).unwrap();
        assert!(l.acquire("a", t0).is_err());
        l.acquire("b", t0).unwrap();
        assert_eq!(l.used("a", t0), 1);
        assert_eq!(l.used("c", t0), 0);
    }

    #[test]
    fn zero_budget_refuses_everything() {
        let t0 = Instant::now();
        let mut l = Limiter::new(0);
        assert_eq!(l.acquire("w", t0), Err(WINDOW));
    }

    #[test]
    fn meta_block_refuses_until_it_expires() {
        let t0 = Instant::now();
        let mut l = Limiter::new(10);
        l.block_until("w", t0 + 5 * MIN);
        // A shorter later estimate does not shorten the block.
        l.block_until("w", t0 + 2 * MIN);
        assert_eq!(l.acquire("w", t0 + MIN), Err(4 * MIN));
        assert!(l.acquire("x", t0 + MIN).is_ok());
        l.acquire("w", t0 + 5 * MIN).unwrap();
        assert_eq!(l.used("w", t0 + 5 * MIN), 1);
    }
}
