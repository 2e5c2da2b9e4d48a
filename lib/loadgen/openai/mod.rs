//! The OpenAI-compatible wire format: request bodies per endpoint type, and targeted parsing of
//! response chunks (only the fields metrics need; unknown fields are skipped, never built into a tree).

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;

pub mod extras;
mod fast;

use crate::contract::records::ErrorKind;
use crate::contract::settings::EndpointType;

/// Server-reported token usage, under any vendor's key names (AIPerf's `Usage`): the first
/// synonym present wins (`prompt_tokens`/`input_tokens`, `completion_tokens`/`output_tokens`,
/// `*_tokens_details`/`input|output_tokens_details`), and Anthropic's cache counts are kept apart
/// so [`Usage::prompt_total`] can re-total its disjoint accounting as AIPerf does.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(from = "RawUsage")]
pub struct Usage {
    pub prompt_tokens: Option<u64>,
    pub completion_tokens: Option<u64>,
    pub total_tokens: Option<u64>,
    pub prompt_tokens_details: Option<PromptDetails>,
    pub completion_tokens_details: Option<CompletionDetails>,
    /// `prompt_tokens` was given as `input_tokens` (Anthropic, Responses, Cohere).
    pub input_keyed: bool,
    /// Anthropic: prompt tokens read from / written to its cache, beside `input_tokens`.
    pub cache_read_input_tokens: Option<u64>,
    pub cache_creation_input_tokens: Option<u64>,
    /// Vendors' other usage keys (AIPerf's usage extras).
    pub extras: extras::UsageExtras,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct PromptDetails {
    #[serde(default)]
    pub cached_tokens: Option<u64>,
    #[serde(default)]
    pub audio_tokens: Option<u64>,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
pub struct CompletionDetails {
    #[serde(default)]
    pub reasoning_tokens: Option<u64>,
    #[serde(default)]
    pub audio_tokens: Option<u64>,
    #[serde(default)]
    pub accepted_prediction_tokens: Option<u64>,
    #[serde(default)]
    pub rejected_prediction_tokens: Option<u64>,
}

/// Every key name a usage object may use, as sent.
#[derive(Deserialize)]
struct RawUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    input_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
    #[serde(default)]
    output_tokens: Option<u64>,
    #[serde(default)]
    total_tokens: Option<u64>,
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    input_tokens_details: Option<PromptDetails>,
    #[serde(default)]
    completion_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    output_tokens_details: Option<CompletionDetails>,
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    #[serde(flatten)]
    extras: extras::RawExtras,
}

impl From<RawUsage> for Usage {
    fn from(r: RawUsage) -> Usage {
        Usage {
            input_keyed: r.prompt_tokens.is_none() && r.input_tokens.is_some(),
            prompt_tokens: r.prompt_tokens.or(r.input_tokens),
            completion_tokens: r.completion_tokens.or(r.output_tokens),
            total_tokens: r.total_tokens,
            prompt_tokens_details: r.prompt_tokens_details.or(r.input_tokens_details),
            completion_tokens_details: r.completion_tokens_details.or(r.output_tokens_details),
            cache_read_input_tokens: r.cache_read_input_tokens,
            cache_creation_input_tokens: r.cache_creation_input_tokens,
            extras: r.extras.into(),
        }
    }
}

impl Usage {
    pub fn is_empty(&self) -> bool {
        self.prompt_tokens.is_none() && self.completion_tokens.is_none() && self.total_tokens.is_none()
    }

    /// Prompt tokens as every vendor means them: Anthropic's `input_tokens` is only the uncached
    /// remainder when it reports cache reads or writes, so those are added back (AIPerf's rule).
    pub fn prompt_total(&self) -> Option<u64> {
        let p = self.prompt_tokens?;
        let cache = [self.cache_read_input_tokens, self.cache_creation_input_tokens];
        if self.input_keyed && cache.iter().any(Option::is_some) {
            return Some(p + cache.iter().flatten().sum::<u64>());
        }
        Some(p)
    }

    pub fn reasoning_tokens(&self) -> Option<u64> {
        self.completion_tokens_details.as_ref()?.reasoning_tokens
    }

    /// Prompt tokens served from the cache.
    pub fn cache_read_tokens(&self) -> Option<u64> {
        self.prompt_tokens_details
            .as_ref()
            .and_then(|d| d.cached_tokens)
            .or(self.cache_read_input_tokens)
    }

    /// Field by field: this usage where it says something, else `earlier` (Anthropic sends the
    /// input counts in `message_start` and the output count in `message_delta`).
    pub fn or(self, earlier: Usage) -> Usage {
        let input_keyed = if self.prompt_tokens.is_some() {
            self.input_keyed
        } else {
            earlier.input_keyed
        };
        Usage {
            prompt_tokens: self.prompt_tokens.or(earlier.prompt_tokens),
            completion_tokens: self.completion_tokens.or(earlier.completion_tokens),
            total_tokens: self.total_tokens.or(earlier.total_tokens),
            prompt_tokens_details: self.prompt_tokens_details.or(earlier.prompt_tokens_details),
            completion_tokens_details: self
                .completion_tokens_details
                .or(earlier.completion_tokens_details),
            input_keyed,
            cache_read_input_tokens: self.cache_read_input_tokens.or(earlier.cache_read_input_tokens),
            cache_creation_input_tokens: self
                .cache_creation_input_tokens
                .or(earlier.cache_creation_input_tokens),
            extras: self.extras.or(earlier.extras),
        }
    }
}

#[derive(Deserialize)]
struct Chunk<'a> {
    #[serde(default, borrow)]
    choices: Option<Vec<Choice<'a>>>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
    #[serde(default)]
    metrics: Option<RootMetrics>,
}

/// vLLM's response-root `metrics` (`--per-request-spec-decode-metrics`): on the body, or on the
/// trailing usage chunk when streaming.
#[derive(Deserialize)]
struct RootMetrics {
    #[serde(default)]
    speculative_decoding: Option<Value>,
}

#[derive(Deserialize)]
struct Choice<'a> {
    #[serde(default, borrow)]
    delta: Option<Message<'a>>,
    #[serde(default, borrow)]
    message: Option<Message<'a>>,
    #[serde(default, borrow)]
    text: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    finish_reason: Option<Cow<'a, str>>,
}

#[derive(Deserialize)]
struct Message<'a> {
    #[serde(default, borrow)]
    content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning_content: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    reasoning: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    tool_calls: Option<Vec<ToolCall<'a>>>,
}

#[derive(Deserialize)]
struct ToolCall<'a> {
    #[serde(default, borrow)]
    function: Option<Function<'a>>,
}

#[derive(Deserialize)]
struct Function<'a> {
    #[serde(default, borrow)]
    name: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    arguments: Option<Cow<'a, str>>,
}

/// What one response (a streamed chunk or a whole non-streaming body) contributed.
#[derive(Debug, Default)]
pub struct Parsed {
    /// Non-empty output text (content or tool-call text) was appended.
    pub content: bool,
    /// Non-empty reasoning text was appended.
    pub reasoning: bool,
    pub finished: bool,
}

/// Accumulates a response's output across chunks, whatever the API flavour.
#[derive(Debug, Default)]
pub struct Output {
    pub text: String,
    pub reasoning: String,
    pub usage: Option<Usage>,
    /// vLLM's `metrics.speculative_decoding` payload as sent (the last non-empty one wins, as
    /// AIPerf reads it); [`crate::loadgen::record::spec_decode`] turns it into metrics.
    pub spec_decode: Option<Value>,
    /// A finish reason (or the flavour's equivalent) arrived.
    pub finished: bool,
    /// The stream's end marker arrived (`[DONE]`, `message_stop`, `response.completed`).
    pub done: bool,
    /// Responses API: the `(output_index, content_index)` parts whose text came as deltas, so their
    /// closing `done` event (which repeats the whole text) is not counted twice.
    pub delta_parts: Vec<(u64, u64)>,
}

/// A problem with a response body, reported as an error record.
#[derive(Debug, Clone, PartialEq)]
pub struct BodyError {
    pub kind: ErrorKind,
    pub message: String,
}

impl Output {
    /// Parses one SSE data payload (`[DONE]` or a JSON chunk) into this output.
    pub fn stream_event(&mut self, data: &[u8]) -> Result<Parsed, BodyError> {
        let trimmed = trim_ascii(data);
        if trimmed == b"[DONE]" {
            self.done = true;
            return Ok(Parsed::default());
        }
        if let Some(f) = fast::fast(trimmed) {
            return Ok(self.take_fast(f));
        }
        self.json(trimmed, true)
    }

    fn take_fast(&mut self, f: fast::Fast) -> Parsed {
        let mut p = Parsed {
            finished: f.finished,
            ..Default::default()
        };
        if let Some(t) = f.text {
            self.text.push_str(t);
            p.content = true;
        }
        if let Some(u) = f.usage.filter(|u| !u.is_empty()) {
            // The last chunk with a non-empty usage wins (AIPerf).
            self.usage = Some(u);
            p.finished = true;
        }
        self.finished |= p.finished;
        p
    }

    /// Parses a whole non-streaming JSON body.
    pub fn whole_body(&mut self, body: &[u8], kind: EndpointType) -> Result<Parsed, BodyError> {
        if kind == EndpointType::Embeddings {
            #[derive(Deserialize)]
            struct Emb {
                #[serde(default)]
                data: Option<serde::de::IgnoredAny>,
                #[serde(default)]
                usage: Option<Usage>,
                #[serde(default)]
                error: Option<Value>,
            }
            let e: Emb = serde_json::from_slice(body).map_err(|e| malformed(body, e))?;
            if let Some(err) = e.error {
                return Err(server_error(&err));
            }
            if e.data.is_none() {
                return Err(BodyError {
                    kind: ErrorKind::InvalidResponse,
                    message: "embeddings response has no \"data\"".into(),
                });
            }
            self.usage = e.usage.filter(|u| !u.is_empty());
            self.finished = true;
            return Ok(Parsed {
                content: true,
                reasoning: false,
                finished: true,
            });
        }
        if let Some(f) = fast::fast(body) {
            return Ok(self.take_fast(f));
        }
        self.json(body, false)
    }

    fn json(&mut self, data: &[u8], streamed: bool) -> Result<Parsed, BodyError> {
        let c: Chunk = serde_json::from_slice(data).map_err(|e| malformed(data, e))?;
        if let Some(err) = c.error {
            return Err(server_error(&err));
        }
        let mut p = Parsed::default();
        for ch in c.choices.iter().flatten() {
            let msg = if streamed {
                ch.delta.as_ref().or(ch.message.as_ref())
            } else {
                ch.message.as_ref().or(ch.delta.as_ref())
            };
            if let Some(t) = ch.text.as_deref() {
                if !t.is_empty() {
                    self.text.push_str(t);
                    p.content = true;
                }
            }
            if let Some(m) = msg {
                if let Some(t) = m.content.as_deref() {
                    if !t.is_empty() {
                        self.text.push_str(t);
                        p.content = true;
                    }
                }
                for r in [m.reasoning_content.as_deref(), m.reasoning.as_deref()]
                    .into_iter()
                    .flatten()
                {
                    if !r.is_empty() {
                        self.reasoning.push_str(r);
                        p.reasoning = true;
                    }
                }
                for tc in m.tool_calls.iter().flatten() {
                    if let Some(f) = &tc.function {
                        for part in [f.name.as_deref(), f.arguments.as_deref()].into_iter().flatten() {
                            if !part.is_empty() {
                                self.text.push_str(part);
                                p.content = true;
                            }
                        }
                    }
                }
            }
            if ch.finish_reason.is_some() {
                p.finished = true;
                self.finished = true;
            }
        }
        if let Some(u) = c.usage {
            if !u.is_empty() {
                // The last chunk with a non-empty usage wins (AIPerf).
                self.usage = Some(u);
                p.finished = true;
            }
        }
        if let Some(sd) = c.metrics.and_then(|m| m.speculative_decoding) {
            if sd.as_object().is_some_and(|o| !o.is_empty()) {
                self.spec_decode = Some(sd);
            }
        }
        Ok(p)
    }
}

/// `b` without leading and trailing ASCII whitespace.
pub fn trim_ascii(b: &[u8]) -> &[u8] {
    let s = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let e = b
        .iter()
        .rposition(|c| !c.is_ascii_whitespace())
        .map_or(s, |e| e + 1);
    &b[s..e]
}

/// A body or event that is not the JSON its flavour sends.
pub fn malformed(data: &[u8], e: serde_json::Error) -> BodyError {
    let shown: String = String::from_utf8_lossy(&data[..data.len().min(200)]).into_owned();
    BodyError {
        kind: ErrorKind::MalformedResponse,
        message: format!("response is not valid JSON ({e}): {shown}"),
    }
}

/// An error the server reported in the body or the stream (`{"message": ..}` or a bare string).
pub fn server_error(err: &Value) -> BodyError {
    let message = err
        .get("message")
        .and_then(Value::as_str)
        .or(err.as_str())
        .map(str::to_string)
        .unwrap_or_else(|| err.to_string());
    BodyError {
        kind: ErrorKind::ServerStream,
        message,
    }
}

/// The `type` a server gave its error, if any (used as the error record's `type`).
pub fn server_error_type(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    v.get("error")?.get("type")?.as_str().map(str::to_string)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_server_chunk_shapes() {
        let mut o = Output::default();
        // llama.cpp/vLLM role-only first chunk, content null.
        let p = o.stream_event(br#"{"choices":[{"finish_reason":null,"index":0,"delta":{"role":"assistant","content":null}}],"object":"chat.completion.chunk"}"#).unwrap();
        assert!(!p.content);
        let p = o
            .stream_event(br#"{"choices":[{"index":0,"delta":{"content":" ex\"ample"}}]}"#)
            .unwrap();
        assert!(p.content);
        let p = o
            .stream_event(br#"{"choices":[{"finish_reason":"length","index":0,"delta":{}}]}"#)
            .unwrap();
        assert!(!p.content && p.finished);
        let p = o.stream_event(br#"{"choices":[],"usage":{"completion_tokens":4,"prompt_tokens":15,"total_tokens":19,"prompt_tokens_details":{"cached_tokens":0}},"timings":{"x":1}}"#).unwrap();
        assert!(!p.content);
        o.stream_event(b"[DONE]").unwrap();
        assert_eq!(o.text, " ex\"ample");
        assert_eq!(o.usage.as_ref().unwrap().completion_tokens, Some(4));
        assert!(o.done && o.finished);
        // Completions: usage merged into the finish chunk with empty text.
        let mut c = Output::default();
        assert!(
            c.stream_event(br#"{"choices":[{"text":"ig","index":0}]}"#)
                .unwrap()
                .content
        );
        assert!(
            !c.stream_event(
                br#"{"choices":[{"text":"","finish_reason":"length"}],"usage":{"completion_tokens":3}}"#
            )
            .unwrap()
            .content
        );
        // Reasoning counts as content.
        let mut r = Output::default();
        assert!(
            r.stream_event(br#"{"choices":[{"delta":{"reasoning_content":"hm"}}]}"#)
                .unwrap()
                .reasoning
        );
    }

    #[test]
    fn errors_are_classified() {
        let mut o = Output::default();
        assert_eq!(
            o.stream_event(b"{not json").unwrap_err().kind,
            ErrorKind::MalformedResponse
        );
        let e = o
            .stream_event(br#"{"error":{"message":"overloaded","type":"server_error"}}"#)
            .unwrap_err();
        assert_eq!(e.message, "overloaded");
        let mut n = Output::default();
        n.whole_body(br#"{"choices":[{"message":{"role":"assistant","content":"hello there"},"finish_reason":"stop"}],"usage":{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}}"#, EndpointType::Chat).unwrap();
        assert_eq!(n.text, "hello there");
        assert_eq!(
            server_error_type(br#"{"error":{"type":"exceed_context_size_error"}}"#).as_deref(),
            Some("exceed_context_size_error")
        );
    }
}
