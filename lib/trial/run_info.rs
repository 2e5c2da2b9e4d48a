//! `--run-info FILE`: where the profiling window and the run's context come from. Accepts
//! loadgen's run info (Contract B, `"schema":"sweepkit.run_info/1"`, window in epoch ns) or an
//! AIPerf `profile_export_aiperf.json` (window from its ISO `start_time`/`end_time`, which carry
//! microseconds only, so throughputs reprocessed that way match AIPerf's to ~1e-7, not exactly).

use std::path::Path;

use serde_json::Value;

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
pub struct RunInfo {
    /// Profiling window, epoch ns.
    pub window: Option<(u64, u64)>,
    /// Warmup window, epoch ns (Contract B `phases.warmup`), for `warmup_metrics`.
    pub warmup_window: Option<(u64, u64)>,
    pub source: Option<WindowSource>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub benchmark_id: Option<String>,
    pub was_cancelled: Option<bool>,
    pub run_info: Option<Value>,
    pub input_config: Option<Value>,
}

pub fn read(path: &Path) -> anyhow::Result<RunInfo> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--run-info {}: cannot read: {e}", path.display()))?;
    let doc: Value = serde_json::from_str(&text)
        .map_err(|e| anyhow::anyhow!("--run-info {}: not valid JSON: {e}", path.display()))?;
    from_json(&doc).map_err(|e| anyhow::anyhow!("--run-info {}: {e}", path.display()))
}

pub fn from_json(doc: &Value) -> Result<RunInfo, String> {
    let obj = doc.as_object().ok_or("expected a JSON object")?;
    let mut info = RunInfo {
        run_info: obj.get("run_info").filter(|v| !v.is_null()).cloned(),
        input_config: obj.get("input_config").filter(|v| !v.is_null()).cloned(),
        was_cancelled: obj.get("was_cancelled").and_then(Value::as_bool),
        start_time: obj.get("start_time").and_then(Value::as_str).map(str::to_string),
        end_time: obj.get("end_time").and_then(Value::as_str).map(str::to_string),
        ..RunInfo::default()
    };
    info.benchmark_id = obj
        .get("benchmark_id")
        .or_else(|| info.run_info.as_ref().and_then(|r| r.get("benchmark_id")))
        .and_then(Value::as_str)
        .map(str::to_string);
    let schema = obj.get("schema").and_then(Value::as_str);
    if let Some(schema) = schema {
        if !schema.starts_with("sweepkit.run_info/") {
            return Err(format!("unknown schema '{schema}' (expected sweepkit.run_info/1 or an AIPerf profile_export_aiperf.json)"));
        }
        let prof = doc
            .pointer("/phases/profiling")
            .ok_or("sweepkit run info without phases.profiling")?;
        let start = prof
            .get("start_ns")
            .and_then(Value::as_u64)
            .ok_or("phases.profiling.start_ns missing or not an integer")?;
        let end = prof
            .get("end_ns")
            .and_then(Value::as_u64)
            .ok_or("phases.profiling.end_ns missing or not an integer")?;
        if end <= start {
            return Err(format!(
                "phases.profiling: end_ns {end} is not after start_ns {start}"
            ));
        }
        info.window = Some((start, end));
        if let Some(w) = doc.pointer("/phases/warmup") {
            if let (Some(a), Some(b)) = (
                w.get("start_ns").and_then(Value::as_u64),
                w.get("end_ns").and_then(Value::as_u64),
            ) {
                info.warmup_window = (b > a).then_some((a, b));
            }
        }
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
        let i = from_json(&doc).unwrap();
        assert_eq!(i.window, Some((1_000_000_000, 3_500_000_000)));
        assert_eq!(i.source, Some(WindowSource::RunInfo));
        assert_eq!(i.warmup_window, Some((500_000_000, 900_000_000)));
        assert_eq!(i.benchmark_id.as_deref(), Some("ab"));
        assert_eq!(i.start_time.as_deref(), Some("1970-01-01T00:00:01.000000"));
    }

    #[test]
    fn aiperf_summary_window_in_us() {
        let doc = serde_json::json!({"start_time":"2026-11-27T23:17:22.373520","end_time":"2026-11-27T23:17:27.296743"});
        let (a, b) = from_json(&doc).unwrap().window.unwrap();
        assert_eq!(b - a, 4_923_223_000);
    }

    #[test]
    fn other_documents_are_rejected() {
        assert!(from_json(&serde_json::json!({"x":1}))
            .unwrap_err()
            .contains("neither a sweepkit run info"));
        assert!(from_json(&serde_json::json!({"schema":"nope"}))
            .unwrap_err()
            .contains("unknown schema"));
    }
}
