//! `meta-sim`: runs the Meta Graph API simulator as a standalone server for local runs and tests.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use meta_sim::State;

#[derive(Parser)]
#[command(
    name = "meta-sim",
    about = "Simulator of Meta's WhatsApp Graph API (see crates/meta-sim/README.md)"
)]
struct Args {
    /// Address to listen on; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// State file (JSON) describing apps, tokens, businesses, WABAs and numbers.
    #[arg(long)]
    state: Option<PathBuf>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let args = Args::parse();
    let state = match &args.state {
        Some(path) => match State::from_file(path) {
            Ok(s) => s,
            Err(e) => {
                eprintln!("meta-sim: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => State::default(),
    };
    let handle = match meta_sim::start(state, args.listen) {
        Ok(h) => h,
        Err(e) => {
            eprintln!("meta-sim: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut stdout = std::io::stdout().lock();
    if writeln!(stdout, "meta-sim listening on {}", handle.base_url())
        .and_then(|()| stdout.flush())
        .is_err()
    {
        eprintln!("meta-sim: cannot write to stdout");
        return ExitCode::FAILURE;
    }
    drop(stdout);
    wait_for_stop().await;
    tracing::info!("meta-sim stopping");
    match handle.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("meta-sim: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn wait_for_stop() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
