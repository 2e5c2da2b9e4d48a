//! pareto: the Pareto frontier of a sweep, as JSON, an SVG chart or a terminal picture.

#[path = "shared/mod.rs"]
mod shared;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sweepkit::io::outcome::Outcome;
use sweepkit::pareto::{self, ParetoOptions, Slo};

const EXAMPLES: &str = "EXAMPLES:
  # The frontier of a sweep (throughput up, p99 TTFT down) and the guide's terminal picture:
  sweep=artifacts/llama-3-8b-openai-chat-concurrency_sweep
  pareto \"$sweep/sweep_aggregate/profile_export_aiperf_sweep.json\" --ascii

  # Only points meeting an SLO; exit 1 when none does:
  pareto sweep.json --slo time_to_first_token_p99:lt:200 --slo request_latency_p99:le:2000 \\
      || echo 'no feasible configuration'

  # Token throughput against inter-token latency, with error bars and significance marks:
  pareto sweep.json --maximize output_token_throughput_avg --minimize inter_token_latency_avg \\
      --ci --plot frontier.svg

  # Points from a pipeline (one JSON object per line):
  printf '%s\\n' '{\"parameters\":{\"c\":1},\"thr\":10,\"lat\":5}' \\
      '{\"parameters\":{\"c\":2},\"thr\":18,\"lat\":9}' | pareto --maximize thr --minimize lat";

/// Pareto frontier of a sweep, as JSON, an SVG chart or a terminal picture.
///
/// Reads a sweep aggregate (sweepkit's or AIPerf's profile_export_aiperf_sweep.json) or JSONL
/// points and prints the Pareto frontier as JSON: `pareto_optimal` (parameter sets, as in the
/// sweep aggregate) and every point's objective values, CI, feasibility and dominators. A point
/// is optimal when no other is at least as good on every objective and better on one (equal
/// points are both optimal). Defaults: maximize request_throughput_avg, minimize
/// time_to_first_token_p99 (request_latency_p99 when not streaming). Exit 1 when no point meets
/// the --slo filters.
#[derive(Parser)]
#[command(name = "pareto", version, after_help = EXAMPLES)]
struct Cli {
    /// Sweep aggregate JSON or JSONL points (`-` or nothing: stdin).
    input: Option<PathBuf>,
    /// A metric key to maximize (repeatable); replaces the default request_throughput_avg.
    #[arg(long, value_name = "KEY")]
    maximize: Vec<String>,
    /// A metric key to minimize (repeatable); replaces the default p99 latency.
    #[arg(long, value_name = "KEY")]
    minimize: Vec<String>,
    /// Keep only points meeting KEY:OP:THRESHOLD (OP = lt, le, gt, ge), e.g. time_to_first_token_p99:lt:200.
    #[arg(long, value_name = "KEY:OP:THRESHOLD")]
    slo: Vec<String>,
    /// Mark frontier points whose dominance over another point is not significant (trial CIs overlap).
    #[arg(long)]
    ci: bool,
    /// Draw throughput against latency with the frontier, labels and CI error bars (.svg; .png needs rsvg-convert).
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print the terminal picture (to stderr when stdout carries the JSON, i.e. with --json).
    #[arg(long)]
    ascii: bool,
    /// With --ascii, still print the JSON on stdout (the picture then goes to stderr).
    #[arg(long)]
    json: bool,
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let (name, text) = match &cli.input {
        Some(p) if p.as_os_str() != "-" => (
            p.display().to_string(),
            std::fs::read_to_string(p).map_err(|e| anyhow::anyhow!("{}: cannot read: {e}", p.display()))?,
        ),
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .map_err(|e| anyhow::anyhow!("<stdin>: cannot read: {e}"))?;
            ("<stdin>".to_string(), s)
        }
    };
    let slos = cli
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let input = pareto::input::parse_points(&name, &text)?;
    for w in &input.warnings {
        eprintln!("pareto: warning: {w}");
    }
    let report = pareto::run(
        &input.points,
        &ParetoOptions {
            maximize: cli.maximize,
            minimize: cli.minimize,
            slos,
            ci: cli.ci,
        },
    )
    .map_err(|e| anyhow::anyhow!("{name}: {e:#}"))?;
    if let Some(p) = &cli.plot {
        sweepkit::pareto::plot::write_picture(&report, p)?;
    }
    let mut out = std::io::stdout().lock();
    if cli.ascii {
        let pic = sweepkit::pareto::plot::ascii(&report)?;
        if cli.json {
            eprint!("{pic}");
        } else {
            out.write_all(pic.as_bytes())?;
        }
    }
    if !cli.ascii || cli.json {
        writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
    }
    out.flush()?;
    if report.slo.is_some() && report.pareto_optimal.is_empty() {
        eprintln!("pareto: no point meets the SLO filters");
        return Ok(Outcome::Negative);
    }
    Ok(Outcome::Ok)
}

fn main() -> ExitCode {
    shared::main::<Cli>("pareto", run)
}
