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
