//! `profile_export_aiperf.json`: AIPerf 0.13's shape (aiperf-formats.md §2.2). One key per metric
//! tag → `{unit, avg, p1..p99, min, max, std, count, sum}` for distributions, `{unit, avg}` for
//! aggregates; non-finite and undefined statistics are omitted (as in AIPerf's files). Context keys follow
//! (`schema_version`, `benchmark_id`, `start_time`/`end_time` (ISO UTC), `was_cancelled`,
//! `error_summary`, `input_config`, `run_info`), then `sweepkit` (records read, warmup excluded,
//! throughput window, warnings, which metrics are sweepkit additions).

use std::io::{self, Write};

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

use super::{Exporter, MetricValue, Summary, SCHEMA_VERSION};
use crate::contract::summary::MetricStats;

/// Pretty (files, final stdout) or compact (one line per live tick).
pub struct Json {
    pub pretty: bool,
}

impl Exporter for Json {
    fn export(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()> {
        if self.pretty {
            serde_json::to_writer_pretty(&mut *out, &Doc(summary)).map_err(io::Error::from)?;
        } else {
            serde_json::to_writer(&mut *out, &Doc(summary)).map_err(io::Error::from)?;
        }
        out.write_all(b"\n")
    }
}

/// A metric entry as AIPerf's `JsonMetricResult`. Infinite statistics (the error-adjusted
/// metrics' upper tail) are left out, as AIPerf 0.13's files leave them out.
pub fn metric_stats(unit: &str, value: &MetricValue) -> MetricStats {
    let mut s = all_stats(unit, value);
    for v in [
        &mut s.avg, &mut s.p1, &mut s.p5, &mut s.p10, &mut s.p25, &mut s.p50, &mut s.p75, &mut s.p90,
        &mut s.p95, &mut s.p99, &mut s.min, &mut s.max, &mut s.std, &mut s.sum,
    ] {
        if v.is_some_and(|x| !x.is_finite()) {
            *v = None;
        }
    }
    s
}

fn all_stats(unit: &str, value: &MetricValue) -> MetricStats {
    match value {
        MetricValue::Scalar(v) => MetricStats {
            unit: unit.to_string(),
            avg: Some(*v),
            ..MetricStats::default()
        },
        MetricValue::Sweep(w) => MetricStats {
            unit: unit.to_string(),
            avg: Some(w.avg),
            p50: Some(w.p50),
            p90: Some(w.p90),
            p95: Some(w.p95),
            p99: Some(w.p99),
            min: Some(w.min),
            max: Some(w.max),
            std: Some(w.std),
            ..MetricStats::default()
        },
        MetricValue::Dist(d) => MetricStats {
            unit: unit.to_string(),
            avg: Some(d.avg),
            p1: Some(d.pct[0]),
            p5: Some(d.pct[1]),
            p10: Some(d.pct[2]),
            p25: Some(d.pct[3]),
            p50: Some(d.pct[4]),
            p75: Some(d.pct[5]),
            p90: Some(d.pct[6]),
            p95: Some(d.pct[7]),
            p99: Some(d.pct[8]),
            min: Some(d.min),
            max: Some(d.max),
            std: d.std,
            count: Some(d.count),
            sum: Some(d.sum),
        },
    }
}

struct Doc<'a>(&'a Summary);

#[derive(Serialize)]
struct ErrorEntry<'a> {
    error_details: &'a crate::contract::records::ErrorDetails,
    count: u64,
}

impl Serialize for Doc<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let sum = self.0;
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("schema_version", SCHEMA_VERSION)?;
        map.serialize_entry("sweepkit_version", env!("CARGO_PKG_VERSION"))?;
        if let Some(id) = &sum.benchmark_id {
            map.serialize_entry("benchmark_id", id)?;
        }
        for e in &sum.entries {
            map.serialize_entry(&e.tag, &metric_stats(&e.unit, &e.value))?;
        }
        // The server's and GPUs' key figures, as unit-bearing metrics (sweep-agg aggregates them).
        let server_figures = sum.server.iter().flat_map(|m| &m.figures);
        let gpu_figures = sum.telemetry.iter().flat_map(|t| &t.figures);
        for (tag, stats) in server_figures.chain(gpu_figures).chain(&sum.efficiency) {
            map.serialize_entry(tag, stats)?;
        }
        map.serialize_entry("was_cancelled", &sum.was_cancelled)?;
        let errors: Vec<ErrorEntry> = sum
            .error_summary
            .iter()
            .map(|(d, c)| ErrorEntry {
                error_details: d,
                count: *c,
            })
            .collect();
        map.serialize_entry("error_summary", &errors)?;
        map.serialize_entry("start_time", &sum.start_time)?;
        map.serialize_entry("end_time", &sum.end_time)?;
        if let Some(v) = &sum.input_config {
            map.serialize_entry("input_config", v)?;
        }
        if let Some(v) = &sum.run_info {
            map.serialize_entry("run_info", v)?;
        }
        if let Some(entries) = &sum.warmup {
            let m: serde_json::Map<String, serde_json::Value> = entries
                .iter()
                .map(|e| {
                    (
                        e.tag.clone(),
                        serde_json::to_value(metric_stats(&e.unit, &e.value)).unwrap_or_default(),
                    )
                })
                .collect();
            map.serialize_entry("warmup_metrics", &m)?;
        }
        if let Some(t) = &sum.telemetry {
            map.serialize_entry("telemetry_data", &t.telemetry_data)?;
        }
        if let Some(m) = &sum.server {
            map.serialize_entry("server_metrics", &m.metrics)?;
        }
        if !sum.by_url.is_empty() {
            let per: serde_json::Map<String, serde_json::Value> = sum
                .by_url
                .iter()
                .map(|(url, s)| (url.clone(), serde_json::to_value(Doc(s)).unwrap_or_default()))
                .collect();
            map.serialize_entry("by_url", &per)?;
        }
        let p = &sum.sweepkit;
        let window = p.window_ns.map(|(a, b)| {
            serde_json::json!({"source": p.window_source.map(|s| s.as_str()), "start_ns": a, "end_ns": b,
                               "seconds": (b - a) as f64 * 1e-9})
        });
        let mut block = serde_json::json!({
            "records_read": p.records_read,
            "warmup_records_excluded": p.warmup_excluded,
            "throughput_window": window,
            "additions": p.additions,
            "warnings": p.warnings,
        });
        if let Some(s) = &p.shards {
            block["shards"] = serde_json::to_value(s).map_err(serde::ser::Error::custom)?;
        }
        map.serialize_entry("sweepkit", &block)?;
        map.end()
    }
}
