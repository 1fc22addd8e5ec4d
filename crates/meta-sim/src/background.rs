//! The simulator's own clockwork: every 200 ms (or at once when woken) one tick applies the
//! reviews that are due on the sim clock, under the lock, and hands the webhooks that produces to
//! one sender task, which delivers them in order outside the lock, signed with the app secret,
//! retrying a failed delivery a few times with a short backoff (Meta retries too).

use std::time::Duration;

use tokio::sync::mpsc;

use super::outbox::Prepared;
use super::server::{Shared, Sim};
use super::timed_reviews;
use super::webhook;

pub const TICK: Duration = Duration::from_millis(200);
/// Attempts per delivery, the first included.
pub const ATTEMPTS: u32 = 4;
pub const FIRST_BACKOFF: Duration = Duration::from_millis(250);

/// Starts the ticker and the sender on the current runtime; both end with the server.
pub fn spawn(runtime: &tokio::runtime::Handle, ctx: Shared) {
    let (tx, rx) = mpsc::unbounded_channel();
    runtime.spawn(ticker(ctx.clone(), tx));
    runtime.spawn(sender(ctx, rx));
}

/// One tick: due reviews, then the queued webhooks as deliveries.
pub fn tick(sim: &mut Sim) -> Vec<Prepared> {
    let now = sim.clock.now();
    timed_reviews::apply_due(&mut sim.state, now, &mut sim.outbox);
    sim.outbox.take(&sim.state)
}

async fn ticker(ctx: Shared, tx: mpsc::UnboundedSender<Prepared>) {
    loop {
        tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            () = tokio::time::sleep(TICK) => {}
            () = ctx.wake.notified() => {}
        }
        let batch = tick(&mut ctx.lock());
        for prepared in batch {
            if tx.send(prepared).is_err() {
                return;
            }
        }
    }
}

async fn sender(ctx: Shared, mut rx: mpsc::UnboundedReceiver<Prepared>) {
    loop {
        let prepared = tokio::select! {
            () = ctx.shutdown.cancelled() => return,
            p = rx.recv() => match p {
                Some(p) => p,
                None => return,
            },
        };
        let (attempts, result) = deliver(&ctx, &prepared).await;
        ctx.lock().outbox.finish(prepared.seq, attempts, result);
    }
}

/// Posts one webhook until the receiver answers 2xx or the attempts run out: the number of
/// attempts made and the last status (or transport error).
async fn deliver(ctx: &Shared, p: &Prepared) -> (u32, Result<u16, String>) {
    let signature = webhook::signature_header(&p.secret, &p.body);
    let mut backoff = FIRST_BACKOFF;
    let mut last = Err("not attempted".to_owned());
    for attempt in 1..=ATTEMPTS {
        match webhook::deliver(&ctx.http, p.url.clone(), p.body.clone(), signature.clone()).await {
            Ok(outcome) if (200..300).contains(&outcome.status) => {
                return (attempt, Ok(outcome.status));
            }
            Ok(outcome) => {
                tracing::warn!(url = %p.url, status = outcome.status, attempt, "webhook delivery refused");
                last = Ok(outcome.status);
            }
            Err(e) => {
                tracing::warn!(url = %p.url, attempt, error = %e, "webhook delivery failed");
                last = Err(e.to_string());
            }
        }
        if attempt < ATTEMPTS {
            tokio::select! {
                () = ctx.shutdown.cancelled() => return (attempt, last),
                () = tokio::time::sleep(backoff) => {}
            }
            backoff *= 2;
        }
    }
    (ATTEMPTS, last)
}
