use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use secrecy::SecretString;

use super::{Context, Error};
use crate::crd::SecretKeyRef;

/// A Secret value plus the version it was read at, so a change can be detected without
/// remembering the value itself.
pub struct SecretValue {
    pub value: SecretString,
    pub version: String,
}

/// Why a referenced Secret key cannot be used; the message tells the user what to fix.
pub enum SecretLookup {
    Found(SecretValue),
    Missing(String),
}

/// Reads one key of one Secret in `namespace` (never lists Secrets).
pub async fn read_key(
    ctx: &Context,
    namespace: &str,
    r: &SecretKeyRef,
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
    let version = secret.metadata.resource_version.clone().unwrap_or_default();
    let uid = secret.metadata.uid.clone().unwrap_or_default();
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
        return Ok(SecretLookup::Missing(format!(
            "Secret {namespace}/{} has no key \"{}\"",
            r.name, r.key
        )));
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t.trim().to_string(),
        Err(_) => {
            return Ok(SecretLookup::Missing(format!(
                "Secret {namespace}/{} key \"{}\" is not UTF-8 text",
                r.name, r.key
            )));
        }
    };
    if text.is_empty() {
        return Ok(SecretLookup::Missing(format!(
            "Secret {namespace}/{} key \"{}\" is empty",
            r.name, r.key
        )));
    }
    Ok(SecretLookup::Found(SecretValue {
        value: SecretString::from(text),
        version: format!("{uid}/{version}"),
    }))
}
