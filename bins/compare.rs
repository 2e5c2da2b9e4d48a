//! compare: which configuration serves more within the SLO, by how much and how sure; regression gates.

#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use sweepkit::compare::gate::Gate;
use sweepkit::compare::{self, CompareOptions};
use sweepkit::contract::sla_filter::SlaFilter;
use sweepkit::io::outcome::Outcome;

const EXAMPLES: &str = "EXAMPLES:
  # Two server configurations swept the same way (3 trials each): which serves more within the SLO?
  compare base=artifacts/batch4 new=artifacts/batch16 --slo time_to_first_token:p99:le:200

  # A CI regression gate: exit 1 when new's p99 TTFT rises, or its token throughput drops,
  # significantly beyond the threshold:
  compare base=main/ new=pr/ --gate time_to_first_token:p99:+5% \\
      --gate output_token_throughput:avg:-3% --format md -o compare.md

  # AIPerf's own artifacts work too; a deliberate change of prompt length must be allowed:
  compare short=artifacts/isl128 long=artifacts/isl512 --allow-different isl";

/// Compare server configurations measured on the same workload, with confidence.
///
/// Each LABEL=DIR is a sweep's, a run's or a search's output folder (sweepkit's or AIPerf 0.13's);
/// the first is the base. Values are matched by swept value; a different workload (endpoint, ISL,
/// OSL, dataset, …) is refused, naming the first differing setting. At every matched value and key
/// metric: both sides' trial means with 95% intervals, the difference and the ratio new/base with
/// Welch intervals across trials (the ratio on the log scale), and a verdict that knows the metric's
/// direction: better, worse, no difference detected, or equivalent within ±X% (two one-sided tests).
/// Fewer than 2 trials a side give no verdict. With --slo (or a search's SLA): each configuration's
/// largest load meeting it, the throughput there, and which serves more, with how sure. Exit 0 ok,
/// 1 a gate failed, 2 bad input.
#[derive(Parser)]
#[command(name = "compare", version, after_help = EXAMPLES)]
struct Cli {
    /// LABEL=DIR, two or more; the first is the base.
    #[arg(value_name = "LABEL=DIR", required = true, num_args = 2..)]
    inputs: Vec<String>,
    /// SLO as METRIC:STAT:OP:THRESHOLD (OP = lt, le, gt, ge; the search SLA's syntax), repeatable,
    /// e.g. time_to_first_token:p99:le:200 (ms).
    #[arg(long, value_name = "METRIC:STAT:OP:X")]
    slo: Vec<String>,
    /// Fail (exit 1) when new is significantly higher (+X%) or lower (-X%) than base by more than X%
    /// on METRIC:STAT at any matched value, e.g. time_to_first_token:p99:+5% (repeatable).
    #[arg(long, value_name = "METRIC:STAT:±X%", allow_hyphen_values = true)]
    gate: Vec<String>,
    /// Relative margin within which two configurations count as equivalent.
    #[arg(long, value_name = "X%", default_value = "2%")]
    equivalence: String,
    /// A workload setting allowed to differ (repeatable): endpoint_type, streaming, model,
    /// extra_inputs, dataset_type, dataset_file, isl, osl, prefix_prompts, turns, random_seed,
    /// load_type, arrival_pattern, cancellation, tokenizer.
    #[arg(long, value_name = "SETTING")]
    allow_different: Vec<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    format: Format,
    /// Write here (atomically) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Md,
}

/// `LABEL=DIR` → (LABEL, DIR).
fn labelled(arg: &str) -> anyhow::Result<(String, PathBuf)> {
    match arg.split_once('=') {
        Some((l, d))
            if !l.is_empty()
                && !d.is_empty()
                && l.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b)) =>
        {
            Ok((l.to_string(), PathBuf::from(d)))
        }
        _ => anyhow::bail!("'{arg}': expected LABEL=DIR (LABEL of letters, digits, '_', '.', '-'), e.g. base=artifacts/my-sweep"),
    }
}

fn percent(flag: &str, s: &str) -> anyhow::Result<f64> {
    s.trim_end_matches('%')
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite())
        .map(|v| v / 100.0)
        .ok_or_else(|| anyhow::anyhow!("{flag} '{s}': expected a percentage such as 2%"))
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let opts = CompareOptions {
        inputs: cli
            .inputs
            .iter()
            .map(|a| labelled(a))
            .collect::<anyhow::Result<_>>()?,
        slo: cli
            .slo
            .iter()
            .map(|s| {
                SlaFilter::parse(s).map_err(|e| anyhow::anyhow!("{}", e.replacen("--search-sla", "--slo", 1)))
            })
            .collect::<anyhow::Result<_>>()?,
        gates: cli
            .gate
            .iter()
            .map(|g| Gate::parse(g))
            .collect::<anyhow::Result<_>>()?,
        equivalence: percent("--equivalence", &cli.equivalence)?,
        allow_different: cli.allow_different,
        level: 0.95,
    };
    let c = compare::run(&opts)?;
    let text = match cli.format {
        Format::Table => compare::table::render(&c),
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&c)?),
        Format::Md => compare::markdown::render(&c),
    };
    match &cli.output {
        Some(p) => sweepkit::io::atomic::write(p, text.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    let failed: Vec<&str> = c
        .gates
        .iter()
        .filter(|g| !g.passed)
        .map(|g| g.sentence.as_str())
        .collect();
    for f in &failed {
        eprintln!("compare: {f}");
    }
    Ok(if failed.is_empty() {
        Outcome::Ok
    } else {
        Outcome::Negative
    })
}

fn main() -> ExitCode {
    shared::main::<Cli>("compare", run)
}
