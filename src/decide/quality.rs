//! Meta's quality insights (`quality_score.reasons`) in words a person understands.
//!
//! Meta documents the field but not its values, so the codes below are the reasons WhatsApp
//! Manager shows people for blocks and reports, spelled as Meta spells its other enums; they are
//! UNCONFIRMED. A code not listed is kept verbatim, never dropped.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use super::time::status_time;
use crate::crd::QualityInsights;
use crate::meta::model::QualityScore;

/// The insights of a number's `quality_score`; `None` when Meta gave neither reasons nor a date.
pub(crate) fn insights(score: &QualityScore) -> Option<QualityInsights> {
    let scored_at: Option<Time> = score
        .date
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map(status_time);
    let mut reasons: Vec<String> = Vec::new();
    for r in &score.reasons {
        if !reasons.contains(r) {
            reasons.push(r.clone());
        }
    }
    (scored_at.is_some() || !reasons.is_empty()).then_some(QualityInsights { reasons, scored_at })
}

/// One reason code as a sentence fragment; unknown codes verbatim.
pub(crate) fn describe(code: &str) -> String {
    let words = match code.trim().to_ascii_uppercase().as_str() {
        "BLOCKED" | "BLOCKS" | "USER_BLOCKS" | "USER_BLOCKED" | "HIGH_BLOCK_RATE" => {
            "people blocked the number"
        }
        "REPORTED" | "REPORTS" | "USER_REPORTS" | "USER_REPORTED" | "HIGH_REPORT_RATE" => {
            "people reported the number's messages"
        }
        "SPAM" | "MARKED_AS_SPAM" => "people marked the messages as spam",
        "NO_LONGER_NEEDED" | "NOT_NEEDED" => "people said they no longer need the messages",
        "DIDNT_SIGN_UP" | "DID_NOT_SIGN_UP" | "NOT_SIGNED_UP" => {
            "people said they never signed up for the messages"
        }
        "OFFENSIVE" | "OFFENSIVE_MESSAGES" | "OFFENSIVE_CONTENT" => {
            "people found the messages offensive"
        }
        "LOW_READ_RATE" | "LOW_ENGAGEMENT" => "few people read the messages",
        "TOO_MANY_MESSAGES" | "HIGH_FREQUENCY" => "people were sent too many messages",
        "OTHER" => "people gave another reason",
        _ => return code.trim().to_string(),
    };
    words.to_string()
}

/// "people blocked the number; SOMETHING_NEW" for the stored insights; `None` without reasons.
pub(crate) fn explain(insights: Option<&QualityInsights>) -> Option<String> {
    let reasons = &insights?.reasons;
    let words: Vec<String> = reasons
        .iter()
        .map(|r| describe(r))
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.join("; "))
}

/// What to do about a low rating, after the reasons.
pub(crate) const ADVICE: &str = "send only to people who opted in, fewer and more relevant \
                                  messages, and see Insights in WhatsApp Manager";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::model::QualityRating;

    fn score(date: Option<i64>, reasons: &[&str]) -> QualityScore {
        QualityScore {
            score: QualityRating::Yellow,
            date,
            reasons: reasons.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn known_reasons_read_as_words_and_unknown_ones_verbatim() {
        assert_eq!(describe("USER_BLOCKS"), "people blocked the number");
        assert_eq!(describe("spam"), "people marked the messages as spam");
        assert_eq!(describe("BRAND_NEW_REASON"), "BRAND_NEW_REASON");
        let i = insights(&score(
            None,
            &["USER_REPORTS", "BRAND_NEW_REASON", "USER_REPORTS"],
        ));
        assert_eq!(
            explain(i.as_ref()).as_deref(),
            Some("people reported the number's messages; BRAND_NEW_REASON")
        );
    }

    #[test]
    fn the_date_is_kept_in_whole_seconds_and_nothing_means_no_insights() {
        let i = insights(&score(Some(1_763_856_000), &[])).unwrap();
        assert!(i.reasons.is_empty());
        assert_eq!(
            i.scored_at.as_ref().map(|t| t.0.as_second()),
            Some(1_763_856_000)
        );
        assert_eq!(explain(Some(&i)), None);
        assert_eq!(insights(&score(None, &[])), None);
    }
}
