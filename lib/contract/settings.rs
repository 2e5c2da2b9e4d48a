//! The loadgen settings of one run, as flags give them and as a plan line carries them (the
//! `loadgen` object of Contract A): every field optional, keys = loadgen's long flag names in
//! snake_case. sweep-plan writes it, loadgen reads it; [`Settings::check`] is the one place that
//! refuses a bad value, so sweep-plan refuses at plan time exactly what loadgen would refuse.

use std::path::PathBuf;

use anyhow::{anyhow, bail};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::limits;
pub use super::media::{
    AudioFormat, ImageFormat, MediaFlags, SourceSampling, VideoAudioCodec, VideoCodec, VideoFormat,
    VideoSynth,
};
use super::ranges::Range;
use super::seconds;

/// Declares [`EndpointType`] from one row per flavour: its flag value (= serde name), AIPerf's
/// default path (and TGI's streaming one), whether it produces output tokens, whether its body carries a message list (history, system prompt) and
/// whether it is a rankings type. The variant, its name, `NAMES` and the facts come from that row;
/// each flavour's wire format lives in one file of `loadgen/wire/` (client) and `mock/wire/` (server).
macro_rules! endpoint_types {
    ($( $(#[$attr:meta])* $v:ident = $name:literal {
        path: $path:literal $(| streaming $stream_path:literal)?,
        tokens: $t:expr, messages: $m:expr, rankings: $r:expr $(,)?
    } ),+ $(,)?) => {
        /// The API flavour a run speaks (AIPerf's `--endpoint-type` names).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
        pub enum EndpointType {
            $( $(#[$attr])* #[serde(rename = $name)] $v, )+
        }

        impl EndpointType {
            /// Every flavour, in `--help` order.
            pub const ALL: &'static [EndpointType] = &[$(EndpointType::$v),+];

            /// AIPerf's default request path (TGI streams on its own path).
            pub fn default_path(self, streaming: bool) -> &'static str {
                match self {
                    $(EndpointType::$v => {
                        $(if streaming {
                            return $stream_path;
                        })?
                        $path
                    })+
                }
            }
            /// The flag value, which is also the serde name.
            pub fn name(self) -> &'static str {
                match self { $(EndpointType::$v => $name,)+ }
            }
            /// Whether the endpoint produces output tokens (embeddings and rankings do not).
            pub fn produces_tokens(self) -> bool {
                match self { $(EndpointType::$v => $t,)+ }
            }
            /// Whether a request body carries a message list, so it can hold a session's history
            /// and a system prompt (the other flavours send one text).
            pub fn has_message_list(self) -> bool {
                match self { $(EndpointType::$v => $m,)+ }
            }
            /// The rankings flavours: a query and passages in, scores out.
            pub fn is_rankings(self) -> bool {
                match self { $(EndpointType::$v => $r,)+ }
            }
        }

        impl FlagValue for EndpointType {
            const NAMES: &'static [&'static str] = &[$($name),+];
        }
    };
}

endpoint_types! {
    #[default]
    Chat = "chat" {
        path: "/v1/chat/completions",
        tokens: true, messages: true, rankings: false,
    },
    Completions = "completions" {
        path: "/v1/completions",
        tokens: true, messages: false, rankings: false,
    },
    Embeddings = "embeddings" {
        path: "/v1/embeddings",
        tokens: false, messages: false, rankings: false,
    },
    /// OpenAI Responses API (`/v1/responses`).
    Responses = "responses" {
        path: "/v1/responses",
        tokens: true, messages: true, rankings: false,
    },
    /// Anthropic Messages API (`/v1/messages`), as vLLM, SGLang and LiteLLM serve it.
    Messages = "messages" {
        path: "/v1/messages",
        tokens: true, messages: true, rankings: false,
    },
    /// Hugging Face TGI's `/generate` and `/generate_stream`.
    HuggingfaceGenerate = "huggingface_generate" {
        path: "/generate" | streaming "/generate_stream",
        tokens: true, messages: false, rankings: false,
    },
    /// Cohere-style `/v2/rerank` (vLLM serves it too).
    CohereRankings = "cohere_rankings" {
        path: "/v2/rerank",
        tokens: false, messages: false, rankings: true,
    },
    /// Hugging Face TEI's `/rerank`.
    HfTeiRankings = "hf_tei_rankings" {
        path: "/rerank",
        tokens: false, messages: false, rankings: true,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ArrivalPattern {
    Constant,
    #[default]
    Poisson,
    Gamma,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DatasetType {
    SingleTurn,
    MooncakeTrace,
    /// AIPerf's `multi_turn`: `{"session_id", "turns": [...]}` per line, a conversation each.
    MultiTurn,
    /// AIPerf's `random_pool`: a file (one pool) or folder (a pool per file) of entries, sampled
    /// with replacement into `--num-prompts` requests.
    RandomPool,
    /// AIPerf's `raw_payload`: each line a request body sent verbatim (a folder: a file per session).
    RawPayload,
    /// AIPerf's `burst_gpt_trace`: a BurstGPT CSV (timestamps in s, request/response tokens).
    BurstGptTrace,
}

/// `--public-dataset`: AIPerf's public datasets, read here from a local `--input-file` (never
/// downloaded).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PublicDataset {
    /// ShareGPT's JSON (a list of `{"conversations": [{"from", "value"}, ...]}`).
    Sharegpt,
    /// Spec-Bench's `question.jsonl` (`{"turns": [...]}`; the first turn is sent).
    SpecBench,
    /// MT-Bench prompts (`{"prompt": [...]}` per line; every turn, as a session).
    SpecAlMtbench,
}

/// `--dataset-sampling-strategy`: which dataset entry each request (or session) takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SamplingStrategy {
    /// In order, wrapping at the end.
    Sequential,
    /// Uniformly with replacement.
    Random,
    /// A fresh permutation for every pass over the dataset.
    Shuffle,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Ui {
    #[default]
    Simple,
    None,
    /// A full-screen live view (falls back to `simple` off a terminal, with NO_COLOR or TERM=dumb).
    Dashboard,
}

/// `--url`: one base URL (a string in a plan line), or several server replicas (`--url` given
/// several times; a list) that requests are spread over round-robin, as AIPerf's
/// `--url-strategy round_robin` does.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Urls {
    One(String),
    Several(Vec<String>),
}

impl Urls {
    /// From `--url` values: none, one, or several.
    pub fn from_flags(urls: &[String]) -> Option<Urls> {
        match urls {
            [] => None,
            [one] => Some(Urls::One(one.clone())),
            more => Some(Urls::Several(more.to_vec())),
        }
    }

    pub fn as_slice(&self) -> &[String] {
        match self {
            Urls::One(u) => std::slice::from_ref(u),
            Urls::Several(v) => v,
        }
    }
}

/// Generates [`Settings`], [`Sweepable`] and `set_swept` from `loadgen_settings!`'s table
/// (`load_flags.rs`): one field per row, one variant per sweepable row, in the table's order.
macro_rules! settings_from_table {
    (@rows [$($fields:tt)*] [$($sweep:tt)*] [$($ranges:tt)*]) => {
        settings_from_table!(@emit [$($fields)*] [$($sweep)*] [$($ranges)*]);
    };
    (@rows [$($fields:tt)*] [$($sweep:tt)*] [$($ranges:tt)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $(#[range($r:ident)])? $field:ident: sweep($t:ident) => $variant:ident, $($rest:tt)*) => {
        settings_from_table!(@rows [$($fields)* $(#[doc = $d])* $field: ($t),] [$($sweep)* ($variant $field $t)]
            [$($ranges)* $(($field $r))?] $($rest)*);
    };
    (@rows [$($fields:tt)*] [$($sweep:tt)*] [$($ranges:tt)*]
        $(#[doc = $d:literal])* #[arg $arg:tt] $(#[range($r:ident)])? $field:ident: $kind:ident($($t:tt)+), $($rest:tt)*) => {
        settings_from_table!(@rows [$($fields)* $(#[doc = $d])* $field: ($($t)+),] [$($sweep)*]
            [$($ranges)* $(($field $r))?] $($rest)*);
    };
    (@emit [$($(#[doc = $d:literal])* $field:ident: ($($t:tt)+),)*] [$(($variant:ident $key:ident $st:ident))*]
        [$(($ranged:ident $range:ident))*]) => {
        /// Every option as given (flags or a plan line's `loadgen` object); `None` = not given.
        /// The serde names are Contract A's keys; an unknown key is an error naming it. The fields
        /// are the rows of `loadgen_settings!` (`load_flags.rs`), plus `ui`.
        #[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct Settings {
            $(
                $(#[doc = $d])*
                #[serde(skip_serializing_if = "Option::is_none")]
                pub $field: Option<$($t)+>,
            )*
            /// How loadgen shows progress: a plan line's key (loadgen's own `--ui` flag sets it).
            #[serde(skip_serializing_if = "Option::is_none")]
            pub ui: Option<Ui>,
        }

        /// The flags a sweep may list (`--concurrency 10,20,30`), in the order sweep-plan names them:
        /// the rows of `loadgen_settings!` marked `=> Variant`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Sweepable {
            $($variant,)*
        }

        impl Sweepable {
            pub const ALL: &'static [Sweepable] = &[$(Sweepable::$variant),*];

            /// The settings key, which is also the parameter's name in folders and aggregates.
            pub fn key(self) -> &'static str {
                match self {
                    $(Sweepable::$variant => stringify!($key),)*
                }
            }

            /// Whether the flag takes whole numbers (else any number).
            pub fn is_integer(self) -> bool {
                match self {
                    $(Sweepable::$variant => <$st as SweptValue>::INTEGER,)*
                }
            }
        }

        impl Settings {
            /// Sets one swept parameter to one of its values.
            pub fn set_swept(&mut self, param: Sweepable, v: &Value) -> anyhow::Result<()> {
                match param {
                    $(Sweepable::$variant => self.$key = Some(<$st as SweptValue>::from_json(param, v)?),)*
                }
                Ok(())
            }

            /// Every given value within the range its row declares (`#[range]`): `--flag value:
            /// why`, in the words the CLI's parser uses for the same value.
            fn check_ranges(&self) -> anyhow::Result<()> {
                $(if let Some(v) = self.$ranged {
                    Range::$range.check_flag(&flag_of(stringify!($ranged)), v as f64)?;
                })*
                Ok(())
            }
        }
    };
    ($($rows:tt)*) => {
        settings_from_table!(@rows [] [] [] $($rows)*);
    };
}

crate::loadgen_settings!(settings_from_table);

/// The value types a sweep lists: whole numbers or any number.
trait SweptValue: Sized {
    const INTEGER: bool;
    fn from_json(param: Sweepable, v: &Value) -> anyhow::Result<Self>;
}

impl SweptValue for u64 {
    const INTEGER: bool = true;
    fn from_json(param: Sweepable, v: &Value) -> anyhow::Result<u64> {
        v.as_u64()
            .ok_or_else(|| anyhow!("{}: {v} is not a whole number", param.flag()))
    }
}

impl SweptValue for f64 {
    const INTEGER: bool = false;
    fn from_json(param: Sweepable, v: &Value) -> anyhow::Result<f64> {
        v.as_f64()
            .ok_or_else(|| anyhow!("{}: {v} is not a number", param.flag()))
    }
}

/// How many of the latest requests `max_error_rate` looks at (it applies once that many have ended).
pub const ERROR_RATE_WINDOW: usize = 50;

impl Sweepable {
    /// The long flag, for messages.
    pub fn flag(self) -> String {
        flag_of(self.key())
    }
}

/// The long flag of a settings key (`isl_stddev` → `--isl-stddev`).
fn flag_of(key: &str) -> String {
    format!("--{}", key.replace('_', "-"))
}

/// loadgen's default server.
pub const DEFAULT_URL: &str = "http://localhost:8000";

impl Settings {
    /// `self` (the flags) over `base` (the spec): every field the flags set wins.
    pub fn over(self, base: Settings) -> anyhow::Result<Settings> {
        let mut merged = match serde_json::to_value(base)? {
            Value::Object(m) => m,
            _ => Map::new(),
        };
        if let Value::Object(flags) = serde_json::to_value(self)? {
            merged.extend(flags);
        }
        Ok(serde_json::from_value(Value::Object(merged))?)
    }

    /// The URLs as loadgen will use them (the default when none was given), each normalized as
    /// [`normalize_url`] does.
    pub fn normalized_urls(&self) -> anyhow::Result<Vec<String>> {
        let given = self.url.as_ref().map_or(&[][..], Urls::as_slice);
        if given.is_empty() {
            return Ok(vec![normalize_url(DEFAULT_URL)?]);
        }
        let urls = given
            .iter()
            .map(|u| normalize_url(u))
            .collect::<anyhow::Result<Vec<_>>>()?;
        for (i, u) in urls.iter().enumerate() {
            if urls[..i].contains(u) {
                bail!("--url {u}: given twice; each replica once (requests are spread round-robin over the --url values)");
            }
        }
        Ok(urls)
    }

    /// The first URL as loadgen will use it.
    pub fn normalized_url(&self) -> anyhow::Result<String> {
        Ok(self.normalized_urls()?.swap_remove(0))
    }
}

/// One URL as loadgen uses it: `http://` prepended when no scheme is given, no trailing `/`.
pub fn normalize_url(url: &str) -> anyhow::Result<String> {
    let mut url = url.to_string();
    if !url.contains("://") {
        url = format!("http://{url}");
    }
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        bail!("--url {url}: only http:// and https:// URLs are supported");
    }
    while url.ends_with('/') {
        url.pop();
    }
    Ok(url)
}

impl Settings {
    /// Refuses every value and combination loadgen cannot run, naming the flag and the fix. loadgen
    /// calls it before a run, sweep-plan on every line it writes: one rule, one message.
    pub fn check(&self) -> anyhow::Result<()> {
        self.normalized_urls()?;
        if self.model.as_deref().is_none_or(str::is_empty) {
            bail!("--model is required (the model name the server serves, e.g. --model mock-model)");
        }
        self.check_ranges()?;
        if let Some(kind) = self.endpoint_type.filter(|k| !k.produces_tokens()) {
            if self.streaming == Some(true) {
                bail!(
                    "--streaming: the {} endpoint does not stream; drop --streaming",
                    kind.name()
                );
            }
        }
        if let Some(r) = self.request_rate {
            check_rate("--request-rate", r, 1)?;
        }
        if self.request_count.is_some() && self.benchmark_duration.is_some() {
            bail!("--request-count and --benchmark-duration are mutually exclusive: give one");
        }
        if self.custom_dataset_type.is_some() && self.input_file.is_none() {
            bail!("--custom-dataset-type needs --input-file");
        }
        self.check_public_dataset()?;
        self.check_sizes()?;
        self.check_cancellation()?;
        self.check_fixed_schedule()?;
        self.check_workload()?;
        self.check_delay_cap()?;
        self.check_network_latency()?;
        super::media::check(&self.media_flags())?;
        self.check_system_prompt()
    }

    /// `--public-dataset` reads a local `--input-file` and is the file's whole format.
    fn check_public_dataset(&self) -> anyhow::Result<()> {
        if let Some(d) = self.public_dataset {
            let name = serde_json::to_value(d).unwrap_or_default();
            if self.input_file.is_none() {
                bail!("--public-dataset {}: give the dataset's local file with --input-file (sweepkit never downloads)", name.as_str().unwrap_or_default());
            }
            if self.custom_dataset_type.is_some() {
                bail!("--public-dataset and --custom-dataset-type name the file's format twice: give one");
            }
        }
        Ok(())
    }

    /// The values the media rules (`super::media`) read.
    pub fn media_flags(&self) -> MediaFlags {
        let kind = self.endpoint_type.unwrap_or_default();
        MediaFlags {
            image_batch_size: self.image_batch_size,
            image_width_mean: self.image_width_mean,
            image_width_stddev: self.image_width_stddev,
            image_height_mean: self.image_height_mean,
            image_height_stddev: self.image_height_stddev,
            image_format: self.image_format,
            image_source: self.image_source.clone(),
            image_source_sampling: self.image_source_sampling,
            audio_batch_size: self.audio_batch_size,
            audio_length_mean: self.audio_length_mean,
            audio_length_stddev: self.audio_length_stddev,
            audio_format: self.audio_format,
            audio_sample_rates: self.audio_sample_rates.clone(),
            audio_depths: self.audio_depths.clone(),
            audio_num_channels: self.audio_num_channels,
            video_batch_size: self.video_batch_size,
            video_width: self.video_width,
            video_height: self.video_height,
            video_fps: self.video_fps,
            video_duration: self.video_duration,
            video_format: self.video_format,
            video_codec: self.video_codec,
            video_synth_type: self.video_synth_type,
            video_audio_sample_rate: self.video_audio_sample_rate,
            video_audio_num_channels: self.video_audio_num_channels,
            video_audio_codec: self.video_audio_codec,
            video_audio_depth: self.video_audio_depth,
            non_chat_endpoint: (kind != EndpointType::Chat).then(|| kind.name()),
            input_file: self.input_file.is_some(),
        }
    }

    /// Entries of the synthetic dataset (`--num-prompts`, else `--conversation-num`, else 100).
    pub fn dataset_size(&self) -> u64 {
        self.num_prompts.or(self.conversation_num).unwrap_or(100)
    }

    /// How many dataset entries the run can reach (warmup, then its request count or, for
    /// sessions, its `--conversation-num`); None when only time bounds it.
    pub fn dataset_reach(&self) -> Option<u64> {
        let sessions = if self.multi_turn() {
            self.conversation_num
        } else {
            None
        };
        let bound = match (self.request_count, sessions) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        bound.map(|b| b.saturating_add(self.warmup_request_count.unwrap_or(0)))
    }

    /// Token counts and sizes within [`limits`]: one prompt, one session's history and the whole
    /// synthetic dataset (as built: see [`limits::built_entries`]) must fit.
    fn check_sizes(&self) -> anyhow::Result<()> {
        for (flag, v) in [
            ("--isl", self.isl),
            ("--osl", self.osl),
            ("--prefix-prompt-length", self.prefix_prompt_length),
            ("--shared-system-prompt-length", self.shared_system_prompt_length),
            ("--user-context-prompt-length", self.user_context_prompt_length),
            (
                "--rankings-passages-prompt-token-mean",
                self.rankings_passages_prompt_token_mean,
            ),
        ] {
            if let Some(n) = v {
                limits::check_tokens(flag, n, None).map_err(|e| anyhow!("{e}"))?;
            }
        }
        let turns = self.conversation_turn_mean.unwrap_or(1);
        if turns > limits::MAX_TURNS {
            bail!(
                "--conversation-turn-mean {turns}: more than the {} turns loadgen runs in one session",
                limits::MAX_TURNS
            );
        }
        if self.input_file.is_some() {
            return Ok(());
        }
        let isl = self.isl.unwrap_or(550);
        let passages = self.rankings_passages_mean.unwrap_or(0)
            * self.rankings_passages_prompt_token_mean.unwrap_or(550);
        let shared = self.shared_system_prompt_length.unwrap_or(0);
        let context = self.user_context_prompt_length.unwrap_or(0);
        let prefix = self.prefix_prompt_length.unwrap_or(0);
        // A session's last turn carries every turn before it, replies included.
        let history = turns
            .saturating_mul(isl.saturating_add(self.osl.unwrap_or(0)))
            .saturating_add(shared + context + prefix + passages);
        if turns > 1 && history > limits::MAX_TOKENS {
            bail!(
                "--conversation-turn-mean {turns} x (--isl {isl} + --osl {}) = {history} tokens in a session's last turn (it carries the whole history): more than the {} tokens loadgen accepts; give fewer turns or shorter ones",
                self.osl.unwrap_or(0),
                limits::MAX_TOKENS
            );
        }
        let size = self.dataset_size();
        let entries = limits::built_entries(size, self.dataset_reach());
        let flag = if self.num_prompts.is_some() {
            "--num-prompts"
        } else if self.conversation_num.is_some() {
            "--conversation-num"
        } else {
            "--num-prompts (default)"
        };
        let requests = entries.saturating_mul(turns);
        if requests > limits::MAX_DATASET_TURNS {
            bail!("{flag} {size}: the dataset would hold {requests} requests ({entries} entries x {turns} turns): more than the {} loadgen builds; give --num-prompts N (distinct entries, cycled through) or --request-count", limits::MAX_DATASET_TURNS);
        }
        let pool = self.prefix_prompt_pool_size.unwrap_or(0).saturating_mul(prefix);
        let tokens = requests
            .saturating_mul(isl.saturating_add(passages))
            .saturating_add(entries.saturating_mul(context))
            .saturating_add(pool)
            .saturating_add(shared);
        if pool > limits::MAX_DATASET_TOKENS {
            bail!("--prefix-prompt-pool-size {} x --prefix-prompt-length {prefix} = {pool} tokens of prefixes: more than the {} tokens loadgen builds for one dataset; give a smaller pool", self.prefix_prompt_pool_size.unwrap_or(0), limits::MAX_DATASET_TOKENS);
        }
        if tokens > limits::MAX_DATASET_TOKENS {
            bail!("{flag} {size}: the dataset would hold {tokens} tokens of text ({entries} entries x {turns} turns x --isl {isl}, plus shared text): more than the {} loadgen builds; give --num-prompts N (distinct entries, cycled through), --request-count, or shorter prompts", limits::MAX_DATASET_TOKENS);
        }
        Ok(())
    }

    /// `--inter-turn-delay-cap-seconds` clamps a file's turn delays (AIPerf ignores it on
    /// synthetic data; sweepkit says so rather than doing nothing).
    fn check_delay_cap(&self) -> anyhow::Result<()> {
        if self.inter_turn_delay_cap_seconds.is_some() && self.input_file.is_none() {
            bail!("--inter-turn-delay-cap-seconds clamps the turn delays of an --input-file (multi_turn, mooncake_trace); synthetic delays come from --conversation-turn-delay-*: drop it or give --input-file");
        }
        Ok(())
    }

    /// AIPerf's network-latency rules: automatic (measure the round trip) or a mean (set it),
    /// not both; the ping interval only with automatic, and not below AIPerf's 1 ms floor.
    fn check_network_latency(&self) -> anyhow::Result<()> {
        use super::network_latency::MIN_PING_INTERVAL;
        let automatic = self.network_latency_automatic == Some(true);
        if automatic && self.network_latency_mean.is_some() {
            bail!("--network-latency-automatic and --network-latency-mean are mutually exclusive: automatic measures the round trip, mean sets it; give one");
        }
        if let Some(i) = self.network_latency_ping_interval {
            if !automatic {
                bail!("--network-latency-ping-interval only applies with --network-latency-automatic: add it, or drop the interval");
            }
            if i < MIN_PING_INTERVAL {
                bail!("--network-latency-ping-interval {i}: must be at least {MIN_PING_INTERVAL} s (1 ms)");
            }
        }
        Ok(())
    }

    /// The network-latency mode the settings ask for.
    pub fn network_latency(&self) -> super::network_latency::Mode {
        use super::network_latency::{Mode, DEFAULT_PING_INTERVAL};
        match (self.network_latency_automatic, self.network_latency_mean) {
            (_, Some(ms)) => Mode::Mean { ms },
            (Some(true), None) => Mode::Probe {
                interval_s: self
                    .network_latency_ping_interval
                    .unwrap_or(DEFAULT_PING_INTERVAL),
            },
            _ => Mode::Off,
        }
    }

    /// `--system-prompt`/`--system-prompt-file`, AIPerf's rules: one of them, not blank, not with
    /// the prefix pool or `--shared-system-prompt-length` (they fill the same system message;
    /// a user context is fine), only where a request has a system message, synthetic prompts only.
    fn check_system_prompt(&self) -> anyhow::Result<()> {
        let flag = match (&self.system_prompt, &self.system_prompt_file) {
            (None, None) => return Ok(()),
            (Some(_), Some(_)) => {
                bail!("--system-prompt and --system-prompt-file are mutually exclusive: give exactly one")
            }
            (Some(t), None) if t.trim().is_empty() => bail!(
                "--system-prompt is empty or whitespace-only: leave it out to run without a system prompt"
            ),
            (Some(_), None) => "--system-prompt",
            (None, Some(_)) => "--system-prompt-file",
        };
        if self.shared_system_prompt_length.is_some() {
            bail!("{flag} and --shared-system-prompt-length are mutually exclusive (AIPerf's rule): both fill the system message; use the first for verbatim text, the second for synthetic text of a token length");
        }
        if self.prefix_prompt_pool_size.is_some() || self.prefix_prompt_length.is_some() {
            bail!("{flag} and --prefix-prompt-pool-size/--prefix-prompt-length are mutually exclusive (AIPerf's rule, as for --shared-system-prompt-length)");
        }
        if self.input_file.is_some() {
            bail!("{flag} applies to synthetic prompts: drop it or drop --input-file (a multi_turn file can open each session with a role \"system\" turn)");
        }
        let kind = self.endpoint_type.unwrap_or_default();
        if !kind.has_message_list() {
            bail!("{flag}: the {} endpoint has no system message; use --endpoint-type chat, responses or messages", kind.name());
        }
        Ok(())
    }

    /// AIPerf's cancellation rules, except that a rate of 0 is allowed (no request is cut), so a
    /// sweep can list its baseline: `--request-cancellation-rate 0,10,20`.
    fn check_cancellation(&self) -> anyhow::Result<()> {
        if self.request_cancellation_delay.is_some() && self.request_cancellation_rate.is_none() {
            bail!("--request-cancellation-delay requires --request-cancellation-rate to be set (cancellation is disabled when rate is unset)");
        }
        Ok(())
    }

    /// AIPerf's fixed-schedule rules: the offsets need an explicit `--fixed-schedule`, which needs
    /// a trace file and excludes a request rate. Whether the file has timestamps is checked when
    /// it is read.
    fn check_fixed_schedule(&self) -> anyhow::Result<()> {
        let fixed = self.fixed_schedule == Some(true);
        for (flag, given) in [
            (
                "--fixed-schedule-auto-offset",
                self.fixed_schedule_auto_offset == Some(true),
            ),
            (
                "--fixed-schedule-start-offset",
                self.fixed_schedule_start_offset.is_some(),
            ),
            (
                "--fixed-schedule-end-offset",
                self.fixed_schedule_end_offset.is_some(),
            ),
        ] {
            if given && !fixed {
                bail!("{flag} requires --fixed-schedule (and an --input-file trace with timestamps)");
            }
        }
        if fixed && self.no_fixed_schedule == Some(true) {
            bail!("--fixed-schedule and --no-fixed-schedule contradict each other: give one");
        }
        if fixed && self.input_file.is_none() {
            bail!("--fixed-schedule needs --input-file: a trace whose lines carry a timestamp (ms)");
        }
        if fixed && self.request_rate.is_some() {
            bail!("--fixed-schedule and --request-rate are mutually exclusive: the trace's timestamps set the send times");
        }
        if let (Some(s), Some(e)) = (self.fixed_schedule_start_offset, self.fixed_schedule_end_offset) {
            if e < s {
                bail!("--fixed-schedule-end-offset {e} is before --fixed-schedule-start-offset {s}: give an end >= the start");
            }
        }
        Ok(())
    }

    /// Whether any setting asks for a conversation with more than one turn (synthetic or a
    /// `multi_turn` file), so requests must carry their session's history.
    pub fn multi_turn(&self) -> bool {
        self.conversation_turn_mean.is_some_and(|m| m > 1)
            || self.conversation_turn_stddev.is_some_and(|s| s >= 1.0)
            || self.custom_dataset_type == Some(DatasetType::MultiTurn)
    }

    /// The turn delay waited (ms): the mean times the ratio, through the one checked duration
    /// type (each alone is checked by its range).
    fn check_turn_delays(&self) -> anyhow::Result<()> {
        // The delay waited is the sampled one times the ratio: that product is the wait.
        let ratio = self.conversation_turn_delay_ratio.unwrap_or(1.0);
        let mean = self.conversation_turn_delay_mean.unwrap_or(0.0);
        if seconds::Seconds::from_ms(mean * ratio).is_err() {
            bail!(
                "--conversation-turn-delay-mean {} x --conversation-turn-delay-ratio {} = {} ms per turn: {}",
                seconds::show(mean),
                seconds::show(ratio),
                seconds::show(mean * ratio),
                seconds::Seconds::from_ms(f64::INFINITY).unwrap_err()
            );
        }
        Ok(())
    }

    /// The rules of sessions, shared prefixes and user-centric load (AIPerf's, with its messages
    /// where it has one).
    fn check_workload(&self) -> anyhow::Result<()> {
        self.check_turn_delays()?;
        let synthetic_only = [
            ("--conversation-turn-mean", self.conversation_turn_mean.is_some()),
            (
                "--conversation-turn-stddev",
                self.conversation_turn_stddev.is_some(),
            ),
            (
                "--conversation-turn-delay-mean",
                self.conversation_turn_delay_mean.is_some(),
            ),
            (
                "--conversation-turn-delay-stddev",
                self.conversation_turn_delay_stddev.is_some(),
            ),
            (
                "--conversation-turn-delay-ratio",
                self.conversation_turn_delay_ratio.is_some(),
            ),
            (
                "--prefix-prompt-pool-size",
                self.prefix_prompt_pool_size.is_some(),
            ),
            ("--prefix-prompt-length", self.prefix_prompt_length.is_some()),
            (
                "--shared-system-prompt-length",
                self.shared_system_prompt_length.is_some(),
            ),
            (
                "--user-context-prompt-length",
                self.user_context_prompt_length.is_some(),
            ),
        ];
        if self.input_file.is_some() {
            if let Some((flag, _)) = synthetic_only.iter().find(|(_, given)| *given) {
                bail!("{flag} shapes synthetic conversations: drop it, or drop --input-file (a file brings its own turns)");
            }
        }
        let pool = self.prefix_prompt_pool_size.is_some() || self.prefix_prompt_length.is_some();
        let shared = self.shared_system_prompt_length.is_some() || self.user_context_prompt_length.is_some();
        if pool && shared {
            bail!("--prefix-prompt-pool-size/--prefix-prompt-length and --shared-system-prompt-length/--user-context-prompt-length are mutually exclusive (AIPerf's rule): pick one way of sharing prefixes");
        }
        match (self.prefix_prompt_pool_size, self.prefix_prompt_length) {
            (None, Some(n)) if n > 0 => bail!("--prefix-prompt-length {n} needs --prefix-prompt-pool-size (how many distinct prefixes to draw from)"),
            (Some(n), None) => bail!("--prefix-prompt-pool-size {n} needs --prefix-prompt-length (tokens per prefix)"),
            _ => {}
        }
        let kind = self.endpoint_type.unwrap_or_default();
        if !kind.has_message_list() {
            for (flag, given) in [
                ("--conversation-turn-mean", self.multi_turn()),
                (
                    "--shared-system-prompt-length",
                    self.shared_system_prompt_length.is_some_and(|n| n > 0),
                ),
                (
                    "--user-context-prompt-length",
                    self.user_context_prompt_length.is_some_and(|n| n > 0),
                ),
            ] {
                if given {
                    bail!("{flag}: the {} endpoint has no message list to carry a session's history or a system prompt; use --endpoint-type chat, responses or messages", kind.name());
                }
            }
            if pool && (kind.is_rankings() || kind == EndpointType::Embeddings) {
                bail!(
                    "--prefix-prompt-pool-size: the {} endpoint takes no prompt prefix",
                    kind.name()
                );
            }
        }
        self.check_user_centric()
    }

    /// `--user-centric-rate` and `--num-users`: both or neither, and sessions of 2+ turns.
    fn check_user_centric(&self) -> anyhow::Result<()> {
        if let Some(r) = self.user_centric_rate {
            check_rate("--user-centric-rate", r, self.num_users.unwrap_or(1))?;
        }
        match (self.user_centric_rate, self.num_users) {
            (Some(_), None) => bail!("--user-centric-rate needs --num-users (how many users share the rate)"),
            (None, Some(_)) => {
                bail!("--num-users requires --user-centric-rate (the requests/s all users share)")
            }
            (Some(_), Some(_)) => {
                if self.request_rate.is_some() || self.concurrency.is_some() {
                    bail!("--user-centric-rate sets the whole schedule: drop --request-rate/--concurrency");
                }
                let users = self.num_users.unwrap_or(1);
                for (flag, n) in [
                    ("--conversation-num", self.conversation_num),
                    ("--request-count", self.request_count),
                ] {
                    if n.is_some_and(|n| n < users) {
                        bail!("{flag} {} must be >= --num-users ({users}): each user needs at least one session and one request", n.unwrap_or(0));
                    }
                }
                if self.input_file.is_none() && self.conversation_turn_mean.unwrap_or(1) < 2 {
                    bail!("User-centric rate mode requires --conversation-turn-mean >= 2. For single-turn workloads, use --request-rate instead.");
                }
            }
            (None, None) => {}
        }
        Ok(())
    }

    /// Refuses files that are not there: the dataset, and a tokenizer that is neither builtin, a
    /// file, a model folder nor a model id in the Hugging Face cache (at its revision). Separate
    /// from [`check`] because it looks at the disk (sweep-plan calls it once, loadgen before each run).
    ///
    /// [`check`]: Settings::check
    pub fn check_files(&self) -> anyhow::Result<()> {
        if let Some(p) = self.input_file.as_ref().filter(|p| p.as_os_str() != "-") {
            std::fs::File::open(p).map_err(|e| anyhow!("--input-file: {}: cannot open: {e}", p.display()))?;
        }
        self.read_system_prompt()?;
        if let Some(images) = super::media::resolve(&self.media_flags()).images {
            if let super::media::ImageSource::Folder(dir) = &images.source {
                crate::io::media::image_folder::index(dir)?;
            }
        }
        if let Some(t) = &self.tokenizer {
            crate::io::hf_cache::locate(t, self.tokenizer_revision.as_deref())?;
        }
        Ok(())
    }

    /// The verbatim system prompt: `--system-prompt`, or the text of `--system-prompt-file`
    /// (a file that cannot be read as UTF-8 text, or holds only whitespace, is an error naming it).
    pub fn read_system_prompt(&self) -> anyhow::Result<Option<String>> {
        let Some(p) = &self.system_prompt_file else {
            return Ok(self.system_prompt.clone());
        };
        let text = crate::io::capped::read_to_string(p).map_err(|e| {
            anyhow!(
                "--system-prompt-file {}: cannot read it: {e} (give a readable UTF-8 text file)",
                p.display()
            )
        })?;
        if text.trim().is_empty() {
            bail!("--system-prompt-file {}: the file is empty or whitespace-only: leave the flag out to run without a system prompt", p.display());
        }
        Ok(Some(text))
    }
}

/// A rate (requests/s, positive by its range) shared by `users`: each user's gap between requests
/// (`users / rate`) a wait [`seconds::Seconds`] accepts, so the schedule never holds a gap of
/// years (`--request-rate 1e-300`) that would hang the run or overflow a `Duration`.
fn check_rate(flag: &str, r: f64, users: u64) -> anyhow::Result<()> {
    let gap = users.max(1) as f64 / r;
    if seconds::Seconds::new(gap).is_err() {
        bail!(
            "{flag} {}: one request every {} s{}: the longest gap accepted is {} s (7 days); give a larger rate",
            seconds::show(r),
            seconds::show(gap),
            if users > 1 { " per user" } else { "" },
            seconds::MAX_SECONDS
        );
    }
    Ok(())
}

/// Parses `--extra-inputs` values: `k:v` pairs (v parsed as JSON when it is JSON, else a string)
/// or one JSON object.
pub fn parse_extra_inputs(items: &[String]) -> anyhow::Result<Map<String, Value>> {
    let mut out = Map::new();
    for item in items {
        let t = item.trim();
        if t.starts_with('{') {
            let v: Value =
                serde_json::from_str(t).map_err(|e| anyhow!("--extra-inputs {t}: not a JSON object: {e}"))?;
            if let Value::Object(m) = v {
                out.extend(m);
            }
            continue;
        }
        let (k, v) = t.split_once(':').ok_or_else(|| {
            anyhow!("--extra-inputs {t}: expected key:value (e.g. ignore_eos:true) or a JSON object")
        })?;
        if k.trim().is_empty() {
            bail!("--extra-inputs {t}: empty key");
        }
        let v = v.trim();
        let value = serde_json::from_str::<Value>(v).unwrap_or_else(|_| Value::String(v.to_string()));
        out.insert(k.trim().to_string(), value);
    }
    Ok(out)
}

/// An enum setting as its flag values (= its serde names), so a CLI can list and parse them
/// without the library knowing clap. A test keeps `NAMES` and serde in step.
pub trait FlagValue: Sized + Copy + serde::de::DeserializeOwned + Serialize + 'static {
    const NAMES: &'static [&'static str];
    fn parse(s: &str) -> Option<Self> {
        serde_json::from_value(Value::String(s.to_string())).ok()
    }
}

impl FlagValue for ArrivalPattern {
    const NAMES: &'static [&'static str] = &["constant", "poisson", "gamma"];
}
impl FlagValue for DatasetType {
    const NAMES: &'static [&'static str] = &[
        "single_turn",
        "mooncake_trace",
        "multi_turn",
        "random_pool",
        "raw_payload",
        "burst_gpt_trace",
    ];
}
impl FlagValue for PublicDataset {
    const NAMES: &'static [&'static str] = &["sharegpt", "spec_bench", "spec_al_mtbench"];
}
impl FlagValue for SamplingStrategy {
    const NAMES: &'static [&'static str] = &["sequential", "random", "shuffle"];
}
impl FlagValue for ImageFormat {
    const NAMES: &'static [&'static str] = &["png", "jpeg", "random"];
}
impl FlagValue for SourceSampling {
    const NAMES: &'static [&'static str] = &["random-with-replacement", "shuffle-cycle", "sequential-cycle"];
}
impl FlagValue for AudioFormat {
    const NAMES: &'static [&'static str] = &["wav", "mp3"];
}
impl FlagValue for VideoFormat {
    const NAMES: &'static [&'static str] = &["webm", "mp4"];
}
impl FlagValue for VideoCodec {
    const NAMES: &'static [&'static str] = &["libvpx-vp9", "libvpx", "libaom-av1", "libx264", "libx265"];
}
impl FlagValue for VideoSynth {
    const NAMES: &'static [&'static str] = &["moving_shapes", "grid_clock", "noise"];
}
impl FlagValue for VideoAudioCodec {
    const NAMES: &'static [&'static str] = &["libvorbis", "libopus", "aac"];
}
impl FlagValue for Ui {
    const NAMES: &'static [&'static str] = &["simple", "none", "dashboard"];
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names_round_trip<T: FlagValue + PartialEq + std::fmt::Debug>() {
        for n in T::NAMES {
            let v = T::parse(n).unwrap_or_else(|| panic!("{n} does not parse"));
            assert_eq!(serde_json::to_value(v).unwrap(), Value::String(n.to_string()));
        }
        assert!(T::parse("bogus").is_none());
    }

    #[test]
    fn flag_values_are_the_serde_names() {
        names_round_trip::<EndpointType>();
        names_round_trip::<ArrivalPattern>();
        names_round_trip::<DatasetType>();
        names_round_trip::<PublicDataset>();
        names_round_trip::<SamplingStrategy>();
        names_round_trip::<SourceSampling>();
        names_round_trip::<Ui>();
        names_round_trip::<VideoFormat>();
        names_round_trip::<VideoCodec>();
        names_round_trip::<VideoSynth>();
        names_round_trip::<VideoAudioCodec>();
    }

    #[test]
    fn check_names_the_flag() {
        let base = || Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        assert!(base().check().is_ok());
        let e = Settings {
            request_count: Some(3),
            benchmark_duration: Some(1.0),
            ..base()
        }
        .check();
        assert!(e.unwrap_err().to_string().contains("--request-count"));
        let e = Settings::default().check();
        assert!(e.unwrap_err().to_string().contains("--model"));
        let e = Settings {
            request_rate: Some(-1.0),
            ..base()
        }
        .check();
        assert!(e.unwrap_err().to_string().contains("--request-rate"));
        let e = Settings {
            custom_dataset_type: Some(DatasetType::MooncakeTrace),
            ..base()
        }
        .check();
        assert!(e.unwrap_err().to_string().contains("--input-file"));
    }

    /// A plan line's value out of its row's `#[range]` is refused in one line naming the flag, in
    /// the words the CLI's parser uses for the same value; the edges of each range pass.
    #[test]
    fn out_of_range_values_are_refused_by_their_rows_range() {
        let base = || Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        let err = |s: Settings| s.check().unwrap_err().to_string();
        for (s, want) in [
            (
                Settings {
                    isl: Some(0),
                    ..base()
                },
                "--isl 0: must be at least 1",
            ),
            (
                Settings {
                    osl_stddev: Some(-1.0),
                    ..base()
                },
                "--osl-stddev -1: must be a number >= 0",
            ),
            (
                Settings {
                    max_error_rate: Some(1.5),
                    ..base()
                },
                "--max-error-rate 1.5: must be a fraction in (0, 1], e.g. 0.5",
            ),
            (
                Settings {
                    request_cancellation_rate: Some(101.0),
                    ..base()
                },
                "--request-cancellation-rate 101: must be a percentage from 0 to 100",
            ),
            (
                Settings {
                    request_timeout_seconds: Some(0.0),
                    ..base()
                },
                "--request-timeout-seconds 0: must be a positive number of seconds",
            ),
            (
                Settings {
                    conversation_turn_delay_mean: Some(-1.0),
                    ..base()
                },
                "--conversation-turn-delay-mean -1: must be a number of ms from 0 to",
            ),
            (
                Settings {
                    num_users: Some(0),
                    user_centric_rate: Some(1.0),
                    ..base()
                },
                "--num-users 0: must be at least 1",
            ),
        ] {
            let e = err(s);
            assert!(e.starts_with(want) && !e.contains('\n'), "{e}");
        }
        let edges = Settings {
            benchmark_grace_period: Some(f64::INFINITY),
            max_error_rate: Some(1.0),
            request_cancellation_rate: Some(0.0),
            isl_stddev: Some(0.0),
            concurrency: Some(1),
            ..base()
        };
        assert!(edges.check().is_ok(), "{:?}", edges.check());
    }

    #[test]
    fn workload_rules_name_the_flag() {
        let base = || Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        let err = |s: Settings| s.check().unwrap_err().to_string();
        let e = err(Settings {
            prefix_prompt_pool_size: Some(2),
            prefix_prompt_length: Some(10),
            shared_system_prompt_length: Some(5),
            ..base()
        });
        assert!(e.contains("mutually exclusive"), "{e}");
        assert!(err(Settings {
            num_users: Some(3),
            ..base()
        })
        .contains("--num-users requires --user-centric-rate"));
        let uc = || Settings {
            user_centric_rate: Some(5.0),
            num_users: Some(4),
            conversation_turn_mean: Some(3),
            ..base()
        };
        assert!(uc().check().is_ok());
        let e = err(Settings {
            conversation_turn_mean: Some(1),
            ..uc()
        });
        assert!(e.contains("--conversation-turn-mean >= 2"), "{e}");
        let e = err(Settings {
            conversation_num: Some(2),
            ..uc()
        });
        assert!(
            e.contains("--conversation-num 2 must be >= --num-users (4)"),
            "{e}"
        );
        let e = err(Settings {
            concurrency: Some(2),
            ..uc()
        });
        assert!(e.contains("--user-centric-rate"), "{e}");
        let e = err(Settings {
            endpoint_type: Some(EndpointType::Embeddings),
            conversation_turn_mean: Some(2),
            ..base()
        });
        assert!(
            e.contains("--conversation-turn-mean") && e.contains("embeddings"),
            "{e}"
        );
        let e = err(Settings {
            input_file: Some("x.jsonl".into()),
            shared_system_prompt_length: Some(8),
            ..base()
        });
        assert!(
            e.contains("--shared-system-prompt-length") && e.contains("--input-file"),
            "{e}"
        );
        let e = err(Settings {
            conversation_turn_delay_mean: Some(-1.0),
            ..base()
        });
        assert!(e.contains("--conversation-turn-delay-mean -1"), "{e}");
        assert!(err(Settings {
            prefix_prompt_length: Some(8),
            ..base()
        })
        .contains("--prefix-prompt-pool-size"));
    }

    #[test]
    fn delay_cap_and_system_prompt_rules_name_the_flag() {
        let base = || Settings {
            model: Some("m".into()),
            ..Default::default()
        };
        let err = |s: Settings| s.check().unwrap_err().to_string();
        let file = || Some(PathBuf::from("t.jsonl"));
        let ok = Settings {
            input_file: file(),
            inter_turn_delay_cap_seconds: Some(0.0),
            ..base()
        };
        assert!(ok.check().is_ok());
        let e = err(Settings {
            inter_turn_delay_cap_seconds: Some(-1.0),
            ..ok.clone()
        });
        assert!(e.contains("--inter-turn-delay-cap-seconds -1"), "{e}");
        let e = err(Settings {
            input_file: None,
            ..ok
        });
        assert!(
            e.contains("--inter-turn-delay-cap-seconds") && e.contains("--input-file"),
            "{e}"
        );
        let sp = || Settings {
            system_prompt: Some("Be brief.".into()),
            ..base()
        };
        assert!(sp().check().is_ok());
        // A user context shares nothing with the system message: allowed, as in AIPerf.
        assert!(Settings {
            user_context_prompt_length: Some(8),
            ..sp()
        }
        .check()
        .is_ok());
        for (s, want) in [
            (
                Settings {
                    shared_system_prompt_length: Some(0),
                    ..sp()
                },
                "--shared-system-prompt-length",
            ),
            (
                Settings {
                    prefix_prompt_pool_size: Some(2),
                    prefix_prompt_length: Some(8),
                    ..sp()
                },
                "--prefix-prompt-pool-size",
            ),
            (
                Settings {
                    system_prompt_file: Some("p.txt".into()),
                    ..sp()
                },
                "--system-prompt-file",
            ),
            (
                Settings {
                    input_file: file(),
                    ..sp()
                },
                "--input-file",
            ),
            (
                Settings {
                    endpoint_type: Some(EndpointType::Embeddings),
                    ..sp()
                },
                "embeddings",
            ),
        ] {
            let e = err(s);
            assert!(e.contains("--system-prompt") && e.contains(want), "{e}");
        }
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sys.txt");
        std::fs::write(&p, "line one\nline two\n").unwrap();
        let from_file = Settings {
            system_prompt_file: Some(p.clone()),
            ..base()
        };
        assert_eq!(
            from_file.read_system_prompt().unwrap().as_deref(),
            Some("line one\nline two\n")
        );
        std::fs::write(&p, " \n").unwrap();
        assert!(from_file
            .read_system_prompt()
            .unwrap_err()
            .to_string()
            .contains("empty"));
        std::fs::remove_file(&p).unwrap();
        let e = from_file.check_files().unwrap_err().to_string();
        assert!(
            e.starts_with("--system-prompt-file ") && e.contains("sys.txt"),
            "{e}"
        );
    }

    #[test]
    fn swept_values_land_in_their_field() {
        let mut s = Settings::default();
        s.set_swept(Sweepable::Concurrency, &Value::from(8u64)).unwrap();
        s.set_swept(Sweepable::RequestRate, &Value::from(2.5)).unwrap();
        assert_eq!((s.concurrency, s.request_rate), (Some(8), Some(2.5)));
        assert!(s.set_swept(Sweepable::Isl, &Value::from(1.5)).is_err());
        for p in Sweepable::ALL {
            assert!(serde_json::to_value(Settings::default())
                .unwrap()
                .as_object()
                .unwrap()
                .get(p.key())
                .is_none());
        }
    }

    #[test]
    fn extra_inputs_parse() {
        let m =
            parse_extra_inputs(&["ignore_eos:true".into(), "min_tokens:5".into(), "tag:abc".into()]).unwrap();
        assert_eq!(m["ignore_eos"], Value::Bool(true));
        assert_eq!(m["min_tokens"], 5);
        assert_eq!(m["tag"], "abc");
        assert!(parse_extra_inputs(&["nocolon".into()]).is_err());
    }
}
