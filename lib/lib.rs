//! sweepkit: benchmark LLM inference servers the way NVIDIA AIPerf does, as small composable tools.
//!
//! One concept per module. The library knows nothing about clap or the terminal: `bins/` parse
//! arguments into the typed options defined here, call in, and map the result to an exit code.

pub mod aggregate_export;
pub mod atomic;
pub mod clock;
pub mod confidence;
pub mod findings;
pub mod interrupt;
pub mod jsonl;
pub mod loadgen;
pub mod mock;
pub mod outcome;
pub mod pareto;
pub mod plan;
pub mod plot;
pub mod prometheus;
pub mod records;
pub mod scrape;
pub mod stats;
pub mod summary;
pub mod sweep;
pub mod telemetry;
pub mod timer;
pub mod tls;
pub mod trends;
pub mod trial;
