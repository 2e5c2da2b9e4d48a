//! AIPerf 0.13's network-adjusted metrics (`metrics/network_adjusted_analyzer.py`): one run-level
//! mean round trip, subtracted from each request-start-anchored latency per record (clamped at 0)
//! to give `network_adjusted_*` beside the raw metrics, plus the `network_rtt` scalar. The
//! inter-token and inter-chunk latencies are left alone: the round trip cancels in them.
//!
//! Where the round trip comes from is AIPerf's `_deliver_network_rtt_to_accumulators`: a fixed
//! `--network-latency-mean` in the run info's `input_config.network_latency`, else the mean of
//! the probe's successful samples (`--network-latency FILE`); none, or 0, adds nothing.

use std::path::Path;

use serde_json::Value;

use super::accumulate::Accumulator;
use super::run_info::RunContext;
use super::{metrics, Entry, MetricValue};
use crate::contract::network_latency::{self, Config};
use crate::stats::distribution::{self as stats, Dist};

/// Each adjusted tag and the latency it shifts (AIPerf's `NETWORK_ADJUSTED_SOURCES`).
pub const SOURCES: [(&str, &str); 3] = [
    ("network_adjusted_request_latency", "request_latency"),
    ("network_adjusted_time_to_first_token", "time_to_first_token"),
    (
        "network_adjusted_time_to_first_output_token",
        "time_to_first_output_token",
    ),
];

/// The run-level round trip to subtract, ns, from the run info's `input_config.network_latency`
/// and the `--network-latency` samples file; warnings say why there is none when one was asked for.
pub fn rtt_ns(
    info: &RunContext,
    samples: Option<&Path>,
    warnings: &mut Vec<String>,
) -> anyhow::Result<Option<f64>> {
    let config: Option<Config> = info
        .input_config
        .as_ref()
        .and_then(|c| c.get("network_latency"))
        .filter(|v| !v.is_null())
        .and_then(|v| serde_json::from_value(Value::clone(v)).ok());
    let enabled = config.is_some_and(|c| c.enabled);
    if let Some(ms) = config.filter(|c| c.enabled).and_then(|c| c.mean_ms) {
        if samples.is_some() {
            warnings.push(format!("--network-latency: ignored, the run info sets a fixed round trip of {ms} ms (--network-latency-mean)"));
        }
        return Ok(Some(ms * 1e6).filter(|r| *r != 0.0));
    }
    let Some(path) = samples else {
        if enabled {
            warnings.push("the run probed the network round trip (input_config.network_latency) but no --network-latency FILE was given (loadgen wrote profile_export_network_latency.jsonl beside the records): no network_adjusted_* metrics".into());
        }
        return Ok(None);
    };
    let s = network_latency::read_samples(path).map_err(|e| anyhow::anyhow!("--network-latency: {e:#}"))?;
    if s.mean_ns.is_none() {
        warnings.push(format!(
            "--network-latency {}: none of its {} probes succeeded: no network_adjusted_* metrics",
            path.display(),
            s.count
        ));
    }
    Ok(s.mean_ns.filter(|r| *r != 0.0))
}

/// The adjusted distributions of the columns present (display ms, numpy's statistics over
/// `max(ns − rtt, 0) / 1e6` in record order) and `network_rtt`. Reads the columns before the
/// summary consumes them.
pub fn entries(acc: &Accumulator, rtt_ns: f64) -> Vec<Entry> {
    let mut out = vec![entry("network_rtt", scalar_dist(rtt_ns / 1e6))];
    for (tag, source) in SOURCES {
        let Some(col) = acc.columns.get(source).filter(|c| c.unit == "ms") else {
            continue;
        };
        let mut ms: Vec<f64> = col
            .values
            .iter()
            .map(|&ns| (ns - rtt_ns).max(0.0) / 1e6)
            .collect();
        if let Some(d) = stats::numpy_dist(&mut ms) {
            out.push(entry(tag, d));
        }
    }
    out
}

/// AIPerf's `network_rtt` result: one value in every statistic, std 0, count 1.
fn scalar_dist(ms: f64) -> Dist {
    Dist {
        avg: ms,
        min: ms,
        max: ms,
        sum: ms,
        pct: [ms; 9],
        std: Some(0.0),
        count: 1,
    }
}

fn entry(tag: &str, d: Dist) -> Entry {
    Entry {
        tag: tag.into(),
        header: metrics::header(tag),
        unit: "ms".into(),
        value: MetricValue::Dist(d),
    }
}
