//! AIPerf's collated file `profile_export_aiperf_collated.json` ("detailed" aggregation): every
//! trial's per-request values of one value pooled, written by sweep-agg beside the value's
//! confidence aggregate when convergence is on.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::contract::convergence::ValueConvergence;
use crate::contract::sweep_aggregate::FailedRun;

/// `profile_export_aiperf_collated.json`: AIPerf's "detailed" aggregation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollatedDoc {
    pub schema_version: String,
    #[serde(default)]
    pub generator: String,
    #[serde(default)]
    pub description: String,
    pub metadata: CollatedMetadata,
    pub metrics: BTreeMap<String, CollatedMetric>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CollatedMetadata {
    pub aggregation_type: String,
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    pub failed_runs: Vec<FailedRun>,
    pub run_labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    /// sweepkit addition: the value's convergence verdict.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub convergence: Option<ValueConvergence>,
}

/// One metric's pooled per-request values.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CollatedMetric {
    pub combined: Combined,
    pub per_run: Vec<PerRun>,
}

/// Over every request of every trial: std ddof=1, numpy's linear percentiles.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Combined {
    pub mean: Option<f64>,
    pub std: Option<f64>,
    pub p50: Option<f64>,
    pub p90: Option<f64>,
    pub p95: Option<f64>,
    pub p99: Option<f64>,
    pub count: usize,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerRun {
    pub label: String,
    pub mean: Option<f64>,
    pub count: usize,
}
