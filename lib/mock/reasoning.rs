//! `--reasoning-tokens N`: mock-llm as a reasoning model. A streamed chat answer opens with N
//! `delta.reasoning_content` tokens (vLLM's reasoning parser output), then its content; usage
//! counts them in `completion_tokens_details.reasoning_tokens` (part of `completion_tokens`), so
//! a client's reasoning metrics (`reasoning_token_count`, `thinking_efficiency`,
//! `usage_reasoning_tokens`) have a known truth.

use super::protocol::Endpoint;
use super::wire::Template;
use super::Options;

/// `t` with the first `--reasoning-tokens` tokens as reasoning, for a streamed chat answer.
pub fn streamed(mut t: Template, opts: &Options) -> Template {
    if let Template::OpenAi(c) = &mut t {
        if c.endpoint() == Endpoint::Chat {
            c.reasoning = opts.reasoning_tokens;
        }
    }
    t
}
