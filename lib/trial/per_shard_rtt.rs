//! A sharded merge's network-adjusted latencies: each shard is an AIPerf run on its own host with
//! its own round trip, so each successful profiling record is shifted by its own shard's mean
//! round trip (from that shard's samples file, [`super::network_adjusted::resolve`]) as the
//! accumulator reads it. Also the tags and result shapes both adjustments share.

use std::collections::BTreeMap;

use super::{metrics, Entry, MetricValue};
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

/// A sharded merge's adjusted latencies, filled record by record as the accumulator reads them:
/// each successful profiling record shifted by its own shard's round trip.
#[derive(Debug, Clone, Default)]
pub struct PerShard {
    /// Shard index → its round trip, ns.
    rtt_ns: BTreeMap<u32, f64>,
    /// Per [`SOURCES`] entry: `max(latency − rtt, 0)`, ns, record order.
    values: [Vec<f64>; 3],
    /// The round trips applied, ns, one per adjusted record.
    applied: Vec<f64>,
}

impl PerShard {
    pub fn new(rtt_ns: BTreeMap<u32, f64>) -> PerShard {
        PerShard {
            rtt_ns,
            ..PerShard::default()
        }
    }

    /// One successful profiling record of shard `index`; `latency(tag)` is its value of a source
    /// metric in ns (`None` when absent or not in ms). A shard without a round trip is skipped.
    pub fn add(&mut self, index: u32, latency: impl Fn(&str) -> Option<f64>) {
        let Some(&rtt) = self.rtt_ns.get(&index) else {
            return;
        };
        self.applied.push(rtt);
        for (k, (_, source)) in SOURCES.iter().enumerate() {
            if let Some(ns) = latency(source) {
                self.values[k].push((ns - rtt).max(0.0));
            }
        }
    }

    /// `network_rtt` (the mean round trip applied) and the adjusted distributions, display ms.
    pub fn entries(&self) -> Vec<Entry> {
        if self.applied.is_empty() {
            return Vec::new();
        }
        let mean = stats::pairwise_sum(&self.applied) / self.applied.len() as f64;
        let mut out = vec![entry("network_rtt", scalar_dist(mean / 1e6))];
        for (k, (tag, _)) in SOURCES.iter().enumerate() {
            let mut ms: Vec<f64> = self.values[k].iter().map(|ns| ns / 1e6).collect();
            if let Some(d) = stats::numpy_dist(&mut ms) {
                out.push(entry(tag, d));
            }
        }
        out
    }
}

/// AIPerf's `network_rtt` result: one value in every statistic, std 0, count 1.
pub fn scalar_dist(ms: f64) -> Dist {
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

pub fn entry(tag: &str, d: Dist) -> Entry {
    Entry {
        tag: tag.into(),
        header: metrics::header(tag),
        unit: "ms".into(),
        value: MetricValue::Dist(d),
    }
}
