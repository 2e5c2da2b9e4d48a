//! mock-llm's rankings endpoints: `POST /v2/rerank` (Cohere's API as vLLM serves it:
//! `{"query", "documents"}` → `{"results": [{"index", "relevance_score"}], "usage"}`) and TEI's
//! `POST /rerank` (`{"query", "texts"}` → `[{"index", "score"}]`). Scores are deterministic per
//! (seed, query, document), results sorted best first; the whole request costs one prefill.

use std::fmt::Write as _;

use bytes::BytesMut;
use serde::Deserialize;

use crate::mock::protocol::BadRequest;
use crate::mock::tokens::{self, PromptStats};

/// Which rankings API a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Api {
    /// `/v2/rerank`.
    Cohere,
    /// `/rerank`.
    Tei,
}

#[derive(Deserialize)]
struct Request {
    #[serde(default)]
    model: Option<String>,
    query: Option<String>,
    #[serde(default)]
    documents: Option<Vec<Document>>,
    #[serde(default)]
    texts: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Document {
    Text(String),
    Object { text: String },
}

/// A validated rankings request.
pub struct Rerank {
    pub model: Option<String>,
    /// The query's tokens and hash, then each document's.
    pub query: PromptStats,
    pub documents: Vec<PromptStats>,
}

impl Rerank {
    /// Tokens the request costs (query and documents).
    pub fn tokens(&self) -> u32 {
        self.query.prompt_tokens() + self.documents.iter().map(PromptStats::prompt_tokens).sum::<u32>()
    }
}

/// Parses and validates a rankings request of `api`.
pub fn parse(api: Api, body: &[u8]) -> Result<Rerank, BadRequest> {
    let r: Request =
        serde_json::from_slice(body).map_err(|e| BadRequest(format!("invalid JSON request body: {e}")))?;
    let q = r.query.ok_or_else(|| BadRequest("'query' is required".into()))?;
    let docs: Vec<String> = match api {
        Api::Cohere => r
            .documents
            .ok_or_else(|| BadRequest("'documents' is required for /v2/rerank".into()))?
            .into_iter()
            .map(|d| match d {
                Document::Text(t) | Document::Object { text: t } => t,
            })
            .collect(),
        Api::Tei => r
            .texts
            .ok_or_else(|| BadRequest("'texts' is required for /rerank".into()))?,
    };
    if docs.is_empty() {
        return Err(BadRequest("nothing to rank: give at least one document".into()));
    }
    let stats = |t: &str| {
        let mut p = PromptStats::default();
        p.add_text(t);
        p
    };
    Ok(Rerank {
        model: r.model,
        query: stats(&q),
        documents: docs.iter().map(|d| stats(d)).collect(),
    })
}

/// The response body: one deterministic score in [0, 1) per document, best first.
pub fn render(api: Api, r: &Rerank, seed: u64, id: &str, model_json: &str) -> BytesMut {
    let mut scored: Vec<(usize, f64)> = r
        .documents
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let h = tokens::mix64(tokens::answer_seed(seed, r.query.hash) ^ d.hash);
            (i, (h >> 11) as f64 / (1u64 << 53) as f64)
        })
        .collect();
    scored.sort_by(|a, b| b.1.total_cmp(&a.1));
    let mut buf = BytesMut::with_capacity(64 + 48 * scored.len());
    let items: Vec<String> = scored
        .iter()
        .map(|(i, s)| match api {
            Api::Cohere => format!(r#"{{"index":{i},"relevance_score":{s:.6}}}"#),
            Api::Tei => format!(r#"{{"index":{i},"score":{s:.6}}}"#),
        })
        .collect();
    match api {
        Api::Cohere => {
            let _ = write!(
                buf,
                r#"{{"id":"{id}","model":{model_json},"usage":{{"total_tokens":{}}},"results":[{}]}}"#,
                r.tokens(),
                items.join(",")
            );
        }
        Api::Tei => {
            let _ = write!(buf, "[{}]", items.join(","));
        }
    }
    buf
}
