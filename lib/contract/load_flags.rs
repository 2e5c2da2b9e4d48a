//! Every loadgen setting a command line can give, declared once: its flag (name, aliases, value
//! name, parser), its help text, its kind and, for the flags a sweep may list, its [`Sweepable`]
//! variant. The plan-line key is the field name. [`Settings`] and [`Sweepable`] (here, in
//! `settings.rs`) and the CLI's `LoadArgs` (`bins/shared/load_args.rs`) are generated from this one
//! table, so a new flag is one row plus its use; the rules over combinations stay in
//! [`Settings::check`].
//!
//! A row is `/// help` `#[arg(..)]` `#[range(..)]`? `name: kind(Type)` with `=> Variant` when it
//! sweeps. A numeric row's `#[range(R)]` ([`Range`]) is the one declaration of the values it
//! accepts: the CLI parses the flag with it and [`Settings::check`] checks a plan line's value
//! with it, in the same words. Kinds:
//! `opt(T)` one value (`Option<T>`), `flag(bool)` a switch, `sweep(u64 | f64)` a comma list a sweep
//! may vary, `urls(Urls)` the repeatable `--url`, `extra(..)` the `--extra-inputs` pairs. The
//! `#[arg]` tokens are clap's, read only by the binaries (the library knows no clap); the parsers
//! they name live in `bins/shared/load_args.rs`.
//!
//! [`Range`]: super::ranges::Range
//! [`Settings`]: super::settings::Settings
//! [`Sweepable`]: super::settings::Sweepable
//! [`Settings::check`]: super::settings::Settings::check

/// Hands the table of loadgen settings to the macro `$then` (which generates a type from it).
#[macro_export]
macro_rules! loadgen_settings {
    ($then:ident) => {
        $then! {
        /// Server base URL (http:// is prepended when no scheme is given) [default: http://localhost:8000].
        /// Given several times: server replicas, requests spread over them round-robin.
        #[arg(long, short = 'u', action = clap::ArgAction::Append)]
        url: urls(Urls),
        /// API flavour [default: chat].
        #[arg(long, value_parser = one_of::<EndpointType>())]
        endpoint_type: opt(EndpointType),
        /// Request path override [default: per type, e.g. /v1/chat/completions].
        #[arg(long, alias = "custom-endpoint")]
        endpoint: opt(String),
        /// Model name sent in every request (required).
        #[arg(long, short = 'm', alias = "model-names")]
        model: opt(String),
        /// Stream responses (SSE); enables TTFT, ITL and inter-chunk latency.
        #[arg(long)]
        streaming: flag(bool),
        /// Closed loop: requests kept in flight. With --request-rate: the in-flight cap. Sweepable: 10,20,40.
        #[arg(long, allow_negative_numbers = true, value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        concurrency: sweep(u64) => Concurrency,
        /// Open loop: target requests per second. Sweepable: 5,10,20.
        #[arg(long, allow_negative_numbers = true, value_name = "RPS[,RPS...]", value_delimiter = ',')]
        #[range(Positive)]
        request_rate: sweep(f64) => RequestRate,
        /// Inter-arrival pattern of --request-rate [default: poisson].
        #[arg(long, alias = "request-rate-mode", value_parser = one_of::<ArrivalPattern>())]
        arrival_pattern: opt(ArrivalPattern),
        /// Gamma shape for --arrival-pattern gamma (1 = Poisson, larger = more regular) [default: 1].
        #[arg(long, allow_negative_numbers = true, alias = "vllm-burstiness")]
        #[range(Positive)]
        arrival_smoothness: opt(f64),
        /// Closed loop: start the --concurrency workers evenly over this many seconds instead of all at once [default: 0].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(Seconds)]
        concurrency_ramp_duration: opt(f64),
        /// Requests in the profiling phase [default: --num-prompts]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "num-requests", value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        request_count: sweep(u64) => RequestCount,
        /// Seconds of load in the profiling phase (instead of --request-count). Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',')]
        #[range(PositiveSeconds)]
        benchmark_duration: sweep(f64) => BenchmarkDuration,
        /// Seconds to wait for in-flight requests after the duration or Ctrl-C; then they are cancelled [default: 30].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(SecondsOrInf)]
        benchmark_grace_period: opt(f64),
        /// Warmup requests before profiling (records marked benchmark_phase=warmup; in a sweep, first trial of each value only) [default: 0].
        #[arg(long, allow_negative_numbers = true, alias = "num-warmup-requests")]
        #[range(Whole)]
        warmup_request_count: opt(u64),
        /// Synthetic prompt length in tokens (mean) [default: 550]. Sweepable.
        #[arg(
        long,
        allow_negative_numbers = true,
        aliases = ["synthetic-input-tokens-mean", "prompt-input-tokens-mean"],
        value_name = "TOKENS[,...]",
        value_delimiter = ','
        )]
        #[range(Count)]
        isl: sweep(u64) => Isl,
        /// Standard deviation of the prompt length [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "synthetic-input-tokens-stddev", value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(NonNegative)]
        isl_stddev: sweep(f64) => IslStddev,
        /// Output tokens requested (mean), sent as max_completion_tokens [default: server decides]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "output-tokens-mean", value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(Count)]
        osl: sweep(u64) => Osl,
        /// Standard deviation of the output length [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "output-tokens-stddev", value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(NonNegative)]
        osl_stddev: sweep(f64) => OslStddev,
        /// Send max_tokens instead of max_completion_tokens.
        #[arg(long)]
        use_legacy_max_tokens: flag(bool),
        /// Rankings endpoint types: passages per synthetic request (the query is --isl tokens) [default: 1].
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        #[range(Count)]
        rankings_passages_mean: opt(u64),
        /// Rankings endpoint types: tokens per synthetic passage [default: 550].
        #[arg(long, allow_negative_numbers = true, value_name = "TOKENS")]
        #[range(Count)]
        rankings_passages_prompt_token_mean: opt(u64),
        /// Distinct prompts in the dataset; also the run size without --request-count/--benchmark-duration [default: 100].
        #[arg(long, allow_negative_numbers = true, alias = "num-dataset-entries")]
        #[range(Count)]
        num_prompts: opt(u64),
        /// Seed of every random choice (prompts, arrivals) [default: 0; in a sweep or with trials 42, plus the value's index].
        #[arg(long, allow_negative_numbers = true)]
        random_seed: opt(u64),
        /// Merged into every request body: key:value (value parsed as JSON if it is JSON) or a JSON object. Repeatable.
        #[arg(long, value_name = "K:V")]
        extra_inputs: extra(Map<String, Value>),
        /// Per-request timeout in seconds; a timed-out request is an error record [default: 21600].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(PositiveSeconds)]
        request_timeout_seconds: opt(f64),
        /// Client-side token counting: builtin (tiktoken o200k_base), a tokenizer.json, a model folder holding one, or a Hugging Face model id found in the local cache ($HF_HOME/hub; never downloaded) [default: builtin].
        #[arg(long)]
        tokenizer: opt(String),
        /// Revision (branch, tag or commit) of a --tokenizer model id in the Hugging Face cache [default: main].
        #[arg(long, value_name = "REV")]
        tokenizer_revision: opt(String),
        /// Accepted for AIPerf command lines; sweepkit only reads tokenizer.json and runs no tokenizer code.
        #[arg(long)]
        tokenizer_trust_remote_code: flag(bool),
        /// Count chat prompts through the --tokenizer's chat template (ISL = its apply_chat_template(messages, add_generation_prompt=True)) and shorten synthetic prompts by the template's overhead, as AIPerf; without a template (builtin included) it changes nothing, with a warning.
        #[arg(long)]
        apply_chat_template: flag(bool),
        /// Take token counts from the server's usage instead of the client tokenizer.
        #[arg(long)]
        use_server_token_count: flag(bool),
        /// Requests from a JSONL file instead of synthetic prompts.
        #[arg(long)]
        input_file: opt(PathBuf),
        /// Format of --input-file [default: single_turn].
        #[arg(long, value_parser = one_of::<DatasetType>())]
        custom_dataset_type: opt(DatasetType),
        /// An AIPerf public dataset read from its local --input-file (never downloaded): sharegpt, spec_bench, spec_al_mtbench.
        #[arg(long, value_parser = one_of::<PublicDataset>())]
        public_dataset: opt(PublicDataset),
        /// Which dataset entry each request (or session) takes: sequential, random (with replacement) or shuffle (a new permutation each pass), seeded by --random-seed [default: shuffle for random_pool, else sequential].
        #[arg(long, value_parser = one_of::<SamplingStrategy>())]
        dataset_sampling_strategy: opt(SamplingStrategy),
        /// Stop the run (a failed run, exit 2) once this many requests have failed.
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        #[range(Count)]
        max_errors: opt(u64),
        /// Stop the run once this share of the last 50 requests failed (e.g. 0.5).
        #[arg(long, allow_negative_numbers = true, value_name = "FRACTION")]
        #[range(Fraction)]
        max_error_rate: opt(f64),
        /// Stop the run once the server has refused every connection for this long; 0 never stops [default: 3].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(Seconds)]
        max_unreachable_seconds: opt(f64),
        /// Percent (0-100) of profiling requests to cancel client-side (seeded draw per request, as AIPerf). Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "PERCENT[,...]", value_delimiter = ',')]
        #[range(Percent)]
        request_cancellation_rate: sweep(f64) => RequestCancellationRate,
        /// Seconds after the request is written before a chosen request is cancelled [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',')]
        #[range(Seconds)]
        request_cancellation_delay: sweep(f64) => RequestCancellationDelay,
        /// Replay the --input-file trace on its timestamps (required for the offsets; a trace is replayed anyway unless --no-fixed-schedule).
        #[arg(long)]
        fixed_schedule: flag(bool),
        /// Send a timestamped trace's rows as ordinary load (--concurrency/--request-rate), ignoring its timestamps.
        #[arg(long, conflicts_with = "fixed_schedule")]
        no_fixed_schedule: flag(bool),
        /// Schedule zero = the earliest timestamp [default: on, unless --fixed-schedule-start-offset is given].
        #[arg(long)]
        fixed_schedule_auto_offset: flag(bool),
        /// Drop trace rows stamped before this many ms; also the schedule zero without auto offset. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "MS[,...]", value_delimiter = ',')]
        #[range(Whole)]
        fixed_schedule_start_offset: sweep(u64) => FixedScheduleStartOffset,
        /// Drop trace rows stamped after this many ms (inclusive). Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "MS[,...]", value_delimiter = ',')]
        #[range(Whole)]
        fixed_schedule_end_offset: sweep(u64) => FixedScheduleEndOffset,
        /// Tokens per hash_ids block of a mooncake_trace [default: 512]. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(Count)]
        isl_block_size: sweep(u64) => IslBlockSize,
        /// Sessions to start; each runs all its turns (also the synthetic dataset's size). Sweepable.
        #[arg(long, allow_negative_numbers = true, aliases = ["num-conversations", "num-sessions"], value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        conversation_num: sweep(u64) => ConversationNum,
        /// Turns per synthetic conversation (mean); each turn resends the session's history [default: 1]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "session-turns-mean", value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        conversation_turn_mean: sweep(u64) => ConversationTurnMean,
        /// Standard deviation of the turns per conversation [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "session-turns-stddev", value_name = "N[,N...]", value_delimiter = ',')]
        #[range(NonNegative)]
        conversation_turn_stddev: sweep(f64) => ConversationTurnStddev,
        /// Delay before each turn after the first, from the previous reply's end, mean in ms [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "session-turn-delay-mean", value_name = "MS[,MS...]", value_delimiter = ',')]
        #[range(Millis)]
        conversation_turn_delay_mean: sweep(f64) => ConversationTurnDelayMean,
        /// Standard deviation of the turn delay, in ms [default: 0]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "session-turn-delay-stddev", value_name = "MS[,MS...]", value_delimiter = ',')]
        #[range(Millis)]
        conversation_turn_delay_stddev: sweep(f64) => ConversationTurnDelayStddev,
        /// Factor on every sampled turn delay [default: 1]. Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "session-delay-ratio", value_name = "RATIO[,...]", value_delimiter = ',')]
        #[range(NonNegative)]
        conversation_turn_delay_ratio: sweep(f64) => ConversationTurnDelayRatio,
        /// Distinct shared prefixes; each conversation's first turn starts with one of them. Sweepable.
        #[arg(long, allow_negative_numbers = true, aliases = ["prompt-prefix-pool-size", "num-prefix-prompts"], value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        prefix_prompt_pool_size: sweep(u64) => PrefixPromptPoolSize,
        /// Tokens of each pool prefix (added to the ISL). Sweepable.
        #[arg(long, allow_negative_numbers = true, alias = "prompt-prefix-length", value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(Whole)]
        prefix_prompt_length: sweep(u64) => PrefixPromptLength,
        /// Tokens of one system prompt shared by every request (0: none; added to the ISL). Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(Whole)]
        shared_system_prompt_length: sweep(u64) => SharedSystemPromptLength,
        /// Tokens of a user-context message per conversation, sent on every turn (0: none; added to the ISL). Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "TOKENS[,...]", value_delimiter = ',')]
        #[range(Whole)]
        user_context_prompt_length: sweep(u64) => UserContextPromptLength,
        /// User-centric load: requests/s shared by --num-users users, each on AIPerf's per-user schedule. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "RPS[,RPS...]", value_delimiter = ',')]
        #[range(Positive)]
        user_centric_rate: sweep(f64) => UserCentricRate,
        /// User-centric load: simulated users, each running one session at a time. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "N[,N...]", value_delimiter = ',')]
        #[range(Count)]
        num_users: sweep(u64) => NumUsers,
        /// Clamp every turn `delay` of an --input-file (multi_turn, mooncake_trace sessions) to at most this many seconds. Sweepable.
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS[,...]", value_delimiter = ',')]
        #[range(Seconds)]
        inter_turn_delay_cap_seconds: sweep(f64) => InterTurnDelayCapSeconds,
        /// Images per request (AIPerf's --image-batch-size; chat only) [default: 1 once any --image-* flag is given, else no images].
        #[arg(long, allow_negative_numbers = true, alias = "batch-size-image", value_name = "N")]
        #[range(Whole)]
        image_batch_size: opt(u64),
        /// Synthetic image width in pixels (mean) [default: 512 once images are on].
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(NonNegative)]
        image_width_mean: opt(f64),
        /// Standard deviation of the image width in pixels [default: 0].
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(NonNegative)]
        image_width_stddev: opt(f64),
        /// Synthetic image height in pixels (mean) [default: 512 once images are on].
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(NonNegative)]
        image_height_mean: opt(f64),
        /// Standard deviation of the image height in pixels [default: 0].
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(NonNegative)]
        image_height_stddev: opt(f64),
        /// Encoding of synthetic images: png, jpeg, or random (one of the two per image) [default: jpeg, AIPerf's effective default].
        #[arg(long, value_parser = one_of::<ImageFormat>())]
        image_format: opt(ImageFormat),
        /// Where synthetic images' pixels come from: noise (random pixels), assets (AIPerf's 4 bundled CC0 photos) or a folder of images, each resized to the drawn width x height [default: noise].
        #[arg(long, value_name = "noise|assets|DIR")]
        image_source: opt(String),
        /// How images are picked from --image-source assets or a folder: random-with-replacement, shuffle-cycle (each once per shuffled cycle) or sequential-cycle (sorted order, wrapping); noise takes only the default [default: random-with-replacement].
        #[arg(long, value_parser = one_of::<SourceSampling>())]
        image_source_sampling: opt(SourceSampling),
        /// Audio clips per request (AIPerf's --audio-batch-size; chat only) [default: 1 once --audio-length-* is given, else no audio].
        #[arg(long, allow_negative_numbers = true, alias = "batch-size-audio", value_name = "N")]
        #[range(Whole)]
        audio_batch_size: opt(u64),
        /// Synthetic audio length in seconds (mean) [default: 10 once audio is on].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(NonNegative)]
        audio_length_mean: opt(f64),
        /// Standard deviation of the audio length in seconds [default: 0].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(NonNegative)]
        audio_length_stddev: opt(f64),
        /// Encoding of synthetic audio: wav (PCM) or mp3 (LAME, 128 kbit/s; rates 8 to 48 kHz as MP3 allows) [default: wav].
        #[arg(long, value_parser = one_of::<AudioFormat>())]
        audio_format: opt(AudioFormat),
        /// Sample rates in kHz, one drawn per clip (e.g. 16,44.1) [default: 16].
        #[arg(long, allow_negative_numbers = true, value_name = "KHZ[,...]", value_delimiter = ',', num_args = 1.., value_parser = ranged::<f64>(Range::Positive))]
        audio_sample_rates: opt(Vec<f64>),
        /// Bit depths, one drawn per clip: 8, 16, 24 or 32 (e.g. 16,24) [default: 16].
        #[arg(long, allow_negative_numbers = true, value_name = "BITS[,...]", value_delimiter = ',', num_args = 1.., value_parser = ranged::<u64>(Range::Count))]
        audio_depths: opt(Vec<u64>),
        /// Audio channels: 1 (mono) or 2 (stereo) [default: 1].
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        #[range(Count)]
        audio_num_channels: opt(u64),
        /// Videos per request (AIPerf's --video-batch-size; chat only) [default: 1 once --video-width and --video-height are given, else no video].
        #[arg(long, allow_negative_numbers = true, alias = "batch-size-video", value_name = "N")]
        #[range(Whole)]
        video_batch_size: opt(u64),
        /// Synthetic video width in pixels; with --video-height it turns video on (needs the ffmpeg binary).
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(Whole)]
        video_width: opt(u64),
        /// Synthetic video height in pixels (with --video-width).
        #[arg(long, allow_negative_numbers = true, value_name = "PIXELS")]
        #[range(Whole)]
        video_height: opt(u64),
        /// Video frames per second [default: 4].
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        #[range(Whole)]
        video_fps: opt(u64),
        /// Video length in seconds; int(duration x fps) frames [default: 5].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(NonNegative)]
        video_duration: opt(f64),
        /// Video container: webm or mp4 [default: webm].
        #[arg(long, value_parser = one_of::<VideoFormat>())]
        video_format: opt(VideoFormat),
        /// ffmpeg video encoder: libvpx-vp9, libvpx, libaom-av1, libx264 or libx265 (the last two in mp4 only) [default: libvpx-vp9].
        #[arg(long, value_parser = one_of::<VideoCodec>())]
        video_codec: opt(VideoCodec),
        /// What the frames show: moving_shapes, grid_clock or noise [default: moving_shapes].
        #[arg(long, value_parser = one_of::<VideoSynth>())]
        video_synth_type: opt(VideoSynth),
        /// Sample rate of a video's audio track, Hz or kHz (at most 1000 is kHz: 16 = 16000), 8 to 96000 [default: 44100].
        #[arg(long, allow_negative_numbers = true, value_name = "HZ")]
        #[range(Positive)]
        video_audio_sample_rate: opt(f64),
        /// Audio channels muxed into each video: 0 (no audio track), 1 (mono) or 2 (stereo); Gaussian noise as long as the video [default: 0].
        #[arg(long, allow_negative_numbers = true, value_name = "N")]
        #[range(Whole)]
        video_audio_num_channels: opt(u64),
        /// ffmpeg encoder of a video's audio track: libvorbis, libopus or aac (mp4 only) [default: libopus in mp4, libvorbis in webm].
        #[arg(long, value_parser = one_of::<VideoAudioCodec>())]
        video_audio_codec: opt(VideoAudioCodec),
        /// Bit depth of a video's audio track before encoding: 8, 16, 24 or 32 [default: 16].
        #[arg(long, allow_negative_numbers = true, value_name = "BITS")]
        #[range(Count)]
        video_audio_depth: opt(u64),
        /// A verbatim system prompt, sent first on every request (its tokens add to the ISL; synthetic prompts).
        #[arg(long, value_name = "TEXT")]
        system_prompt: opt(String),
        /// A UTF-8 text file holding the verbatim system prompt (read once, before the run).
        #[arg(long, value_name = "PATH")]
        system_prompt_file: opt(PathBuf),
        /// Probe the server's TCP-handshake round trip during profiling (a fresh connection every --network-latency-ping-interval; samples to profile_export_network_latency.jsonl beside --output); trial-agg subtracts their mean from TTFT, TTFO and request latency as network_adjusted_* metrics.
        #[arg(long)]
        network_latency_automatic: flag(bool),
        /// A fixed network round trip in ms to subtract instead of probing (network_adjusted_* metrics, no probe).
        #[arg(long, allow_negative_numbers = true, value_name = "MS")]
        #[range(Millis)]
        network_latency_mean: opt(f64),
        /// Seconds between round-trip probes, with --network-latency-automatic only [default: 1].
        #[arg(long, allow_negative_numbers = true, value_name = "SECONDS")]
        #[range(PositiveSeconds)]
        network_latency_ping_interval: opt(f64),
        }
    };
}
