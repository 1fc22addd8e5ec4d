//! `kubectl whatsapp`, the kubectl plugin for people: the status of a channel or an account
//! with what the operator does next, the verification code into its Secret, a sync now, pause
//! and resume, a number's registration budget, and a check of the installation.
//!
//! Reading and writing the cluster is in `objects`, `events`, `connect` and each command's
//! `run`; what is shown is built by pure functions (`report`, `next`, `budget`, `render`,
//! `check::verdicts`) that the unit tests drive with fixtures and a fixed clock.

mod annotate;
pub mod args;
pub mod budget;
pub mod check;
mod connect;
pub mod error;
pub mod events;
pub mod next;
mod objects;
mod output;
pub mod render;
pub mod report;
mod status;
pub mod target;
pub mod timefmt;
mod verify;

#[cfg(test)]
mod report_tests;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use error::CliError;

/// How a command ended, when it could ask the cluster: 0 or 1. Errors exit with
/// [`EXIT_ERROR`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done; for `status`, the resource is Ready.
    Done,
    /// Not Ready, timed out, or a check failed.
    NotDone,
}

/// Usage errors (clap's own included) and failed Kubernetes calls.
pub const EXIT_ERROR: u8 = 2;

impl From<Outcome> for ExitCode {
    fn from(o: Outcome) -> Self {
        match o {
            Outcome::Done => ExitCode::SUCCESS,
            Outcome::NotDone => ExitCode::from(1),
        }
    }
}

/// The terminal's width from `COLUMNS`, else [`render::DEFAULT_WIDTH`]; never below 40.
fn width() -> usize {
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse::<usize>().ok())
        .unwrap_or(render::DEFAULT_WIDTH)
        .max(40)
}

/// Prints a sentence for people, wrapped to the terminal.
fn say(text: &str) {
    print!("{}", render::wrap(text, "", "  ", width()));
}

async fn run(cli: Cli) -> Result<Outcome, CliError> {
    let conn = connect::connect(&cli.global).await?;
    match &cli.command {
        Command::Status(a) => status::run(&conn, a, width()).await,
        Command::Verify(a) => verify::run(&conn, a).await,
        Command::Sync(a) => annotate::sync(&conn, a).await,
        Command::Pause(a) => annotate::pause(&conn, a, true).await,
        Command::Resume(a) => annotate::pause(&conn, a, false).await,
        Command::Budget(a) => budget::run(&conn, a, width()).await,
        Command::Check(a) => check::run(&conn, a).await,
    }
}

/// The error and its causes on one line.
fn describe(err: &CliError) -> String {
    let mut text = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(s) = source {
        let next = s.to_string();
        if !text.contains(&next) {
            text.push_str(": ");
            text.push_str(&next);
        }
        source = s.source();
    }
    text
}

/// Whether a process started as `argv0` is the plugin: the image links `/kubectl-whatsapp` to
/// the operator's binary rather than shipping a second one.
pub fn invoked_as_plugin(argv0: &std::ffi::OsStr) -> bool {
    std::path::Path::new(argv0)
        .file_name()
        .is_some_and(|name| name == "kubectl-whatsapp")
}

/// The plugin's `main`: parse (clap exits 2 on a usage error), run, map the outcome.
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(CliError::Runtime)
        .and_then(|rt| rt.block_on(run(cli)));
    match result {
        Ok(outcome) => outcome.into(),
        Err(err) => {
            eprintln!("error: {}", describe(&err));
            ExitCode::from(EXIT_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_map_to_the_documented_exit_codes() {
        assert_eq!(ExitCode::from(Outcome::Done), ExitCode::SUCCESS);
        assert_eq!(ExitCode::from(Outcome::NotDone), ExitCode::from(1));
        assert_eq!(EXIT_ERROR, 2);
    }

    #[test]
    fn the_link_named_kubectl_whatsapp_is_the_plugin() {
        use std::ffi::OsStr;
        assert!(invoked_as_plugin(OsStr::new("/kubectl-whatsapp")));
        assert!(invoked_as_plugin(OsStr::new("kubectl-whatsapp")));
        assert!(!invoked_as_plugin(OsStr::new("/whatsapp-operator")));
        assert!(!invoked_as_plugin(OsStr::new(
            "/usr/bin/kubectl-whatsapp-old"
        )));
    }

    #[test]
    fn an_error_is_described_with_its_causes_once() {
        let err = CliError::Usage("wac/x names no verification code Secret".into());
        assert_eq!(describe(&err), "wac/x names no verification code Secret");
        let io = CliError::Runtime(std::io::Error::other("no threads"));
        assert_eq!(describe(&io), "cannot start the async runtime: no threads");
    }
}
