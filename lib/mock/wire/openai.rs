//! OpenAI chat and completions as a [`Flavour`]: the parser and the rendering live in
//! `protocol.rs`, whose chunk template is this flavour's [`Stream`].

use bytes::BytesMut;

use super::{Flavour, Head, Route, Stream, Template};
use crate::mock::protocol::{self, BadRequest, ChunkTemplate, Endpoint, Generate};
use crate::mock::spec_decode;

/// `/v1/chat/completions` and `/v1/completions`.
pub struct OpenAi;

impl Flavour for OpenAi {
    fn routes(&self) -> &'static [Route] {
        &[
            Route {
                path: "/v1/chat/completions",
                endpoint: Endpoint::Chat,
                name: "chat",
                id_prefix: "chatcmpl",
            },
            Route {
                path: "/v1/completions",
                endpoint: Endpoint::Completions,
                name: "completions",
                id_prefix: "cmpl",
            },
        ]
    }

    fn parse(&self, endpoint: Endpoint, body: &[u8]) -> Result<Generate, BadRequest> {
        protocol::parse_generate(endpoint, body)
    }

    fn template(&self, h: &Head) -> Template {
        Box::new(
            ChunkTemplate::new(
                h.endpoint,
                h.id,
                h.created,
                h.model_json,
                h.continuous_usage,
                h.prompt_tokens,
            )
            .with_cached(h.cached_tokens)
            .with_reasoning(if h.endpoint == Endpoint::Chat {
                h.reasoning_tokens
            } else {
                0
            })
            .with_spec_decode(h.spec_decode_tokens),
        )
    }

    fn render_full(&self, h: &Head, text: &str, completion_tokens: u32, _details: bool) -> BytesMut {
        let mut body = protocol::render_full(
            h.endpoint,
            h.id,
            h.created,
            h.model_json,
            text,
            h.finish_reason,
            (h.prompt_tokens, h.cached_tokens),
            completion_tokens,
        );
        spec_decode::close_with(&mut body, h.spec_decode_tokens, completion_tokens);
        body
    }
}

impl Stream for ChunkTemplate {
    fn role(&self, buf: &mut BytesMut) {
        ChunkTemplate::role(self, buf)
    }

    fn token(&mut self, buf: &mut BytesMut, word: &str, completion: u32, _last: bool) {
        ChunkTemplate::token(self, buf, word, completion)
    }

    fn finish(&mut self, buf: &mut BytesMut, finish_reason: &str, completion: u32, include_usage: bool) {
        ChunkTemplate::finish(self, buf, finish_reason, completion, include_usage)
    }

    fn malformed(&self, buf: &mut BytesMut) {
        ChunkTemplate::malformed(self, buf)
    }
}
