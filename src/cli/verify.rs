//! `kubectl whatsapp verify wac/NAME CODE`: the code Meta sent goes into the Secret key the
//! channel names, by a server-side apply of that one key (the Secret is created when missing;
//! its other keys and its metadata are left alone).

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::Api;
use kube::api::{ObjectMeta, Patch, PatchParams};

use super::args::VerifyArgs;
use super::connect::Connection;
use super::error::CliError;
use super::objects::{self, FIELD_MANAGER};
use super::{Outcome, say};
use crate::crd::{Management, Phase, SecretKeyRef, WhatsAppChannel};

/// Meta's verification codes are six digits (its docs and `verify_code` examples); people copy
/// them from an SMS as "123 456" or "123-456", so spaces and dashes are dropped first. Anything
/// else is refused before the operator would spend one of Meta's code checks on it.
pub fn normalise_code(raw: &str) -> Result<String, CliError> {
    let code: String = raw
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == 6 && code.chars().all(|c| c.is_ascii_digit()) {
        Ok(code)
    } else {
        Err(CliError::Usage(format!(
            "{raw:?} is not a verification code: Meta sends six digits, e.g. 123456"
        )))
    }
}

/// The Secret key the channel reads its code from, or why there is none.
pub fn code_secret(ch: &WhatsAppChannel, target: &str) -> Result<SecretKeyRef, CliError> {
    if ch.spec.management == Management::ObserveOnly {
        return Err(CliError::Usage(format!(
            "{target} is ObserveOnly: the operator never verifies or registers its number"
        )));
    }
    ch.spec
        .registration
        .as_ref()
        .and_then(|r| r.verification_code_secret_ref.clone())
        .ok_or_else(|| {
            CliError::Usage(format!(
                "{target} names no verification code Secret: set \
                 spec.registration.verificationCodeSecretRef (name and key) first"
            ))
        })
}

/// A note when the channel is not waiting for a code (the code is written all the same).
pub fn not_waiting_note(ch: &WhatsAppChannel) -> Option<String> {
    let phase = ch.status.as_ref().map(|s| s.phase).unwrap_or_default();
    (phase != Phase::AwaitingVerificationCode).then(|| {
        format!(
            "note: the channel is {phase:?}, not waiting for a code; the operator uses the \
             code when it has asked Meta for one"
        )
    })
}

/// The Secret as applied: only the key, so the apply owns nothing else.
fn applied(secret: &SecretKeyRef, code: &str) -> Secret {
    Secret {
        metadata: ObjectMeta {
            name: Some(secret.name.clone()),
            ..Default::default()
        },
        data: Some(BTreeMap::from([(
            secret.key.clone(),
            ByteString(code.as_bytes().to_vec()),
        )])),
        ..Default::default()
    }
}

/// Applies the key; whether the Secret existed before.
async fn write(conn: &Connection, secret: &SecretKeyRef, code: &str) -> Result<bool, CliError> {
    let api: Api<Secret> = Api::namespaced(conn.client.clone(), &conn.namespace);
    let what = |verb: &str| format!("{verb} Secret {}/{}", conn.namespace, secret.name);
    let existed = api
        .get_metadata_opt(&secret.name)
        .await
        .map_err(CliError::api(what("reading")))?
        .is_some();
    // Forced: the key may belong to the operator, which created the Secret with it empty.
    let params = PatchParams::apply(FIELD_MANAGER).force();
    api.patch(&secret.name, &params, &Patch::Apply(&applied(secret, code)))
        .await
        .map_err(CliError::api(what("writing")))?;
    Ok(existed)
}

pub async fn run(conn: &Connection, args: &VerifyArgs) -> Result<Outcome, CliError> {
    let target = args.target.to_string();
    let code = normalise_code(&args.code)?;
    let ch = objects::channel(conn, &args.target).await?;
    let secret = code_secret(&ch, &target)?;
    let existed = write(conn, &secret, &code).await?;
    let how = if existed {
        "wrote"
    } else {
        "created Secret and wrote"
    };
    say(&format!(
        "{how} the code into Secret {}/{} key \"{}\" (other keys untouched)",
        conn.namespace, secret.name, secret.key
    ));
    if let Some(note) = not_waiting_note(&ch) {
        say(&note);
    }
    say("The operator reads it within seconds, verifies it with Meta and registers the number.");
    say(&format!(
        "Watch: kubectl whatsapp status {target} -n {}",
        conn.namespace
    ));
    Ok(Outcome::Done)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{AccountRef, Registration, WhatsAppChannelSpec, WhatsAppChannelStatus};

    fn channel(code_ref: Option<(&str, &str)>, management: Management) -> WhatsAppChannel {
        let mut ch = WhatsAppChannel::new(
            "sales",
            WhatsAppChannelSpec {
                account_ref: AccountRef {
                    name: "acme".into(),
                },
                phone_number: "+49 151 2345 6789".into(),
                display_name: None,
                management,
                registration: Some(Registration {
                    verification_method: Default::default(),
                    language: "de".into(),
                    verification_code_secret_ref: code_ref.map(|(name, key)| SecretKeyRef {
                        name: name.into(),
                        key: key.into(),
                    }),
                    pin_secret_ref: None,
                }),
                business_profile: None,
                deletion_policy: Default::default(),
            },
        );
        ch.status = Some(WhatsAppChannelStatus {
            phase: Phase::AwaitingVerificationCode,
            ..Default::default()
        });
        ch
    }

    #[test]
    fn codes_are_six_digits_as_people_copy_them() {
        assert_eq!(normalise_code("123456").unwrap(), "123456");
        assert_eq!(normalise_code(" 123 456 ").unwrap(), "123456");
        assert_eq!(normalise_code("123-456").unwrap(), "123456");
        for bad in ["12345", "1234567", "12345a", "", "１２３４５６"] {
            let err = normalise_code(bad).unwrap_err().to_string();
            assert!(err.contains("Meta sends six digits"), "{bad}: {err}");
        }
    }

    #[test]
    fn the_channel_must_name_a_code_secret() {
        let ch = channel(Some(("sales-otp", "code")), Management::Managed);
        assert_eq!(
            code_secret(&ch, "wac/sales").unwrap(),
            SecretKeyRef {
                name: "sales-otp".into(),
                key: "code".into()
            }
        );
        let none = channel(None, Management::Managed);
        let err = code_secret(&none, "wac/sales").unwrap_err().to_string();
        assert!(
            err.contains("wac/sales names no verification code Secret"),
            "{err}"
        );
        assert!(
            err.contains("spec.registration.verificationCodeSecretRef"),
            "{err}"
        );
        let observed = channel(Some(("sales-otp", "code")), Management::ObserveOnly);
        let err = code_secret(&observed, "wac/sales").unwrap_err().to_string();
        assert!(err.contains("ObserveOnly"), "{err}");
    }

    #[test]
    fn the_apply_holds_the_one_key_only() {
        let secret = SecretKeyRef {
            name: "sales-otp".into(),
            key: "code".into(),
        };
        let v = serde_json::to_value(applied(&secret, "123456")).unwrap();
        assert_eq!(
            v,
            serde_json::json!({
                "apiVersion": "v1",
                "kind": "Secret",
                "metadata": {"name": "sales-otp"},
                "data": {"code": "MTIzNDU2"}
            })
        );
    }

    #[test]
    fn a_channel_not_waiting_gets_a_note() {
        let mut ch = channel(Some(("sales-otp", "code")), Management::Managed);
        assert_eq!(not_waiting_note(&ch), None);
        ch.status.as_mut().unwrap().phase = Phase::Connected;
        let note = not_waiting_note(&ch).unwrap();
        assert!(
            note.contains("the channel is Connected, not waiting"),
            "{note}"
        );
    }
}
