//! mock-llm: a simulated OpenAI-compatible inference server that speaks vLLM's protocol (and the
//! Responses, Anthropic Messages, TGI and rankings flavours, `wire/`) and
//! saturates like a GPU server (see `capacity` for the model). `run(opts)` serves until SIGTERM or
//! Ctrl-C; tests and benchmarks start the binary on port 0 and read its one stdout line.

pub mod capacity;
pub mod energy;
pub mod engine;
pub mod faults;
pub mod media;
pub mod metrics;
pub mod prefix_cache;
pub mod protocol;
pub mod record;
pub mod server;
pub mod spec_decode;
pub mod stream;
pub mod tokens;
pub mod wire;

use std::path::PathBuf;

pub use engine::Engine;
pub use faults::FaultRates;
pub use server::run;

/// The header a client may send the API key in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum AuthHeader {
    /// `Authorization: Bearer KEY` or `x-api-key: KEY` (a real gateway in front of several APIs).
    #[default]
    Any,
    /// Only `Authorization: Bearer KEY` (OpenAI's way).
    Bearer,
    /// Only `x-api-key: KEY` (Anthropic's way).
    XApiKey,
}

/// Everything the server needs, typed (the CLI maps its flags onto this).
#[derive(Debug, Clone)]
pub struct Options {
    pub host: String,
    pub port: u16,
    /// Name listed by /v1/models and used when a request names no model.
    pub served_model_name: String,
    pub ttft_ms: f64,
    pub itl_ms: f64,
    pub prefill_ms_per_token: f64,
    pub itl_per_running_ms: f64,
    /// Decode slots; 0 = unlimited.
    pub max_batch: usize,
    pub jitter_cv: f64,
    pub seed: u64,
    /// Output budget when a request gives no max tokens.
    pub default_max_tokens: u32,
    /// Context length: prompt + max tokens beyond it is a 400 (vLLM's check).
    pub max_model_len: u32,
    pub embedding_dim: usize,
    pub faults: FaultRates,
    /// `--slow-requests`/`--slow-ms`: arrivals whose first token comes late (none by default).
    pub slow: faults::SlowPatch,
    pub record: Option<PathBuf>,
    /// With `record`: each request's JSON body goes into its line too.
    pub record_request_bodies: bool,
    pub api_key: Option<String>,
    /// `USER:PASSWORD` every request must carry as HTTP Basic credentials.
    pub basic_auth: Option<String>,
    /// Which header may carry `api_key` (a test of one client flavour accepts only its header).
    pub auth_header: AuthHeader,
    /// Runtime worker threads; 0 = one per core.
    pub workers: usize,
    /// Run the server threads at SCHED_FIFO priority 1 (shared machines).
    pub realtime: bool,
    /// Prefix cache capacity in tokens (0: no prefix cache).
    pub prefix_cache_tokens: u64,
    /// Tokens per prefix-cache block (vLLM's block size).
    pub prefix_cache_block_size: usize,
    /// `--reasoning-tokens`: streamed chat answers open with this many `reasoning_content` tokens.
    pub reasoning_tokens: u32,
    /// `--spec-decode-tokens`: drafts per verify step; answers carry vLLM's per-request
    /// speculative-decoding stats (0: none).
    pub spec_decode_tokens: u32,
    /// `--tokenizer`: chat prompts count as the tokens of their rendered chat template, as vLLM
    /// counts them (None: the `tokens` module's characters/4 rule).
    pub tokenizer: Option<String>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            host: "127.0.0.1".into(),
            port: 8000,
            served_model_name: "mock-llm".into(),
            ttft_ms: 20.0,
            itl_ms: 5.0,
            prefill_ms_per_token: 0.02,
            itl_per_running_ms: 0.25,
            max_batch: 16,
            jitter_cv: 0.0,
            seed: 0,
            default_max_tokens: 16,
            max_model_len: 131_072,
            embedding_dim: 768,
            faults: FaultRates {
                error_status: 500,
                ..Default::default()
            },
            slow: faults::SlowPatch::default(),
            record: None,
            record_request_bodies: false,
            api_key: None,
            basic_auth: None,
            auth_header: AuthHeader::Any,
            workers: 0,
            realtime: false,
            prefix_cache_tokens: 0,
            prefix_cache_block_size: 16,
            reasoning_tokens: 0,
            spec_decode_tokens: 0,
            tokenizer: None,
        }
    }
}

impl Options {
    /// Rejects values the model cannot use, naming the flag.
    pub fn validate(&self) -> Result<(), String> {
        for (flag, v) in [
            ("--ttft-ms", self.ttft_ms),
            ("--itl-ms", self.itl_ms),
            ("--prefill-ms-per-token", self.prefill_ms_per_token),
            ("--itl-per-running-ms", self.itl_per_running_ms),
            ("--jitter-cv", self.jitter_cv),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(format!("{flag} {v} must be a finite number >= 0"));
            }
        }
        if self.default_max_tokens == 0 {
            return Err("--default-max-tokens must be at least 1".into());
        }
        if self.embedding_dim == 0 {
            return Err("--embedding-dim must be at least 1".into());
        }
        if self.prefix_cache_block_size == 0 {
            return Err("--prefix-cache-block-size must be at least 1 token".into());
        }
        self.faults.validate()
    }
}
