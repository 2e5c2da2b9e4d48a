//! Convergence (AIPerf's adaptive trials): the settings (`--convergence-*`) and one value's verdict
//! (printed by `sweep-agg --converged`, kept in the per-value aggregate's metadata, the collated
//! file and the sweep aggregate). sweep-agg writes and reads them; scripts/profile loops on the verdict.

use serde::{Deserialize, Serialize};

/// AIPerf's `--convergence-mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvergenceMode {
    /// `2·t·se/|mean| < threshold` (Student t at the confidence level).
    CiWidth,
    /// `std/|mean| < threshold`.
    Cv,
    /// Two-sample Kolmogorov–Smirnov, per-request values of trials 1..k−1 vs trial k: p > threshold.
    Distribution,
}

impl ConvergenceMode {
    /// AIPerf's default threshold for the mode.
    pub fn default_threshold(self) -> f64 {
        match self {
            ConvergenceMode::CiWidth => 0.10,
            ConvergenceMode::Cv => 0.05,
            ConvergenceMode::Distribution => 0.05,
        }
    }

    /// The name as written in files and flags (`ci_width`, `cv`, `distribution`).
    pub fn as_str(self) -> &'static str {
        match self {
            ConvergenceMode::CiWidth => "ci_width",
            ConvergenceMode::Cv => "cv",
            ConvergenceMode::Distribution => "distribution",
        }
    }

    pub fn parse(s: &str) -> Result<ConvergenceMode, String> {
        match s {
            "ci_width" | "ci-width" => Ok(ConvergenceMode::CiWidth),
            "cv" => Ok(ConvergenceMode::Cv),
            "distribution" => Ok(ConvergenceMode::Distribution),
            other => Err(format!(
                "--convergence-mode '{other}': must be ci_width, cv or distribution"
            )),
        }
    }
}

/// What "converged" means: `--convergence-metric/-stat/-threshold/-mode` (min_runs is AIPerf's 2).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConvergenceSettings {
    pub metric: String,
    pub stat: String,
    pub mode: ConvergenceMode,
    pub threshold: f64,
    pub min_runs: usize,
}

/// The stats `--convergence-stat` accepts (AIPerf's list).
pub const CONVERGENCE_STATS: [&str; 7] = ["avg", "p50", "p90", "p95", "p99", "min", "max"];

/// One value's verdict after the trials run so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ValueConvergence {
    /// The combination's folder name (`concurrency_10`), `base` without a sweep (the plan's label).
    pub variation_label: String,
    /// Successful trials the verdict is based on.
    pub trials: usize,
    pub converged: bool,
    /// The criterion's value (relative CI width, CV or KS p-value); null when it could not be computed.
    pub criterion: Option<f64>,
    pub threshold: f64,
    pub mode: ConvergenceMode,
    pub metric: String,
    pub stat: String,
    /// Why not converged (too few trials, metric missing, …), or empty.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_both_spellings_and_refuse_others() {
        assert_eq!(ConvergenceMode::parse("ci-width"), Ok(ConvergenceMode::CiWidth));
        assert_eq!(ConvergenceMode::parse("ci_width"), Ok(ConvergenceMode::CiWidth));
        assert!(ConvergenceMode::parse("bogus").unwrap_err().contains("ci_width"));
        assert_eq!(
            serde_json::to_string(&ConvergenceMode::CiWidth).unwrap(),
            "\"ci_width\""
        );
    }
}
