//! pareto (placeholder until its issue lands: it refuses to run).

#[path = "shared/mod.rs"]
mod shared;

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Parser)]
#[command(name = "pareto", version, after_help = "EXAMPLES:\n  pareto --help")]
struct Cli {}

fn main() -> ExitCode {
    shared::main::<Cli>("pareto", |_| anyhow::bail!("not built yet"))
}
