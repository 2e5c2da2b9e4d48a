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
    /// Key GPU figures as trial metrics (see `telemetry::key_figures`).
    pub figures: Vec<(String, crate::contract::summary::MetricStats)>,
    /// The samples and the window, for the energy metrics.
    lines: Vec<SampleLine>,
    window: (u64, u64),
}

/// What the server's own metrics showed over the trial window (`--server-metrics`).
#[derive(Debug, Clone)]
pub struct ServerMetrics {
    /// `telemetry::summarize` output: the summary's `server_metrics` key.
    pub metrics: Value,
    /// Key server figures as trial metrics (see `telemetry::key_figures`).
    pub figures: Vec<(String, crate::contract::summary::MetricStats)>,
    lines: Vec<SampleLine>,
    window: (u64, u64),
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
            "start_time": crate::io::clock::iso_utc(start_ns),
            "end_time": crate::io::clock::iso_utc(end_ns),
        },
        "endpoints": per_gpu,
        "error_summary": errors,
    });
    let csv_section = telemetry::gpu_csv_section(&per_gpu).replace('\n', "\r\n");
    Ok((
        GpuTelemetry {
            telemetry_data,
            csv_section,
            figures: telemetry::key_figures(&summary),
            lines,
            window: (start_ns, end_ns),
        },
        warnings,
    ))
}

/// Reads the server's samples and summarises them over `[start_ns, end_ns]`.
pub fn server_metrics(
    path: &Path,
    start_ns: u64,
    end_ns: u64,
) -> anyhow::Result<(ServerMetrics, Vec<String>)> {
    let (lines, warnings) = read("--server-metrics", path)?;
    let metrics = telemetry::summarize(&lines, start_ns, end_ns);
    let figures = telemetry::key_figures(&metrics);
    Ok((
        ServerMetrics {
            metrics,
            figures,
            lines,
            window: (start_ns, end_ns),
        },
        warnings,
    ))
}

impl ServerMetrics {
    /// Writes `server_metrics_export.json` and `.csv` into `dir` (atomically).
    pub fn write_exports(&self, dir: &Path, benchmark_id: &str) -> anyhow::Result<()> {
        let doc = telemetry::export_document(&self.lines, self.window.0, self.window.1, benchmark_id);
        crate::io::atomic::write_json(&dir.join("server_metrics_export.json"), &doc)?;
        crate::io::atomic::write(
            &dir.join("server_metrics_export.csv"),
            telemetry::export_csv(&doc["metrics"]).as_bytes(),
        )
    }
}

/// AIPerf's `nvidia_*` and `amd_*` energy-efficiency metrics of the trial (when its GPU telemetry holds energy
/// or power) and the cost metrics (output tokens/s per GPU; with a GPU-hour price, the price of a
/// million output tokens). See [`telemetry::energy`].
pub fn efficiency(
    summary: &super::Summary,
    gpu_count: Option<u32>,
    gpu_hour_price: Option<f64>,
) -> Vec<(String, crate::contract::summary::MetricStats)> {
    use telemetry::energy;
    let avg = |tag: &str| {
        summary
            .get(tag)
            .and_then(|e| super::export_json::metric_stats(&e.unit, &e.value).avg)
    };
    let concurrency = summary
        .input_config
        .as_ref()
        .and_then(|c| c["phases"].as_array())
        .and_then(|p| {
            p.iter()
                .find(|p| p["name"] == "profiling" || p["kind"] == "profiling")
        })
        .and_then(|p| p["concurrency"].as_f64());
    let figures = energy::TrialFigures {
        output_tokens: avg("total_osl"),
        input_tokens: avg("total_isl"),
        requests: avg("request_count"),
        latency_ms: avg("request_latency"),
        request_throughput: avg("request_throughput"),
        output_token_throughput: avg("output_token_throughput"),
        goodput: avg("goodput"),
        concurrency,
    };
    let mut out = Vec::new();
    let mut gpus = gpu_count.map(f64::from);
    if let Some(t) = &summary.telemetry {
        let secs = t.window.1.saturating_sub(t.window.0) as f64 / 1e9;
        out = energy::efficiency(&t.lines, t.window, secs, &figures);
        if gpus.is_none() {
            let n = t.telemetry_data["endpoints"].as_object().map(|e| {
                e.values()
                    .filter_map(|g| g["gpus"].as_object())
                    .map(|g| g.len())
                    .sum::<usize>()
            });
            gpus = n.filter(|&n| n > 0).map(|n| n as f64);
        }
    }
    if let Some(g) = gpus {
        out.extend(energy::cost(figures.output_token_throughput, g, gpu_hour_price));
    }
    out
}
