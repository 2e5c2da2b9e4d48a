//! The rankings flavours: a query and passages in, one score per passage out, no streaming and no
//! output tokens (like embeddings: request latency, ISL and usage).
//!
//! - `cohere_rankings`, `/v2/rerank` (Cohere, vLLM, Infinity): `{"model", "query", "documents"}`
//!   → `{"results": [{"index", "relevance_score"}], "usage"?, "meta"?: {"tokens": {..}}}`.
//! - `hf_tei_rankings`, TEI's `/rerank`: `{"query", "texts"}` → `[{"index", "score"}]`.
//!
//! A response with no results is an error record (AIPerf: no content). Usage comes from `usage`
//! (vLLM) or Cohere's `meta.tokens` (`input_tokens`), when present.

use serde::Deserialize;
use serde_json::{Map, Value};

use super::{merge_extra, BodySpec, Flavour};
use crate::contract::records::ErrorKind;
use crate::contract::settings::EndpointType;
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::openai::{malformed, server_error, BodyError, Output, Parsed, Usage};

/// A whole rankings response (either shape).
pub fn whole(out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| malformed(body, e))?;
    if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
        return Err(server_error(err));
    }
    let results = match &v {
        Value::Array(a) => a.len(),
        _ => v.get("results").and_then(Value::as_array).map_or(0, Vec::len),
    };
    if results == 0 {
        return Err(BodyError {
            kind: ErrorKind::InvalidResponse,
            message: "rankings response has no results".into(),
        });
    }
    let usage = v
        .get("usage")
        .or_else(|| v.get("meta").and_then(|m| m.get("tokens")))
        .and_then(|u| Usage::deserialize(u).ok());
    out.usage = usage.filter(|u| !u.is_empty());
    out.finished = true;
    out.done = true;
    Ok(Parsed {
        content: true,
        reasoning: false,
        finished: true,
    })
}

/// One of the rankings endpoint types (`CohereRankings` or `HfTeiRankings`).
pub struct Rankings(pub EndpointType);

impl Flavour for Rankings {
    /// The query (the request's content) and its passages, with `--extra-inputs` merged.
    fn request_body(
        &self,
        spec: &BodySpec,
        query: &UserContent,
        passages: &[String],
        _: Option<u64>,
    ) -> Map<String, Value> {
        let mut m = Map::new();
        m.insert("query".into(), Value::String(query.as_text().into_owned()));
        let docs = Value::Array(passages.iter().cloned().map(Value::String).collect());
        if self.0 == EndpointType::HfTeiRankings {
            m.insert("texts".into(), docs);
        } else {
            m.insert("model".into(), Value::String(spec.model.clone()));
            m.insert("documents".into(), docs);
        }
        merge_extra(&mut m, spec);
        m
    }

    /// Rankings never stream (the checks refuse `--streaming`); an event is read as OpenAI's.
    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
        out.stream_event(data)
    }

    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
        whole(out, body)
    }

    fn stream_end(&self) -> &'static str {
        "a finish_reason or [DONE]"
    }
}
