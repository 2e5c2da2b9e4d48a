//! OpenAI chat, completions and embeddings as a [`Flavour`]: the body and the parser live in
//! `loadgen/openai/` (with the fast path every chat/completions stream goes through).

use serde_json::{Map, Value};

use super::{Flavour, Role};
use crate::loadgen::openai::{self, BodyError, Output, Parsed};
use crate::loadgen::options::{EndpointType, Options};

/// One of the OpenAI endpoint types (`Chat`, `Completions` or `Embeddings`).
pub struct OpenAi(pub EndpointType);

impl Flavour for OpenAi {
    fn request_body(
        &self,
        opts: &Options,
        prompt: &str,
        _passages: &[String],
        max_tokens: Option<u64>,
    ) -> Map<String, Value> {
        openai::request_body(
            self.0,
            &opts.model,
            prompt,
            opts.streaming,
            max_tokens,
            opts.use_legacy_max_tokens,
            &opts.extra_inputs,
        )
    }

    /// Chat's `messages`, the system prompt first.
    fn set_messages(&self, payload: &mut Map<String, Value>, system: Option<&str>, msgs: &[(Role, &str)]) {
        if self.0 != EndpointType::Chat {
            return;
        }
        let mut list: Vec<Value> = Vec::with_capacity(msgs.len() + 1);
        if let Some(s) = system {
            list.push(serde_json::json!({"role": "system", "content": s}));
        }
        list.extend(
            msgs.iter()
                .map(|(r, t)| serde_json::json!({"role": r.name(), "content": t})),
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
