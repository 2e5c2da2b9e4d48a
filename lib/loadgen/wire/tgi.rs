//! Hugging Face TGI's `/generate` and `/generate_stream` (AIPerf's `huggingface_generate`).
//!
//! Each streamed event carries one token (`{"token": {"text": ..}, "generated_text": null,
//! "details": null}`); the last one also carries the whole `generated_text` and `details`
//! (finish reason, `generated_tokens`, `input_length`), and no `[DONE]` follows. Output is the
//! tokens' text, never `generated_text` (which would count everything twice). AIPerf reads no usage
//! from TGI; sweepkit maps `details` to the usage metrics (`input_length` → prompt,
//! `generated_tokens` → completion) when the server sends them.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{push, unless_done, BodySpec, Flavour, Text};
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::openai::{malformed, server_error, BodyError, Output, Parsed, Usage};

#[derive(Deserialize)]
struct Event<'a> {
    #[serde(default, borrow)]
    token: Option<Token<'a>>,
    #[serde(default, borrow)]
    generated_text: Text<'a>,
    #[serde(default)]
    details: Option<Details>,
    #[serde(default)]
    error: Option<Value>,
}

#[derive(Deserialize)]
struct Token<'a> {
    #[serde(default, borrow)]
    text: Text<'a>,
}

#[derive(Deserialize)]
struct Details {
    #[serde(default)]
    generated_tokens: Option<u64>,
    #[serde(default)]
    input_length: Option<u64>,
}

impl Details {
    fn usage(&self) -> Option<Usage> {
        let u = Usage {
            prompt_tokens: self.input_length,
            completion_tokens: self.generated_tokens,
            ..Default::default()
        };
        (!u.is_empty()).then_some(u)
    }
}

/// One streamed event (the last one ends the stream).
pub fn event(out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
    let e: Event = serde_json::from_slice(data).map_err(|err| malformed(data, err))?;
    if let Some(err) = e.error.filter(|v| !v.is_null()) {
        return Err(server_error(&err));
    }
    let mut p = Parsed {
        content: e.token.as_ref().is_some_and(|t| push(&mut out.text, &t.text)),
        ..Default::default()
    };
    if e.details.is_some() || e.generated_text.0.is_some() {
        if let Some(u) = e.details.as_ref().and_then(Details::usage) {
            out.usage = Some(u);
        }
        out.done = true;
        p.finished = true;
        out.finished = true;
    }
    Ok(p)
}

/// A whole `{"generated_text", "details"?}` (or a one-element list of it).
pub fn whole(out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(body, e))?;
    let v = match v {
        Value::Array(mut a) if !a.is_empty() => a.swap_remove(0),
        v => v,
    };
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(server_error(err));
    }
    let text = v
        .get("generated_text")
        .and_then(Value::as_str)
        .unwrap_or_default();
    out.text.push_str(text);
    if let Some(d) = v.get("details").and_then(|d| Details::deserialize(d).ok()) {
        out.usage = d.usage();
    }
    out.finished = true;
    out.done = true;
    Ok(Parsed {
        content: !text.is_empty(),
        reasoning: false,
        finished: true,
    })
}

/// TGI's generate as a [`Flavour`].
pub struct Tgi;

impl Flavour for Tgi {
    /// `{"inputs", "parameters": {"max_new_tokens"?, ...}}`: AIPerf puts `--extra-inputs` in
    /// `parameters` (TGI's sampling options live there).
    fn request_body(
        &self,
        spec: &BodySpec,
        content: &UserContent,
        _: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value> {
        let mut params = Map::new();
        if let Some(n) = max_tokens {
            params.insert("max_new_tokens".into(), Value::from(n));
        }
        for (k, v) in &spec.extra {
            params.insert(k.clone(), v.clone());
        }
        let mut m = Map::new();
        m.insert("inputs".into(), Value::String(content.as_text().into_owned()));
        m.insert("parameters".into(), Value::Object(params));
        m
    }

    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
        unless_done(out, data, event)
    }

    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
        whole(out, body)
    }

    fn stream_end(&self) -> &'static str {
        "a final event with details"
    }
}
