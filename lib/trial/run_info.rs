//! `--run-info FILE`: where the profiling window and the run's context come from. Accepts
//! loadgen's run info ([`crate::contract::run_info`], window in epoch ns) or an
//! AIPerf `profile_export_aiperf.json` (window from its ISO `start_time`/`end_time`, which carry
//! microseconds only, so throughputs reprocessed that way match AIPerf's to ~1e-7, not exactly).

use std::path::Path;

use serde_json::Value;

use crate::contract::run_info::{AnyRunInfo, SCHEMA, SCHEMA_PREFIX};
use crate::io::clock;

/// Where the throughput window came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WindowSource {
    /// Contract B: `phases.profiling.start_ns/end_ns`.
    RunInfo,
    /// An AIPerf summary's `start_time`/`end_time` (µs resolution).
    AiperfSummary,
    /// No run info: first request start → last response end (AIPerf's `benchmark_duration`).
    Records,
}

impl WindowSource {
    pub fn as_str(self) -> &'static str {
        match self {
            WindowSource::RunInfo => "run_info",
            WindowSource::AiperfSummary => "aiperf_summary",
            WindowSource::Records => "records",
        }
    }
}

/// What trial-agg takes from a run info file.
#[derive(Debug, Clone, Default)]
pub struct RunContext {
    /// Profiling window, epoch ns.
    pub window: Option<(u64, u64)>,
    /// Warmup window, epoch ns (Contract B `phases.warmup`), for `warmup_metrics`.
    pub warmup_window: Option<(u64, u64)>,
    pub source: Option<WindowSource>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub benchmark_id: Option<String>,
    pub was_cancelled: Option<bool>,
    /// Copied verbatim into the summary, whatever its shape (loadgen's or AIPerf's).
    pub run_info: Option<Value>,
    pub input_config: Option<Value>,
    /// The round trip subtracted for the `network_adjusted_*` metrics, ns (set by trial-agg from
    /// the run info and `--network-latency`; [`super::network_adjusted`]).
    pub network_rtt_ns: Option<f64>,
    /// A sharded merge's round trips instead, ns by shard index: each shard's subtracted from its
    /// own records ([`super::per_shard_rtt::PerShard`]).
    pub network_rtt_by_shard: Option<std::collections::BTreeMap<u32, f64>>,
}

impl RunContext {
    /// The profiling phase replayed a trace on its timestamps (`input_config.phases[]` of type
    /// `fixed_schedule`): AIPerf's schedule-fidelity metrics apply.
    pub fn fixed_schedule(&self) -> bool {
        self.input_config
            .as_ref()
            .and_then(|c| c.get("phases"))
            .and_then(Value::as_array)
            .is_some_and(|ps| {
                ps.iter().any(|p| {
                    p.get("name").and_then(Value::as_str) == Some("profiling")
                        && p.get("type").and_then(Value::as_str) == Some("fixed_schedule")
                })
            })
    }
}

pub fn read(path: &Path) -> anyhow::Result<RunContext> {
    let text = crate::io::capped::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--run-info {}: cannot read: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("--run-info {}: not valid JSON: {e}", path.display()))?;
    from_json(doc).map_err(|e| anyhow::anyhow!("--run-info {}: {e}", path.display()))
}

pub fn from_json(doc: Value) -> Result<RunContext, String> {
    let doc = AnyRunInfo::from_json(doc)?;
    let mut info = RunContext {
        benchmark_id: doc.benchmark_id().map(str::to_string),
        was_cancelled: doc.was_cancelled,
        start_time: doc.start_time,
        end_time: doc.end_time,
        run_info: doc.run_info,
        input_config: doc.input_config,
        ..RunContext::default()
    };
    if let Some(schema) = &doc.schema {
        if !schema.starts_with(SCHEMA_PREFIX) {
            return Err(format!(
                "unknown schema '{schema}' (expected {SCHEMA} or an AIPerf profile_export_aiperf.json)"
            ));
        }
        let phases = doc.phases.unwrap_or_default();
        let prof = phases
            .profiling
            .ok_or("sweepkit run info without phases.profiling")?;
        let (start, end) = (prof.start_ns, prof.end_ns);
        if end <= start {
            return Err(format!(
                "phases.profiling: end_ns {end} is not after start_ns {start}"
            ));
        }
        info.window = Some((start, end));
        info.warmup_window = phases
            .warmup
            .filter(|w| w.end_ns > w.start_ns)
            .map(|w| (w.start_ns, w.end_ns));
        info.source = Some(WindowSource::RunInfo);
        info.start_time.get_or_insert_with(|| clock::iso_utc(start));
        info.end_time.get_or_insert_with(|| clock::iso_utc(end));
        return Ok(info);
    }
    match (&info.start_time, &info.end_time) {
        (Some(s), Some(e)) => {
            let a = clock::parse_iso_utc(s).ok_or_else(|| format!("start_time '{s}' is not an ISO time"))?;
            let b = clock::parse_iso_utc(e).ok_or_else(|| format!("end_time '{e}' is not an ISO time"))?;
            if b <= a {
                return Err(format!("end_time '{e}' is not after start_time '{s}'"));
            }
            info.window = Some((a, b));
            info.source = Some(WindowSource::AiperfSummary);
            Ok(info)
        }
        _ => Err("neither a sweepkit run info (\"schema\":\"sweepkit.run_info/1\") nor an AIPerf profile_export_aiperf.json (start_time/end_time)".into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contract_b_window_in_ns() {
        let doc = serde_json::json!({"schema":"sweepkit.run_info/1","run_info":{"benchmark_id":"ab","trial":1},
            "input_config":{"endpoint":{"type":"chat"}},
            "phases":{"warmup":{"start_ns":500_000_000u64,"end_ns":900_000_000u64,"requests":2},
                      "profiling":{"start_ns":1_000_000_000u64,"end_ns":3_500_000_000u64,"requests":10}}});
        let i = from_json(doc).unwrap();
        assert_eq!(i.window, Some((1_000_000_000, 3_500_000_000)));
        assert_eq!(i.source, Some(WindowSource::RunInfo));
        assert_eq!(i.warmup_window, Some((500_000_000, 900_000_000)));
        assert_eq!(i.benchmark_id.as_deref(), Some("ab"));
        assert_eq!(i.start_time.as_deref(), Some("1970-01-01T00:00:01.000000"));
    }

    #[test]
    fn reads_what_loadgen_writes() {
        let text = include_str!("../../tests/fixtures/run_info/sweep_run_at_a_rate.json");
        let doc: Value = serde_json::from_str(text).unwrap();
        let i = from_json(doc.clone()).unwrap();
        assert_eq!(
            i.window,
            Some((1_700_000_000_250_000_123, 1_700_000_010_250_000_456))
        );
        assert_eq!(
            i.warmup_window,
            Some((1_700_000_000_000_000_000, 1_700_000_000_250_000_000))
        );
        assert_eq!(i.benchmark_id.as_deref(), Some("00c0ffee00c0ffee"));
        assert_eq!(i.was_cancelled, Some(false));
        assert_eq!(i.start_time.as_deref(), Some("2023-11-14T22:13:20.250000"));
        assert_eq!(i.run_info.as_ref(), Some(&doc["run_info"]));
        assert_eq!(i.input_config.as_ref(), Some(&doc["input_config"]));
    }

    #[test]
    fn aiperf_summary_window_in_us() {
        let doc = serde_json::json!({"start_time":"2026-11-27T23:17:22.373520","end_time":"2026-11-27T23:17:27.296743"});
        let (a, b) = from_json(doc).unwrap().window.unwrap();
        assert_eq!(b - a, 4_923_223_000);
    }

    #[test]
    fn other_documents_are_rejected() {
        assert!(from_json(serde_json::json!({"x":1}))
            .unwrap_err()
            .contains("neither a sweepkit run info"));
        assert!(from_json(serde_json::json!({"schema":"nope"}))
            .unwrap_err()
            .contains("unknown schema"));
    }
}
