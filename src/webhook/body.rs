//! Reading a delivery's body within limits. The port is open to anyone, so a body is read only
//! for a request that can be Meta's, in bounded time and size, and large uploads have a cap of
//! their own so that they cannot hold back Meta's small notices.

use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::sync::{Semaphore, SemaphorePermit};

use super::signature;
use crate::metrics::Metrics;

/// Meta's account and number notices are about a kilobyte, so a body announced at most this
/// large is read under the connection cap alone, and a flood of large uploads cannot starve them.
pub const SMALL_BODY_BYTES: u64 = 64 * 1024;

/// What reading a delivery's body may cost.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BodyLimits {
    /// Largest body read; a larger one gets 413 (before any of it is read when announced).
    pub max_bytes: usize,
    /// Time for the whole body to arrive, however it is split; slower gets 408.
    pub timeout: Duration,
    /// Bodies over [`SMALL_BODY_BYTES`], or of unannounced length, read at once; more get 503.
    pub max_large: usize,
}

impl Default for BodyLimits {
    fn default() -> Self {
        Self {
            // Meta documents webhook payloads of up to 3 MB.
            max_bytes: 3 * 1024 * 1024,
            timeout: Duration::from_secs(10),
            max_large: 4,
        }
    }
}

pub(super) struct BodyReader {
    limits: BodyLimits,
    /// Permits to read a large body.
    large: Semaphore,
}

enum BodyError {
    TooLarge,
    /// The client broke off, or sent a body its framing did not allow.
    Broken,
}

impl BodyReader {
    pub(super) fn new(limits: BodyLimits) -> Self {
        Self {
            limits,
            large: Semaphore::new(limits.max_large),
        }
    }

    /// The body of a delivery that can be Meta's; the refusal otherwise. Nothing is read for a
    /// request without a well-formed signature, announced over the size limit, or over the cap
    /// of large bodies; reading stops at the limit or the timeout.
    pub(super) async fn read(
        &self,
        headers: &HeaderMap,
        body: Body,
        metrics: &Metrics,
    ) -> Result<Bytes, Response> {
        let signature_header = headers
            .get("x-hub-signature-256")
            .and_then(|v| v.to_str().ok());
        if !signature::well_formed(signature_header) {
            metrics.webhook_signature_failure();
            metrics.webhook_delivery("unknown", "bad_signature");
            return Err((StatusCode::UNAUTHORIZED, "invalid signature").into_response());
        }
        let announced = headers
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let limit = self.limits.max_bytes;
        if announced.is_some_and(|n| n > u64::try_from(limit).unwrap_or(u64::MAX)) {
            return Err(too_large(metrics));
        }
        let _permit = self.large_body_permit(announced, metrics)?;
        let capacity = announced.map_or(0, |n| usize::try_from(n).unwrap_or(limit));
        match tokio::time::timeout(self.limits.timeout, collect(body, limit, capacity)).await {
            Ok(Ok(bytes)) => Ok(bytes),
            Ok(Err(BodyError::TooLarge)) => Err(too_large(metrics)),
            Ok(Err(BodyError::Broken)) => {
                metrics.webhook_delivery("unknown", "broken_body");
                Err((StatusCode::BAD_REQUEST, "body not received").into_response())
            }
            Err(_) => {
                metrics.webhook_delivery("unknown", "slow_body");
                Err((StatusCode::REQUEST_TIMEOUT, "body too slow").into_response())
            }
        }
    }

    /// A permit for a body over [`SMALL_BODY_BYTES`] or of unknown length (`None` for a small
    /// one), or the 503 when the large bodies already being read use every permit.
    fn large_body_permit(
        &self,
        announced: Option<u64>,
        metrics: &Metrics,
    ) -> Result<Option<SemaphorePermit<'_>>, Response> {
        if announced.is_some_and(|n| n <= SMALL_BODY_BYTES) {
            return Ok(None);
        }
        match self.large.try_acquire() {
            Ok(permit) => Ok(Some(permit)),
            Err(_) => {
                metrics.webhook_delivery("unknown", "busy");
                Err((StatusCode::SERVICE_UNAVAILABLE, "busy, retry later").into_response())
            }
        }
    }
}

fn too_large(metrics: &Metrics) -> Response {
    metrics.webhook_delivery("unknown", "too_large");
    (StatusCode::PAYLOAD_TOO_LARGE, "body too large").into_response()
}

/// The body in one buffer of the announced size (no copy at the end), at most `limit` bytes.
async fn collect(body: Body, limit: usize, capacity: usize) -> Result<Bytes, BodyError> {
    use futures::StreamExt;
    let mut buffer = Vec::with_capacity(capacity.min(limit));
    let mut chunks = body.into_data_stream();
    while let Some(chunk) = chunks.next().await {
        let chunk = chunk.map_err(|_| BodyError::Broken)?;
        if buffer.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge);
        }
        buffer.extend_from_slice(&chunk);
    }
    Ok(Bytes::from(buffer))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(length: Option<usize>) -> HeaderMap {
        let mut h = HeaderMap::new();
        let signature = format!("sha256={}", "ab".repeat(32));
        h.insert("x-hub-signature-256", signature.parse().unwrap());
        if let Some(n) = length {
            h.insert(header::CONTENT_LENGTH, n.into());
        }
        h
    }

    fn reader(max_bytes: usize, max_large: usize) -> BodyReader {
        BodyReader::new(BodyLimits {
            max_bytes,
            max_large,
            ..BodyLimits::default()
        })
    }

    /// Without a Content-Length to refuse it by, a body is read up to the limit and no further.
    #[tokio::test]
    async fn a_body_of_unannounced_length_stops_at_the_limit() {
        let metrics = Metrics::new();
        let r = reader(10, 1);
        let refused = r
            .read(&headers(None), Body::from("x".repeat(11)), &metrics)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::PAYLOAD_TOO_LARGE);
        let read = r
            .read(&headers(None), Body::from("x".repeat(10)), &metrics)
            .await;
        assert_eq!(read.ok().as_deref(), Some(&b"xxxxxxxxxx"[..]));
    }

    /// A body of unannounced length could be large, so it needs a large body's permit; a small
    /// announced one does not.
    #[tokio::test]
    async fn a_body_of_unannounced_length_counts_as_large() {
        let metrics = Metrics::new();
        let r = reader(1024, 1);
        let _held = r.large.try_acquire().unwrap();
        let refused = r
            .read(&headers(None), Body::from("{}"), &metrics)
            .await
            .unwrap_err();
        assert_eq!(refused.status(), StatusCode::SERVICE_UNAVAILABLE);
        let read = r.read(&headers(Some(2)), Body::from("{}"), &metrics).await;
        assert_eq!(read.ok().as_deref(), Some(&b"{}"[..]));
    }
}
