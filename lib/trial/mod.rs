//! trial-agg: one trial's per-request records → its summary (AIPerf's `profile_export_aiperf.json`
//! and `.csv`, or a console table), with AIPerf 0.13's exact arithmetic.
//!
//! Flow: [`accumulate`] reads records into compact columns; [`summarize()`] turns the columns into
//! a [`Summary`] (distributions, derived scalars, context); one exporter per output format
//! writes it ([`export_json`], [`export_csv`], [`export_table`]).

pub mod accumulate;
pub mod by_url;
pub mod export_csv;
pub mod export_json;
pub mod export_table;
pub mod goodput;
pub mod isl_check;
pub mod merge;
pub mod metrics;
pub mod network_adjusted;
pub mod per_shard_rtt;
pub mod run_info;
pub mod server_side;
pub mod shard_inputs;
pub mod shard_records;
pub mod summarize;
pub mod sweepline;
pub mod timeslices;

pub use summarize::summarize;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::contract::records::ErrorDetails;
use crate::io::jsonl::{self, Input};
use crate::io::outcome::Outcome;
use crate::stats::distribution::Dist;
use accumulate::Accumulator;
use goodput::Slo;
use run_info::{RunContext, WindowSource};

/// The summary's `schema_version`: AIPerf 0.13.0's (the real artifacts say "1.4").
pub const SCHEMA_VERSION: &str = "1.4";

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Json,
    Csv,
    Table,
}

/// trial-agg's typed options (the CLI parses into this; tests build it directly).
#[derive(Debug, Clone)]
pub struct Options {
    /// Record files, read in order as one trial; empty or `-` = stdin.
    pub inputs: Vec<PathBuf>,
    /// Contract B run info, or an AIPerf `profile_export_aiperf.json`; several: the shards of
    /// one benchmark, merged ([`merge`]).
    pub run_info: Vec<PathBuf>,
    /// Merge the shards present when some are missing (otherwise an error naming them).
    pub allow_missing_shards: bool,
    /// Warn when the shards' clock error bound exceeds this fraction of TTFT p50.
    pub clock_error_fraction: f64,
    pub goodput: Vec<Slo>,
    /// `None` = table when stdout is a terminal, else JSON.
    pub format: Option<Format>,
    /// Writes `profile_export_aiperf.json` and `.csv` there, atomically.
    pub output_dir: Option<PathBuf>,
    /// Live mode: re-emit the running summary at this interval while records arrive.
    pub every: Option<Duration>,
    /// Skip the sweep-line metrics (with a warning) above this many timeline events
    /// (records + inter-chunk gaps); `None` = no limit. They cost ~20 B of memory and a sort per
    /// event, far more than the exact percentiles.
    pub sweep_limit: Option<u64>,
    /// `scrape` samples of DCGM endpoints → `telemetry_data` and the CSV's GPU table.
    pub gpu_telemetry: Option<PathBuf>,
    /// `scrape` samples of the server's /metrics → `server_metrics_export.json`/`.csv` (needs
    /// `output_dir`).
    pub server_metrics: Option<PathBuf>,
    /// `--by url`: also summarise each server replica's records ([`by_url`]).
    pub by_url: bool,
    /// GPUs serving the run (`--gpu-count`): output tokens/s per GPU; default: the GPUs in
    /// `gpu_telemetry`.
    pub gpu_count: Option<u32>,
    /// Price of one GPU-hour (`--gpu-hour-price`): the cost of a million output tokens.
    pub gpu_hour_price: Option<f64>,
    /// `--slice-duration` seconds: also write AIPerf's timeslices into `output_dir`.
    pub slice_duration: Option<f64>,
    /// `--network-latency FILE`: the round-trip probe's samples (`network_adjusted_*` metrics);
    /// for a sharded merge, each shard's own, one per `run_info` in the same order.
    pub network_latency: Vec<PathBuf>,
}

/// Live snapshots recompute everything every tick; past this many timeline events they leave the
/// sweep-line metrics to the final summary.
const LIVE_SWEEP_LIMIT: u64 = 500_000;

/// Default `--sweep-limit`: ~125,000 requests of 32 streamed chunks.
pub const DEFAULT_SWEEP_LIMIT: u64 = 4_000_000;

/// A metric's value in the summary.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricValue {
    Dist(Dist),
    /// Aggregate/derived metrics: `avg` only.
    Scalar(f64),
    /// Time-weighted sweep-line metrics: avg, min, max, p50/p90/p95/p99, std.
    Sweep(sweepline::SweepStats),
}

/// One metric of the summary, in display units.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub tag: String,
    pub header: String,
    pub unit: String,
    pub value: MetricValue,
}

/// What sweepkit adds to the summary under the `sweepkit` key.
#[derive(Debug, Clone, Default)]
pub struct Provenance {
    pub records_read: u64,
    pub warmup_excluded: u64,
    pub window_source: Option<WindowSource>,
    pub window_ns: Option<(u64, u64)>,
    pub warnings: Vec<String>,
    pub additions: Vec<String>,
    /// The shards merged, when the run infos were a sharded benchmark's.
    pub shards: Option<merge::ShardsSummary>,
}

/// One trial's summary.
#[derive(Debug, Clone)]
pub struct Summary {
    /// Distributions (sorted by tag), then scalars (sorted by tag).
    pub entries: Vec<Entry>,
    pub benchmark_id: Option<String>,
    pub start_time: Option<String>,
    pub end_time: Option<String>,
    pub was_cancelled: bool,
    pub error_summary: Vec<(ErrorDetails, u64)>,
    pub run_info: Option<serde_json::Value>,
    pub input_config: Option<serde_json::Value>,
    /// From `--gpu-telemetry`.
    pub telemetry: Option<server_side::GpuTelemetry>,
    /// From `--server-metrics`.
    pub server: Option<server_side::ServerMetrics>,
    /// AIPerf's GPU energy-efficiency metrics (from `--gpu-telemetry`) and the cost per GPU (from
    /// `--gpu-count`, `--gpu-hour-price`), as unit-bearing trial metrics.
    pub efficiency: Vec<(String, crate::contract::summary::MetricStats)>,
    /// The warmup phase's metrics (AIPerf schema 1.4 `warmup_metrics`), when records had any.
    pub warmup: Option<Vec<Entry>>,
    /// `--by url`: each replica's own summary (same window), keyed by its base URL.
    pub by_url: Vec<(String, Summary)>,
    pub sweepkit: Provenance,
}

impl Summary {
    pub fn get(&self, tag: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.tag == tag)
    }
}

/// An output format writer. One small file per format.
pub trait Exporter {
    fn export(&self, summary: &Summary, out: &mut dyn Write) -> io::Result<()>;
}

/// How trial-agg ended, and the warnings its user should see (the summary's
/// `sweepkit.warnings`); `bins/trial-agg` prints them as `trial-agg: warning: …`.
#[derive(Debug)]
pub struct Report {
    pub result: anyhow::Result<Outcome>,
    pub warnings: Vec<String>,
    /// Why the result is [`Outcome::Negative`]: `all N requests failed …`, printed as
    /// `trial-agg: …` after the warnings (the line a script keeps as the run's error).
    pub verdict: Option<String>,
}

/// Runs trial-agg: read, summarize, write. Nothing goes to stderr: the warnings come back.
pub fn run(opts: Options) -> Report {
    let mut warnings = Vec::new();
    let mut verdict = None;
    let result = read_summarize_write(opts, &mut warnings, &mut verdict);
    Report {
        result,
        warnings,
        verdict,
    }
}

/// `all N requests failed (most common error: …)` when no request succeeded: a table of zeros
/// is no measurement, so trial-agg says so and exits 1 (its files are still written).
fn all_failed(acc: &Accumulator, summary: &Summary) -> Option<String> {
    if acc.successes > 0 || acc.errors == 0 {
        return None;
    }
    let common = summary
        .error_summary
        .iter()
        .max_by_key(|(_, n)| *n)
        .map(|(d, n)| {
            let code = d.code.map(|c| format!(" {c}")).unwrap_or_default();
            format!(
                " (most common error, {n} of them:{code} {}: {})",
                d.kind, d.message
            )
        })
        .unwrap_or_default();
    Some(format!("all {} requests failed{common}", acc.errors))
}

/// `--slice-duration`: a positive width, with `--output-dir` and without `--every` (the bound
/// on the number of slices needs the run's span: [`timeslices::grid`] checks it).
fn check_slice_duration(opts: &Options) -> anyhow::Result<()> {
    let Some(d) = opts.slice_duration else {
        return Ok(());
    };
    if !(d.is_finite() && d > 0.0) {
        anyhow::bail!("--slice-duration {d}: must be a positive number of seconds");
    }
    if opts.output_dir.is_none() {
        anyhow::bail!("--slice-duration needs --output-dir DIR: the timeslices are written there (profile_export_aiperf_timeslices.json/.csv)");
    }
    if opts.every.is_some() {
        anyhow::bail!("--slice-duration and --every: slice the finished run, without --every");
    }
    Ok(())
}

/// The summary on stdout, the verdict above a table; a verdict makes the outcome negative.
fn print_summary(format: Format, summary: &Summary, verdict: Option<&str>) -> anyhow::Result<Outcome> {
    let mut out = io::stdout().lock();
    if let (Some(v), Format::Table) = (verdict, format) {
        writeln!(out, "{v}\n")?;
    }
    exporter(format, false).export(summary, &mut out)?;
    out.flush()?;
    Ok(if verdict.is_some() {
        Outcome::Negative
    } else {
        Outcome::Ok
    })
}

fn read_summarize_write(
    opts: Options,
    warnings: &mut Vec<String>,
    verdict: &mut Option<String>,
) -> anyhow::Result<Outcome> {
    let (mut info, mut shards) = read_run_info(&opts, warnings)?;
    network_adjusted::resolve(
        &mut info,
        shards.as_mut(),
        (&opts.run_info, &opts.network_latency),
        warnings,
    )?;
    let format = opts.format.unwrap_or(if io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    check_slice_duration(&opts)?;
    if opts.by_url && (opts.every.is_some() || format == Format::Csv) {
        anyhow::bail!("--by url: gives a JSON or table breakdown of the final summary; drop --every and use --format json or table");
    }
    let inputs = jsonl::open_inputs(&opts.inputs)?;
    let check = shards.as_ref().map(shard_records::ShardRecords::new);
    let mut by = opts
        .by_url
        .then(|| by_url::ByUrl::new(&opts.goodput, opts.sweep_limit));
    if let Some(b) = by.as_mut() {
        b.rtt_by_shard = info.network_rtt_by_shard.clone();
    }
    // With --slice-duration the lines are kept: each slice is summarised from its own records.
    let mut lines: Vec<String> = Vec::new();
    let (mut acc, torn) = match opts.every {
        Some(every) => read_live(
            inputs,
            &opts.goodput,
            &info,
            format,
            (every, opts.sweep_limit),
            check,
        )?,
        None => read_all(inputs, &opts, &info, check, by.as_mut(), &mut lines)?,
    };
    // Before the run's summary, which sorts the columns the sweep-line metrics read in order.
    let slices = match opts.slice_duration {
        Some(d) => Some(timeslices::compute(&lines, d, &acc, &opts.goodput, &info)?),
        None => None,
    };
    drop(lines);
    let mut summary = summarize(&mut acc, &info, &opts.goodput, true, torn, opts.sweep_limit)?;
    if let Some(b) = by {
        summary.by_url = b.summaries(&info)?;
    }
    if let Some(s) = shards {
        attach_shards(&mut summary, s, opts.clock_error_fraction);
    }
    attach_server_side(&mut summary, &opts)?;
    warnings.extend(summary.sweepkit.warnings.iter().cloned());
    if let Some(dir) = &opts.output_dir {
        write_files(dir, &summary, slices.as_deref())?;
    }
    *verdict = all_failed(&acc, &summary);
    print_summary(format, &summary, verdict.as_deref())
}

/// The run context from `--run-info` (merged when there are several shards); a warning when
/// shards are missing, since the throughputs then cover only part of the run.
fn read_run_info(
    opts: &Options,
    warnings: &mut Vec<String>,
) -> anyhow::Result<(RunContext, Option<merge::ShardsSummary>)> {
    let (info, shards) = match opts.run_info.as_slice() {
        [] => (RunContext::default(), None),
        paths => merge::read(paths, opts.allow_missing_shards)?,
    };
    if let Some(s) = shards.as_ref().filter(|s| !s.missing.is_empty()) {
        warnings.push(format!(
            "merging {} of {} shards (--allow-missing-shards): missing {:?}; the throughputs cover only the shards present",
            s.merged.len(),
            s.count,
            s.missing
        ));
    }
    Ok((info, shards))
}

/// Reads every record once (no `--every`): into the accumulator, the shard check, the
/// `--by url` breakdown and, with `--slice-duration`, `lines`. Returns the torn-line warnings.
fn read_all(
    inputs: Vec<Input>,
    opts: &Options,
    info: &RunContext,
    mut check: Option<shard_records::ShardRecords>,
    mut by: Option<&mut by_url::ByUrl>,
    lines: &mut Vec<String>,
) -> anyhow::Result<(Accumulator, Vec<String>)> {
    let mut acc = Accumulator::new(&opts.goodput);
    acc.sweep_limit = opts.sweep_limit;
    if check.is_some() {
        acc.keep_shard_ids();
    }
    if let Some(rtt) = &info.network_rtt_by_shard {
        acc.adjust_per_shard(rtt.clone());
    }
    let keep = opts.slice_duration.is_some();
    let stats = jsonl::for_each_line(inputs, |loc, line| {
        acc.add_line(line)?;
        if let Some(c) = check.as_mut() {
            c.check(loc, acc.shard_ids())?;
        }
        if keep {
            lines.push(line.to_string());
        }
        by.as_mut().map_or(Ok(()), |b| b.add_line(line))
    })?;
    Ok((acc, stats.warnings()))
}

/// Puts the shards block in the summary, with a warning when the hosts' clocks may differ by
/// more than `fraction` of the p50 TTFT (or latency), which would skew the merged timings.
fn attach_shards(summary: &mut Summary, s: merge::ShardsSummary, fraction: f64) {
    let p50 = ["time_to_first_token", "request_latency"]
        .iter()
        .find_map(|t| match summary.get(t) {
            Some(Entry {
                value: MetricValue::Dist(d),
                ..
            }) => Some(d.pct[4]),
            _ => None,
        });
    summary
        .sweepkit
        .warnings
        .extend(merge::clock_warning(&s, p50, fraction));
    summary.sweepkit.shards = Some(s);
}

/// The server side over the profiling window: `--gpu-telemetry`, `--server-metrics` and the
/// efficiency figures derived from them.
fn attach_server_side(summary: &mut Summary, opts: &Options) -> anyhow::Result<()> {
    let window = summary.sweepkit.window_ns;
    if let (Some(path), Some((a, b))) = (&opts.gpu_telemetry, window) {
        let (t, warnings) = server_side::gpu_telemetry(path, a, b)?;
        summary.telemetry = Some(t);
        summary.sweepkit.warnings.extend(warnings);
    }
    if let (Some(path), Some((a, b))) = (&opts.server_metrics, window) {
        let (m, warnings) = server_side::server_metrics(path, a, b)?;
        summary.server = Some(m);
        summary.sweepkit.warnings.extend(warnings);
    }
    summary.efficiency = server_side::efficiency(summary, opts.gpu_count, opts.gpu_hour_price);
    Ok(())
}

/// `--output-dir`: the summary as AIPerf's JSON and CSV, the server metrics' exports and the
/// timeslices, each written atomically.
fn write_files(
    dir: &std::path::Path,
    summary: &Summary,
    slices: Option<&[timeslices::Slice]>,
) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("--output-dir {}: cannot create: {e}", dir.display()))?;
    crate::io::atomic::write_with(&dir.join("profile_export_aiperf.json"), |w| {
        export_json::Json { pretty: true }.export(summary, w)
    })?;
    crate::io::atomic::write_with(&dir.join("profile_export_aiperf.csv"), |w| {
        export_csv::Csv.export(summary, w)
    })?;
    if let Some(m) = &summary.server {
        m.write_exports(dir, summary.benchmark_id.as_deref().unwrap_or_default())?;
    }
    if let Some(slices) = slices {
        let config = summary.input_config.as_ref();
        crate::io::atomic::write_with(&dir.join("profile_export_aiperf_timeslices.json"), |w| {
            timeslices::write_json(slices, config, w)
        })?;
        crate::io::atomic::write_with(&dir.join("profile_export_aiperf_timeslices.csv"), |w| {
            timeslices::write_csv(slices, w)
        })?;
    }
    Ok(())
}

fn exporter(format: Format, live: bool) -> Box<dyn Exporter> {
    match format {
        Format::Json => Box::new(export_json::Json { pretty: !live }),
        Format::Csv => Box::new(export_csv::Csv),
        Format::Table => Box::new(export_table::Table),
    }
}

/// Live mode: a reader thread feeds the accumulator (checking a sharded merge's records); every
/// `every` the running summary is written to stdout (JSON: one compact line per tick), until the
/// input ends.
fn read_live(
    inputs: Vec<Input>,
    slos: &[Slo],
    info: &RunContext,
    format: Format,
    (every, sweep_limit): (Duration, Option<u64>),
    mut check: Option<shard_records::ShardRecords>,
) -> anyhow::Result<(Accumulator, Vec<String>)> {
    let mut fresh = Accumulator::new(slos);
    fresh.sweep_limit = sweep_limit;
    if check.is_some() {
        fresh.keep_shard_ids();
    }
    if let Some(rtt) = &info.network_rtt_by_shard {
        fresh.adjust_per_shard(rtt.clone());
    }
    let acc = Arc::new(Mutex::new(fresh));
    let (done_tx, done_rx) = mpsc::channel();
    let reader = {
        let acc = Arc::clone(&acc);
        std::thread::spawn(move || {
            let r = jsonl::for_each_line(inputs, |loc, line| {
                let mut a = acc.lock().unwrap();
                a.add_line(line)?;
                check.as_mut().map_or(Ok(()), |c| c.check(loc, a.shard_ids()))
            });
            let _ = done_tx.send(());
            r
        })
    };
    let mut next = Instant::now() + every;
    loop {
        match done_rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(()) | Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                next += every;
                // Copy under the lock (a memcpy), summarise outside it: the reader, and the
                // load generator writing into the pipe, never wait for the statistics.
                let mut copy = {
                    let a = acc.lock().unwrap();
                    if a.successes + a.errors == 0 {
                        continue;
                    }
                    a.clone()
                };
                let limit = Some(sweep_limit.map_or(LIVE_SWEEP_LIMIT, |l| l.min(LIVE_SWEEP_LIMIT)));
                let snapshot = summarize(&mut copy, info, slos, true, Vec::new(), limit);
                drop(copy);
                if let Ok(s) = snapshot {
                    let mut out = io::stdout().lock();
                    exporter(format, true).export(&s, &mut out)?;
                    if format != Format::Json {
                        writeln!(out)?;
                    }
                    out.flush()?;
                }
            }
        }
    }
    let stats = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the reader thread panicked"))??;
    let acc = Arc::try_unwrap(acc).map_err(|_| anyhow::anyhow!("accumulator still shared"))?;
    Ok((acc.into_inner().unwrap(), stats.warnings()))
}
