//! A number's register and deregister attempts, kept on its account as well as on its
//! channel: a channel deleted and created again starts from the number's history, so Meta's
//! 3-per-72-hours budget cannot be multiplied by re-creating the resource.

use kube::api::{Patch, PatchParams};
use kube::{Api, ResourceExt};

use super::{Context, Error};
use crate::crd::{
    RegistrationProgress, WhatsAppBusinessAccount, WhatsAppChannel, WhatsAppChannelStatus,
};
use crate::decide;

/// Field manager of the account's `registrationHistory` (never the account controller's).
const HISTORY_MANAGER: &str = "whatsapp-operator-registration-history";

/// The channel's previous status with the account's history of its number merged in; `None`
/// when the history adds nothing.
pub fn merged_previous(
    ch: &WhatsAppChannel,
    account: Option<&WhatsAppBusinessAccount>,
    now: jiff::Timestamp,
) -> Option<WhatsAppChannelStatus> {
    let mut status = ch.status.clone().unwrap_or_default();
    let progress = status.registration.get_or_insert_with(Default::default);
    merge_into(progress, ch, account?, now).then_some(status)
}

/// Merges the account's history of the channel's number into `progress`; whether it added any.
pub fn merge_into(
    progress: &mut RegistrationProgress,
    ch: &WhatsAppChannel,
    account: &WhatsAppBusinessAccount,
    now: jiff::Timestamp,
) -> bool {
    let history = ch.spec.phone_number.digits().and_then(|d| {
        account
            .status
            .as_ref()
            .and_then(|s| s.registration_history.get(&d))
    });
    history.is_some_and(|h| decide::merge_history(progress, h, now))
}

/// Writes the channel's attempts to its account's history of the number when they differ from
/// it; called after an attempt is recorded and before the call to Meta.
pub async fn record(
    ctx: &Context,
    account: &WhatsAppBusinessAccount,
    ch: &WhatsAppChannel,
    progress: Option<&RegistrationProgress>,
) -> Result<(), Error> {
    let (Some(digits), Some(progress)) = (ch.spec.phone_number.digits(), progress) else {
        return Ok(());
    };
    let known = account
        .status
        .as_ref()
        .and_then(|s| s.registration_history.get(&digits));
    if known == Some(&progress.attempts) || (known.is_none() && progress.attempts.is_empty()) {
        return Ok(());
    }
    let namespace = account.namespace().unwrap_or_default();
    let api: Api<WhatsAppBusinessAccount> = Api::namespaced(ctx.client.clone(), &namespace);
    let patch = serde_json::json!({
        "status": {"registrationHistory": {digits: progress.attempts}}
    });
    api.patch_status(
        &account.name_any(),
        &PatchParams {
            field_manager: Some(HISTORY_MANAGER.into()),
            ..PatchParams::default()
        },
        &Patch::Merge(&patch),
    )
    .await
    .map_err(|source| Error::ApplyStatus {
        kind: "WhatsAppBusinessAccount".into(),
        namespace,
        name: account.name_any(),
        source: Box::new(source),
    })?;
    Ok(())
}
