//! trial-agg (placeholder until its issue lands: it refuses to run).

#[path = "shared/mod.rs"]
mod shared;

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Parser)]
#[command(name = "trial-agg", version, after_help = "EXAMPLES:\n  trial-agg --help")]
struct Cli {}

fn main() -> ExitCode {
    shared::main::<Cli>("trial-agg", |_| anyhow::bail!("not built yet"))
}
