//! What a request body needs from the run's settings, taken from the options once: the wire never
//! sees the whole `Options`, and a turn with its own body keys copies this small spec, not them.

use std::borrow::Cow;

use serde_json::{Map, Value};

use crate::contract::settings::EndpointType;
use crate::loadgen::options::Options;

/// The settings every request body of a run is built from.
#[derive(Debug, Clone, PartialEq)]
pub struct BodySpec {
    /// The flavour the body is built for.
    pub kind: EndpointType,
    pub model: String,
    pub streaming: bool,
    /// Chat: `max_tokens` instead of `max_completion_tokens` (`--use-legacy-max-tokens`).
    pub legacy_max_tokens: bool,
    /// Responses: a stream asks for usage, as AIPerf does when it counts with the server's
    /// numbers (`--use-server-token-count`).
    pub stream_usage: bool,
    /// `--extra-inputs`, merged into every body (a turn's own keys over them).
    pub extra: Map<String, Value>,
}

impl BodySpec {
    /// The body settings of a run.
    pub fn of(opts: &Options) -> BodySpec {
        BodySpec {
            kind: opts.endpoint_type,
            model: opts.model.clone(),
            streaming: opts.streaming,
            legacy_max_tokens: opts.use_legacy_max_tokens,
            stream_usage: opts.use_server_token_count,
            extra: opts.extra_inputs.clone(),
        }
    }

    /// This spec with a turn's own body keys merged over `--extra-inputs` (borrowed when it has
    /// none, as most turns).
    pub fn with_extra(&self, extra: Map<String, Value>) -> Cow<'_, BodySpec> {
        if extra.is_empty() {
            return Cow::Borrowed(self);
        }
        let mut spec = self.clone();
        spec.extra.extend(extra);
        Cow::Owned(spec)
    }
}
