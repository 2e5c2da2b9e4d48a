//! mock-llm: a simulated OpenAI-compatible (vLLM-shaped) inference server with a real saturation
//! knee, the yardstick sweepkit's client is measured against. Engine in `sweepkit::mock`.

#[path = "shared/mod.rs"]
mod shared;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use sweepkit::mock::faults::SlowPatch;
use sweepkit::mock::{AuthHeader, FaultRates, Options};

const ABOUT: &str = "Simulated OpenAI-compatible LLM server (vLLM protocol) that saturates like a GPU server";

const LONG_ABOUT: &str = "\
Simulated OpenAI-compatible LLM server (vLLM protocol) that saturates like a GPU server.

Serves POST /v1/chat/completions and /v1/completions (SSE streaming and plain JSON), the other
API flavours loadgen speaks -- POST /v1/responses (OpenAI Responses), /v1/messages (Anthropic
Messages), /generate and /generate_stream (TGI) -- through the same capacity model, POST
/v1/embeddings, /v2/rerank (Cohere-style) and /rerank (TEI) (one prefill each), GET /v1/models,
/health, /metrics (Prometheus, vLLM metric names) and /dcgm/metrics (DCGM-exporter-style GPU gauges). Binds 127.0.0.1; with --port 0 it picks a free port. Its only stdout
output is one line, {\"listening\":\"127.0.0.1:PORT\"}; logs go to stderr. SIGTERM or Ctrl-C stops it
cleanly (in-flight responses get 2 s, --record is flushed), exit 0.

LATENCY AND CAPACITY MODEL
A request takes one of --max-batch decode slots; beyond that it waits in FIFO order (counted in
vllm:num_requests_waiting). Once admitted, its first token is due at
    admitted + (ttft + prefill_per_token * prompt_tokens) * J
and each next token at
    previous_due + (itl + itl_per_running * (running - 1)) * J
where running is the number of requests holding a slot and J is a lognormal factor with mean 1 and
coefficient of variation --jitter-cv (drawn once for the first token and again for every token, from
a generator seeded by --seed and the request's arrival number; J = 1 when the cv is 0). Deadlines are
absolute, so a late wake-up never shifts later tokens. A pacer thread with 1 ns timer slack (not
tokio's 1 ms timer wheel) wakes each stream at its deadline: tokens go out tens of microseconds
after they are due. On a machine shared with CPU-bound jobs, --realtime keeps those jobs from
delaying the server by whole scheduler slices.
Request throughput therefore rises with concurrency up to --max-batch and then flattens at
    max_batch / (ttft + prefill*isl + (osl-1) * (itl + itl_per_running*(max_batch-1)))
while TTFT climbs by the queueing delay: the knee. With the defaults (16 slots, 20 ms TTFT + 0.02 ms per
prompt token, 5 ms ITL + 0.25 ms per extra running request) a sweep over concurrency 1..64 bends at
16: at ISL 550 / OSL 150 a request takes 0.78 s alone and 1.34 s in a full batch, so throughput
climbs from 1.3 to 12 requests/s and then stays there while TTFT grows by ~1.3 s per 16 extra
clients. The prefill and per-running costs scale with --ttft-ms and --itl-ms unless given, so
--ttft-ms 0 --itl-ms 0 never sleeps: as fast as the machine allows.

PROTOCOL
Streaming chat sends a role-only first chunk (together with the first token), one token per content
chunk, a finish_reason chunk with an empty delta, a usage-only chunk (choices: []) when
stream_options.include_usage is true, and data: [DONE]. continuous_usage_stats (with include_usage)
adds usage to every chunk. Plain responses carry usage. Output length: exactly max_completion_tokens
(or max_tokens) tokens unless the request sets ignore_eos: false; then, and without a budget, the
answer stops naturally at a deterministic length between max(min_tokens, 1) and the budget
(--default-max-tokens without one). Prompt tokens: each whitespace-separated word counts
ceil(chars / 4), at least 1 per prompt (chat: all message texts, no template). Output words are
common English words, one token each, chosen by a hash of --seed and the prompt: the same request
gets the same text. Malformed bodies get 400 with an OpenAI-style JSON error naming the field;
with --api-key, requests without 'Authorization: Bearer KEY' (or 'x-api-key: KEY') get 401 (health
and metrics stay open).

IMAGES AND AUDIO
Chat content parts of type image_url and input_audio are read, not just skipped: each image's
width x height comes from its PNG or JPEG header (data: URLs; a remote URL is not fetched) and each
clip's length from its WAV header. They cost prompt tokens, so usage, the prefill time and --record
see them: an image 85 + 170 per 512x512 tile it covers (ceil(w/512) * ceil(h/512) tiles; 85 alone
when its size cannot be read), audio 25 per started second (none when its length cannot be read).
--record writes media: {images: [[w, h], ...], audio_seconds: [...], tokens} for such a request.

PREFIX CACHE
With --prefix-cache-tokens N, prompts are cut into blocks of --prefix-cache-block-size tokens (a
word's 4-character pieces; message boundaries count) identified by chained hashes, as vLLM's
automatic prefix caching does: a request's cached tokens are its longest run of leading blocks
already cached (never the whole prompt: its last token is always computed), and only the rest
pays the prefill cost (ttft + prefill_per_token * (prompt_tokens - cached)). Every full block is
then cached; beyond N tokens the least recently used blocks are evicted. Usage reports
prompt_tokens_details.cached_tokens (Responses: input_tokens_details.cached_tokens; Messages:
cache_read_input_tokens), /metrics counts vllm:prefix_cache_queries_total and
vllm:prefix_cache_hits_total (tokens), and --record writes cached_tokens per request.
The other flavours follow their servers: Responses streams response.created (sent on admission,
before prefill), one response.output_text.delta per token, response.output_text.done and
response.completed with usage (status incomplete when max_output_tokens ran out); Messages streams
message_start with the input count and content_block_start (on admission), one content_block_delta
per token, content_block_stop, message_delta with the stop reason and output count, message_stop
(max_tokens is required); /generate_stream sends one data: event per token, the last with
generated_text and details (finish reason, generated_tokens, input_length), no [DONE]; /generate
answers generated_text (details when parameters.details is true). Rankings score each document
deterministically and list the results best first.

FAULTS
Each request draws at most one fault (seeded): --error-rate answers --error-status with a JSON error;
--disconnect-rate cuts the connection before a random token; --stall-rate stops sending before a
random token and holds the connection; --malformed-rate inserts a truncated-JSON SSE event (plain
responses: a truncated body). --slow-requests FROM-TO,... delays the first token of those arrivals
(numbered from 0) by --slow-ms: a slow benchmark run at a chosen place. Each is counted in /metrics as mock_llm:faults_injected_total{kind}.

RECORD
--record FILE writes one JSON line per request as it completes: request_id, client_request_id
(the request's X-Request-Id header, or null), endpoint, stream,
status, outcome (ok|error|disconnect|stall|malformed|client_disconnect), prompt_tokens,
completion_tokens, and wall-clock epoch-ns times arrival_ns (body read), admitted_ns (slot granted),
first_token_ns, token_due_ns[] (when the model said each token was due), token_sent_ns[] (when it
was handed to the socket), end_ns, and disconnected_ns (when the client was seen to close the
connection before the end, else null; the same instant is counted in mock_llm:requests_aborted_total).
Differences between them are exact monotonic durations. --record-request-bodies adds request_body,
the JSON body as received (to check what a client sent: prompts, shared prefixes, history).";

const EXAMPLES: &str = "EXAMPLES:
  # start on a free port, read the address it bound
  mock-llm --port 0 > mock.addr & sleep 0.2; jq -r .listening mock.addr
  # one streamed chat request
  curl -sN http://127.0.0.1:8000/v1/chat/completions -H 'content-type: application/json' \\
    -d '{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"max_tokens\":8,\"stream\":true}'
  # a server with a knee at 8 concurrent requests and 1% injected 500s, ground truth to a file
  mock-llm --max-batch 8 --error-rate 0.01 --record truth.jsonl
  # as fast as possible (benchmarks of the client)
  mock-llm --port 0 --ttft-ms 0 --itl-ms 0
  # per-token delivery error from the ground truth
  jq -c '[.token_due_ns, .token_sent_ns] | transpose[] | (.[1]-.[0])/1e6' truth.jsonl \\
      | sort -n | tail -1
  # watch the queue build up
  curl -s http://127.0.0.1:8000/metrics | grep -E 'vllm:num_requests_(running|waiting)'";

#[derive(Parser)]
#[command(name = "mock-llm", version, about = ABOUT, long_about = LONG_ABOUT, after_help = EXAMPLES)]
struct Cli {
    /// Address to bind (loopback by default)
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// TCP port; 0 picks a free one (printed on stdout as {"listening":"HOST:PORT"})
    #[arg(long, default_value_t = 8000)]
    port: u16,
    /// Model name listed by /v1/models (requests may name any model; it is echoed back)
    #[arg(long, default_value = "mock-llm")]
    served_model_name: String,
    /// Base time to first token after admission, milliseconds
    #[arg(long, default_value_t = 20.0, value_name = "MS")]
    ttft_ms: f64,
    /// Inter-token latency of a lone request, milliseconds
    #[arg(long, default_value_t = 5.0, value_name = "MS")]
    itl_ms: f64,
    /// Prefill cost added to TTFT per prompt token, milliseconds/token [default: --ttft-ms / 1000]
    #[arg(long, value_name = "MS")]
    prefill_ms_per_token: Option<f64>,
    /// ITL added per additional running request, milliseconds [default: --itl-ms / 20]
    #[arg(long, value_name = "MS")]
    itl_per_running_ms: Option<f64>,
    /// Decode slots (requests beyond queue); 0 = unlimited
    #[arg(long, default_value_t = 16, value_name = "N")]
    max_batch: usize,
    /// Coefficient of variation of the lognormal latency jitter (0 = none)
    #[arg(long, default_value_t = 0.0, value_name = "CV")]
    jitter_cv: f64,
    /// Seed for jitter, faults and output text
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Output budget, tokens, when a request gives no max_tokens/max_completion_tokens
    #[arg(long, default_value_t = 16, value_name = "TOKENS")]
    default_max_tokens: u32,
    /// Context length, tokens: prompt + max_tokens beyond it gets vLLM's 400
    #[arg(long, default_value_t = 131_072, value_name = "TOKENS")]
    max_model_len: u32,
    /// Length of /v1/embeddings vectors
    #[arg(long, default_value_t = 768, value_name = "N")]
    embedding_dim: usize,
    /// Fraction of requests answered with --error-status and a JSON error (0..1)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    error_rate: f64,
    /// HTTP status of injected errors
    #[arg(long, default_value_t = 500, value_name = "STATUS")]
    error_status: u16,
    /// Fraction of requests whose connection is cut before a random token (0..1)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    disconnect_rate: f64,
    /// Fraction of requests that stop sending before a random token and hold the connection (0..1)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    stall_rate: f64,
    /// Fraction of requests with a corrupt (truncated JSON) SSE event (0..1)
    #[arg(long, default_value_t = 0.0, value_name = "FRACTION")]
    malformed_rate: f64,
    /// Arrival numbers (from 0, in arrival order) whose first token waits --slow-ms more, e.g. 64-127,320-383: one run slowed as by a job beside the server, deterministically; counted as faults_injected_total{kind="slow"}
    #[arg(long, value_name = "FROM-TO,...", value_parser = |s: &str| SlowPatch::parse(s, 0.0))]
    slow_requests: Option<SlowPatch>,
    /// Extra first-token delay of the --slow-requests, ms (0-3600000)
    #[arg(long, default_value_t = 100.0, value_name = "MS", requires = "slow_requests",
          value_parser = |s: &str| SlowPatch::parse("", s.parse().unwrap_or(f64::NAN)).map(|p| p.extra_ns as f64 / 1e6))]
    slow_ms: f64,
    /// Write per-request server-side ground truth (JSONL, epoch ns) to FILE
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// With --record: also write each request's JSON body as received (field request_body)
    #[arg(long, requires = "record")]
    record_request_bodies: bool,
    /// Require 'Authorization: Bearer KEY' (or 'x-api-key: KEY') on /v1/models and every POST route (401 otherwise); never logged
    #[arg(long, env = "MOCK_LLM_API_KEY", hide_env_values = true, value_name = "KEY")]
    api_key: Option<String>,
    /// Require 'Authorization: Basic base64(USER:PASSWORD)' (what a --url http://USER:PASSWORD@host sends) on /v1/models and every POST route (401 otherwise); never logged
    #[arg(
        long,
        env = "MOCK_LLM_BASIC_AUTH",
        hide_env_values = true,
        value_name = "USER:PASSWORD"
    )]
    basic_auth: Option<String>,
    /// Which header may carry the --api-key: any (Bearer or x-api-key), bearer (only 'Authorization: Bearer KEY') or x-api-key (only 'x-api-key: KEY')
    #[arg(long, value_enum, default_value_t = AuthHeaderArg::Any, value_name = "HEADER")]
    auth_header: AuthHeaderArg,
    /// Runtime worker threads; 0 = one per core
    #[arg(long, default_value_t = 0, value_name = "N")]
    workers: usize,
    /// Run the server's threads at SCHED_FIFO priority 1 (needs root or CAP_SYS_NICE) so other jobs on a shared machine cannot delay token delivery; a saturated server at this priority starves them, so keep it for pacing runs
    #[arg(long)]
    realtime: bool,
    /// Prefix cache capacity in tokens (vLLM-style automatic prefix caching, LRU); 0 = no cache. Cached prompt tokens skip the prefill cost and are reported as usage.prompt_tokens_details.cached_tokens
    #[arg(long, default_value_t = 0, value_name = "TOKENS")]
    prefix_cache_tokens: u64,
    /// Tokens per prefix-cache block: prompts are cached and matched in whole blocks
    #[arg(long, default_value_t = 16, value_name = "TOKENS")]
    prefix_cache_block_size: usize,
    /// A reasoning model: streamed chat answers send their first N tokens as delta.reasoning_content (then content), and usage.completion_tokens_details.reasoning_tokens counts them (they are part of completion_tokens)
    #[arg(long, default_value_t = 0, value_name = "N")]
    reasoning_tokens: u32,
    /// Speculative decoding with K drafts per verify step: chat and completions answers carry vLLM's per-request stats (metrics.speculative_decoding, on the body or the trailing usage chunk); step s accepts s mod (K+1) drafts, after the first token from prefill
    #[arg(long, default_value_t = 0, value_name = "K")]
    spec_decode_tokens: u32,
    /// The model's tokenizer (a folder with tokenizer.json and tokenizer_config.json or chat_template.jinja, a tokenizer.json, or a cached model id): a chat request's usage.prompt_tokens is then its messages (and tools) rendered through the chat template with the generation prompt and encoded without added special tokens, as vLLM counts them; default: every word counts ceil(characters/4)
    #[arg(long, value_name = "DIR")]
    tokenizer: Option<String>,
}

/// `--auth-header`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum AuthHeaderArg {
    Any,
    Bearer,
    XApiKey,
}

impl From<Cli> for Options {
    fn from(c: Cli) -> Options {
        Options {
            host: c.host,
            port: c.port,
            served_model_name: c.served_model_name,
            ttft_ms: c.ttft_ms,
            itl_ms: c.itl_ms,
            prefill_ms_per_token: c.prefill_ms_per_token.unwrap_or(c.ttft_ms / 1000.0),
            itl_per_running_ms: c.itl_per_running_ms.unwrap_or(c.itl_ms / 20.0),
            max_batch: c.max_batch,
            jitter_cv: c.jitter_cv,
            seed: c.seed,
            default_max_tokens: c.default_max_tokens,
            max_model_len: c.max_model_len,
            embedding_dim: c.embedding_dim,
            faults: FaultRates {
                error_rate: c.error_rate,
                error_status: c.error_status,
                disconnect_rate: c.disconnect_rate,
                stall_rate: c.stall_rate,
                malformed_rate: c.malformed_rate,
            },
            slow: c
                .slow_requests
                .map(|p| SlowPatch {
                    extra_ns: (c.slow_ms * 1e6).round() as u64,
                    ..p
                })
                .unwrap_or_default(),
            record: c.record,
            record_request_bodies: c.record_request_bodies,
            api_key: c.api_key,
            basic_auth: c.basic_auth,
            auth_header: match c.auth_header {
                AuthHeaderArg::Any => AuthHeader::Any,
                AuthHeaderArg::Bearer => AuthHeader::Bearer,
                AuthHeaderArg::XApiKey => AuthHeader::XApiKey,
            },
            workers: c.workers,
            realtime: c.realtime,
            prefix_cache_tokens: c.prefix_cache_tokens,
            prefix_cache_block_size: c.prefix_cache_block_size,
            reasoning_tokens: c.reasoning_tokens,
            spec_decode_tokens: c.spec_decode_tokens,
            tokenizer: c.tokenizer,
        }
    }
}

fn main() -> ExitCode {
    shared::main::<Cli>("mock-llm", |cli| {
        sweepkit::mock::run(cli.into(), &|message| eprintln!("mock-llm: {message}"))
    })
}
