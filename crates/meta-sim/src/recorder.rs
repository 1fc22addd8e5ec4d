//! Counts and logs every Graph request so tests can assert how many calls the operator made.

use std::collections::BTreeMap;
use std::collections::VecDeque;

use serde::Serialize;
use serde_json::{Value, json};

/// Oldest log entries are dropped past this many so a long local run cannot grow without bound;
/// the per-route counters and the total stay exact.
const LOG_CAP: usize = 50_000;

#[derive(Clone, Debug, Serialize)]
pub struct Entry {
    pub seq: u64,
    pub method: String,
    pub path: String,
    pub at: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// The bearer token the request carried: tests tell which account made a call. These are
    /// the simulator's own tokens, never real ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
}

#[derive(Debug, Default)]
pub struct Recorder {
    next_seq: u64,
    total: u64,
    by_route: BTreeMap<(String, String), u64>,
    log: VecDeque<Entry>,
}

impl Recorder {
    pub fn record(&mut self, method: &str, path: &str, token: Option<String>, at: i64) -> u64 {
        self.next_seq += 1;
        self.total += 1;
        *self
            .by_route
            .entry((path.to_owned(), method.to_owned()))
            .or_default() += 1;
        if self.log.len() >= LOG_CAP {
            self.log.pop_front();
        }
        self.log.push_back(Entry {
            seq: self.next_seq,
            method: method.to_owned(),
            path: path.to_owned(),
            at,
            status: None,
            token,
        });
        self.next_seq
    }

    pub fn finish(&mut self, seq: u64, status: u16) {
        if let Some(entry) = self.log.iter_mut().rev().find(|e| e.seq == seq) {
            entry.status = Some(status);
        }
    }

    pub fn reset(&mut self) {
        self.total = 0;
        self.by_route.clear();
        self.log.clear();
    }

    pub fn report(&self) -> Value {
        let by_route: Vec<Value> = self
            .by_route
            .iter()
            .map(
                |((path, method), count)| json!({ "method": method, "path": path, "count": count }),
            )
            .collect();
        json!({ "total": self.total, "by_route": by_route, "log": self.log })
    }
}
