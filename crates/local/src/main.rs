//! `meli-radar`: the command line. `meli-radar --help` lists the commands.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = meli_local::cli::Cli::parse();
    meli_local::cli::init_tracing(cli.verbose);
    match meli_local::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line that says what to do; the causes follow on the same line.
            let mut msg = format!("error: {e}");
            let mut src = e.source();
            while let Some(s) = src {
                msg.push_str(&format!(": {s}"));
                src = s.source();
            }
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}
