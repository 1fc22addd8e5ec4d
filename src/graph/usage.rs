//! Meta's rate-limit usage headers: `X-Business-Use-Case-Usage` and `X-App-Usage`.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;

/// One business-use-case entry (`type: "whatsapp"` for WhatsApp calls). Percentages 0-100.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BucUsage {
    pub kind: Option<String>,
    pub call_count: u32,
    pub total_cputime: u32,
    pub total_time: u32,
    /// `estimated_time_to_regain_access` (minutes on the wire); `None` when Meta reports 0.
    pub regain_access: Option<Duration>,
}

impl BucUsage {
    pub fn max_percent(&self) -> u32 {
        self.call_count.max(self.total_cputime).max(self.total_time)
    }
}

/// App-level platform usage (`X-App-Usage`), percentages 0-100.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AppUsage {
    pub call_count: u32,
    pub total_cputime: u32,
    pub total_time: u32,
}

/// What Meta last reported about the call budget of one WABA.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Usage {
    pub business_use_case: Option<BucUsage>,
    pub app: Option<AppUsage>,
}

impl Usage {
    /// The highest percentage Meta reported, business use case or app.
    pub fn percent(&self) -> u32 {
        let buc = self
            .business_use_case
            .as_ref()
            .map_or(0, BucUsage::max_percent);
        let app = self
            .app
            .as_ref()
            .map_or(0, |a| a.call_count.max(a.total_cputime).max(a.total_time));
        buc.max(app)
    }

    /// Meta's estimate of when throttled calls will be accepted again.
    pub fn regain_access(&self) -> Option<Duration> {
        self.business_use_case.as_ref()?.regain_access
    }
}

#[derive(Deserialize)]
struct RawBuc {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    call_count: Option<f64>,
    #[serde(default)]
    total_cputime: Option<f64>,
    #[serde(default)]
    total_time: Option<f64>,
    #[serde(default)]
    estimated_time_to_regain_access: Option<f64>,
}

fn percent(raw: Option<f64>) -> u32 {
    match raw {
        Some(v) if v.is_finite() && v > 0.0 => v.round().min(f64::from(u32::MAX)) as u32,
        _ => 0,
    }
}

impl From<RawBuc> for BucUsage {
    fn from(raw: RawBuc) -> Self {
        let regain = raw
            .estimated_time_to_regain_access
            .filter(|m| m.is_finite() && *m > 0.0)
            .map(|m| Duration::from_secs_f64(m.min(60.0 * 24.0 * 365.0) * 60.0));
        Self {
            kind: raw.kind,
            call_count: percent(raw.call_count),
            total_cputime: percent(raw.total_cputime),
            total_time: percent(raw.total_time),
            regain_access: regain,
        }
    }
}

/// Parses `X-Business-Use-Case-Usage` into one entry per business/WABA id. When an id has
/// several entries, the WhatsApp one wins, else the most used one. A malformed header yields
/// nothing rather than failing the call it came with.
pub fn parse_business_use_case(header: &str) -> BTreeMap<String, BucUsage> {
    let Ok(raw) = serde_json::from_str::<BTreeMap<String, Vec<RawBuc>>>(header) else {
        return BTreeMap::new();
    };
    raw.into_iter()
        .filter_map(|(id, entries)| {
            let entries: Vec<BucUsage> = entries.into_iter().map(BucUsage::from).collect();
            let chosen = entries
                .iter()
                .find(|e| e.kind.as_deref() == Some("whatsapp"))
                .or_else(|| entries.iter().max_by_key(|e| e.max_percent()))?
                .clone();
            Some((id, chosen))
        })
        .collect()
}

/// Parses `X-App-Usage`; `None` when absent or malformed.
pub fn parse_app_usage(header: &str) -> Option<AppUsage> {
    #[derive(Deserialize)]
    struct Raw {
        #[serde(default)]
        call_count: Option<f64>,
        #[serde(default)]
        total_cputime: Option<f64>,
        #[serde(default)]
        total_time: Option<f64>,
    }
    let raw: Raw = serde_json::from_str(header).ok()?;
    Some(AppUsage {
        call_count: percent(raw.call_count),
        total_cputime: percent(raw.total_cputime),
        total_time: percent(raw.total_time),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_captured_whatsapp_header() {
        let h = r#"{"109889978794644":[{"type":"whatsapp","call_count":1,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]}"#;
        let usage = parse_business_use_case(h);
        let u = &usage["109889978794644"];
        assert_eq!(u.kind.as_deref(), Some("whatsapp"));
        assert_eq!((u.call_count, u.total_cputime, u.total_time), (1, 1, 1));
        assert_eq!(u.regain_access, None);
    }

    #[test]
    fn regain_time_is_minutes_and_whatsapp_entry_wins() {
        let h = r#"{"42":[{"type":"ads_management","call_count":99,"total_cputime":5,"total_time":5},
                          {"type":"whatsapp","call_count":100,"total_cputime":20,"total_time":37,"estimated_time_to_regain_access":12}],
                   "43":[{"type":"pages","call_count":3,"total_cputime":70,"total_time":1}]}"#;
        let usage = parse_business_use_case(h);
        let u = &usage["42"];
        assert_eq!(u.kind.as_deref(), Some("whatsapp"));
        assert_eq!(u.max_percent(), 100);
        assert_eq!(u.regain_access, Some(Duration::from_secs(12 * 60)));
        assert_eq!(usage["43"].max_percent(), 70);
    }

    #[test]
    fn malformed_headers_are_ignored() {
        assert!(parse_business_use_case("not json").is_empty());
        assert!(parse_business_use_case(r#"{"1":{"call_count":3}}"#).is_empty());
        assert!(parse_business_use_case(r#"{"1":[]}"#).is_empty());
        assert_eq!(parse_app_usage("{"), None);
    }

    #[test]
    fn app_usage_and_overall_percent() {
        let app = parse_app_usage(r#"{"call_count": 28, "total_time": 25, "total_cputime": 25}"#);
        assert_eq!(
            app,
            Some(AppUsage {
                call_count: 28,
                total_cputime: 25,
                total_time: 25
            })
        );
        let usage = Usage {
            business_use_case: Some(BucUsage {
                call_count: 10,
                ..BucUsage::default()
            }),
            app,
        };
        assert_eq!(usage.percent(), 28);
        assert_eq!(usage.regain_access(), None);
    }
}
