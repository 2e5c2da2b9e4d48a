//! The OpenAI Responses API (`/v1/responses`), as AIPerf's `responses` endpoint speaks it.
//!
//! Streams are typed events (`response.created`, `response.output_text.delta`, …,
//! `response.completed`). Output text arrives as `response.output_text.delta` (reasoning as
//! `response.reasoning_text.delta`, tool-call arguments as `response.function_call_arguments.delta`);
//! `response.output_text.done` repeats a part's whole text, so it counts as a content response
//! (AIPerf times it) but its text only when no delta carried that part. Usage comes with
//! `response.completed` (or `response.incomplete`) under `input_tokens` / `output_tokens`.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{content_value, merge_extra, push, unless_done, BodySpec, Flavour, Role, Text};
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::openai::{malformed, server_error, BodyError, Output, Parsed, Usage};

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(rename = "type", borrow)]
    kind: Text<'a>,
    #[serde(default, borrow)]
    delta: Text<'a>,
    #[serde(default, borrow)]
    text: Text<'a>,
    #[serde(default)]
    output_index: Option<u64>,
    #[serde(default)]
    content_index: Option<u64>,
    #[serde(default)]
    response: Option<Response>,
    #[serde(default, borrow)]
    message: Text<'a>,
}

#[derive(Deserialize)]
struct Response {
    #[serde(default)]
    usage: Option<Usage>,
    #[serde(default)]
    error: Option<Value>,
}

/// One streamed event.
pub fn event(out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
    let e: Event = serde_json::from_slice(data).map_err(|err| malformed(data, err))?;
    let mut p = Parsed::default();
    let part = (e.output_index.unwrap_or(0), e.content_index.unwrap_or(0));
    match e.kind.get().unwrap_or_default() {
        "response.output_text.delta" => {
            p.content = push(&mut out.text, &e.delta);
            if p.content && !out.delta_parts.contains(&part) {
                out.delta_parts.push(part);
            }
        }
        "response.reasoning_text.delta" => p.reasoning = push(&mut out.reasoning, &e.delta),
        "response.function_call_arguments.delta" => p.content = push(&mut out.text, &e.delta),
        "response.output_text.done" => {
            p.content = e.text.get().is_some();
            if !out.delta_parts.contains(&part) {
                push(&mut out.text, &e.text);
            }
        }
        "response.completed" | "response.incomplete" => {
            if let Some(u) = e.response.and_then(|r| r.usage).filter(|u| !u.is_empty()) {
                out.usage = Some(u);
            }
            out.done = true;
            p.finished = true;
        }
        "response.failed" => {
            let err = e.response.and_then(|r| r.error).unwrap_or(Value::Null);
            return Err(server_error(&err));
        }
        "error" => {
            let msg = e.message.get().unwrap_or("the server sent an error event");
            return Err(server_error(&Value::String(msg.to_string())));
        }
        _ => {}
    }
    out.finished |= p.finished;
    Ok(p)
}

/// A whole response object: `output[]` items (reasoning summaries, message `output_text`
/// parts, function calls), else the `output_text` convenience field; AIPerf's precedence.
pub fn whole(out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(body, e))?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(server_error(err));
    }
    let (mut text, mut reasoning, mut tools) = (String::new(), String::new(), String::new());
    for item in v.get("output").and_then(Value::as_array).into_iter().flatten() {
        let texts = |list: &str, kind: &str, dst: &mut String| {
            for part in item.get(list).and_then(Value::as_array).into_iter().flatten() {
                if part.get("type").and_then(Value::as_str) == Some(kind) {
                    dst.push_str(part.get("text").and_then(Value::as_str).unwrap_or_default());
                }
            }
        };
        match item.get("type").and_then(Value::as_str) {
            Some("message") => texts("content", "output_text", &mut text),
            Some("reasoning") => texts("summary", "summary_text", &mut reasoning),
            Some("function_call") => {
                for k in ["name", "arguments"] {
                    tools.push_str(item.get(k).and_then(Value::as_str).unwrap_or_default());
                }
            }
            _ => {}
        }
    }
    if text.is_empty() && reasoning.is_empty() {
        text = tools;
    }
    if text.is_empty() && reasoning.is_empty() {
        text = v
            .get("output_text")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
    }
    out.usage = v
        .get("usage")
        .and_then(|u| Usage::deserialize(u).ok())
        .filter(|u| !u.is_empty());
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

/// The Responses API as a [`Flavour`].
pub struct Responses;

impl Flavour for Responses {
    /// `{"input": [{"role": "user", "content", "type": "message"}], "model", "stream",
    /// "max_output_tokens"?}` with `--extra-inputs` merged, as AIPerf builds it.
    fn request_body(
        &self,
        spec: &BodySpec,
        content: &UserContent,
        _: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert(
            "input".into(),
            serde_json::json!([{"role": "user", "content": content_value(content), "type": "message"}]),
        );
        m.insert("model".into(), Value::String(spec.model.clone()));
        m.insert("stream".into(), Value::Bool(spec.streaming));
        if let Some(n) = max_tokens {
            m.insert("max_output_tokens".into(), Value::from(n));
        }
        merge_extra(&mut m, spec);
        if spec.streaming && spec.stream_usage {
            // AIPerf asks for usage in the stream when it is going to count with it.
            let so = m
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = so {
                o.entry("include_usage").or_insert(Value::Bool(true));
            }
        }
        m
    }

    /// The system prompt as `instructions`, the messages as `input` items.
    fn set_messages(
        &self,
        payload: &mut Map<String, Value>,
        system: Option<&str>,
        msgs: &[(Role, &UserContent)],
    ) {
        if let Some(s) = system {
            payload.insert("instructions".into(), Value::String(s.to_string()));
        }
        let items = msgs
            .iter()
            .map(|(r, c)| serde_json::json!({"type": "message", "role": r.name(), "content": content_value(c)}))
            .collect();
        payload.insert("input".into(), Value::Array(items));
    }

    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
        unless_done(out, data, event)
    }

    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
        whole(out, body)
    }

    fn stream_end(&self) -> &'static str {
        "response.completed"
    }
}
