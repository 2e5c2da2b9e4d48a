//! trial-agg: one trial's per-request records → its summary (AIPerf's `profile_export_aiperf.json`
//! and `.csv`, or a console table), with AIPerf 0.13's exact arithmetic.
//!
//! Flow: [`accumulate`] reads records into compact columns; [`summarize`] turns the columns into
//! a [`Summary`] (distributions, derived scalars, context); one exporter per output format
//! writes it ([`export_json`], [`export_csv`], [`export_table`]).

pub mod accumulate;
pub mod export_csv;
pub mod export_json;
pub mod export_table;
pub mod goodput;
pub mod metrics;
pub mod run_info;
pub mod server_side;
pub mod sweepline;

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::{mpsc, Arc, Mutex};
use std::time::{Duration, Instant};

use crate::contract::records::ErrorDetails;
use crate::io::clock;
use crate::io::jsonl::{self, Input};
use crate::io::outcome::Outcome;
use crate::stats::distribution::{self as stats, Dist};
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
    /// Contract B run info, or an AIPerf `profile_export_aiperf.json`.
    pub run_info: Option<PathBuf>,
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
    /// The warmup phase's metrics (AIPerf schema 1.4 `warmup_metrics`), when records had any.
    pub warmup: Option<Vec<Entry>>,
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

/// Runs trial-agg: read, summarize, write. Warnings go to stderr.
pub fn run(opts: Options) -> anyhow::Result<Outcome> {
    let info = match &opts.run_info {
        Some(p) => run_info::read(p)?,
        None => RunContext::default(),
    };
    let format = opts.format.unwrap_or(if io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    });
    let inputs = jsonl::open_inputs(&opts.inputs)?;
    let (mut acc, torn) = match opts.every {
        Some(every) => read_live(inputs, &opts.goodput, &info, format, every, opts.sweep_limit)?,
        None => {
            let mut acc = Accumulator::new(&opts.goodput);
            acc.sweep_limit = opts.sweep_limit;
            let stats = jsonl::for_each_line(inputs, |_, line| acc.add_line(line))?;
            (acc, stats.warnings())
        }
    };
    let mut summary = summarize(&mut acc, &info, &opts.goodput, true, torn, opts.sweep_limit)?;
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
    for w in &summary.sweepkit.warnings {
        eprintln!("trial-agg: warning: {w}");
    }
    if let Some(dir) = &opts.output_dir {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("--output-dir {}: cannot create: {e}", dir.display()))?;
        crate::io::atomic::write_with(&dir.join("profile_export_aiperf.json"), |w| {
            export_json::Json { pretty: true }.export(&summary, w)
        })?;
        crate::io::atomic::write_with(&dir.join("profile_export_aiperf.csv"), |w| {
            export_csv::Csv.export(&summary, w)
        })?;
        if let Some(m) = &summary.server {
            m.write_exports(dir, summary.benchmark_id.as_deref().unwrap_or_default())?;
        }
    }
    let mut out = io::stdout().lock();
    exporter(format, false).export(&summary, &mut out)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

fn exporter(format: Format, live: bool) -> Box<dyn Exporter> {
    match format {
        Format::Json => Box::new(export_json::Json { pretty: !live }),
        Format::Csv => Box::new(export_csv::Csv),
        Format::Table => Box::new(export_table::Table),
    }
}

/// Live mode: a reader thread feeds the accumulator; every `every` the running summary is
/// written to stdout (JSON: one compact line per tick), until the input ends.
fn read_live(
    inputs: Vec<Input>,
    slos: &[Slo],
    info: &RunContext,
    format: Format,
    every: Duration,
    sweep_limit: Option<u64>,
) -> anyhow::Result<(Accumulator, Vec<String>)> {
    let mut fresh = Accumulator::new(slos);
    fresh.sweep_limit = sweep_limit;
    let acc = Arc::new(Mutex::new(fresh));
    let (done_tx, done_rx) = mpsc::channel();
    let reader = {
        let acc = Arc::clone(&acc);
        std::thread::spawn(move || {
            let r = jsonl::for_each_line(inputs, |_, line| acc.lock().unwrap().add_line(line));
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

/// Turns the accumulated columns into the trial's summary. With `consume`, columns are sorted in
/// place (the final summary); otherwise they are copied (live snapshots keep record order).
pub fn summarize(
    acc: &mut Accumulator,
    info: &RunContext,
    slos: &[Slo],
    consume: bool,
    mut warnings: Vec<String>,
    sweep_limit: Option<u64>,
) -> anyhow::Result<Summary> {
    if acc.successes + acc.errors == 0 {
        if acc.warmup_excluded > 0 {
            anyhow::bail!(
                "no profiling records: all {} records are warmup (benchmark_phase \"warmup\" is excluded from metrics)",
                acc.warmup_excluded
            );
        }
        anyhow::bail!("no records to aggregate: the input is empty (give record files, or pipe loadgen's records on stdin)");
    }
    for slo in slos {
        if acc.columns.get(&slo.tag).is_none_or(|c| c.list.is_none()) {
            anyhow::bail!(
                "--goodput: no record carries metric '{}' (check the tag, e.g. time_to_first_token)",
                slo.tag
            );
        }
    }

    let mut dists: Vec<Entry> = Vec::new();
    // Sweep-line metrics first: they need the pooled ICL column in record order.
    {
        let icl: &[f64] = match acc.columns.get("inter_chunk_latency") {
            Some(c) if c.list == Some(true) && c.unit == "ms" => &c.values,
            _ => &[],
        };
        let events = acc.successes + acc.errors + icl.len() as u64;
        match sweep_limit {
            Some(limit) if events > limit || acc.timeline_dropped => warnings.push(format!(
                "sweep-line metrics (effective_*, active_*, tokens_in_flight) skipped: {events} timeline events exceed --sweep-limit {limit} (pass --sweep-limit 0 to compute them; they cost about 1 µs and 120 B per event)"
            )),
            _ => {
                for (tag, header, unit, st) in sweepline::metrics(&acc.timeline, icl, info.window) {
                    dists.push(Entry { tag: tag.into(), header: header.into(), unit: unit.into(), value: MetricValue::Sweep(st) });
                }
            }
        }
    }
    let mut sums: Vec<(String, f64)> = Vec::new();
    // One column's distribution (and its adj_ companion); the biggest column (usually the pooled
    // inter_chunk_latency) is sorted on a second thread while the others are done here.
    let errors = acc.errors;
    let column_entries = |col: &mut accumulate::Column| -> Vec<(Entry, Option<f64>)> {
        let mut copy;
        let values: &mut [f64] = if consume {
            &mut col.values
        } else {
            copy = col.values.clone();
            &mut copy
        };
        let Some(dist) = stats::aiperf_dist(values) else {
            return Vec::new();
        };
        let factor = if col.unit == "ms" { metrics::NS_TO_MS } else { 1.0 };
        let mut out = Vec::new();
        if errors > 0 && metrics::adjusted(&col.tag) && col.list == Some(false) {
            let adj = stats::adjusted_dist(values, errors).scaled(factor);
            let tag = format!("adj_{}", col.tag);
            out.push((
                Entry {
                    header: metrics::header(&tag),
                    tag,
                    unit: col.unit.clone(),
                    value: MetricValue::Dist(adj),
                },
                None,
            ));
        }
        out.push((
            Entry {
                tag: col.tag.clone(),
                header: metrics::header(&col.tag),
                unit: col.unit.clone(),
                value: MetricValue::Dist(dist.scaled(factor)),
            },
            Some(dist.sum),
        ));
        if consume {
            col.values = Vec::new();
        }
        out
    };
    let mut cols: Vec<&mut accumulate::Column> = acc
        .columns
        .cols
        .iter_mut()
        .filter(|c| !c.values.is_empty())
        .collect();
    cols.sort_by_key(|c| std::cmp::Reverse(c.values.len()));
    let mut results: Vec<(Entry, Option<f64>)> = Vec::new();
    if let Some((big, rest)) = cols.split_first_mut() {
        std::thread::scope(|scope| {
            let handle = scope.spawn(|| column_entries(big));
            for col in rest.iter_mut() {
                results.extend(column_entries(col));
            }
            results.extend(handle.join().expect("column statistics thread"));
        });
    }
    for (entry, sum) in results {
        if let Some(sum) = sum {
            sums.push((entry.tag.clone(), sum));
        }
        dists.push(entry);
    }
    let sum_of = |tag: &str| sums.iter().find(|(t, _)| t == tag).map(|(_, s)| *s);

    // Timestamp-derived latencies, as AIPerf's derived_latency.py: max(delta, 0) / 1e6, numpy stats.
    for (tag, deltas) in [
        ("credit_to_start_latency", &acc.credit_to_start_ns),
        ("effective_latency", &acc.effective_ns),
    ] {
        let mut ms: Vec<f64> = deltas.iter().map(|&d| d.max(0.0) / 1_000_000.0).collect();
        if let Some(d) = stats::numpy_dist(&mut ms) {
            dists.push(Entry {
                tag: tag.into(),
                header: metrics::header(tag),
                unit: "ms".into(),
                value: MetricValue::Dist(d),
            });
        }
    }
    // Coordinated-omission view (sweepkit additions).
    let mut additions = Vec::new();
    for (tag, ns) in [
        ("dispatch_lag", &acc.dispatch_lag_ns),
        ("scheduled_time_to_first_token", &acc.sched_ttft_ns),
        ("scheduled_request_latency", &acc.sched_latency_ns),
    ] {
        let mut v = ns.clone();
        if let Some(d) = stats::aiperf_dist(&mut v) {
            additions.push(tag.to_string());
            dists.push(Entry {
                tag: tag.into(),
                header: metrics::header(tag),
                unit: "ms".into(),
                value: MetricValue::Dist(d.scaled(metrics::NS_TO_MS)),
            });
        }
    }
    dists.sort_by(|a, b| a.tag.cmp(&b.tag));

    // Aggregates and derived scalars.
    let mut scalars: Vec<(&str, f64)> = Vec::new();
    let (successes, errors) = (acc.successes as f64, acc.errors as f64);
    scalars.push(("request_count", successes));
    if acc.errors > 0 {
        scalars.push(("error_request_count", errors));
    }
    scalars.push(("completed_request_count", successes + errors));
    scalars.push(("request_error_rate", 100.0 * errors / (successes + errors)));
    let span = if acc.successes > 0 {
        (acc.min_start_ns, acc.max_end_ns)
    } else {
        (acc.min_start_all_ns, acc.max_end_all_ns)
    };
    let duration_ns = match span {
        // AIPerf keeps epoch ns in float64 columns and subtracts those.
        (Some(a), Some(b)) if b > a => Some(b as f64 - a as f64),
        _ => None,
    };
    if let Some(ns) = duration_ns {
        scalars.push(("benchmark_duration", ns * metrics::NS_TO_SEC));
    } else {
        warnings.push(
            "benchmark_duration: records lack request_start_ns/request_end_ns; no duration or throughputs"
                .into(),
        );
    }
    let window_s = match info.window {
        Some((a, b)) => Some((b - a) as f64 * metrics::NS_TO_SEC),
        None => duration_ns.map(|ns| ns * metrics::NS_TO_SEC),
    };
    let total_isl = sum_of("input_sequence_length");
    let total_osl = sum_of("output_sequence_length");
    if let Some(d) = window_s.filter(|d| *d > 0.0) {
        scalars.push(("request_throughput", successes / d));
        if let Some(osl) = total_osl {
            scalars.push(("output_token_throughput", osl / d));
        }
        if let Some(isl) = total_isl {
            scalars.push(("input_token_throughput", isl / d));
        }
        if let (Some(isl), Some(osl)) = (total_isl, total_osl) {
            scalars.push(("total_token_throughput", (isl + osl) / d));
        }
        if !slos.is_empty() {
            scalars.push(("goodput", acc.good as f64 / d));
        }
    }
    if !slos.is_empty() {
        scalars.push(("good_request_count", acc.good as f64));
        let attempted = successes + errors;
        scalars.push((
            "good_request_fraction",
            if attempted == 0.0 {
                0.0
            } else {
                acc.good as f64 / attempted
            },
        ));
    }
    let mut totals: Vec<(String, f64)> = Vec::new();
    for (tag, total) in [
        ("total_isl", total_isl),
        ("total_osl", total_osl),
        ("total_output_tokens", sum_of("output_token_count")),
        ("total_reasoning_tokens", sum_of("reasoning_token_count")),
        ("total_error_isl", sum_of("error_isl")),
    ] {
        if let Some(t) = total {
            totals.push((tag.to_string(), t));
        }
    }
    for (tag, s) in &sums {
        if tag.starts_with("usage_") && !tag.ends_with("_diff_pct") {
            totals.push((format!("total_{tag}"), *s));
        }
    }
    if let Some(n) = acc.osl_mismatch {
        scalars.push(("osl_mismatch_count", n as f64));
    }
    if let Some(n) = acc.usage_discrepancy {
        scalars.push(("usage_discrepancy_count", n as f64));
    }
    let mut scalar_entries: Vec<Entry> = scalars
        .into_iter()
        .map(|(t, v)| (t.to_string(), v))
        .chain(totals)
        .map(|(tag, v)| Entry {
            header: metrics::header(&tag),
            unit: scalar_unit(&tag, &acc.columns).to_string(),
            tag,
            value: MetricValue::Scalar(v),
        })
        .collect();
    scalar_entries.sort_by(|a, b| a.tag.cmp(&b.tag));

    // Warnings about what could not be used.
    let profiling = acc.successes + acc.errors;
    if acc.missing_latency > 0 {
        warnings.push(format!(
            "{} of {} successful records have no request_latency; skipped for that metric",
            acc.missing_latency, acc.successes
        ));
    }
    if acc.missing_timestamps > 0 {
        warnings.push(format!(
            "{} of {profiling} records lack request_start_ns/request_end_ns; skipped for benchmark_duration and timestamp metrics",
            acc.missing_timestamps
        ));
    }
    if acc.with_credit > 0 && acc.with_credit < profiling {
        warnings.push(format!(
            "{} of {profiling} records lack metadata.credit_issued_ns; skipped for credit_to_start_latency/effective_latency",
            profiling - acc.with_credit
        ));
    }
    if acc.with_schedule > 0 && acc.with_schedule < acc.successes {
        warnings.push(format!(
            "{} of {} successful records lack metadata.scheduled_ns; skipped for the scheduled_* metrics",
            acc.successes - acc.with_schedule,
            acc.successes
        ));
    }
    if acc.goodput_missing > 0 {
        warnings.push(format!(
            "{} successful records lack a metric named in --goodput; counted as not good",
            acc.goodput_missing
        ));
    }
    if info.source == Some(WindowSource::AiperfSummary) {
        warnings.push(
            "throughputs use the AIPerf summary's start_time/end_time, which have microsecond resolution (≈1e-7 relative)"
                .into(),
        );
    }

    // The warmup phase on its own (its records never enter the metrics above).
    let warmup = match acc.warmup.as_mut() {
        Some(w) if w.successes + w.errors > 0 => {
            let winfo = RunContext {
                window: info.warmup_window,
                ..RunContext::default()
            };
            match summarize(w, &winfo, slos, consume, Vec::new(), sweep_limit) {
                Ok(ws) => Some(ws.entries),
                Err(e) => {
                    warnings.push(format!("warmup_metrics: {e:#}"));
                    None
                }
            }
        }
        _ => None,
    };
    let (start_time, end_time) = match (&info.start_time, &info.end_time) {
        (Some(a), Some(b)) => (Some(a.clone()), Some(b.clone())),
        _ => (
            acc.min_start_all_ns.map(clock::iso_utc),
            acc.max_end_all_ns.map(clock::iso_utc),
        ),
    };
    let mut entries = dists;
    entries.extend(scalar_entries);
    Ok(Summary {
        entries,
        benchmark_id: info.benchmark_id.clone(),
        start_time,
        end_time,
        was_cancelled: info.was_cancelled.unwrap_or(false),
        error_summary: acc.error_kinds.clone(),
        run_info: info.run_info.clone(),
        input_config: info.input_config.clone(),
        telemetry: None,
        server: None,
        warmup,
        sweepkit: Provenance {
            records_read: acc.lines,
            warmup_excluded: acc.warmup_excluded,
            window_source: Some(info.source.unwrap_or(WindowSource::Records)),
            window_ns: info.window.or(match span {
                (Some(a), Some(b)) => Some((a, b)),
                _ => None,
            }),
            warnings,
            additions,
        },
    })
}

/// Units of the aggregate/derived scalars; `total_<tag>` takes its tag's unit.
fn scalar_unit(tag: &str, columns: &accumulate::Columns) -> String {
    if let Some(i) = metrics::lookup(tag) {
        return i.unit.to_string();
    }
    if let Some(base) = tag.strip_prefix("total_") {
        if let Some(c) = columns.get(base) {
            return c.unit.clone();
        }
    }
    String::new()
}
