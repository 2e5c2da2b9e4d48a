//! The resolved options of one loadgen run. Flags and a plan line's `loadgen` object both arrive
//! as [`Settings`] (the contract type); the spec is merged under the flags (a flag always wins),
//! then [`resolve`] checks the whole ([`Settings::check`]) and fills AIPerf's defaults.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::bail;
use serde_json::{Map, Value};

pub use crate::contract::plan_line::Place;
pub use crate::contract::settings::{
    ArrivalPattern, DatasetType, EndpointType, PublicDataset, SamplingStrategy, Settings, Ui,
};

/// What the run needs besides [`Settings`]: outputs and secrets (never in a plan line).
#[derive(Debug, Clone, Default)]
pub struct Io {
    pub output: Option<PathBuf>,
    pub line_buffered: bool,
    pub inputs_out: Option<PathBuf>,
    pub run_info_out: Option<PathBuf>,
    /// `--network-latency-out`: where the round-trip probe's samples go (default: beside `output`).
    pub network_latency_out: Option<PathBuf>,
    pub api_key: Option<String>,
    /// Extra request headers `(name, value)`; values are secrets as far as logs are concerned.
    pub headers: Vec<(String, String)>,
    /// The command line with secrets redacted, for the run info.
    pub cli_command: String,
    /// Run the event loop at SCHED_FIFO priority 1 (shared machines; needs root or CAP_SYS_NICE).
    pub realtime: bool,
    /// Extra trusted root certificates (PEM) for https endpoints with a private or self-signed CA.
    pub ca_cert: Option<PathBuf>,
    /// Which HTTP client carries plain-http requests (https always goes through reqwest).
    pub http_client: HttpClient,
    /// `--workers`: event-loop threads (None: the CPUs available, capped by the concurrency or the
    /// users of a user-centric run).
    /// How the client runs, not what it measures, so not a sweepable load setting.
    pub workers: Option<usize>,
}

/// The HTTP client for plain http. The built-in one exists because it is measurably cheaper and
/// stamps chunks closer to their arrival than reqwest/hyper (`scripts/bench-loadgen` prints both side
/// by side); reqwest stays selectable so that claim can be re-measured on any machine.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum HttpClient {
    /// sweepkit's minimal HTTP/1.1 keep-alive client (lib/loadgen/h1.rs).
    #[default]
    Builtin,
    /// reqwest over hyper, as the https path uses.
    Reqwest,
}

/// The resolved options of one run.
#[derive(Debug, Clone)]
pub struct Options {
    /// Base URL without a trailing slash, e.g. `http://127.0.0.1:8000` (the first replica's).
    pub url: String,
    /// Every `--url` replica, normalized (`urls[0] == url`); requests go round-robin.
    pub urls: Vec<String>,
    pub endpoint_type: EndpointType,
    /// Request path, e.g. `/v1/chat/completions`.
    pub endpoint: String,
    pub model: String,
    pub streaming: bool,
    /// Closed loop: requests kept in flight. With a rate: the in-flight cap.
    pub concurrency: Option<u64>,
    /// Open loop: requests/s.
    pub request_rate: Option<f64>,
    pub arrival_pattern: ArrivalPattern,
    /// Gamma shape (1.0 = Poisson).
    pub arrival_smoothness: f64,
    /// Closed loop: seconds over which the workers start, evenly spread (0 = all at once).
    pub concurrency_ramp_duration: f64,
    /// Requests in the profiling phase (None: a duration run).
    pub request_count: Option<u64>,
    /// Seconds of dispatch in the profiling phase.
    pub benchmark_duration: Option<f64>,
    /// Seconds to wait for in-flight requests after the duration (or after Ctrl-C).
    pub benchmark_grace_period: f64,
    pub warmup_request_count: u64,
    pub isl: u64,
    pub isl_stddev: f64,
    pub osl: Option<u64>,
    pub osl_stddev: f64,
    pub use_legacy_max_tokens: bool,
    /// Rankings: passages per synthetic request, and tokens per passage.
    pub rankings_passages: u64,
    pub rankings_passage_tokens: u64,
    /// Synthetic dataset entries to build: `--num-prompts` (else `--conversation-num`, else 100),
    /// or as many as the run can reach when that is fewer ([`crate::contract::limits::built_entries`]).
    pub num_prompts: u64,
    /// The dataset's size as given, and the entries the run can reach (None: unbounded).
    pub dataset_size: (u64, Option<u64>),
    pub random_seed: u64,
    /// Whether the seed was given (the run info reports `null` otherwise, as AIPerf does).
    pub seed_given: bool,
    pub extra_inputs: Map<String, Value>,
    pub request_timeout_seconds: f64,
    pub tokenizer: String,
    /// Revision of a model-id `--tokenizer` (None: `main`).
    pub tokenizer_revision: Option<String>,
    /// Given for AIPerf compatibility; only reported (no tokenizer code ever runs).
    pub tokenizer_trust_remote_code: bool,
    /// `--apply-chat-template`: chat ISL through the tokenizer's chat template (`dataset::chat`).
    pub apply_chat_template: bool,
    pub use_server_token_count: bool,
    pub input_file: Option<PathBuf>,
    pub custom_dataset_type: DatasetType,
    /// `--public-dataset`: the `--input-file` is this AIPerf public dataset (over the custom type).
    pub public_dataset: Option<PublicDataset>,
    /// `--dataset-sampling-strategy` as given (None: the dataset type's default, [`Options::sampling`]).
    pub sampling_strategy: Option<SamplingStrategy>,
    pub ui: Ui,
    /// When to give up on a failing server.
    pub limits: StopLimits,
    /// `--request-cancellation-rate`/`-delay` (None: no request is cut).
    pub cancellation: Option<CancelSpec>,
    /// How a timestamped `--input-file` is replayed.
    pub replay: Replay,
    /// Tokens per `hash_ids` block of a trace.
    pub isl_block_size: u64,
    pub io: Io,
    /// The plan line's place in its sweep, copied into the run info.
    pub place: Place,
    /// `--shard` / `--start-at`: this run's part of a benchmark run by several processes, and
    /// the instant its profiling phase starts (None: a plain run). Set after [`resolve`].
    pub placement: Option<super::shard::Placement>,
    /// Sessions, shared prefixes and user-centric load.
    pub workload: Workload,
    /// Synthetic images and audio in every user message (`--image-*`, `--audio-*`).
    pub media: crate::contract::media::MediaSpec,
    /// `--network-latency-automatic` / `--network-latency-mean`.
    pub network_latency: crate::contract::network_latency::Mode,
    /// Where the probe's samples are written, when it probes.
    pub network_samples: Option<PathBuf>,
}

/// What the traffic looks like beyond one prompt per request: multi-turn sessions (AIPerf's
/// `--conversation-*`), shared prefixes and the user-centric schedule.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Workload {
    /// Sessions to start (None: the run size decides).
    pub conversation_num: Option<u64>,
    /// Turns per synthetic conversation: mean (>= 1) and stddev (whole, as AIPerf truncates it).
    pub turn_mean: u64,
    pub turn_stddev: u64,
    /// Delay before turns after the first, ms: mean, stddev (whole ms) and a factor.
    pub turn_delay_mean_ms: f64,
    pub turn_delay_stddev_ms: u64,
    pub turn_delay_ratio: f64,
    /// Prefix pool: how many distinct prefixes, each this many tokens (0: no pool).
    pub prefix_pool_size: u64,
    pub prefix_length: u64,
    /// Tokens of the shared system prompt and of each conversation's user context (0: none).
    pub shared_system_length: u64,
    pub user_context_length: u64,
    /// User-centric load: (requests/s over all users, users).
    pub user_centric: Option<(f64, u64)>,
    /// `--system-prompt`/`--system-prompt-file`: the verbatim system prompt of every request.
    pub system_prompt: Option<std::sync::Arc<str>>,
    /// `--inter-turn-delay-cap-seconds`, in ms: a file's turn delays are clamped to it.
    pub delay_cap_ms: Option<f64>,
}

impl Workload {
    /// A turn's `delay` (ms) from a file, clamped by `--inter-turn-delay-cap-seconds` (AIPerf's rule).
    pub fn capped_delay(&self, delay_ms: Option<f64>) -> Option<f64> {
        match (delay_ms, self.delay_cap_ms) {
            (Some(d), Some(cap)) if d > cap => Some(cap),
            (d, _) => d,
        }
    }

    /// Requests carry a session's history: some conversation may have more than one turn.
    pub fn sessions(&self, dataset: DatasetType) -> bool {
        self.turn_mean > 1
            || self.turn_stddev > 0
            || dataset == DatasetType::MultiTurn
            || self.user_centric.is_some()
    }
}

impl Options {
    /// Full request URL.
    pub fn request_url(&self) -> String {
        format!("{}{}", self.url, self.endpoint)
    }

    /// Places the run among the shards of a benchmark: shard I of N takes every N-th entry of
    /// the whole dataset, so N times its own reach of it is built.
    pub fn place(&mut self, placement: Option<super::shard::Placement>) {
        if let Some(p) = &placement {
            let (size, reach) = self.dataset_size;
            let n = p.shard.count as u64;
            self.num_prompts =
                crate::contract::limits::built_entries(size, reach.map(|r| r.saturating_mul(n)));
        }
        self.placement = placement;
    }

    /// Which entry each request takes: `--dataset-sampling-strategy`, else AIPerf's default for
    /// the dataset (`shuffle` for random_pool; sequential for files, traces and public datasets;
    /// sequential for synthetic prompts too, where AIPerf shuffles: its entries are independent
    /// draws, so the order changes nothing but which request carries which).
    pub fn sampling(&self) -> SamplingStrategy {
        self.sampling_strategy.unwrap_or(
            if self.input_file.is_some()
                && self.public_dataset.is_none()
                && self.custom_dataset_type == DatasetType::RandomPool
            {
                SamplingStrategy::Shuffle
            } else {
                SamplingStrategy::Sequential
            },
        )
    }

    /// The arrival schedule's seed: the run's own, or a shard's derived one.
    pub fn arrival_seed(&self) -> u64 {
        self.placement
            .as_ref()
            .map_or(self.random_seed, |p| p.arrival_seed())
    }
}

/// AIPerf's `--isl-block-size` default for mooncake traces: tokens per `hash_ids` block.
pub const DEFAULT_ISL_BLOCK_SIZE: u64 = 512;

/// Which requests are cut client-side, and when.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CancelSpec {
    /// Percent of profiling requests chosen (0-100).
    pub rate_percent: f64,
    /// Seconds from the request being written to the socket to the cut.
    pub delay_s: f64,
}

/// AIPerf's fixed-schedule options for a timestamped trace.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Replay {
    /// `--fixed-schedule` given: the file must carry timestamps.
    pub required: bool,
    /// `--no-fixed-schedule`: timestamps are ignored, rows are sent as ordinary load.
    pub disabled: bool,
    /// Schedule zero = the earliest timestamp; else the start offset (or 0).
    pub auto_offset: bool,
    /// Trace ms: earlier rows are dropped.
    pub start_offset_ms: Option<u64>,
    /// Trace ms: later rows are dropped (inclusive).
    pub end_offset_ms: Option<u64>,
}

/// guidellm-style stop constraints: a run against a failing or dead server ends early, with its
/// reason in the run info, instead of filling the records with instant errors.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StopLimits {
    pub max_errors: Option<u64>,
    pub max_error_rate: Option<f64>,
    /// Every connection refused for this long ends the run (zero: never).
    pub max_unreachable: Duration,
}

/// The synthetic media asked for; videos need the ffmpeg binary, checked before the run.
fn media_spec(s: &Settings) -> anyhow::Result<crate::contract::media::MediaSpec> {
    let media = crate::contract::media::resolve(&s.media_flags());
    if media.video.is_some() && !crate::io::media::ffmpeg::available() {
        anyhow::bail!(
            "--video-width: synthetic videos are encoded by the ffmpeg binary, which is not on PATH: {}",
            crate::io::media::ffmpeg::INSTALL
        );
    }
    Ok(media)
}

/// Checks the settings and fills the defaults.
pub fn resolve(s: Settings, io: Io, place: Place) -> anyhow::Result<Options> {
    s.check()?;
    let dataset_size = (s.dataset_size(), s.dataset_reach());
    let media = media_spec(&s)?;
    let system_prompt = s.read_system_prompt()?;
    let endpoint_type = s.endpoint_type.unwrap_or_default();
    let network_latency = s.network_latency();
    let network_samples = network_samples_path(network_latency, &io)?;
    let urls = s.normalized_urls()?;
    let url = urls[0].clone();
    let mut endpoint = s
        .endpoint
        .unwrap_or_else(|| endpoint_type.default_path(s.streaming == Some(true)).to_string());
    if !endpoint.starts_with('/') {
        endpoint.insert(0, '/');
    }
    Ok(Options {
        url,
        urls,
        endpoint_type,
        endpoint,
        model: s.model.unwrap_or_default(),
        streaming: s.streaming.unwrap_or(false),
        concurrency: s.concurrency,
        request_rate: s.request_rate,
        arrival_pattern: s.arrival_pattern.unwrap_or_default(),
        arrival_smoothness: s.arrival_smoothness.unwrap_or(1.0),
        concurrency_ramp_duration: s.concurrency_ramp_duration.unwrap_or(0.0),
        request_count: s.request_count,
        benchmark_duration: s.benchmark_duration,
        benchmark_grace_period: s.benchmark_grace_period.unwrap_or(30.0),
        warmup_request_count: s.warmup_request_count.unwrap_or(0),
        isl: s.isl.unwrap_or(550),
        isl_stddev: s.isl_stddev.unwrap_or(0.0),
        osl: s.osl,
        osl_stddev: s.osl_stddev.unwrap_or(0.0),
        use_legacy_max_tokens: s.use_legacy_max_tokens.unwrap_or(false),
        rankings_passages: s.rankings_passages_mean.unwrap_or(1),
        rankings_passage_tokens: s.rankings_passages_prompt_token_mean.unwrap_or(550),
        num_prompts: crate::contract::limits::built_entries(dataset_size.0, dataset_size.1),
        dataset_size,
        seed_given: s.random_seed.is_some(),
        random_seed: s.random_seed.unwrap_or(0),
        extra_inputs: s.extra_inputs.unwrap_or_default(),
        request_timeout_seconds: s.request_timeout_seconds.unwrap_or(21600.0),
        tokenizer: s.tokenizer.unwrap_or_else(|| "builtin".into()),
        tokenizer_revision: s.tokenizer_revision,
        tokenizer_trust_remote_code: s.tokenizer_trust_remote_code.unwrap_or(false),
        apply_chat_template: s.apply_chat_template.unwrap_or(false),
        use_server_token_count: s.use_server_token_count.unwrap_or(false),
        input_file: s.input_file,
        custom_dataset_type: s.custom_dataset_type.unwrap_or(DatasetType::SingleTurn),
        public_dataset: s.public_dataset,
        sampling_strategy: s.dataset_sampling_strategy,
        ui: s.ui.unwrap_or_default(),
        limits: StopLimits {
            max_errors: s.max_errors,
            max_error_rate: s.max_error_rate,
            max_unreachable: crate::contract::seconds::duration(s.max_unreachable_seconds.unwrap_or(3.0)),
        },
        cancellation: s
            .request_cancellation_rate
            .filter(|r| *r > 0.0)
            .map(|rate_percent| CancelSpec {
                rate_percent,
                delay_s: s.request_cancellation_delay.unwrap_or(0.0),
            }),
        replay: Replay {
            required: s.fixed_schedule == Some(true),
            disabled: s.no_fixed_schedule == Some(true),
            // AIPerf: on by default, off once a start offset is given (unless asked for).
            auto_offset: s.fixed_schedule_auto_offset == Some(true)
                || s.fixed_schedule_start_offset.is_none(),
            start_offset_ms: s.fixed_schedule_start_offset,
            end_offset_ms: s.fixed_schedule_end_offset,
        },
        isl_block_size: s.isl_block_size.unwrap_or(DEFAULT_ISL_BLOCK_SIZE),
        io,
        place,
        placement: None,
        media,
        network_latency,
        network_samples,
        workload: Workload {
            conversation_num: s.conversation_num,
            turn_mean: s.conversation_turn_mean.unwrap_or(1).max(1),
            turn_stddev: s.conversation_turn_stddev.unwrap_or(0.0) as u64,
            turn_delay_mean_ms: s.conversation_turn_delay_mean.unwrap_or(0.0),
            turn_delay_stddev_ms: s.conversation_turn_delay_stddev.unwrap_or(0.0) as u64,
            turn_delay_ratio: s.conversation_turn_delay_ratio.unwrap_or(1.0),
            prefix_pool_size: s.prefix_prompt_pool_size.unwrap_or(0),
            prefix_length: s.prefix_prompt_length.unwrap_or(0),
            shared_system_length: s.shared_system_prompt_length.unwrap_or(0),
            user_context_length: s.user_context_prompt_length.unwrap_or(0),
            user_centric: s.user_centric_rate.zip(s.num_users),
            system_prompt: system_prompt.map(std::sync::Arc::from),
            delay_cap_ms: s.inter_turn_delay_cap_seconds.map(|c| c * 1000.0),
        },
    })
}

/// The probe's samples file: `--network-latency-out`, else beside the records (AIPerf's name);
/// records on stdout leave it nowhere to go, which is an error rather than a file in the
/// working directory.
fn network_samples_path(
    mode: crate::contract::network_latency::Mode,
    io: &Io,
) -> anyhow::Result<Option<PathBuf>> {
    use crate::contract::network_latency::{samples_path_beside, Mode};
    if !matches!(mode, Mode::Probe { .. }) {
        return Ok(None);
    }
    if let Some(p) = &io.network_latency_out {
        return Ok(Some(p.clone()));
    }
    match io.output.as_deref().filter(|p| *p != std::path::Path::new("-")) {
        Some(records) => Ok(Some(samples_path_beside(records))),
        None => bail!("--network-latency-automatic: the probe's samples need a file: give --output FILE (they go beside it, as profile_export_network_latency.jsonl beside profile_export.jsonl) or --network-latency-out FILE"),
    }
}

/// Parses `--header K:V` values.
pub fn parse_headers(items: &[String]) -> anyhow::Result<Vec<(String, String)>> {
    let mut out = Vec::new();
    for item in items {
        let (k, v) = item.split_once(':').ok_or_else(|| {
            anyhow::anyhow!(
                "--header: expected Name:Value (e.g. --header X-Team:infra), got a value without ':'"
            )
        })?;
        let k = k.trim();
        if k.is_empty() || !k.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b)) {
            bail!("--header: '{k}' is not a valid header name");
        }
        out.push((k.to_string(), v.trim().to_string()));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::plan_line;

    #[test]
    fn flags_override_the_spec_and_place_is_kept() {
        let spec = plan_line::parse(r#"{"run_index":0,"trial":1,"trial_label":"trial_0001","variation_label":"concurrency_10","parameters":{"concurrency":10},"seed":42,"warmup":true,"loadgen":{"url":"127.0.0.1:9","model":"m","concurrency":10,"streaming":true,"osl":32}}"#).unwrap();
        let flags = Settings {
            concurrency: Some(4),
            ..Default::default()
        };
        let o = resolve(
            flags.over(spec.effective_settings()).unwrap(),
            Io::default(),
            spec.place,
        )
        .unwrap();
        assert_eq!(o.concurrency, Some(4));
        assert_eq!(o.url, "http://127.0.0.1:9");
        assert_eq!(o.random_seed, 42);
        assert!(o.streaming);
        assert_eq!(o.osl, Some(32));
        assert_eq!(o.place.trial_label.as_deref(), Some("trial_0001"));
    }

    #[test]
    fn headers_parse() {
        assert_eq!(
            parse_headers(&["X-A: b:c".into()]).unwrap(),
            vec![("X-A".into(), "b:c".into())]
        );
        assert!(parse_headers(&["nocolon".into()]).is_err());
    }
}
