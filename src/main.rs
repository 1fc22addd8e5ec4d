use std::process::ExitCode;

use clap::{Parser, Subcommand};
use whatsapp_operator::run::{self, RunArgs};

/// Kubernetes operator for WhatsApp Business phone numbers on Meta's Cloud API.
#[derive(Parser)]
#[command(name = "whatsapp-operator", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print both CustomResourceDefinitions as YAML (what crds/ holds).
    Crd,
    /// Run the controllers, /metrics, /healthz, /readyz and the Meta webhook endpoint.
    Run(Box<RunArgs>),
}

fn main() -> ExitCode {
    // The image ships one binary: its `/kubectl-whatsapp` is a link to this one, which then is
    // the kubectl plugin (a second static binary would double the image).
    if std::env::args_os()
        .next()
        .is_some_and(|argv0| whatsapp_operator::cli::invoked_as_plugin(&argv0))
    {
        return whatsapp_operator::cli::main();
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match whatsapp_operator::crd::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: cannot render CRDs: {err}");
                ExitCode::FAILURE
            }
        },
        Command::Run(args) => {
            run::init_tracing(args.log_format);
            let runtime = match tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(err) => {
                    eprintln!("error: cannot start the async runtime: {err}");
                    return ExitCode::FAILURE;
                }
            };
            match runtime.block_on(run::run(*args)) {
                Ok(()) => ExitCode::SUCCESS,
                Err(err) => {
                    tracing::error!(error = %err, "operator failed");
                    ExitCode::FAILURE
                }
            }
        }
    }
}
