//! The API flavours, one file each: OpenAI chat, completions and embeddings (`openai/`, with its
//! fast path), the Responses API, Anthropic Messages, TGI's generate, and the rankings types. Each
//! builds its request body and parses its responses into the same [`Output`], so every flavour
//! yields the same metrics: a content stamp only for events that carry output (never for
//! `message_start`, `response.created` and the like), usage mapped to the same fields. This
//! module dispatches on the endpoint type and holds what the flavour parsers share.

pub mod messages;
pub mod rankings;
pub mod responses;
pub mod tgi;

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::openai::{self, trim_ascii, BodyError, Output, Parsed};
use super::options::{EndpointType, Options};

/// Builds one request body (exactly what `inputs.json` records). `passages` are the documents a
/// rankings request ranks against the `prompt` (its query); the other flavours ignore them.
pub fn request_body(
    opts: &Options,
    prompt: &str,
    passages: &[String],
    max_tokens: Option<u64>,
) -> Map<String, Value> {
    let (model, extra) = (opts.model.as_str(), &opts.extra_inputs);
    match opts.endpoint_type {
        EndpointType::Responses => {
            let mut m = responses::request_body(model, prompt, opts.streaming, max_tokens, extra);
            if opts.streaming && opts.use_server_token_count {
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
        EndpointType::Messages => messages::request_body(model, prompt, opts.streaming, max_tokens, extra),
        EndpointType::HuggingfaceGenerate => tgi::request_body(prompt, max_tokens, extra),
        kind @ (EndpointType::CohereRankings | EndpointType::HfTeiRankings) => {
            rankings::request_body(kind, model, prompt, passages, extra)
        }
        kind @ (EndpointType::Chat | EndpointType::Completions | EndpointType::Embeddings) => {
            openai::request_body(
                kind,
                model,
                prompt,
                opts.streaming,
                max_tokens,
                opts.use_legacy_max_tokens,
                extra,
            )
        }
    }
}

/// Parses one SSE data payload of a `kind` stream into `out`.
pub fn stream_event(kind: EndpointType, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
    match kind {
        EndpointType::Responses | EndpointType::Messages | EndpointType::HuggingfaceGenerate => {
            let data = trim_ascii(data);
            if data == b"[DONE]" {
                out.done = true;
                return Ok(Parsed::default());
            }
            match kind {
                EndpointType::Responses => responses::event(out, data),
                EndpointType::Messages => messages::event(out, data),
                _ => tgi::event(out, data),
            }
        }
        _ => out.stream_event(data),
    }
}

/// Parses a whole non-streaming body of a `kind` response into `out`.
pub fn whole_body(kind: EndpointType, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
    match kind {
        EndpointType::Responses => responses::whole(out, body),
        EndpointType::Messages => messages::whole(out, body),
        EndpointType::HuggingfaceGenerate => tgi::whole(out, body),
        EndpointType::CohereRankings | EndpointType::HfTeiRankings => rankings::whole(out, body),
        _ => out.whole_body(body, kind),
    }
}

/// What ends a `kind` stream properly, for the message when a stream stops short.
pub fn stream_end(kind: EndpointType) -> &'static str {
    match kind {
        EndpointType::Responses => "response.completed",
        EndpointType::Messages => "message_stop",
        EndpointType::HuggingfaceGenerate => "a final event with details",
        _ => "a finish_reason or [DONE]",
    }
}

/// The texts AIPerf tokenizes for a request body's ISL (its `extract_payload_inputs`): message
/// contents (strings or text parts), `system` / `instructions`, `prompt` / `input` (string or
/// list), a rankings query with its documents, TGI's `inputs`. Joined with " " for counting.
pub fn input_texts(payload: &Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["instructions", "system"] {
        push_text(payload.get(key), &mut out);
    }
    for key in ["messages", "input"] {
        if let Some(Value::Array(items)) = payload.get(key) {
            for item in items {
                match item {
                    Value::Object(m) => push_text(m.get("content"), &mut out),
                    Value::String(s) => out.push(s.clone()),
                    _ => {}
                }
            }
        }
    }
    for key in ["prompt", "input", "query", "inputs"] {
        if let Some(Value::String(s)) = payload.get(key) {
            out.push(s.clone());
        }
    }
    if let Some(Value::Array(p)) = payload.get("prompt") {
        out.extend(p.iter().filter_map(Value::as_str).map(str::to_string));
    }
    for key in ["documents", "texts", "passages"] {
        if let Some(Value::Array(docs)) = payload.get(key) {
            for d in docs {
                push_text(Some(d), &mut out);
            }
        }
    }
    out.retain(|t| !t.is_empty());
    out
}

/// A string, or the `text` of a part / of each part of a list.
fn push_text(v: Option<&Value>, out: &mut Vec<String>) {
    match v {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Object(m)) => {
            if let Some(Value::String(s)) = m.get("text") {
                out.push(s.clone());
            }
        }
        Some(Value::Array(parts)) => {
            for p in parts {
                push_text(Some(p), out);
            }
        }
        _ => {}
    }
}

/// A string field that some event types fill with something else: the string when it is one
/// (borrowed when unescaped), else nothing — never a parse error over a field not needed.
#[derive(Debug, Default)]
pub struct Text<'a>(pub Option<Cow<'a, str>>);

impl<'a> Text<'a> {
    /// The non-empty string, if any.
    pub fn get(&self) -> Option<&str> {
        self.0.as_deref().filter(|s| !s.is_empty())
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, s: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Borrowed(s))))
            }
            fn visit_str<E>(self, s: &str) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(s.to_string()))))
            }
            fn visit_string<E>(self, s: String) -> Result<Text<'de>, E> {
                Ok(Text(Some(Cow::Owned(s))))
            }
            fn visit_bool<E>(self, _: bool) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_unit<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_none<E>(self) -> Result<Text<'de>, E> {
                Ok(Text(None))
            }
            fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Text<'de>, D::Error> {
                Text::deserialize(d)
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Text<'de>, A::Error> {
                while a.next_element::<IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Text<'de>, A::Error> {
                while a.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
                Ok(Text(None))
            }
        }
        d.deserialize_any(V)
    }
}

/// Appends output text; true when there was some.
pub fn push(dst: &mut String, t: &Text) -> bool {
    match t.get() {
        Some(s) => {
            dst.push_str(s);
            true
        }
        None => false,
    }
}

#[cfg(test)]
mod tests;
