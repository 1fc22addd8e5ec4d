//! Business-use-case (BUC) rate limiting: a rolling hour of calls per WABA on the sim clock.

use std::collections::{HashMap, VecDeque};

use serde_json::json;

use super::graph_error::GraphError;

pub const WINDOW_SECS: i64 = 3600;

#[derive(Debug, Default)]
pub struct Budgets {
    calls: HashMap<String, VecDeque<i64>>,
}

/// What `X-Business-Use-Case-Usage` reports for one WABA.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Usage {
    pub waba_id: String,
    pub percent: u32,
    pub regain_minutes: i64,
}

impl Usage {
    pub fn header_value(&self) -> String {
        json!({
            self.waba_id.clone(): [{
                "type": "whatsapp",
                "call_count": self.percent,
                "total_cputime": self.percent,
                "total_time": self.percent,
                "estimated_time_to_regain_access": self.regain_minutes,
            }]
        })
        .to_string()
    }
}

impl Budgets {
    fn window(&mut self, waba_id: &str, now: i64) -> &mut VecDeque<i64> {
        let calls = self.calls.entry(waba_id.to_owned()).or_default();
        while calls.front().is_some_and(|&t| t <= now - WINDOW_SECS) {
            calls.pop_front();
        }
        calls
    }

    /// Counts one call, or refuses it with 80007 when the hour's budget is spent.
    pub fn spend(&mut self, waba_id: &str, budget: u32, now: i64) -> Result<(), GraphError> {
        let calls = self.window(waba_id, now);
        if calls.len() >= budget as usize {
            return Err(GraphError::new(
                80007,
                "There have been too many calls to this WhatsApp Business account. Wait a bit and try again. For more info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.",
            )
            .details("WhatsApp Business Account rate limit reached")
            .transient());
        }
        calls.push_back(now);
        Ok(())
    }

    pub fn usage(&mut self, waba_id: &str, budget: u32, now: i64) -> Usage {
        let calls = self.window(waba_id, now);
        let used = calls.len() as u64;
        let budget = u64::from(budget.max(1));
        // Rounded up so that any use shows, as Meta's header does after a single call.
        let percent = u32::try_from((used * 100).div_ceil(budget).min(100)).unwrap_or(100);
        let regain_minutes = if used >= budget {
            calls
                .front()
                .map(|&oldest| (oldest + WINDOW_SECS - now + 59) / 60)
                .unwrap_or(0)
                .max(1)
        } else {
            0
        };
        Usage {
            waba_id: waba_id.to_owned(),
            percent,
            regain_minutes,
        }
    }

    pub fn clear(&mut self) {
        self.calls.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exhausts_and_regains_with_the_rolling_hour() {
        let mut b = Budgets::default();
        b.spend("w", 2, 1000).unwrap();
        b.spend("w", 2, 1600).unwrap();
        assert_eq!(b.usage("w", 2, 1600).percent, 100);
        assert_eq!(b.spend("w", 2, 1700).unwrap_err().code, 80007);
        // Oldest call (t=1000) leaves the window at 4600: 2900 s from 1700 -> 49 minutes.
        assert_eq!(b.usage("w", 2, 1700).regain_minutes, 49);
        b.spend("w", 2, 4600).unwrap();
        assert_eq!(b.usage("w", 2, 4600).percent, 100);
        assert_eq!(b.usage("x", 4, 4600).percent, 0);
    }
}
