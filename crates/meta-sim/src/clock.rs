//! The simulated clock: real time from a starting point, plus whatever tests advanced it by.

use std::time::{Instant, SystemTime, UNIX_EPOCH};

#[derive(Debug)]
pub struct Clock {
    start_sim: i64,
    start_real: Instant,
    advanced: i64,
}

impl Clock {
    pub fn new(start: Option<i64>) -> Self {
        let start_sim = start.unwrap_or_else(|| {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
                .unwrap_or(0)
        });
        Self {
            start_sim,
            start_real: Instant::now(),
            advanced: 0,
        }
    }

    /// Unix seconds on the sim clock.
    pub fn now(&self) -> i64 {
        let elapsed = i64::try_from(self.start_real.elapsed().as_secs()).unwrap_or(i64::MAX);
        self.start_sim
            .saturating_add(elapsed)
            .saturating_add(self.advanced)
    }

    pub fn advance(&mut self, seconds: i64) {
        self.advanced = self.advanced.saturating_add(seconds);
    }
}
