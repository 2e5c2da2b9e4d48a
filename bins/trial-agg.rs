//! trial-agg: per-request records (loadgen's or AIPerf's `profile_export.jsonl`) → one trial's
//! metrics, as AIPerf's `profile_export_aiperf.json`/`.csv` or a console table.

#[path = "shared/mod.rs"]
mod shared;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use sweepkit::io::outcome::Outcome;
use sweepkit::trial::{self, goodput, Format};

const EXAMPLES: &str = "EXAMPLES:
  # Summarize a trial; writes profile_export_aiperf.json and .csv atomically
  trial-agg --run-info run_info.json --output-dir artifacts/c8 records.jsonl

  # Live view while the load runs
  loadgen --concurrency 8 --request-count 2000 | tee records.jsonl | trial-agg --every 2s

  # Reprocess an AIPerf run (its summary supplies the profiling window)
  trial-agg \\
      --run-info artifacts/run/profile_export_aiperf.json artifacts/run/profile_export.jsonl

  # Goodput against SLOs (display units; throughput-like metrics use >=)
  trial-agg --goodput \"time_to_first_token:100 inter_token_latency:10\" \\
      --format csv records.jsonl

  # Timeslices: the run cut into 10 s slices, each summarised
  trial-agg --slice-duration 10 --output-dir artifacts/c8 records.jsonl

  # Several load-generator processes, one trial
  trial-agg --format table worker-1.jsonl worker-2.jsonl

  # The four shards of one benchmark (loadgen --shard I/4), merged into one trial
  trial-agg --run-info run_info_1.json --run-info run_info_2.json --run-info run_info_3.json \\
      --run-info run_info_4.json --output-dir merged shard_*.jsonl

  # Their inputs.json files, joined into the run folder's (AIPerf's layout)
  trial-agg --merge-inputs run/inputs.json shard_1/inputs.json shard_2/inputs.json";

#[derive(Clone, Copy, ValueEnum)]
enum FormatArg {
    /// AIPerf's profile_export_aiperf.json shape
    Json,
    /// AIPerf's profile_export_aiperf.csv layout
    Csv,
    /// Aligned console summary
    Table,
}

/// Aggregate one trial's per-request records into AIPerf-compatible metrics.
#[derive(Parser)]
#[command(name = "trial-agg", version, about = "Aggregate one trial's per-request records into AIPerf-compatible metrics", after_help = EXAMPLES)]
struct Cli {
    /// Record files (JSONL, loadgen's or AIPerf's profile_export.jsonl), merged as one trial; none or '-' reads stdin. With --merge-inputs: the shards' inputs.json files, in shard order
    #[arg(value_name = "RECORDS")]
    inputs: Vec<PathBuf>,

    /// loadgen's --run-info-out file (profiling window, run_info, input_config) or an AIPerf profile_export_aiperf.json. Repeat it for the shards of one benchmark (loadgen --shard I/N): they are merged into one trial whose window is the union of theirs
    #[arg(long, value_name = "FILE")]
    run_info: Vec<PathBuf>,

    /// Instead of a summary: join the shards' inputs.json files (the FILE arguments, in shard order; loadgen --shard's --inputs-out) into OUT, AIPerf's {"data":[…]} with every entry, written atomically; a session_id in two files is refused
    #[arg(long, value_name = "OUT", conflicts_with_all = ["run_info", "allow_missing_shards", "goodput", "format", "output_dir", "every", "gpu_telemetry", "server_metrics", "by", "slice_duration", "network_latency"])]
    merge_inputs: Option<PathBuf>,

    /// Merge the shards given even when some of the benchmark's shards are missing (otherwise an error naming them)
    #[arg(long)]
    allow_missing_shards: bool,

    /// Warn when the shards' cross-host clock error bound exceeds this fraction of TTFT p50
    #[arg(long, value_name = "FRACTION", default_value_t = 0.05)]
    clock_error_fraction: f64,

    /// Per-request SLOs "tag:value ..." in display units (ms, tokens/sec/user); adds goodput and good_request_fraction
    #[arg(long, value_name = "SLOS")]
    goodput: Option<String>,

    /// Output format on stdout [default: table on a terminal, else json]
    #[arg(long, value_enum)]
    format: Option<FormatArg>,

    /// Also write profile_export_aiperf.json and profile_export_aiperf.csv into DIR (atomically)
    #[arg(long, value_name = "DIR")]
    output_dir: Option<PathBuf>,

    /// Live mode: re-emit the running summary every DURATION (e.g. 2s, 500ms) while records arrive
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    every: Option<Duration>,

    /// Compute AIPerf's sweep-line metrics (effective_*, active_*, tokens_in_flight) only up to N timeline events (records + inter-chunk gaps); 0 = no limit
    #[arg(long, value_name = "N", default_value_t = trial::DEFAULT_SWEEP_LIMIT)]
    sweep_limit: u64,

    /// scrape's JSONL samples of DCGM endpoints: adds telemetry_data and the CSV's GPU table (over the profiling window)
    #[arg(long, value_name = "FILE")]
    gpu_telemetry: Option<PathBuf>,

    /// GPUs serving the run: adds output_token_throughput_per_gpu (tokens/sec/gpu) [default: the GPUs in --gpu-telemetry]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    gpu_count: Option<u32>,

    /// Price of one GPU-hour (any currency): adds cost_per_million_output_tokens (GPUs × price / output tokens per hour × 10^6)
    #[arg(long, value_name = "PRICE", value_parser = positive_price)]
    gpu_hour_price: Option<f64>,

    /// scrape's JSONL samples of the server's /metrics: server_metrics and key figures in the summary (and server_metrics_export.json/.csv with --output-dir)
    #[arg(long, value_name = "FILE")]
    server_metrics: Option<PathBuf>,

    /// Also break the summary down per server replica (records of a loadgen run given several --url carry metadata.url): a by_url object in JSON, one table per replica
    #[arg(long, value_name = "KEY", value_parser = ["url"])]
    by: Option<String>,

    /// loadgen's (or AIPerf's) profile_export_network_latency.jsonl: subtract the mean of its successful round-trip probes from TTFT, TTFO and request latency as network_adjusted_* metrics, with network_rtt (a --network-latency-mean in the run info wins). For the shards of one benchmark give each shard's own file, one per --run-info in the same order: each shard's records are adjusted by its own round trip
    #[arg(long, value_name = "FILE")]
    network_latency: Vec<PathBuf>,

    /// Also write AIPerf's timeslices (profile_export_aiperf_timeslices.json/.csv) into --output-dir: the run cut into slices of SECONDS by request start, each summarised
    #[arg(long, value_name = "SECONDS", value_parser = positive_seconds, allow_negative_numbers = true)]
    slice_duration: Option<f64>,
}

fn positive_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        Ok(_) => Err(format!("'{s}' must be a positive number of seconds (e.g. 0.5)")),
        Err(_) => Err(format!("'{s}' is not a number of seconds (e.g. 0.5)")),
    }
}

fn positive_price(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("'{s}' is not a positive price per GPU-hour (e.g. 2.5)")),
    }
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let (num, scale) = if let Some(v) = s.strip_suffix("ms") {
        (v, 1e-3)
    } else if let Some(v) = s.strip_suffix('s') {
        (v, 1.0)
    } else if let Some(v) = s.strip_suffix('m') {
        (v, 60.0)
    } else {
        (s, 1.0)
    };
    let v: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("'{s}' is not a duration (e.g. 2s, 500ms, 1m)"))?;
    if !(v * scale > 0.0 && (v * scale).is_finite()) {
        return Err(format!("'{s}' must be a positive duration (e.g. 2s)"));
    }
    Ok(Duration::from_secs_f64(v * scale))
}

fn main() -> ExitCode {
    shared::main::<Cli>("trial-agg", |cli| {
        if let Some(out) = &cli.merge_inputs {
            trial::shard_inputs::merge(&cli.inputs, out)?;
            return Ok(Outcome::Ok);
        }
        let goodput = match &cli.goodput {
            Some(spec) => goodput::parse(spec).map_err(anyhow::Error::msg)?,
            None => Vec::new(),
        };
        let report = trial::run(trial::Options {
            inputs: cli.inputs,
            run_info: cli.run_info,
            allow_missing_shards: cli.allow_missing_shards,
            clock_error_fraction: cli.clock_error_fraction,
            goodput,
            format: cli.format.map(|f| match f {
                FormatArg::Json => Format::Json,
                FormatArg::Csv => Format::Csv,
                FormatArg::Table => Format::Table,
            }),
            output_dir: cli.output_dir,
            every: cli.every,
            sweep_limit: (cli.sweep_limit > 0).then_some(cli.sweep_limit),
            gpu_telemetry: cli.gpu_telemetry,
            server_metrics: cli.server_metrics,
            gpu_count: cli.gpu_count,
            gpu_hour_price: cli.gpu_hour_price,
            by_url: cli.by.is_some(),
            slice_duration: cli.slice_duration,
            network_latency: cli.network_latency,
        });
        for w in &report.warnings {
            eprintln!("trial-agg: warning: {w}");
        }
        if let Some(v) = &report.verdict {
            eprintln!("trial-agg: {v}");
        }
        report.result
    })
}
