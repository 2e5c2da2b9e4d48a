//! loadgen: benchmark one setting of an OpenAI-compatible server; one AIPerf record per request.

#[path = "shared/load_args.rs"]
mod load_args;
#[path = "shared/mod.rs"]
mod shared;

use std::path::PathBuf;
use std::process::ExitCode;

use load_args::LoadArgs;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Parser;
use sweepkit::contract::plan_line;
use sweepkit::contract::settings::{FlagValue, Settings, Ui};
use sweepkit::io::redact;
use sweepkit::loadgen::options::{self, HttpClient, Io};
use sweepkit::loadgen::shard::{self, Placement, ShardSpec};

const EXAMPLES: &str = "EXAMPLES:
  # 200 streaming chat requests, 8 at a time, records to a file, run info beside it
  loadgen --url 127.0.0.1:8000 --model mock-model --streaming --concurrency 8 \\
      --request-count 200 --osl 32 --extra-inputs ignore_eos:true --output profile_export.jsonl \\
      --run-info-out run_info.json

  # open loop: 50 req/s Poisson for 30 s, capped at 64 in flight, straight into the summary
  loadgen -m mock-model --streaming --request-rate 50 --concurrency 64 --benchmark-duration 30 \\
      | trial-agg -

  # one run of a sweep plan (flags override the plan line)
  sed -n 3p plan.jsonl | loadgen --spec - --api-key \"$OPENAI_API_KEY\" --output run3.jsonl

  # replay a Mooncake trace on its own schedule
  loadgen -m my-model --streaming --input-file trace.jsonl --custom-dataset-type mooncake_trace

  # shard 2 of 4 of one benchmark, every shard starting its profiling phase at the same instant
  loadgen -m my-model --streaming --concurrency 64 --request-count 4000 --shard 2/4 \\
      --start-at 2026-11-28T23:40:00Z --output shard_2.jsonl --run-info-out run_info_2.json

  # Anthropic Messages API, token counts with the model's own tokenizer from the local HF cache
  loadgen -m meta-llama/Llama-3.1-8B-Instruct --endpoint-type messages --streaming \\
      --tokenizer meta-llama/Llama-3.1-8B-Instruct --isl 1024 --osl 128 --concurrency 16";

/// Benchmark one setting of an OpenAI-compatible LLM server.
///
/// Closed- or open-loop load, one AIPerf profile_export.jsonl record per request, streamed as each
/// request completes; the run info (resolved settings, phase windows, client health) beside it.
#[derive(Parser)]
#[command(name = "loadgen", version, after_help = EXAMPLES)]
struct Cli {
    /// One sweep-plan line (FILE, or - for stdin) supplying the options; flags given here override it.
    #[arg(long, value_name = "FILE|-")]
    spec: Option<PathBuf>,
    #[command(flatten)]
    load: LoadArgs,
    /// Extra request header Name:Value (never written to any output). Repeatable.
    #[arg(long, short = 'H', value_name = "K:V")]
    header: Vec<String>,
    /// API key, sent as Authorization: Bearer (x-api-key for --endpoint-type messages; never written to any output).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Write the exact request bodies here (AIPerf's inputs.json).
    #[arg(long, value_name = "FILE")]
    inputs_out: Option<PathBuf>,
    /// Write the run info here (resolved config, phase windows, client health).
    #[arg(long, value_name = "FILE")]
    run_info_out: Option<PathBuf>,
    /// With --network-latency-automatic: write the round-trip probe's samples here [default: beside --output, AIPerf's profile_export_network_latency.jsonl beside profile_export.jsonl].
    #[arg(long, value_name = "FILE")]
    network_latency_out: Option<PathBuf>,
    /// Records to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Flush every record as it is written (live pipelines).
    #[arg(long)]
    line_buffered: bool,
    /// Run the event loop at real-time priority (SCHED_FIFO 1; needs root or CAP_SYS_NICE) so other jobs on a shared machine cannot delay timestamps.
    #[arg(long)]
    realtime: bool,
    /// Event-loop threads, each with its own connections (closed loop: the concurrency is split; open loop: one schedule dealt round-robin; a multi-turn session or user stays on one thread) [default: the CPUs available, capped by --concurrency or --num-users].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=1024))]
    workers: Option<u64>,
    /// Also trust the root certificates in this PEM file (https endpoints with a private or self-signed CA).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Client for plain http: builtin (sweepkit's HTTP/1.1 client) or reqwest (hyper), for side-by-side benchmarks.
    #[arg(long, hide = true, value_parser = ["builtin", "reqwest"], default_value = "builtin")]
    http_client: String,
    /// Progress display on stderr, only on a terminal: simple (a bar), dashboard (a full-screen live view; q or Ctrl-C stops like Ctrl-C; simple where the terminal cannot show it: NO_COLOR, TERM=dumb) or none [default: simple].
    #[arg(long, value_parser = PossibleValuesParser::new(Ui::NAMES).map(|s| Ui::parse(&s).expect("listed")))]
    ui: Option<Ui>,
    // --shard and --start-at place this process among the processes of one benchmark; they are
    // not load settings (a plan never sweeps them), so they live here, not in LoadArgs.
    /// Run shard I of N of this benchmark (1-based: 1/4 .. 4/4): its share of --concurrency, --request-rate, --request-count and the dataset; records tagged metadata.shard. trial-agg merges the shards' files.
    #[arg(long, value_name = "I/N", value_parser = ShardSpec::parse)]
    shard: Option<ShardSpec>,
    /// Start the profiling phase at this wall-clock instant (RFC 3339 with a zone, or epoch seconds), so that shards on several hosts measure the same window; a time already past starts at once, with a warning.
    #[arg(long, value_name = "TIME", value_parser = shard::parse_start_at)]
    start_at: Option<u64>,
}

/// The command line as run, with secret values replaced.
fn redacted_command() -> String {
    let mut out = redact::args(std::env::args());
    if let Some(first) = out.first_mut() {
        *first = "loadgen".into();
    }
    out.join(" ")
}

fn run(cli: Cli) -> anyhow::Result<sweepkit::io::outcome::Outcome> {
    let flags = Settings {
        ui: cli.ui,
        ..cli.load.single_settings()?
    };
    let (settings, place) = match &cli.spec {
        Some(path) => {
            let line = plan_line::read_one(path)?;
            (flags.over(line.effective_settings())?, line.place)
        }
        None => (flags, Default::default()),
    };
    let io = Io {
        output: cli.output,
        line_buffered: cli.line_buffered,
        inputs_out: cli.inputs_out,
        run_info_out: cli.run_info_out,
        network_latency_out: cli.network_latency_out,
        api_key: cli.api_key.filter(|k| !k.is_empty()),
        headers: options::parse_headers(&cli.header)?,
        cli_command: redacted_command(),
        realtime: cli.realtime,
        workers: cli.workers.map(|n| n as usize),
        ca_cert: cli.ca_cert,
        http_client: if cli.http_client == "reqwest" {
            HttpClient::Reqwest
        } else {
            HttpClient::Builtin
        },
    };
    if let Some(u) = settings
        .normalized_urls()?
        .iter()
        .find(|u| redact::lost_a_secret(u))
    {
        anyhow::bail!("--spec: the URL {u} lost its secret when the plan was written (plans never hold one): give the real URL again with --url");
    }
    let (settings, placement) = Placement::split(settings, cli.shard, cli.start_at)?;
    settings.check_files()?;
    let mut opts = options::resolve(settings, io, place)?;
    opts.place(placement);
    sweepkit::io::interrupt::install_for_setup(
        "\nloadgen: interrupted while preparing the run: nothing was sent\n",
    );
    if let Some(until) = opts.placement.as_ref().and_then(|p| p.start_at_ns) {
        let clock = sweepkit::io::clock::Clock::new();
        if let Some(secs) = until.checked_sub(clock.now_ns()).map(|ns| ns as f64 / 1e9) {
            eprintln!(
                "loadgen: --start-at: the profiling phase waits until {}Z ({secs:.1} s from now); Ctrl-C ends the run with nothing sent",
                sweepkit::io::clock::iso_utc(until)
            );
        }
    }
    // The dashboard's screen is gone when the run ends: the summary line stays, as after the bar.
    let simple = matches!(opts.ui, Ui::Simple | Ui::Dashboard);
    let report = sweepkit::loadgen::benchmark(opts);
    for w in &report.warnings {
        eprintln!("loadgen: warning: {}", redact::text(w));
    }
    if let (true, Some(s)) = (simple, &report.summary) {
        eprintln!("loadgen: {}", redact::text(&s.to_string()));
    }
    report.result
}

fn main() -> ExitCode {
    // Keep freed memory in the process: per-request buffers come and go at a high rate, and
    // returning pages to the kernel only to fault them back in costs CPU on the hot path.
    // SAFETY: mallopt only tunes glibc's allocator, before any thread starts.
    unsafe {
        libc::mallopt(libc::M_TRIM_THRESHOLD, 256 << 20);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
    }
    shared::main::<Cli>("loadgen", run)
}
