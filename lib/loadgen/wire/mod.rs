//! The API flavours behind one [`Flavour`] trait, one implementation per file: OpenAI chat,
//! completions and embeddings (`openai.rs`, over the parser of `loadgen/openai/` with its fast
//! path), the Responses API, Anthropic Messages, TGI's generate, and the rankings types. Each
//! builds its request body and parses its responses into the same [`Output`], so every flavour
//! yields the same metrics: a content stamp only for events that carry output (never for
//! `message_start`, `response.created` and the like), usage mapped to the same fields.
//! [`flavour`] is the one place that maps an endpoint type to its flavour; this module also holds
//! what the flavour parsers share.

pub mod body;
pub mod messages;
pub mod openai;
pub mod rankings;
pub mod responses;
pub mod tgi;

use std::borrow::Cow;

use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

pub use body::BodySpec;

use super::dataset::content::UserContent;
use super::openai::{trim_ascii, BodyError, Output, Parsed};
use crate::contract::settings::EndpointType;

/// One API flavour as the client speaks it. Adding a flavour = a row in the contract's
/// `endpoint_types!` (its name, default path and the facts the checks need), a file here
/// implementing this trait, and its arm in [`flavour`]. The path lives in the row, not here:
/// `options::resolve` fills it in, and the wire sits above the options.
pub trait Flavour: Sync {
    /// Headers the API wants on every request besides the content type (name, value).
    fn headers(&self) -> &'static [(&'static str, &'static str)] {
        &[]
    }
    /// The header that carries `--api-key`, and its value (a bearer token unless the API says otherwise).
    fn auth_header(&self, key: &str) -> (&'static str, String) {
        ("authorization", format!("Bearer {key}"))
    }
    /// One request body (exactly what `inputs.json` records) carrying `content`. `passages` are
    /// the documents a rankings request ranks against the `content` (its query); the other
    /// flavours ignore them.
    fn request_body(
        &self,
        spec: &BodySpec,
        content: &UserContent,
        passages: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value>;
    /// Puts a session's message list (and system prompt) into a body as the flavour carries it.
    /// Only the flavours whose `EndpointType::has_message_list` is true have one; the single-text
    /// flavours keep their one prompt (the checks refuse history and system prompts for them).
    fn set_messages(
        &self,
        _payload: &mut Map<String, Value>,
        _system: Option<&str>,
        _msgs: &[(Role, &UserContent)],
    ) {
    }
    /// Parses one SSE data payload of a stream into `out`.
    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError>;
    /// Parses a whole non-streaming body into `out`.
    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError>;
    /// What ends a stream properly, for the message when a stream stops short.
    fn stream_end(&self) -> &'static str;
}

/// The flavour of an endpoint type: the one match over the flavours on the client side.
pub fn flavour(kind: EndpointType) -> &'static dyn Flavour {
    match kind {
        EndpointType::Chat => &openai::OpenAi(EndpointType::Chat),
        EndpointType::Completions => &openai::OpenAi(EndpointType::Completions),
        EndpointType::Embeddings => &openai::OpenAi(EndpointType::Embeddings),
        EndpointType::Responses => &responses::Responses,
        EndpointType::Messages => &messages::Messages,
        EndpointType::HuggingfaceGenerate => &tgi::Tgi,
        EndpointType::CohereRankings => &rankings::Rankings(EndpointType::CohereRankings),
        EndpointType::HfTeiRankings => &rankings::Rankings(EndpointType::HfTeiRankings),
    }
}

/// Builds one request body of the run's flavour (exactly what `inputs.json` records).
pub fn request_body(
    spec: &BodySpec,
    content: &UserContent,
    passages: &[String],
    max_tokens: Option<u64>,
) -> Map<String, Value> {
    flavour(spec.kind).request_body(spec, content, passages, max_tokens)
}

/// A message's content as a body's `content` carries it: one string while its parts are text.
pub fn content_value(content: &UserContent) -> Value {
    Value::String(content.as_text().into_owned())
}

/// `--extra-inputs` (and a turn's own keys) merged into a body, over what the flavour set.
fn merge_extra(m: &mut Map<String, Value>, spec: &BodySpec) {
    for (k, v) in &spec.extra {
        m.insert(k.clone(), v.clone());
    }
}

/// Who said a message of a session's history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    User,
    Assistant,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// The end of the stream for the flavours whose servers may close with `[DONE]` after their own
/// last event: marks `out` done; else hands the trimmed event to `parse`.
fn unless_done(
    out: &mut Output,
    data: &[u8],
    parse: fn(&mut Output, &[u8]) -> Result<Parsed, BodyError>,
) -> Result<Parsed, BodyError> {
    let data = trim_ascii(data);
    if data == b"[DONE]" {
        out.done = true;
        return Ok(Parsed::default());
    }
    parse(out, data)
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
