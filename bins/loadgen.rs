//! loadgen (placeholder until its issue lands: it refuses to run).

#[path = "shared/mod.rs"]
mod shared;

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Parser)]
#[command(name = "loadgen", version, after_help = "EXAMPLES:\n  loadgen --help")]
struct Cli {}

fn main() -> ExitCode {
    shared::main::<Cli>("loadgen", |_| anyhow::bail!("not built yet"))
}
