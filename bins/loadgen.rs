//! loadgen: benchmark one setting of an OpenAI-compatible server; one AIPerf record per request.

#[path = "shared/mod.rs"]
mod shared;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::PossibleValuesParser;
use clap::Parser;
use serde_json::Value;
use sweepkit::contract::plan_line;
use sweepkit::contract::settings::{parse_extra_inputs, Settings};
use sweepkit::loadgen::options::{self, Io};

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
  loadgen -m my-model --streaming --input-file trace.jsonl --custom-dataset-type mooncake_trace";

/// Benchmark one setting of an OpenAI-compatible LLM server: closed- or open-loop load, one
/// AIPerf profile_export.jsonl record per request, streamed as each request completes.
#[derive(Parser)]
#[command(name = "loadgen", version, about, after_help = EXAMPLES)]
struct Cli {
    /// One sweep-plan line (FILE, or - for stdin) supplying the options; flags given here override it.
    #[arg(long, value_name = "FILE|-")]
    spec: Option<PathBuf>,
    /// Server base URL (http:// is prepended when no scheme is given) [default: http://localhost:8000].
    #[arg(long, short = 'u')]
    url: Option<String>,
    /// API flavour [default: chat].
    #[arg(long, value_parser = PossibleValuesParser::new(["chat", "completions", "embeddings"]))]
    endpoint_type: Option<String>,
    /// Request path override [default: per type, e.g. /v1/chat/completions].
    #[arg(long, alias = "custom-endpoint")]
    endpoint: Option<String>,
    /// Model name sent in every request (required).
    #[arg(long, short = 'm', alias = "model-names")]
    model: Option<String>,
    /// Stream responses (SSE); enables TTFT, ITL and inter-chunk latency.
    #[arg(long)]
    streaming: bool,
    /// Closed loop: requests kept in flight. With --request-rate: the in-flight cap.
    #[arg(long)]
    concurrency: Option<u64>,
    /// Open loop: target requests per second.
    #[arg(long)]
    request_rate: Option<f64>,
    /// Inter-arrival pattern of --request-rate [default: poisson].
    #[arg(long, alias = "request-rate-mode", value_parser = PossibleValuesParser::new(["constant", "poisson", "gamma"]))]
    arrival_pattern: Option<String>,
    /// Gamma shape for --arrival-pattern gamma (1 = Poisson, larger = more regular) [default: 1].
    #[arg(long, alias = "vllm-burstiness")]
    arrival_smoothness: Option<f64>,
    /// Closed loop: start the --concurrency workers evenly over this many seconds instead of all at once [default: 0].
    #[arg(long)]
    concurrency_ramp_duration: Option<f64>,
    /// Requests in the profiling phase [default: --num-prompts].
    #[arg(long, alias = "num-requests")]
    request_count: Option<u64>,
    /// Seconds of load in the profiling phase (instead of --request-count).
    #[arg(long)]
    benchmark_duration: Option<f64>,
    /// Seconds to wait for in-flight requests after the duration or Ctrl-C; then they are cancelled [default: 30].
    #[arg(long)]
    benchmark_grace_period: Option<f64>,
    /// Warmup requests before profiling (records marked benchmark_phase=warmup) [default: 0].
    #[arg(long, alias = "num-warmup-requests")]
    warmup_request_count: Option<u64>,
    /// Synthetic prompt length in tokens (mean) [default: 550].
    #[arg(long, alias = "synthetic-input-tokens-mean")]
    isl: Option<u64>,
    /// Standard deviation of the prompt length [default: 0].
    #[arg(long, alias = "synthetic-input-tokens-stddev")]
    isl_stddev: Option<f64>,
    /// Output tokens requested (mean), sent as max_completion_tokens [default: server decides].
    #[arg(long, alias = "output-tokens-mean")]
    osl: Option<u64>,
    /// Standard deviation of the output length [default: 0].
    #[arg(long, alias = "output-tokens-stddev")]
    osl_stddev: Option<f64>,
    /// Send max_tokens instead of max_completion_tokens.
    #[arg(long)]
    use_legacy_max_tokens: bool,
    /// Distinct prompts in the dataset; also the run size without --request-count/--benchmark-duration [default: 100].
    #[arg(long, alias = "num-dataset-entries")]
    num_prompts: Option<u64>,
    /// Seed of every random choice (prompts, arrivals) [default: 0].
    #[arg(long)]
    random_seed: Option<u64>,
    /// Merged into every request body: key:value (value parsed as JSON if it is JSON) or a JSON object. Repeatable.
    #[arg(long, value_name = "K:V")]
    extra_inputs: Vec<String>,
    /// Extra request header Name:Value (never written to any output). Repeatable.
    #[arg(long, short = 'H', value_name = "K:V")]
    header: Vec<String>,
    /// API key, sent as Authorization: Bearer (never written to any output).
    #[arg(long, env = "OPENAI_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Per-request timeout in seconds; a timed-out request is an error record [default: 21600].
    #[arg(long)]
    request_timeout_seconds: Option<f64>,
    /// Client-side token counting: builtin (tiktoken o200k_base, offline) or a local tokenizer.json [default: builtin].
    #[arg(long)]
    tokenizer: Option<String>,
    /// Take token counts from the server's usage instead of the client tokenizer.
    #[arg(long)]
    use_server_token_count: bool,
    /// Requests from a JSONL file instead of synthetic prompts.
    #[arg(long)]
    input_file: Option<PathBuf>,
    /// Format of --input-file [default: single_turn].
    #[arg(long, value_parser = PossibleValuesParser::new(["single_turn", "mooncake_trace"]))]
    custom_dataset_type: Option<String>,
    /// Write the exact request bodies here (AIPerf's inputs.json).
    #[arg(long, value_name = "FILE")]
    inputs_out: Option<PathBuf>,
    /// Write the run info here (resolved config, phase windows, client health).
    #[arg(long, value_name = "FILE")]
    run_info_out: Option<PathBuf>,
    /// Records to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    output: Option<PathBuf>,
    /// Flush every record as it is written (live pipelines).
    #[arg(long)]
    line_buffered: bool,
    /// Run the event loop at real-time priority (SCHED_FIFO 1; needs root or CAP_SYS_NICE) so other jobs on a shared machine cannot delay timestamps.
    #[arg(long)]
    realtime: bool,
    /// Also trust the root certificates in this PEM file (https endpoints with a private or self-signed CA).
    #[arg(long, value_name = "FILE")]
    ca_cert: Option<PathBuf>,
    /// Progress display on stderr (only on a terminal) [default: simple].
    #[arg(long, value_parser = PossibleValuesParser::new(["simple", "none"]))]
    ui: Option<String>,
}

fn enum_of<T: serde::de::DeserializeOwned>(v: Option<String>) -> anyhow::Result<Option<T>> {
    v.map(|s| serde_json::from_value(Value::String(s)).map_err(anyhow::Error::from))
        .transpose()
}

/// The command line as run, with secret values replaced.
fn redacted_command() -> String {
    let mut out = Vec::new();
    let mut hide_next = false;
    for a in std::env::args() {
        if hide_next {
            out.push("<redacted>".to_string());
            hide_next = false;
            continue;
        }
        if a == "--api-key" || a == "--header" || a == "-H" {
            hide_next = true;
            out.push(a);
        } else if let Some((flag, _)) = a
            .split_once('=')
            .filter(|(f, _)| *f == "--api-key" || *f == "--header")
        {
            out.push(format!("{flag}=<redacted>"));
        } else if a.starts_with("-H") && a.len() > 2 {
            out.push("-H<redacted>".into());
        } else {
            out.push(a);
        }
    }
    if let Some(first) = out.first_mut() {
        *first = "loadgen".into();
    }
    out.join(" ")
}

fn run(cli: Cli) -> anyhow::Result<sweepkit::io::outcome::Outcome> {
    let flags = Settings {
        url: cli.url,
        endpoint_type: enum_of(cli.endpoint_type)?,
        endpoint: cli.endpoint,
        model: cli.model,
        streaming: cli.streaming.then_some(true),
        concurrency: cli.concurrency,
        request_rate: cli.request_rate,
        arrival_pattern: enum_of(cli.arrival_pattern)?,
        arrival_smoothness: cli.arrival_smoothness,
        concurrency_ramp_duration: cli.concurrency_ramp_duration,
        request_count: cli.request_count,
        benchmark_duration: cli.benchmark_duration,
        benchmark_grace_period: cli.benchmark_grace_period,
        warmup_request_count: cli.warmup_request_count,
        isl: cli.isl,
        isl_stddev: cli.isl_stddev,
        osl: cli.osl,
        osl_stddev: cli.osl_stddev,
        use_legacy_max_tokens: cli.use_legacy_max_tokens.then_some(true),
        num_prompts: cli.num_prompts,
        random_seed: cli.random_seed,
        extra_inputs: if cli.extra_inputs.is_empty() {
            None
        } else {
            Some(parse_extra_inputs(&cli.extra_inputs)?)
        },
        request_timeout_seconds: cli.request_timeout_seconds,
        tokenizer: cli.tokenizer,
        use_server_token_count: cli.use_server_token_count.then_some(true),
        input_file: cli.input_file,
        custom_dataset_type: enum_of(cli.custom_dataset_type)?,
        ui: enum_of(cli.ui)?,
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
        api_key: cli.api_key.filter(|k| !k.is_empty()),
        headers: options::parse_headers(&cli.header)?,
        cli_command: redacted_command(),
        realtime: cli.realtime,
        ca_cert: cli.ca_cert,
    };
    let opts = options::resolve(settings, io, place)?;
    sweepkit::io::interrupt::install();
    sweepkit::loadgen::run(opts)
}

fn main() -> ExitCode {
    shared::main::<Cli>("loadgen", run)
}
