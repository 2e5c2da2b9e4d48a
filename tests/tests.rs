//! sweepkit's integration tests: one test binary, one module per concern. They run the real
//! binaries (`env!("CARGO_BIN_EXE_<tool>")`) in temp folders, and start `mock-llm` on port 0 when
//! they need a server.

mod adaptive;
mod chat_template;
mod common;
mod compare;
mod context;
mod conventions;
mod dashboard;
mod datasets;
mod docs;
mod endpoint_types;
mod findings;
mod hostile;
mod image_source;
mod loadgen;
mod make;
mod media;
mod mock_llm;
mod network_latency;
mod panics;
mod parity;
mod receive_window;
mod replicas;
mod report;
mod report_browser;
mod resume;
mod scrape;
mod search;
mod serve;
mod shards;
mod slurm;
mod stage_imports;
mod stages;
mod sweep;
mod sweep_types;
mod tokenizer;
mod traffic;
mod trial_agg;
mod units;
mod workers;
mod workloads;
