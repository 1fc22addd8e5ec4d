//! What Meta's `debug_token` says about an access token (expiry, app), asked once per distinct
//! token for the whole process rather than per account and sync: a platform's system-user
//! token usually serves every account, and its expiry only changes with the token.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;
use tracing::warn;

use crate::graph::{TokenInfo, WabaSession};

/// How long a failed inspection stands before the token is inspected again; a success stands
/// as long as the token is in use.
const RETRY_FAILED_AFTER: Duration = Duration::from_secs(3600);
/// Tokens not asked about for this long are forgotten (rotated away, or their account gone).
const FORGET_UNUSED_AFTER: Duration = Duration::from_secs(24 * 3600);

type Inspection = Arc<OnceCell<(Instant, Option<TokenInfo>)>>;

/// Inspections by token, under a keyed digest of the token (never the token itself): the key
/// is random per process, so the map holds nothing that could be checked against a guess.
pub struct TokenInspections {
    key: [u8; 32],
    entries: Mutex<HashMap<[u8; 16], (Instant, Inspection)>>,
}

impl Default for TokenInspections {
    fn default() -> Self {
        Self {
            key: rand::random(),
            entries: Mutex::default(),
        }
    }
}

impl TokenInspections {
    /// The token's inspection: from an earlier one with the same token, or from one
    /// `debug_token` through `session` (concurrent callers with the same token share it).
    pub async fn get(&self, session: &WabaSession) -> Option<TokenInfo> {
        let cell = self.cell(session.token());
        let (_, info) = cell.get_or_init(|| inspect(session)).await;
        info.clone()
    }

    /// Number of distinct tokens held.
    pub fn len(&self) -> usize {
        self.entries.lock().map(|e| e.len()).unwrap_or_default()
    }

    fn cell(&self, token: &SecretString) -> Inspection {
        let digest = self.digest(token);
        let now = Instant::now();
        let Ok(mut entries) = self.entries.lock() else {
            return Inspection::default();
        };
        entries.retain(|_, (used, _)| now.duration_since(*used) < FORGET_UNUSED_AFTER);
        let entry = entries
            .entry(digest)
            .or_insert_with(|| (now, Inspection::default()));
        entry.0 = now;
        if entry.1.get().is_some_and(|done| retry_due(done, now)) {
            entry.1 = Inspection::default();
        }
        entry.1.clone()
    }

    fn digest(&self, token: &SecretString) -> [u8; 16] {
        let mut digest = [0u8; 16];
        if let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(&self.key) {
            mac.update(token.expose_secret().as_bytes());
            digest.copy_from_slice(&mac.finalize().into_bytes()[..16]);
        }
        digest
    }
}

/// Whether an inspection made at `done.0` is to be made again at `now`: only a failed one,
/// an hour on.
fn retry_due((at, info): &(Instant, Option<TokenInfo>), now: Instant) -> bool {
    info.is_none() && now.duration_since(*at) >= RETRY_FAILED_AFTER
}

async fn inspect(session: &WabaSession) -> (Instant, Option<TokenInfo>) {
    let info = match session.debug_token().await {
        // Only the app and the expiry are used. A platform's system-user token lists every
        // WABA it reaches in its granular scopes, which would be kept for nothing.
        Ok(mut info) => {
            info.scopes = Vec::new();
            info.granular_scopes = Vec::new();
            Some(info)
        }
        // Remembered as "unknown" too: a failure must not cost a request per sync.
        Err(err) => {
            warn!(error = %err, "cannot inspect the access token (debug_token)");
            None
        }
    };
    (Instant::now(), info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_entry_per_distinct_token() {
        let t = TokenInspections::default();
        let a = SecretString::from("token-a");
        let first = t.cell(&a);
        assert!(Arc::ptr_eq(&first, &t.cell(&SecretString::from("token-a"))));
        assert!(!Arc::ptr_eq(
            &first,
            &t.cell(&SecretString::from("token-b"))
        ));
        assert_eq!(t.len(), 2);
    }

    #[test]
    fn digests_do_not_hold_the_token_and_differ_between_processes() {
        let token = SecretString::from("EAAG-secret");
        let (a, b) = (TokenInspections::default(), TokenInspections::default());
        assert_ne!(a.digest(&token), b.digest(&token));
        assert!(!hex::encode(a.digest(&token)).contains("EAAG"));
    }

    #[test]
    fn only_a_failure_is_retried_and_only_after_an_hour() {
        let at = Instant::now();
        let hour = RETRY_FAILED_AFTER;
        assert!(!retry_due(&(at, None), at + hour - Duration::from_secs(1)));
        assert!(retry_due(&(at, None), at + hour));
        let known = Some(TokenInfo::default());
        assert!(!retry_due(&(at, known), at + 10 * hour));
    }
}
