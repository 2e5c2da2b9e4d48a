//! One value's aggregate across its trials (`profile_export_aiperf_aggregate.json`, AIPerf's
//! "confidence" aggregation): written by sweep-agg for every combination, and read back by
//! sweep-agg when a tree holds only these files, AIPerf's or sweepkit's. AIPerf writes
//! `aiperf_version` and `model` where sweepkit writes `generator`, so what one side leaves out
//! has a default, and a reader takes the metrics as plain JSON (`M = Value`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::convergence::ValueConvergence;
use crate::contract::sweep_aggregate::FailedRun;
use crate::stats::confidence::UnitStats;

/// The file is written through `serde_json::Value`, whose maps are key-sorted (the stats of every
/// metric included), as it always has been; the field order here is for the reader of this code.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueAggregate<M = UnitStats> {
    #[serde(default)]
    pub schema_version: String,
    #[serde(default)]
    pub generator: String,
    #[serde(default)]
    pub metadata: ValueMetadata,
    /// `<tag>_<stat>` → across-trial stats.
    #[serde(default)]
    pub metrics: BTreeMap<String, M>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ValueMetadata {
    pub aggregation_type: String,
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    pub failed_runs: Vec<FailedRun>,
    pub confidence_level: f64,
    /// Every trial's label, failed ones included.
    pub run_labels: Vec<String>,
    /// The profile-run cooldown, when known (from the plan).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    /// In a sweep: the combination's folder name (AIPerf: `phases.profiling.concurrency=2`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_label: Option<String>,
    /// In a sweep: the combination's values (AIPerf names them by dotted path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variation_values: Option<Map<String, Value>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sweep_mode: Option<String>,
    /// `true` when one trial succeeded: its interval is collapsed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub single_run: Option<bool>,
    /// With `--convergence-metric`: how many trials the value took and whether it converged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence: Option<ValueConvergence>,
}
