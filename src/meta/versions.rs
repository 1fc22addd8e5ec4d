//! The Graph API versions the operator knows, with the retirement date Meta announced for each
//! (Meta's Graph API versions page): an operator pinned to a version about to retire warns, from
//! `WARN_BEFORE` ahead, on every account, in a metric and in its log at start.

use jiff::civil::{Date, date};

/// Retirement dates, oldest first. A version not listed is unknown: the operator says so
/// rather than guess.
const RETIREMENTS: &[(&str, Date)] = &[
    ("v20.0", date(2026, 9, 24)),
    ("v21.0", date(2027, 1, 21)),
    ("v22.0", date(2027, 5, 20)),
    ("v23.0", date(2027, 10, 8)),
    ("v24.0", date(2028, 2, 18)),
    ("v25.0", date(2028, 7, 29)),
];

/// How long before a version's retirement the operator warns.
pub const WARN_BEFORE_DAYS: i32 = 90;

/// Where the configured version stands on a given day.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum VersionStanding {
    /// More than `WARN_BEFORE_DAYS` before its retirement.
    Current { retires: Date },
    /// Retires within `WARN_BEFORE_DAYS`.
    RetiresSoon { retires: Date, days_left: i32 },
    /// Meta has retired it: calls may fail at any time.
    Retired { retired: Date },
    /// Not a version the operator knows the retirement of.
    Unknown,
}

/// The version's retirement date, when known.
pub fn retirement(version: &str) -> Option<Date> {
    RETIREMENTS
        .iter()
        .find(|(v, _)| *v == version.trim())
        .map(|(_, d)| *d)
}

pub fn standing(version: &str, today: Date) -> VersionStanding {
    let Some(retires) = retirement(version) else {
        return VersionStanding::Unknown;
    };
    let days_left = today
        .until((jiff::Unit::Day, retires))
        .map(|s| s.get_days())
        .unwrap_or(0);
    if retires <= today {
        VersionStanding::Retired { retired: retires }
    } else if days_left <= WARN_BEFORE_DAYS {
        VersionStanding::RetiresSoon { retires, days_left }
    } else {
        VersionStanding::Current { retires }
    }
}

impl VersionStanding {
    /// What a person should read, when there is something to read: the version retires soon,
    /// has retired, or is unknown.
    pub fn warning(&self, version: &str) -> Option<String> {
        let newest = RETIREMENTS.last().map(|(v, _)| *v).unwrap_or_default();
        let pin = format!(
            "set --graph-version (chart value graph.version) to a newer version such as {newest}"
        );
        match self {
            Self::Current { .. } => None,
            Self::RetiresSoon { retires, days_left } => Some(format!(
                "Graph API {version} retires on {retires} ({days_left} days left): {pin}"
            )),
            Self::Retired { retired } => Some(format!(
                "Graph API {version} was retired by Meta on {retired}; calls may fail at any \
                 time: {pin}"
            )),
            Self::Unknown => Some(format!(
                "Graph API {version} is not a version this operator knows the retirement date \
                 of; check Meta's changelog, or {pin}"
            )),
        }
    }

    /// The condition reason of the standing.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Current { .. } => "Supported",
            Self::RetiresSoon { .. } => "RetiresSoon",
            Self::Retired { .. } => "Retired",
            Self::Unknown => "UnknownVersion",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warns_from_ninety_days_before_retirement() {
        let v = "v24.0";
        assert_eq!(
            standing(v, date(2026, 12, 2)),
            VersionStanding::Current {
                retires: date(2028, 2, 18)
            }
        );
        assert_eq!(standing(v, date(2026, 12, 2)).warning(v), None);
        assert!(matches!(
            standing(v, date(2027, 11, 19)),
            VersionStanding::Current { .. }
        ));
        assert!(matches!(
            standing(v, date(2027, 11, 20)),
            VersionStanding::RetiresSoon { days_left: 90, .. }
        ));
        assert_eq!(
            standing(v, date(2027, 11, 21)),
            VersionStanding::RetiresSoon {
                retires: date(2028, 2, 18),
                days_left: 89
            }
        );
        let soon = standing(v, date(2028, 2, 17)).warning(v).unwrap();
        assert!(
            soon.contains("retires on 2028-02-18 (1 days left)"),
            "{soon}"
        );
        assert_eq!(
            standing(v, date(2028, 2, 18)),
            VersionStanding::Retired {
                retired: date(2028, 2, 18)
            }
        );
        assert_eq!(standing("v20.0", date(2026, 12, 2)).reason(), "Retired");
    }

    #[test]
    fn an_unknown_version_is_said_to_be_unknown() {
        let s = standing("v99.0", date(2026, 12, 2));
        assert_eq!(s, VersionStanding::Unknown);
        assert!(s.warning("v99.0").unwrap().contains("v25.0"));
        assert_eq!(retirement(" v21.0 "), Some(date(2027, 1, 21)));
    }
}
