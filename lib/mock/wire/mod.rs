//! The API flavours mock-llm speaks behind one [`Flavour`] trait, one implementation per file:
//! OpenAI chat and completions (`openai.rs`, over `protocol.rs`), the Responses API, Anthropic
//! Messages and TGI's generate; the rankings types (`rankings.rs`) answer without generating.
//! Every generation flavour runs through the same capacity model and [`Stream`] interface, so each
//! is exercised end to end by loadgen. [`flavour`] is the one match over the flavours.

pub mod messages;
pub mod openai;
pub mod rankings;
pub mod responses;
pub mod tgi;

use bytes::BytesMut;

use super::protocol::{BadRequest, Content, Endpoint, Generate};
use super::tokens::PromptStats;

/// One generation flavour as mock-llm serves it: its request parser, its SSE rendering and its
/// whole (non-streaming) body.
pub trait Flavour: Sync {
    /// Parses and validates a request body (`endpoint`: the route it came in on).
    fn parse(&self, endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest>;
    /// The SSE rendering of one streamed response.
    fn template(&self, h: &Head) -> Template;
    /// A whole non-streaming body.
    fn render_full(&self, h: &Head, text: &str, completion_tokens: u32, details: bool) -> BytesMut;
}

/// The flavour of a generation route: the one match over the flavours on the mock side.
pub fn flavour(endpoint: Endpoint) -> &'static dyn Flavour {
    match endpoint {
        Endpoint::Chat | Endpoint::Completions => &openai::OpenAi,
        Endpoint::Responses => &responses::Responses,
        Endpoint::Messages => &messages::Messages,
        Endpoint::Generate | Endpoint::GenerateStream => &tgi::Tgi,
    }
}

/// What a streamed response needs to know of its request to render it.
pub struct Head<'a> {
    pub endpoint: Endpoint,
    pub id: &'a str,
    pub created: u64,
    pub model_json: &'a str,
    pub continuous_usage: bool,
    pub prompt_tokens: u32,
    /// Prompt tokens the prefix cache served (None: no prefix cache).
    pub cached_tokens: Option<u32>,
    /// `"length"` or `"stop"`: how the generation will end.
    pub finish_reason: &'static str,
    /// `--reasoning-tokens`: a streamed chat answer opens with this many `reasoning_content`
    /// tokens (vLLM's reasoning parser output), counted in usage's
    /// `completion_tokens_details.reasoning_tokens`, so a client's reasoning metrics have a truth.
    pub reasoning_tokens: u32,
    /// `--spec-decode-tokens`: drafts per verify step, for vLLM's per-request stats (0: none).
    pub spec_decode_tokens: u32,
}

/// The SSE rendering of one streamed response, whatever its flavour.
pub type Template = Box<dyn Stream>;

/// The events of one streamed response.
pub trait Stream: Send {
    /// Events sent as soon as the request is admitted, before prefill: the flavours whose servers
    /// open the stream with metadata (`message_start`, `response.created`) send them then, so a
    /// client that took them for the first token would measure a TTFT far too short.
    fn preamble(&mut self, _buf: &mut BytesMut) {}
    /// Chat's role-only chunk, sent with the first token.
    fn role(&self, _buf: &mut BytesMut) {}
    /// One event carrying one token; `completion` = tokens sent including this one.
    fn token(&mut self, buf: &mut BytesMut, word: &str, completion: u32, last: bool);
    /// The closing events after the last token.
    fn finish(&mut self, buf: &mut BytesMut, finish_reason: &str, completion: u32, include_usage: bool);
    /// A corrupt event (truncated JSON) for `--malformed-rate`.
    fn malformed(&self, buf: &mut BytesMut) {
        buf.extend_from_slice(b"data: {\"type\":\"\\u00\n\n");
    }
}

/// Adds a message's text: a string, or the `text` of its parts.
pub fn add_content(prompt: &mut PromptStats, c: &Option<Content>) {
    match c {
        Some(Content::Text(t)) => prompt.add_text(t),
        Some(Content::Parts(ps)) => ps
            .iter()
            .filter_map(|p| p.text.as_deref())
            .for_each(|t| prompt.add_text(t)),
        None => {}
    }
}

/// Checks a max-tokens value: at least 1.
pub fn max_tokens(name: &str, v: Option<i64>) -> Result<Option<u32>, BadRequest> {
    match v {
        Some(m) if m < 1 => Err(BadRequest(format!("'{name}' must be at least 1, got {m}"))),
        Some(m) => Ok(Some(m.min(u32::MAX as i64) as u32)),
        None => Ok(None),
    }
}
