//! Test data shaped like Meta's documented responses.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::{
    AccountRef, DeletionPolicy, Management, SecretKeyRef, WhatsAppBusinessAccountSpec,
    WhatsAppChannelSpec,
};
use crate::meta::model::{
    AccountMode, BusinessInfo, CanSendMessage, CodeVerificationStatus, HealthEntity,
    HealthEntityType, HealthError, HealthStatus, MessagingLimit, NameStatus, NumberStatus,
    PhoneNumber, PlatformType, QualityRating, ReviewStatus, Throughput, WabaSnapshot,
};

pub const WABA_ID: &str = "102290129340398";
pub const NUMBER_ID: &str = "106540352242922";
pub const BUSINESS_ID: &str = "506914307656634";
pub const APP_ID: &str = "1234567890";

pub fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

/// A status time.
pub fn at(s: &str) -> Time {
    Time(ts(s))
}

pub fn account_spec() -> WhatsAppBusinessAccountSpec {
    WhatsAppBusinessAccountSpec {
        business_account_id: WABA_ID.into(),
        credentials_secret_ref: SecretKeyRef {
            name: "acme-graph-token".into(),
            key: "token".into(),
        },
        webhooks: None,
        sync_interval: "10m".into(),
    }
}

pub fn channel_spec(management: Management) -> WhatsAppChannelSpec {
    WhatsAppChannelSpec {
        account_ref: AccountRef {
            name: "acme".into(),
        },
        phone_number: "+55 11 98765-4321".into(),
        display_name: Some("Acme Store".into()),
        management,
        registration: None,
        business_profile: None,
        deletion_policy: DeletionPolicy::Orphan,
    }
}

pub fn entity(kind: HealthEntityType, id: &str, state: CanSendMessage) -> HealthEntity {
    HealthEntity {
        entity_type: kind,
        id: Some(id.into()),
        can_send_message: state,
        can_receive_call_sip: None,
        errors: vec![],
        additional_info: vec![],
    }
}

pub fn payment_error() -> HealthError {
    HealthError {
        error_code: Some(141006),
        error_description: Some(
            "There is an error with the payment method. This will block business initiated \
             conversations."
                .into(),
        ),
        possible_solution: Some(
            "There was an error with your payment method. Please add a new payment method to \
             the account."
                .into(),
        ),
    }
}

/// Health of a number node with every entity at the given level, overall computed like Meta.
pub fn health(
    number: CanSendMessage,
    waba: CanSendMessage,
    business: CanSendMessage,
    app: CanSendMessage,
) -> HealthStatus {
    let mut entities = vec![
        entity(HealthEntityType::PhoneNumber, NUMBER_ID, number),
        entity(HealthEntityType::Waba, WABA_ID, waba),
        entity(HealthEntityType::Business, BUSINESS_ID, business),
        entity(HealthEntityType::App, APP_ID, app),
    ];
    for e in &mut entities {
        match e.can_send_message {
            CanSendMessage::Blocked => e.errors.push(payment_error()),
            CanSendMessage::Limited => e
                .additional_info
                .push("Business verification is pending.".into()),
            _ => {}
        }
    }
    let overall = entities
        .iter()
        .map(|e| e.can_send_message.clone())
        .max_by_key(CanSendMessage::severity)
        .unwrap_or(CanSendMessage::Available);
    HealthStatus {
        can_send_message: overall,
        entities,
    }
}

pub fn healthy() -> HealthStatus {
    use CanSendMessage::Available;
    health(Available, Available, Available, Available)
}

/// Without the PHONE_NUMBER entity, as on the WABA node.
pub fn waba_health(
    waba: CanSendMessage,
    business: CanSendMessage,
    app: CanSendMessage,
) -> HealthStatus {
    let mut h = health(CanSendMessage::Available, waba, business, app);
    h.entities
        .retain(|e| e.entity_type != HealthEntityType::PhoneNumber);
    h
}

pub fn number() -> PhoneNumber {
    PhoneNumber {
        id: NUMBER_ID.into(),
        display_phone_number: Some("+55 11 98765-4321".into()),
        verified_name: Some("Acme Store".into()),
        status: Some(NumberStatus::Connected),
        quality_rating: Some(QualityRating::Green),
        quality_score: None,
        messaging_limit_tier: Some(MessagingLimit::Tier(1_000)),
        whatsapp_business_manager_messaging_limit: Some(MessagingLimit::Tier(2_000)),
        name_status: Some(NameStatus::Approved),
        new_name_status: None,
        code_verification_status: Some(CodeVerificationStatus::Verified),
        platform_type: Some(PlatformType::CloudApi),
        throughput: Some(Throughput {
            level: "STANDARD".into(),
        }),
        account_mode: Some(AccountMode::Live),
        is_on_biz_app: Some(false),
        is_pin_enabled: Some(true),
        last_onboarded_time: Some("2025-03-01T10:00:00+0000".into()),
        health_status: Some(healthy()),
    }
}

pub fn waba() -> WabaSnapshot {
    use CanSendMessage::Available;
    WabaSnapshot {
        id: WABA_ID.into(),
        name: Some("Acme".into()),
        account_review_status: Some(ReviewStatus::Approved),
        business_verification_status: Some("verified".into()),
        ownership_type: Some("SELF".into()),
        whatsapp_business_manager_messaging_limit: Some(MessagingLimit::Tier(2_000)),
        health_status: Some(waba_health(Available, Available, Available)),
        owner_business_info: Some(BusinessInfo {
            id: BUSINESS_ID.into(),
            name: Some("Acme Inc".into()),
        }),
        phone_numbers: vec![number()],
        malformed_numbers: Vec::new(),
        message_templates: None,
        malformed_templates: Vec::new(),
    }
}
