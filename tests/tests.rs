//! sweepkit's integration tests: one test binary, one module per concern. They run the real
//! binaries (`env!("CARGO_BIN_EXE_<tool>")`) in temp folders, and start `mock-llm` on port 0 when
//! they need a server.

mod common;
mod conventions;
mod dashboard;
mod loadgen;
mod mock_llm;
mod report;
mod report_browser;
mod scrape;
mod sweep;
mod trial_agg;
