//! The Anthropic Messages API (`/v1/messages`) as vLLM, SGLang and LiteLLM serve it, parsed as
//! AIPerf's `messages` endpoint does.
//!
//! A stream is `message_start` (usage with `input_tokens`), `content_block_start`,
//! `content_block_delta`s (`text_delta`, `thinking_delta` as reasoning, `input_json_delta` as
//! tool-call text), `content_block_stop`, `message_delta` (`stop_reason`, usage with
//! `output_tokens`), `message_stop`, with `ping`s anywhere. Only deltas with text are content: the
//! start events never set TTFT. The two usages are merged key by key (the later wins), so the
//! record has both the input and the output counts.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{content_value, merge_extra, push, unless_done, BodySpec, Flavour, Role, Text};
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::openai::{malformed, server_error, BodyError, Output, Parsed, Usage};

/// What Anthropic requires when no `--osl` is given (AIPerf's default).
const DEFAULT_MAX_TOKENS: u64 = 1024;

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    delta: Option<Delta<'a>>,
    #[serde(default)]
    message: Option<Start>,
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Delta<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default, borrow)]
    thinking: Text<'a>,
    #[serde(default, borrow)]
    partial_json: Text<'a>,
    #[serde(default, borrow)]
    stop_reason: Text<'a>,
}

#[derive(Deserialize)]
struct Start {
    #[serde(default)]
    usage: Option<Usage>,
}

/// Keeps `u` over what was known, field by field.
fn merge_usage(out: &mut Output, u: Option<Usage>) {
    if let Some(u) = u.filter(|u| !u.is_empty()) {
        out.usage = Some(match out.usage.take() {
            Some(earlier) => u.or(earlier),
            None => u,
        });
    }
}

/// One streamed event.
pub fn event(out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
    let e: Event = serde_json::from_slice(data).map_err(|err| malformed(data, err))?;
    let mut p = Parsed::default();
    match e.kind.get().unwrap_or_default() {
        "content_block_delta" => {
            if let Some(d) = &e.delta {
                match d.kind.get().unwrap_or_default() {
                    "text_delta" => p.content = push(&mut out.text, &d.text),
                    "thinking_delta" => p.reasoning = push(&mut out.reasoning, &d.thinking),
                    "input_json_delta" => p.content = push(&mut out.text, &d.partial_json),
                    _ => {}
                }
            }
        }
        "message_start" => merge_usage(out, e.message.and_then(|m| m.usage)),
        "message_delta" => {
            merge_usage(out, e.usage);
            p.finished = e.delta.as_ref().is_some_and(|d| d.stop_reason.get().is_some());
        }
        "message_stop" => {
            out.done = true;
            p.finished = true;
        }
        "error" => return Err(server_error(e.error.as_ref().unwrap_or(&Value::Null))),
        _ => {}
    }
    out.finished |= p.finished;
    Ok(p)
}

/// A whole `{"type": "message", "content": [...], "usage"}`: thinking blocks are reasoning, text
/// blocks content, tool_use blocks their name and input JSON (AIPerf counts all three).
pub fn whole(out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(body, e))?;
    if v.get("type").and_then(Value::as_str) == Some("error") {
        return Err(server_error(v.get("error").unwrap_or(&Value::Null)));
    }
    let (mut text, mut reasoning, mut tools) = (String::new(), String::new(), String::new());
    for block in v.get("content").and_then(Value::as_array).into_iter().flatten() {
        let s = |k: &str| block.get(k).and_then(Value::as_str).unwrap_or_default();
        match s("type") {
            "text" => text.push_str(s("text")),
            "thinking" => reasoning.push_str(s("thinking")),
            "tool_use" => {
                tools.push_str(s("name"));
                if let Some(input) = block.get("input").filter(|i| !i.is_null()) {
                    tools.push_str(&input.to_string());
                }
            }
            _ => {}
        }
    }
    text.push_str(&tools);
    merge_usage(out, v.get("usage").and_then(|u| Usage::deserialize(u).ok()));
    out.text.push_str(&text);
    out.reasoning.push_str(&reasoning);
    out.finished = true;
    out.done = true;
    Ok(Parsed {
        content: !text.is_empty(),
        reasoning: !reasoning.is_empty(),
        finished: true,
    })
}

/// Anthropic Messages as a [`Flavour`].
pub struct Messages;

impl Flavour for Messages {
    /// Anthropic's API version header, as AIPerf sends it.
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[("anthropic-version", "2023-06-01")]
    }

    /// Anthropic authenticates with `x-api-key`.
    fn auth_header(&self, key: &str) -> (&'static str, String) {
        ("x-api-key", key.to_string())
    }

    /// `{"model", "messages": [{"role": "user", "content"}], "max_tokens", "stream"?}` with
    /// `--extra-inputs` merged; `stream` only when streaming, as AIPerf (and Claude clients) send it.
    fn request_body(
        &self,
        spec: &BodySpec,
        content: &UserContent,
        _: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("model".into(), Value::String(spec.model.clone()));
        m.insert(
            "messages".into(),
            serde_json::json!([{"role": "user", "content": content_value(content)}]),
        );
        m.insert(
            "max_tokens".into(),
            Value::from(max_tokens.unwrap_or(DEFAULT_MAX_TOKENS)),
        );
        if spec.streaming {
            m.insert("stream".into(), Value::Bool(true));
        }
        merge_extra(&mut m, spec);
        m
    }

    /// The system prompt as `system`, the messages as `messages`.
    fn set_messages(
        &self,
        payload: &mut Map<String, Value>,
        system: Option<&str>,
        msgs: &[(Role, &UserContent)],
    ) {
        if let Some(s) = system {
            payload.insert("system".into(), Value::String(s.to_string()));
        }
        let list = msgs
            .iter()
            .map(|(r, c)| serde_json::json!({"role": r.name(), "content": content_value(c)}))
            .collect();
        payload.insert("messages".into(), Value::Array(list));
    }

    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
        unless_done(out, data, event)
    }

    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
        whole(out, body)
    }

    fn stream_end(&self) -> &'static str {
        "message_stop"
    }
}
