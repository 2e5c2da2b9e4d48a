//! AIPerf 0.13's usage metrics beyond prompt, completion, total, reasoning and cache read/write:
//! what OpenAI puts in the details (audio tokens, predicted-output tokens) and what DeepSeek,
//! Gemini and Mistral put at the top level (cache misses, tool-definition tokens, audio seconds).
//! Each is the server's number as sent; AIPerf sums each into `total_<tag>`.

use serde::Deserialize;

use crate::contract::records::Value;

use super::openai::Usage;

/// The top-level extras of one usage object (the details' extras live in its details).
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct UsageExtras {
    /// DeepSeek's `prompt_cache_miss_tokens` (tokens).
    pub prompt_cache_miss_tokens: Option<u64>,
    /// Gemini's `toolUsePromptTokenCount` (tokens).
    pub tool_use_prompt_tokens: Option<u64>,
    /// Mistral's `prompt_audio_seconds` (seconds); a non-number (Mistral sends `{}` without
    /// audio) is no value, as AIPerf reads it.
    pub prompt_audio_seconds: Option<f64>,
}

/// The usage keys [`UsageExtras`] reads, as sent.
#[derive(Debug, Default, Deserialize)]
pub struct RawExtras {
    #[serde(default)]
    prompt_cache_miss_tokens: Option<u64>,
    #[serde(default, rename = "toolUsePromptTokenCount")]
    tool_use_prompt_tokens: Option<u64>,
    #[serde(default)]
    prompt_audio_seconds: Option<serde_json::Value>,
}

impl From<RawExtras> for UsageExtras {
    fn from(r: RawExtras) -> UsageExtras {
        UsageExtras {
            prompt_cache_miss_tokens: r.prompt_cache_miss_tokens,
            tool_use_prompt_tokens: r.tool_use_prompt_tokens,
            prompt_audio_seconds: r.prompt_audio_seconds.and_then(|v| v.as_f64()),
        }
    }
}

impl UsageExtras {
    /// Field by field: these where present, else `earlier`'s.
    pub fn or(self, earlier: UsageExtras) -> UsageExtras {
        UsageExtras {
            prompt_cache_miss_tokens: self.prompt_cache_miss_tokens.or(earlier.prompt_cache_miss_tokens),
            tool_use_prompt_tokens: self.tool_use_prompt_tokens.or(earlier.tool_use_prompt_tokens),
            prompt_audio_seconds: self.prompt_audio_seconds.or(earlier.prompt_audio_seconds),
        }
    }
}

/// The extra usage record metrics of `u`: (tag, value, unit) for each one the server sent.
pub fn metrics(u: &Usage) -> Vec<(&'static str, Value, &'static str)> {
    let p = u.prompt_tokens_details.as_ref();
    let c = u.completion_tokens_details.as_ref();
    let tokens = [
        (
            "usage_prompt_cache_miss_tokens",
            u.extras.prompt_cache_miss_tokens,
        ),
        ("usage_tool_use_prompt_tokens", u.extras.tool_use_prompt_tokens),
        ("usage_prompt_audio_tokens", p.and_then(|d| d.audio_tokens)),
        ("usage_completion_audio_tokens", c.and_then(|d| d.audio_tokens)),
        (
            "usage_accepted_prediction_tokens",
            c.and_then(|d| d.accepted_prediction_tokens),
        ),
        (
            "usage_rejected_prediction_tokens",
            c.and_then(|d| d.rejected_prediction_tokens),
        ),
    ];
    let mut out: Vec<_> = tokens
        .into_iter()
        .filter_map(|(tag, v)| Some((tag, Value::Scalar(v? as f64), "tokens")))
        .collect();
    if let Some(s) = u.extras.prompt_audio_seconds {
        out.push(("usage_prompt_audio_seconds", Value::Scalar(s), "sec"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn usage(json: &str) -> Usage {
        serde_json::from_str(json).unwrap()
    }

    fn tags(u: &Usage) -> Vec<(&'static str, f64)> {
        metrics(u)
            .into_iter()
            .map(|(t, v, _)| match v {
                Value::Scalar(x) => (t, x),
                other => panic!("{t}: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn every_vendors_extra_keys_become_aiperfs_tags() {
        // OpenAI: audio and predicted-output tokens in the details (or Responses' *_details).
        let openai = usage(
            r#"{"prompt_tokens": 10, "completion_tokens": 7, "total_tokens": 17,
                "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 4},
                "completion_tokens_details": {"reasoning_tokens": 2, "audio_tokens": 3,
                  "accepted_prediction_tokens": 5, "rejected_prediction_tokens": 1}}"#,
        );
        assert_eq!(
            tags(&openai),
            [
                ("usage_prompt_audio_tokens", 4.0),
                ("usage_completion_audio_tokens", 3.0),
                ("usage_accepted_prediction_tokens", 5.0),
                ("usage_rejected_prediction_tokens", 1.0),
            ]
        );
        let responses = usage(
            r#"{"input_tokens": 3, "output_tokens": 2, "output_tokens_details": {"accepted_prediction_tokens": 2}}"#,
        );
        assert_eq!(tags(&responses), [("usage_accepted_prediction_tokens", 2.0)]);
        // DeepSeek's misses, Gemini's tool tokens, Mistral's audio seconds (and its `{}`).
        let others = usage(
            r#"{"prompt_tokens": 9, "prompt_cache_hit_tokens": 4, "prompt_cache_miss_tokens": 5,
                "toolUsePromptTokenCount": 12, "prompt_audio_seconds": 2.5}"#,
        );
        assert_eq!(
            tags(&others),
            [
                ("usage_prompt_cache_miss_tokens", 5.0),
                ("usage_tool_use_prompt_tokens", 12.0),
                ("usage_prompt_audio_seconds", 2.5),
            ]
        );
        assert_eq!(
            tags(&usage(r#"{"prompt_tokens": 9, "prompt_audio_seconds": {}}"#)),
            []
        );
        // A later usage object keeps what an earlier one said (Anthropic's two events).
        let merged = usage(r#"{"completion_tokens": 4}"#).or(others);
        assert_eq!(merged.extras.tool_use_prompt_tokens, Some(12));
    }
}
