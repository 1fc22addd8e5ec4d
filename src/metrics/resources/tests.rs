use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::api::ObjectMeta;
use kube::runtime::reflector::{self, store::Writer};
use kube::runtime::watcher::Event;

use crate::crd::{
    AccountRef, DeletionPolicy, HealthSummary, Management, Phase, RegistrationProgress,
    SecretKeyRef, WhatsAppBusinessAccount, WhatsAppBusinessAccountSpec,
    WhatsAppBusinessAccountStatus, WhatsAppChannel, WhatsAppChannelSpec, WhatsAppChannelStatus,
};
use crate::metrics::{Metrics, StateSets};

fn meta(ns: &str, name: &str) -> ObjectMeta {
    ObjectMeta {
        namespace: Some(ns.into()),
        name: Some(name.into()),
        uid: Some(format!("uid-{name}")),
        ..Default::default()
    }
}

fn cond(type_: &str, status: &str, reason: &str) -> Condition {
    Condition {
        type_: type_.into(),
        status: status.into(),
        reason: reason.into(),
        message: String::new(),
        observed_generation: None,
        last_transition_time: Time("2026-01-01T00:00:00Z".parse().unwrap()),
    }
}

fn at(s: &str) -> Time {
    Time(s.parse().unwrap())
}

fn account(name: &str) -> WhatsAppBusinessAccount {
    let spec: WhatsAppBusinessAccountSpec = serde_json::from_value(serde_json::json!({
        "businessAccountId": "102290129340398",
        "credentialsSecretRef": {"name": "acme-graph-token", "key": "token"},
    }))
    .unwrap();
    let mut a = WhatsAppBusinessAccount::new(name, spec);
    a.metadata = meta("ns", name);
    a.status = Some(WhatsAppBusinessAccountStatus {
        account_review_status: Some("APPROVED".into()),
        messaging_limit: Some("TIER_2K".into()),
        health: Some(HealthSummary {
            can_send_message: Some("AVAILABLE".into()),
            entities: vec![],
            ..Default::default()
        }),
        credentials_expire_at: Some(at("2026-03-01T00:00:00Z")),
        conditions: vec![
            cond("Ready", "True", "Available"),
            cond("Stalled", "False", "NoActionNeeded"),
        ],
        sync: crate::crd::SyncStatus {
            last_sync_time: Some(at("2026-01-01T00:10:00Z")),
            ..Default::default()
        },
        ..Default::default()
    });
    a
}

fn channel(name: &str, number: &str) -> WhatsAppChannel {
    let spec = WhatsAppChannelSpec {
        account_ref: AccountRef {
            name: "acme".into(),
        },
        phone_number: number.into(),
        display_name: None,
        management: Management::Managed,
        registration: None,
        business_profile: None,
        deletion_policy: DeletionPolicy::Deregister,
    };
    let mut ch = WhatsAppChannel::new(name, spec);
    ch.metadata = meta("ns", name);
    ch.status = Some(WhatsAppChannelStatus {
        phase: Phase::Degraded,
        phone_number_id: Some("106540352242922".into()),
        status: Some("FLAGGED".into()),
        quality_rating: Some("RED".into()),
        messaging_limit: Some("TIER_250".into()),
        health: Some(HealthSummary {
            can_send_message: Some("LIMITED".into()),
            entities: vec![],
            ..Default::default()
        }),
        conditions: vec![
            cond("Ready", "False", "Flagged"),
            cond("Registered", "True", "Registered"),
            cond("Synced", "Unknown", "AwaitingSync"),
            cond("Stalled", "False", "NoActionNeeded"),
        ],
        registration: Some(RegistrationProgress {
            // One attempt far in the future stays in the window whatever the clock says.
            attempts: vec![at("2099-01-01T00:00:00Z")],
            ..Default::default()
        }),
        ..Default::default()
    });
    ch
}

fn apply<K>(w: &mut Writer<K>, event: Event<K>)
where
    K: kube::Resource + Clone,
    K::DynamicType: Eq + std::hash::Hash + Clone + Default,
{
    w.apply_watcher_event(&event);
}

fn scraped(m: &Metrics) -> Vec<String> {
    m.encode()
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_string)
        .collect()
}

fn of<'a>(lines: &'a [String], name: &str) -> Vec<&'a str> {
    let family = format!("whatsapp_operator_{name}{{");
    lines
        .iter()
        .filter(|l| l.starts_with(&family))
        .map(String::as_str)
        .collect()
}

#[test]
fn series_come_from_the_stores_and_go_with_the_resource() {
    let (accounts, mut aw) = reflector::store();
    let (channels, mut cw) = reflector::store();
    let m = Metrics::new();
    m.register_scope(Arc::new((accounts, channels)));
    apply(&mut aw, Event::Apply(account("acme")));
    apply(&mut cw, Event::Apply(channel("sales", "+55 11 98765-4321")));
    let mut other = channel("support", "+55 11 98765-0000");
    other.spec.management = Management::ObserveOnly;
    other.spec.deletion_policy = DeletionPolicy::Orphan;
    other.status = None;
    apply(&mut cw, Event::Apply(other));

    let lines = scraped(&m);
    assert_eq!(
        of(&lines, "account_info"),
        [
            r#"whatsapp_operator_account_info{namespace="ns",name="acme",waba_id="102290129340398"} 1.0"#
        ]
    );
    assert_eq!(
        of(&lines, "account_review_status"),
        [
            r#"whatsapp_operator_account_review_status{namespace="ns",name="acme",status="APPROVED"} 1.0"#
        ]
    );
    assert_eq!(
        of(&lines, "account_condition"),
        [
            r#"whatsapp_operator_account_condition{namespace="ns",name="acme",condition="Ready",status="True"} 1.0"#,
            r#"whatsapp_operator_account_condition{namespace="ns",name="acme",condition="Ready",status="False"} 0.0"#,
            r#"whatsapp_operator_account_condition{namespace="ns",name="acme",condition="Stalled",status="True"} 0.0"#,
            r#"whatsapp_operator_account_condition{namespace="ns",name="acme",condition="Stalled",status="False"} 1.0"#,
        ]
    );
    assert_eq!(
        of(&lines, "account_credentials_expiry_timestamp_seconds"),
        [
            r#"whatsapp_operator_account_credentials_expiry_timestamp_seconds{namespace="ns",name="acme"} 1772323200.0"#
        ]
    );
    assert_eq!(
        of(&lines, "account_last_successful_sync_timestamp_seconds"),
        [
            r#"whatsapp_operator_account_last_successful_sync_timestamp_seconds{namespace="ns",name="acme"} 1767226200.0"#
        ]
    );
    assert!(of(&lines, "account_stalled_info").is_empty());

    let sales = |name: &str| -> Vec<&str> {
        of(&lines, name)
            .into_iter()
            .filter(|l| l.contains(r#"name="sales""#))
            .collect()
    };
    assert_eq!(
        sales("channel_info"),
        [
            r#"whatsapp_operator_channel_info{namespace="ns",name="sales",account="acme",phone_number_id="106540352242922",management="Managed",deletion_policy="Deregister"} 1.0"#
        ]
    );
    assert_eq!(
        sales("channel_phase"),
        [r#"whatsapp_operator_channel_phase{namespace="ns",name="sales",phase="Degraded"} 1.0"#]
    );
    assert_eq!(
        sales("channel_status"),
        [r#"whatsapp_operator_channel_status{namespace="ns",name="sales",status="FLAGGED"} 1.0"#]
    );
    assert_eq!(
        sales("channel_quality"),
        [r#"whatsapp_operator_channel_quality{namespace="ns",name="sales",rating="RED"} 1.0"#]
    );
    assert_eq!(
        sales("channel_messaging_limit_tier"),
        [
            r#"whatsapp_operator_channel_messaging_limit_tier{namespace="ns",name="sales",tier="TIER_250"} 1.0"#
        ]
    );
    assert_eq!(
        sales("channel_health"),
        [
            r#"whatsapp_operator_channel_health{namespace="ns",name="sales",can_send_message="LIMITED"} 1.0"#
        ]
    );
    assert_eq!(
        sales("channel_condition"),
        [
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Ready",status="True"} 0.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Ready",status="False"} 1.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Registered",status="True"} 1.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Registered",status="False"} 0.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Synced",status="True"} 0.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Synced",status="False"} 0.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Synced",status="Unknown"} 1.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Stalled",status="True"} 0.0"#,
            r#"whatsapp_operator_channel_condition{namespace="ns",name="sales",condition="Stalled",status="False"} 1.0"#,
        ]
    );
    assert_eq!(
        sales("channel_registration_attempts_remaining"),
        [
            r#"whatsapp_operator_channel_registration_attempts_remaining{namespace="ns",name="sales"} 2.0"#
        ]
    );
    let per_channel = lines
        .iter()
        .filter(|l| l.contains(r#"name="sales""#))
        .count();
    assert!(per_channel <= 16, "{per_channel} series for one channel");

    // A channel not reconciled yet: its info and Pending, nothing Meta said; ObserveOnly has
    // no registration budget.
    let support: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(r#"name="support""#))
        .collect();
    assert_eq!(
        support,
        [
            r#"whatsapp_operator_channel_info{namespace="ns",name="support",account="acme",phone_number_id="",management="ObserveOnly",deletion_policy="Orphan"} 1.0"#,
            r#"whatsapp_operator_channel_phase{namespace="ns",name="support",phase="Pending"} 1.0"#,
        ]
    );
    assert_eq!(
        of(&lines, "build_info"),
        [format!(
            r#"whatsapp_operator_build_info{{version="{}"}} 1.0"#,
            env!("CARGO_PKG_VERSION")
        )]
    );

    // Deleted: gone from the store, gone from the scrape.
    apply(
        &mut cw,
        Event::Delete(channel("sales", "+55 11 98765-4321")),
    );
    apply(&mut aw, Event::Delete(account("acme")));
    let text = m.encode().unwrap();
    assert!(!text.contains(r#"name="sales""#), "{text}");
    assert!(!text.contains(r#"name="acme""#), "{text}");
    assert!(text.contains(r#"name="support""#), "{text}");
    // The families stay described with no samples.
    assert!(
        text.contains("# TYPE whatsapp_operator_channel_status gauge"),
        "{text}"
    );
}

#[test]
fn the_number_history_kept_on_the_account_counts_and_a_stall_names_its_reason() {
    let (accounts, mut aw) = reflector::store();
    let (channels, mut cw) = reflector::store();
    let m = Metrics::new();
    m.register_scope(Arc::new((accounts, channels)));
    let mut acme = account("acme");
    if let Some(s) = acme.status.as_mut() {
        s.registration_history.insert(
            "5511987654321".into(),
            vec![at("2098-01-01T00:00:00Z"), at("2099-01-01T00:00:00Z")],
        );
        s.conditions = vec![cond("Stalled", "True", "WabaClaimedElsewhere")];
    }
    apply(&mut aw, Event::Apply(acme));
    let mut ch = channel("sales", "+55 11 98765-4321");
    if let Some(s) = ch.status.as_mut() {
        s.conditions = vec![cond("Stalled", "True", "NumberClaimedElsewhere")];
        s.phase = Phase::Stalled;
    }
    apply(&mut cw, Event::Apply(ch));
    let lines = scraped(&m);
    assert_eq!(
        of(&lines, "channel_registration_attempts_remaining"),
        [
            r#"whatsapp_operator_channel_registration_attempts_remaining{namespace="ns",name="sales"} 1.0"#
        ]
    );
    assert_eq!(
        of(&lines, "channel_stalled_info"),
        [
            r#"whatsapp_operator_channel_stalled_info{namespace="ns",name="sales",reason="NumberClaimedElsewhere"} 1.0"#
        ]
    );
    assert_eq!(
        of(&lines, "account_stalled_info"),
        [
            r#"whatsapp_operator_account_stalled_info{namespace="ns",name="acme",reason="WabaClaimedElsewhere"} 1.0"#
        ]
    );
}

#[test]
fn a_stopped_scope_reports_nothing() {
    struct Stopped;
    impl crate::metrics::WatchScope for Stopped {
        fn snapshot(&self) -> Option<crate::metrics::ScopeSnapshot> {
            None
        }
    }
    let m = Metrics::new();
    m.register_scope(Arc::new(Stopped));
    let lines = scraped(&m);
    assert!(of(&lines, "channel_info").is_empty());
    assert_eq!(of(&lines, "build_info").len(), 1);
}

#[test]
fn no_secret_value_ever_appears() {
    // The spec names Secrets and keys; their values never reach the operator's status. Even
    // a status holding fingerprints of a code and a PIN exports neither.
    let (accounts, mut aw) = reflector::store();
    let (channels, mut cw) = reflector::store();
    let m = Metrics::new();
    m.register_scope(Arc::new((accounts, channels)));
    let mut acme = account("acme");
    acme.spec.credentials_secret_ref = SecretKeyRef {
        name: "secret-token-name".into(),
        key: "secret-token-key".into(),
    };
    apply(&mut aw, Event::Apply(acme));
    let mut ch = channel("sales", "+55 11 98765-4321");
    ch.spec.registration = Some(
        serde_json::from_value(serde_json::json!({
            "verificationCodeSecretRef": {"name": "otp-secret", "key": "code"},
            "pinSecretRef": {"name": "pin-secret", "key": "pin"},
        }))
        .unwrap(),
    );
    if let Some(p) = ch.status.as_mut().and_then(|s| s.registration.as_mut()) {
        p.last_tried_code = Some("code-fingerprint-123456".into());
        p.applied_pin = Some("pin-fingerprint-654321".into());
        p.last_error = Some("error-text-xyz".into());
    }
    apply(&mut cw, Event::Apply(ch));
    let text = m.encode().unwrap();
    for secret in [
        "secret-token",
        "otp-secret",
        "pin-secret",
        "fingerprint",
        "123456",
        "654321",
        "error-text",
        "5511987654321",
    ] {
        assert!(!text.contains(secret), "{secret} in:\n{text}");
    }
}

/// A scope holding the account `acme` and the channel `sales`, with Meta's status of the
/// number one this version does not know.
fn scraped_with_unknown_status(state_sets: StateSets) -> Vec<String> {
    let (accounts, mut aw) = reflector::store();
    let (channels, mut cw) = reflector::store();
    let m = Metrics::with_state_sets(state_sets);
    m.register_scope(Arc::new((accounts, channels)));
    apply(&mut aw, Event::Apply(account("acme")));
    let mut ch = channel("sales", "+55 11 98765-4321");
    if let Some(s) = ch.status.as_mut() {
        s.status = Some("PAUSED".into());
    }
    apply(&mut cw, Event::Apply(ch));
    let mut fresh = channel("fresh", "+55 11 98765-0000");
    fresh.status = Some(WhatsAppChannelStatus {
        phase: Phase::Other,
        ..Default::default()
    });
    apply(&mut cw, Event::Apply(fresh));
    scraped(&m)
}

fn of_channel<'a>(lines: &'a [String], family: &str, name: &str) -> Vec<&'a str> {
    let name = format!(r#"name="{name}""#);
    of(lines, family)
        .into_iter()
        .filter(|l| l.contains(&name))
        .collect()
}

#[test]
fn full_state_sets_write_every_known_value_as_0_or_1_and_keep_unknown_ones() {
    let lines = scraped_with_unknown_status(StateSets::Full);
    let p = r#"whatsapp_operator_channel_phase{namespace="ns",name="sales",phase="#;
    assert_eq!(
        of_channel(&lines, "channel_phase", "sales"),
        [
            format!(r#"{p}"Pending"}} 0.0"#),
            format!(r#"{p}"Adding"}} 0.0"#),
            format!(r#"{p}"AwaitingDisplayName"}} 0.0"#),
            format!(r#"{p}"AwaitingVerificationCode"}} 0.0"#),
            format!(r#"{p}"Registering"}} 0.0"#),
            format!(r#"{p}"Connected"}} 0.0"#),
            format!(r#"{p}"Degraded"}} 1.0"#),
            format!(r#"{p}"Blocked"}} 0.0"#),
            format!(r#"{p}"NotFound"}} 0.0"#),
            format!(r#"{p}"Stalled"}} 0.0"#),
            format!(r#"{p}"Deleting"}} 0.0"#),
        ]
    );
    // PAUSED is not a status this version knows: every known one is 0, and PAUSED is 1.
    let s = r#"whatsapp_operator_channel_status{namespace="ns",name="sales",status="#;
    assert_eq!(
        of_channel(&lines, "channel_status", "sales"),
        [
            format!(r#"{s}"PENDING"}} 0.0"#),
            format!(r#"{s}"DELETED"}} 0.0"#),
            format!(r#"{s}"MIGRATED"}} 0.0"#),
            format!(r#"{s}"BANNED"}} 0.0"#),
            format!(r#"{s}"RESTRICTED"}} 0.0"#),
            format!(r#"{s}"RATE_LIMITED"}} 0.0"#),
            format!(r#"{s}"FLAGGED"}} 0.0"#),
            format!(r#"{s}"CONNECTED"}} 0.0"#),
            format!(r#"{s}"DISCONNECTED"}} 0.0"#),
            format!(r#"{s}"UNKNOWN"}} 0.0"#),
            format!(r#"{s}"UNVERIFIED"}} 0.0"#),
            format!(r#"{s}"PAUSED"}} 1.0"#),
        ]
    );
    let q = r#"whatsapp_operator_channel_quality{namespace="ns",name="sales",rating="#;
    assert_eq!(
        of_channel(&lines, "channel_quality", "sales"),
        [
            format!(r#"{q}"GREEN"}} 0.0"#),
            format!(r#"{q}"YELLOW"}} 0.0"#),
            format!(r#"{q}"RED"}} 1.0"#),
            format!(r#"{q}"UNKNOWN"}} 0.0"#),
            format!(r#"{q}"NA"}} 0.0"#),
        ]
    );
    let t = r#"whatsapp_operator_channel_messaging_limit_tier{namespace="ns",name="sales",tier="#;
    assert_eq!(
        of_channel(&lines, "channel_messaging_limit_tier", "sales"),
        [
            format!(r#"{t}"TIER_50"}} 0.0"#),
            format!(r#"{t}"TIER_250"}} 1.0"#),
            format!(r#"{t}"TIER_1K"}} 0.0"#),
            format!(r#"{t}"TIER_2K"}} 0.0"#),
            format!(r#"{t}"TIER_10K"}} 0.0"#),
            format!(r#"{t}"TIER_100K"}} 0.0"#),
            format!(r#"{t}"TIER_UNLIMITED"}} 0.0"#),
            format!(r#"{t}"UNTIERED"}} 0.0"#),
            format!(r#"{t}"TIER_NOT_SET"}} 0.0"#),
        ]
    );
    let h = r#"whatsapp_operator_channel_health{namespace="ns",name="sales",can_send_message="#;
    assert_eq!(
        of_channel(&lines, "channel_health", "sales"),
        [
            format!(r#"{h}"AVAILABLE"}} 0.0"#),
            format!(r#"{h}"LIMITED"}} 1.0"#),
            format!(r#"{h}"BLOCKED"}} 0.0"#),
        ]
    );
    let c = |cond: &str, status: &str, v: &str| {
        format!(
            r#"whatsapp_operator_channel_condition{{namespace="ns",name="sales",condition="{cond}",status="{status}"}} {v}"#
        )
    };
    assert_eq!(
        of_channel(&lines, "channel_condition", "sales"),
        [
            c("Ready", "True", "0.0"),
            c("Ready", "False", "1.0"),
            c("Ready", "Unknown", "0.0"),
            c("Registered", "True", "1.0"),
            c("Registered", "False", "0.0"),
            c("Registered", "Unknown", "0.0"),
            c("Synced", "True", "0.0"),
            c("Synced", "False", "0.0"),
            c("Synced", "Unknown", "1.0"),
            c("Stalled", "True", "0.0"),
            c("Stalled", "False", "1.0"),
            c("Stalled", "Unknown", "0.0"),
        ]
    );
    let r = r#"whatsapp_operator_account_review_status{namespace="ns",name="acme",status="#;
    assert_eq!(
        of(&lines, "account_review_status"),
        [
            format!(r#"{r}"PENDING"}} 0.0"#),
            format!(r#"{r}"APPROVED"}} 1.0"#),
            format!(r#"{r}"REJECTED"}} 0.0"#),
            format!(r#"{r}"DEFERRED"}} 0.0"#),
        ]
    );
    assert_eq!(of(&lines, "account_messaging_limit_tier").len(), 9);
    assert_eq!(of(&lines, "account_health").len(), 3);
    assert_eq!(of(&lines, "account_condition").len(), 6);
    // Exactly one 1 per resource and family: the states stay summable.
    for family in [
        "channel_phase",
        "channel_status",
        "channel_quality",
        "channel_health",
    ] {
        let ones = of_channel(&lines, family, "sales")
            .iter()
            .filter(|l| l.ends_with(" 1.0"))
            .count();
        assert_eq!(ones, 1, "{family}");
    }
}

#[test]
fn full_state_sets_leave_out_what_status_does_not_hold_and_show_an_unknown_phase() {
    let lines = scraped_with_unknown_status(StateSets::Full);
    let fresh: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains(r#"name="fresh""#) && l.contains("channel_phase"))
        .collect();
    assert_eq!(fresh.len(), Phase::KNOWN.len() + 1);
    assert!(
        fresh
            .iter()
            .all(|l| l.ends_with(" 0.0") || l.contains(r#"phase="Other""#))
    );
    assert!(
        fresh.contains(
            &&r#"whatsapp_operator_channel_phase{namespace="ns",name="fresh",phase="Other"} 1.0"#
                .to_string()
        ),
        "{fresh:?}"
    );
    // Meta was never read for it: no status, quality, tier, health or condition series.
    for family in [
        "channel_status",
        "channel_quality",
        "channel_messaging_limit_tier",
        "channel_health",
        "channel_condition",
    ] {
        assert_eq!(
            of_channel(&lines, family, "fresh"),
            Vec::<&str>::new(),
            "{family}"
        );
    }
}

#[test]
fn current_state_sets_write_the_current_value_only_even_an_unknown_one() {
    let lines = scraped_with_unknown_status(StateSets::Current);
    assert_eq!(
        of_channel(&lines, "channel_status", "sales"),
        [r#"whatsapp_operator_channel_status{namespace="ns",name="sales",status="PAUSED"} 1.0"#]
    );
    assert_eq!(
        of_channel(&lines, "channel_phase", "fresh"),
        [r#"whatsapp_operator_channel_phase{namespace="ns",name="fresh",phase="Other"} 1.0"#]
    );
    assert_eq!(
        of_channel(&lines, "channel_condition", "sales").len(),
        9,
        "True and False of four conditions, and Synced's Unknown while it holds"
    );
    assert!(
        !lines
            .iter()
            .any(|l| l.ends_with(" 0.0") && l.contains("channel_phase"))
    );
}

#[test]
fn known_phases_are_spelt_as_in_the_resource_and_leave_out_other() {
    let spelt: Vec<String> = Phase::KNOWN
        .iter()
        .map(|p| {
            serde_json::to_value(p)
                .unwrap()
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let labels: Vec<&str> = Phase::KNOWN.iter().map(|p| super::phase_str(*p)).collect();
    assert_eq!(spelt, labels);
    assert!(!Phase::KNOWN.contains(&Phase::Other));
    let distinct: std::collections::HashSet<&str> = labels.iter().copied().collect();
    assert_eq!(distinct.len(), Phase::KNOWN.len());
}
