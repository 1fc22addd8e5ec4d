use std::collections::HashMap;
use std::sync::Mutex;

use tracing::debug;

use crate::graph::WabaSession;

/// Token expiry per account, asked of Meta (`debug_token`) once per Secret version rather than
/// every sync: the token only changes with its Secret.
#[derive(Default)]
pub struct TokenExpiries(Mutex<HashMap<String, (String, Option<jiff::Timestamp>)>>);

impl TokenExpiries {
    pub async fn expiry(
        &self,
        uid: &str,
        secret_version: &str,
        session: &WabaSession,
    ) -> Option<jiff::Timestamp> {
        if let Some((version, expiry)) = self.lock().get(uid)
            && version == secret_version
        {
            return *expiry;
        }
        // A failed lookup is remembered as "unknown" too: it must not cost a request per sync.
        let expiry = match session.debug_token().await {
            Ok(info) => info.expires(),
            Err(err) => {
                debug!(error = %err, "debug_token failed; token expiry unknown");
                None
            }
        };
        self.lock()
            .insert(uid.to_string(), (secret_version.to_string(), expiry));
        expiry
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<String, (String, Option<jiff::Timestamp>)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
