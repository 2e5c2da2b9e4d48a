//! sweep-plan (placeholder until its issue lands: it refuses to run).

#[path = "shared/mod.rs"]
mod shared;

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Parser)]
#[command(name = "sweep-plan", version, after_help = "EXAMPLES:\n  sweep-plan --help")]
struct Cli {}

fn main() -> ExitCode {
    shared::main::<Cli>("sweep-plan", |_| anyhow::bail!("not built yet"))
}
