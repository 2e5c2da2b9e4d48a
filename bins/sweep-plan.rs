//! sweep-plan: turns an `aiperf profile`-style command line into a plan, one JSONL line per run.

#[path = "shared/load_args.rs"]
mod load_args;
#[path = "shared/mod.rs"]
mod shared;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{CommandFactory, Parser, ValueEnum};
use load_args::LoadArgs;
use sweepkit::artifacts::layout::SweepMode;
use sweepkit::contract::plan_line::PlanLine;
use sweepkit::contract::settings::Sweepable;
use sweepkit::io::outcome::Outcome;
use sweepkit::io::redact;
use sweepkit::plan::{self, ExplicitSweep, PlanOptions, SweepType, Ui};

const EXAMPLES: &str = "EXAMPLES:
  # The guide's sweep with 5 trials each, as a plan (one line per run, in execution order):
  sweep-plan --model llama-3-8b --url http://localhost:8000 --concurrency 10,20,30,40 \\
      --num-profile-runs 5

  # Feed one run to loadgen:
  sweep-plan -m llama-3-8b --concurrency 1,2,4 | head -n 1 | loadgen --spec - --output out.jsonl

  # Shell-friendly rows (run index, cooldown, folder, spec) for a loop, as scripts/profile does:
  sweep-plan -m llama-3-8b --concurrency 1,2,4 --format tsv \\
      | while IFS=$'\\t' read -r i cool dir spec; do echo \"$i $dir\"; done

  # A Makefile campaign: make runs what is missing, never two runs at once:
  sweep-plan -m m --concurrency 1,2,4 --num-profile-runs 3 --format make -o sweep.mk
  make -f sweep.mk SWEEPKIT_BIN=target/release/

  # Hand-picked named runs (AIPerf's scenarios sweep), each in a folder named after it:
  sweep-plan -m m --variant 'short: isl=128, osl=64' --variant 'long: isl=2048, osl=512, concurrency=4'

  # 8 quasi-random points over concurrency x request rate (AIPerf's sobol sweep, from a file):
  sweep-plan -m m --sweep-config sobol.yaml

  # A grid of concurrency x input length, all trials of a value before the next:
  sweep-plan -m m --concurrency 4,16 --isl 128,1024 --num-profile-runs 3 \\
      --parameter-sweep-mode independent";

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    /// One JSON object per run (Contract A).
    Jsonl,
    /// `run_index<TAB>cooldown_seconds<TAB>artifact_dir<TAB>json` per run, for shell loops.
    Tsv,
    /// A Makefile fragment: each run's summary a target, the aggregates depending on them (make -f FILE).
    Make,
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
/// One line per run (one trial at one parameter combination), in execution order, each a complete
/// loadgen spec plus its place: run index, trial, parameters, seed, artifact folder and the
/// cooldown to wait before it. A comma list on --concurrency, --request-rate, --request-count,
/// --benchmark-duration, --isl, --isl-stddev, --osl or --osl-stddev is a sweep (several lists: a
/// grid, or --sweep-type zip). The load flags are loadgen's own, checked by the same rules, so a
/// plan never holds a run that loadgen would refuse.
#[derive(Parser)]
#[command(name = "sweep-plan", version, after_help = EXAMPLES)]
struct Cli {
    #[command(flatten)]
    load: LoadArgs,

    /// Trials per parameter value (1-10), for confidence intervals.
    #[arg(long, default_value_t = 1)]
    num_profile_runs: u32,
    /// repeated: the whole sweep N times; independent: N trials of each value before the next.
    #[arg(long, value_enum, default_value = "repeated")]
    parameter_sweep_mode: ModeArg,
    /// Several swept lists: grid (Cartesian product) or zip (element by element).
    #[arg(long, value_enum, default_value = "grid")]
    sweep_type: SweepTypeArg,
    /// One named run of a scenarios sweep: '[name:] key=value, key=value' (give it twice or more).
    /// Keys are list flags without '--' (isl, osl, concurrency, request-rate, ...); the run's folder
    /// is its name (v0, v1, ... when none is given). Not with comma lists.
    #[arg(long, alias = "sweep-variant", value_name = "[NAME:] KEY=VALUE,...")]
    variant: Vec<String>,
    /// AIPerf's config file (YAML, or JSON when named .json) with a sobol or latin_hypercube sweep
    /// block (points over ranges): {"type": "sobol", "samples": 8, "seed": 1, "dimensions": [{"path":
    /// "concurrency", "lo": 1, "hi": 64, "scale": "log", "kind": "int"}]}, alone or under "sweep:"
    /// beside random_seed: and multi_run:. See docs/sweeps.md.
    #[arg(long, value_name = "FILE.yaml", conflicts_with = "variant")]
    sweep_config: Option<PathBuf>,
    /// Seconds to wait between sweep values.
    #[arg(long, default_value_t = 0.0)]
    parameter_sweep_cooldown_seconds: f64,
    /// Seconds to wait between trials.
    #[arg(long, default_value_t = 0.0)]
    profile_run_cooldown_seconds: f64,
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
    /// Check that the plan equals this saved plan (what --resume needs): exit 1, naming the first
    /// differing run and setting, when it does not; nothing is written either way.
    #[arg(long, value_name = "PLAN.jsonl", conflicts_with_all = ["output", "print_base_dir"])]
    same_as: Option<PathBuf>,

    /// Print these words (a command line) without secrets, each ending in a NUL byte, and exit:
    /// URL passwords and secret-looking query values, --api-key and --header values redacted
    /// (scripts/profile writes benchmark_command.txt with it)
    #[arg(long, num_args = 0.., allow_hyphen_values = true, value_name = "WORD", exclusive = true)]
    redact_args: Option<Vec<String>>,

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
    let mut opts = PlanOptions {
        base: cli.load.base_settings()?,
        lists: cli.load.lists(),
        sweep_type: match cli.sweep_type {
            SweepTypeArg::Grid => SweepType::Grid,
            SweepTypeArg::Zip => SweepType::Zip,
        },
        explicit: explicit_sweep(cli)?,
        num_profile_runs: cli.num_profile_runs,
        mode: match cli.parameter_sweep_mode {
            ModeArg::Repeated => SweepMode::Repeated,
            ModeArg::Independent => SweepMode::Independent,
        },
        sweep_cooldown_seconds: cli.parameter_sweep_cooldown_seconds,
        run_cooldown_seconds: cli.profile_run_cooldown_seconds,
        same_seed: cli.parameter_sweep_same_seed,
        confidence_level: cli.confidence_level,
        ui: cli.ui.map(|u| match u {
            UiArg::Dashboard => Ui::Dashboard,
            UiArg::Simple => Ui::Simple,
            UiArg::None => Ui::None,
        }),
        artifact_dir: cli.artifact_dir.clone(),
    };
    if let Some((file, f)) = sweep_file(cli)? {
        f.apply(&file, &mut opts)?;
        opts.explicit = Some(ExplicitSweep::Sobol { sweep: f.sweep, file });
    }
    Ok(opts)
}

/// The `--sweep-config` file, read, with its name for messages.
fn sweep_file(cli: &Cli) -> anyhow::Result<Option<(String, plan::sweep_file::SweepFile)>> {
    let Some(path) = &cli.sweep_config else {
        return Ok(None);
    };
    let file = path.display().to_string();
    let text = sweepkit::io::capped::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("--sweep-config {file}: cannot read: {e}"))?;
    let f = plan::sweep_file::SweepFile::parse(&text, &file)?;
    Ok(Some((file, f)))
}

/// The sweep `--variant` declares, if any (a `--sweep-config` file's is set by `options`).
fn explicit_sweep(cli: &Cli) -> anyhow::Result<Option<ExplicitSweep>> {
    if cli.variant.is_empty() {
        return Ok(None);
    }
    let cmd = Cli::command();
    // A key is any spelling of a list flag: its long name or an alias, kebab- or snake-case.
    let key = |k: &str| -> Option<Sweepable> {
        let k = k.replace('_', "-");
        let arg = cmd.get_arguments().find(|a| {
            a.get_long() == Some(k.as_str()) || a.get_all_aliases().is_some_and(|al| al.contains(&k.as_str()))
        })?;
        Sweepable::ALL
            .iter()
            .copied()
            .find(|p| p.key() == arg.get_id().as_str())
    };
    Ok(Some(ExplicitSweep::Scenarios(plan::scenarios::parse_all(
        &cli.variant,
        key,
    )?)))
}

fn run(cli: Cli) -> anyhow::Result<Outcome> {
    if let Some(words) = cli.redact_args {
        let mut out = std::io::stdout().lock();
        for w in redact::args(words) {
            out.write_all(w.as_bytes())?;
            out.write_all(b"\0")?;
        }
        out.flush()?;
        return Ok(Outcome::Ok);
    }
    let opts = options(&cli)?;
    let plan = plan::build(&opts)?;
    // Checked as loadgen will check them with its tokenizer: the model's context, the input file.
    let warnings = match cli.print_base_dir {
        true => Vec::new(),
        false => {
            let runs: Vec<_> = plan.lines.iter().map(|l| &l.loadgen).collect();
            sweepkit::loadgen::dataset::check_planned(&runs)?
        }
    };
    if let Some(saved) = &cli.same_as {
        let inputs = sweepkit::io::jsonl::open_inputs(std::slice::from_ref(saved))?;
        let (lines, _) = sweepkit::io::jsonl::read_all::<PlanLine>(inputs)?;
        // The saved lines hold redacted URLs: compare with this plan as it would be written.
        let written = plan
            .lines
            .iter()
            .map(|l| serde_json::from_value(serde_json::to_value(l)?))
            .collect::<Result<Vec<PlanLine>, _>>()?;
        return Ok(match plan::compare::first_difference(&lines, &written) {
            None => Outcome::Ok,
            Some(d) => {
                eprintln!("sweep-plan: not the plan in {}: {d}", saved.display());
                Outcome::Negative
            }
        });
    }
    // Said once per sweep: not again for a sweep already planned (its plan.jsonl is there), nor
    // when only its folder is asked for.
    let planned = plan
        .layout
        .base_dir
        .join(sweepkit::artifacts::PLAN_JSONL)
        .exists();
    if !cli.print_base_dir && !planned {
        for n in &plan.notices {
            eprintln!("{n}");
        }
        for w in &warnings {
            eprintln!("sweep-plan: warning: {w}");
        }
        if let Some(n) = plan
            .lines
            .first()
            .and_then(|l| sweepkit::plan::output_length::server_decides(&l.loadgen))
        {
            eprintln!("sweep-plan: {n}");
        }
    }
    let mut text = String::new();
    if cli.print_base_dir {
        text.push_str(&format!("{}\n", plan.layout.base_dir.display()));
    } else {
        if let Format::Make = cli.format {
            let command: Vec<String> = redact::args(std::env::args())
                .iter()
                .map(|a| shell_word(a))
                .collect();
            text.push_str(&plan::makefile::fragment(&plan, &command.join(" "))?);
        }
        for line in plan.lines.iter().filter(|_| !matches!(cli.format, Format::Make)) {
            match cli.format {
                Format::Jsonl | Format::Make => text.push_str(&serde_json::to_string(line)?),
                Format::Tsv => text.push_str(&line.tsv_row()?),
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

/// An argument as the fragment's comment shows it (quoted when it has to be).
fn shell_word(a: &str) -> String {
    if !a.is_empty()
        && a.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_./:,=@%+-".contains(&b))
    {
        a.to_string()
    } else {
        format!("'{}'", a.replace('\'', "'\\''"))
    }
}

fn main() -> ExitCode {
    shared::main::<Cli>("sweep-plan", run)
}
