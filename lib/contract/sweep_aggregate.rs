//! The sweep aggregate (`profile_export_aiperf_sweep.json`): one serde type written by sweep-agg
//! and read by findings and pareto. pareto also reads AIPerf 0.13's own file, which leaves out
//! sweepkit's counters, flags and trends and writes bare-tag metrics, so every block AIPerf omits
//! has a default and the metrics of a combination are a type parameter (`UnitStats` when written,
//! any JSON when read). Below the loaders, the aggregation and the readers sit the across-trial
//! model they share ([`Combination`]) and the one latency rule of a sweep ([`latency_key`]).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::convergence::ValueConvergence;
use crate::contract::sla_filter::SlaFilter;
use crate::stats::confidence::UnitStats;
use crate::stats::knee::Knee;
use crate::stats::trends::Trend;

/// The throughput objective of a sweep: the across-trial mean of the request throughput.
pub const THROUGHPUT_KEY: &str = "request_throughput_avg";

/// The latency objective of a sweep, in order of preference: p99 TTFT, which only streaming runs
/// measure, else p99 request latency.
pub const LATENCY_KEYS: [&str; 2] = ["time_to_first_token_p99", "request_latency_p99"];

/// The latency key of a sweep's analysis: the first of [`LATENCY_KEYS`] that `has` accepts
/// (typically "every combination has it"), `None` when neither is.
pub fn latency_key(has: impl Fn(&str) -> bool) -> Option<&'static str> {
    LATENCY_KEYS.into_iter().find(|k| has(k))
}

/// A run that failed: where it was in the plan, which combination, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_index: Option<usize>,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub error: String,
}

/// A planned run that was not run on purpose: where it was in the plan, and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SkippedRun {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_index: Option<usize>,
    #[serde(default)]
    pub label: String,
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub reason: String,
}

/// One combination across its trials: what the loaders rebuild and the aggregation summarises.
#[derive(Debug, Clone)]
pub struct Combination {
    /// Swept parameters in sweep order.
    pub parameters: Vec<(String, Value)>,
    pub dir_name: String,
    pub trial_labels: Vec<String>,
    pub failed: Vec<FailedRun>,
    pub num_successful: usize,
    /// `<tag>_<stat>` → across-trial stats (empty when every trial failed).
    pub metrics: BTreeMap<String, UnitStats>,
}

impl Combination {
    pub fn params_map(&self) -> Map<String, Value> {
        self.parameters.iter().cloned().collect()
    }

    /// The across-trial mean of a metric, when it is a number.
    pub fn mean(&self, key: &str) -> Option<f64> {
        self.metrics
            .get(key)
            .map(|m| m.stats.mean)
            .filter(|v| v.is_finite())
    }
}

/// A swept parameter and its values in sweep order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepParameter {
    pub name: String,
    pub values: Vec<Value>,
}

/// A value whose key metric varies by more than the metadata's `cv_threshold` across trials.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CvFlag {
    pub parameters: Map<String, Value>,
    pub metric: String,
    /// Coefficient of variation as a ratio (0.25 = 25%).
    pub cv: f64,
}

/// AIPerf's `metadata.sla_constraints` (a search's sweep aggregate): the SLA filters every value
/// was judged against on its across-trial means (`<tag>_<stat>`'s `mean`; a missing metric fails),
/// and how many values held them all. `best_configurations` then come from the feasible values
/// (all values when none is), `pareto_optimal` from the feasible values only.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaConstraints {
    pub active_filters: Vec<SlaFilter>,
    /// Values (combinations with a successful trial) meeting every filter.
    pub feasible_count: usize,
    pub infeasible_count: usize,
}

/// The sweep's shape and health. AIPerf writes only the shape, hence the defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct SweepMetadata {
    pub aggregation_type: String,
    pub sweep_parameters: Vec<SweepParameter>,
    /// Combinations in the sweep, failed ones included.
    pub num_combinations: usize,
    pub num_trials_per_value: usize,
    pub sweep_mode: String,
    pub confidence_level: f64,
    pub num_profile_runs: usize,
    pub num_successful_runs: usize,
    /// Runs that failed; their combination is excluded from the analysis when no trial succeeded.
    pub failed_runs: Vec<FailedRun>,
    /// The guide's "High CV (>20%)": values that need more trials or investigation.
    pub high_variance: Vec<CvFlag>,
    pub cv_threshold: f64,
    pub generator: String,
    /// Planned runs not run on purpose (converged values, a saturated sweep): not failures.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped_runs: Vec<SkippedRun>,
    /// With `--convergence-metric`: every value's verdict (trials taken, converged or not).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub convergence: Vec<ValueConvergence>,
    /// An SLA search's filters and how many values met them (AIPerf's key).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sla_constraints: Option<SlaConstraints>,
}

/// One combination's metrics. sweepkit writes every `<tag>_<stat>` (plus the guide's
/// `ttft_<stat>_ms`/`itl_<stat>_ms`) as [`UnitStats`]; AIPerf's single-trial sweeps write bare tags
/// (`request_latency` with avg, p99, …), so readers take the metrics as plain JSON (`M = Value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CombinationMetrics<M = UnitStats> {
    #[serde(default)]
    pub parameters: Map<String, Value>,
    #[serde(default)]
    pub num_trials: usize,
    #[serde(default)]
    pub num_successful_trials: usize,
    pub metrics: BTreeMap<String, M>,
}

/// The configuration that did best on one objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Best {
    /// The objective's across-trial mean there.
    pub metric: f64,
    pub parameters: Map<String, Value>,
    pub unit: String,
}

/// The best configuration per objective; an objective no combination measured is left out.
/// Fields in key order, as the file has always had them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BestConfigurations {
    /// Lowest p99 latency (the key [`latency_key`] picked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_latency_p99: Option<Best>,
    /// Highest [`THROUGHPUT_KEY`].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_throughput: Option<Best>,
}

impl BestConfigurations {
    pub fn is_empty(&self) -> bool {
        self.best_throughput.is_none() && self.best_latency_p99.is_none()
    }
}

/// `profile_export_aiperf_sweep.json`: the guide's schema, with AIPerf 0.13's top-level counters too.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepAggregate<M = UnitStats> {
    #[serde(default)]
    pub aggregation_type: String,
    #[serde(default)]
    pub num_profile_runs: usize,
    #[serde(default)]
    pub num_successful_runs: usize,
    #[serde(default)]
    pub failed_runs: Vec<FailedRun>,
    #[serde(default)]
    pub metadata: SweepMetadata,
    pub per_combination_metrics: Vec<CombinationMetrics<M>>,
    #[serde(default)]
    pub best_configurations: BestConfigurations,
    /// Parameter sets on the throughput/latency frontier, sorted as AIPerf sorts them.
    #[serde(default)]
    pub pareto_optimal: Vec<Map<String, Value>>,
    /// sweepkit's trends per key metric (AIPerf 0.13 writes none): `<metric>` along one swept
    /// parameter, or `<metric>@<parameter>[<other>=<value>,...]` along each axis of a grid.
    #[serde(default)]
    pub trends: BTreeMap<String, Trend>,
    /// sweepkit's knee of each throughput trend (two-segment fit: saturation point, plateau, R²),
    /// keyed like `trends`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub knee: BTreeMap<String, Knee>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latency_rule_prefers_ttft() {
        assert_eq!(latency_key(|_| true), Some("time_to_first_token_p99"));
        assert_eq!(
            latency_key(|k| k == "request_latency_p99"),
            Some("request_latency_p99")
        );
        assert_eq!(latency_key(|_| false), None);
    }

    #[test]
    fn best_configurations_keep_their_key_order_and_leave_out_the_unmeasured() {
        let best = |m: f64| Best {
            metric: m,
            parameters: serde_json::json!({"concurrency": 4}).as_object().unwrap().clone(),
            unit: "ms".into(),
        };
        let b = BestConfigurations {
            best_latency_p99: Some(best(1.5)),
            best_throughput: Some(best(2.0)),
        };
        assert_eq!(
            serde_json::to_string(&b).unwrap(),
            serde_json::to_string(&serde_json::to_value(&b).unwrap()).unwrap()
        );
        let only = BestConfigurations {
            best_throughput: Some(best(2.0)),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&only).unwrap(),
            r#"{"best_throughput":{"metric":2.0,"parameters":{"concurrency":4},"unit":"ms"}}"#
        );
    }
}
