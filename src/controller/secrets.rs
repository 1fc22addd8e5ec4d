use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use secrecy::SecretString;

use super::{Context, Error};
use crate::crd::SecretKeyRef;

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
    Missing(String),
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
        return Ok(SecretLookup::Missing(format!(
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

#[cfg(test)]
mod tests {
    use super::*;

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
