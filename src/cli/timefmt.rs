//! Times as the plugin prints them: RFC 3339 in UTC, whole seconds, with how far from now.

use jiff::Timestamp;

use crate::decide::format_time;

/// "2026-12-01T10:00:00Z (in 2h13m)" or "(5m ago)".
pub fn when(t: Timestamp, now: Timestamp) -> String {
    format!("{} ({})", format_time(t), relative(t, now))
}

/// "in 2h13m", "5m ago", "now".
pub fn relative(t: Timestamp, now: Timestamp) -> String {
    let secs = t.as_second() - now.as_second();
    match secs {
        0 => "now".to_string(),
        s if s > 0 => format!("in {}", span(s.unsigned_abs())),
        s => format!("{} ago", span(s.unsigned_abs())),
    }
}

/// Two units at most, the largest first: "45s", "5m12s", "2h13m", "3d4h".
pub fn span(secs: u64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    let pairs = [(d, "d"), (h, "h"), (m, "m"), (s, "s")];
    let first = pairs.iter().position(|(v, _)| *v > 0).unwrap_or(3);
    pairs[first..]
        .iter()
        .take(2)
        .filter(|(v, _)| *v > 0 || first == 3)
        .map(|(v, unit)| format!("{v}{unit}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn spans_keep_the_two_largest_units() {
        assert_eq!(span(0), "0s");
        assert_eq!(span(45), "45s");
        assert_eq!(span(312), "5m12s");
        assert_eq!(span(300), "5m");
        assert_eq!(span(2 * 3600 + 13 * 60 + 59), "2h13m");
        assert_eq!(span(3 * 86_400 + 4 * 3600 + 5), "3d4h");
        assert_eq!(span(86_400 + 30), "1d");
    }

    #[test]
    fn relative_to_now_both_ways() {
        let now = at("2026-12-01T10:00:00Z");
        assert_eq!(
            when(at("2026-12-01T12:13:00Z"), now),
            "2026-12-01T12:13:00Z (in 2h13m)"
        );
        assert_eq!(relative(at("2026-12-01T09:55:00.9Z"), now), "5m ago");
        assert_eq!(relative(now, now), "now");
    }
}
