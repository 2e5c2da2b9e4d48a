//! pareto: the Pareto frontier of a sweep, as JSON, an SVG chart or a terminal picture.

#[path = "shared/mod.rs"]
mod shared;

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sweepkit::io::outcome::Outcome;
use sweepkit::pareto::input::InputPoint;
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
/// time_to_first_token_p99 (request_latency_p99 when not streaming). An SLA search's sweep
/// aggregate (its metadata.sla_constraints) adds the search's SLA filters to --slo. Exit 1 when no
/// point meets the filters.
#[derive(Parser)]
#[command(name = "pareto", version, after_help = EXAMPLES)]
struct Cli {
    /// Sweep aggregate JSON or JSONL points (`-` or nothing: stdin). Several inputs share one
    /// frontier, each point labelled `config=NAME`: give them as NAME=FILE (else NAME is the input's
    /// position, 1, 2, …), e.g. to compare two server configurations' sweeps.
    #[arg(value_name = "[NAME=]INPUT")]
    inputs: Vec<String>,
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
    /// Draw throughput against latency with the frontier, labels and CI error bars (.svg; .png needs
    /// rsvg-convert). Several inputs: one colour and marker per input, each one's frontier, a legend.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// Print the terminal picture (to stderr when stdout carries the JSON, i.e. with --json).
    #[arg(long)]
    ascii: bool,
    /// With --ascii, still print the JSON on stdout (the picture then goes to stderr).
    #[arg(long)]
    json: bool,
}

/// `NAME=FILE` → (Some(NAME), FILE); a plain path (or one that exists as given) → (None, path).
fn split_label(arg: &str) -> (Option<&str>, &str) {
    match arg.split_once('=') {
        Some((n, f))
            if !n.is_empty()
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                && !std::path::Path::new(arg).exists() =>
        {
            (Some(n), f)
        }
        _ => (None, arg),
    }
}

/// Reads one input (a file, or `-` for stdin) as text, with the name errors use.
fn read_input(path: &str) -> anyhow::Result<(String, String)> {
    if path == "-" {
        let mut s = String::new();
        std::io::stdin()
            .read_to_string(&mut s)
            .map_err(|e| anyhow::anyhow!("<stdin>: cannot read: {e}"))?;
        return Ok(("<stdin>".to_string(), s));
    }
    let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{path}: cannot read: {e}"))?;
    Ok((path.to_string(), text))
}

/// Every input's points (with several inputs each point carries `config` = its input's label),
/// and the SLA filters a search's sweep aggregate names.
fn points(inputs: &[String]) -> anyhow::Result<(String, Vec<InputPoint>, Vec<Slo>)> {
    let inputs = if inputs.is_empty() {
        vec!["-".to_string()]
    } else {
        inputs.to_vec()
    };
    let mut all = Vec::new();
    let mut names = Vec::new();
    let mut slos: Vec<Slo> = Vec::new();
    for (i, arg) in inputs.iter().enumerate() {
        let (label, path) = split_label(arg);
        let (name, text) = read_input(path)?;
        let mut input = pareto::input::parse_points(&name, &text)?;
        for w in &input.warnings {
            eprintln!("pareto: warning: {w}");
        }
        if inputs.len() > 1 {
            let label = label.map_or_else(|| (i + 1).to_string(), str::to_string);
            for p in &mut input.points {
                p.parameters
                    .insert("config".into(), serde_json::Value::from(label.clone()));
            }
        }
        names.push(name);
        all.extend(input.points);
        for s in input.slos {
            if !slos.contains(&s) {
                slos.push(s);
            }
        }
    }
    Ok((names.join(", "), all, slos))
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let (name, points, sla) = points(&cli.inputs)?;
    let mut slos = cli
        .slo
        .iter()
        .map(|s| Slo::parse(s))
        .collect::<anyhow::Result<Vec<_>>>()?;
    for s in sla {
        if !slos.contains(&s) {
            slos.push(s);
        }
    }
    let report = pareto::run(
        &points,
        &ParetoOptions {
            maximize: cli.maximize,
            minimize: cli.minimize,
            slos,
            ci: cli.ci,
        },
    )
    .map_err(|e| anyhow::anyhow!("{name}: {e:#}"))?;
    if let Some(p) = &cli.plot {
        if cli.inputs.len() > 1 {
            // Several configurations: one colour and marker each, a legend, labels that fit.
            use sweepkit::report::configurations;
            let (chart, _) = configurations::chart(&report, "Configurations: throughput against latency")?;
            let doc = configurations::standalone(&chart);
            sweepkit::pareto::plot::write_picture_with(p, |f| {
                sweepkit::io::atomic::write(f, doc.as_bytes())
            })?;
        } else {
            sweepkit::pareto::plot::write_picture(&report, p)?;
        }
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
