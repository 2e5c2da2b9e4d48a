//! `compare`'s output (`compare.json`): two or more labelled configurations measured on the same
//! workload, the first one the base. One serde type for the writer (compare) and the readers
//! (report's decision panel, `scripts/profile --serve`). Units: every metric value is in the unit
//! named beside it (`unit`, AIPerf's display unit: ms, requests/sec, tokens/sec, %); ratios are
//! `new / base` (dimensionless); levels, margins and confidences are fractions (0.95, 0.02).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::sla_filter::SlaFilter;

/// The `schema` compare writes.
pub const SCHEMA: &str = "sweepkit.compare/1";

/// The whole comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// [`SCHEMA`].
    pub schema: String,
    /// The base configuration's label (the first one given).
    pub base: String,
    /// Every configuration, the base first.
    pub configurations: Vec<Configuration>,
    /// Level of every two-sided interval, a fraction (0.95).
    pub confidence_level: f64,
    /// `--equivalence`: the relative margin of "equivalent", a fraction (0.02 = ±2%).
    pub equivalence_margin: f64,
    /// Workload settings allowed to differ (`--allow-different`), and those that did.
    pub allowed_differences: Vec<String>,
    /// The SLO the decision judges loads by (`--slo`, else the searches' SLA).
    pub slo: Vec<SlaFilter>,
    /// Which configuration serves more within the SLO; absent without an SLO.
    pub decision: Option<Decision>,
    /// One per configuration other than the base, against the base.
    pub pairs: Vec<Pair>,
    /// Every `--gate`, judged at every matched value of every pair.
    pub gates: Vec<GateResult>,
    /// Things the reader should know (unmatched values, unchecked workloads).
    pub warnings: Vec<String>,
}

/// One labelled input folder.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Configuration {
    pub label: String,
    pub dir: String,
    /// `sweep`, `run`, `search` or `aggregates` (a sweep whose trial summaries are gone).
    pub kind: String,
    /// Swept parameter names, in sweep order (empty for a single run).
    pub parameters: Vec<String>,
    /// Values measured (one per swept value).
    pub values: usize,
    /// Fewest and most successful trials at one value.
    pub min_trials: usize,
    pub max_trials: usize,
    /// Failed trials, left out of every number.
    pub failed_trials: usize,
}

/// One side's value of a metric across trials.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Side {
    /// Successful trials with a value.
    pub trials: usize,
    /// Mean over trials, in the metric's unit.
    pub mean: f64,
    /// Sample standard deviation over trials (ddof 1; 0 for one trial), in the metric's unit.
    pub std: f64,
    /// The mean's Student-t interval at the confidence level, in the metric's unit (collapsed for one trial).
    pub ci_low: f64,
    pub ci_high: f64,
}

/// An estimate with its interval at the confidence level.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Interval {
    pub value: f64,
    pub low: f64,
    pub high: f64,
}

/// Whether `new` is better than `base` on a metric, knowing the metric's direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The interval excludes no change, on the good side.
    Better,
    /// The interval excludes no change, on the bad side.
    Worse,
    /// The interval straddles no change and is too wide to show equivalence.
    NoDifferenceDetected,
    /// Two one-sided tests place the ratio within ±equivalence_margin.
    Equivalent,
}

/// One metric at one matched value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricComparison {
    /// `<tag>_<stat>`, e.g. `time_to_first_token_p99`.
    pub metric: String,
    /// The metric's display unit (both sides share it).
    pub unit: String,
    /// `higher` or `lower`: which way is better.
    pub better: String,
    pub base: Side,
    pub new: Side,
    /// `new − base`, in the metric's unit (Welch interval); absent below 2 trials a side.
    pub difference: Option<Interval>,
    /// `new / base`, dimensionless (Welch interval on the log scale); absent below 2 trials a side or
    /// with a non-positive mean.
    pub ratio: Option<Interval>,
    /// Absent below 2 trials a side (see `no_verdict`).
    pub verdict: Option<Verdict>,
    /// Why there is no verdict.
    pub no_verdict: Option<String>,
    /// When inconclusive: trials per side that would detect a difference of the equivalence margin
    /// (80% power at the confidence level).
    pub trials_needed: Option<usize>,
}

/// One swept value both configurations measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PointComparison {
    /// The swept parameters (`{"concurrency": 16}`; empty for two single runs).
    pub parameters: Map<String, Value>,
    /// The value's folder name (`concurrency_16`), or `run` for two single runs.
    pub label: String,
    pub metrics: Vec<MetricComparison>,
}

/// `new` against the base.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Pair {
    pub base: String,
    pub new: String,
    pub points: Vec<PointComparison>,
    /// Values only one side measured (folder names), not compared.
    pub unmatched: Vec<String>,
}

/// The largest load one configuration sustains within the SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Capacity {
    pub label: String,
    /// The load parameter (`concurrency`, `request_rate`); absent when nothing meets the SLO.
    pub parameter: Option<String>,
    /// Its largest value meeting the SLO (in the parameter's unit: requests in flight, requests/sec).
    pub value: Option<f64>,
    /// The value's interval (a search's answer: its 95% interval; a sweep: from this value to the
    /// next one measured that fails the SLO, exclusive — absent when none fails).
    pub value_low: Option<f64>,
    pub value_high: Option<f64>,
    /// `search_answer` or `sweep` (feasible values judged on trial means).
    pub source: String,
    /// The SLO still holds at the pessimistic end of every metric's interval there (false with one trial).
    pub holds_on_interval: bool,
    /// The throughput metric (`request_throughput_avg`, requests/sec) at that value.
    pub throughput_metric: String,
    pub throughput_unit: String,
    pub throughput: Option<Side>,
}

/// Which configuration serves more within the SLO, and how sure.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// One per configuration, the base first.
    pub capacities: Vec<Capacity>,
    /// The configuration with the most throughput within the SLO (by its mean); absent when none
    /// meets it. It is a winner only when `significant`.
    pub leader: Option<String>,
    /// The one it is compared with (the next best).
    pub runner_up: Option<String>,
    /// leader / runner-up throughput, dimensionless, with its interval.
    pub ratio: Option<Interval>,
    /// One-sided confidence that the leader's throughput is higher (a fraction).
    pub confidence: Option<f64>,
    /// The leader is ahead beyond doubt: the ratio's interval lies above 1.
    pub significant: bool,
    /// The decision in one sentence.
    pub sentence: String,
}

/// One `--gate METRIC:STAT:±X%` judged on one pair.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GateResult {
    /// As given, e.g. `time_to_first_token:p99:+5%`.
    pub gate: String,
    /// `<tag>_<stat>`.
    pub metric: String,
    /// `new` configuration's label.
    pub new: String,
    /// Relative threshold as a signed fraction: +0.05 fails on a significant rise of more than 5%,
    /// −0.03 on a significant drop of more than 3%.
    pub threshold: f64,
    pub passed: bool,
    /// The value where it failed (or the worst one when it passed), e.g. `concurrency_16`.
    pub at: String,
    pub unit: String,
    pub base_mean: f64,
    pub new_mean: f64,
    /// `new / base` with its interval, dimensionless.
    pub ratio: Option<Interval>,
    pub sentence: String,
}
