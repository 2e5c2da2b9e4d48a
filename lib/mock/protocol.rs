//! OpenAI request bodies (what the mock reads) and vLLM-shaped responses (what it writes), and
//! the request and error types every flavour shares; the other API flavours live in `wire/`.
//!
//! Responses are rendered straight into byte buffers from per-request templates: the part of an
//! SSE chunk before the token text is rendered once per request, so a token costs a few memcpys.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;

use super::media::MediaSeen;
use super::tokens::PromptStats;

/// Which generation endpoint a request came in on (its path and names are its flavour's
/// `wire::Route`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Chat,
    Completions,
    /// `/v1/responses`.
    Responses,
    /// `/v1/messages` (Anthropic).
    Messages,
    /// TGI's `/generate`.
    Generate,
    /// TGI's `/generate_stream`.
    GenerateStream,
}

#[derive(Deserialize, Default)]
pub struct StreamOptions {
    #[serde(default)]
    pub include_usage: Option<bool>,
    #[serde(default)]
    pub continuous_usage_stats: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
pub struct Part {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub image_url: Option<ImageUrl>,
    #[serde(default)]
    pub input_audio: Option<InputAudio>,
    /// A `video_url` part's object (its `url`, as an image's).
    #[serde(default)]
    pub video_url: Option<ImageUrl>,
}

impl Part {
    /// Adds the part's text to the prompt, its image, video or audio to what the mock saw.
    fn count(&self, prompt: &mut PromptStats, media: &mut MediaSeen) {
        if let Some(t) = &self.text {
            prompt.add_text(t);
        }
        if let Some(i) = &self.image_url {
            media.add_image(&i.url);
        }
        if let Some(v) = &self.video_url {
            media.add_video(&v.url);
        }
        if let Some(a) = &self.input_audio {
            media.add_audio(&a.data);
        }
    }
}

/// An `image_url` part's object.
#[derive(Deserialize)]
pub struct ImageUrl {
    pub url: String,
}

/// An `input_audio` part's object (`format` is not needed: the bytes say what they are).
#[derive(Deserialize)]
pub struct InputAudio {
    pub data: String,
}

#[derive(Deserialize)]
pub struct Message {
    #[serde(default)]
    pub content: Option<Content>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    Text(String),
    Texts(Vec<String>),
    Ids(Vec<i64>),
    IdLists(Vec<Vec<i64>>),
}

/// The fields of a chat or completions request the mock acts on; unknown fields are ignored.
#[derive(Deserialize)]
pub struct GenerateRequest {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub messages: Option<Vec<Message>>,
    #[serde(default)]
    pub prompt: Option<Prompt>,
    #[serde(default)]
    pub stream: Option<bool>,
    #[serde(default)]
    pub stream_options: Option<StreamOptions>,
    #[serde(default)]
    pub max_tokens: Option<i64>,
    #[serde(default)]
    pub max_completion_tokens: Option<i64>,
    #[serde(default)]
    pub min_tokens: Option<i64>,
    #[serde(default)]
    pub ignore_eos: Option<bool>,
    #[serde(default)]
    pub n: Option<i64>,
}

/// A validated generation request.
#[derive(Debug)]
pub struct Generate {
    pub endpoint: Endpoint,
    pub model: Option<String>,
    pub prompt: PromptStats,
    pub stream: bool,
    pub include_usage: bool,
    pub continuous_usage: bool,
    pub max_tokens: Option<u32>,
    pub min_tokens: u32,
    pub ignore_eos: Option<bool>,
    /// The images and audio a chat request carried (None: none).
    pub media: Option<MediaSeen>,
}

/// A request the mock refuses with 400, and why.
#[derive(Debug)]
pub struct BadRequest(pub String);

/// Parses and validates a chat/completions body (`wire::parse_generate` dispatches the others).
pub fn parse_generate(endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
    let r: GenerateRequest =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let mut prompt = PromptStats::default();
    let mut media = MediaSeen::default();
    match endpoint {
        Endpoint::Chat => {
            let msgs = r
                .messages
                .ok_or_else(|| BadRequest("'messages' is required for /v1/chat/completions".into()))?;
            if msgs.is_empty() {
                return Err(BadRequest("'messages' must hold at least one message".into()));
            }
            for m in &msgs {
                match &m.content {
                    Some(Content::Text(t)) => prompt.add_text(t),
                    Some(Content::Parts(ps)) => ps.iter().for_each(|p| p.count(&mut prompt, &mut media)),
                    None => {}
                }
            }
        }
        _ => match r
            .prompt
            .ok_or_else(|| BadRequest("'prompt' is required for /v1/completions".into()))?
        {
            Prompt::Text(t) => prompt.add_text(&t),
            Prompt::Texts(ts) if ts.len() == 1 => prompt.add_text(&ts[0]),
            Prompt::Ids(ids) => prompt.add_ids(&ids),
            Prompt::IdLists(l) if l.len() == 1 => prompt.add_ids(&l[0]),
            _ => {
                return Err(BadRequest(
                    "'prompt' must be one prompt (batched prompts are not supported)".into(),
                ))
            }
        },
    }
    if let Some(n) = r.n {
        if n != 1 {
            return Err(BadRequest(format!("'n' must be 1, got {n}")));
        }
    }
    let max = match (r.max_completion_tokens, r.max_tokens) {
        (Some(m), _) => Some(("max_completion_tokens", m)),
        (None, Some(m)) => Some(("max_tokens", m)),
        (None, None) => None,
    };
    let max_tokens = match max {
        Some((name, m)) if m < 1 => return Err(BadRequest(format!("'{name}' must be at least 1, got {m}"))),
        Some((_, m)) => Some(m.min(u32::MAX as i64) as u32),
        None => None,
    };
    let min_tokens = match r.min_tokens {
        Some(m) if m < 0 => return Err(BadRequest(format!("'min_tokens' must be at least 0, got {m}"))),
        Some(m) => m.min(u32::MAX as i64) as u32,
        None => 0,
    };
    if let Some(max) = max_tokens {
        if min_tokens > max {
            return Err(BadRequest(format!(
                "'min_tokens' ({min_tokens}) must be at most the max tokens ({max})"
            )));
        }
    }
    let stream = r.stream.unwrap_or(false);
    let so = r.stream_options.unwrap_or_default();
    if !stream && (so.include_usage.is_some() || so.continuous_usage_stats.is_some()) {
        return Err(BadRequest(
            "'stream_options' is only allowed when 'stream' is true".into(),
        ));
    }
    let include_usage = so.include_usage.unwrap_or(false);
    prompt.media_tokens = media.tokens;
    Ok(Generate {
        endpoint,
        model: r.model,
        prompt,
        stream,
        include_usage,
        // vLLM: continuous usage needs include_usage as well.
        continuous_usage: include_usage && so.continuous_usage_stats.unwrap_or(false),
        max_tokens,
        min_tokens,
        ignore_eos: r.ignore_eos,
        media: (!media.is_empty()).then_some(media),
    })
}

#[derive(Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    Text(String),
    Texts(Vec<String>),
    Ids(Vec<i64>),
    IdLists(Vec<Vec<i64>>),
}

#[derive(Deserialize)]
pub struct EmbeddingRequest {
    #[serde(default)]
    pub model: Option<String>,
    pub input: EmbeddingInput,
}

/// Parses an embeddings body into (model, one PromptStats per input).
pub fn parse_embeddings(body: &[u8]) -> Result<(Option<String>, Vec<PromptStats>), BadRequest> {
    let r: EmbeddingRequest =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let items: Vec<PromptStats> = match r.input {
        EmbeddingInput::Text(t) => vec![stats_of_text(&t)],
        EmbeddingInput::Texts(ts) => ts.iter().map(|t| stats_of_text(t)).collect(),
        EmbeddingInput::Ids(ids) => vec![stats_of_ids(&ids)],
        EmbeddingInput::IdLists(l) => l.iter().map(|ids| stats_of_ids(ids)).collect(),
    };
    if items.is_empty() {
        return Err(BadRequest("'input' must not be empty".into()));
    }
    Ok((r.model, items))
}

fn stats_of_text(t: &str) -> PromptStats {
    let mut p = PromptStats::default();
    p.add_text(t);
    p
}

fn stats_of_ids(ids: &[i64]) -> PromptStats {
    let mut p = PromptStats::default();
    p.add_ids(ids);
    p
}

/// JSON string literal (with quotes) for arbitrary text.
pub fn json_str(s: &str) -> String {
    serde_json::to_string(s).expect("a string always serializes")
}

/// An OpenAI-style error body: `{"error":{"message","type","param","code"}}`.
pub fn error_body(message: &str, kind: &str, code: u16) -> Vec<u8> {
    format!(
        r#"{{"error":{{"message":{},"type":"{kind}","param":null,"code":{code}}}}}"#,
        json_str(message)
    )
    .into_bytes()
}

/// Usage object in vLLM's key order; with the prefix cache on, `prompt_tokens_details` says how
/// many prompt tokens it served (vLLM's `--enable-prompt-tokens-details`).
pub fn write_usage(buf: &mut BytesMut, prompt: u32, completion: u32, cached: Option<u32>) {
    let _ = write!(
        buf,
        r#"{{"prompt_tokens":{prompt},"total_tokens":{},"completion_tokens":{completion},"prompt_tokens_details":"#,
        prompt as u64 + completion as u64
    );
    match cached {
        Some(c) => {
            let _ = write!(buf, r#"{{"cached_tokens":{c}}}}}"#);
        }
        None => buf.put_slice(b"null}"),
    }
}

/// Per-request SSE templates.
pub struct ChunkTemplate {
    /// `data: {"id":..,"object":..,"created":..,"model":..,"choices":[{"index":0,`
    head: String,
    /// `data: {"id":..,"object":..,"created":..,"model":..,` (for the usage-only chunk)
    head_no_choices: String,
    endpoint: Endpoint,
    continuous_usage: bool,
    prompt_tokens: u32,
    /// Prompt tokens the prefix cache served (None: no cache, `prompt_tokens_details` is null).
    cached: Option<u32>,
    /// `--reasoning-tokens`: the first this many tokens are `reasoning_content` (chat only).
    pub reasoning: u32,
    /// `--spec-decode-tokens`: the trailing usage chunk carries vLLM's spec-decode stats.
    spec_decode: u32,
}

impl ChunkTemplate {
    /// Reports `cached` prompt tokens in every usage object.
    pub fn with_cached(mut self, cached: Option<u32>) -> Self {
        self.cached = cached;
        self
    }

    pub fn new(
        endpoint: Endpoint,
        id: &str,
        created: u64,
        model_json: &str,
        continuous_usage: bool,
        prompt_tokens: u32,
    ) -> Self {
        let object = match endpoint {
            Endpoint::Completions => "text_completion",
            _ => "chat.completion.chunk",
        };
        let head_no_choices =
            format!(r#"data: {{"id":"{id}","object":"{object}","created":{created},"model":{model_json},"#);
        let head = format!(r#"{head_no_choices}"choices":[{{"index":0,"#);
        ChunkTemplate {
            head,
            head_no_choices,
            endpoint,
            continuous_usage,
            prompt_tokens,
            cached: None,
            reasoning: 0,
            spec_decode: 0,
        }
    }

    /// Drafts per verify step for vLLM's per-request spec-decode stats (0: none).
    pub fn with_spec_decode(mut self, k: u32) -> Self {
        self.spec_decode = k;
        self
    }

    /// The first `n` tokens as `reasoning_content` (chat only: the flavour decides).
    pub fn with_reasoning(mut self, n: u32) -> Self {
        self.reasoning = n;
        self
    }

    /// The usage object, with `completion_tokens_details.reasoning_tokens` once reasoning began.
    fn usage(&self, buf: &mut BytesMut, completion: u32) {
        write_usage(buf, self.prompt_tokens, completion, self.cached);
        let reasoning = self.reasoning.min(completion);
        if reasoning > 0 {
            buf.truncate(buf.len() - 1);
            let _ = write!(
                buf,
                r#","completion_tokens_details":{{"reasoning_tokens":{reasoning}}}}}"#
            );
        }
    }

    fn tail(&self, buf: &mut BytesMut, completion: u32) {
        if self.continuous_usage {
            buf.put_slice(br#","usage":"#);
            self.usage(buf, completion);
        }
        buf.put_slice(b"}\n\n");
    }

    /// Chat's role-only first chunk (completions have none).
    pub fn role(&self, buf: &mut BytesMut) {
        if self.endpoint == Endpoint::Chat {
            buf.put_slice(self.head.as_bytes());
            buf.put_slice(
                br#""delta":{"role":"assistant","content":""},"logprobs":null,"finish_reason":null}]"#,
            );
            self.tail(buf, 0);
        }
    }

    /// One content chunk carrying one token; `completion` = tokens sent including this one.
    pub fn token(&self, buf: &mut BytesMut, word: &str, completion: u32) {
        buf.put_slice(self.head.as_bytes());
        if self.endpoint == Endpoint::Completions {
            buf.put_slice(br#""text":""#);
            buf.put_slice(word.as_bytes());
            buf.put_slice(br#"","logprobs":null,"finish_reason":null,"stop_reason":null}]"#);
        } else {
            buf.put_slice(if completion <= self.reasoning {
                br#""delta":{"reasoning_content":""#.as_slice()
            } else {
                br#""delta":{"content":""#.as_slice()
            });
            buf.put_slice(word.as_bytes());
            buf.put_slice(br#""},"logprobs":null,"finish_reason":null}]"#);
        }
        self.tail(buf, completion);
    }

    /// The finish chunk (empty delta / empty text), then the usage-only chunk if asked, then `[DONE]`.
    pub fn finish(&self, buf: &mut BytesMut, finish_reason: &str, completion: u32, include_usage: bool) {
        buf.put_slice(self.head.as_bytes());
        if self.endpoint == Endpoint::Completions {
            buf.put_slice(br#""text":"","logprobs":null,"finish_reason":""#);
        } else {
            buf.put_slice(br#""delta":{},"logprobs":null,"finish_reason":""#);
        }
        buf.put_slice(finish_reason.as_bytes());
        buf.put_slice(br#"","stop_reason":null}]"#);
        self.tail(buf, completion);
        if include_usage {
            buf.put_slice(self.head_no_choices.as_bytes());
            buf.put_slice(br#""choices":[],"usage":"#);
            self.usage(buf, completion);
            buf.put_slice(b"}");
            crate::mock::spec_decode::close_with(buf, self.spec_decode, completion);
            buf.put_slice(b"\n\n");
        }
        buf.put_slice(b"data: [DONE]\n\n");
    }

    /// A corrupt event (truncated JSON) for `--malformed-rate`.
    pub fn malformed(&self, buf: &mut BytesMut) {
        buf.put_slice(self.head.as_bytes());
        buf.put_slice(br#""delta":{"content":"\u00"#);
        buf.put_slice(b"\n\n");
    }
}

/// A whole non-streaming response body.
#[allow(clippy::too_many_arguments)]
pub fn render_full(
    endpoint: Endpoint,
    id: &str,
    created: u64,
    model_json: &str,
    text: &str,
    finish_reason: &str,
    (prompt_tokens, cached): (u32, Option<u32>),
    completion_tokens: u32,
) -> BytesMut {
    let mut buf = BytesMut::with_capacity(256 + text.len());
    match endpoint {
        Endpoint::Completions => {
            let _ = write!(
                buf,
                r#"{{"id":"{id}","object":"text_completion","created":{created},"model":{model_json},"choices":[{{"index":0,"text":"{text}","logprobs":null,"finish_reason":"{finish_reason}","stop_reason":null}}],"usage":"#
            );
        }
        _ => {
            let _ = write!(
                buf,
                r#"{{"id":"{id}","object":"chat.completion","created":{created},"model":{model_json},"choices":[{{"index":0,"message":{{"role":"assistant","content":"{text}","tool_calls":[]}},"logprobs":null,"finish_reason":"{finish_reason}","stop_reason":null}}],"usage":"#
            );
        }
    }
    write_usage(&mut buf, prompt_tokens, completion_tokens, cached);
    buf.put_slice(b"}");
    buf
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(ep: Endpoint, s: &str) -> Result<Generate, BadRequest> {
        parse_generate(ep, s.as_bytes())
    }

    #[test]
    fn chunks_are_valid_json_events() {
        let t = ChunkTemplate::new(Endpoint::Chat, "chatcmpl-1", 5, r#""m\"x""#, true, 3);
        let mut b = BytesMut::new();
        t.role(&mut b);
        t.token(&mut b, " the", 1);
        t.finish(&mut b, "length", 1, true);
        let s = std::str::from_utf8(&b).unwrap();
        let events: Vec<&str> = s.split("\n\n").filter(|e| !e.is_empty()).collect();
        assert_eq!(events.len(), 5);
        for e in &events[..4] {
            let v: serde_json::Value = serde_json::from_str(e.strip_prefix("data: ").unwrap()).unwrap();
            assert_eq!(v["model"], "m\"x");
        }
        assert_eq!(events[4], "data: [DONE]");
    }

    #[test]
    fn reasoning_tokens_come_first_and_are_counted_in_usage() {
        let mut t = ChunkTemplate::new(Endpoint::Chat, "chatcmpl-1", 5, r#""m""#, false, 3);
        t.reasoning = 2;
        let mut b = BytesMut::new();
        for (i, w) in [" a", " b", " c"].iter().enumerate() {
            t.token(&mut b, w, i as u32 + 1);
        }
        t.finish(&mut b, "length", 3, true);
        let events: Vec<serde_json::Value> = std::str::from_utf8(&b)
            .unwrap()
            .split("\n\n")
            .filter_map(|e| {
                e.strip_prefix("data: ")
                    .and_then(|j| serde_json::from_str(j).ok())
            })
            .collect();
        let delta = |i: usize| events[i]["choices"][0]["delta"].clone();
        assert_eq!(delta(0), serde_json::json!({"reasoning_content": " a"}));
        assert_eq!(delta(1), serde_json::json!({"reasoning_content": " b"}));
        assert_eq!(delta(2), serde_json::json!({"content": " c"}));
        let usage = &events[4]["usage"];
        assert_eq!(usage["completion_tokens"], 3);
        assert_eq!(usage["completion_tokens_details"]["reasoning_tokens"], 2);
        assert_eq!(usage["prompt_tokens_details"], serde_json::Value::Null);
    }

    #[test]
    fn validation_messages_name_the_field() {
        assert!(parse(Endpoint::Chat, "{")
            .unwrap_err()
            .0
            .starts_with("invalid JSON request body"));
        assert!(parse(Endpoint::Chat, r#"{"model":"m"}"#)
            .unwrap_err()
            .0
            .contains("'messages'"));
        assert!(parse(Endpoint::Completions, r#"{"prompt":"x","max_tokens":0}"#)
            .unwrap_err()
            .0
            .contains("'max_tokens'"));
        assert!(parse(
            Endpoint::Completions,
            r#"{"prompt":"x","max_tokens":2,"min_tokens":3}"#
        )
        .unwrap_err()
        .0
        .contains("'min_tokens'"));
        let g = parse(Endpoint::Chat, r#"{"messages":[{"role":"user","content":[{"type":"text","text":"a bc"}]}],"max_completion_tokens":5,"max_tokens":9,"stream":true,"stream_options":{"include_usage":true,"continuous_usage_stats":true}}"#).unwrap();
        assert_eq!(
            (
                g.prompt.prompt_tokens(),
                g.max_tokens,
                g.stream,
                g.include_usage,
                g.continuous_usage
            ),
            (2, Some(5), true, true, true)
        );
        let g = parse(Endpoint::Completions, r#"{"prompt":[1,2,3]}"#).unwrap();
        assert_eq!(g.prompt.prompt_tokens(), 3);
    }
}
