//! `kubectl whatsapp`: kubectl runs `kubectl-whatsapp` from PATH (see `whatsapp_operator::cli`).

fn main() -> std::process::ExitCode {
    whatsapp_operator::cli::main()
}
