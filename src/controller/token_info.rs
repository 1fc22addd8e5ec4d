use tracing::warn;

use super::memory::Memory;
use crate::graph::{TokenInfo, WabaSession};

/// What Meta's `debug_token` says about an account's token (expiry, app), asked once per
/// Secret version rather than every sync: the token only changes with its Secret.
pub async fn get(
    memory: &Memory,
    uid: &str,
    secret_version: &str,
    session: &WabaSession,
) -> Option<TokenInfo> {
    let known = memory.read(uid, |e| match &e.token {
        Some((version, info)) if version == secret_version => Some(info.clone()),
        _ => None,
    });
    if let Some(Some(info)) = known {
        return info;
    }
    // A failed lookup is remembered as "unknown" too: it must not cost a request per sync.
    let info = match session.debug_token().await {
        // Only the app and the expiry are used. A platform's system-user token lists every
        // WABA it reaches in its granular scopes; kept once per account that is quadratic
        // (over 100 KiB per account at 1,000 accounts).
        Ok(mut info) => {
            info.scopes = Vec::new();
            info.granular_scopes = Vec::new();
            Some(info)
        }
        Err(err) => {
            warn!(error = %err, "cannot inspect the access token (debug_token)");
            None
        }
    };
    memory.with(uid, |e| {
        e.token = Some((secret_version.to_string(), info.clone()));
    });
    info
}
