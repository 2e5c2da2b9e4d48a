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
  sweep-agg old_aiperf_sweep --findings old_aiperf_sweep/findings.md && report old_aiperf_sweep

  # Two server configurations on one page, the decision (compare's) on top:
  report base=artifacts/batch8 new=artifacts/batch16 --slo time_to_first_token_p99:le:200 -o decision.html";

/// One self-contained HTML report of a benchmark folder: charts, findings, failures.
///
/// Reads a sweep's folder (scripts/profile's tree), a single run's folder, or AIPerf's own artifact
/// tree, and writes ONE HTML file with inline SVG charts and CSS: the command, time and server;
/// throughput, TTFT, ITL, request latency (p50/p90/p99) and goodput per swept parameter with
/// confidence bands; the Pareto frontier; per-request latency CDFs per value; a timeline of one run
/// per value beside the server's scraped metrics (KV cache, queue, GPU power); errors by type and
/// value, CV > 20% flags, and failed, unfinished and never-run runs. Nothing is fetched from
/// anywhere: the page reads the same offline and as a mail attachment. A half-finished sweep still
/// gets a page of what is there. Prints one JSON line naming the file. Several LABEL=DIR folders
/// (the first the base) make one page for a decision: compare's verdict on top (who serves more
/// within --slo, by how much, how sure), the configurations drawn together (one colour and marker
/// each), and every matched value's metrics side by side.
#[derive(Parser)]
#[command(name = "report", version, after_help = EXAMPLES)]
struct Cli {
    /// The folder: a sweep's (artifacts/<name>), a run's, or AIPerf's artifact tree; or several
    /// LABEL=DIR folders to compare (the first is the base).
    #[arg(value_name = "DIR | LABEL=DIR...", required = true)]
    dirs: Vec<String>,
    /// With several folders: compare's JSON to show in the decision panel (e.g. one judged with
    /// --gate) instead of comparing here.
    #[arg(long, value_name = "FILE")]
    compare: Option<PathBuf>,
    /// Write the page here (default: DIR/report.html; several folders: report.html beside the first).
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Shade this SLO on the Pareto chart and mark the points outside it (KEY:OP:THRESHOLD, OP = lt, le, gt, ge; repeatable).
    #[arg(long, value_name = "KEY:OP:THRESHOLD")]
    slo: Vec<String>,
    /// The page's title (default: "Benchmark report: <folder name>").
    #[arg(long)]
    title: Option<String>,
}

/// `LABEL=DIR` → (LABEL, DIR).
fn labelled(arg: &str) -> anyhow::Result<(String, PathBuf)> {
    match arg.split_once('=') {
        Some((l, d)) if !l.is_empty() && !d.is_empty() => Ok((l.to_string(), PathBuf::from(d))),
        _ => anyhow::bail!("'{arg}': several folders are compared, so each needs a label: LABEL=DIR (e.g. base=artifacts/a new=artifacts/b)"),
    }
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let slos = cli
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let summary = if cli.dirs.len() == 1 {
        report::run(&ReportOptions {
            dir: PathBuf::from(&cli.dirs[0]),
            output: cli.output,
            slos,
            title: cli.title,
        })?
    } else {
        let inputs = cli
            .dirs
            .iter()
            .map(|a| labelled(a))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let output = cli.output.unwrap_or_else(|| {
            let first = &inputs[0].1;
            first
                .parent()
                .unwrap_or(first)
                .join(sweepkit::artifacts::REPORT_HTML)
        });
        report::comparison_page::run(&report::comparison_page::ComparisonOptions {
            inputs,
            output,
            slos,
            title: cli.title,
            comparison: cli.compare,
        })?
    };
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
