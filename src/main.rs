use clap::{Parser, Subcommand};

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Crd => match whatsapp_operator::crd::crds_yaml() {
            Ok(yaml) => {
                print!("{yaml}");
                std::process::ExitCode::SUCCESS
            }
            Err(err) => {
                eprintln!("error: cannot render CRDs: {err}");
                std::process::ExitCode::FAILURE
            }
        },
    }
}
