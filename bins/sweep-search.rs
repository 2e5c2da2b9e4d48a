//! sweep-search: from the trials of a search gathered so far, the next plan line(s) to run, or the answer.

#[path = "shared/load_args.rs"]
mod load_args;
#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use load_args::LoadArgs;
use sweepkit::artifacts::layout::SweepMode;
use sweepkit::artifacts::names::path_safe;
use sweepkit::contract::sla_filter::SlaFilter;
use sweepkit::io::outcome::Outcome;
use sweepkit::plan::{self, PlanOptions, Ui};
use sweepkit::search::planner::PlannerKind;
use sweepkit::search::recipes::{self, Objective, SearchRequest};
use sweepkit::search::space::{param_hint, Dimension};
use sweepkit::search::{self as search, SearchOptions, Step};

const EXAMPLES: &str = "EXAMPLES:
  # The loop scripts/profile runs: plan, run, summarise, until sweep-search prints no more lines.
  while sweep-search -m m --url http://127.0.0.1:8000 --streaming --search-recipe max-concurrency-under-sla \\
        --search-sla time_to_first_token:p99:le:200 --search-space concurrency:1,512:int --format tsv >next.tsv \\
        && [ -s next.tsv ]; do
    while IFS=$'\\t' read -r _ _ dir spec; do mkdir -p \"$dir\"
      printf '%s\\n' \"$spec\" | loadgen --spec - --output \"$dir/profile_export.jsonl\" --run-info-out \"$dir/run_info.json\"
      trial-agg --run-info \"$dir/run_info.json\" --output-dir \"$dir\" \"$dir/profile_export.jsonl\" >/dev/null
    done <next.tsv
  done
  # Then AIPerf's per-value aggregate/ and sweep_aggregate/ (with the SLA) over the values measured:
  sweep-agg artifacts/m-openai-chat-concurrency_search

  # Re-read a finished AIPerf search folder with the same SLA (no load flags needed to answer):
  sweep-search --search-dir artifacts/my-search --search-planner monotonic-sla \\
      --search-space phases.profiling.concurrency:1,64:int --search-sla request_latency:p50:lt:250";

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON plan line per run (Contract A, as sweep-plan writes).
    Jsonl,
    /// `run_index<TAB>cooldown_seconds<TAB>artifact_dir<TAB>json` per run, for shell loops.
    Tsv,
}

#[derive(Clone, Copy, ValueEnum)]
enum PlannerArg {
    #[value(name = "monotonic-sla", alias = "monotonic_sla", alias = "monotonic")]
    MonotonicSla,
    #[value(name = "smooth-isotonic", alias = "smooth_isotonic")]
    SmoothIsotonic,
}

#[derive(Clone, Copy, ValueEnum)]
enum UiArg {
    Simple,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum DirectionArg {
    Maximize,
    Minimize,
}

/// Find the operating point: the largest load that meets an SLA, in few runs.
///
/// Reads the trial summaries of a search gathered so far (search_iter_NNNN/profile_runs/run_NNNN/,
/// sweepkit's or AIPerf's own profile_export_aiperf.json, plus profile_export.jsonl when present),
/// replays the planner over them and prints the next plan line(s) to run (the lines sweep-plan
/// prints; loadgen --spec runs them), or, when the planner stops, prints nothing on stdout and
/// the answer with its 95% interval on stderr, e.g. `max concurrency under SLA: 8 (95% interval
/// 8–8), 16 runs`. Every call rewrites AIPerf's search_history.json and search_checkpoint.json
/// (the finished iterations' trials as AIPerf's RunResults); the answer also goes to
/// search_answer.json and findings.md. `sweep-agg` on the folder then writes AIPerf's per-value
/// aggregate/ and sweep_aggregate/. Exit 0: lines printed or an answer found; 1: no value
/// in the range meets the SLA; 2: an error (named, and written to findings.md).
#[derive(Parser)]
#[command(name = "sweep-search", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    load: LoadArgs,

    /// A named question: max-concurrency-under-sla, max-request-rate-under-sla,
    /// max-throughput-ttft-sla, max-throughput-itl-sla, max-goodput-under-slo, max-goodput-attainment.
    #[arg(long, value_name = "NAME")]
    search_recipe: Option<String>,
    /// The dimension searched, `path:lo,hi[:int|real]` (concurrency or request_rate; AIPerf's
    /// phases.profiling.* paths are accepted). Replaces a recipe's range.
    #[arg(long, value_name = "SPACE")]
    search_space: Option<String>,
    /// An SLA filter `metric:stat:op:threshold` (stat avg|p1..p99|min|max, op lt|le|gt|ge,
    /// threshold in the metric's display unit); repeat to combine: all must hold.
    #[arg(long, value_name = "FILTER")]
    search_sla: Vec<String>,
    /// monotonic-sla (exponential probe, bisection, stability trials) or smooth-isotonic
    /// (isotonic fit of the SLA margin, root find) [default: smooth-isotonic; monotonic-sla for max-goodput-attainment].
    #[arg(long, value_enum, value_name = "PLANNER")]
    search_planner: Option<PlannerArg>,
    /// AIPerf's recipe spelling of the planner: smooth_isotonic or monotonic.
    #[arg(long, value_enum, value_name = "STYLE", conflicts_with = "search_planner")]
    search_style: Option<PlannerArg>,
    /// Most iterations before stopping (2-200) [default: 20 monotonic, 30 smooth-isotonic].
    #[arg(long, value_parser = clap::value_parser!(u32).range(2..=200))]
    search_max_iterations: Option<u32>,
    /// Agreeing verdicts monotonic-sla needs before it trusts a value (AIPerf's monotonic_stability_trials).
    #[arg(long, default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..=10))]
    search_stability_trials: u32,
    /// Extra runs the search may spend re-measuring its boundary before it answers (the last value
    /// that held, the first that failed, any that contradicts its neighbours) until each verdict
    /// leads by two runs; 0 answers without re-measuring. An unsettled verdict makes the answer unsure.
    #[arg(long, default_value_t = sweepkit::search::planner::verify::DEFAULT_BUDGET, value_name = "RUNS",
          value_parser = clap::value_parser!(u32).range(0..=100))]
    search_verify_runs: u32,
    /// The objective best_trials ranks by (a summary metric tag) [default: output_token_throughput].
    #[arg(long, value_name = "TAG")]
    search_metric: Option<String>,
    /// The objective's stat.
    #[arg(long, default_value = "avg", value_parser = ["avg", "p50", "p90", "p95", "p99"])]
    search_stat: String,
    /// Whether the objective is maximised or minimised.
    #[arg(long, value_enum, default_value = "maximize")]
    search_direction: DirectionArg,
    /// Recipe SLA: time to first token p95 below this, ms (a per-request SLO in goodput recipes).
    #[arg(long, value_name = "MS", value_parser = positive)]
    ttft_sla_ms: Option<f64>,
    /// Recipe SLA: inter-token latency p95 below this, ms.
    #[arg(long, alias = "tpot-sla-ms", value_name = "MS", value_parser = positive)]
    itl_sla_ms: Option<f64>,
    /// Recipe SLA: request latency p99 below this, ms.
    #[arg(long, value_name = "MS", value_parser = positive)]
    e2e_sla_ms: Option<f64>,
    /// Recipe SLA: error rate below this fraction (0-1).
    #[arg(long, value_name = "FRACTION", value_parser = fraction)]
    error_rate_sla: Option<f64>,
    /// Goodput recipes: share of requests that must meet every SLO [default: 0.95].
    #[arg(long, value_name = "FRACTION", value_parser = fraction)]
    slo_attainment_fraction: Option<f64>,
    /// Recipe range: lowest concurrency [default: 1].
    #[arg(long, value_name = "N")]
    concurrency_min: Option<u64>,
    /// Recipe range: highest concurrency [default: 1000].
    #[arg(long, value_name = "N")]
    concurrency_max: Option<u64>,

    /// Level of the answer's intervals, in (0, 1).
    #[arg(long, default_value_t = 0.95)]
    confidence_level: f64,
    /// loadgen's progress display in the planned runs (simple or none).
    #[arg(long, value_enum, alias = "ui-type", default_value = "none")]
    ui: UiArg,
    /// Trials per iteration (1-10).
    #[arg(long, default_value_t = 1)]
    num_profile_runs: u32,
    /// Seconds to wait between trials.
    #[arg(long, default_value_t = 0.0)]
    profile_run_cooldown_seconds: f64,
    /// Folder under which the search's folder is created (<model>-openai-<endpoint>-<param>_search).
    #[arg(long, alias = "output-artifact-dir", default_value = "artifacts")]
    artifact_dir: PathBuf,
    /// Read (and write) this search folder instead, e.g. an AIPerf artifact dir with search_iter_NNNN/. A folder that does not exist starts a new search there (said on stderr), or is an error without --model (nothing to read)
    #[arg(long, value_name = "DIR")]
    search_dir: Option<PathBuf>,
    /// Where the findings go [default: <search folder>/findings.md].
    #[arg(long, value_name = "FILE")]
    findings: Option<PathBuf>,
    /// Print only the search's folder and exit.
    #[arg(long)]
    print_base_dir: bool,
    /// Output format of the plan lines.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
}

fn positive(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| x.is_finite() && *x > 0.0)
        .ok_or_else(|| "must be a positive number".into())
}

fn fraction(s: &str) -> Result<f64, String> {
    s.parse::<f64>()
        .ok()
        .filter(|x| *x > 0.0 && *x <= 1.0)
        .ok_or_else(|| "must be a fraction in (0, 1]".into())
}

fn request(cli: &Cli) -> anyhow::Result<SearchRequest> {
    let err = |e: String| anyhow::anyhow!(e);
    Ok(SearchRequest {
        recipe: cli.search_recipe.clone(),
        space: cli
            .search_space
            .as_deref()
            .map(Dimension::parse)
            .transpose()
            .map_err(err)?,
        slas: cli
            .search_sla
            .iter()
            .map(|s| SlaFilter::parse(s))
            .collect::<Result<_, _>>()
            .map_err(err)?,
        planner: cli.search_planner.or(cli.search_style).map(|p| match p {
            PlannerArg::MonotonicSla => PlannerKind::MonotonicSla,
            PlannerArg::SmoothIsotonic => PlannerKind::SmoothIsotonic,
        }),
        ttft_sla_ms: cli.ttft_sla_ms,
        itl_sla_ms: cli.itl_sla_ms,
        e2e_sla_ms: cli.e2e_sla_ms,
        error_rate_sla: cli.error_rate_sla,
        slo_attainment_fraction: cli.slo_attainment_fraction,
        concurrency_min: cli.concurrency_min,
        concurrency_max: cli.concurrency_max,
        max_iterations: cli.search_max_iterations,
        stability_trials: cli.search_stability_trials,
        verify_runs: cli.search_verify_runs,
        objective: cli.search_metric.as_ref().map(|m| Objective {
            metric: m.clone(),
            stat: cli.search_stat.clone(),
            maximize: matches!(cli.search_direction, DirectionArg::Maximize),
        }),
    })
}

/// The search's folder: --search-dir, or named after the model, endpoint and searched parameter.
fn base_dir(cli: &Cli) -> anyhow::Result<PathBuf> {
    if let Some(d) = &cli.search_dir {
        return Ok(d.clone());
    }
    let s = cli.load.base_settings()?;
    let model = s.model.as_deref().ok_or_else(|| {
        anyhow::anyhow!("--model is required (to name the search's folder and plan its runs), or give --search-dir to read a search")
    })?;
    let key = param_hint(cli.search_space.as_deref(), cli.search_recipe.as_deref()).key();
    let name = format!(
        "{model}-openai-{}-{key}_search",
        s.endpoint_type.unwrap_or_default().name()
    );
    Ok(cli.artifact_dir.join(path_safe(&name)))
}

fn options(cli: &Cli, base_dir: PathBuf, findings: PathBuf) -> anyhow::Result<SearchOptions> {
    let config = recipes::compile(&request(cli)?).map_err(|e| anyhow::anyhow!(e))?;
    if !(cli.confidence_level > 0.0 && cli.confidence_level < 1.0) {
        anyhow::bail!(
            "--confidence-level must be between 0 and 1, exclusive (e.g. 0.95), got {}",
            cli.confidence_level
        );
    }
    let key = config.dim.key();
    let lists = cli.load.lists();
    if let Some((p, _)) = lists.iter().find(|(p, _)| p.key() == key) {
        anyhow::bail!(
            "{}: sweep-search sets {key} itself; give its range with --search-space",
            p.flag()
        );
    }
    if let Some((p, _)) = lists.iter().find(|(_, v)| v.len() > 1) {
        anyhow::bail!(
            "{}: a search varies one setting; give the other load flags single values",
            p.flag()
        );
    }
    let mut templates = Vec::new();
    if cli.load.model.is_some() {
        templates = plan::build(&PlanOptions {
            base: cli.load.base_settings()?,
            lists,
            num_profile_runs: cli.num_profile_runs,
            mode: SweepMode::Independent,
            run_cooldown_seconds: cli.profile_run_cooldown_seconds,
            ui: Some(match cli.ui {
                UiArg::Simple => Ui::Simple,
                UiArg::None => Ui::None,
            }),
            artifact_dir: cli.artifact_dir.clone(),
            ..PlanOptions::default()
        })?
        .lines;
    }
    Ok(SearchOptions {
        findings,
        config,
        base_dir,
        templates,
        confidence_level: cli.confidence_level,
    })
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let base = base_dir(&cli)?;
    if cli.print_base_dir {
        println!("{}", base.display());
        return Ok(Outcome::Ok);
    }
    if let Some(d) = cli.search_dir.as_ref().filter(|d| !d.exists()) {
        // A mistyped path must not pass for an empty search: say what happens, or refuse to read nothing.
        if cli.load.model.is_none() {
            anyhow::bail!(
                "--search-dir {}: no such folder: nothing to read (check the path, or give --model and the search flags to start a new search there)",
                d.display()
            );
        }
        eprintln!(
            "sweep-search: --search-dir {} does not exist: starting a new search there",
            d.display()
        );
    }
    let findings = cli.findings.clone().unwrap_or_else(|| base.join("findings.md"));
    // Bad flags (an empty search space, an unknown recipe) get their findings entry too.
    let opts = options(&cli, base, findings.clone()).inspect_err(|e| {
        let _ = search::findings::write_error(&findings, &format!("{e:#}"));
    })?;
    let fresh = !opts.base_dir.join(search::HISTORY_JSON).exists();
    let step = search::step(&opts)?;
    if fresh && matches!(step, Step::Next(_)) {
        start_notes(&cli, &opts);
    }
    match step {
        Step::Next(lines) => {
            let mut out = std::io::stdout().lock();
            for l in &lines {
                match cli.format {
                    Format::Jsonl => writeln!(out, "{}", serde_json::to_string(l)?)?,
                    Format::Tsv => writeln!(out, "{}", l.tsv_row()?)?,
                }
            }
            out.flush()?;
            Ok(Outcome::Ok)
        }
        Step::Done(a) => {
            eprintln!("{}", a.text);
            Ok(if a.value.is_some() {
                Outcome::Ok
            } else {
                Outcome::Negative
            })
        }
    }
}

/// Said once, on the call that starts a search: the SLA as resolved (with its unit and what the
/// recipe flags mean), and that the server picks the output length when no --osl is given.
fn start_notes(cli: &Cli, opts: &SearchOptions) {
    let c = &opts.config;
    let mut meaning = Vec::new();
    for (flag, given, stat) in [
        ("--ttft-sla-ms", cli.ttft_sla_ms.is_some(), "p95"),
        ("--itl-sla-ms", cli.itl_sla_ms.is_some(), "p95"),
        ("--e2e-sla-ms", cli.e2e_sla_ms.is_some(), "p99"),
    ] {
        if given && c.attainment.is_none() {
            meaning.push(format!("{flag} is {stat}, strictly below"));
        }
    }
    let meaning = if meaning.is_empty() {
        String::new()
    } else {
        format!(
            " ({}; --search-sla METRIC:STAT:le:MS for another stat)",
            meaning.join(", ")
        )
    };
    eprintln!(
        "sweep-search: {} in [{}, {}] under SLA {}{meaning}",
        c.dim.key(),
        c.dim.lo,
        c.dim.hi,
        search::sla_names::describe_all(&c.filters)
    );
    if let Some(note) = opts
        .templates
        .first()
        .and_then(|t| sweepkit::plan::output_length::server_decides(&t.loadgen))
    {
        eprintln!("sweep-search: {note}");
    }
}

fn main() -> ExitCode {
    shared::main::<Cli>("sweep-search", run)
}
