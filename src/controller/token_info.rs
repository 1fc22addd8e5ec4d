use std::collections::HashMap;
use std::sync::Mutex;

use tracing::warn;

use crate::graph::{TokenInfo, WabaSession};

/// What Meta's `debug_token` says about each account's token (expiry, app), asked once per
/// Secret version rather than every sync: the token only changes with its Secret.
#[derive(Default)]
pub struct TokenInfos(Mutex<HashMap<String, (String, Option<TokenInfo>)>>);

impl TokenInfos {
    pub async fn get(
        &self,
        uid: &str,
        secret_version: &str,
        session: &WabaSession,
    ) -> Option<TokenInfo> {
        if let Some((version, info)) = self.lock().get(uid)
            && version == secret_version
        {
            return info.clone();
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
        self.lock()
            .insert(uid.to_string(), (secret_version.to_string(), info.clone()));
        info
    }

    /// Keeps only the accounts whose UID satisfies `keep`.
    pub fn retain(&self, keep: impl Fn(&str) -> bool) {
        self.lock().retain(|uid, _| keep(uid));
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Option<TokenInfo>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
