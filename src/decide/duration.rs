//! Durations as `spec.syncInterval` spells them: "10m", "1h30m", "90s", "1.5h", "500ms".

use std::time::Duration;

use thiserror::Error;

use crate::crd::WhatsAppBusinessAccountSpec;

/// Used when `spec.syncInterval` is unusable; admission validation normally prevents that.
pub const DEFAULT_SYNC_INTERVAL: Duration = Duration::from_secs(600);

/// Meta allows about 200 requests per hour per WABA before a number is registered.
pub const MIN_SYNC_INTERVAL: Duration = Duration::from_secs(60);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum DurationError {
    #[error("duration is empty: use a value such as \"10m\" or \"1h30m\"")]
    Empty,
    #[error("duration {input:?} has no number before {rest:?}")]
    MissingNumber { input: String, rest: String },
    #[error("duration {input:?} has a number without a unit (ms, s, m or h)")]
    MissingUnit { input: String },
    #[error("duration {input:?} uses unknown unit {unit:?}: use ms, s, m or h")]
    UnknownUnit { input: String, unit: String },
    #[error("duration {input:?} is too long")]
    Overflow { input: String },
}

const NANOS_PER_MS: u128 = 1_000_000;
const NANOS_PER_S: u128 = 1_000 * NANOS_PER_MS;

/// Parses a sequence of `<number><unit>` terms, the number possibly with a fraction.
pub fn parse_duration(s: &str) -> Result<Duration, DurationError> {
    let input = s.trim();
    if input.is_empty() {
        return Err(DurationError::Empty);
    }
    let mut total: u128 = 0;
    let mut rest = input;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let (int_part, after_int) = rest.split_at(int_len);
        let (frac_part, after_num) = match after_int.strip_prefix('.') {
            Some(after_dot) => {
                let frac_len = after_dot.bytes().take_while(u8::is_ascii_digit).count();
                after_dot.split_at(frac_len)
            }
            None => ("", after_int),
        };
        if int_part.is_empty() {
            return Err(DurationError::MissingNumber {
                input: input.into(),
                rest: rest.into(),
            });
        }
        let unit_len = after_num
            .bytes()
            .take_while(|b| b.is_ascii_alphabetic())
            .count();
        let (unit, after_unit) = after_num.split_at(unit_len);
        let unit_nanos = match unit {
            "ms" => NANOS_PER_MS,
            "s" => NANOS_PER_S,
            "m" => 60 * NANOS_PER_S,
            "h" => 3_600 * NANOS_PER_S,
            "" => {
                return Err(DurationError::MissingUnit {
                    input: input.into(),
                });
            }
            other => {
                return Err(DurationError::UnknownUnit {
                    input: input.into(),
                    unit: other.into(),
                });
            }
        };
        let overflow = || DurationError::Overflow {
            input: input.into(),
        };
        let whole: u128 = int_part.parse().map_err(|_| overflow())?;
        // Digits past the 18th cannot change the value by a nanosecond even for hours.
        let frac_digits = &frac_part[..frac_part.len().min(18)];
        let frac_value: u128 = if frac_digits.is_empty() {
            0
        } else {
            frac_digits.parse().map_err(|_| overflow())?
        };
        let frac_nanos = frac_value * unit_nanos / 10u128.pow(frac_digits.len() as u32);
        total = whole
            .checked_mul(unit_nanos)
            .and_then(|n| n.checked_add(frac_nanos))
            .and_then(|n| n.checked_add(total))
            .ok_or_else(overflow)?;
        rest = after_unit;
    }
    let secs = u64::try_from(total / NANOS_PER_S).map_err(|_| DurationError::Overflow {
        input: input.into(),
    })?;
    // The remainder of a division by 10^9 always fits in u32.
    let nanos = (total % NANOS_PER_S) as u32;
    Ok(Duration::new(secs, nanos))
}

/// The account's polling interval: `spec.syncInterval`, never below [`MIN_SYNC_INTERVAL`], and
/// [`DEFAULT_SYNC_INTERVAL`] when it does not parse (admission normally rejects that).
pub fn sync_interval(spec: &WhatsAppBusinessAccountSpec) -> Duration {
    parse_duration(&spec.sync_interval)
        .unwrap_or(DEFAULT_SYNC_INTERVAL)
        .max(MIN_SYNC_INTERVAL)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_documented_forms() {
        let cases = [
            ("10m", 600_000),
            ("1h30m", 5_400_000),
            ("90s", 90_000),
            ("1.5h", 5_400_000),
            ("500ms", 500),
            ("1m30s500ms", 90_500),
            ("0.25s", 250),
            ("2h0m", 7_200_000),
            (" 30s ", 30_000),
            ("0s", 0),
            ("1.000000000000000000001h", 3_600_000),
        ];
        for (input, millis) in cases {
            assert_eq!(
                parse_duration(input),
                Ok(Duration::from_millis(millis)),
                "{input}"
            );
        }
    }

    #[test]
    fn keeps_sub_millisecond_fractions() {
        assert_eq!(parse_duration("1.5ms"), Ok(Duration::from_micros(1_500)));
    }

    #[test]
    fn rejects_malformed_input_with_a_reason() {
        assert_eq!(parse_duration(""), Err(DurationError::Empty));
        assert_eq!(parse_duration("   "), Err(DurationError::Empty));
        assert!(matches!(
            parse_duration("10"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_duration("10m5"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_duration("1d"),
            Err(DurationError::UnknownUnit { unit, .. }) if unit == "d"
        ));
        assert!(matches!(
            parse_duration("m"),
            Err(DurationError::MissingNumber { .. })
        ));
        assert!(matches!(
            parse_duration(".5h"),
            Err(DurationError::MissingNumber { .. })
        ));
        assert!(matches!(
            parse_duration("-5m"),
            Err(DurationError::MissingNumber { .. })
        ));
        assert!(matches!(
            parse_duration("10 m"),
            Err(DurationError::MissingUnit { .. })
        ));
        assert!(matches!(
            parse_duration("99999999999999999999999999999999999999999h"),
            Err(DurationError::Overflow { .. })
        ));
        assert!(matches!(
            parse_duration("9999999999999999999h"),
            Err(DurationError::Overflow { .. })
        ));
    }

    #[test]
    fn error_messages_quote_the_input() {
        let err = parse_duration("5x").unwrap_err();
        assert_eq!(
            err.to_string(),
            "duration \"5x\" uses unknown unit \"x\": use ms, s, m or h"
        );
    }
}
