use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::api::PostParams;
use kube::{Api, Resource, ResourceExt};
use secrecy::SecretString;

use super::{Context, Error};
use crate::crd::{SecretKeyRef, WhatsAppChannel};

/// A Secret value plus a fingerprint of it, so a change can be detected without remembering
/// the value itself.
pub struct SecretValue {
    pub value: SecretString,
    /// A keyed hash of the value (see [`fingerprint`]): the same while the content is the same,
    /// whatever rewrites the Secret's metadata.
    pub version: String,
    /// What status recorded before content fingerprints: the Secret's UID and resourceVersion.
    pub legacy_version: String,
}

/// A fingerprint of a Secret key's content that status can show: HMAC-SHA256 keyed with the
/// Secret's UID and key name. A plain hash of a 6-digit PIN would be reversed by trying a
/// million values; without the UID (only readable by those who may read the Secret) it is not.
pub fn fingerprint(uid: &str, key: &str, value: &str) -> String {
    use hmac::{Hmac, KeyInit, Mac};
    let secret_key = format!("{uid}/{key}");
    match Hmac::<sha2::Sha256>::new_from_slice(secret_key.as_bytes()) {
        Ok(mut mac) => {
            mac.update(value.as_bytes());
            let digest = mac.finalize().into_bytes();
            format!("hmac-sha256:{}", hex::encode(&digest[..16]))
        }
        // HMAC takes keys of any length; this arm is never taken.
        Err(_) => format!("{uid}/{key}"),
    }
}

/// Why a referenced Secret key cannot be used; the message tells the user what to fix.
pub enum SecretLookup {
    Found(SecretValue),
    /// The Secret exists but its key is missing, empty, not text, or the Secret lacks a mark.
    Missing(String),
    /// No Secret of that name (the operator may create a verification-code Secret).
    NotFound(String),
}

/// The label a Secret needs before its value is sent to a callback URL of the account's
/// choosing (the verify token of an override callback): editing an account must not be enough
/// to send any Secret of the namespace to any URL.
pub const VERIFY_TOKEN_MARK: &str = "whatsapp-operator.io/webhook-verify-token";

/// Why a Secret lacks the mark `label: "true"`, if it does.
fn unmarked(secret: &Secret, label: &str) -> bool {
    secret
        .metadata
        .labels
        .as_ref()
        .and_then(|l| l.get(label))
        .is_none_or(|v| v != "true")
}

/// Reads one key of one Secret in `namespace` (never lists Secrets).
pub async fn read_key(
    ctx: &Context,
    namespace: &str,
    r: &SecretKeyRef,
) -> Result<SecretLookup, Error> {
    read_key_marked(ctx, namespace, r, None).await
}

/// `read_key` of a Secret that must carry the label `mark: "true"`.
pub async fn read_key_marked(
    ctx: &Context,
    namespace: &str,
    r: &SecretKeyRef,
    mark: Option<&str>,
) -> Result<SecretLookup, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    let secret = api
        .get_opt(&r.name)
        .await
        .map_err(|source| Error::ReadSecret {
            namespace: namespace.to_string(),
            name: r.name.clone(),
            source: Box::new(source),
        })?;
    let Some(secret) = secret else {
        return Ok(SecretLookup::NotFound(format!(
            "Secret {namespace}/{} not found: create it with the key \"{}\"",
            r.name, r.key
        )));
    };
    if let Some(label) = mark.filter(|l| unmarked(&secret, l)) {
        return Ok(SecretLookup::Missing(format!(
            "Secret {namespace}/{} is not labelled {label}=\"true\": label it to allow sending \
             its value to the account's override callback URL",
            r.name
        )));
    }
    let version = secret.metadata.resource_version.clone().unwrap_or_default();
    let uid = secret.metadata.uid.clone().unwrap_or_default();
    let text = match key_text(&secret, namespace, r) {
        Ok(text) => text,
        Err(message) => return Ok(SecretLookup::Missing(message)),
    };
    Ok(SecretLookup::Found(SecretValue {
        version: fingerprint(&uid, &r.key, &text),
        legacy_version: format!("{uid}/{version}"),
        value: SecretString::from(text),
    }))
}

/// The trimmed text under the key, or what is wrong with it.
fn key_text(secret: &Secret, namespace: &str, r: &SecretKeyRef) -> Result<String, String> {
    let bytes = secret
        .data
        .as_ref()
        .and_then(|d| d.get(&r.key))
        .map(|b| b.0.clone())
        .or_else(|| {
            secret
                .string_data
                .as_ref()
                .and_then(|d| d.get(&r.key))
                .map(|s| s.clone().into_bytes())
        });
    let Some(bytes) = bytes else {
        return Err(format!(
            "Secret {namespace}/{} has no key \"{}\"",
            r.name, r.key
        ));
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t.trim().to_string(),
        Err(_) => {
            return Err(format!(
                "Secret {namespace}/{} key \"{}\" is not UTF-8 text",
                r.name, r.key
            ));
        }
    };
    if text.is_empty() {
        return Err(format!(
            "Secret {namespace}/{} key \"{}\" is empty",
            r.name, r.key
        ));
    }
    Ok(text)
}

/// The label marking the verification-code Secrets the operator creates.
pub const VERIFICATION_CODE_MARK: &str = "whatsapp-operator.io/verification-code";

/// The empty verification-code Secret of `ch` (`None` for a channel without a UID, which the
/// apiserver never serves). It is owned by the channel, so it goes when the channel goes, but
/// not as its controller (a person writes its content, the operator never does), and without
/// blockOwnerDeletion, which would need rights on the channel's finalizers.
pub fn code_secret(ch: &WhatsAppChannel, r: &SecretKeyRef) -> Option<Secret> {
    let owner = OwnerReference {
        api_version: WhatsAppChannel::api_version(&()).into_owned(),
        kind: WhatsAppChannel::kind(&()).into_owned(),
        name: ch.name_any(),
        uid: ch.metadata.uid.clone()?,
        controller: Some(false),
        block_owner_deletion: Some(false),
    };
    let labels = BTreeMap::from([
        (
            "app.kubernetes.io/managed-by".to_string(),
            "whatsapp-operator".to_string(),
        ),
        (VERIFICATION_CODE_MARK.to_string(), "true".to_string()),
    ]);
    Some(Secret {
        metadata: ObjectMeta {
            name: Some(r.name.clone()),
            namespace: ch.namespace(),
            labels: Some(labels),
            owner_references: Some(vec![owner]),
            ..ObjectMeta::default()
        },
        type_: Some("Opaque".into()),
        data: Some(BTreeMap::from([(r.key.clone(), ByteString(Vec::new()))])),
        ..Secret::default()
    })
}

/// What became of creating a Secret.
#[derive(Debug, PartialEq, Eq)]
pub enum Creation {
    Created,
    /// Someone created it first (a person, another replica): left as it is.
    AlreadyExists,
    /// The apiserver will not create it (RBAC without `create`, a name Kubernetes refuses, a
    /// terminating namespace): the reason, for the log.
    Refused(String),
}

/// Creates `secret` in `namespace`; never overwrites one that exists.
pub async fn create(ctx: &Context, namespace: &str, secret: &Secret) -> Result<Creation, Error> {
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), namespace);
    match api.create(&PostParams::default(), secret).await {
        Ok(_) => Ok(Creation::Created),
        Err(err) => refusal(err).map_err(|source| Error::CreateSecret {
            namespace: namespace.to_string(),
            name: secret.name_any(),
            source: Box::new(source),
        }),
    }
}

/// A create the apiserver answered with a 4xx is settled (trying again in a moment would get
/// the same answer); anything else (5xx, transport) is an error the reconcile retries.
fn refusal(err: kube::Error) -> Result<Creation, kube::Error> {
    match err {
        kube::Error::Api(s) if s.reason == "AlreadyExists" => Ok(Creation::AlreadyExists),
        kube::Error::Api(s) if (400..500).contains(&s.code) => Ok(Creation::Refused(format!(
            "{} ({}): {}",
            s.reason, s.code, s.message
        ))),
        other => Err(other),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn channel() -> WhatsAppChannel {
        serde_json::from_value(serde_json::json!({
            "apiVersion": "whatsapp-operator.io/v1alpha1",
            "kind": "WhatsAppChannel",
            "metadata": {"name": "sales", "namespace": "ns", "uid": "uid-sales"},
            "spec": {"accountRef": {"name": "acme"}, "phoneNumber": "+49 151 2345 6789"}
        }))
        .unwrap()
    }

    #[test]
    fn the_code_secret_is_empty_for_its_key_owned_by_the_channel_and_labelled() {
        let r = SecretKeyRef {
            name: "sales-otp".into(),
            key: "code".into(),
        };
        let secret = code_secret(&channel(), &r).unwrap();
        assert_eq!(
            serde_json::to_value(&secret).unwrap(),
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {
                    "name": "sales-otp",
                    "namespace": "ns",
                    "labels": {
                        "app.kubernetes.io/managed-by": "whatsapp-operator",
                        "whatsapp-operator.io/verification-code": "true"
                    },
                    "ownerReferences": [{
                        "apiVersion": "whatsapp-operator.io/v1alpha1",
                        "kind": "WhatsAppChannel",
                        "name": "sales",
                        "uid": "uid-sales",
                        "controller": false,
                        "blockOwnerDeletion": false
                    }]
                },
                "type": "Opaque",
                "data": {"code": ""}
            })
        );
        // The operator's own Secret reads as "no code yet", never as a code.
        assert!(
            key_text(&secret, "ns", &r)
                .unwrap_err()
                .contains("is empty")
        );
        let mut no_uid = channel();
        no_uid.metadata.uid = None;
        assert_eq!(code_secret(&no_uid, &r), None);
    }

    #[test]
    fn a_create_refused_by_the_apiserver_is_settled_and_only_a_failure_is_an_error() {
        let status = |code: u16, reason: &str| {
            kube::Error::Api(
                kube::core::Status::failure("refused", reason)
                    .with_code(code)
                    .boxed(),
            )
        };
        assert_eq!(
            refusal(status(409, "AlreadyExists")).unwrap(),
            Creation::AlreadyExists
        );
        assert_eq!(
            refusal(status(403, "Forbidden")).unwrap(),
            Creation::Refused("Forbidden (403): refused".into())
        );
        assert!(matches!(
            refusal(status(422, "Invalid")),
            Ok(Creation::Refused(_))
        ));
        assert!(refusal(status(500, "InternalError")).is_err());
        assert!(refusal(status(503, "ServiceUnavailable")).is_err());
    }

    #[test]
    fn only_a_secret_labelled_true_is_marked() {
        let with = |labels: serde_json::Value| -> Secret {
            serde_json::from_value(serde_json::json!({"metadata": {"name": "s", "labels": labels}}))
                .unwrap()
        };
        assert!(!unmarked(
            &with(serde_json::json!({VERIFY_TOKEN_MARK: "true"})),
            VERIFY_TOKEN_MARK
        ));
        assert!(unmarked(
            &with(serde_json::json!({VERIFY_TOKEN_MARK: "yes"})),
            VERIFY_TOKEN_MARK
        ));
        assert!(unmarked(&with(serde_json::json!({})), VERIFY_TOKEN_MARK));
    }

    #[test]
    fn fingerprints_follow_content_and_are_keyed_by_the_secret() {
        let a = fingerprint("uid-1", "pin", "581063");
        assert_eq!(a, fingerprint("uid-1", "pin", "581063"));
        assert_ne!(a, fingerprint("uid-1", "pin", "581064"));
        assert_ne!(
            a,
            fingerprint("uid-2", "pin", "581063"),
            "keyed by the Secret"
        );
        assert!(!a.contains("581063"));
        assert_eq!(a.len(), "hmac-sha256:".len() + 32);
    }
}
