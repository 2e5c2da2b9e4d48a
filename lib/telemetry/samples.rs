//! The sample lines `scrape` streams (`server_metrics_export.jsonl`, `gpu_telemetry_export.jsonl`)
//! and trial-agg reads back: one serde type for both sides.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::io::jsonl;
use crate::telemetry::prometheus::{MetricType, Sample};

/// One JSONL line of `server_metrics_export.jsonl` / `gpu_telemetry_export.jsonl`: a sample, or a gap
/// (the scrape failed: `error` set, no metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SampleLine {
    /// The scraped URL.
    pub endpoint: String,
    /// Wall-clock epoch ns when the scrape's response arrived.
    pub timestamp_ns: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    /// The family (`_bucket`/`_sum`/`_count` samples name their histogram here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub family: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
    /// The value; `null` for NaN/±Inf (JSON has no such numbers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<f64>,
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<MetricType>,
    /// Why this scrape produced no samples (a gap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl SampleLine {
    pub fn from_sample(endpoint: &str, timestamp_ns: u64, s: Sample) -> SampleLine {
        SampleLine {
            endpoint: crate::io::redact::url(endpoint),
            timestamp_ns,
            family: (s.family != s.name).then(|| s.family.clone()),
            metric: Some(s.name),
            labels: s.labels.into_iter().collect(),
            value: s.value.is_finite().then_some(s.value),
            kind: Some(s.kind),
            error: None,
        }
    }

    pub fn gap(endpoint: &str, timestamp_ns: u64, error: String) -> SampleLine {
        SampleLine {
            endpoint: crate::io::redact::url(endpoint),
            timestamp_ns,
            metric: None,
            family: None,
            labels: BTreeMap::new(),
            value: None,
            kind: None,
            error: Some(crate::io::redact::text(&error)),
        }
    }
}

/// Reads `scrape` output (JSONL sample lines) from a file.
pub fn read_samples(path: &std::path::Path) -> anyhow::Result<(Vec<SampleLine>, jsonl::ReadStats)> {
    jsonl::read_all(vec![jsonl::Input::open(path)?])
}
