//! mock-llm's Anthropic Messages API (`POST /v1/messages`), as vLLM and SGLang serve it:
//! `message_start` (with the input token count) and `content_block_start` at admission, one
//! `content_block_delta` per token, then `content_block_stop`, `message_delta` (stop reason and
//! output token count) and `message_stop`. `max_tokens` is required, as Anthropic's API has it.

use std::fmt::Write as _;

use bytes::{BufMut, BytesMut};
use serde::Deserialize;

use super::{add_content, max_tokens, Flavour, Head, Route, Stream};
use crate::mock::protocol::{BadRequest, Content, Endpoint, Generate};
use crate::mock::tokens::PromptStats;

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    messages: Option<Vec<Message>>,
    #[serde(default)]
    system: Option<Content>,
    #[serde(default)]
    max_tokens: Option<i64>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    min_tokens: Option<i64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
}

#[derive(Deserialize)]
struct Message {
    #[serde(default)]
    content: Option<Content>,
}

/// Parses and validates a Messages request.
pub fn parse(body: &[u8]) -> Result<Generate, BadRequest> {
    let r: Request =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let msgs = r
        .messages
        .filter(|m| !m.is_empty())
        .ok_or_else(|| BadRequest("'messages' is required for /v1/messages (at least one)".into()))?;
    let mut prompt = PromptStats::default();
    add_content(&mut prompt, &r.system);
    msgs.iter().for_each(|m| add_content(&mut prompt, &m.content));
    let max = max_tokens("max_tokens", r.max_tokens)?
        .ok_or_else(|| BadRequest("'max_tokens' is required for /v1/messages".into()))?;
    Ok(Generate {
        endpoint: Endpoint::Messages,
        model: r.model,
        prompt,
        stream: r.stream.unwrap_or(false),
        include_usage: true,
        continuous_usage: false,
        max_tokens: Some(max),
        min_tokens: r.min_tokens.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
        ignore_eos: r.ignore_eos,
        media: None,
    })
}

/// Anthropic's name for a finish reason.
fn stop_reason(finish_reason: &str) -> &'static str {
    if finish_reason == "length" {
        "max_tokens"
    } else {
        "end_turn"
    }
}

/// One streamed message.
pub struct Template {
    id: String,
    model_json: String,
    prompt_tokens: u32,
    cached_tokens: Option<u32>,
    finish_reason: &'static str,
}

/// Anthropic's input usage: `input_tokens` is the uncached remainder, beside
/// `cache_read_input_tokens` (with the prefix cache on; no cache writes are reported).
fn input_usage(prompt: u32, cached: Option<u32>) -> String {
    match cached {
        Some(c) => format!(
            r#""input_tokens":{},"cache_read_input_tokens":{c},"cache_creation_input_tokens":0"#,
            prompt - c.min(prompt)
        ),
        None => format!(r#""input_tokens":{prompt}"#),
    }
}

impl Template {
    pub fn new(h: &Head) -> Template {
        Template {
            id: h.id.to_string(),
            model_json: h.model_json.to_string(),
            prompt_tokens: h.prompt_tokens,
            cached_tokens: h.cached_tokens,
            finish_reason: h.finish_reason,
        }
    }

    fn event(buf: &mut BytesMut, kind: &str, rest: std::fmt::Arguments) {
        let _ = write!(buf, "event: {kind}\ndata: {{\"type\":\"{kind}\"{rest}}}\n\n");
    }
}

impl Stream for Template {
    fn preamble(&mut self, buf: &mut BytesMut) {
        let (id, model) = (&self.id, &self.model_json);
        let input = input_usage(self.prompt_tokens, self.cached_tokens);
        Self::event(
            buf,
            "message_start",
            format_args!(
                r#","message":{{"id":"{id}","type":"message","role":"assistant","content":[],"model":{model},"stop_reason":null,"stop_sequence":null,"usage":{{{input},"output_tokens":1}}}}"#
            ),
        );
        Self::event(
            buf,
            "content_block_start",
            format_args!(r#","index":0,"content_block":{{"type":"text","text":""}}"#),
        );
        Self::event(buf, "ping", format_args!(""));
    }

    fn token(&mut self, buf: &mut BytesMut, word: &str, _completion: u32, _last: bool) {
        buf.put_slice(
            br#"event: content_block_delta
data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":""#,
        );
        buf.put_slice(word.as_bytes());
        buf.put_slice(b"\"}}\n\n");
    }

    fn finish(&mut self, buf: &mut BytesMut, _reason: &str, completion: u32, _usage: bool) {
        Self::event(buf, "content_block_stop", format_args!(r#","index":0"#));
        let reason = stop_reason(self.finish_reason);
        Self::event(
            buf,
            "message_delta",
            format_args!(
                r#","delta":{{"stop_reason":"{reason}","stop_sequence":null}},"usage":{{"output_tokens":{completion}}}"#
            ),
        );
        Self::event(buf, "message_stop", format_args!(""));
    }
}

/// Anthropic Messages as a [`Flavour`].
pub struct Messages;

impl Flavour for Messages {
    fn routes(&self) -> &'static [Route] {
        &[Route {
            path: "/v1/messages",
            endpoint: Endpoint::Messages,
            name: "messages",
            id_prefix: "msg",
        }]
    }

    fn parse(&self, _: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
        parse(body)
    }

    fn template(&self, h: &Head) -> super::Template {
        Box::new(Template::new(h))
    }

    fn render_full(&self, h: &Head, text: &str, completion: u32, _details: bool) -> BytesMut {
        render_full(h, text, completion)
    }
}

/// A whole (non-streaming) message.
pub fn render_full(h: &Head, text: &str, completion: u32) -> BytesMut {
    let mut buf = BytesMut::with_capacity(256 + text.len());
    let _ = write!(
        buf,
        r#"{{"id":"{}","type":"message","role":"assistant","model":{},"content":[{{"type":"text","text":"{text}"}}],"stop_reason":"{}","stop_sequence":null,"usage":{{{},"output_tokens":{completion}}}}}"#,
        h.id,
        h.model_json,
        stop_reason(h.finish_reason),
        input_usage(h.prompt_tokens, h.cached_tokens)
    );
    buf
}
