//! What trial-agg knows about each metric tag: its header (CSV and console), display unit, whether
//! larger is better (goodput SLOs), whether it gets an error-adjusted `adj_` companion, and where
//! it sits on the console. Tags not listed here (a newer AIPerf, a custom exporter) still get full
//! statistics: their unit comes from the records and their header from the tag.

/// The unit AIPerf stores a `ms` metric in: nanoseconds. Stats are computed in ns and converted
/// back with `* 1e-6`, exactly as AIPerf's `MetricTimeUnit.convert_to` does.
pub const NS_TO_MS: f64 = 1e-6;
/// `benchmark_duration` is kept in ns and displayed in seconds (`* 1e-9`).
pub const NS_TO_SEC: f64 = 1e-9;

/// One known metric.
#[derive(Debug, Clone, Copy)]
pub struct MetricInfo {
    pub tag: &'static str,
    pub header: &'static str,
    pub unit: &'static str,
    pub larger_is_better: bool,
    /// `PERCENTILE_INCLUDES_FAILED_REQUESTS`: gets an `adj_<tag>` companion when requests failed.
    pub adjusted: bool,
    /// Console position (AIPerf's `display_order`); `None` = not shown on the console.
    pub console: Option<u32>,
}

const fn m(tag: &'static str, header: &'static str, unit: &'static str, console: Option<u32>) -> MetricInfo {
    MetricInfo {
        tag,
        header,
        unit,
        larger_is_better: false,
        adjusted: false,
        console,
    }
}
const fn up(mut i: MetricInfo) -> MetricInfo {
    i.larger_is_better = true;
    i
}
const fn adj(mut i: MetricInfo) -> MetricInfo {
    i.adjusted = true;
    i
}

/// Every metric AIPerf 0.13 wrote in the reference artifacts, plus the ones its docs define and
/// sweepkit's additions. Headers are AIPerf's (they are the CSV's `Metric` cells).
pub const KNOWN: &[MetricInfo] = &[
    // Per-request distributions.
    adj(m("time_to_first_token", "Time to First Token", "ms", Some(100))),
    m("time_to_second_token", "Time to Second Token", "ms", Some(200)),
    m(
        "time_to_first_output_token",
        "Time to First Output Token",
        "ms",
        Some(210),
    ),
    adj(m("request_latency", "Request Latency", "ms", Some(300))),
    adj(m("decode_duration", "Decode Duration", "ms", Some(350))),
    adj(m("inter_token_latency", "Inter Token Latency", "ms", Some(400))),
    m("inter_chunk_latency", "Inter Chunk Latency", "ms", None),
    up(m(
        "output_token_throughput_per_user",
        "Output Token Throughput Per User",
        "tokens/sec/user",
        Some(500),
    )),
    up(m(
        "e2e_output_token_throughput",
        "E2E Output Token Throughput",
        "tokens/sec/user",
        Some(510),
    )),
    up(m(
        "prefill_throughput_per_user",
        "Prefill Throughput Per User",
        "tokens/sec/user",
        Some(520),
    )),
    m(
        "output_sequence_length",
        "Output Sequence Length",
        "tokens",
        Some(600),
    ),
    m(
        "input_sequence_length",
        "Input Sequence Length",
        "tokens",
        Some(700),
    ),
    m("output_token_count", "Output Token Count", "tokens", None),
    m("reasoning_token_count", "Reasoning Tokens", "tokens", None),
    m("error_isl", "Error Input Sequence Length", "tokens", None),
    m("stream_setup_latency", "Stream Setup Latency", "ms", None),
    m("stream_prefill_latency", "Stream Prefill Latency", "ms", None),
    m("credit_to_start_latency", "Credit-to-Start Latency", "ms", None),
    m(
        "effective_latency",
        "Effective Latency (CO-aware)",
        "ms",
        Some(1200),
    ),
    m("http_req_blocked", "HTTP Blocked", "ms", None),
    m("http_req_chunks_received", "HTTP Chunks Received", "count", None),
    m("http_req_chunks_sent", "HTTP Chunks Sent", "count", None),
    m("http_req_connecting", "HTTP Connecting", "ms", None),
    m(
        "http_req_connection_overhead",
        "HTTP Connection Overhead",
        "ms",
        None,
    ),
    m(
        "http_req_connection_reused",
        "HTTP Connection Reused",
        "ratio",
        None,
    ),
    m("http_req_data_received", "HTTP Data Received", "KB", None),
    m("http_req_data_sent", "HTTP Data Sent", "KB", None),
    m("http_req_dns_lookup", "HTTP DNS Lookup", "ms", None),
    m("http_req_duration", "HTTP Duration (excl. conn)", "ms", None),
    m("http_req_receiving", "HTTP Receiving", "ms", None),
    m("http_req_sending", "HTTP Sending", "ms", None),
    m("http_req_total", "HTTP Total Time", "ms", None),
    m("http_req_waiting", "HTTP Waiting (TTFB)", "ms", None),
    m("osl_mismatch_diff_pct", "OSL Mismatch Diff %", "%", None),
    m("usage_prompt_tokens", "Usage Prompt Tokens", "tokens", Some(1300)),
    m(
        "usage_completion_tokens",
        "Usage Completion Tokens",
        "tokens",
        Some(1310),
    ),
    m("usage_total_tokens", "Usage Total Tokens", "tokens", Some(1320)),
    m("usage_reasoning_tokens", "Usage Reasoning Tokens", "tokens", None),
    m(
        "usage_prompt_cache_miss_tokens",
        "Usage Prompt Cache Miss Tokens",
        "tokens",
        None,
    ),
    m(
        "usage_tool_use_prompt_tokens",
        "Usage Tool Use Prompt Tokens",
        "tokens",
        None,
    ),
    up(m(
        "usage_prompt_audio_tokens",
        "Usage Prompt Audio Tokens",
        "tokens",
        None,
    )),
    up(m(
        "usage_prompt_audio_seconds",
        "Usage Prompt Audio Seconds",
        "sec",
        None,
    )),
    up(m(
        "usage_completion_audio_tokens",
        "Usage Completion Audio Tokens",
        "tokens",
        None,
    )),
    up(m(
        "usage_accepted_prediction_tokens",
        "Usage Accepted Prediction Tokens",
        "tokens",
        None,
    )),
    m(
        "usage_rejected_prediction_tokens",
        "Usage Rejected Prediction Tokens",
        "tokens",
        None,
    ),
    // Speculative decoding (vLLM's per-request stats; AIPerf's spec_decode_metrics.py).
    up(m(
        "spec_decode_acceptance_length",
        "Acceptance Length",
        "ratio",
        None,
    )),
    up(m(
        "spec_decode_draft_acceptance_rate",
        "Draft Acceptance Rate",
        "%",
        None,
    )),
    up(m(
        "spec_decode_accepted_per_verified",
        "Accepted per Verified",
        "ratio",
        None,
    )),
    m("spec_decode_steps", "Spec Decode Steps", "count", None),
    m(
        "spec_decode_accepted_draft_tokens",
        "Accepted Draft Tokens",
        "tokens",
        None,
    ),
    m("spec_decode_draft_tokens", "Draft Tokens", "tokens", None),
    m(
        "total_spec_decode_steps",
        "Total Spec Decode Steps",
        "count",
        None,
    ),
    m(
        "total_accepted_draft_tokens",
        "Total Accepted Draft Tokens",
        "tokens",
        None,
    ),
    m("total_draft_tokens", "Total Draft Tokens", "tokens", None),
    up(m(
        "spec_decode_token_weighted_acceptance_length",
        "Token-Weighted Acceptance Length",
        "ratio",
        None,
    )),
    up(m(
        "spec_decode_overall_draft_acceptance_rate",
        "Overall Draft Acceptance Rate",
        "%",
        None,
    )),
    m("thinking_efficiency", "Thinking Efficiency", "ratio", None),
    m("num_images", "Number of Images", "images", None),
    m("image_throughput", "Image Throughput", "images/sec", None),
    m("image_latency", "Image Latency", "ms/image", None),
    m("audio_duration", "Audio Duration", "sec", None),
    up(m("rtfx", "Inverse Real-Time Factor (RTFx)", "ratio", None)),
    m(
        "overall_thinking_efficiency",
        "Overall Thinking Efficiency",
        "ratio",
        None,
    ),
    m("usage_prompt_tokens_diff_pct", "Usage Prompt Diff %", "%", None),
    m(
        "usage_completion_tokens_diff_pct",
        "Usage Completion Diff %",
        "%",
        None,
    ),
    m(
        "usage_reasoning_tokens_diff_pct",
        "Usage Reasoning Diff %",
        "%",
        None,
    ),
    // Network-adjusted latencies and the round trip subtracted (AIPerf's network_adjusted_metrics.py).
    m(
        "network_adjusted_time_to_first_token",
        "Network-Adjusted Time to First Token",
        "ms",
        Some(101),
    ),
    m(
        "network_adjusted_time_to_first_output_token",
        "Network-Adjusted Time to First Output Token",
        "ms",
        Some(211),
    ),
    m(
        "network_adjusted_request_latency",
        "Network-Adjusted Request Latency",
        "ms",
        Some(301),
    ),
    m("network_rtt", "Network RTT", "ms", Some(305)),
    // sweepkit additions: the coordinated-omission view (records carrying metadata.scheduled_ns).
    m(
        "scheduled_time_to_first_token",
        "Scheduled Time to First Token (sweepkit)",
        "ms",
        Some(110),
    ),
    m(
        "scheduled_request_latency",
        "Scheduled Request Latency (sweepkit)",
        "ms",
        Some(310),
    ),
    m("dispatch_lag", "Dispatch Lag (sweepkit)", "ms", Some(320)),
    // Aggregates and derived scalars.
    up(m(
        "output_token_throughput",
        "Output Token Throughput",
        "tokens/sec",
        Some(800),
    )),
    up(m(
        "input_token_throughput",
        "Input Token Throughput",
        "tokens/sec",
        Some(805),
    )),
    up(m(
        "total_token_throughput",
        "Total Token Throughput",
        "tokens/sec",
        Some(810),
    )),
    up(m(
        "request_throughput",
        "Request Throughput",
        "requests/sec",
        Some(900),
    )),
    up(m("goodput", "Goodput", "requests/sec", Some(1000))),
    up(m(
        "good_request_fraction",
        "GoodRequestFraction",
        "ratio",
        Some(1010),
    )),
    up(m("good_request_count", "Good Request Count", "requests", None)),
    m(
        "completed_request_count",
        "Completed Requests (Success + Error)",
        "requests",
        Some(1075),
    ),
    m("request_error_rate", "Request Error Rate", "%", Some(1080)),
    m("request_count", "Request Count", "requests", Some(1100)),
    m(
        "error_request_count",
        "Error Request Count",
        "requests",
        Some(1110),
    ),
    m("benchmark_duration", "Benchmark Duration", "sec", Some(1150)),
    m("total_isl", "Total Input Sequence Length", "tokens", None),
    m("total_osl", "Total Output Sequence Length", "tokens", None),
    m("total_output_tokens", "Total Output Tokens", "tokens", None),
    m("total_reasoning_tokens", "Total Reasoning Tokens", "tokens", None),
    m(
        "total_error_isl",
        "Total Error Input Sequence Length",
        "tokens",
        None,
    ),
    m(
        "total_usage_prompt_tokens",
        "Total Usage Prompt Tokens",
        "tokens",
        Some(1330),
    ),
    m(
        "total_usage_completion_tokens",
        "Total Usage Completion Tokens",
        "tokens",
        Some(1340),
    ),
    m(
        "total_usage_total_tokens",
        "Total Usage Total Tokens",
        "tokens",
        Some(1350),
    ),
    m(
        "context_overflow_count",
        "Context Overflow Count",
        "requests",
        None,
    ),
    m("replay_sched_lag_p50", "Replay Schedule Lag p50", "ms", None),
    m("replay_sched_lag_p90", "Replay Schedule Lag p90", "ms", None),
    m("replay_sched_lag_p99", "Replay Schedule Lag p99", "ms", None),
    m("replay_sched_degraded", "Replay Schedule Degraded", "count", None),
    m("osl_mismatch_count", "OSL Mismatch Count", "requests", None),
    m(
        "total_usage_prompt_cache_read_tokens",
        "Total Usage Prompt Cache Read Tokens",
        "tokens",
        None,
    ),
    m(
        "total_usage_prompt_cache_write_tokens",
        "Total Usage Prompt Cache Write Tokens",
        "tokens",
        None,
    ),
    up(m(
        "overall_usage_prompt_cache_read_pct",
        "Overall Usage Prompt Cache Read %",
        "%",
        None,
    )),
    m("session_count", "Session Count", "sessions", None),
    m("turn_count", "Turn Count", "requests", None),
    m(
        "usage_discrepancy_count",
        "Usage Discrepancy Count",
        "requests",
        None,
    ),
];

/// The sweepkit-only tags, listed in the summary under `sweepkit.additions`.
pub const SWEEPKIT_ADDITIONS: [&str; 5] = [
    "scheduled_time_to_first_token",
    "scheduled_request_latency",
    "dispatch_lag",
    "session_count",
    "turn_count",
];

pub fn lookup(tag: &str) -> Option<&'static MetricInfo> {
    KNOWN.iter().find(|i| i.tag == tag)
}

/// The CSV/console header of a tag: AIPerf's when known, else the tag in title case
/// (`http_req_foo` → `Http Req Foo`). `adj_<tag>` gets "<header> (error-adjusted)".
pub fn header(tag: &str) -> String {
    if let Some(i) = lookup(tag) {
        return i.header.to_string();
    }
    if let Some(base) = tag.strip_prefix("adj_") {
        if lookup(base).is_some() {
            return format!("{} (error-adjusted)", header(base));
        }
    }
    tag.split('_')
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_uppercase().chain(c).collect::<String>(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

pub fn larger_is_better(tag: &str) -> bool {
    lookup(tag).is_some_and(|i| i.larger_is_better)
}

pub fn adjusted(tag: &str) -> bool {
    lookup(tag).is_some_and(|i| i.adjusted)
}

/// How a record's display value maps to the unit AIPerf aggregates in: `ms` values are
/// nanoseconds displayed as `ns * 1e-6`; everything else is aggregated as written.
pub fn base_factor(unit: &str) -> Option<f64> {
    match unit {
        "ms" => Some(1e6),
        _ => None,
    }
}

/// Recovers the base (ns) value AIPerf displayed as `ms = ns * 1e-6`: the integer nanoseconds
/// when one maps back exactly (every measured duration), else the float next to `ms * 1e6` that
/// does (computed ratios such as ITL), else `ms * 1e6`.
#[inline]
pub fn ms_to_ns(ms: f64) -> f64 {
    let x = ms * 1e6;
    let r = x.round();
    // `ns * 1e-6` is how AIPerf displays; `ns / 1e6` is how sweepkit's loadgen writes (Contract C).
    if r * NS_TO_MS == ms || r / 1e6 == ms {
        return r;
    }
    if x * NS_TO_MS == ms {
        return x;
    }
    let up = x.next_up();
    if up * NS_TO_MS == ms {
        return up;
    }
    let down = x.next_down();
    if down * NS_TO_MS == ms {
        return down;
    }
    x
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_known_unknown_and_adjusted() {
        assert_eq!(header("time_to_first_token"), "Time to First Token");
        assert_eq!(header("adj_request_latency"), "Request Latency (error-adjusted)");
        assert_eq!(header("foo_bar_baz"), "Foo Bar Baz");
    }

    #[test]
    fn ms_round_trips_to_integer_ns() {
        // A real record value: 192.80851099999998 ms is 192808511 ns.
        assert_eq!(ms_to_ns(192.80851099999998), 192808511.0);
        // sweepkit's loadgen writes ns / 1e6 (Contract C), which can differ from AIPerf's ns * 1e-6.
        assert_eq!(ms_to_ns(1.000007), 1000007.0);
        assert_eq!(ms_to_ns(1.0000069999999999), 1000007.0);
        let itl = 4844406.774193549_f64;
        assert_eq!(ms_to_ns(itl * NS_TO_MS) * NS_TO_MS, itl * NS_TO_MS);
    }

    #[test]
    fn flags() {
        assert!(larger_is_better("output_token_throughput_per_user"));
        assert!(!larger_is_better("time_to_first_token"));
        assert!(adjusted("inter_token_latency"));
        assert!(!adjusted("time_to_second_token"));
    }
}
