//! mock-llm's Hugging Face TGI endpoints: `POST /generate` (one JSON body) and
//! `POST /generate_stream` (one `data:` event per token, the last one carrying `generated_text`
//! and `details`, no `[DONE]`). Requests are `{"inputs", "parameters": {"max_new_tokens", ..}}`.

use std::fmt::Write as _;

use bytes::BytesMut;
use serde::Deserialize;

use super::{max_tokens, Flavour, Head, Route, Stream};
use crate::mock::protocol::{BadRequest, Endpoint, Generate};
use crate::mock::tokens::PromptStats;

#[derive(Deserialize)]
struct Request {
    inputs: Option<String>,
    #[serde(default)]
    parameters: Parameters,
}

#[derive(Deserialize, Default)]
struct Parameters {
    #[serde(default)]
    max_new_tokens: Option<i64>,
    #[serde(default)]
    details: Option<bool>,
    #[serde(default)]
    min_tokens: Option<i64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
}

/// Parses and validates a generate request (the route says whether it streams).
pub fn parse(endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
    let r: Request =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let inputs = r
        .inputs
        .ok_or_else(|| BadRequest("'inputs' is required for /generate and /generate_stream".into()))?;
    let mut prompt = PromptStats::default();
    prompt.add_text(&inputs);
    let p = r.parameters;
    Ok(Generate {
        endpoint,
        model: None,
        prompt,
        stream: endpoint == Endpoint::GenerateStream,
        // Non-streaming TGI answers `details` only when asked; a stream always ends with them.
        include_usage: p.details.unwrap_or(false),
        continuous_usage: false,
        max_tokens: max_tokens("max_new_tokens", p.max_new_tokens)?,
        min_tokens: p.min_tokens.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
        ignore_eos: p.ignore_eos,
        media: None,
    })
}

/// TGI's `details`: finish reason, generated tokens and the prompt length.
fn details(finish_reason: &str, prompt_tokens: u32, completion: u32) -> String {
    let reason = if finish_reason == "length" {
        "length"
    } else {
        "eos_token"
    };
    format!(
        r#"{{"finish_reason":"{reason}","generated_tokens":{completion},"seed":null,"input_length":{prompt_tokens}}}"#
    )
}

/// One streamed generation: the text so far, for the last event's `generated_text`.
pub struct Template {
    finish_reason: &'static str,
    prompt_tokens: u32,
    text: String,
}

impl Template {
    pub fn new(h: &Head) -> Template {
        Template {
            finish_reason: h.finish_reason,
            prompt_tokens: h.prompt_tokens,
            text: String::new(),
        }
    }
}

impl Stream for Template {
    fn token(&mut self, buf: &mut BytesMut, word: &str, completion: u32, last: bool) {
        self.text.push_str(word);
        let _ = write!(
            buf,
            r#"data:{{"index":{completion},"token":{{"id":{completion},"text":"{word}","logprob":-0.1,"special":false}},"#
        );
        if last {
            let _ = write!(
                buf,
                r#""generated_text":"{}","details":{},"top_tokens":null}}"#,
                self.text,
                details(self.finish_reason, self.prompt_tokens, completion)
            );
        } else {
            buf.extend_from_slice(br#""generated_text":null,"details":null,"top_tokens":null}"#);
        }
        buf.extend_from_slice(b"\n\n");
    }

    /// The last token event carries the details: nothing follows it.
    fn finish(&mut self, _: &mut BytesMut, _: &str, _: u32, _: bool) {}
}

/// TGI's generate as a [`Flavour`]: `/generate` and `/generate_stream`.
pub struct Tgi;

impl Flavour for Tgi {
    fn routes(&self) -> &'static [Route] {
        &[
            Route {
                path: "/generate",
                endpoint: Endpoint::Generate,
                name: "generate",
                id_prefix: "gen",
            },
            Route {
                path: "/generate_stream",
                endpoint: Endpoint::GenerateStream,
                name: "generate_stream",
                id_prefix: "gen",
            },
        ]
    }

    fn parse(&self, endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
        parse(endpoint, body)
    }

    fn template(&self, h: &Head) -> super::Template {
        Box::new(Template::new(h))
    }

    fn render_full(&self, h: &Head, text: &str, completion: u32, details: bool) -> BytesMut {
        render_full(h, text, completion, details)
    }
}

/// A whole `/generate` answer; `details` when the request asked for them.
pub fn render_full(h: &Head, text: &str, completion: u32, with_details: bool) -> BytesMut {
    let mut buf = BytesMut::with_capacity(128 + text.len());
    let _ = write!(buf, r#"{{"generated_text":"{text}""#);
    if with_details {
        let _ = write!(
            buf,
            r#","details":{}"#,
            details(h.finish_reason, h.prompt_tokens, completion)
        );
    }
    buf.extend_from_slice(b"}");
    buf
}
