//! One trial's summary: AIPerf's `profile_export_aiperf.json`. `trial-agg` writes it; `sweep-agg`
//! reads it (sweepkit's or AIPerf's own). As in AIPerf's orchestrator, every top-level value that is
//! an object with a `unit` is a metric; everything else is context.

use std::collections::BTreeMap;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// The per-metric stat keys, in AIPerf 0.13's `STAT_KEYS` order (plus `count`).
pub const STAT_KEYS: [&str; 14] = [
    "avg", "min", "max", "sum", "p1", "p5", "p10", "p25", "p50", "p75", "p90", "p95", "p99", "std",
];

/// The percentiles AIPerf reports, as (key, q in 0..=100).
pub const PERCENTILES: [(&str, f64); 9] = [
    ("p1", 1.0),
    ("p5", 5.0),
    ("p10", 10.0),
    ("p25", 25.0),
    ("p50", 50.0),
    ("p75", 75.0),
    ("p90", 90.0),
    ("p95", 95.0),
    ("p99", 99.0),
];

/// One metric's statistics, in its display unit. Absent stats are omitted when written;
/// non-finite ones are written as `null` (as AIPerf does).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MetricStats {
    pub unit: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub avg: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p1: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p5: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p10: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p25: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p50: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p75: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p90: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p99: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub std: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sum: Option<f64>,
}

impl MetricStats {
    /// A stat by its key (`avg`, `p99`, `count`, ...).
    pub fn get(&self, key: &str) -> Option<f64> {
        match key {
            "avg" => self.avg,
            "min" => self.min,
            "max" => self.max,
            "sum" => self.sum,
            "std" => self.std,
            "count" => self.count.map(|c| c as f64),
            "p1" => self.p1,
            "p5" => self.p5,
            "p10" => self.p10,
            "p25" => self.p25,
            "p50" => self.p50,
            "p75" => self.p75,
            "p90" => self.p90,
            "p95" => self.p95,
            "p99" => self.p99,
            _ => None,
        }
    }

    /// True for derived/aggregate metrics, which carry only `unit` and `avg`.
    pub fn is_scalar(&self) -> bool {
        PERCENTILES.iter().all(|(k, _)| self.get(k).is_none()) && self.min.is_none() && self.max.is_none()
    }
}

/// A trial summary as read back: its metrics by tag, and the whole document for context
/// (`start_time`, `run_info`, `input_config`, ...).
#[derive(Debug, Clone)]
pub struct SummaryDoc {
    pub metrics: BTreeMap<String, MetricStats>,
    pub doc: serde_json::Value,
}

impl SummaryDoc {
    pub fn from_json(doc: serde_json::Value) -> Result<SummaryDoc, String> {
        let obj = doc.as_object().ok_or("a summary must be a JSON object")?;
        let mut metrics = BTreeMap::new();
        for (tag, v) in obj {
            if v.as_object().is_some_and(|o| o.contains_key("unit")) {
                let stats: MetricStats =
                    serde_json::from_value(v.clone()).map_err(|e| format!("metric '{tag}': {e}"))?;
                metrics.insert(tag.clone(), stats);
            }
        }
        Ok(SummaryDoc { metrics, doc })
    }

    pub fn read(path: &Path) -> anyhow::Result<SummaryDoc> {
        let text = crate::io::capped::read_to_string(path)
            .map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", path.display()))?;
        let doc: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| anyhow::anyhow!("{}: not valid JSON: {e}", path.display()))?;
        SummaryDoc::from_json(doc).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
    }

    /// `request_count.avg`; a trial with none is a failed trial (AIPerf's rule).
    pub fn request_count(&self) -> Option<f64> {
        self.metrics.get("request_count").and_then(|m| m.avg)
    }

    /// Why this summary is a failed run by AIPerf's rules (no metrics, or no completed request),
    /// or `None` when it counts. sweep-agg and report judge runs by this one rule.
    pub fn failure(&self) -> Option<String> {
        if self.metrics.is_empty() {
            return Some("No metrics in the summary".into());
        }
        if self.request_count().is_some_and(|n| n > 0.0) {
            return None;
        }
        let errors: u64 = self
            .doc
            .get("error_summary")
            .and_then(serde_json::Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|e| e.get("count").and_then(serde_json::Value::as_u64))
                    .sum()
            })
            .unwrap_or(0);
        Some(if errors > 0 {
            format!("All {errors} requests failed")
        } else {
            "No requests completed".into()
        })
    }
}

/// Every `<tag>_<stat>` of the summaries with its unit and one value per summary that has it: what
/// the across-trial statistics are computed from (sweep-agg's aggregates, report's half-finished sweeps).
pub fn stat_values<'a>(
    summaries: impl IntoIterator<Item = &'a SummaryDoc>,
) -> BTreeMap<String, (String, Vec<f64>)> {
    let mut values: BTreeMap<String, (String, Vec<f64>)> = BTreeMap::new();
    for doc in summaries {
        for (tag, m) in &doc.metrics {
            for stat in STAT_KEYS {
                if let Some(v) = m.get(stat) {
                    let e = values
                        .entry(format!("{tag}_{stat}"))
                        .or_insert_with(|| (m.unit.clone(), Vec::new()));
                    e.1.push(v);
                }
            }
        }
    }
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_metrics_by_unit_key() {
        let doc = serde_json::json!({
            "schema_version": "1.5",
            "request_throughput": {"unit": "requests/sec", "avg": 40.6},
            "time_to_first_token": {"unit": "ms", "avg": 27.9, "p99": 46.1, "min": 21.2, "max": 52.4, "std": 6.1, "count": 200, "sum": 5582.5},
            "input_config": {"endpoint": {"type": "chat"}},
            "error_summary": []
        });
        let s = SummaryDoc::from_json(doc).unwrap();
        assert_eq!(s.metrics.len(), 2);
        assert!(s.metrics["request_throughput"].is_scalar());
        assert_eq!(s.metrics["time_to_first_token"].get("p99"), Some(46.1));
        assert_eq!(s.metrics["time_to_first_token"].get("count"), Some(200.0));
    }
}
