//! sweep-agg: trial summaries → per-combination confidence aggregates and the sweep aggregate.

#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use sweepkit::contract::convergence::{ConvergenceMode, ConvergenceSettings, CONVERGENCE_STATS};
use sweepkit::contract::plan_line::PlanLine;
use sweepkit::io::outcome::Outcome;
use sweepkit::sweep::{self, AggOptions};

const EXAMPLES: &str = "EXAMPLES:
  # Aggregate the runs of a plan (each run's folder holds its profile_export_aiperf.json):
  sweep-agg --plan artifacts/llama-3-8b-openai-chat-concurrency_sweep/plan.jsonl

  # Re-aggregate an old sweep, AIPerf's own or sweepkit's, from its folder layout:
  sweep-agg artifacts/llama-3-8b-openai-chat-concurrency_sweep --confidence-level 0.99

  # Write into another folder and document the findings, then draw the frontier:
  sweep-agg old_sweep --output-dir /tmp/re --findings /tmp/re/findings.md
  pareto /tmp/re/sweep_aggregate/profile_export_aiperf_sweep.json --ascii

  # An SLA search's folder as a sweep over the values it measured (every trial of a value pooled,
  # the search's SLA in the sweep aggregate's sla_constraints):
  sweep-agg artifacts/llama-3-8b-openai-chat-concurrency_search

  # Which runs of an interrupted sweep still need running (scripts/profile --resume reruns them):
  sweep-agg --plan artifacts/llama-3-8b-openai-chat-concurrency_sweep/plan.jsonl --pending

  # Every value, metric and across-trial statistic as one row each (for pandas, R, a spreadsheet):
  sweep-agg --plan done.jsonl --format long-csv > sweep_long.csv

  # Which values have converged (CI of the mean TTFT p99 narrower than 10% of it), which need trials:
  sweep-agg --plan done.jsonl --converged --convergence-metric time_to_first_token --convergence-stat p99";

/// Aggregate trial summaries across trials and sweep values (confidence, best, Pareto, trends).
///
/// Reads trial summaries (profile_export_aiperf.json, sweepkit's or AIPerf's), labels each with
/// its parameters and trial (from the plan or the folder layout) and writes the per-combination
/// confidence aggregates (aggregate/…/profile_export_aiperf_aggregate.json/.csv) and the sweep
/// aggregate (sweep_aggregate/profile_export_aiperf_sweep.json/.csv): best configurations, Pareto
/// set, trends, failed runs, and values whose key metrics vary by more than 20% (warned on stderr).
/// A tree holding only per-value aggregates (AIPerf's or ours) still yields the sweep aggregate.
/// A search's folder (search_history.json, search_iter_NNNN/profile_runs/run_NNNN/) is a sweep over
/// the values it measured: each value's aggregate (aggregate/<param>_<v>/) pools every trial run
/// at it, from every iteration, and the sweep aggregate carries AIPerf's metadata.sla_constraints
/// (the history's SLA filters; best configurations and Pareto set from the values meeting them).
/// Prints a JSON line naming what it wrote. Exit 1 when no run succeeded.
#[derive(Parser)]
#[command(name = "sweep-agg", version, after_help = EXAMPLES)]
struct Cli {
    /// A sweep's folder, labelled by its layout (concurrency_10/, profile_runs/trial_0001/, …), or
    /// a search's (search_iter_0003/profile_runs/run_0001/, labelled by search_history.json).
    #[arg(conflicts_with = "plan")]
    dir: Option<PathBuf>,
    /// The plan (sweep-plan's JSONL, `-` for stdin) whose runs to aggregate.
    #[arg(long)]
    plan: Option<PathBuf>,
    /// Write aggregate/ and sweep_aggregate/ below this folder instead of the sweep's own.
    #[arg(short, long)]
    output_dir: Option<PathBuf>,
    /// Confidence level of the Student-t intervals, in (0, 1).
    #[arg(long, default_value_t = 0.95)]
    confidence_level: f64,
    /// Also write the findings (best configurations, Pareto points, inflections, CV flags) as Markdown here (sweeps only).
    #[arg(long)]
    findings: Option<PathBuf>,
    /// What to print on stdout: json (a line naming what was written) or long-csv (the sweep
    /// aggregate as `value,metric,stat,number,unit` rows, one per value, metric and statistic).
    #[arg(long, value_enum, default_value = "json")]
    format: OutFormat,
    /// Aggregate nothing: list the plan's runs that still need running (not run, failed, interrupted,
    /// stopped early, torn), one `run_index<TAB>artifact_dir<TAB>reason` line each (what --resume reruns).
    #[arg(long, requires = "plan", conflicts_with_all = ["output_dir", "findings"])]
    pending: bool,
    /// Aggregate nothing: judge each value's trials so far by the convergence criterion, one
    /// `label<TAB>converged|not_converged<TAB>trials<TAB>criterion<TAB>detail` line each; exit 0 when
    /// every value converged, 1 when some still need trials.
    #[arg(long, requires_all = ["plan", "convergence_metric"], conflicts_with_all = ["output_dir", "findings", "pending"])]
    converged: bool,
    /// Aggregate nothing: exit 0 and print why when the sweep so far has saturated (request
    /// throughput gained less than --saturation-threshold for two consecutive values while p99
    /// latency rose on both), else exit 1 (what scripts/profile --stop-on-saturation loops on).
    #[arg(long, requires = "plan", conflicts_with_all = ["output_dir", "findings", "pending", "converged"])]
    saturated: bool,
    /// The relative throughput gain per value under which a step counts as flat.
    #[arg(long, default_value_t = 0.05)]
    saturation_threshold: f64,
    /// Convergence: the metric tag judged (AIPerf's --convergence-metric, e.g. time_to_first_token).
    /// With it, the aggregates say per value how many trials it took and whether it converged, and
    /// AIPerf's profile_export_aiperf_collated.json is written beside each value's aggregate.
    #[arg(long, value_name = "TAG")]
    convergence_metric: Option<String>,
    /// Convergence: the statistic of the metric, per trial (avg, p50, p90, p95, p99, min, max).
    #[arg(long, default_value = "avg", value_parser = CONVERGENCE_STATS)]
    convergence_stat: String,
    /// Convergence: ci_width (2·t·se/|mean| below it), cv (std/|mean| below it) or distribution
    /// (Kolmogorov–Smirnov p-value of the last trial's requests against the earlier ones above it).
    #[arg(long, default_value = "ci_width", value_parser = ConvergenceMode::parse)]
    convergence_mode: ConvergenceMode,
    /// Convergence: the threshold, in (0, 1); default 0.10 for ci_width, 0.05 for cv and distribution.
    #[arg(long)]
    convergence_threshold: Option<f64>,
}

#[derive(Clone, Copy, PartialEq, ValueEnum)]
enum OutFormat {
    /// One JSON line naming what was written
    Json,
    /// The sweep aggregate in long form: value,metric,stat,number,unit
    LongCsv,
}

/// `--format long-csv`: the sweep aggregate just written, in long form.
fn print_long_csv(report: &sweep::AggReport) -> anyhow::Result<Vec<u8>> {
    let Some(path) = &report.sweep_aggregate else {
        anyhow::bail!("--format long-csv: no sweep aggregate was written (a sweep needs at least one value); use --format json");
    };
    let text = std::fs::read_to_string(path)?;
    let agg: sweepkit::contract::sweep_aggregate::SweepAggregate<serde_json::Value> =
        serde_json::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    sweepkit::sweep::export::long_csv(&agg)
}

/// The `--convergence-*` flags, when a metric is given.
fn convergence(cli: &Cli) -> anyhow::Result<Option<ConvergenceSettings>> {
    let Some(metric) = &cli.convergence_metric else {
        return Ok(None);
    };
    let threshold = cli
        .convergence_threshold
        .unwrap_or(cli.convergence_mode.default_threshold());
    anyhow::ensure!(
        threshold > 0.0 && threshold < 1.0,
        "--convergence-threshold must be between 0 and 1, exclusive, got {threshold}"
    );
    Ok(Some(ConvergenceSettings {
        metric: metric.clone(),
        stat: cli.convergence_stat.clone(),
        mode: cli.convergence_mode,
        threshold,
        min_runs: 2,
    }))
}

/// `--converged`: each value's verdict, one line each.
fn converged(plan: &std::path::Path, s: &ConvergenceSettings, level: f64) -> anyhow::Result<Outcome> {
    let verdicts = sweep::converged(plan, s, level)?;
    let mut out = std::io::stdout().lock();
    for v in &verdicts {
        let c = v
            .criterion
            .map(|c| format!("{c:.6}"))
            .unwrap_or_else(|| "-".into());
        let state = if v.converged { "converged" } else { "not_converged" };
        writeln!(
            out,
            "{}\t{state}\t{}\t{c}\t{}",
            v.variation_label, v.trials, v.detail
        )?;
    }
    out.flush()?;
    Ok(if verdicts.iter().all(|v| v.converged) {
        Outcome::Ok
    } else {
        Outcome::Negative
    })
}

/// `--pending`: the runs of the plan that are not complete.
fn pending(plan: &std::path::Path) -> anyhow::Result<Outcome> {
    let inputs = sweepkit::io::jsonl::open_inputs(&[plan.to_path_buf()])?;
    let (lines, _) = sweepkit::io::jsonl::read_all::<PlanLine>(inputs)?;
    let mut out = std::io::stdout().lock();
    for (l, why) in sweep::pending::pending(&lines) {
        let p = &l.place;
        writeln!(
            out,
            "{}\t{}\t{why}",
            p.run_index.unwrap_or(0),
            p.artifact_dir.as_deref().unwrap_or("")
        )?;
    }
    out.flush()?;
    Ok(Outcome::Ok)
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let (true, Some(plan)) = (cli.pending, &cli.plan) {
        return pending(plan);
    }
    if let (true, Some(plan)) = (cli.saturated, &cli.plan) {
        return Ok(match sweep::saturated(plan, cli.saturation_threshold)? {
            Some(why) => {
                println!("{why}");
                Outcome::Ok
            }
            None => Outcome::Negative,
        });
    }
    let conv = convergence(&cli)?;
    if let (true, Some(plan), Some(s)) = (cli.converged, &cli.plan, &conv) {
        return converged(plan, s, cli.confidence_level);
    }
    let report = sweep::run(&AggOptions {
        plan: cli.plan,
        dir: cli.dir,
        output_dir: cli.output_dir,
        confidence_level: cli.confidence_level,
        findings: cli.findings,
        convergence: conv,
    })?;
    for w in &report.warnings {
        eprintln!("sweep-agg: warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    if cli.format == OutFormat::LongCsv {
        out.write_all(&print_long_csv(&report)?)?;
    } else {
        writeln!(out, "{}", serde_json::to_string(&report)?)?;
    }
    out.flush()?;
    Ok(if report.num_successful_runs == 0 {
        Outcome::Negative
    } else {
        Outcome::Ok
    })
}

fn main() -> ExitCode {
    shared::main::<Cli>("sweep-agg", run)
}
