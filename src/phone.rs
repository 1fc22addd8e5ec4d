//! Phone numbers as people write them, reduced to E.164.

use thiserror::Error;

#[derive(Clone, Debug, Error, PartialEq, Eq)]
pub enum PhoneError {
    #[error("phone number {0:?} must start with + and the country code")]
    MissingCountryCode(String),
    #[error(
        "phone number {0:?} contains characters other than digits, spaces, dashes, dots and parentheses"
    )]
    InvalidCharacters(String),
    #[error("phone number {0:?} must have 8 to 15 digits including the country code")]
    WrongLength(String),
}

/// An E.164 number: `+` followed by 8 to 15 digits, the first not 0.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct E164(String);

impl E164 {
    /// Accepts "+55 11 98765-4321", "+1 (631) 555-5555", "+44.20.7946.0958".
    pub fn parse(raw: &str) -> Result<Self, PhoneError> {
        let trimmed = raw.trim();
        let rest = trimmed
            .strip_prefix('+')
            .ok_or_else(|| PhoneError::MissingCountryCode(raw.to_string()))?;
        if !rest
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '-' | '.' | '(' | ')'))
        {
            return Err(PhoneError::InvalidCharacters(raw.to_string()));
        }
        let digits: String = rest.chars().filter(char::is_ascii_digit).collect();
        if digits.starts_with('0') {
            return Err(PhoneError::MissingCountryCode(raw.to_string()));
        }
        if !(8..=15).contains(&digits.len()) {
            return Err(PhoneError::WrongLength(raw.to_string()));
        }
        Ok(Self(digits))
    }

    /// Digits only, as Meta's webhooks and `display_phone_number` carry them.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// Splits off the country calling code for `POST /{waba}/phone_numbers` (`cc`, `phone_number`).
    pub fn split_country_code(&self) -> (&str, &str) {
        let len = country_code_len(&self.0);
        self.0.split_at(len)
    }
}

/// A phone number as a spec spells it ("+55 11 98765-4321"), parsed once, when the object is
/// read. Reading never fails: a number admission let through but that does not parse keeps its
/// error for the decide step to report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpecNumber {
    raw: String,
    parsed: Result<E164, PhoneError>,
}

impl SpecNumber {
    /// As written in the spec.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    pub fn parsed(&self) -> Result<E164, PhoneError> {
        self.parsed.clone()
    }

    /// The E.164 digits, the key numbers are matched on; `None` when the spec does not parse.
    pub fn digits(&self) -> Option<String> {
        self.parsed.as_ref().ok().map(|e| e.digits().to_string())
    }

    /// E.164 when it parses, else the spec's text, for messages.
    pub fn display(&self) -> String {
        match &self.parsed {
            Ok(e164) => e164.to_string(),
            Err(_) => self.raw.trim().to_string(),
        }
    }
}

impl From<String> for SpecNumber {
    fn from(raw: String) -> Self {
        let parsed = E164::parse(&raw);
        Self { raw, parsed }
    }
}

impl From<&str> for SpecNumber {
    fn from(raw: &str) -> Self {
        raw.to_string().into()
    }
}

impl std::fmt::Display for SpecNumber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.raw)
    }
}

crate::text::spec_text!(SpecNumber);

impl std::fmt::Display for E164 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "+{}", self.0)
    }
}

/// Length of the ITU-T E.164 country calling code at the start of `digits`.
fn country_code_len(digits: &str) -> usize {
    // Codes are prefix-free: 1 and 7 are single-digit zones, the rest of zones 2-9 use two or
    // three digits. The two-digit codes are listed; everything else in those zones is three.
    const TWO_DIGIT: &[&str] = &[
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98",
    ];
    match digits.as_bytes().first() {
        Some(b'1') | Some(b'7') => 1,
        _ if digits.len() >= 2 && TWO_DIGIT.contains(&&digits[..2]) => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_formats_normalise() {
        for (raw, digits) in [
            ("+55 11 98765-4321", "5511987654321"),
            ("+1 (631) 555-5555", "16315555555"),
            ("+44.20.7946.0958", "442079460958"),
            ("  +971 50 123 4567 ", "971501234567"),
        ] {
            assert_eq!(E164::parse(raw).unwrap().digits(), digits, "{raw}");
        }
        assert_eq!(
            E164::parse("+55 11 98765-4321").unwrap().to_string(),
            "+5511987654321"
        );
    }

    #[test]
    fn bad_numbers_are_rejected_with_the_reason() {
        assert!(matches!(
            E164::parse("5511987654321"),
            Err(PhoneError::MissingCountryCode(_))
        ));
        assert!(matches!(
            E164::parse("+0 11 98765"),
            Err(PhoneError::MissingCountryCode(_))
        ));
        assert!(matches!(
            E164::parse("+55 11 CALL-NOW"),
            Err(PhoneError::InvalidCharacters(_))
        ));
        assert!(matches!(
            E164::parse("+1 555"),
            Err(PhoneError::WrongLength(_))
        ));
        assert!(matches!(
            E164::parse("+1234567890123456"),
            Err(PhoneError::WrongLength(_))
        ));
    }

    #[test]
    fn country_codes_split_by_zone() {
        assert_eq!(
            E164::parse("+1 631 555 5555").unwrap().split_country_code(),
            ("1", "6315555555")
        );
        assert_eq!(
            E164::parse("+55 11 98765-4321")
                .unwrap()
                .split_country_code(),
            ("55", "11987654321")
        );
        assert_eq!(
            E164::parse("+971 50 123 4567")
                .unwrap()
                .split_country_code(),
            ("971", "501234567")
        );
        assert_eq!(
            E164::parse("+7 912 345 6789").unwrap().split_country_code(),
            ("7", "9123456789")
        );
    }
}
