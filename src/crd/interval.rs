//! `spec.syncInterval` as written ("10m", "1h30m", "1.5h", "500ms"), read once with jiff's
//! duration parser when the object is read. Reading never fails: text admission let through but
//! that does not parse keeps `None` for the decide step (which falls back to its default), so
//! one odd object can never stop a watch from listing the others.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Interval {
    raw: String,
    parsed: Option<Duration>,
}

impl Interval {
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The interval; `None` when the text is not a non-negative duration.
    pub fn duration(&self) -> Option<Duration> {
        self.parsed
    }
}

impl From<String> for Interval {
    fn from(raw: String) -> Self {
        let parsed = raw
            .parse::<jiff::SignedDuration>()
            .ok()
            .and_then(|d| Duration::try_from(d).ok());
        Self { raw, parsed }
    }
}

impl From<&str> for Interval {
    fn from(raw: &str) -> Self {
        raw.to_string().into()
    }
}

crate::text::spec_text!(Interval);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_forms() {
        let cases = [
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("90s", 90_000),
            ("1.5h", 5_400_000),
            ("500ms", 500),
            ("1m30s500ms", 90_500),
            ("0.25s", 250),
            ("2h0m", 7_200_000),
            ("0s", 0),
        ];
        for (raw, millis) in cases {
            assert_eq!(
                Interval::from(raw).duration(),
                Some(Duration::from_millis(millis)),
                "{raw}"
            );
        }
    }

    #[test]
    fn keeps_sub_millisecond_fractions() {
        assert_eq!(
            Interval::from("1.5ms").duration(),
            Some(Duration::from_micros(1_500))
        );
    }

    #[test]
    fn malformed_or_negative_text_reads_as_none_never_as_an_error() {
        for raw in [
            "",
            "   ",
            "10",
            "10m5",
            "1d",
            "m",
            ".5h",
            "-5m",
            "99999999999999999999999999999999999999999h",
            "9999999999999999999h",
        ] {
            assert_eq!(Interval::from(raw).duration(), None, "{raw:?}");
            let read: Interval = serde_json::from_value(serde_json::json!(raw)).unwrap();
            assert_eq!(read.raw(), raw);
        }
    }
}
