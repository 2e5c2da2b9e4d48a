//! mock-llm's OpenAI Responses API (`POST /v1/responses`), shaped as vLLM serves it: a stream of
//! typed events opened by `response.created` (at admission), one `response.output_text.delta` per
//! token, and closed by `response.output_text.done` … `response.completed` carrying the usage
//! (`input_tokens`, `output_tokens`); status `incomplete` when the token budget ran out.

use std::fmt::Write as _;

use bytes::BytesMut;
use serde::Deserialize;

use super::{add_content, max_tokens, Flavour, Head, Route, Stream};
use crate::mock::protocol::{BadRequest, Content, Endpoint, Generate};
use crate::mock::tokens::PromptStats;

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    model: Option<String>,
    input: Option<Input>,
    #[serde(default)]
    instructions: Option<String>,
    #[serde(default)]
    max_output_tokens: Option<i64>,
    #[serde(default)]
    stream: Option<bool>,
    #[serde(default)]
    min_tokens: Option<i64>,
    #[serde(default)]
    ignore_eos: Option<bool>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Input {
    Text(String),
    Items(Vec<Item>),
}

#[derive(Deserialize)]
struct Item {
    #[serde(default)]
    content: Option<Content>,
}

/// Parses and validates a Responses request.
pub fn parse(body: &[u8]) -> Result<Generate, BadRequest> {
    let r: Request =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let mut prompt = PromptStats::default();
    if let Some(i) = &r.instructions {
        prompt.add_text(i);
    }
    match r
        .input
        .ok_or_else(|| BadRequest("'input' is required for /v1/responses".into()))?
    {
        Input::Text(t) => prompt.add_text(&t),
        Input::Items(items) if items.is_empty() => {
            return Err(BadRequest("'input' must hold at least one item".into()))
        }
        Input::Items(items) => items.iter().for_each(|i| add_content(&mut prompt, &i.content)),
    }
    Ok(Generate {
        endpoint: Endpoint::Responses,
        model: r.model,
        prompt,
        stream: r.stream.unwrap_or(false),
        include_usage: true,
        continuous_usage: false,
        max_tokens: max_tokens("max_output_tokens", r.max_output_tokens)?,
        min_tokens: r.min_tokens.unwrap_or(0).clamp(0, u32::MAX as i64) as u32,
        ignore_eos: r.ignore_eos,
        media: None,
    })
}

/// One streamed response: its ids, the events' sequence numbers and the text so far (the
/// closing events repeat it).
pub struct Template {
    id: String,
    msg_id: String,
    created: u64,
    model_json: String,
    prompt_tokens: u32,
    cached_tokens: u32,
    finish_reason: &'static str,
    seq: u64,
    text: String,
}

impl Template {
    pub fn new(h: &Head) -> Template {
        Template {
            id: h.id.to_string(),
            msg_id: h.id.replacen("resp", "msg", 1),
            created: h.created,
            model_json: h.model_json.to_string(),
            prompt_tokens: h.prompt_tokens,
            cached_tokens: h.cached_tokens.unwrap_or(0),
            finish_reason: h.finish_reason,
            seq: 0,
            text: String::new(),
        }
    }

    fn event(&mut self, buf: &mut BytesMut, kind: &str, body: std::fmt::Arguments) {
        let _ = write!(
            buf,
            "event: {kind}\ndata: {{\"type\":\"{kind}\",\"sequence_number\":{},{body}}}\n\n",
            self.seq
        );
        self.seq += 1;
    }

    /// The response object; `status` and `output`/`usage` filled at the end.
    fn response(&self, status: &str, output: &str, usage: &str) -> String {
        let incomplete = if status == "incomplete" {
            r#"{"reason":"max_output_tokens"}"#
        } else {
            "null"
        };
        format!(
            r#"{{"id":"{}","object":"response","created_at":{},"status":"{status}","error":null,"incomplete_details":{incomplete},"model":{},"output":[{output}],"usage":{usage}}}"#,
            self.id, self.created, self.model_json
        )
    }
}

impl Stream for Template {
    fn preamble(&mut self, buf: &mut BytesMut) {
        let r = self.response("in_progress", "", "null");
        self.event(buf, "response.created", format_args!(r#""response":{r}"#));
        self.event(buf, "response.in_progress", format_args!(r#""response":{r}"#));
        let item = format!(
            r#"{{"id":"{}","type":"message","status":"in_progress","role":"assistant","content":[]}}"#,
            self.msg_id
        );
        self.event(
            buf,
            "response.output_item.added",
            format_args!(r#""output_index":0,"item":{item}"#),
        );
        let id = self.msg_id.clone();
        self.event(
            buf,
            "response.content_part.added",
            format_args!(
                r#""item_id":"{id}","output_index":0,"content_index":0,"part":{{"type":"output_text","text":"","annotations":[]}}"#
            ),
        );
    }

    fn token(&mut self, buf: &mut BytesMut, word: &str, _completion: u32, _last: bool) {
        self.text.push_str(word);
        let id = self.msg_id.clone();
        self.event(
            buf,
            "response.output_text.delta",
            format_args!(r#""item_id":"{id}","output_index":0,"content_index":0,"delta":"{word}""#),
        );
    }

    fn finish(&mut self, buf: &mut BytesMut, _reason: &str, completion: u32, _usage: bool) {
        let (id, text) = (self.msg_id.clone(), std::mem::take(&mut self.text));
        let part = format!(r#"{{"type":"output_text","text":"{text}","annotations":[]}}"#);
        self.event(
            buf,
            "response.output_text.done",
            format_args!(r#""item_id":"{id}","output_index":0,"content_index":0,"text":"{text}""#),
        );
        self.event(
            buf,
            "response.content_part.done",
            format_args!(r#""item_id":"{id}","output_index":0,"content_index":0,"part":{part}"#),
        );
        let item = format!(
            r#"{{"id":"{id}","type":"message","status":"completed","role":"assistant","content":[{part}]}}"#
        );
        self.event(
            buf,
            "response.output_item.done",
            format_args!(r#""output_index":0,"item":{item}"#),
        );
        let status = if self.finish_reason == "length" {
            "incomplete"
        } else {
            "completed"
        };
        let r = self.response(
            status,
            &item,
            &usage(self.prompt_tokens, self.cached_tokens, completion),
        );
        self.event(buf, "response.completed", format_args!(r#""response":{r}"#));
    }
}

/// The Responses API as a [`Flavour`].
pub struct Responses;

impl Flavour for Responses {
    fn routes(&self) -> &'static [Route] {
        &[Route {
            path: "/v1/responses",
            endpoint: Endpoint::Responses,
            name: "responses",
            id_prefix: "resp",
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

fn usage(prompt: u32, cached: u32, completion: u32) -> String {
    format!(
        r#"{{"input_tokens":{prompt},"input_tokens_details":{{"cached_tokens":{cached}}},"output_tokens":{completion},"output_tokens_details":{{"reasoning_tokens":0}},"total_tokens":{}}}"#,
        prompt as u64 + completion as u64
    )
}

/// A whole (non-streaming) response object.
pub fn render_full(h: &Head, text: &str, completion: u32) -> BytesMut {
    let t = Template::new(h);
    let item = format!(
        r#"{{"id":"{}","type":"message","status":"completed","role":"assistant","content":[{{"type":"output_text","text":"{text}","annotations":[]}}]}}"#,
        t.msg_id
    );
    let status = if h.finish_reason == "length" {
        "incomplete"
    } else {
        "completed"
    };
    BytesMut::from(
        t.response(
            status,
            &item,
            &usage(h.prompt_tokens, h.cached_tokens.unwrap_or(0), completion),
        )
        .as_bytes(),
    )
}
