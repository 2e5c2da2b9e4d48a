//! OpenAI chat, completions and embeddings as a [`Flavour`]: the body is built here, the parser
//! lives in `loadgen/openai/` (with the fast path every chat/completions stream goes through).

use serde_json::{Map, Value};

use super::{content_value, merge_extra, BodySpec, Flavour, Role};
use crate::contract::settings::EndpointType;
use crate::loadgen::dataset::content::UserContent;
use crate::loadgen::openai::{BodyError, Output, Parsed};

/// One of the OpenAI endpoint types (`Chat`, `Completions` or `Embeddings`).
pub struct OpenAi(pub EndpointType);

impl Flavour for OpenAi {
    /// Chat's `messages`, completions' `prompt` or embeddings' `input`, with `--extra-inputs`
    /// merged and a stream's `stream_options.include_usage` merged in, as AIPerf builds them.
    fn request_body(
        &self,
        spec: &BodySpec,
        content: &UserContent,
        _passages: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value> {
        let kind = self.0;
        let mut m = Map::new();
        match kind {
            EndpointType::Completions => {
                m.insert("prompt".into(), Value::String(content.as_text().into_owned()));
            }
            EndpointType::Embeddings => {
                m.insert("input".into(), serde_json::json!([content.as_text()]));
            }
            _ => {
                m.insert(
                    "messages".into(),
                    serde_json::json!([{"role": "user", "content": content_value(content)}]),
                );
            }
        }
        m.insert("model".into(), Value::String(spec.model.clone()));
        if kind != EndpointType::Embeddings {
            m.insert("stream".into(), Value::Bool(spec.streaming));
            if let Some(n) = max_tokens {
                // The completions API only knows max_tokens.
                let key = if spec.legacy_max_tokens || kind == EndpointType::Completions {
                    "max_tokens"
                } else {
                    "max_completion_tokens"
                };
                m.insert(key.into(), Value::from(n));
            }
        }
        merge_extra(&mut m, spec);
        if spec.streaming && kind != EndpointType::Embeddings {
            // Merged, not overwritten, as AIPerf does.
            let so = m
                .entry("stream_options")
                .or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(o) = so {
                o.entry("include_usage").or_insert(Value::Bool(true));
            }
        }
        m
    }

    /// Chat's `messages`, the system prompt first.
    fn set_messages(
        &self,
        payload: &mut Map<String, Value>,
        system: Option<&str>,
        msgs: &[(Role, &UserContent)],
    ) {
        if self.0 != EndpointType::Chat {
            return;
        }
        let mut list: Vec<Value> = Vec::with_capacity(msgs.len() + 1);
        if let Some(s) = system {
            list.push(serde_json::json!({"role": "system", "content": s}));
        }
        list.extend(
            msgs.iter()
                .map(|(r, c)| serde_json::json!({"role": r.name(), "content": content_value(c)})),
        );
        payload.insert("messages".into(), Value::Array(list));
    }

    fn stream_event(&self, out: &mut Output, data: &[u8]) -> Result<Parsed, BodyError> {
        out.stream_event(data)
    }

    fn whole_body(&self, out: &mut Output, body: &[u8]) -> Result<Parsed, BodyError> {
        out.whole_body(body, self.0)
    }

    fn stream_end(&self) -> &'static str {
        "a finish_reason or [DONE]"
    }
}
