//! report: a sweep's (or a run's, or AIPerf's) folder → one self-contained HTML page of charts.

#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sweepkit::io::outcome::Outcome;
use sweepkit::pareto::Slo;
use sweepkit::report::{self, ReportOptions};

const EXAMPLES: &str = "EXAMPLES:
  # The page of a sweep scripts/profile made (written into the sweep's folder):
  report artifacts/llama-3-8b-openai-chat-concurrency_sweep

  # Somewhere else, with the SLO shaded on the Pareto chart, then open it:
  report artifacts/llama-3-8b-openai-chat-concurrency_sweep -o /tmp/sweep.html \\
      --slo time_to_first_token_p99:lt:200 && xdg-open /tmp/sweep.html

  # One run measured by hand: records, run info and summary in one folder:
  loadgen -m m --streaming --concurrency 8 --request-count 500 --output run/profile_export.jsonl \\
      --run-info-out run/run_info.json
  trial-agg --run-info run/run_info.json --output-dir run run/profile_export.jsonl >/dev/null
  report run

  # AIPerf's own artifact tree, re-aggregated by sweep-agg first for the findings:
  sweep-agg old_aiperf_sweep --findings old_aiperf_sweep/findings.md && report old_aiperf_sweep";

/// One self-contained HTML report of a benchmark folder: charts, findings, failures.
///
/// Reads a sweep's folder (scripts/profile's tree), a single run's folder, or AIPerf's own artifact
/// tree, and writes ONE HTML file with inline SVG charts and CSS: the command, time and server;
/// throughput, TTFT, ITL, request latency (p50/p90/p99) and goodput per swept parameter with
/// confidence bands; the Pareto frontier; per-request latency CDFs per value; a timeline of one run
/// per value beside the server's scraped metrics (KV cache, queue, GPU power); errors by type and
/// value, CV > 20% flags, and failed, unfinished and never-run runs. Nothing is fetched from
/// anywhere: the page reads the same offline and as a mail attachment. A half-finished sweep still
/// gets a page of what is there. Prints one JSON line naming the file.
#[derive(Parser)]
#[command(name = "report", version, after_help = EXAMPLES)]
struct Cli {
    /// The folder: a sweep's (artifacts/<name>), a run's, or AIPerf's artifact tree.
    dir: PathBuf,
    /// Write the page here (default: DIR/report.html).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Shade this SLO on the Pareto chart and mark the points outside it (KEY:OP:THRESHOLD, OP = lt, le, gt, ge; repeatable).
    #[arg(long, value_name = "KEY:OP:THRESHOLD")]
    slo: Vec<String>,
    /// The page's title (default: "Benchmark report: <folder name>").
    #[arg(long)]
    title: Option<String>,
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let slos = cli
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let summary = report::run(&ReportOptions {
        dir: cli.dir,
        output: cli.output,
        slos,
        title: cli.title,
    })?;
    for w in &summary.warnings {
        eprintln!("report: warning: {w}");
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&summary)?)?;
    out.flush()?;
    Ok(Outcome::Ok)
}

fn main() -> ExitCode {
    shared::main::<Cli>("report", run)
}
