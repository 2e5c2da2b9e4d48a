//! AIPerf 0.13's usage metrics beyond prompt, completion, total, reasoning and cache read/write:
//! what OpenAI puts in the details (audio tokens, predicted-output tokens) and what DeepSeek,
//! Gemini and Mistral put at the top level (cache misses, tool-definition tokens, audio seconds).
//! Each is the server's number as sent; AIPerf sums each into `total_<tag>`.

use crate::contract::records::Value;

use crate::loadgen::openai::Usage;

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
