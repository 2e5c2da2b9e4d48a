//! Contract B: the run info. loadgen writes it (`--run-info-out`), trial-agg reads it
//! (`--run-info`): the run's place and seed, its resolved configuration (AIPerf-like
//! `input_config`), the phase windows in epoch ns, and the client's health.
//!
//! One type, [`RunInfo`], for both sides. loadgen fills every field; a reader gets `None` for what a
//! document lacks, because trial-agg also reads older run infos and AIPerf's own
//! `profile_export_aiperf.json` (no schema, no phases: only `start_time`/`end_time`). The two blocks
//! trial-agg copies verbatim into its summary (`run_info`, `input_config`) are type parameters:
//! loadgen writes them typed ([`RunBlock`], [`InputConfig`]), trial-agg reads them as whatever JSON
//! the file holds ([`AnyRunInfo`]), so an AIPerf summary's blocks pass through untouched.
//!
//! On disk every object's keys are sorted (the file has always been written that way), so
//! [`RunInfo::write`] serializes through `serde_json::Value`; field order in the structs below is
//! free.

use std::path::{Path, PathBuf};

use serde::de::{self, DeserializeOwned, Deserializer};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::plan_line::Place;
use super::settings::{ArrivalPattern, DatasetType, Ui};

/// The `schema` loadgen writes; a reader accepts any `sweepkit.run_info/…`.
pub const SCHEMA: &str = "sweepkit.run_info/1";
/// What every version of the schema starts with.
pub const SCHEMA_PREFIX: &str = "sweepkit.run_info/";

/// The run info document. `R` and `C` are the `run_info` and `input_config` blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(bound(
    serialize = "R: Serialize, C: Serialize",
    deserialize = "R: DeserializeOwned, C: DeserializeOwned"
))]
pub struct RunInfo<R = RunBlock, C = InputConfig> {
    /// [`SCHEMA`]; absent in an AIPerf summary.
    #[serde(default, deserialize_with = "lenient")]
    pub schema: Option<String>,
    /// Where AIPerf-ish documents keep the benchmark id (loadgen puts it in `run_info`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub benchmark_id: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub run_info: Option<R>,
    #[serde(default, deserialize_with = "lenient")]
    pub input_config: Option<C>,
    #[serde(default)]
    pub phases: Option<Phases>,
    /// The profiling window's start, ISO UTC with microseconds.
    #[serde(default, deserialize_with = "lenient")]
    pub start_time: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub end_time: Option<String>,
    /// True when the run stopped early (Ctrl-C, fatal error, or in-flight requests cancelled).
    #[serde(default, deserialize_with = "lenient")]
    pub was_cancelled: Option<bool>,
    #[serde(default, deserialize_with = "lenient")]
    pub client: Option<Client>,
    /// Why the run ended (loadgen writes it; absent in older run infos and in AIPerf's files).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub end: Option<RunEnd>,
    /// Where the run sat among the processes of one benchmark (`loadgen --shard`, `--start-at`);
    /// absent for a plain run.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub shard: Option<ShardBlock>,
}

/// One shard of a benchmark run by several loadgen processes (`--shard I/N`), or a run that
/// waited for `--start-at` (then shard 1 of 1). trial-agg merges shards by this block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShardBlock {
    /// This shard's index, 1-based (1..=count).
    pub index: u32,
    /// How many shards the benchmark was split into.
    pub count: u32,
    /// The host name the shard ran on (shards on one host share one clock).
    pub host: String,
    /// The benchmark's settings before the split (keys as in a plan line's `loadgen` object, plus
    /// `start_at_ns`): every shard of one trial must carry the same.
    pub settings: Map<String, Value>,
    /// `--start-at` as epoch ns, when given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_at_ns: Option<u64>,
    /// How late the profiling phase started after `start_at_ns`, ms (0 when on time); absent
    /// without `--start-at`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_late_ms: Option<f64>,
    /// The wall clock's own error estimate when the run started.
    pub clock: crate::io::clock_sync::ClockSync,
}

/// Why a run ended, so a resumed sweep knows which runs to redo and a failed one says why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunEnd {
    pub reason: EndReason,
    /// What set off an early stop, in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Requests of a counted run never sent because it stopped early: not errors, not records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests_not_sent: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EndReason {
    /// The count was sent, the duration ran out or the dataset was used up.
    Completed,
    /// Ctrl-C: what was measured is flushed, the run is incomplete.
    Interrupted,
    /// `--max-errors` was reached.
    MaxErrors,
    /// `--max-error-rate` was reached.
    MaxErrorRate,
    /// The server refused every connection for `--max-unreachable-seconds`.
    ServerUnreachable,
    /// A fatal error (unreachable from the start, the output could not be written).
    Failed,
}

/// A run info as a reader takes it: the blocks trial-agg copies into its summary stay JSON,
/// whatever their shape (loadgen's, an older loadgen's, AIPerf's).
pub type AnyRunInfo = RunInfo<Value, Value>;

impl<R: Serialize, C: Serialize> RunInfo<R, C> {
    /// The document as JSON, every object's keys sorted (as the file has always had them).
    pub fn to_value(&self) -> serde_json::Result<Value> {
        serde_json::to_value(self)
    }

    /// Writes the document (pretty, final newline) to `path` atomically.
    pub fn write(&self, path: &Path) -> anyhow::Result<()> {
        // Secrets never reach the file: URL passwords and tokens (cli_command, urls, shard settings, end detail).
        crate::io::atomic::write_json(path, &crate::io::redact::json(self.to_value()?))
    }
}

impl AnyRunInfo {
    /// Parses a run info (or an AIPerf summary); the error says what is wrong (the caller adds where).
    pub fn from_json(doc: Value) -> Result<AnyRunInfo, String> {
        if !doc.is_object() {
            return Err("expected a JSON object".into());
        }
        serde_json::from_value(doc).map_err(|e| e.to_string())
    }

    /// The benchmark id: at the top (AIPerf-ish), else in the `run_info` block (loadgen).
    pub fn benchmark_id(&self) -> Option<&str> {
        self.benchmark_id.as_deref().or_else(|| {
            self.run_info
                .as_ref()
                .and_then(|r| r.get("benchmark_id"))
                .and_then(Value::as_str)
        })
    }
}

/// The `run_info` block: who ran, with which seed, and where the run sits in its sweep.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunBlock {
    pub benchmark_id: String,
    /// The seed as given; null when none was (AIPerf's value).
    pub random_seed: Option<u64>,
    /// The command line with secrets redacted.
    pub cli_command: String,
    /// Trial number, 1-based; null outside a sweep.
    pub trial: Option<u32>,
    /// The plan's `trial_label` (`trial_0001`, `run_0001`); null outside a sweep.
    pub run_label: Option<String>,
    /// The combination's folder name; `base` outside a sweep.
    pub variation_label: String,
    pub variation_index: Option<usize>,
    /// The swept parameters and their values; `{}` outside a sweep.
    pub variation_values: Map<String, Value>,
    /// The plan line's seed (null when the plan set none).
    pub seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_index: Option<usize>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_dir: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cooldown_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub warmup: Option<bool>,
}

impl RunBlock {
    /// The block for a run at `place` (a hand-written spec has an empty place).
    pub fn new(
        benchmark_id: String,
        random_seed: Option<u64>,
        cli_command: String,
        place: &Place,
    ) -> RunBlock {
        RunBlock {
            benchmark_id,
            random_seed,
            cli_command,
            trial: place.trial,
            run_label: place.trial_label.clone(),
            variation_label: place.variation_label.clone().unwrap_or_else(|| "base".into()),
            variation_index: place.variation_index,
            variation_values: place.parameters.clone().unwrap_or_default(),
            seed: place.seed,
            run_index: place.run_index,
            artifact_dir: place.artifact_dir.clone(),
            cooldown_seconds: place.cooldown_seconds,
            warmup: place.warmup,
        }
    }
}

/// The resolved configuration, AIPerf-like. Secrets never appear: headers by name, the API key
/// as `<redacted>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputConfig {
    pub models: Models,
    pub endpoint: Endpoint,
    pub datasets: Vec<Dataset>,
    pub phases: Vec<PhaseConfig>,
    pub tokenizer: TokenizerConfig,
    pub runtime: Runtime,
    /// AIPerf's `network_latency` block, when `--network-latency-automatic` or `-mean` was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network_latency: Option<super::network_latency::Config>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Models {
    pub items: Vec<ModelName>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelName {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Endpoint {
    pub urls: Vec<String>,
    /// `chat`, `completions`, `embeddings`, `responses`, `messages`, `huggingface_generate`,
    /// `cohere_rankings`, `hf_tei_rankings`.
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    pub streaming: bool,
    pub timeout_seconds: f64,
    pub use_legacy_max_tokens: bool,
    pub extra_inputs: Map<String, Value>,
    /// `Name: <redacted>` per extra header.
    pub headers: Vec<String>,
    /// `<redacted>` when a key was given, else null.
    pub api_key: Option<String>,
}

/// One dataset: synthetic (seed and prompt shape) or a file (path and format).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Dataset {
    pub name: String,
    /// `synthetic` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    pub entries: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<DatasetType>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub random_seed: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompts: Option<Prompts>,
    /// Shared prefixes, in tokens (AIPerf's `prefix_prompts`; only the ones given).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix_prompts: Option<PrefixPrompts>,
    /// Turns per synthetic conversation (multi-turn runs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turns: Option<Length>,
    /// Delay before each later turn, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_delay: Option<Length>,
    /// Factor on every sampled turn delay.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub turn_delay_ratio: Option<f64>,
    /// A file's turn delays are clamped to this many seconds (`--inter-turn-delay-cap-seconds`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inter_turn_delay_cap_seconds: Option<f64>,
}

/// AIPerf's `prefix_prompts` block: pool of `pool_size` prefixes of `length` tokens, or a shared
/// system prompt and per-conversation user context (tokens).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct PrefixPrompts {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pool_size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared_system_length: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context_length: Option<u64>,
}

/// Synthetic prompt lengths: `isl` always, `osl` when asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prompts {
    pub isl: Length,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub osl: Option<Length>,
}

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Length {
    pub mean: f64,
    pub stddev: f64,
}

/// One load phase as configured: warmup (`requests` only) or profiling (its load shape).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct PhaseConfig {
    /// `warmup` or `profiling`.
    pub name: String,
    pub kind: String,
    /// Profiling: `concurrency` or `request_rate`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub load: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_ramp_duration: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_rate: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_pattern: Option<ArrivalPattern>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arrival_smoothness: Option<f64>,
    /// `--request-cancellation-rate`/`-delay`, as AIPerf writes them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancellation: Option<CancellationConfig>,
    /// `--fixed-schedule`: schedule zero is the earliest trace timestamp.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_offset: Option<bool>,
    /// `--fixed-schedule-start-offset`, trace milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_offset: Option<u64>,
    /// `--fixed-schedule-end-offset`, trace milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_offset: Option<u64>,
    /// `--conversation-num`: sessions the phase starts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
    /// `--num-users` of a `user_centric` phase.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub users: Option<u64>,
}

/// AIPerf's `phases[].cancellation`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct CancellationConfig {
    /// Percent of profiling requests cut.
    pub rate: f64,
    /// Seconds from the request being written to the cut.
    pub delay: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenizerConfig {
    pub name: String,
    /// A model id's revision, when one was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revision: Option<String>,
    /// `--tokenizer-trust-remote-code` was given (only reported; absent when not).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub trust_remote_code: bool,
    /// The tokenizer.json that counted the tokens (absent for builtin).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<PathBuf>,
    pub use_server_token_count: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Runtime {
    pub ui: Ui,
}

/// The phases as they ran.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Phases {
    /// Absent without a warmup; a malformed one is ignored on read.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "lenient"
    )]
    pub warmup: Option<PhaseWindow>,
    #[serde(default, deserialize_with = "profiling_window")]
    pub profiling: Option<PhaseWindow>,
}

/// One phase's window (wall clock, epoch ns) and request count.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct PhaseWindow {
    pub start_ns: u64,
    pub end_ns: u64,
    /// Requests sent (in a multi-turn run: turns).
    #[serde(default)]
    pub requests: u64,
    /// Multi-turn runs: sessions started (each a run of one conversation's turns).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sessions: Option<u64>,
}

/// What the client did, and whether it, not the server, may have set the pace.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Client {
    pub target_request_rate: Option<f64>,
    pub achieved_request_rate: f64,
    /// Actual − intended send time, ms.
    pub dispatch_lag_ms: DispatchLag,
    /// Requests that left more than 1 ms after their intended time.
    pub late_requests: u64,
    /// User + system CPU seconds over the load phases.
    pub cpu_seconds: f64,
    /// Share of the profiling window the event-loop thread was on a CPU.
    pub event_loop_busy: f64,
    pub client_bound: bool,
    /// Why the client may have been the bottleneck (empty when it was not).
    pub warnings: Vec<String>,
    pub chunks_received: u64,
    pub max_rss_bytes: u64,
    /// Where chunk arrival times came from and the client's own lag (absent before issue 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receive_stamps: Option<ReceiveStamps>,
    /// The event-loop threads (`--workers`) and how each fared (absent before issue 15).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub workers: Option<Workers>,
}

/// loadgen's event-loop threads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Workers {
    /// How many ran.
    pub count: u32,
    /// One entry per worker, in worker order (profiling phase).
    pub per_worker: Vec<WorkerHealth>,
}

/// One event-loop thread's share of the profiling phase.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkerHealth {
    /// Requests it sent (ok + errors).
    pub requests: u64,
    pub errors: u64,
    /// Sessions it started (multi-turn and user-centric runs; a session's turns all run on the
    /// worker that started it); 0 when requests are single prompts. Absent in older files.
    #[serde(default)]
    pub sessions: u64,
    /// Its requests' actual − intended send time, ms.
    pub dispatch_lag_ms: DispatchLag,
    /// Share of the profiling window its thread was on a CPU (1.0 = saturated).
    pub event_loop_busy: f64,
}

/// How chunk arrival times were taken. On plain http each read carries the kernel's software
/// receive stamp (`SO_TIMESTAMPING`), immune to the client's own scheduling delay; https and
/// reads the kernel gave no stamp for are stamped in user space when the read returns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReceiveStamps {
    /// `kernel` (every content chunk), `user` (none: https, `--http-client reqwest`, no kernel
    /// support) or `mixed`.
    pub source: String,
    /// Content chunks whose arrival time is the kernel's stamp.
    pub kernel_stamped_chunks: u64,
    /// Content chunks stamped in user space.
    pub user_stamped_chunks: u64,
    /// User-space stamp − kernel stamp per kernel-stamped chunk, ms: how late the client read
    /// what had already arrived (its own lag; 0 when no chunk had a kernel stamp).
    pub client_lag_ms: DispatchLag,
    /// Reads that completed more than one content chunk; all of them carry that read's one stamp
    /// (the arrival of the last TCP segment the read drained).
    pub shared_reads: u64,
    /// Content chunks delivered by those reads.
    pub chunks_in_shared_reads: u64,
    /// Reads that found at least half the socket's receive buffer waiting: the client read so late
    /// that its receive window closed (or nearly) and the server's next bytes waited on its side,
    /// so their arrival times include the client's delay. 0 on a healthy run.
    #[serde(default)]
    pub window_full_reads: u64,
    /// Requests with at least one such read.
    #[serde(default)]
    pub window_full_requests: u64,
    /// The largest backlog one read found waiting, bytes (measured only by reads that filled
    /// loadgen's 16 KiB buffer; 0 when none did).
    #[serde(default)]
    pub max_backlog_bytes: u64,
}

/// Dispatch lag percentiles, ms (0 when nothing was sent).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct DispatchLag {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

/// Reads an optional field, taking null or a value of the wrong shape as absent (the reader's
/// tolerance for older and AIPerf-ish documents).
fn lenient<'de, D: Deserializer<'de>, T: DeserializeOwned>(d: D) -> Result<Option<T>, D::Error> {
    let v = Value::deserialize(d)?;
    if v.is_null() {
        return Ok(None);
    }
    Ok(serde_json::from_value(v).ok())
}

/// The profiling window, with its place named in the error.
fn profiling_window<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PhaseWindow>, D::Error> {
    Option::<PhaseWindow>::deserialize(d).map_err(|e| {
        de::Error::custom(format!(
            "phases.profiling: {e} (start_ns and end_ns are integers)"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A representative document: a sweep run at a rate with a warmup, a synthetic dataset.
    fn sample() -> RunInfo {
        let place = Place {
            run_index: Some(3),
            trial: Some(2),
            trial_label: Some("trial_0002".into()),
            variation_index: Some(1),
            variation_label: Some("request_rate_20".into()),
            parameters: Some(serde_json::from_str(r#"{"request_rate":20}"#).unwrap()),
            seed: Some(43),
            artifact_dir: Some("a/request_rate_20/profile_runs/trial_0002".into()),
            cooldown_seconds: Some(0.0),
            warmup: Some(false),
        };
        RunInfo {
            schema: Some(SCHEMA.into()),
            benchmark_id: None,
            run_info: Some(RunBlock::new(
                "00c0ffee00c0ffee".into(),
                Some(43),
                "loadgen --spec - --api-key <redacted>".into(),
                &place,
            )),
            input_config: Some(InputConfig {
                models: Models {
                    items: vec![ModelName { name: "m".into() }],
                },
                endpoint: Endpoint {
                    urls: vec!["http://127.0.0.1:9".into()],
                    kind: "chat".into(),
                    path: "/v1/chat/completions".into(),
                    streaming: true,
                    timeout_seconds: 21600.0,
                    use_legacy_max_tokens: false,
                    extra_inputs: serde_json::from_str(r#"{"temperature":0.5,"ignore_eos":true}"#).unwrap(),
                    headers: vec!["X-Team: <redacted>".into()],
                    api_key: Some("<redacted>".into()),
                },
                datasets: vec![Dataset {
                    name: "main".into(),
                    kind: "synthetic".into(),
                    entries: 100,
                    path: None,
                    format: None,
                    random_seed: Some(43),
                    prompts: Some(Prompts {
                        isl: Length {
                            mean: 550.0,
                            stddev: 0.0,
                        },
                        osl: Some(Length {
                            mean: 32.0,
                            stddev: 4.5,
                        }),
                    }),
                    ..Dataset::default()
                }],
                phases: vec![
                    PhaseConfig {
                        name: "warmup".into(),
                        kind: "warmup".into(),
                        requests: Some(5),
                        ..Default::default()
                    },
                    PhaseConfig {
                        name: "profiling".into(),
                        kind: "profiling".into(),
                        load: Some("request_rate".into()),
                        requests: Some(200),
                        concurrency: Some(64),
                        request_rate: Some(20.0),
                        arrival_pattern: Some(ArrivalPattern::Gamma),
                        arrival_smoothness: Some(1.5),
                        ..Default::default()
                    },
                ],
                tokenizer: TokenizerConfig {
                    name: "builtin".into(),
                    revision: None,
                    trust_remote_code: false,
                    path: None,
                    use_server_token_count: false,
                },
                runtime: Runtime { ui: Ui::None },
                network_latency: None,
            }),
            phases: Some(Phases {
                warmup: Some(PhaseWindow {
                    sessions: None,
                    start_ns: 1_700_000_000_000_000_000,
                    end_ns: 1_700_000_000_250_000_000,
                    requests: 5,
                }),
                profiling: Some(PhaseWindow {
                    sessions: None,
                    start_ns: 1_700_000_000_250_000_123,
                    end_ns: 1_700_000_010_250_000_456,
                    requests: 200,
                }),
            }),
            start_time: Some("2023-11-14T22:13:20.250000".into()),
            end_time: Some("2023-11-14T22:13:30.250000".into()),
            was_cancelled: Some(false),
            client: Some(Client {
                target_request_rate: Some(20.0),
                achieved_request_rate: 19.99,
                dispatch_lag_ms: DispatchLag {
                    p50: 0.05,
                    p99: 0.25,
                    max: 1.5,
                },
                late_requests: 1,
                cpu_seconds: 0.75,
                event_loop_busy: 0.0625,
                client_bound: false,
                warnings: Vec::new(),
                chunks_received: 6400,
                max_rss_bytes: 12_345_678,
                receive_stamps: None,
                workers: None,
            }),
            end: None,
            shard: None,
        }
    }

    #[test]
    fn a_document_reads_back_as_any_run_info() {
        let doc = sample();
        let any = AnyRunInfo::from_json(doc.to_value().unwrap()).unwrap();
        assert_eq!(any.schema.as_deref(), Some(SCHEMA));
        assert_eq!(any.benchmark_id(), Some("00c0ffee00c0ffee"));
        assert_eq!(any.phases, doc.phases);
        assert_eq!(any.client, doc.client);
        assert_eq!(any.run_info.unwrap(), serde_json::to_value(doc.run_info).unwrap());
    }

    #[test]
    fn a_hand_written_spec_has_nulls_base_and_no_values() {
        let b = serde_json::to_value(RunBlock::new(
            "id".into(),
            None,
            "loadgen".into(),
            &Place::default(),
        ))
        .unwrap();
        assert_eq!(
            b.to_string(),
            r#"{"benchmark_id":"id","cli_command":"loadgen","random_seed":null,"run_label":null,"seed":null,"trial":null,"variation_index":null,"variation_label":"base","variation_values":{}}"#
        );
    }

    #[test]
    fn the_reader_tolerates_what_it_does_not_use() {
        // A partial client block, blocks of another shape, a malformed warmup, a non-bool flag.
        let doc = serde_json::json!({"schema": SCHEMA, "run_info": [1], "input_config": {"x": 1},
            "phases": {"warmup": {"start_ns": "soon"}, "profiling": {"start_ns": 1, "end_ns": 2}},
            "was_cancelled": "no", "client": {"target_request_rate": null}});
        let any = AnyRunInfo::from_json(doc).unwrap();
        assert_eq!(any.client, None);
        assert_eq!(any.was_cancelled, None);
        assert_eq!(any.input_config, Some(serde_json::json!({"x": 1})));
        assert_eq!(any.phases.unwrap().warmup, None);
        let bad =
            serde_json::json!({"schema": SCHEMA, "phases": {"profiling": {"start_ns": 1.5, "end_ns": 2}}});
        let err = AnyRunInfo::from_json(bad).unwrap_err();
        assert!(err.starts_with("phases.profiling: "), "{err}");
        assert_eq!(
            AnyRunInfo::from_json(serde_json::json!([])).unwrap_err(),
            "expected a JSON object"
        );
    }
}
