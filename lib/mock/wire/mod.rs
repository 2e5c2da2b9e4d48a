//! The API flavours mock-llm speaks beside OpenAI chat and completions (`protocol.rs`): the
//! Responses API, Anthropic Messages, TGI's generate, and the rankings types, one file each (its
//! request parser and its response rendering). Every generation flavour runs through the same
//! capacity model and [`Template`] interface, so each is exercised end to end by loadgen.

pub mod messages;
pub mod rankings;
pub mod responses;
pub mod tgi;

use bytes::BytesMut;

use super::protocol::{
    self, render_full as render_openai, BadRequest, ChunkTemplate, Content, Endpoint, Generate,
};
use super::tokens::PromptStats;

/// Parses and validates a generation request body of any flavour.
pub fn parse_generate(endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
    match endpoint {
        Endpoint::Responses => responses::parse(body),
        Endpoint::Messages => messages::parse(body),
        Endpoint::Generate | Endpoint::GenerateStream => tgi::parse(endpoint, body),
        Endpoint::Chat | Endpoint::Completions => protocol::parse_generate(endpoint, body),
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
}

/// The SSE rendering of one streamed response, whatever its flavour.
pub enum Template {
    OpenAi(ChunkTemplate),
    Responses(responses::Template),
    Messages(messages::Template),
    Tgi(tgi::Template),
}

impl Template {
    pub fn new(h: &Head) -> Template {
        match h.endpoint {
            Endpoint::Responses => Template::Responses(responses::Template::new(h)),
            Endpoint::Messages => Template::Messages(messages::Template::new(h)),
            Endpoint::Generate | Endpoint::GenerateStream => Template::Tgi(tgi::Template::new(h)),
            Endpoint::Chat | Endpoint::Completions => Template::OpenAi(
                ChunkTemplate::new(
                    h.endpoint,
                    h.id,
                    h.created,
                    h.model_json,
                    h.continuous_usage,
                    h.prompt_tokens,
                )
                .with_cached(h.cached_tokens),
            ),
        }
    }

    /// Events sent as soon as the request is admitted, before prefill: the flavours whose servers
    /// open the stream with metadata (`message_start`, `response.created`) send them then, so a
    /// client that took them for the first token would measure a TTFT far too short.
    pub fn preamble(&mut self, buf: &mut BytesMut) {
        match self {
            Template::Responses(t) => t.preamble(buf),
            Template::Messages(t) => t.preamble(buf),
            Template::OpenAi(_) | Template::Tgi(_) => {}
        }
    }

    /// Chat's role-only chunk, sent with the first token.
    pub fn role(&self, buf: &mut BytesMut) {
        if let Template::OpenAi(t) = self {
            t.role(buf);
        }
    }

    /// One event carrying one token; `completion` = tokens sent including this one.
    pub fn token(&mut self, buf: &mut BytesMut, word: &str, completion: u32, last: bool) {
        match self {
            Template::OpenAi(t) => t.token(buf, word, completion),
            Template::Responses(t) => t.token(buf, word),
            Template::Messages(t) => t.token(buf, word),
            Template::Tgi(t) => t.token(buf, word, completion, last),
        }
    }

    /// The closing events after the last token.
    pub fn finish(&mut self, buf: &mut BytesMut, finish_reason: &str, completion: u32, include_usage: bool) {
        match self {
            Template::OpenAi(t) => t.finish(buf, finish_reason, completion, include_usage),
            Template::Responses(t) => t.finish(buf, completion),
            Template::Messages(t) => t.finish(buf, completion),
            Template::Tgi(_) => {}
        }
    }

    /// A corrupt event (truncated JSON) for `--malformed-rate`.
    pub fn malformed(&self, buf: &mut BytesMut) {
        match self {
            Template::OpenAi(t) => t.malformed(buf),
            _ => buf.extend_from_slice(b"data: {\"type\":\"\\u00\n\n"),
        }
    }
}

/// A whole non-streaming body of any generation flavour.
pub fn render_full(h: &Head, text: &str, completion_tokens: u32, details: bool) -> BytesMut {
    match h.endpoint {
        Endpoint::Responses => responses::render_full(h, text, completion_tokens),
        Endpoint::Messages => messages::render_full(h, text, completion_tokens),
        Endpoint::Generate | Endpoint::GenerateStream => {
            tgi::render_full(h, text, completion_tokens, details)
        }
        Endpoint::Chat | Endpoint::Completions => render_openai(
            h.endpoint,
            h.id,
            h.created,
            h.model_json,
            text,
            h.finish_reason,
            (h.prompt_tokens, h.cached_tokens),
            completion_tokens,
        ),
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
