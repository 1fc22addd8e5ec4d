//! The plugin's command line: `kubectl whatsapp COMMAND`, with kubectl's `--context` and
//! `-n/--namespace`.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};

use super::target::{Target, channel_target};

/// Shown under every `--help`: scripts branch on these.
const EXIT_CODES: &str = "\
Exit codes:
  0  done; for status: the resource is Ready
  1  status: not Ready; sync and --wait: timed out; check: a check failed
  2  usage error, or the Kubernetes API failed (not found, forbidden, unreachable)";

/// Day-to-day work with whatsapp-operator's WhatsApp numbers (wac) and accounts (waba).
#[derive(Parser, Debug)]
#[command(
    name = "kubectl-whatsapp",
    bin_name = "kubectl whatsapp",
    version,
    after_help = EXIT_CODES
)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Where to connect, as kubectl decides it.
#[derive(Args, Debug, Clone)]
pub struct Global {
    /// The kubeconfig context to use (default: the current context).
    #[arg(long, global = true)]
    pub context: Option<String>,
    /// Namespace of the resource (default: the context's namespace, else "default").
    #[arg(short = 'n', long, global = true)]
    pub namespace: Option<String>,
    /// Path of the kubeconfig (default: $KUBECONFIG, else ~/.kube/config).
    #[arg(long, global = true)]
    pub kubeconfig: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Show a channel or an account, and what the operator does next.
    ///
    /// Its facts, its account (for a channel), health entities with errors, the conditions with
    /// their full messages, the object's last events, and the operator's next moves with their
    /// times: the next call to Meta, the registration retry, Meta's refusal, the code request,
    /// the registration budget. Exits 0 when Ready, 1 when not.
    #[command(after_help = EXIT_CODES)]
    Status(StatusArgs),
    /// Put the verification code Meta sent into the channel's code Secret.
    ///
    /// Writes the one key spec.registration.verificationCodeSecretRef names (server-side apply
    /// of that key only; other keys stay), creating the Secret when it is missing. Meta's codes
    /// are six digits.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),
    /// Ask the operator to reconcile now and wait until it has.
    ///
    /// Sets the annotation whatsapp-operator.io/reconcile-requested-at to a new token and waits
    /// until status.lastHandledReconcileAt echoes it. Exits 1 on timeout.
    #[command(after_help = EXIT_CODES)]
    Sync(WaitArgs),
    /// Stop every call to Meta for a channel or an account.
    ///
    /// Sets the annotation whatsapp-operator.io/paused: "true"; the operator then reports
    /// Synced=False reason Paused.
    #[command(after_help = EXIT_CODES)]
    Pause(PauseArgs),
    /// Remove the paused annotation: the operator reads Meta again.
    #[command(after_help = EXIT_CODES)]
    Resume(PauseArgs),
    /// Show the registration budget of a channel's number.
    ///
    /// The register and deregister attempts in the moving 72 hours (the channel's and those
    /// its account keeps for the number), attempts left of 3, and when the next frees up.
    #[command(after_help = EXIT_CODES)]
    Budget(BudgetArgs),
    /// Check the installation: CRDs, operator, webhook Secret.
    ///
    /// Both CRDs installed, serving v1alpha1 with the schema compiled into this plugin; the
    /// operator running (its Lease renewed in time, or its Deployment with a ready replica);
    /// the webhook Secret present with both keys. Exits 1 when a check fails.
    #[command(after_help = EXIT_CODES)]
    Check(CheckArgs),
}

/// How a report is printed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Output {
    /// For people, fitting the terminal's width.
    #[default]
    Text,
    Json,
    Yaml,
}

#[derive(Args, Debug)]
pub struct StatusArgs {
    /// wac/NAME or waba/NAME (also whatsappchannel/NAME, channel/NAME, account/NAME).
    pub target: Target,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
    /// How many of the object's last events to show.
    #[arg(long, default_value_t = 10)]
    pub events: usize,
}

#[derive(Args, Debug)]
pub struct VerifyArgs {
    /// wac/NAME.
    #[arg(value_parser = channel_target)]
    pub target: Target,
    /// The six-digit code Meta sent ("123456"; spaces and dashes are dropped).
    pub code: String,
}

#[derive(Args, Debug)]
pub struct WaitArgs {
    /// wac/NAME or waba/NAME.
    pub target: Target,
    /// How long to wait for the operator, e.g. 60s, 2m.
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct PauseArgs {
    /// wac/NAME or waba/NAME.
    pub target: Target,
    /// Wait until the operator reports it (Synced reason Paused, or no longer Paused).
    #[arg(long)]
    pub wait: bool,
    /// How long --wait waits, e.g. 60s, 2m.
    #[arg(long, default_value = "60s", value_parser = parse_timeout)]
    pub timeout: Duration,
}

#[derive(Args, Debug)]
pub struct BudgetArgs {
    /// wac/NAME.
    #[arg(value_parser = channel_target)]
    pub target: Target,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Namespace the operator runs in (the Helm release's namespace).
    #[arg(long, default_value = "whatsapp-operator")]
    pub operator_namespace: String,
    /// Name of the operator's leader-election Lease and Deployment (the chart's full name).
    #[arg(long, default_value = "whatsapp-operator")]
    pub operator_name: String,
    /// Secret with the Meta app secret and the verify token (chart value webhook.secretName),
    /// in the operator's namespace.
    #[arg(long, default_value = "whatsapp-operator-webhook")]
    pub webhook_secret_name: String,
    /// Key of the Meta app secret in that Secret (chart value webhook.appSecretKey).
    #[arg(long, default_value = "app-secret")]
    pub webhook_app_secret_key: String,
    /// Key of the verify token in that Secret (chart value webhook.verifyTokenKey).
    #[arg(long, default_value = "verify-token")]
    pub webhook_verify_token_key: String,
    /// Do not check the webhook Secret (the operator runs without its webhook receiver).
    #[arg(long)]
    pub skip_webhook: bool,
    #[arg(short = 'o', long, value_enum, default_value_t)]
    pub output: Output,
}

/// "60s", "2m", "1m30s", or whole seconds ("90").
fn parse_timeout(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<u64>() {
        return Ok(Duration::from_secs(secs));
    }
    s.parse::<jiff::SignedDuration>()
        .ok()
        .and_then(|d| Duration::try_from(d).ok())
        .ok_or_else(|| format!("{s:?} is not a duration such as 60s, 2m or 1m30s"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
        Cli::try_parse_from(std::iter::once("kubectl-whatsapp").chain(args.iter().copied()))
    }

    #[test]
    fn global_flags_go_anywhere_like_kubectls() {
        let cli = parse(&["status", "wac/acme", "-n", "messaging", "--context", "prod"]).unwrap();
        assert_eq!(cli.global.namespace.as_deref(), Some("messaging"));
        assert_eq!(cli.global.context.as_deref(), Some("prod"));
        let cli = parse(&["-n", "messaging", "status", "waba/acme", "-o", "json"]).unwrap();
        let Command::Status(s) = cli.command else {
            panic!("status")
        };
        assert_eq!(s.output, Output::Json);
        assert_eq!(s.target.to_string(), "waba/acme");
    }

    #[test]
    fn usage_errors_exit_2() {
        for args in [
            &["status"][..],
            &["status", "pod/x"],
            &["verify", "waba/acme", "123456"],
            &["budget", "account/acme"],
            &["sync", "wac/x", "--timeout", "soon"],
            &["status", "wac/x", "-o", "wide"],
        ] {
            let err = parse(args).expect_err(&format!("{args:?}"));
            assert_eq!(err.exit_code(), 2, "{args:?}: {err}");
        }
    }

    #[test]
    fn timeouts_read_like_durations() {
        assert_eq!(parse_timeout("60s"), Ok(Duration::from_secs(60)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("90"), Ok(Duration::from_secs(90)));
        assert!(parse_timeout("-5s").is_err());
        let cli = parse(&["sync", "wac/x"]).unwrap();
        let Command::Sync(w) = cli.command else {
            panic!("sync")
        };
        assert_eq!(w.timeout, Duration::from_secs(60), "the default");
    }

    #[test]
    fn help_documents_the_exit_codes() {
        use clap::CommandFactory;
        let help = Cli::command().render_long_help().to_string();
        assert!(help.contains("Exit codes:"), "{help}");
        assert!(help.contains("2  usage error"), "{help}");
        let mut cmd = Cli::command();
        let status = cmd.find_subcommand_mut("status").unwrap();
        assert!(
            status
                .render_long_help()
                .to_string()
                .contains("1  status: not Ready")
        );
    }
}
