//! AIPerf's artifact tree, both ways: the file names every stage reads and writes, where a run,
//! a per-value aggregate and the sweep aggregate live ([`layout`]), and how parameter values become
//! folder names and back ([`names`]). Below every stage, so the writer and the loaders agree.

pub mod layout;
pub mod names;

/// One trial's summary (trial-agg writes it, sweep-agg reads it).
pub const SUMMARY_JSON: &str = "profile_export_aiperf.json";
/// One trial's summary as CSV.
pub const SUMMARY_CSV: &str = "profile_export_aiperf.csv";
/// A run folder holding this file failed before it could be summarised; its text is the error.
pub const RUN_ERROR_FILE: &str = "run_error.txt";
/// A run folder holding this file was skipped on purpose (its value converged, the sweep saturated);
/// its text says why. A skipped run is neither a trial nor a failure.
pub const RUN_SKIPPED_FILE: &str = "run_skipped.txt";
/// AIPerf's collated per-request file (convergence), beside a value's confidence aggregate.
pub const COLLATED_JSON: &str = "profile_export_aiperf_collated.json";
/// One value's confidence aggregate across trials.
pub const AGGREGATE_JSON: &str = "profile_export_aiperf_aggregate.json";
pub const AGGREGATE_CSV: &str = "profile_export_aiperf_aggregate.csv";
/// The sweep aggregate across values.
pub const SWEEP_JSON: &str = "profile_export_aiperf_sweep.json";
pub const SWEEP_CSV: &str = "profile_export_aiperf_sweep.csv";
/// One run's per-request records (loadgen writes them, trial-agg reads them).
pub const RECORDS_JSONL: &str = "profile_export.jsonl";
/// One run's run info (loadgen `--run-info-out`).
pub const RUN_INFO_JSON: &str = "run_info.json";
/// `scrape`'s samples of the server's metrics over one run.
pub const SERVER_METRICS_JSONL: &str = "server_metrics_export.jsonl";
/// `scrape`'s samples of the GPUs' DCGM exporter over one run.
pub const GPU_TELEMETRY_JSONL: &str = "gpu_telemetry_export.jsonl";
/// The sweep's plan (one line per run), in the sweep's folder.
pub const PLAN_JSONL: &str = "plan.jsonl";
/// The command that made the sweep, secrets redacted (the guide's best practice 5).
pub const BENCHMARK_COMMAND_TXT: &str = "benchmark_command.txt";
/// sweep-agg's Markdown summary, in the sweep's folder.
pub const FINDINGS_MD: &str = "findings.md";
/// An SLA search's history (AIPerf's name), rewritten by sweep-search after every iteration.
pub const SEARCH_HISTORY_JSON: &str = "search_history.json";
/// An SLA search's finished iterations and their trials' results (AIPerf's restart checkpoint).
pub const SEARCH_CHECKPOINT_JSON: &str = "search_checkpoint.json";
/// The HTML report, in the sweep's folder.
pub const REPORT_HTML: &str = "report.html";
