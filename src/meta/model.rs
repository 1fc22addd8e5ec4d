//! What the operator reads from Meta, parsed defensively.
//!
//! Meta adds enum values without notice and its documents disagree on some of them (NA and
//! UNKNOWN, NOT_VERIFIED and UNVERIFIED, limits as strings or integers), so every enum keeps an
//! unknown value verbatim instead of failing the whole read.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Declares a string enum whose unknown values survive as `Other(String)`.
macro_rules! meta_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => [$canonical:literal $(, $alias:literal)*]),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
            /// A value this version of the operator does not know, kept verbatim.
            Other(String),
        }

        impl $name {
            /// Every value this version knows, in declaration order (never `Other`): what a
            /// full state set writes out, 1 for the current value and 0 for the others.
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// Meta's spelling of the value (unknown values verbatim).
            pub fn as_str(&self) -> &str {
                match self {
                    $(Self::$variant => $canonical,)+
                    Self::Other(raw) => raw,
                }
            }

            /// Parses Meta's spelling; never fails.
            pub fn parse(raw: &str) -> Self {
                match raw {
                    $($canonical $(| $alias)* => Self::$variant,)+
                    other => Self::Other(other.to_string()),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let raw = <String as ::serde::Deserialize>::deserialize(d)?;
                Ok(Self::parse(&raw))
            }
        }
    };
}

pub(crate) use meta_enum;

meta_enum! {
    /// Operating status of a phone number (`status`).
    NumberStatus {
        Pending => ["PENDING"],
        Deleted => ["DELETED"],
        Migrated => ["MIGRATED"],
        Banned => ["BANNED"],
        Restricted => ["RESTRICTED"],
        RateLimited => ["RATE_LIMITED"],
        Flagged => ["FLAGGED"],
        Connected => ["CONNECTED"],
        Disconnected => ["DISCONNECTED"],
        Unknown => ["UNKNOWN"],
        Unverified => ["UNVERIFIED"],
    }
}

meta_enum! {
    /// `quality_rating` / `quality_score.score`. NA and UNKNOWN both mean "not rated yet".
    QualityRating {
        Green => ["GREEN"],
        Yellow => ["YELLOW"],
        Red => ["RED"],
        Unknown => ["UNKNOWN"],
        Na => ["NA"],
    }
}

impl QualityRating {
    /// Higher is better; `None` when Meta has not rated the number.
    pub fn rank(&self) -> Option<u8> {
        match self {
            Self::Green => Some(3),
            Self::Yellow => Some(2),
            Self::Red => Some(1),
            _ => None,
        }
    }
}

meta_enum! {
    /// `code_verification_status`: both the Graph reference and the v23 OpenAPI spellings.
    CodeVerificationStatus {
        Verified => ["VERIFIED"],
        NotVerified => ["NOT_VERIFIED", "UNVERIFIED"],
        Expired => ["EXPIRED"],
    }
}

meta_enum! {
    /// `name_status` and `new_name_status`.
    NameStatus {
        Approved => ["APPROVED"],
        AvailableWithoutReview => ["AVAILABLE_WITHOUT_REVIEW"],
        Declined => ["DECLINED"],
        Expired => ["EXPIRED"],
        PendingReview => ["PENDING_REVIEW"],
        None => ["NONE"],
        NonExists => ["NON_EXISTS"],
    }
}

impl NameStatus {
    /// Meta refuses registration with a display name in these states.
    pub fn blocks_registration(&self) -> bool {
        matches!(
            self,
            Self::Expired | Self::None | Self::NonExists | Self::Declined
        )
    }
}

meta_enum! {
    /// `platform_type`.
    PlatformType {
        CloudApi => ["CLOUD_API"],
        OnPremise => ["ON_PREMISE"],
        NotApplicable => ["NOT_APPLICABLE"],
    }
}

meta_enum! {
    /// `account_mode`.
    AccountMode {
        Sandbox => ["SANDBOX"],
        Live => ["LIVE"],
    }
}

meta_enum! {
    /// `can_send_message` of a health entity or of the whole node.
    CanSendMessage {
        Available => ["AVAILABLE"],
        Limited => ["LIMITED"],
        Blocked => ["BLOCKED"],
    }
}

impl CanSendMessage {
    /// Higher is worse, so the overall value is the maximum over entities.
    pub fn severity(&self) -> u8 {
        match self {
            Self::Available => 0,
            Self::Limited => 1,
            Self::Other(_) => 1,
            Self::Blocked => 2,
        }
    }
}

meta_enum! {
    /// `account_review_status` of a WABA and `decision` of `account_review_update`.
    ReviewStatus {
        Pending => ["PENDING"],
        Approved => ["APPROVED"],
        Rejected => ["REJECTED"],
        Deferred => ["DEFERRED"],
    }
}

meta_enum! {
    /// `entity_type` of a health entity.
    HealthEntityType {
        PhoneNumber => ["PHONE_NUMBER"],
        MessageTemplate => ["MESSAGE_TEMPLATE"],
        Waba => ["WABA"],
        Business => ["BUSINESS"],
        App => ["APP"],
    }
}

/// A messaging limit as Meta reports it: `TIER_2K`, `"2000"`, `2000`, `-1`, `TIER_UNLIMITED`...
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MessagingLimit {
    /// Unique users per 24 h outside a service window.
    Tier(u64),
    Unlimited,
    Untiered,
    NotSet,
    Other(String),
}

impl MessagingLimit {
    pub fn parse(raw: &str) -> Self {
        let raw = raw.trim();
        match raw {
            "TIER_UNLIMITED" | "UNLIMITED" | "-1" => return Self::Unlimited,
            "UNTIERED" => return Self::Untiered,
            "TIER_NOT_SET" => return Self::NotSet,
            _ => {}
        }
        let body = raw.strip_prefix("TIER_").unwrap_or(raw);
        let (digits, multiplier) = match body.strip_suffix('K') {
            Some(d) => (d, 1_000),
            None => (body, 1),
        };
        match digits.parse::<u64>() {
            Ok(n) => Self::Tier(n * multiplier),
            Err(_) => Self::Other(raw.to_string()),
        }
    }

    pub fn from_number(n: i64) -> Self {
        match u64::try_from(n) {
            Ok(n) => Self::Tier(n),
            Err(_) => Self::Unlimited,
        }
    }

    /// The limits Meta documents, lowest first (TIER_50 for unverified businesses, TIER_2K of
    /// the portfolio model since October 2025), then the two values of numbers without a tier.
    /// Any other is `Tier(n)` or `Other` and stays readable, just not listed.
    pub fn known() -> [Self; 9] {
        [
            Self::Tier(50),
            Self::Tier(250),
            Self::Tier(1_000),
            Self::Tier(2_000),
            Self::Tier(10_000),
            Self::Tier(100_000),
            Self::Unlimited,
            Self::Untiered,
            Self::NotSet,
        ]
    }

    /// Canonical spelling for status: `TIER_2K`, `TIER_UNLIMITED`...
    pub fn canonical(&self) -> String {
        match self {
            Self::Tier(n) if *n >= 1_000 && n % 1_000 == 0 => format!("TIER_{}K", n / 1_000),
            Self::Tier(n) => format!("TIER_{n}"),
            Self::Unlimited => "TIER_UNLIMITED".into(),
            Self::Untiered => "UNTIERED".into(),
            Self::NotSet => "TIER_NOT_SET".into(),
            Self::Other(raw) => raw.clone(),
        }
    }

    /// Daily unique-user limit as a number for metrics; unlimited is `f64::INFINITY`.
    pub fn as_f64(&self) -> Option<f64> {
        match self {
            Self::Tier(n) => Some(*n as f64),
            Self::Unlimited => Some(f64::INFINITY),
            _ => None,
        }
    }

    /// Ordering for "increased"/"decreased"; `None` when either side is not comparable.
    pub fn compare(&self, other: &Self) -> Option<std::cmp::Ordering> {
        let rank = |l: &Self| match l {
            Self::Tier(n) => Some(*n as u128),
            Self::Unlimited => Some(u128::MAX),
            _ => None,
        };
        Some(rank(self)?.cmp(&rank(other)?))
    }
}

impl Serialize for MessagingLimit {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.canonical())
    }
}

impl<'de> Deserialize<'de> for MessagingLimit {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Int(i64),
            Str(String),
        }
        Ok(match Raw::deserialize(d)? {
            Raw::Int(n) => Self::from_number(n),
            Raw::Str(s) => Self::parse(&s),
        })
    }
}

/// One error of a health entity.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct HealthError {
    #[serde(default)]
    pub error_code: Option<i64>,
    #[serde(default)]
    pub error_description: Option<String>,
    #[serde(default)]
    pub possible_solution: Option<String>,
}

/// One entity (PHONE_NUMBER, WABA, BUSINESS, APP...) of `health_status`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthEntity {
    pub entity_type: HealthEntityType,
    #[serde(default)]
    pub id: Option<String>,
    pub can_send_message: CanSendMessage,
    /// Calling health: documented as a string, its values and whether every entity carries it
    /// are not, so any other shape reads as absent rather than failing the number's record.
    #[serde(default, deserialize_with = "lenient_text")]
    pub can_receive_call_sip: Option<String>,
    #[serde(default)]
    pub errors: Vec<HealthError>,
    #[serde(default)]
    pub additional_info: Vec<String>,
}

/// A string, or the text of a number or boolean; anything else is absent.
fn lenient_text<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::String(s) => Some(s),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// `health_status` of a node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthStatus {
    pub can_send_message: CanSendMessage,
    #[serde(default)]
    pub entities: Vec<HealthEntity>,
}

impl HealthStatus {
    pub fn entity(&self, kind: &HealthEntityType) -> Option<&HealthEntity> {
        self.entities.iter().find(|e| &e.entity_type == kind)
    }
}

/// `quality_score`. Meta documents `reasons` without its values or their shape, and `date` only
/// as a timestamp, so both are read leniently: an odd shape never fails the number's record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QualityScore {
    pub score: QualityRating,
    /// When Meta calculated the score (Unix seconds).
    #[serde(default, deserialize_with = "lenient_seconds")]
    pub date: Option<i64>,
    /// Meta's reason codes, verbatim.
    #[serde(default, deserialize_with = "lenient_reasons")]
    pub reasons: Vec<String>,
}

/// Unix seconds as a number or a numeric string; anything else is absent.
fn lenient_seconds<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64(),
        serde_json::Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Reason codes as strings, or objects naming one (`reason`, `code`, `type` or `name`); other
/// entries and shapes are skipped.
fn lenient_reasons<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let entries = match serde_json::Value::deserialize(d)? {
        serde_json::Value::Array(entries) => entries,
        serde_json::Value::String(s) => vec![serde_json::Value::String(s)],
        _ => Vec::new(),
    };
    Ok(entries.iter().filter_map(reason_text).collect())
}

fn reason_text(entry: &serde_json::Value) -> Option<String> {
    let text = match entry {
        serde_json::Value::String(s) => Some(s.as_str()),
        serde_json::Value::Object(o) => ["reason", "code", "type", "name"]
            .iter()
            .find_map(|k| o.get(*k).and_then(serde_json::Value::as_str)),
        _ => None,
    }?;
    let text = text.trim();
    (!text.is_empty()).then(|| text.to_string())
}

/// `throughput`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Throughput {
    pub level: String,
}

/// A business phone number as read from Graph. Every field but `id` may be absent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneNumber {
    pub id: String,
    #[serde(default)]
    pub display_phone_number: Option<String>,
    #[serde(default)]
    pub verified_name: Option<String>,
    #[serde(default)]
    pub status: Option<NumberStatus>,
    #[serde(default)]
    pub quality_rating: Option<QualityRating>,
    #[serde(default)]
    pub quality_score: Option<QualityScore>,
    /// Legacy per-number tier (deprecated by Meta, still read).
    #[serde(default)]
    pub messaging_limit_tier: Option<MessagingLimit>,
    /// Portfolio limit (current model since October 2025).
    #[serde(default)]
    pub whatsapp_business_manager_messaging_limit: Option<MessagingLimit>,
    #[serde(default)]
    pub name_status: Option<NameStatus>,
    #[serde(default)]
    pub new_name_status: Option<NameStatus>,
    #[serde(default)]
    pub code_verification_status: Option<CodeVerificationStatus>,
    #[serde(default)]
    pub platform_type: Option<PlatformType>,
    #[serde(default)]
    pub throughput: Option<Throughput>,
    #[serde(default)]
    pub account_mode: Option<AccountMode>,
    #[serde(default)]
    pub is_on_biz_app: Option<bool>,
    #[serde(default)]
    pub is_pin_enabled: Option<bool>,
    #[serde(default)]
    pub last_onboarded_time: Option<String>,
    #[serde(default)]
    pub health_status: Option<HealthStatus>,
}

impl PhoneNumber {
    /// Digits of `display_phone_number`, the key webhooks and specs are matched on.
    pub fn digits(&self) -> Option<String> {
        self.display_phone_number.as_deref().map(digits_of)
    }
}

/// `owner_business_info`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BusinessInfo {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
}

/// A WABA with all its numbers, as one sync reads it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WabaSnapshot {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub account_review_status: Option<ReviewStatus>,
    /// Lower-case in Meta's SDK (`verified`, `pending`...), kept verbatim.
    #[serde(default)]
    pub business_verification_status: Option<String>,
    #[serde(default)]
    pub ownership_type: Option<String>,
    #[serde(default)]
    pub whatsapp_business_manager_messaging_limit: Option<MessagingLimit>,
    #[serde(default)]
    pub health_status: Option<HealthStatus>,
    #[serde(default)]
    pub owner_business_info: Option<BusinessInfo>,
    /// All numbers of the WABA, every page followed.
    #[serde(default)]
    pub phone_numbers: Vec<PhoneNumber>,
    /// Numbers whose record did not decode: reported on their own channels, never taken for
    /// absent, and never a reason to fail the read of the others.
    #[serde(skip)]
    pub malformed_numbers: Vec<MalformedNumber>,
    /// The WABA's message templates, every page followed; `None` when the read did not ask for
    /// them (no template resource names the account).
    #[serde(skip)]
    pub message_templates: Option<Vec<super::template::MessageTemplate>>,
    /// Templates whose record did not decode.
    #[serde(skip)]
    pub malformed_templates: Vec<super::template::MalformedTemplate>,
}

/// A number of the WABA whose record did not decode, with what could be read of it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MalformedNumber {
    pub id: Option<String>,
    /// Digits of `display_phone_number`, when that much could be read.
    pub digits: Option<String>,
    pub error: String,
}

/// Decodes each number on its own: a record of an unexpected shape lands in the second list.
pub fn decode_numbers(raw: Vec<serde_json::Value>) -> (Vec<PhoneNumber>, Vec<MalformedNumber>) {
    let mut numbers = Vec::new();
    let mut malformed = Vec::new();
    for value in raw {
        match PhoneNumber::deserialize(&value) {
            Ok(number) => numbers.push(number),
            Err(err) => malformed.push(MalformedNumber {
                id: value.get("id").and_then(|v| v.as_str().map(str::to_owned)),
                digits: value
                    .get("display_phone_number")
                    .and_then(serde_json::Value::as_str)
                    .map(digits_of),
                error: err.to_string(),
            }),
        }
    }
    (numbers, malformed)
}

impl WabaSnapshot {
    /// Why the number with `digits` cannot be judged from this read: its record did not decode,
    /// or a record without readable digits did (it may be this number).
    pub fn unreadable(&self, digits: &str) -> Option<String> {
        if let Some(m) = self
            .malformed_numbers
            .iter()
            .find(|m| m.digits.as_deref() == Some(digits))
        {
            return Some(format!(
                "Meta's record of the number could not be read ({})",
                m.error
            ));
        }
        self.malformed_numbers
            .iter()
            .find(|m| m.digits.is_none())
            .map(|m| {
                format!(
                    "a number of the WABA could not be read ({}), so the number is not taken \
                     for absent",
                    m.error
                )
            })
    }

    /// The number whose digits equal `digits` (E.164 without `+`).
    pub fn number_by_digits(&self, digits: &str) -> Option<&PhoneNumber> {
        self.phone_numbers
            .iter()
            .find(|n| n.digits().as_deref() == Some(digits))
    }
}

/// The app behind a `subscribed_apps` entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SubscribedAppData {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub link: Option<String>,
}

/// One entry of `GET /<WABA_ID>/subscribed_apps`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct SubscribedApp {
    #[serde(default)]
    pub whatsapp_business_api_data: SubscribedAppData,
    /// WABA-level webhook override, when one is set.
    #[serde(default)]
    pub override_callback_uri: Option<String>,
}

impl SubscribedApp {
    pub fn app_id(&self) -> Option<&str> {
        self.whatsapp_business_api_data.id.as_deref()
    }
}

/// One `granular_scopes` entry of `debug_token`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GranularScope {
    pub scope: String,
    /// Asset ids (WABAs) that granted the scope, newest first; absent means all assets.
    #[serde(default)]
    pub target_ids: Option<Vec<String>>,
}

/// The `error` object `debug_token` embeds for an invalid token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenDebugError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub subcode: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
}

/// `data` of `GET /debug_token`. Never holds the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TokenInfo {
    #[serde(default)]
    pub app_id: Option<String>,
    #[serde(default)]
    pub application: Option<String>,
    /// `USER`, `SYSTEM_USER`, `PAGE`, `APP`... kept verbatim.
    #[serde(default, rename = "type")]
    pub token_type: Option<String>,
    #[serde(default)]
    pub user_id: Option<String>,
    #[serde(default)]
    pub is_valid: bool,
    /// Unix seconds; 0 means the token never expires.
    #[serde(default)]
    pub expires_at: Option<i64>,
    #[serde(default)]
    pub data_access_expires_at: Option<i64>,
    #[serde(default)]
    pub scopes: Vec<String>,
    #[serde(default)]
    pub granular_scopes: Vec<GranularScope>,
    #[serde(default)]
    pub error: Option<TokenDebugError>,
}

impl TokenInfo {
    /// When the token expires; `None` for tokens that never do.
    pub fn expires(&self) -> Option<jiff::Timestamp> {
        self.expires_at
            .filter(|&t| t > 0)
            .and_then(|t| jiff::Timestamp::from_second(t).ok())
    }

    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s == scope)
    }

    /// Whether `scope` was granted for `asset_id` (a WABA id): listed in its granular targets,
    /// or granted without target restriction.
    pub fn grants(&self, scope: &str, asset_id: &str) -> bool {
        match self.granular_scopes.iter().find(|g| g.scope == scope) {
            Some(g) => g
                .target_ids
                .as_ref()
                .is_none_or(|ids| ids.iter().any(|id| id == asset_id)),
            None => self.has_scope(scope),
        }
    }
}

/// Keeps only ASCII digits: "+1 631-555-5555" -> "16315555555".
pub fn digits_of(raw: &str) -> String {
    raw.chars().filter(char::is_ascii_digit).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_enum_values_are_kept_verbatim() {
        let s: NumberStatus = serde_json::from_str("\"SOMETHING_NEW\"").unwrap();
        assert_eq!(s, NumberStatus::Other("SOMETHING_NEW".into()));
        assert_eq!(s.as_str(), "SOMETHING_NEW");
        assert_eq!(serde_json::to_string(&s).unwrap(), "\"SOMETHING_NEW\"");
    }

    #[test]
    fn legacy_and_current_spellings_are_understood() {
        assert_eq!(
            CodeVerificationStatus::parse("UNVERIFIED"),
            CodeVerificationStatus::NotVerified
        );
        assert_eq!(
            CodeVerificationStatus::parse("NOT_VERIFIED"),
            CodeVerificationStatus::NotVerified
        );
        assert_eq!(QualityRating::parse("NA").rank(), None);
        assert_eq!(QualityRating::parse("UNKNOWN").rank(), None);
        assert_eq!(
            MessagingLimit::parse("TIER_1K"),
            MessagingLimit::Tier(1_000)
        );
        assert_eq!(
            MessagingLimit::parse("TIER_2K"),
            MessagingLimit::Tier(2_000)
        );
    }

    #[test]
    fn limits_parse_from_strings_and_integers() {
        let l: MessagingLimit = serde_json::from_str("2000").unwrap();
        assert_eq!(l.canonical(), "TIER_2K");
        let l: MessagingLimit = serde_json::from_str("-1").unwrap();
        assert_eq!(l, MessagingLimit::Unlimited);
        let l: MessagingLimit = serde_json::from_str("\"TIER_250\"").unwrap();
        assert_eq!(l, MessagingLimit::Tier(250));
        assert_eq!(
            MessagingLimit::parse("TIER_WEIRD"),
            MessagingLimit::Other("TIER_WEIRD".into())
        );
        assert_eq!(
            MessagingLimit::Tier(250).compare(&MessagingLimit::Tier(2_000)),
            Some(std::cmp::Ordering::Less)
        );
        assert_eq!(
            MessagingLimit::Unlimited.compare(&MessagingLimit::Untiered),
            None
        );
    }

    #[test]
    fn known_values_are_every_variant_and_parse_back_to_themselves() {
        assert_eq!(NumberStatus::ALL.len(), 11);
        assert!(
            !NumberStatus::ALL
                .iter()
                .any(|s| matches!(s, NumberStatus::Other(_)))
        );
        for s in NumberStatus::ALL {
            assert_eq!(&NumberStatus::parse(s.as_str()), s);
        }
        let ratings: Vec<&str> = QualityRating::ALL
            .iter()
            .map(QualityRating::as_str)
            .collect();
        assert_eq!(ratings, ["GREEN", "YELLOW", "RED", "UNKNOWN", "NA"]);
        let tiers: Vec<String> = MessagingLimit::known()
            .iter()
            .map(MessagingLimit::canonical)
            .collect();
        assert_eq!(
            tiers,
            [
                "TIER_50",
                "TIER_250",
                "TIER_1K",
                "TIER_2K",
                "TIER_10K",
                "TIER_100K",
                "TIER_UNLIMITED",
                "UNTIERED",
                "TIER_NOT_SET"
            ]
        );
        for t in &tiers {
            assert_eq!(&MessagingLimit::parse(t).canonical(), t);
        }
    }

    #[test]
    fn quality_reasons_and_date_of_any_shape_never_fail_the_number() {
        let n: PhoneNumber = serde_json::from_str(
            r#"{ "id": "1", "quality_score": { "score": "YELLOW", "date": "1763856000",
                 "reasons": ["USER_BLOCKS", {"reason": "SPAM"}, {"code": " "}, 7, null] } }"#,
        )
        .unwrap();
        let q = n.quality_score.unwrap();
        assert_eq!(q.score, QualityRating::Yellow);
        assert_eq!(q.date, Some(1_763_856_000));
        assert_eq!(q.reasons, ["USER_BLOCKS", "SPAM"]);
        let n: PhoneNumber = serde_json::from_str(
            r#"{ "id": "1", "quality_score": { "score": "RED", "date": {"t": 1}, "reasons": "USER_REPORTS" } }"#,
        )
        .unwrap();
        let q = n.quality_score.unwrap();
        assert_eq!(
            (q.date, q.reasons),
            (None, vec!["USER_REPORTS".to_string()])
        );
        let n: PhoneNumber = serde_json::from_str(
            r#"{ "id": "1", "quality_score": { "score": "GREEN", "reasons": {"x": 1} } }"#,
        )
        .unwrap();
        assert!(n.quality_score.unwrap().reasons.is_empty());
    }

    #[test]
    fn display_numbers_reduce_to_digits() {
        assert_eq!(digits_of("+1 631-555-5555"), "16315555555");
    }
    #[test]
    fn parses_documented_number_examples() {
        let n: PhoneNumber = serde_json::from_str(
            r#"{ "code_verification_status": "VERIFIED", "display_phone_number": "15555555555",
                 "id": "105954558954427", "quality_rating": "GREEN", "verified_name": "Support Number" }"#,
        )
        .unwrap();
        assert_eq!(
            n.code_verification_status,
            Some(CodeVerificationStatus::Verified)
        );
        assert_eq!(n.quality_rating, Some(QualityRating::Green));
        assert_eq!(n.digits().as_deref(), Some("15555555555"));

        let n: PhoneNumber = serde_json::from_str(
            r#"{ "verified_name": "Lucky Shrub", "code_verification_status": "VERIFIED",
                 "display_phone_number": "15550783881", "quality_rating": "GREEN",
                 "platform_type": "CLOUD_API", "throughput": { "level": "STANDARD" },
                 "webhook_configuration": { "application": "https://www.luckyshrub.com/webhooks" },
                 "id": "106540352242922" }"#,
        )
        .unwrap();
        assert_eq!(n.platform_type, Some(PlatformType::CloudApi));
        assert_eq!(n.throughput.unwrap().level, "STANDARD");
        assert_eq!(n.status, None);
    }

    #[test]
    fn unknown_values_in_a_full_number_do_not_fail_the_read() {
        let n: PhoneNumber = serde_json::from_str(
            r#"{ "id": "1", "status": "PAUSED", "quality_rating": "PURPLE", "name_status": "NEW_STATE",
                 "platform_type": "SATELLITE", "account_mode": "BETA", "code_verification_status": "MAYBE",
                 "whatsapp_business_manager_messaging_limit": "TIER_5K_SPECIAL",
                 "messaging_limit_tier": "TIER_1K",
                 "quality_score": { "score": "NA", "date": 1700000000, "reasons": ["SOMETHING"] },
                 "health_status": { "can_send_message": "PARTIAL",
                   "entities": [ { "entity_type": "FLOW", "id": "9", "can_send_message": "AVAILABLE" } ] } }"#,
        )
        .unwrap();
        assert_eq!(n.status, Some(NumberStatus::Other("PAUSED".into())));
        assert_eq!(
            n.quality_rating,
            Some(QualityRating::Other("PURPLE".into()))
        );
        assert_eq!(
            n.platform_type,
            Some(PlatformType::Other("SATELLITE".into()))
        );
        assert_eq!(n.messaging_limit_tier, Some(MessagingLimit::Tier(1_000)));
        assert_eq!(
            n.whatsapp_business_manager_messaging_limit,
            Some(MessagingLimit::Other("TIER_5K_SPECIAL".into()))
        );
        let health = n.health_status.unwrap();
        assert_eq!(
            health.can_send_message,
            CanSendMessage::Other("PARTIAL".into())
        );
        assert_eq!(
            health.entities[0].entity_type,
            HealthEntityType::Other("FLOW".into())
        );
    }

    #[test]
    fn parses_documented_health_status_with_payment_error() {
        let h: HealthStatus = serde_json::from_str(
            r#"{ "can_send_message": "BLOCKED", "entities": [
                 { "entity_type": "PHONE_NUMBER", "id": "106540352242922", "can_send_message": "AVAILABLE", "can_receive_call_sip": "AVAILABLE" },
                 { "entity_type": "WABA", "id": "8976r843r3r3", "can_send_message": "BLOCKED",
                   "errors": [ { "error_code": 141006,
                     "error_description": "There is an error with the payment method. This will block business initiated conversations.",
                     "possible_solution": "There was an error with your payment method. Please add a new payment method to the account." } ] },
                 { "entity_type": "BUSINESS", "id": "2", "can_send_message": "LIMITED", "additional_info": ["Business verification pending"] },
                 { "entity_type": "APP", "id": "3", "can_send_message": "AVAILABLE" } ] }"#,
        )
        .unwrap();
        assert_eq!(h.can_send_message, CanSendMessage::Blocked);
        let waba = h.entity(&HealthEntityType::Waba).unwrap();
        assert_eq!(waba.errors[0].error_code, Some(141006));
        assert!(
            waba.errors[0]
                .possible_solution
                .as_deref()
                .unwrap()
                .contains("payment method")
        );
        let business = h.entity(&HealthEntityType::Business).unwrap();
        assert_eq!(business.can_send_message, CanSendMessage::Limited);
        assert_eq!(business.additional_info.len(), 1);
        assert_eq!(
            h.entity(&HealthEntityType::PhoneNumber)
                .unwrap()
                .can_receive_call_sip
                .as_deref(),
            Some("AVAILABLE")
        );
    }

    #[test]
    fn calling_health_of_an_unexpected_shape_does_not_fail_the_entity() {
        let h: HealthStatus = serde_json::from_str(
            r#"{ "can_send_message": "AVAILABLE", "entities": [
                 { "entity_type": "PHONE_NUMBER", "id": "1", "can_send_message": "AVAILABLE", "can_receive_call_sip": {"status": "AVAILABLE"} },
                 { "entity_type": "APP", "id": "2", "can_send_message": "AVAILABLE", "can_receive_call_sip": true },
                 { "entity_type": "WABA", "id": "3", "can_send_message": "AVAILABLE", "can_receive_call_sip": null } ] }"#,
        )
        .unwrap();
        let sip = |kind: HealthEntityType| h.entity(&kind).unwrap().can_receive_call_sip.clone();
        assert_eq!(sip(HealthEntityType::PhoneNumber), None);
        assert_eq!(sip(HealthEntityType::App).as_deref(), Some("true"));
        assert_eq!(sip(HealthEntityType::Waba), None);
    }

    #[test]
    fn parses_documented_waba_example() {
        let w: WabaSnapshot = serde_json::from_str(
            r#"{ "id": "WHATSAPP-BUSINESS-ACCOUNT-ID", "name": "Test WhatsApp Business Account",
                 "timezone_id": "1", "message_template_namespace": "MESSAGE-TEMPLATE-NAMESPACE" }"#,
        )
        .unwrap();
        assert_eq!(w.name.as_deref(), Some("Test WhatsApp Business Account"));
        assert!(w.phone_numbers.is_empty());
        let w: WabaSnapshot = serde_json::from_str(
            r#"{ "id": "1", "account_review_status": "APPROVED", "business_verification_status": "verified",
                 "ownership_type": "CLIENT_OWNED", "whatsapp_business_manager_messaging_limit": "TIER_2K",
                 "owner_business_info": { "id": "506914307656634", "name": "Lucky Shrub" } }"#,
        )
        .unwrap();
        assert_eq!(w.account_review_status, Some(ReviewStatus::Approved));
        assert_eq!(
            w.whatsapp_business_manager_messaging_limit,
            Some(MessagingLimit::Tier(2_000))
        );
        assert_eq!(w.owner_business_info.unwrap().id, "506914307656634");
    }

    #[test]
    fn parses_documented_debug_token() {
        let raw = r#"{ "data": { "app_id": "670843887433847", "application": "JaspersMarket",
            "data_access_expires_at": 1672092840, "expires_at": 1665090000,
            "granular_scopes": [ { "scope": "whatsapp_business_management", "target_ids": ["102289599326934","101569239400667"] },
                                 { "scope": "whatsapp_business_messaging",  "target_ids": ["102289599326934","101569239400667"] } ],
            "is_valid": true, "scopes": ["whatsapp_business_management","whatsapp_business_messaging","public_profile"],
            "type": "USER", "user_id": "10222270944537964" } }"#;
        #[derive(Deserialize)]
        struct Envelope {
            data: TokenInfo,
        }
        let t = serde_json::from_str::<Envelope>(raw).unwrap().data;
        assert!(t.is_valid);
        assert_eq!(t.token_type.as_deref(), Some("USER"));
        assert_eq!(t.expires().unwrap().as_second(), 1665090000);
        assert!(t.grants("whatsapp_business_management", "101569239400667"));
        assert!(!t.grants("whatsapp_business_management", "999"));
        assert!(t.has_scope("public_profile"));
        let never: TokenInfo =
            serde_json::from_str(r#"{"expires_at": 0, "is_valid": true}"#).unwrap();
        assert_eq!(never.expires(), None);
    }

    #[test]
    fn parses_documented_subscribed_apps() {
        let raw = r#"[ { "whatsapp_business_api_data": { "id": "670843887433847", "link": "https://www.facebook.com/games/?app_id=670843887433847", "name": "Lucky Shrub" },
                         "override_callback_uri": "https://my-waba-alternate-callback.com/webhook" } ]"#;
        let apps: Vec<SubscribedApp> = serde_json::from_str(raw).unwrap();
        assert_eq!(apps[0].app_id(), Some("670843887433847"));
        assert_eq!(
            apps[0].override_callback_uri.as_deref(),
            Some("https://my-waba-alternate-callback.com/webhook")
        );
    }

    #[test]
    fn one_malformed_number_does_not_hide_the_others() {
        let raw = vec![
            serde_json::json!({"id": "1", "display_phone_number": "+1 555-078-3881", "status": "CONNECTED"}),
            serde_json::json!({"id": "2", "display_phone_number": "+55 11 98765-4321", "status": {"unexpected": true}}),
            serde_json::json!({"id": "3", "status": ["no", "digits"]}),
        ];
        let (numbers, malformed) = decode_numbers(raw);
        assert_eq!(numbers.len(), 1);
        assert_eq!(numbers[0].id, "1");
        assert_eq!(malformed.len(), 2);
        assert_eq!(malformed[0].id.as_deref(), Some("2"));
        assert_eq!(malformed[0].digits.as_deref(), Some("5511987654321"));
        assert_eq!(malformed[1].digits, None);
        let snapshot = WabaSnapshot {
            id: "w".into(),
            name: None,
            account_review_status: None,
            business_verification_status: None,
            ownership_type: None,
            whatsapp_business_manager_messaging_limit: None,
            health_status: None,
            owner_business_info: None,
            phone_numbers: numbers,
            malformed_numbers: malformed[..1].to_vec(),
            message_templates: None,
            malformed_templates: Vec::new(),
        };
        assert!(snapshot.unreadable("5511987654321").is_some());
        assert_eq!(snapshot.unreadable("15550783881"), None);
        let with_unknown = WabaSnapshot {
            malformed_numbers: malformed,
            ..snapshot
        };
        assert!(with_unknown.unreadable("15550783882").is_some());
    }
}
