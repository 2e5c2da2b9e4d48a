//! Per-request metrics, exactly as AIPerf 0.13 defines them (aiperf-formats.md §1.2), computed from
//! one [`Exchange`]: monotonic stamps in, display units out (ms = ns / 1e6 as f64 division).

use std::time::Instant;

use crate::contract::records::{ErrorDetails, ErrorKind, Metadata, Phase, Record, Value};
use crate::io::clock::Clock;

use crate::io::tokenizer::Tokenizer;
use crate::loadgen::http::client::Exchange;
use crate::loadgen::openai::Usage;

/// What the record needs to know about the run.
pub struct Context<'a> {
    pub clock: &'a Clock,
    pub tokenizer: &'a Tokenizer,
    pub use_server_token_count: bool,
    pub produces_tokens: bool,
    pub streaming: bool,
    /// A shard's tag and numbering (`loadgen --shard`), stamped on every record.
    pub placement: Option<(
        crate::contract::records::ShardTag,
        &'a crate::loadgen::shard::Placement,
    )>,
    /// Output texts already counted (bounded): a deterministic server repeats its answers, and
    /// counting is a pure function of the text.
    memo: std::cell::RefCell<std::collections::HashMap<Box<str>, u64, std::hash::BuildHasherDefault<Fnv>>>,
}

/// FNV-1a: the memo's keys are short texts from one trusted process; SipHash's DoS resistance
/// buys nothing here and costs more than the lookup it protects.
#[derive(Default)]
pub struct Fnv(u64);

impl std::hash::Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        let mut h = if self.0 == 0 {
            0xcbf2_9ce4_8422_2325
        } else {
            self.0
        };
        for b in bytes {
            h ^= *b as u64;
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        self.0 = h;
    }
}

const MEMO_MAX: usize = 4096;

impl<'a> Context<'a> {
    pub fn new(
        clock: &'a Clock,
        tokenizer: &'a Tokenizer,
        use_server_token_count: bool,
        produces_tokens: bool,
        streaming: bool,
    ) -> Self {
        Context {
            clock,
            tokenizer,
            use_server_token_count,
            produces_tokens,
            streaming,
            placement: None,
            memo: Default::default(),
        }
    }

    /// Records of a shard carry its tag and a benchmark-wide `session_num`.
    pub fn sharded(mut self, placement: Option<&'a crate::loadgen::shard::Placement>) -> Self {
        self.placement = placement.map(|p| (p.tag(), p));
        self
    }

    fn count(&self, text: &str) -> u64 {
        if text.len() > 4096 {
            return self.tokenizer.count(text);
        }
        let mut memo = self.memo.borrow_mut();
        if let Some(n) = memo.get(text) {
            return *n;
        }
        let n = self.tokenizer.count(text);
        if memo.len() >= MEMO_MAX {
            memo.clear();
        }
        memo.insert(text.into(), n);
        n
    }
}

fn ns(a: Instant, b: Instant) -> u64 {
    b.saturating_duration_since(a).as_nanos() as u64
}

fn ms(ns: f64) -> Value {
    Value::Scalar(ns / 1e6)
}

fn tokens(n: u64) -> Value {
    Value::Scalar(n as f64)
}

/// Output/reasoning/input token counts: client tokenizer, or the server's usage.
fn token_counts(ex: &Exchange, cx: &Context) -> (Option<u64>, Option<u64>, u64) {
    if cx.use_server_token_count {
        match &ex.output.usage {
            Some(u) => {
                let reasoning = u.reasoning_tokens();
                let output = u
                    .completion_tokens
                    .map(|c| c.saturating_sub(reasoning.unwrap_or(0)));
                (output, reasoning, u.prompt_total().unwrap_or(ex.isl))
            }
            None => (None, None, ex.isl),
        }
    } else {
        let out = cx.count(&ex.output.text);
        let reasoning = if ex.output.reasoning.is_empty() {
            None
        } else {
            Some(cx.count(&ex.output.reasoning))
        };
        (Some(out), reasoning, ex.isl)
    }
}

/// AIPerf's `usage_*` record metrics, from whichever vendor's usage keys the server sent.
fn usage_metrics(r: &mut Computed, u: &Usage) {
    let mut put = |tag: &'static str, v: Option<u64>| {
        if let Some(v) = v {
            r.set(tag, tokens(v), "tokens");
        }
    };
    put("usage_prompt_tokens", u.prompt_total());
    put("usage_completion_tokens", u.completion_tokens);
    put("usage_total_tokens", u.total_tokens);
    put("usage_reasoning_tokens", u.reasoning_tokens());
    put("usage_prompt_cache_read_tokens", u.cache_read_tokens());
    put("usage_prompt_cache_write_tokens", u.cache_creation_input_tokens);
    for (tag, v, unit) in super::usage_extras::metrics(u) {
        r.set(tag, v, unit);
    }
}

/// A record as computed, before it becomes JSON: metric tags and units are static strings, so
/// the hot path allocates nothing per metric.
#[derive(Debug, Clone, PartialEq)]
pub struct Computed {
    pub metadata: Metadata,
    pub metrics: Vec<(&'static str, Value, &'static str)>,
    pub error: Option<ErrorDetails>,
}

impl Computed {
    fn set(&mut self, tag: &'static str, value: Value, unit: &'static str) {
        self.metrics.push((tag, value, unit));
    }

    pub fn into_record(self) -> Record {
        let mut r = Record {
            metadata: self.metadata,
            error: self.error,
            ..Default::default()
        };
        for (tag, value, unit) in self.metrics {
            r.set(tag, value, unit);
        }
        r
    }

    /// Appends the record's JSON line (without newline): the same bytes as serializing
    /// [`Computed::into_record`] with serde_json, written directly.
    pub fn write_json(&mut self, out: &mut Vec<u8>) {
        self.metrics.sort_unstable_by_key(|m| m.0);
        self.metrics.dedup_by_key(|m| m.0);
        out.extend_from_slice(b"{\"metadata\":");
        serde_json::to_writer(&mut *out, &self.metadata).expect("metadata serializes");
        out.extend_from_slice(b",\"metrics\":{");
        for (i, (tag, value, unit)) in self.metrics.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'"');
            out.extend_from_slice(tag.as_bytes());
            out.extend_from_slice(b"\":{\"value\":");
            serde_json::to_writer(&mut *out, value).expect("values serialize");
            out.extend_from_slice(b",\"unit\":\"");
            out.extend_from_slice(unit.as_bytes());
            out.extend_from_slice(b"\"}");
        }
        out.extend_from_slice(b"},\"error\":");
        serde_json::to_writer(&mut *out, &self.error).expect("errors serialize");
        out.push(b'}');
    }
}

/// `reasoning_token_count`, and AIPerf's `thinking_efficiency`: reasoning tokens per output
/// (answer) token, when the answer has any.
fn reasoning_metrics(r: &mut Computed, output: Option<u64>, reasoning: Option<u64>) {
    if let Some(rz) = reasoning {
        r.set("reasoning_token_count", tokens(rz), "tokens");
        if let Some(o) = output.filter(|o| *o > 0) {
            r.set(
                "thinking_efficiency",
                Value::Scalar(rz as f64 / o as f64),
                "ratio",
            );
        }
    }
}

/// Builds the record of one request.
pub fn record(ex: &Exchange, cx: &Context) -> Record {
    compute(ex, cx).into_record()
}

/// The record's metadata: who sent the request, when, in which phase and shard.
fn metadata(ex: &Exchange, cx: &Context) -> Metadata {
    let clock = cx.clock;
    Metadata {
        session_num: cx
            .placement
            .as_ref()
            .map_or(ex.request_num, |(_, p)| p.session_num(ex.request_num)),
        x_request_id: Some(ex.x_request_id.clone()),
        x_correlation_id: Some(
            ex.correlation_id
                .as_deref()
                .map_or_else(|| ex.x_request_id.clone(), str::to_string),
        ),
        conversation_id: Some(ex.conversation_id.to_string()),
        turn_index: ex.turn_index,
        scheduled_ns: ex.scheduled.map(|t| clock.wall_ns(t)),
        request_start_ns: clock.wall_ns(ex.start),
        request_ack_ns: ex.ack.map(|t| clock.wall_ns(t)),
        request_end_ns: clock.wall_ns(ex.end),
        worker_id: None,
        benchmark_phase: ex.phase,
        was_cancelled: ex.cancelled,
        cancellation_time_ns: if ex.cancelled {
            Some(clock.wall_ns(ex.end))
        } else {
            None
        },
        url_index: ex.replica.as_ref().map(|r| r.0),
        url: ex.replica.as_ref().map(|r| r.1.to_string()),
        shard: cx.placement.as_ref().map(|(t, _)| t.clone()),
    }
}

/// Computes the record of one request.
pub fn compute(ex: &Exchange, cx: &Context) -> Computed {
    let mut r = Computed {
        metadata: metadata(ex, cx),
        metrics: Vec::with_capacity(18),
        error: None,
    };
    let mut error = ex.error.clone();
    if error.is_none() && ex.content.is_empty() {
        error = Some(ErrorDetails {
            code: ex.status.map(i64::from),
            kind: ErrorKind::EmptyResponse,
            message: "the response carried no output (no content, reasoning or tool-call text)".into(),
        });
    }
    if let Some(e) = error {
        r.set("error_isl", tokens(ex.isl), "tokens");
        r.error = Some(e);
        return r;
    }
    let (output, reasoning, isl) = token_counts(ex, cx);
    let first = ex.content[0];
    let last = *ex.content.last().unwrap();
    let latency = ns(ex.start, last) as f64;
    r.set("request_latency", ms(latency), "ms");
    r.set("input_sequence_length", tokens(isl), "tokens");
    if let Some(s) = ex.scheduled {
        // Coordinated-omission-aware: from when the schedule meant to send it.
        r.set("effective_latency", ms(ns(s, last) as f64), "ms");
    }
    let osl = match (output, reasoning) {
        (None, None) => None,
        (o, rz) => Some(o.unwrap_or(0) + rz.unwrap_or(0)),
    };
    if cx.produces_tokens {
        if let Some(o) = output.filter(|o| *o > 0) {
            r.set("output_token_count", tokens(o), "tokens");
        }
        reasoning_metrics(&mut r, output, reasoning);
        if let Some(osl) = osl {
            r.set("output_sequence_length", tokens(osl), "tokens");
            if latency > 0.0 {
                r.set(
                    "e2e_output_token_throughput",
                    Value::Scalar(osl as f64 / (latency / 1e9)),
                    "tokens/sec/user",
                );
            }
        }
    }
    if cx.streaming && cx.produces_tokens {
        let ttft = ns(ex.start, first) as f64;
        r.set("time_to_first_token", ms(ttft), "ms");
        if ex.content.len() >= 2 {
            r.set("time_to_second_token", ms(ns(first, ex.content[1]) as f64), "ms");
            let icl: Vec<f64> = ex
                .content
                .windows(2)
                .map(|w| ns(w[0], w[1]) as f64 / 1e6)
                .collect();
            r.set("inter_chunk_latency", Value::List(icl), "ms");
        }
        r.set("decode_duration", ms(latency - ttft), "ms");
        if let Some(osl) = osl.filter(|o| *o >= 2) {
            let itl = (latency - ttft) / (osl - 1) as f64;
            r.set("inter_token_latency", ms(itl), "ms");
            if itl > 0.0 {
                r.set(
                    "output_token_throughput_per_user",
                    Value::Scalar(1e9 / itl),
                    "tokens/sec/user",
                );
            }
        }
    }
    if let Some(u) = &ex.output.usage {
        usage_metrics(&mut r, u);
    }
    if let Some(sd) = &ex.output.spec_decode {
        for (tag, v, unit) in super::spec_decode::metrics(sd) {
            r.set(tag, v, unit);
        }
    }
    media_metrics(&mut r, ex, latency);
    r
}

/// AIPerf's image and audio metrics (`image_metrics.py`, `audio_duration_metric.py`,
/// `rtfx_metric.py`): per request, from the images in the body and the turn's first clip.
fn media_metrics(r: &mut Computed, ex: &Exchange, latency_ns: f64) {
    let seconds = latency_ns / 1e9;
    if ex.num_images > 0 {
        let n = ex.num_images as f64;
        r.set("num_images", Value::Scalar(n), "images");
        if seconds > 0.0 {
            r.set("image_throughput", Value::Scalar(n / seconds), "images/sec");
        }
        r.set("image_latency", Value::Scalar(latency_ns / 1e6 / n), "ms/image");
    }
    if let Some(a) = ex.audio_seconds.filter(|a| *a > 0.0) {
        r.set("audio_duration", Value::Scalar(a), "sec");
        if seconds > 0.0 {
            r.set("rtfx", Value::Scalar(a / seconds), "ratio");
        }
    }
}

/// The phase of a record, for counting.
pub fn is_profiling(ex: &Exchange) -> bool {
    ex.phase == Phase::Profiling
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::loadgen::openai::Output;
    use std::sync::Arc;
    use std::time::Duration;

    fn exchange(start: Instant, content_ms: &[u64], text: &str) -> Exchange {
        Exchange {
            request_num: 3,
            x_request_id: "rid".into(),
            conversation_id: Arc::from("session_000003"),
            phase: Phase::Profiling,
            isl: 550,
            scheduled: None,
            start,
            ack: Some(start + Duration::from_millis(1)),
            end: start + Duration::from_millis(content_ms.last().copied().unwrap_or(0) + 1),
            content: content_ms
                .iter()
                .map(|m| start + Duration::from_millis(*m))
                .collect(),
            rx: Default::default(),
            replica: None,
            output: Output {
                text: text.into(),
                ..Default::default()
            },
            status: Some(200),
            error: None,
            cancelled: false,
            cancel_after: None,
            turn_index: 0,
            correlation_id: None,
            isl_payload: None,
            num_images: 0,
            audio_seconds: None,
        }
    }

    /// AIPerf's definitions: images / latency s, latency ms / images, audio s / latency s; none
    /// of them on a request without media.
    #[test]
    fn image_and_audio_metrics_follow_aiperfs_definitions() {
        let clock = Clock::new();
        let tok = Tokenizer::load("builtin").unwrap();
        let cx = Context::new(&clock, &tok, false, true, false);
        let start = Instant::now();
        let mut ex = exchange(start, &[100, 200], "hi there");
        let plain = compute(&ex, &cx).into_record();
        assert_eq!(plain.scalar("num_images"), None);
        assert_eq!(plain.scalar("rtfx"), None);
        ex.num_images = 4;
        ex.audio_seconds = Some(3.0);
        let r = compute(&ex, &cx).into_record();
        assert_eq!(r.scalar("request_latency"), Some(200.0));
        assert_eq!(r.scalar("num_images"), Some(4.0));
        assert_eq!(r.scalar("image_throughput"), Some(20.0));
        assert_eq!(r.scalar("image_latency"), Some(50.0));
        assert_eq!(r.scalar("audio_duration"), Some(3.0));
        assert_eq!(r.scalar("rtfx"), Some(15.0));
    }

    #[test]
    fn streaming_metrics_follow_aiperf_formulas() {
        let clock = Clock::new();
        let tok = Tokenizer::load("builtin").unwrap();
        let cx = Context::new(&clock, &tok, false, true, true);
        let start = clock.anchor() + Duration::from_millis(5);
        // 5 chunks, one word token each: TTFT 50, then 10 ms apart.
        let r = record(&exchange(start, &[50, 60, 70, 80, 90], " a b c d e"), &cx);
        assert_eq!(r.scalar("time_to_first_token"), Some(50.0));
        assert_eq!(r.scalar("time_to_second_token"), Some(10.0));
        assert_eq!(r.scalar("request_latency"), Some(90.0));
        assert_eq!(r.scalar("output_sequence_length"), Some(5.0));
        assert_eq!(r.scalar("inter_token_latency"), Some(10.0));
        assert_eq!(r.scalar("output_token_throughput_per_user"), Some(100.0));
        assert_eq!(r.metrics["inter_chunk_latency"].value, Value::List(vec![10.0; 4]));
        assert_eq!(r.metadata.request_start_ns, clock.wall_ns(start));
        assert!(r.error.is_none());
    }

    #[test]
    fn direct_json_matches_serde() {
        let clock = Clock::new();
        let tok = Tokenizer::load("builtin").unwrap();
        for streaming in [true, false] {
            let cx = Context::new(&clock, &tok, false, true, streaming);
            let mut exs = vec![
                exchange(clock.anchor(), &[50, 60, 70], " a b c"),
                exchange(clock.anchor(), &[], ""),
            ];
            exs[0].output.usage = Some(Usage {
                prompt_tokens: Some(9),
                completion_tokens: Some(3),
                total_tokens: Some(12),
                ..Default::default()
            });
            exs[0].scheduled = Some(clock.anchor());
            exs[1].cancelled = true;
            for ex in &exs {
                let mut c = compute(ex, &cx);
                let mut direct = Vec::new();
                c.write_json(&mut direct);
                let via_serde = serde_json::to_vec(&c.clone().into_record()).unwrap();
                assert_eq!(
                    String::from_utf8(direct).unwrap(),
                    String::from_utf8(via_serde).unwrap()
                );
            }
        }
    }

    #[test]
    fn no_content_is_an_error_record_with_error_isl() {
        let clock = Clock::new();
        let tok = Tokenizer::load("builtin").unwrap();
        let cx = Context::new(&clock, &tok, false, true, true);
        let r = record(&exchange(clock.anchor(), &[], ""), &cx);
        assert_eq!(r.error.as_ref().unwrap().kind, ErrorKind::EmptyResponse);
        assert_eq!(r.metrics.len(), 1);
        assert_eq!(r.scalar("error_isl"), Some(550.0));
    }

    #[test]
    fn server_token_count_uses_usage() {
        let clock = Clock::new();
        let tok = Tokenizer::load("builtin").unwrap();
        let cx = Context::new(&clock, &tok, true, true, true);
        let mut ex = exchange(clock.anchor(), &[20, 30], "xyz");
        ex.output.usage = Some(Usage {
            prompt_tokens: Some(9),
            completion_tokens: Some(11),
            total_tokens: Some(20),
            ..Default::default()
        });
        let r = record(&ex, &cx);
        assert_eq!(r.scalar("output_sequence_length"), Some(11.0));
        assert_eq!(r.scalar("input_sequence_length"), Some(9.0));
        assert_eq!(r.scalar("inter_token_latency"), Some(1.0));
        assert_eq!(r.scalar("usage_total_tokens"), Some(20.0));
    }
}
