//! Shared simulator state, the HTTP server and its handle.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use axum::Router;
use axum::routing::{any, get, post};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::admin_reviews;
use super::admin_routes;
use super::admin_templates;
use super::background;
use super::budget::Budgets;
use super::clock::Clock;
use super::faults::Faults;
use super::graph_routes;
use super::outbox::Outbox;
use super::recorder::Recorder;
use super::state::State;

/// Everything the simulator knows, behind one lock: handlers are short and never await while
/// holding it.
#[derive(Debug)]
pub struct Sim {
    pub state: State,
    pub clock: Clock,
    pub faults: Faults,
    pub recorder: Recorder,
    pub budgets: Budgets,
    /// Webhooks the simulator sends on its own, and the log of their deliveries.
    pub outbox: Outbox,
}

pub struct Ctx {
    sim: Mutex<Sim>,
    pub http: reqwest::Client,
    /// Wakes the background tick early (webhooks were queued).
    pub wake: tokio::sync::Notify,
    pub shutdown: CancellationToken,
    pub addr: SocketAddr,
}

pub type Shared = Arc<Ctx>;

impl Ctx {
    pub fn lock(&self) -> MutexGuard<'_, Sim> {
        // A panicking handler must not take the whole simulator down with a poisoned lock.
        self.sim.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Lets the background task deliver queued webhooks now rather than at the next tick.
    pub fn wake(&self) {
        self.wake.notify_one();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SimError {
    #[error("sim::start must be called inside a Tokio runtime")]
    NoRuntime,
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot build the webhook HTTP client: {0}")]
    HttpClient(#[from] reqwest::Error),
    #[error("server failed: {0}")]
    Serve(std::io::Error),
    #[error("server task failed: {0}")]
    Join(#[from] tokio::task::JoinError),
}

/// A running simulator. Dropping it stops the server.
#[derive(Debug)]
pub struct SimHandle {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), std::io::Error>>>,
}

impl SimHandle {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Stops accepting requests and waits for the server task to end.
    pub async fn shutdown(mut self) -> Result<(), SimError> {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            task.await?.map_err(SimError::Serve)?;
        }
        Ok(())
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Starts the simulator on `listen` (port 0 picks a free port). Must run inside a Tokio runtime.
pub fn start(state: State, listen: SocketAddr) -> Result<SimHandle, SimError> {
    let runtime = tokio::runtime::Handle::try_current().map_err(|_| SimError::NoRuntime)?;
    let bind_err = |source| SimError::Bind {
        addr: listen,
        source,
    };
    let std_listener = std::net::TcpListener::bind(listen).map_err(bind_err)?;
    std_listener.set_nonblocking(true).map_err(bind_err)?;
    let addr = std_listener.local_addr().map_err(bind_err)?;
    let listener = {
        let _guard = runtime.enter();
        tokio::net::TcpListener::from_std(std_listener).map_err(bind_err)?
    };

    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let shutdown = CancellationToken::new();
    let clock = Clock::new(state.clock);
    let ctx: Shared = Arc::new(Ctx {
        sim: Mutex::new(Sim {
            state,
            clock,
            faults: Faults::default(),
            recorder: Recorder::default(),
            budgets: Budgets::default(),
            outbox: Outbox::default(),
        }),
        http,
        wake: tokio::sync::Notify::new(),
        shutdown: shutdown.clone(),
        addr,
    });

    background::spawn(&runtime, ctx.clone());
    let app = router(ctx);
    let stop = shutdown.clone();
    let task = runtime.spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { stop.cancelled().await })
            .await
    });
    tracing::info!(%addr, "meta-sim listening");
    Ok(SimHandle {
        addr,
        shutdown,
        task: Some(task),
    })
}

fn router(ctx: Shared) -> Router {
    Router::new()
        .route(
            "/_sim/state",
            get(admin_routes::get_state).put(admin_routes::put_state),
        )
        .route(
            "/_sim/numbers/{id}",
            get(admin_routes::get_number).post(admin_routes::merge_number),
        )
        .route(
            "/_sim/wabas/{id}",
            get(admin_routes::get_waba).post(admin_routes::merge_waba),
        )
        .route(
            "/_sim/wabas/{id}/phone_numbers",
            post(admin_routes::add_number),
        )
        .route(
            "/_sim/numbers/{id}/name_review",
            post(admin_reviews::review_name),
        )
        .route(
            "/_sim/wabas/{id}/message_templates",
            post(admin_templates::add_template),
        )
        .route(
            "/_sim/templates/{id}",
            get(admin_templates::get_template).post(admin_templates::merge_template),
        )
        .route(
            "/_sim/templates/{id}/{action}",
            post(admin_templates::template_event),
        )
        .route(
            "/_sim/reviews",
            get(admin_reviews::get_reviews).post(admin_reviews::set_reviews),
        )
        .route("/_sim/businesses/{id}", post(admin_routes::merge_business))
        .route("/_sim/apps/{id}", post(admin_routes::merge_app))
        .route("/_sim/tokens", post(admin_routes::add_token))
        .route(
            "/_sim/tokens/{token}/expire",
            post(admin_routes::expire_token),
        )
        .route(
            "/_sim/faults",
            get(admin_routes::list_faults)
                .post(admin_routes::add_fault)
                .delete(admin_routes::clear_faults),
        )
        .route(
            "/_sim/requests",
            get(admin_routes::get_requests).delete(admin_routes::reset_requests),
        )
        .route("/_sim/clock", get(admin_routes::get_clock))
        .route("/_sim/clock/advance", post(admin_routes::advance_clock))
        .route(
            "/_sim/webhooks/deliver",
            post(admin_routes::deliver_webhook),
        )
        .route("/_sim/webhooks/verify", post(admin_routes::verify_webhook))
        .route(
            "/_sim/webhooks/sent",
            get(admin_reviews::get_sent_webhooks).delete(admin_reviews::reset_sent_webhooks),
        )
        .route("/_sim/{*rest}", any(admin_routes::not_found))
        .fallback(graph_routes::handle)
        .with_state(ctx)
}
