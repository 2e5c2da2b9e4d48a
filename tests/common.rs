//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output};

/// Every binary of the package, for tests that check them all alike.
pub const TOOLS: [&str; 6] = ["mock-llm", "loadgen", "trial-agg", "sweep-plan", "sweep-agg", "pareto"];

pub fn bin(tool: &str) -> PathBuf {
    let p = match tool {
        "mock-llm" => env!("CARGO_BIN_EXE_mock-llm"),
        "loadgen" => env!("CARGO_BIN_EXE_loadgen"),
        "trial-agg" => env!("CARGO_BIN_EXE_trial-agg"),
        "sweep-plan" => env!("CARGO_BIN_EXE_sweep-plan"),
        "sweep-agg" => env!("CARGO_BIN_EXE_sweep-agg"),
        "pareto" => env!("CARGO_BIN_EXE_pareto"),
        other => panic!("unknown tool {other}"),
    };
    PathBuf::from(p)
}

pub fn run(tool: &str, args: &[&str]) -> Output {
    Command::new(bin(tool)).args(args).output().expect("run tool")
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/reference/` beside the checkout (CI lays a copy of shared/ beside the clone).
pub fn reference_dir() -> PathBuf {
    let p = repo_root().join("../shared/reference");
    assert!(p.is_dir(), "{} is missing: the tests read the reference artifacts from shared/", p.display());
    p
}
