//! The `parproc-host` binary: parse arguments, run, map the outcome to an exit status.

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = parproc_host::cli::Cli::parse();
    parproc_host::main_with(cli)
}
