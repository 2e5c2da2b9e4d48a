//! sweepkit: benchmark LLM inference servers the way NVIDIA AIPerf does, as small composable tools.
//!
//! One concept per module. The library knows nothing about clap or the terminal: `bins/` parse
//! arguments into the typed options defined here, call in, and map the result to an exit code.

pub mod atomic;
pub mod clock;
pub mod interrupt;
pub mod jsonl;
pub mod outcome;
pub mod records;
pub mod summary;
pub mod timer;
pub mod confidence;
pub mod plan;
pub mod pareto;
pub mod trends;
pub mod aggregate_export;
pub mod findings;
pub mod sweep;
pub mod plot;
pub mod loadgen;
pub mod stats;
pub mod trial;
pub mod mock;
pub mod prometheus;
pub mod scrape;
pub mod telemetry;
pub mod tls;
