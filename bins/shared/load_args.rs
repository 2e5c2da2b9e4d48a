//! The load flags, declared once: loadgen flattens them to run one setting, sweep-plan flattens the
//! same struct to write a plan. The flags a sweep may list take comma lists in both; loadgen
//! refuses a list with more than one value. Values are typed and range-checked here by one set of
//! parsers, so both tools refuse a bad value with the same message; the combinations are checked
//! by the library's `Settings::check`, which both tools call.

use std::path::PathBuf;

use clap::builder::{PossibleValuesParser, TypedValueParser};
use clap::Args;
use sweepkit::contract::seconds::Seconds;
use sweepkit::contract::settings::{
    parse_extra_inputs, ArrivalPattern, DatasetType, EndpointType, FlagValue, Settings, Sweepable, Urls,
};

/// An enum flag parsed by its serde names, listed in `--help` and in the error for a bad value.
fn one_of<T: FlagValue + Clone + Send + Sync>() -> impl TypedValueParser<Value = T> {
    PossibleValuesParser::new(T::NAMES).map(|s| T::parse(&s).expect("a listed name parses"))
}

/// An empty item (`10,,20`) says so rather than "not a number".
fn nonempty(s: &str) -> Result<(), String> {
    if s.trim().is_empty() {
        return Err("empty value: give a number, or a comma list like 10,20,30".into());
    }
    Ok(())
}

/// A whole number ≥ 1.
fn count(s: &str) -> Result<u64, String> {
    nonempty(s)?;
    let n = whole(s)?;
    if n == 0 {
        return Err("must be at least 1".into());
    }
    Ok(n)
}

/// A whole number ≥ 0.
fn whole(s: &str) -> Result<u64, String> {
    nonempty(s)?;
    s.trim().parse().map_err(|_| {
        if s.trim().parse::<f64>().is_ok_and(|x| x < 0.0) {
            "must not be negative".to_string()
        } else {
            "not a whole number (e.g. 8)".to_string()
        }
    })
}

fn real(s: &str) -> Result<f64, String> {
    nonempty(s)?;
    s.trim()
        .parse::<f64>()
        .ok()
        .filter(|x| !x.is_nan())
        .ok_or_else(|| "not a number (e.g. 2.5)".to_string())
}

/// A finite number > 0.
fn positive(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    if !(x.is_finite() && x > 0.0) {
        return Err("must be a positive number".into());
    }
    Ok(x)
}

/// A finite number ≥ 0.
fn non_negative(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    if !(x.is_finite() && x >= 0.0) {
        return Err("must be a number >= 0".into());
    }
    Ok(x)
}

/// A fraction in (0, 1].
fn fraction(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    if !(x > 0.0 && x <= 1.0) {
        return Err("must be a fraction in (0, 1], e.g. 0.5".into());
    }
    Ok(x)
}

/// A percentage in [0, 100].
fn percent(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    if !(0.0..=100.0).contains(&x) {
        return Err("must be a percentage from 0 to 100".into());
    }
    Ok(x)
}

/// A number of seconds ≥ 0; `inf` waits for ever.
fn seconds_or_inf(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    if x == f64::INFINITY {
        return Ok(x);
    }
    Seconds::new(x).map_err(|why| format!("{why}, or inf"))?;
    Ok(x)
}

/// A duration in seconds, through the one checked type ([`Seconds`]).
fn seconds(s: &str) -> Result<f64, String> {
    Ok(Seconds::new(real(s)?)?.secs())
}

/// A duration in seconds > 0.
fn positive_seconds(s: &str) -> Result<f64, String> {
    let x = seconds(s)?;
    if x == 0.0 {
        return Err("must be a positive number of seconds".into());
    }
    Ok(x)
}

/// A duration in milliseconds, through the one checked type.
fn millis(s: &str) -> Result<f64, String> {
    let x = real(s)?;
    Seconds::from_ms(x)?;
    Ok(x)
}

/// Every loadgen setting a command line can give (secrets and outputs are not settings: each
/// tool declares those itself).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Server base URL (http:// is prepended when no scheme is given) [default: http://localhost:8000].
    /// Given several times: server replicas, requests spread over them round-robin.
    #[arg(long, short = 'u', action = clap::ArgAction::Append)]
    pub url: Vec<String>,
    /// API flavour [default: chat].
    #[arg(long, value_parser = one_of::<EndpointType>())]
    pub endpoint_type: Option<EndpointType>,
    /// Request path override [default: per type, e.g. /v1/chat/completions].
    #[arg(long, alias = "custom-endpoint")]
    pub endpoint: Option<String>,
    /// Model name sent in every request (required).
    #[arg(long, short = 'm', alias = "model-names")]
    pub model: Option<String>,
    /// Stream responses (SSE); enables TTFT, ITL and inter-chunk latency.
    #[arg(long)]
    pub streaming: bool,

    /// Closed loop: requests kept in flight. With --request-rate: the in-flight cap. Sweepable: 10,20,40.
    #[arg(long, allow_negative_numbers = true, value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub concurrency: Vec<u64>,
    /// Open loop: target requests per second. Sweepable: 5,10,20.
    #[arg(long, allow_negative_numbers = true, value_name = "RPS[,RPS...]", value_delimiter = ',', value_parser = positive)]
    pub request_rate: Vec<f64>,
    /// Inter-arrival pattern of --request-rate [default: poisson].
    #[arg(long, alias = "request-rate-mode", value_parser = one_of::<ArrivalPattern>())]
    pub arrival_pattern: Option<ArrivalPattern>,
    /// Gamma shape for --arrival-pattern gamma (1 = Poisson, larger = more regular) [default: 1].
    #[arg(long, allow_negative_numbers = true, alias = "vllm-burstiness", value_parser = positive)]
    pub arrival_smoothness: Option<f64>,
    /// Closed loop: start the --concurrency workers evenly over this many seconds instead of all at once [default: 0].
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = seconds)]
    pub concurrency_ramp_duration: Option<f64>,
    /// Requests in the profiling phase [default: --num-prompts]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "num-requests", value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub request_count: Vec<u64>,
    /// Seconds of load in the profiling phase (instead of --request-count). Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',', value_parser = positive_seconds)]
    pub benchmark_duration: Vec<f64>,
    /// Seconds to wait for in-flight requests after the duration or Ctrl-C; then they are cancelled [default: 30].
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = seconds_or_inf)]
    pub benchmark_grace_period: Option<f64>,
    /// Warmup requests before profiling (records marked benchmark_phase=warmup; in a sweep, first trial of each value only) [default: 0].
    #[arg(long, allow_negative_numbers = true, alias = "num-warmup-requests", value_parser = whole)]
    pub warmup_request_count: Option<u64>,
    /// Synthetic prompt length in tokens (mean) [default: 550]. Sweepable.
    #[arg(
        long,
        allow_negative_numbers = true,
        aliases = ["synthetic-input-tokens-mean", "prompt-input-tokens-mean"],
        value_name = "TOKENS[,...]",
        value_delimiter = ',',
        value_parser = count
    )]
    pub isl: Vec<u64>,
    /// Standard deviation of the prompt length [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "synthetic-input-tokens-stddev", value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = non_negative)]
    pub isl_stddev: Vec<f64>,
    /// Output tokens requested (mean), sent as max_completion_tokens [default: server decides]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "output-tokens-mean", value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = count)]
    pub osl: Vec<u64>,
    /// Standard deviation of the output length [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "output-tokens-stddev", value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = non_negative)]
    pub osl_stddev: Vec<f64>,
    /// Send max_tokens instead of max_completion_tokens.
    #[arg(long)]
    pub use_legacy_max_tokens: bool,
    /// Rankings endpoint types: passages per synthetic request (the query is --isl tokens) [default: 1].
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = count)]
    pub rankings_passages_mean: Option<u64>,
    /// Rankings endpoint types: tokens per synthetic passage [default: 550].
    #[arg(long, allow_negative_numbers = true, value_name = "TOKENS", value_parser = count)]
    pub rankings_passages_prompt_token_mean: Option<u64>,
    /// Distinct prompts in the dataset; also the run size without --request-count/--benchmark-duration [default: 100].
    #[arg(long, allow_negative_numbers = true, alias = "num-dataset-entries", value_parser = count)]
    pub num_prompts: Option<u64>,
    /// Seed of every random choice (prompts, arrivals) [default: 0; in a sweep or with trials 42, plus the value's index].
    #[arg(long, allow_negative_numbers = true)]
    pub random_seed: Option<u64>,
    /// Merged into every request body: key:value (value parsed as JSON if it is JSON) or a JSON object. Repeatable.
    #[arg(long, value_name = "K:V")]
    pub extra_inputs: Vec<String>,
    /// Per-request timeout in seconds; a timed-out request is an error record [default: 21600].
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = positive_seconds)]
    pub request_timeout_seconds: Option<f64>,
    /// Client-side token counting: builtin (tiktoken o200k_base), a tokenizer.json, a model folder holding one, or a Hugging Face model id found in the local cache ($HF_HOME/hub; never downloaded) [default: builtin].
    #[arg(long)]
    pub tokenizer: Option<String>,
    /// Revision (branch, tag or commit) of a --tokenizer model id in the Hugging Face cache [default: main].
    #[arg(long, value_name = "REV")]
    pub tokenizer_revision: Option<String>,
    /// Accepted for AIPerf command lines; sweepkit only reads tokenizer.json and runs no tokenizer code.
    #[arg(long)]
    pub tokenizer_trust_remote_code: bool,
    /// Take token counts from the server's usage instead of the client tokenizer.
    #[arg(long)]
    pub use_server_token_count: bool,
    /// Requests from a JSONL file instead of synthetic prompts.
    #[arg(long)]
    pub input_file: Option<PathBuf>,
    /// Format of --input-file [default: single_turn].
    #[arg(long, value_parser = one_of::<DatasetType>())]
    pub custom_dataset_type: Option<DatasetType>,
    /// Stop the run (a failed run, exit 2) once this many requests have failed.
    #[arg(long, allow_negative_numbers = true, value_name = "N", value_parser = count)]
    pub max_errors: Option<u64>,
    /// Stop the run once this share of the last 50 requests failed (e.g. 0.5).
    #[arg(long, allow_negative_numbers = true, value_name = "FRACTION", value_parser = fraction)]
    pub max_error_rate: Option<f64>,
    /// Stop the run once the server has refused every connection for this long; 0 never stops [default: 3].
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS", value_parser = seconds)]
    pub max_unreachable_seconds: Option<f64>,
    /// Percent (0-100) of profiling requests to cancel client-side (seeded draw per request, as AIPerf). Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "PERCENT[,...]", value_delimiter = ',', value_parser = percent)]
    pub request_cancellation_rate: Vec<f64>,
    /// Seconds after the request is written before a chosen request is cancelled [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',', value_parser = seconds)]
    pub request_cancellation_delay: Vec<f64>,
    /// Replay the --input-file trace on its timestamps (required for the offsets; a trace is replayed anyway unless --no-fixed-schedule).
    #[arg(long)]
    pub fixed_schedule: bool,
    /// Send a timestamped trace's rows as ordinary load (--concurrency/--request-rate), ignoring its timestamps.
    #[arg(long, conflicts_with = "fixed_schedule")]
    pub no_fixed_schedule: bool,
    /// Schedule zero = the earliest timestamp [default: on, unless --fixed-schedule-start-offset is given].
    #[arg(long)]
    pub fixed_schedule_auto_offset: bool,
    /// Drop trace rows stamped before this many ms; also the schedule zero without auto offset. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "MS[,...]", value_delimiter = ',', value_parser = whole)]
    pub fixed_schedule_start_offset: Vec<u64>,
    /// Drop trace rows stamped after this many ms (inclusive). Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "MS[,...]", value_delimiter = ',', value_parser = whole)]
    pub fixed_schedule_end_offset: Vec<u64>,
    /// Tokens per hash_ids block of a mooncake_trace [default: 512]. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = count)]
    pub isl_block_size: Vec<u64>,

    /// Sessions to start; each runs all its turns (also the synthetic dataset's size). Sweepable.
    #[arg(long, allow_negative_numbers = true, aliases = ["num-conversations", "num-sessions"], value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub conversation_num: Vec<u64>,
    /// Turns per synthetic conversation (mean); each turn resends the session's history [default: 1]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "session-turns-mean", value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub conversation_turn_mean: Vec<u64>,
    /// Standard deviation of the turns per conversation [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "session-turns-stddev", value_name = "N[,N...]", value_delimiter = ',', value_parser = non_negative)]
    pub conversation_turn_stddev: Vec<f64>,
    /// Delay before each turn after the first, from the previous reply's end, mean in ms [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "session-turn-delay-mean", value_name = "MS[,MS...]", value_delimiter = ',', value_parser = millis)]
    pub conversation_turn_delay_mean: Vec<f64>,
    /// Standard deviation of the turn delay, in ms [default: 0]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "session-turn-delay-stddev", value_name = "MS[,MS...]", value_delimiter = ',', value_parser = millis)]
    pub conversation_turn_delay_stddev: Vec<f64>,
    /// Factor on every sampled turn delay [default: 1]. Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "session-delay-ratio", value_name = "RATIO[,...]", value_delimiter = ',', value_parser = non_negative)]
    pub conversation_turn_delay_ratio: Vec<f64>,
    /// Distinct shared prefixes; each conversation's first turn starts with one of them. Sweepable.
    #[arg(long, allow_negative_numbers = true, aliases = ["prompt-prefix-pool-size", "num-prefix-prompts"], value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub prefix_prompt_pool_size: Vec<u64>,
    /// Tokens of each pool prefix (added to the ISL). Sweepable.
    #[arg(long, allow_negative_numbers = true, alias = "prompt-prefix-length", value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = whole)]
    pub prefix_prompt_length: Vec<u64>,
    /// Tokens of one system prompt shared by every request (0: none; added to the ISL). Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = whole)]
    pub shared_system_prompt_length: Vec<u64>,
    /// Tokens of a user-context message per conversation, sent on every turn (0: none; added to the ISL). Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',', value_parser = whole)]
    pub user_context_prompt_length: Vec<u64>,
    /// User-centric load: requests/s shared by --num-users users, each on AIPerf's per-user schedule. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "RPS[,RPS...]", value_delimiter = ',', value_parser = positive)]
    pub user_centric_rate: Vec<f64>,
    /// User-centric load: simulated users, each running one session at a time. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "N[,N...]", value_delimiter = ',', value_parser = count)]
    pub num_users: Vec<u64>,
    /// Clamp every turn `delay` of an --input-file (multi_turn, mooncake_trace sessions) to at most this many seconds. Sweepable.
    #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',', value_parser = seconds)]
    pub inter_turn_delay_cap_seconds: Vec<f64>,
    /// A verbatim system prompt, sent first on every request (its tokens add to the ISL; synthetic prompts).
    #[arg(long, value_name = "TEXT")]
    pub system_prompt: Option<String>,
    /// A UTF-8 text file holding the verbatim system prompt (read once, before the run).
    #[arg(long, value_name = "PATH")]
    pub system_prompt_file: Option<PathBuf>,
}

impl LoadArgs {
    /// The comma lists as given, flag by flag in sweep order (only the flags that were given).
    pub fn lists(&self) -> Vec<(Sweepable, Vec<serde_json::Value>)> {
        let ints = |v: &[u64]| v.iter().map(|&x| x.into()).collect::<Vec<serde_json::Value>>();
        let reals = |v: &[f64]| v.iter().map(|&x| x.into()).collect::<Vec<serde_json::Value>>();
        let all = [
            (Sweepable::Concurrency, ints(&self.concurrency)),
            (Sweepable::RequestRate, reals(&self.request_rate)),
            (Sweepable::RequestCount, ints(&self.request_count)),
            (Sweepable::BenchmarkDuration, reals(&self.benchmark_duration)),
            (Sweepable::Isl, ints(&self.isl)),
            (Sweepable::IslStddev, reals(&self.isl_stddev)),
            (Sweepable::Osl, ints(&self.osl)),
            (Sweepable::OslStddev, reals(&self.osl_stddev)),
            (
                Sweepable::RequestCancellationRate,
                reals(&self.request_cancellation_rate),
            ),
            (
                Sweepable::RequestCancellationDelay,
                reals(&self.request_cancellation_delay),
            ),
            (
                Sweepable::FixedScheduleStartOffset,
                ints(&self.fixed_schedule_start_offset),
            ),
            (
                Sweepable::FixedScheduleEndOffset,
                ints(&self.fixed_schedule_end_offset),
            ),
            (Sweepable::IslBlockSize, ints(&self.isl_block_size)),
            (Sweepable::ConversationNum, ints(&self.conversation_num)),
            (
                Sweepable::ConversationTurnMean,
                ints(&self.conversation_turn_mean),
            ),
            (
                Sweepable::ConversationTurnStddev,
                reals(&self.conversation_turn_stddev),
            ),
            (
                Sweepable::ConversationTurnDelayMean,
                reals(&self.conversation_turn_delay_mean),
            ),
            (
                Sweepable::ConversationTurnDelayStddev,
                reals(&self.conversation_turn_delay_stddev),
            ),
            (
                Sweepable::ConversationTurnDelayRatio,
                reals(&self.conversation_turn_delay_ratio),
            ),
            (
                Sweepable::PrefixPromptPoolSize,
                ints(&self.prefix_prompt_pool_size),
            ),
            (Sweepable::PrefixPromptLength, ints(&self.prefix_prompt_length)),
            (
                Sweepable::SharedSystemPromptLength,
                ints(&self.shared_system_prompt_length),
            ),
            (
                Sweepable::UserContextPromptLength,
                ints(&self.user_context_prompt_length),
            ),
            (Sweepable::UserCentricRate, reals(&self.user_centric_rate)),
            (Sweepable::NumUsers, ints(&self.num_users)),
            (
                Sweepable::InterTurnDelayCapSeconds,
                reals(&self.inter_turn_delay_cap_seconds),
            ),
        ];
        all.into_iter().filter(|(_, v)| !v.is_empty()).collect()
    }

    /// The settings without the list flags (a plan sets those per line).
    pub fn base_settings(&self) -> anyhow::Result<Settings> {
        Ok(Settings {
            url: Urls::from_flags(&self.url),
            endpoint_type: self.endpoint_type,
            endpoint: self.endpoint.clone(),
            model: self.model.clone(),
            streaming: self.streaming.then_some(true),
            arrival_pattern: self.arrival_pattern,
            arrival_smoothness: self.arrival_smoothness,
            concurrency_ramp_duration: self.concurrency_ramp_duration,
            benchmark_grace_period: self.benchmark_grace_period,
            warmup_request_count: self.warmup_request_count,
            use_legacy_max_tokens: self.use_legacy_max_tokens.then_some(true),
            rankings_passages_mean: self.rankings_passages_mean,
            rankings_passages_prompt_token_mean: self.rankings_passages_prompt_token_mean,
            num_prompts: self.num_prompts,
            random_seed: self.random_seed,
            extra_inputs: if self.extra_inputs.is_empty() {
                None
            } else {
                Some(parse_extra_inputs(&self.extra_inputs)?)
            },
            request_timeout_seconds: self.request_timeout_seconds,
            tokenizer: self.tokenizer.clone(),
            tokenizer_revision: self.tokenizer_revision.clone(),
            tokenizer_trust_remote_code: self.tokenizer_trust_remote_code.then_some(true),
            use_server_token_count: self.use_server_token_count.then_some(true),
            input_file: self.input_file.clone(),
            custom_dataset_type: self.custom_dataset_type,
            max_errors: self.max_errors,
            max_error_rate: self.max_error_rate,
            max_unreachable_seconds: self.max_unreachable_seconds,
            fixed_schedule: self.fixed_schedule.then_some(true),
            no_fixed_schedule: self.no_fixed_schedule.then_some(true),
            fixed_schedule_auto_offset: self.fixed_schedule_auto_offset.then_some(true),
            system_prompt: self.system_prompt.clone(),
            system_prompt_file: self.system_prompt_file.clone(),
            ..Default::default()
        })
    }

    /// The settings of one run: every list must hold one value (loadgen runs one setting).
    #[allow(dead_code)] // sweep-plan writes lists; only loadgen runs one setting
    pub fn single_settings(&self) -> anyhow::Result<Settings> {
        let mut s = self.base_settings()?;
        for (param, values) in self.lists() {
            if values.len() > 1 {
                let text: Vec<String> = values.iter().map(|v| v.to_string()).collect();
                anyhow::bail!(
                    "{} {}: loadgen runs one setting; sweep a list with sweep-plan (or scripts/profile)",
                    param.flag(),
                    text.join(",")
                );
            }
            s.set_swept(param, &values[0])?;
        }
        Ok(s)
    }
}
