//! `--search-sla metric:stat:op:threshold`: one SLA filter, as AIPerf's `SLAFilter`, written by
//! sweep-search (`search_history.json`'s `config.sla_filters`) and read back by sweep-agg (the sweep
//! aggregate's `metadata.sla_constraints`). Several combine; an iteration is feasible only when
//! every one holds. Thresholds are in the metric's display unit (ms for latencies, % for
//! `request_error_rate`, a fraction for `good_request_fraction`).

use serde::{Deserialize, Serialize};

/// The stats a filter may name (AIPerf's list).
pub const STATS: [&str; 12] = [
    "avg", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "min", "max",
];

/// How the stat is compared with the threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Lt => "lt",
            Op::Le => "le",
            Op::Gt => "gt",
            Op::Ge => "ge",
        }
    }

    /// The operator as a symbol, for sentences.
    pub fn symbol(self) -> &'static str {
        match self {
            Op::Lt => "<",
            Op::Le => "≤",
            Op::Gt => ">",
            Op::Ge => "≥",
        }
    }

    /// True when smaller values are better (an upper bound).
    pub fn is_upper_bound(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

/// One SLA filter; serialized as AIPerf writes it in `search_history.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlaFilter {
    pub metric_tag: String,
    pub stat: String,
    pub op: Op,
    /// In the metric's display unit.
    pub threshold: f64,
}

impl SlaFilter {
    /// Parses `metric:stat:op:threshold` (exactly four parts, AIPerf's rules).
    pub fn parse(raw: &str) -> Result<SlaFilter, String> {
        let parts: Vec<&str> = raw.split(':').collect();
        let [tag, stat, op, thr] = parts.as_slice() else {
            return Err(format!(
                "--search-sla '{raw}': expected 4 colon-separated parts 'metric_tag:stat:op:threshold', got {}; e.g. 'time_to_first_token:p99:le:200'",
                parts.len()
            ));
        };
        if tag.is_empty() {
            return Err(format!("--search-sla '{raw}': no metric tag"));
        }
        if !STATS.contains(stat) {
            return Err(format!(
                "--search-sla '{raw}': unknown stat '{stat}'; expected one of {}",
                STATS.join(", ")
            ));
        }
        let op = match *op {
            "lt" => Op::Lt,
            "le" => Op::Le,
            "gt" => Op::Gt,
            "ge" => Op::Ge,
            other => {
                return Err(format!(
                    "--search-sla '{raw}': unknown op '{other}'; expected lt, le, gt or ge"
                ))
            }
        };
        let threshold: f64 = thr
            .parse()
            .ok()
            .filter(|t: &f64| t.is_finite())
            .ok_or_else(|| format!("--search-sla '{raw}': threshold '{thr}' is not a number"))?;
        Ok(SlaFilter {
            metric_tag: tag.to_string(),
            stat: stat.to_string(),
            op,
            threshold,
        })
    }

    /// `value op threshold` (strict for lt/gt); a non-finite value fails.
    pub fn holds(&self, value: f64) -> bool {
        value.is_finite()
            && match self.op {
                Op::Lt => value < self.threshold,
                Op::Le => value <= self.threshold,
                Op::Gt => value > self.threshold,
                Op::Ge => value >= self.threshold,
            }
    }

    /// Signed margin, negative when the filter holds with room (AIPerf's `_signed_margins`).
    pub fn margin(&self, value: f64) -> f64 {
        if self.op.is_upper_bound() {
            value - self.threshold
        } else {
            self.threshold - value
        }
    }

    /// AIPerf's constraint key: `0:time_to_first_token.p99.le.200.0`.
    pub fn key(&self, index: usize) -> String {
        format!(
            "{index}:{}.{}.{}.{}",
            self.metric_tag,
            self.stat,
            self.op.as_str(),
            py_float(self.threshold)
        )
    }

    /// `time_to_first_token p99 ≤ 200`, for sentences.
    pub fn describe(&self) -> String {
        format!(
            "{} {} {} {}",
            self.metric_tag,
            self.stat,
            self.op.symbol(),
            self.threshold
        )
    }
}

/// A float as Python's `str(float)` writes it (`200.0`, `0.5`).
fn py_float(x: f64) -> String {
    if x.fract() == 0.0 && x.abs() < 1e16 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_judges_a_filter() {
        let f = SlaFilter::parse("time_to_first_token:p99:le:200").unwrap();
        assert_eq!(
            (f.metric_tag.as_str(), f.stat.as_str(), f.op, f.threshold),
            ("time_to_first_token", "p99", Op::Le, 200.0)
        );
        assert!(f.holds(200.0) && !f.holds(200.1) && !f.holds(f64::NAN));
        assert_eq!(f.margin(150.0), -50.0);
        assert_eq!(f.key(0), "0:time_to_first_token.p99.le.200.0");
        let g = SlaFilter::parse("output_token_throughput:avg:gt:10.5").unwrap();
        assert!(!g.holds(10.5) && g.holds(11.0));
        assert_eq!(g.margin(12.5), -2.0);
    }

    #[test]
    fn bad_filters_say_what_is_wrong() {
        for (raw, want) in [
            ("ttft:p99:le", "4 colon-separated"),
            ("ttft:p42:le:1", "unknown stat"),
            ("ttft:p99:eq:1", "unknown op"),
            ("ttft:p99:le:abc", "not a number"),
        ] {
            let e = SlaFilter::parse(raw).unwrap_err();
            assert!(e.contains(want) && e.contains(raw), "{e}");
        }
    }
}
