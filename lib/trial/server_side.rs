//! What the server side saw during the trial, from `scrape`'s JSONL samples (see
//! [`crate::telemetry`]): `--gpu-telemetry FILE` (DCGM samples) becomes the summary's
//! `telemetry_data` and the GPU table of the CSV; `--server-metrics FILE` (vLLM/SGLang/... samples)
//! becomes `server_metrics_export.json`/`.csv` next to the summary. Both are summarised over the
//! same profiling window as the throughputs.

use std::path::Path;

use serde_json::{json, Value};

use crate::telemetry::{self, SampleLine};

/// `telemetry_data` as AIPerf writes it, plus the CSV section, for one trial window.
#[derive(Debug, Clone)]
pub struct GpuTelemetry {
    pub telemetry_data: Value,
    /// AIPerf's GPU table (header and one row per GPU metric), CRLF line ends.
    pub csv_section: String,
}

fn read(flag: &str, path: &Path) -> anyhow::Result<(Vec<SampleLine>, Vec<String>)> {
    let (lines, stats) = telemetry::read_samples(path).map_err(|e| anyhow::anyhow!("{flag}: {e:#}"))?;
    Ok((lines, stats.warnings()))
}

fn endpoints(lines: &[SampleLine], ok_only: bool) -> Vec<String> {
    let mut v: Vec<String> = lines
        .iter()
        .filter(|l| !ok_only || l.error.is_none())
        .map(|l| l.endpoint.clone())
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Reads DCGM samples and summarises them per GPU over `[start_ns, end_ns]`.
pub fn gpu_telemetry(path: &Path, start_ns: u64, end_ns: u64) -> anyhow::Result<(GpuTelemetry, Vec<String>)> {
    let (lines, warnings) = read("--gpu-telemetry", path)?;
    let summary = telemetry::summarize(&lines, start_ns, end_ns);
    let per_gpu = telemetry::per_gpu(&summary);
    let errors: Vec<Value> = lines
        .iter()
        .filter_map(|l| {
            l.error
                .as_ref()
                .map(|e| json!({"endpoint": l.endpoint, "timestamp_ns": l.timestamp_ns, "error": e}))
        })
        .collect();
    let telemetry_data = json!({
        "summary": {
            "endpoints_configured": endpoints(&lines, false),
            "endpoints_successful": endpoints(&lines, true),
            "start_time": crate::clock::iso_utc(start_ns),
            "end_time": crate::clock::iso_utc(end_ns),
        },
        "endpoints": per_gpu,
        "error_summary": errors,
    });
    let csv_section = telemetry::gpu_csv_section(&per_gpu).replace('\n', "\r\n");
    Ok((
        GpuTelemetry {
            telemetry_data,
            csv_section,
        },
        warnings,
    ))
}

/// Writes `server_metrics_export.json` and `.csv` into `dir` (atomically) from scraped samples.
pub fn write_server_metrics(
    path: &Path,
    dir: &Path,
    start_ns: u64,
    end_ns: u64,
    benchmark_id: &str,
) -> anyhow::Result<Vec<String>> {
    let (lines, warnings) = read("--server-metrics", path)?;
    let doc = telemetry::export_document(&lines, start_ns, end_ns, benchmark_id);
    crate::atomic::write_json(&dir.join("server_metrics_export.json"), &doc)?;
    crate::atomic::write(
        &dir.join("server_metrics_export.csv"),
        telemetry::export_csv(&doc["metrics"]).as_bytes(),
    )?;
    Ok(warnings)
}
