//! mock-llm (placeholder until its issue lands: it refuses to run).

#[path = "shared/mod.rs"]
mod shared;

use std::process::ExitCode;

/// Not built yet.
#[derive(clap::Parser)]
#[command(name = "mock-llm", version, after_help = "EXAMPLES:\n  mock-llm --help")]
struct Cli {}

fn main() -> ExitCode {
    shared::main::<Cli>("mock-llm", |_| anyhow::bail!("not built yet"))
}
