//! sweep-plan: turns an `aiperf profile`-style command line into a plan, one JSONL line per run.

#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, ValueEnum};
use serde_json::{Map, Value};
use sweepkit::artifacts::layout::SweepMode;
use sweepkit::io::outcome::Outcome;
use sweepkit::plan::{self, PlanOptions, SweepType, Ui};

const EXAMPLES: &str = "EXAMPLES:
  # The guide's sweep with 5 trials each, as a plan (one line per run, in execution order):
  sweep-plan --model llama-3-8b --url http://localhost:8000 --concurrency 10,20,30,40 \\
      --num-profile-runs 5

  # Feed one run to loadgen:
  sweep-plan -m llama-3-8b --concurrency 1,2,4 | head -n 1 | loadgen --spec - --output out.jsonl

  # Shell-friendly rows (run index, cooldown, folder, spec) for a loop, as scripts/profile does:
  sweep-plan -m llama-3-8b --concurrency 1,2,4 --format tsv \\
      | while IFS=$'\\t' read -r i cool dir spec; do echo \"$i $dir\"; done

  # A grid of concurrency x input length, all trials of a value before the next:
  sweep-plan -m m --concurrency 4,16 --isl 128,1024 --num-profile-runs 3 \\
      --parameter-sweep-mode independent";

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per run (Contract A).
    Jsonl,
    /// `run_index<TAB>cooldown_seconds<TAB>artifact_dir<TAB>json` per run, for shell loops.
    Tsv,
}

#[derive(Clone, Copy, ValueEnum)]
enum UiArg {
    Dashboard,
    Simple,
    None,
}

#[derive(Clone, Copy, ValueEnum)]
enum ModeArg {
    Repeated,
    Independent,
}

#[derive(Clone, Copy, ValueEnum)]
enum SweepTypeArg {
    Grid,
    Zip,
}

/// Expand an aiperf-profile command line into a plan: one JSONL line per run.
///
/// Expands an `aiperf profile` command line into a plan: one JSONL line per run (one trial at one
/// parameter combination) in execution order, each a complete loadgen spec plus its place: run
/// index, trial, parameters, seed, artifact folder and the cooldown to wait before it. A comma list
/// on --concurrency, --request-rate, --request-count, --benchmark-duration, --isl, --isl-stddev,
/// --osl or --osl-stddev is a sweep (several lists: a grid, or --sweep-type zip).
#[derive(Parser)]
#[command(name = "sweep-plan", version, after_help = EXAMPLES)]
struct Cli {
    /// Model name sent in every request (also names the artifact folder, made path-safe).
    #[arg(short = 'm', long, alias = "model-names")]
    model: String,
    /// Server base URL (loadgen's default when absent).
    #[arg(short = 'u', long)]
    url: Option<String>,
    /// chat, completions or embeddings.
    #[arg(long, default_value = "chat")]
    endpoint_type: String,
    /// Path override for the endpoint (e.g. /v1/chat/completions).
    #[arg(long, alias = "custom-endpoint")]
    endpoint: Option<String>,
    /// Stream responses (SSE): needed for TTFT and inter-token latency.
    #[arg(long)]
    streaming: bool,

    /// Requests kept in flight (closed loop); a comma list sweeps it: 10,20,30,40.
    #[arg(long)]
    concurrency: Option<String>,
    /// Target requests/sec (open loop); a comma list sweeps it.
    #[arg(long)]
    request_rate: Option<String>,
    /// constant, poisson or gamma inter-arrival times.
    #[arg(long, alias = "request-rate-mode")]
    arrival_pattern: Option<String>,
    /// Gamma shape for --arrival-pattern gamma.
    #[arg(long, alias = "vllm-burstiness")]
    arrival_smoothness: Option<f64>,
    /// Seconds over which closed-loop workers start (spreads the initial burst).
    #[arg(long)]
    concurrency_ramp_duration: Option<f64>,
    /// Requests in the profiling phase; a comma list sweeps it.
    #[arg(long, alias = "num-requests")]
    request_count: Option<String>,
    /// Stop after this many seconds instead of a count; a comma list sweeps it.
    #[arg(long)]
    benchmark_duration: Option<String>,
    /// Seconds to wait for in-flight requests after --benchmark-duration.
    #[arg(long)]
    benchmark_grace_period: Option<f64>,
    /// Warmup requests before profiling; run on the first trial of each value only.
    #[arg(long, alias = "num-warmup-requests")]
    warmup_request_count: Option<u64>,
    /// Mean input tokens per synthetic prompt; a comma list sweeps it.
    #[arg(long, aliases = ["synthetic-input-tokens-mean", "prompt-input-tokens-mean"])]
    isl: Option<String>,
    /// Standard deviation of input tokens; a comma list sweeps it.
    #[arg(long, alias = "synthetic-input-tokens-stddev")]
    isl_stddev: Option<String>,
    /// Mean output tokens requested (max_completion_tokens); a comma list sweeps it.
    #[arg(long, alias = "output-tokens-mean")]
    osl: Option<String>,
    /// Standard deviation of output tokens; a comma list sweeps it.
    #[arg(long, alias = "output-tokens-stddev")]
    osl_stddev: Option<String>,
    /// Send max_tokens instead of max_completion_tokens.
    #[arg(long)]
    use_legacy_max_tokens: bool,
    /// Unique prompts in the synthetic dataset (not the request count).
    #[arg(long, alias = "num-dataset-entries")]
    num_prompts: Option<u64>,
    /// Extra request body fields: `key:value` (repeatable) or a JSON object.
    #[arg(long)]
    extra_inputs: Vec<String>,
    /// Per-request timeout in seconds.
    #[arg(long)]
    request_timeout_seconds: Option<f64>,
    /// Tokenizer for client-side token counts (`builtin` = o200k_base).
    #[arg(long)]
    tokenizer: Option<String>,
    /// Take token counts from the server's `usage`.
    #[arg(long)]
    use_server_token_count: bool,
    /// Custom dataset file.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Format of --input-file (single_turn, multi_turn, mooncake_trace, ...).
    #[arg(long)]
    custom_dataset_type: Option<String>,

    /// Trials per parameter value (1-10), for confidence intervals.
    #[arg(long, default_value_t = 1)]
    num_profile_runs: u32,
    /// repeated: the whole sweep N times; independent: N trials of each value before the next.
    #[arg(long, value_enum, default_value = "repeated")]
    parameter_sweep_mode: ModeArg,
    /// Several swept lists: grid (Cartesian product) or zip (element by element).
    #[arg(long, value_enum, default_value = "grid")]
    sweep_type: SweepTypeArg,
    /// Seconds to wait between sweep values.
    #[arg(long, default_value_t = 0.0)]
    parameter_sweep_cooldown_seconds: f64,
    /// Seconds to wait between trials.
    #[arg(long, default_value_t = 0.0)]
    profile_run_cooldown_seconds: f64,
    /// Base random seed (42 when sweeping or repeating and unset); each value gets base + its index.
    #[arg(long)]
    random_seed: Option<u64>,
    /// Give every sweep value the same seed (needs --random-seed).
    #[arg(long)]
    parameter_sweep_same_seed: bool,
    /// Confidence level of the trial intervals, in (0, 1).
    #[arg(long, default_value_t = 0.95)]
    confidence_level: f64,
    /// dashboard, simple or none (simple by default in a sweep; dashboard is refused there).
    #[arg(long, value_enum, alias = "ui-type")]
    ui: Option<UiArg>,
    /// Folder under which the sweep's folder is created.
    #[arg(long, alias = "output-artifact-dir", default_value = "artifacts")]
    artifact_dir: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value = "jsonl")]
    format: Format,
    /// Print only the sweep's base folder and exit.
    #[arg(long)]
    print_base_dir: bool,
    /// Write the plan here instead of stdout.
    #[arg(short, long)]
    output: Option<PathBuf>,

    /// Refused: secrets never go into a plan; give --api-key to loadgen (scripts/profile does).
    #[arg(long, hide = true)]
    api_key: Option<String>,
    /// Refused: headers may hold secrets; give --header to loadgen (scripts/profile does).
    #[arg(short = 'H', long, hide = true)]
    header: Vec<String>,
}

fn options(cli: &Cli) -> anyhow::Result<PlanOptions> {
    if cli.api_key.is_some() || !cli.header.is_empty() {
        anyhow::bail!("--api-key/--header: secrets never go into a plan; pass them to loadgen (scripts/profile does this)");
    }
    let mut lg = Map::new();
    let mut put = |k: &str, v: Option<Value>| {
        if let Some(v) = v {
            lg.insert(k.to_string(), v);
        }
    };
    put("url", cli.url.clone().map(Value::from));
    put("endpoint", cli.endpoint.clone().map(Value::from));
    put("streaming", cli.streaming.then_some(Value::Bool(true)));
    put("arrival_pattern", cli.arrival_pattern.clone().map(Value::from));
    put("arrival_smoothness", cli.arrival_smoothness.map(Value::from));
    put(
        "benchmark_grace_period",
        cli.benchmark_grace_period.map(Value::from),
    );
    put(
        "concurrency_ramp_duration",
        cli.concurrency_ramp_duration.map(Value::from),
    );
    put(
        "use_legacy_max_tokens",
        cli.use_legacy_max_tokens.then_some(Value::Bool(true)),
    );
    put("num_prompts", cli.num_prompts.map(Value::from));
    put(
        "request_timeout_seconds",
        cli.request_timeout_seconds.map(Value::from),
    );
    put("tokenizer", cli.tokenizer.clone().map(Value::from));
    put(
        "use_server_token_count",
        cli.use_server_token_count.then_some(Value::Bool(true)),
    );
    put(
        "input_file",
        cli.input_file
            .as_ref()
            .map(|p| Value::from(p.display().to_string())),
    );
    put(
        "custom_dataset_type",
        cli.custom_dataset_type.clone().map(Value::from),
    );
    if !cli.extra_inputs.is_empty() {
        lg.insert(
            "extra_inputs".into(),
            Value::Object(sweepkit::contract::settings::parse_extra_inputs(
                &cli.extra_inputs,
            )?),
        );
    }
    let lists = [
        ("concurrency", &cli.concurrency),
        ("request_rate", &cli.request_rate),
        ("request_count", &cli.request_count),
        ("benchmark_duration", &cli.benchmark_duration),
        ("isl", &cli.isl),
        ("isl_stddev", &cli.isl_stddev),
        ("osl", &cli.osl),
        ("osl_stddev", &cli.osl_stddev),
    ]
    .into_iter()
    .filter_map(|(k, v)| v.as_ref().map(|t| (k.to_string(), t.clone())))
    .collect();
    Ok(PlanOptions {
        model: cli.model.clone(),
        endpoint_type: cli.endpoint_type.clone(),
        lists,
        sweep_type: match cli.sweep_type {
            SweepTypeArg::Grid => SweepType::Grid,
            SweepTypeArg::Zip => SweepType::Zip,
        },
        num_profile_runs: cli.num_profile_runs,
        mode: match cli.parameter_sweep_mode {
            ModeArg::Repeated => SweepMode::Repeated,
            ModeArg::Independent => SweepMode::Independent,
        },
        sweep_cooldown_seconds: cli.parameter_sweep_cooldown_seconds,
        run_cooldown_seconds: cli.profile_run_cooldown_seconds,
        random_seed: cli.random_seed,
        same_seed: cli.parameter_sweep_same_seed,
        confidence_level: cli.confidence_level,
        warmup_request_count: cli.warmup_request_count,
        ui: cli.ui.map(|u| match u {
            UiArg::Dashboard => Ui::Dashboard,
            UiArg::Simple => Ui::Simple,
            UiArg::None => Ui::None,
        }),
        artifact_dir: cli.artifact_dir.clone(),
        loadgen: lg,
    })
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let opts = options(&cli)?;
    let plan = plan::build(&opts)?;
    for n in &plan.notices {
        eprintln!("{n}");
    }
    let mut text = String::new();
    if cli.print_base_dir {
        text.push_str(&format!("{}\n", plan.layout.base_dir.display()));
    } else {
        for line in &plan.lines {
            match cli.format {
                Format::Jsonl => text.push_str(&serde_json::to_string(line)?),
                Format::Tsv => text.push_str(&plan::tsv_row(line)?),
            }
            text.push('\n');
        }
    }
    match &cli.output {
        Some(p) => sweepkit::io::atomic::write(p, text.as_bytes())?,
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Outcome::Ok)
}

fn main() -> ExitCode {
    shared::main::<Cli>("sweep-plan", run)
}
